"""Zoom token pagination: ``page_size`` + ``next_page_token`` (``""`` or absent on the last page)."""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from typing import Any

from webinar_dwh.http import ApiError, ApiSession, ClientError

log = logging.getLogger(__name__)

#: Zoom's error code for an invalid or expired ``next_page_token``.
PAGE_TOKEN_EXPIRED = 300


def token_pages(
    session: ApiSession, path: str, params: Mapping[str, Any], *, items_key: str, what: str
) -> Iterator[list[Any]]:
    """Yield the ``items_key`` list of every page of a Zoom listing.

    The listing ends when ``next_page_token`` is empty or absent; a token seen before also ends
    it (logged) so a misbehaving server cannot loop us forever. Zoom page tokens expire after
    15 minutes; when the consumer was slower than that (Zoom error 300), the listing restarts
    from the first page once — pages already yielded are yielded again, which is harmless
    because every record is deduplicated by key downstream.

    Raises:
        ApiError: a page lacks ``items_key`` as a list; a page token expired twice.
    """
    query = dict(params)
    seen: set[str] = set()
    restarted = False
    while True:
        try:
            body = session.get_json(path, params=query)
        except ClientError as exc:
            if exc.vendor_code != PAGE_TOKEN_EXPIRED or "next_page_token" not in query or restarted:
                raise
            log.warning("Zoom %s: next_page_token expired; restarting the listing from page 1", what)
            restarted, query, seen = True, dict(params), set()
            continue
        if not isinstance(body, Mapping):
            raise ApiError(f"Zoom {what}: page is not a JSON object", vendor="Zoom")
        items = body.get(items_key, [])
        if not isinstance(items, list):
            raise ApiError(f"Zoom {what}: '{items_key}' is not a list", vendor="Zoom")
        yield items
        token = body.get("next_page_token") or ""
        if not token:
            return
        if token in seen:
            log.warning("Zoom %s: next_page_token repeats; stopping", what)
            return
        seen.add(token)
        query = {**params, "next_page_token": token}
