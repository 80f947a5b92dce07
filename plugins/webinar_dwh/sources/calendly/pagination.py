"""Calendly cursor pagination: ``{"collection": [...], "pagination": {"next_page", "next_page_token"}}``.

The next page is ``pagination.next_page`` (a full URL, followed only when it points to the
configured base URL's host, so the token never leaves it), else the request repeated with
``page_token=<next_page_token>``. The listing ends when both are null/empty; a token seen before
also ends it (logged), so a misbehaving server cannot loop us forever.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from typing import Any
from urllib.parse import urlsplit

from webinar_dwh.http import ApiError, ApiSession

log = logging.getLogger(__name__)


def collection_pages(
    session: ApiSession, path: str, params: Mapping[str, Any], *, what: str
) -> Iterator[list[Any]]:
    """Yield the ``collection`` of every page of a Calendly listing.

    Raises:
        ApiError: a page lacks ``collection`` as a list, or a next-page link points elsewhere
            and no ``next_page_token`` is given.
    """
    base = urlsplit(session.base_url)
    url: str = path
    query: Mapping[str, Any] | None = dict(params)
    seen_tokens: set[str] = set()
    while True:
        body = session.get_json(url, params=query)
        if not isinstance(body, Mapping) or not isinstance(body.get("collection"), list):
            raise ApiError(f"Calendly {what}: page has no 'collection' list", vendor="Calendly")
        yield body["collection"]
        pagination = body.get("pagination")
        if not isinstance(pagination, Mapping):
            pagination = {}
        next_page: str | None = pagination.get("next_page") or None
        token: str | None = pagination.get("next_page_token") or None
        if not next_page and not token:
            return
        marker = str(token or next_page)
        if marker in seen_tokens:
            log.warning("Calendly %s: next page %r was already fetched; stopping", what, marker[-40:])
            return
        seen_tokens.add(marker)
        link = urlsplit(next_page) if next_page else None
        if next_page and link is not None and (link.scheme, link.netloc) == (base.scheme, base.netloc):
            url, query = next_page, None
        elif token:
            url, query = path, {**params, "page_token": token}
        else:
            raise ApiError(
                f"Calendly {what}: next_page points to another host and no next_page_token was given",
                vendor="Calendly",
            )
