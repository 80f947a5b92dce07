"""BigMarker page-number pagination, with the guards its quirks require.

BigMarker keeps answering past the last page — typically by repeating the last page forever — so
an empty page is NOT a reliable end marker. A listing stops at the first of:

1. ``current_page``/``page`` >= ``total_pages`` (when the envelope has them);
2. the records seen reach ``total_entries``/``total_count``;
3. a short page (fewer records than the page size the server reports, else the one asked for);
4. an empty page;
5. a page identical to the previous one (not yielded; logged as a warning);
6. ``max_pages`` pages (raises: something is badly wrong).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from webinar_dwh.http import ApiError

log = logging.getLogger(__name__)

MAX_PAGES = 100_000


def _int_field(envelope: Mapping[str, Any], *names: str) -> int | None:
    for name in names:
        value = envelope.get(name)
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, str) and value.isdigit():
            return int(value)
    return None


def page_number_pages(
    fetch: Callable[[int], Any],
    *,
    items_key: str,
    per_page: int,
    what: str,
    max_pages: int = MAX_PAGES,
) -> Iterator[list[Any]]:
    """Yield the record lists of a page-numbered listing, pages 1, 2, ... until a stop rule fires.

    Args:
        fetch: Returns the decoded JSON envelope of page ``n`` (1-based).
        items_key: Key of the record list in the envelope (``"conferences"``).
        per_page: Page size that was asked for.
        what: Description for logs and errors (``"conferences"``, ``"attendees of abc123"``).
        max_pages: Hard upper bound on pages fetched.

    Raises:
        ApiError: the envelope is not an object or lacks ``items_key`` as a list; or
            ``max_pages`` was exceeded.
    """
    previous: list[Any] | None = None
    seen = 0
    for number in range(1, max_pages + 1):
        envelope = fetch(number)
        if not isinstance(envelope, Mapping) or not isinstance(envelope.get(items_key), list):
            raise ApiError(f"BigMarker {what}: page {number} has no '{items_key}' list")
        items: list[Any] = envelope[items_key]
        if not items:
            return
        if items == previous:
            log.warning("BigMarker %s: page %d repeats the previous page; stopping", what, number)
            return
        yield items
        seen += len(items)
        previous = items
        current = _int_field(envelope, "current_page", "page") or number
        total_pages = _int_field(envelope, "total_pages")
        total_entries = _int_field(envelope, "total_entries", "total_count")
        page_size = _int_field(envelope, "per_page") or per_page
        if total_pages is not None and current >= total_pages:
            return
        if total_entries is not None and seen >= total_entries:
            return
        if len(items) < page_size:
            return
    raise ApiError(f"BigMarker {what}: more than {max_pages} pages; aborting")
