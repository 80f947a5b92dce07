-- Minimal warehouse for the dbt tests, as docs/design.md describes it (used only when
-- webinar_dwh.warehouse.bootstrap is not available). Superuser-only: creates pgcrypto.
create extension if not exists pgcrypto;
create schema if not exists raw;
create schema if not exists meta;
create table if not exists meta.pii_key (key text not null);

create table if not exists raw.bigmarker_conferences (
    _batch_id uuid not null,
    _row_seq bigint not null,
    _record_key text not null,
    _parent_key text,
    _extracted_at timestamptz not null,
    _loaded_at timestamptz not null default now(),
    _dag_run_id text not null,
    _logical_date date not null,
    payload jsonb not null
);
create index if not exists bigmarker_conferences_dedupe_idx on raw.bigmarker_conferences
    (_record_key, _loaded_at desc, _batch_id desc, _row_seq desc);

create table if not exists raw.bigmarker_registrations (
    _batch_id uuid not null,
    _row_seq bigint not null,
    _record_key text not null,
    _parent_key text,
    _extracted_at timestamptz not null,
    _loaded_at timestamptz not null default now(),
    _dag_run_id text not null,
    _logical_date date not null,
    payload jsonb not null
);
create index if not exists bigmarker_registrations_dedupe_idx on raw.bigmarker_registrations
    (_record_key, _loaded_at desc, _batch_id desc, _row_seq desc);

create table if not exists raw.bigmarker_attendees (
    _batch_id uuid not null,
    _row_seq bigint not null,
    _record_key text not null,
    _parent_key text,
    _extracted_at timestamptz not null,
    _loaded_at timestamptz not null default now(),
    _dag_run_id text not null,
    _logical_date date not null,
    payload jsonb not null
);
create index if not exists bigmarker_attendees_dedupe_idx on raw.bigmarker_attendees
    (_record_key, _loaded_at desc, _batch_id desc, _row_seq desc);

create table if not exists raw.calendly_scheduled_events (
    _batch_id uuid not null,
    _row_seq bigint not null,
    _record_key text not null,
    _parent_key text,
    _extracted_at timestamptz not null,
    _loaded_at timestamptz not null default now(),
    _dag_run_id text not null,
    _logical_date date not null,
    payload jsonb not null
);
create index if not exists calendly_scheduled_events_dedupe_idx on raw.calendly_scheduled_events
    (_record_key, _loaded_at desc, _batch_id desc, _row_seq desc);

create table if not exists raw.calendly_invitees (
    _batch_id uuid not null,
    _row_seq bigint not null,
    _record_key text not null,
    _parent_key text,
    _extracted_at timestamptz not null,
    _loaded_at timestamptz not null default now(),
    _dag_run_id text not null,
    _logical_date date not null,
    payload jsonb not null
);
create index if not exists calendly_invitees_dedupe_idx on raw.calendly_invitees
    (_record_key, _loaded_at desc, _batch_id desc, _row_seq desc);

create table if not exists raw.zoom_webinars (
    _batch_id uuid not null,
    _row_seq bigint not null,
    _record_key text not null,
    _parent_key text,
    _extracted_at timestamptz not null,
    _loaded_at timestamptz not null default now(),
    _dag_run_id text not null,
    _logical_date date not null,
    payload jsonb not null
);
create index if not exists zoom_webinars_dedupe_idx on raw.zoom_webinars
    (_record_key, _loaded_at desc, _batch_id desc, _row_seq desc);

create table if not exists raw.zoom_webinar_instances (
    _batch_id uuid not null,
    _row_seq bigint not null,
    _record_key text not null,
    _parent_key text,
    _extracted_at timestamptz not null,
    _loaded_at timestamptz not null default now(),
    _dag_run_id text not null,
    _logical_date date not null,
    payload jsonb not null
);
create index if not exists zoom_webinar_instances_dedupe_idx on raw.zoom_webinar_instances
    (_record_key, _loaded_at desc, _batch_id desc, _row_seq desc);

create table if not exists raw.zoom_registrants (
    _batch_id uuid not null,
    _row_seq bigint not null,
    _record_key text not null,
    _parent_key text,
    _extracted_at timestamptz not null,
    _loaded_at timestamptz not null default now(),
    _dag_run_id text not null,
    _logical_date date not null,
    payload jsonb not null
);
create index if not exists zoom_registrants_dedupe_idx on raw.zoom_registrants
    (_record_key, _loaded_at desc, _batch_id desc, _row_seq desc);

create table if not exists raw.zoom_participants (
    _batch_id uuid not null,
    _row_seq bigint not null,
    _record_key text not null,
    _parent_key text,
    _extracted_at timestamptz not null,
    _loaded_at timestamptz not null default now(),
    _dag_run_id text not null,
    _logical_date date not null,
    payload jsonb not null
);
create index if not exists zoom_participants_dedupe_idx on raw.zoom_participants
    (_record_key, _loaded_at desc, _batch_id desc, _row_seq desc);
