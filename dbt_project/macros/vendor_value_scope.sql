{#-
    int_vendor_value_observations re-reads only the parents (a BigMarker conference, a Zoom
    webinar series, a Zoom occurrence, a Calendly event) with a raw row of a field it watches
    loaded at or after its last build's watermark; the other parents keep their observations.
    The watermark travels in the table itself, as its one `_build` row (a table without any
    observation, the usual case, must still say how far it read). Full build (every parent) on
    the first build, with --full-refresh, or when the table has no `_build` row.

    Parents by kind, as the staging models name them: a filter on a child's `_parent_key` column
    reaches the raw tables' parent index (literals, as incremental_scope() does).
-#}
{% macro _observation_parent_sql(since) -%}
    select 'bigmarker_conference' as kind, coalesce(payload ->> 'id', _record_key) as parent_id
    from raw.bigmarker_conferences where _loaded_at >= {{ since }}
    union
    select 'zoom_series', coalesce(payload ->> 'id', _record_key)
    from raw.zoom_webinars where _loaded_at >= {{ since }}
    union
    select 'zoom_series', _parent_key from raw.zoom_registrants where _loaded_at >= {{ since }}
    union
    select 'zoom_instance', _parent_key from raw.zoom_participants where _loaded_at >= {{ since }}
    union
    select 'calendly_event', coalesce({{ uri_id("payload ->> 'uri'") }}, _record_key)
    from raw.calendly_scheduled_events where _loaded_at >= {{ since }}
    union
    select 'calendly_event', _parent_key from raw.calendly_invitees where _loaded_at >= {{ since }}
{%- endmacro %}

{#- `{'full': bool, 'watermark': text or none, 'parents': {kind: [ids]}}` -#}
{% macro vendor_value_scope() -%}
    {%- set kinds = ['bigmarker_conference', 'zoom_series', 'zoom_instance', 'calendly_event'] -%}
    {%- if not execute -%}
        {{ return({'full': true, 'watermark': none, 'parents': {}}) }}
    {%- endif -%}
    {%- set watermark = run_query("select (" ~ raw_watermark_sql() ~ ")::text").rows[0][0] -%}
    {%- set previous = adapter.get_relation(database=this.database, schema=this.schema, identifier=this.identifier) -%}
    {%- set since = none -%}
    {%- if previous is not none and not flags.FULL_REFRESH -%}
        {%- set since = run_query(
            "select max(_watermark)::text from " ~ this ~ " where observation_kind = '_build'"
        ).rows[0][0] -%}
    {%- endif -%}
    {%- if since is none -%}
        {{ log(this.identifier ~ ": reading every parent (first build, --full-refresh or no watermark)", info=true) }}
        {{ return({'full': true, 'watermark': watermark, 'parents': {}}) }}
    {%- endif -%}
    {%- set parents = {} -%}
    {%- for kind in kinds %}{% do parents.update({kind: []}) %}{% endfor -%}
    {%- for row in run_query(_observation_parent_sql("'" ~ since ~ "'::timestamptz")).rows -%}
        {%- if row[1] is not none %}{% do parents[row[0]].append(row[1]) %}{% endif -%}
    {%- endfor -%}
    {{ log(this.identifier ~ ": re-reading " ~ (parents.values() | map('length') | sum)
           ~ " parents loaded since its last build", info=true) }}
    {{ return({'full': false, 'watermark': watermark, 'parents': parents}) }}
{%- endmacro %}

{#- Rows of `kind`'s parents in scope (`true` on a full build). -#}
{% macro in_observation_scope(scope, kind, column) -%}
    {%- if scope.full -%}
        true
    {%- else -%}
        {{ in_ids(column, scope.parents[kind]) }}
    {%- endif -%}
{%- endmacro %}

{#- The previous observations of parents outside the scope (none on a full build). -#}
{% macro observations_kept(scope) -%}
    {%- if scope.full -%}
        false
    {%- else -%}
        observation_kind <> '_build'
        {%- for kind, ids in scope.parents.items() if ids | length > 0 %}
        and not (observation_kind = '{{ kind }}' and {{ in_ids('parent_id', ids) }})
        {%- endfor -%}
    {%- endif -%}
{%- endmacro %}
