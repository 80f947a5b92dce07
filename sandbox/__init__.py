"""Vendor API sandbox: fake BigMarker, Calendly and Zoom APIs for demos, tests and benchmarks.

A deterministic universe (:mod:`sandbox.generator`) served over real HTTP on 127.0.0.1
(:mod:`sandbox.server`), with fault switches (:mod:`sandbox.config`, :mod:`sandbox.faults`) and an
independent ground truth (:mod:`sandbox.truth`). Production code never imports this package.

Typical use::

    from sandbox import SandboxConfig, SandboxServer

    with SandboxServer(SandboxConfig(seed=42, scale=0.1)) as sb:
        sb.urls["bigmarker"]          # http://127.0.0.1:<port>/bigmarker/api/v1
        sb.configure(rate_429=0.2)    # faults and the clock can change at runtime
        sb.truth()["webinars"]        # what the marts must show
"""

from sandbox.config import DEFAULT_AS_OF, Credentials, Faults, SandboxConfig
from sandbox.server import SandboxServer

__all__ = ["DEFAULT_AS_OF", "Credentials", "Faults", "SandboxConfig", "SandboxServer"]
