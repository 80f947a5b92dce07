"""Webinar attendance warehouse: extraction clients, landing, quality gates and publishing.

Imported by the Airflow DAGs in ``dags/`` (``plugins/`` is on Airflow's ``sys.path``), by the
benchmark and by the tests. Nothing here talks to a network or a database at import time.
"""
