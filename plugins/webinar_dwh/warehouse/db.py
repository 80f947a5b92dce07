"""Connecting to the warehouse from a DSN or an Airflow-style connection object.

Every connection carries an ``application_name`` (visible in ``pg_stat_activity``, so a DBA sees
which task holds a lock) and, optionally, a ``statement_timeout``. Passwords never reach a log
line or an exception message raised here: use :func:`describe` to log a target.
"""

from __future__ import annotations

import logging
from typing import Any, Protocol
from urllib.parse import quote

import psycopg
from psycopg import conninfo

log = logging.getLogger(__name__)

DEFAULT_APPLICATION_NAME = "webinar_dwh"
DEFAULT_CONNECT_TIMEOUT_S = 10

# libpq parameters an Airflow connection's ``extra`` may carry through to the server connection.
_PASSTHROUGH_EXTRAS = (
    "sslmode",
    "sslrootcert",
    "sslcert",
    "sslkey",
    "target_session_attrs",
    "options",
    "keepalives",
    "keepalives_idle",
)


class ConnectionLike(Protocol):
    """The attributes of an Airflow ``Connection`` used here (``schema`` is the database).

    ``webinar_dwh.config.ConnectionInfo`` and Airflow's own ``Connection`` both satisfy it;
    ``extra_dejson`` is optional.
    """

    @property
    def host(self) -> str | None: ...
    @property
    def port(self) -> int | None: ...
    @property
    def login(self) -> str | None: ...
    @property
    def password(self) -> str | None: ...
    @property
    def schema(self) -> str | None: ...


Target = str | ConnectionLike
"""A libpq DSN (URI or ``key=value``) or a connection object."""


def conninfo_params(target: Target) -> dict[str, Any]:
    """libpq parameters for ``target`` (includes the password: never log the result).

    Args:
        target: a ``postgresql://`` / ``postgres://`` URI, a ``key=value`` DSN, or an
            Airflow-style connection object (``host``, ``port``, ``login``, ``password``,
            ``schema`` = database, optional ``extra_dejson`` with libpq options like ``sslmode``).

    Raises:
        ValueError: the DSN cannot be parsed (the message does not echo the DSN).
    """
    if isinstance(target, str):
        try:
            return conninfo.conninfo_to_dict(target)
        except psycopg.ProgrammingError:
            # libpq's message quotes the offending part of the string, which may be the password.
            raise ValueError("invalid PostgreSQL DSN (not shown: it may contain a password)") from None
    params: dict[str, Any] = {
        "host": target.host,
        "port": target.port,
        "user": target.login,
        "password": target.password,
        "dbname": target.schema,
    }
    extra = getattr(target, "extra_dejson", None) or {}
    params.update({k: extra[k] for k in _PASSTHROUGH_EXTRAS if extra.get(k) not in (None, "")})
    return {k: v for k, v in params.items() if v not in (None, "")}


def describe(target: Target) -> str:
    """A log-safe description of ``target``: ``user@host:port/dbname``, no password."""
    try:
        p = conninfo_params(target)
    except ValueError:
        return "<unparsable DSN>"
    return f"{p.get('user', '?')}@{p.get('host', 'localhost')}:{p.get('port', 5432)}/{p.get('dbname', '?')}"


def connect(
    target: Target,
    *,
    application_name: str = DEFAULT_APPLICATION_NAME,
    statement_timeout_s: float | None = None,
    lock_timeout_s: float | None = None,
    autocommit: bool = False,
    connect_timeout_s: int = DEFAULT_CONNECT_TIMEOUT_S,
) -> psycopg.Connection:
    """Open a psycopg connection to the warehouse.

    Args:
        target: DSN or Airflow-style connection (see :func:`conninfo_params`).
        application_name: shown in ``pg_stat_activity`` and the server log.
        statement_timeout_s: server-side ``statement_timeout`` in seconds for the whole session
            (``None`` keeps the server/role default). Rounded to milliseconds.
        lock_timeout_s: server-side ``lock_timeout`` in seconds (``None`` keeps the default).
        autocommit: psycopg autocommit mode. The warehouse functions (``land_batch``,
            ``ensure_schema``, ``publish_marts``) manage their own transactions and need an idle
            connection in either mode.
        connect_timeout_s: libpq ``connect_timeout`` in seconds.

    Returns:
        An open connection; use it as a context manager to close it.

    Raises:
        ValueError: unparsable DSN.
        psycopg.OperationalError: the server cannot be reached or refuses the login (libpq's
            message names host, port and user, never the password).
    """
    params = conninfo_params(target)
    params["application_name"] = application_name
    params.setdefault("connect_timeout", connect_timeout_s)
    options = [params.pop("options")] if params.get("options") else []
    for name, seconds in (("statement_timeout", statement_timeout_s), ("lock_timeout", lock_timeout_s)):
        if seconds is not None:
            if seconds < 0:
                raise ValueError(f"{name} must be >= 0 seconds")
            options.append(f"-c {name}={round(seconds * 1000)}")
    if options:
        params["options"] = " ".join(options)
    log.debug("connecting to %s as %s", describe(target), application_name)
    return psycopg.connect(autocommit=autocommit, **params)


def sqlalchemy_url(target: Target, *, driver: str = "psycopg") -> str:
    """A SQLAlchemy URL (``postgresql+psycopg://…``) for ``target``, e.g. for Great Expectations.

    The result contains the password: pass it on, never log it (SQLAlchemy's ``URL`` objects
    hide it when rendered with ``hide_password=True``).
    """
    p = conninfo_params(target)
    auth = ""
    if p.get("user"):
        auth = quote(str(p["user"]), safe="")
        if p.get("password"):
            auth += ":" + quote(str(p["password"]), safe="")
        auth += "@"
    host = str(p.get("host", "localhost"))
    if ":" in host and not host.startswith("["):  # IPv6 literal
        host = f"[{host}]"
    port = f":{p['port']}" if p.get("port") else ""
    db = quote(str(p.get("dbname", "")), safe="")
    query = "&".join(
        f"{k}={quote(str(p[k]), safe='')}" for k in _PASSTHROUGH_EXTRAS if k in p and k != "options"
    )
    return f"postgresql+{driver}://{auth}{host}{port}/{db}" + (f"?{query}" if query else "")
