"""Pytest fixtures for the sandbox (use with ``pytest_plugins = ["sandbox.testing"]`` in a root conftest,
or import the fixtures into a folder's ``conftest.py``).

``sandbox_server`` is a factory: ``sb = sandbox_server(seed=7, rate_429=0.1)`` starts a server
(keyword arguments are :class:`~sandbox.config.SandboxConfig` fields or fault switches) and stops
every server it started when the test ends.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from sandbox.config import FAULT_FIELDS, Faults, SandboxConfig
from sandbox.server import SandboxServer

ServerFactory = Callable[..., SandboxServer]


def make_config(**kwargs: Any) -> SandboxConfig:
    """A :class:`SandboxConfig` from flat keyword arguments (config fields and/or fault switches)."""
    fault_kw = {k: kwargs.pop(k) for k in list(kwargs) if k in FAULT_FIELDS}
    faults = kwargs.pop("faults", None) or Faults()
    return SandboxConfig(faults=dataclasses.replace(faults, **fault_kw), **kwargs)


@pytest.fixture
def sandbox_server() -> Iterator[ServerFactory]:
    """Factory of started sandbox servers, all stopped after the test."""
    started: list[SandboxServer] = []

    def factory(**kwargs: Any) -> SandboxServer:
        server = SandboxServer(make_config(**kwargs)).start()
        started.append(server)
        return server

    yield factory
    for server in started:
        server.stop()


@pytest.fixture
def sandbox(sandbox_server: ServerFactory) -> SandboxServer:
    """A started sandbox with the default configuration (seed 42, scale 0.1, no faults)."""
    return sandbox_server()
