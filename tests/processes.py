"""Real Deskmate processes for tests that kill them: environment from settings, spawn, wait, kill -9."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def deskmate_env(config: dict[str, Any]) -> dict[str, str]:
    """The environment that gives a child process the same settings as ``create_app(config)``."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("DESKMATE_")}
    for name, value in config.items():
        if value is None:
            continue
        if isinstance(value, bool):
            text = "true" if value else "false"
        elif isinstance(value, list):
            text = ",".join(str(item) for item in value)
        elif isinstance(value, dict):
            text = json.dumps(value)
        else:
            text = str(value)
        env[f"DESKMATE_{name.upper()}"] = text
    env["FLASK_APP"] = "wsgi:app"
    env["PYTHONPATH"] = str(ROOT)
    return env


def spawn_worker(config: dict[str, Any], *, threads: int = 1, log_path: Path | None = None) -> subprocess.Popen[bytes]:
    """Start ``flask worker`` in its own process group, with output to ``log_path``."""
    out = open(log_path, "ab") if log_path else subprocess.DEVNULL  # noqa: SIM115 - closed with the process
    return subprocess.Popen(
        [sys.executable, "-m", "flask", "worker", "--threads", str(threads)],
        cwd=ROOT, env=deskmate_env(config), stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
    )


def kill_hard(process: subprocess.Popen[bytes]) -> None:
    """``kill -9``: no clean-up, no chance to finish the work item in hand."""
    os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=10)


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            kill_hard(process)
