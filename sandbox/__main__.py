"""Command line: ``python -m sandbox serve|truth|catalog``.

``serve`` prints one JSON line with the base URLs and runs until SIGTERM / Ctrl-C::

    python -m sandbox serve --port 8765 --seed 42 --scale 0.1 --rate-429 0.05

``truth`` prints the ground truth (JSON, or CSV of the webinars)::

    python -m sandbox truth --seed 42 --scale 0.1 --as-of 2026-11-24T05:00:00Z --format csv

``catalog`` writes the sandbox's catalog seed CSV (default
``dbt_project/sandbox_seeds/webinar_catalog_map.csv``).
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
from typing import Any

from sandbox.config import DEFAULT_AS_OF, FAULT_FIELDS, parse_datetime
from sandbox.generator import Universe
from sandbox.server import SandboxServer
from sandbox.testing import make_config
from sandbox.truth import compute_truth, truth_csv_text, write_catalog_csv


def _universe_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--scale", type=float, default=0.1)
    p.add_argument("--as-of", default=DEFAULT_AS_OF.isoformat(), help="sandbox clock, ISO-8601 (UTC)")
    p.add_argument("--anchor", default=None, help="end of the generated history (default: --as-of)")
    p.add_argument("--timezone", default="Europe/Berlin")


def _fault_args(p: argparse.ArgumentParser) -> None:
    for name, f in FAULT_FIELDS.items():
        flag = "--" + name.replace("_", "-")
        if f.type in ("bool", bool):
            p.add_argument(flag, action="store_true", dest=name, default=None)
        elif name.startswith("zoom_") and name.endswith("_ids"):
            p.add_argument(flag, type=int, nargs="*", dest=name, default=None)
        elif name == "fault_vendors":
            p.add_argument(flag, nargs="*", dest=name, default=None)
        else:
            p.add_argument(flag, type=float, dest=name, default=None)


def _config_kwargs(args: argparse.Namespace) -> dict[str, Any]:
    kw: dict[str, Any] = {
        "seed": args.seed,
        "scale": args.scale,
        "as_of": parse_datetime(args.as_of),
        "anchor": parse_datetime(args.anchor) if args.anchor else None,
        "timezone": args.timezone,
    }
    for name in FAULT_FIELDS:
        value = getattr(args, name, None)
        if value is not None:
            default = FAULT_FIELDS[name].default
            kw[name] = tuple(value) if isinstance(default, tuple) else type(default)(value)
    return kw


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sandbox", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="run the fake vendor APIs")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8765)
    _universe_args(serve)
    _fault_args(serve)
    truth = sub.add_parser("truth", help="print the ground truth")
    _universe_args(truth)
    _fault_args(truth)
    truth.add_argument("--format", choices=("json", "csv"), default="json")
    catalog = sub.add_parser("catalog", help="write the business catalog seed CSV")
    catalog.add_argument("--output", default=None)
    args = parser.parse_args(argv)

    if args.command == "catalog":
        print(write_catalog_csv(args.output) if args.output else write_catalog_csv())
        return 0
    config = make_config(**_config_kwargs(args))
    if args.command == "truth":
        universe = Universe(config.seed, config.scale, config.anchor or config.as_of)
        result = compute_truth(universe, config.as_of, config.faults, config.timezone)
        sys.stdout.write(
            truth_csv_text(result) if args.format == "csv" else json.dumps(result, indent=1) + "\n"
        )
        return 0

    server = SandboxServer(config, host=args.host, port=args.port).start()
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    print(json.dumps({"base_url": server.base_url, **server.urls}), flush=True)
    stop.wait()
    server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
