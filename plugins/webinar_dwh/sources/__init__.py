"""Vendor sources: one sub-package per vendor (``bigmarker``, ``calendly``, ``zoom``).

Each exposes a settings dataclass (``Settings.from_connection``), a client of generators over
pages, and ``extract(client, window_start, window_end)`` yielding
:class:`~webinar_dwh.records.Record` / :class:`~webinar_dwh.records.Rejected` items: every parent
whose start time lies in the half-open window ``[window_start, window_end)``, in ascending start
order, each followed by its children. ``cursor_of(record)`` gives a parent's cursor value.
"""
