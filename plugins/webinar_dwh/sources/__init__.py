"""The vendor sources: one sub-package per vendor, each exposing a :class:`VendorSource` as
``SOURCE``; :data:`REGISTRY` is the one list of sources every other part reads (settings,
connection ids, the DAG's extract tasks, raw tables, the benchmark).

A source's ``extract(client, window_start, window_end)`` yields
:class:`~webinar_dwh.records.Record` / :class:`~webinar_dwh.records.Rejected` items: every parent
whose start time lies in the half-open window ``[window_start, window_end)``, in ascending start
order, each followed by its children; ``cursor_of(record)`` gives a parent's cursor value.
Adding a vendor: CONTRIBUTING.md, "Checklist: adding a source".
"""

from typing import Final

from webinar_dwh.sources._common import VendorSource
from webinar_dwh.sources.bigmarker import SOURCE as BIGMARKER
from webinar_dwh.sources.calendly import SOURCE as CALENDLY
from webinar_dwh.sources.zoom import SOURCE as ZOOM

REGISTRY: Final[dict[str, VendorSource]] = {source.name: source for source in (BIGMARKER, CALENDLY, ZOOM)}
"""Every source, by name, in the order the DAG lists their tasks."""

SOURCES: Final[tuple[str, ...]] = tuple(REGISTRY)

__all__ = ["REGISTRY", "SOURCES", "VendorSource"]
