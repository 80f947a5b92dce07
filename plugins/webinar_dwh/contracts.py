"""The marts' column contracts, read from the one place they are declared: the dbt models' YAML.

Every model under ``dbt_project/models/marts`` has an enforced dbt contract (``+contract:
{enforced: true}`` in ``dbt_project.yml``): its YAML lists each column with its ``data_type``,
and dbt refuses to build a mart whose SQL yields other columns or types. Everything else that
needs a mart's columns derives them from here — the quality gate's column checks
(:mod:`webinar_dwh.quality.suites`), the tests comparing marts with the sandbox's truth — so a
mart column is added or renamed in exactly two places: the model's SQL and its YAML.

Reading the YAML (not ``target/manifest.json``) keeps this independent of a generated artifact:
a task on a worker that never ran ``dbt parse`` reads the same contract.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

PROJECT_DIR = Path(__file__).resolve().parents[2] / "dbt_project"
#: The folder whose models are BI's interface (published from ``marts_build`` to ``marts``).
MARTS_DIR = PROJECT_DIR / "models" / "marts"

__all__ = ["ContractColumn", "ContractError", "mart_columns", "mart_contracts"]


class ContractError(ValueError):
    """A mart's YAML does not declare a complete contract (a column without ``data_type``)."""


@dataclass(frozen=True, slots=True)
class ContractColumn:
    """One column of a mart's contract: its name and PostgreSQL type as the YAML declares it."""

    name: str
    data_type: str


@functools.cache
def mart_contracts(marts_dir: Path = MARTS_DIR) -> dict[str, tuple[ContractColumn, ...]]:
    """``{mart: columns in table order}`` for every model declared in the YAML under ``marts_dir``.

    Raises:
        ContractError: a column of a mart has no ``data_type`` (the contract would not hold).
    """
    contracts: dict[str, tuple[ContractColumn, ...]] = {}
    for path in sorted(marts_dir.rglob("*.yml")):
        document: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for model in document.get("models") or ():
            columns = []
            for column in model.get("columns") or ():
                if not column.get("data_type"):
                    raise ContractError(
                        f"{path.name}: column {model['name']}.{column['name']} has no data_type "
                        f"(every mart column is part of its enforced contract)"
                    )
                columns.append(ContractColumn(str(column["name"]), str(column["data_type"])))
            contracts[model["name"]] = tuple(columns)
    return contracts


def mart_columns(name: str) -> tuple[str, ...]:
    """The column names of mart ``name``, in table order.

    Raises:
        KeyError: no mart of that name is declared.
    """
    try:
        return tuple(c.name for c in mart_contracts()[name])
    except KeyError:
        raise KeyError(f"no mart {name!r} in {MARTS_DIR.relative_to(PROJECT_DIR.parent)}") from None
