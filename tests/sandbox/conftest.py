"""Fixtures for the sandbox tests: the server factory from ``sandbox.testing`` and a keep-alive session."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests

from sandbox.testing import sandbox, sandbox_server  # noqa: F401  (fixtures used by this folder)


@pytest.fixture
def http() -> Iterator[requests.Session]:
    """A keep-alive HTTP session."""
    with requests.Session() as session:
        yield session
