"""The marts' enforced dbt contracts are the one declaration of their columns."""

from __future__ import annotations

import yaml

from webinar_dwh.contracts import MARTS_DIR, PROJECT_DIR, mart_columns, mart_contracts
from webinar_dwh.quality.suites import MARTS


def test_every_mart_is_contracted_and_enforced() -> None:
    project = yaml.safe_load((PROJECT_DIR / "dbt_project.yml").read_text())
    assert project["models"]["webinar_dwh"]["marts"]["+contract"] == {"enforced": True}
    declared = {p.stem for p in MARTS_DIR.rglob("*.sql")}
    assert declared == set(mart_contracts()), "every mart model has its YAML contract"
    assert all(c.data_type for cols in mart_contracts().values() for c in cols)


def test_the_gate_reads_its_columns_from_the_contracts() -> None:
    for name, spec in MARTS.items():
        assert spec.columns == mart_columns(name)
    assert mart_columns("fct_registrations")[:3] == ("registration_id", "webinar_id", "platform")
