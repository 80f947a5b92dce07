"""The warehouse layer: roles and schemas, landing raw batches, publishing marts.

Modules:
    db: connecting to PostgreSQL from a DSN or an Airflow-style connection.
    bootstrap: idempotent roles (superuser, once) and schemas/tables (owner, every run).
    landing: one transaction per batch: raw rows via ``COPY``, quarantine, ``meta`` bookkeeping.
    publish: atomic swap of the validated marts from ``marts_build`` into ``marts``.

The contracts (table layouts, roles, privileges) are fixed in ``docs/design.md``. Nothing here
touches the database at import time.
"""
