"""``open_source``: what the pipeline calls to use this vendor within one task."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from webinar_dwh.sources._common import SourceHandle, pipeline_overrides
from webinar_dwh.sources.calendly.client import CalendlyClient
from webinar_dwh.sources.calendly.settings import CalendlySettings
from webinar_dwh.sources.calendly.source import extract


@contextmanager
def open_source(
    conn: Any, settings: Any = None, *, sleep: Callable[[float], None] = time.sleep
) -> Iterator[SourceHandle]:
    """Open the source for one task run and close its connections afterwards.

    Args:
        conn: Airflow-style connection (see :meth:`CalendlySettings.from_connection`).
        settings: ``PipelineSettings``-like object; its ``page_size`` and ``max_retries``
            (attempts per request) are used when present.
        sleep: Sleep function for retry waits.

    Yields:
        A handle with ``extract(window_start, window_end)`` and ``stats()``.
    """
    client = CalendlyClient(
        CalendlySettings.from_connection(conn, **pipeline_overrides(settings)), sleep=sleep
    )
    handle = SourceHandle(client, extract)
    try:
        yield handle
    finally:
        handle.close()
