"""``stockyard ui``: ``dagster dev`` for this project, on this home's Dagster storage.

``dagster dev`` spawns a webserver, a daemon and code servers and does not stop on SIGTERM sent to its own pid
alone, so it runs in its own session (process group) and :func:`stop_ui` signals the whole group.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from stockyard.settings import Settings, get_settings

__all__ = ["start_ui", "stop_ui", "ui_command", "ui_env"]


def ui_env(settings: Settings | None = None) -> dict[str, str]:
    """The environment of the ``dagster dev`` process tree.

    Args:
        settings: Stockyard settings; defaults to :func:`get_settings`.

    Returns:
        The current environment plus ``DAGSTER_HOME``, Dagster's storage URL, telemetry switches and the dbt
        profile variables (``prepare_if_dev`` parses the dbt project when the code location loads).
    """
    from orchestration.instance import dagster_env
    from stockyard.dbt import dbt_env

    settings = settings or get_settings()
    env = {**os.environ, **dbt_env(settings), **dagster_env(settings)}
    # prepare_if_dev runs the ``dbt`` executable by name: the venv's bin must be on PATH even when not activated.
    bin_dir = str(Path(sys.executable).parent)
    env["PATH"] = os.pathsep.join([bin_dir, env.get("PATH", "")])
    return env


def ui_command(port: int, host: str = "127.0.0.1") -> list[str]:
    """The ``dagster dev`` command line for the Stockyard code location.

    Args:
        port: Webserver port.
        host: Webserver host.

    Returns:
        The argv list.
    """
    return [
        sys.executable, "-m", "dagster", "dev", "-m", "orchestration.definitions", "-p", str(port), "-h", host,
    ]  # fmt: skip


def start_ui(
    port: int = 3000, host: str = "127.0.0.1", settings: Settings | None = None
) -> subprocess.Popen[bytes]:
    """Start ``dagster dev`` in its own session after preparing the instance config and the dbt manifest.

    Args:
        port: Webserver port.
        host: Webserver host.
        settings: Stockyard settings; defaults to :func:`get_settings`.

    Returns:
        The running process (stop it with :func:`stop_ui`).
    """
    from orchestration.runner import prepare

    settings = settings or get_settings()
    prepare(settings)
    return subprocess.Popen(ui_command(port, host), env=ui_env(settings), start_new_session=True)


def stop_ui(process: subprocess.Popen[bytes], timeout: float = 20.0) -> int:
    """Stop a process started by :func:`start_ui` and all its children.

    Args:
        process: The ``dagster dev`` process.
        timeout: Seconds to wait after SIGINT before SIGKILL.

    Returns:
        The process's exit code.
    """
    if process.poll() is not None:
        return process.returncode
    # dagster dev shuts its children down cleanly on SIGINT (Ctrl-C), not on SIGTERM.
    for sig in (signal.SIGINT, signal.SIGKILL):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            break
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and process.poll() is None:
            time.sleep(0.2)
        if process.poll() is not None:
            break
    return process.wait()
