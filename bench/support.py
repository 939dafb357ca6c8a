"""What the benchmarks share: a throw-away PostgreSQL database, gunicorn processes, wrk, percentiles."""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import requests
import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent
PG_ADMIN_URL = os.environ.get("DESKMATE_BENCH_PG_ADMIN_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def scratch_postgres(prefix: str = "deskmate_bench", keep: Callable[[], bool] = lambda: False) -> Iterator[str]:
    """A new PostgreSQL database for one benchmark run, dropped afterwards unless ``keep()`` says to keep it
    (asked at the end: a run that found a failure keeps its evidence) or ``DESKMATE_BENCH_KEEP_DB`` is set."""
    name = f"{prefix}_{os.getpid()}_{secrets.token_hex(3)}"
    admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        yield PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + name
    finally:
        if keep() or os.environ.get("DESKMATE_BENCH_KEEP_DB"):
            progress(f"kept the database {name}")
        else:
            with admin.connect() as connection:
                connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def env_for(settings: dict[str, Any]) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("DESKMATE_")}
    for name, value in settings.items():
        if value is None:
            continue
        text = ",".join(value) if isinstance(value, list) else json.dumps(value) if isinstance(value, dict) \
            else ("true" if value is True else "false" if value is False else str(value))
        env[f"DESKMATE_{name.upper()}"] = text
    env["PYTHONPATH"] = str(ROOT)
    env["FLASK_APP"] = "wsgi:app"
    return env


@contextmanager
def gunicorn(app_spec: str, *, env: dict[str, str], workers: int, port: int | None = None,
             health_path: str = "/healthz", threads: int = 1, pidfile: Path | None = None) -> Iterator[str]:
    """Serve ``app_spec`` with gunicorn; yields the base URL once it answers ``health_path``."""
    port = port or free_port()
    command = [sys.executable, "-m", "gunicorn", "--workers", str(workers), "--threads", str(threads),
               "--bind", f"127.0.0.1:{port}", "--log-level", "warning", "--backlog", "2048", app_spec]
    if pidfile is not None:
        command[3:3] = ["--pid", str(pidfile)]
    process = subprocess.Popen(command, cwd=ROOT, env=env, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                requests.get(url + health_path, timeout=2)
                break
            except requests.RequestException:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise RuntimeError(f"gunicorn {app_spec} did not start") from None
                time.sleep(0.2)
        yield url
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)


def require_wrk() -> str:
    path = shutil.which("wrk")
    if path is None:
        raise SystemExit("wrk is needed (Debian: apt-get install wrk; `make system-deps` installs it)")
    return path


def run_wrk(url: str, *, script: Path | None = None, seconds: int = 10, connections: int = 32, threads: int = 2,
            headers: dict[str, str] | None = None) -> dict[str, float]:
    """Run wrk and return requests/s, p50/p99 latency (ms) and the count of non-2xx/3xx answers."""
    command = [require_wrk(), f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--latency"]
    for name, value in (headers or {}).items():
        command += ["-H", f"{name}: {value}"]
    if script is not None:
        command += ["-s", str(script)]
    output = subprocess.run([*command, url], capture_output=True, text=True, check=True).stdout
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))  # type: ignore[union-attr]
    total = int(re.search(r"(\d+) requests in", output).group(1))  # type: ignore[union-attr]
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    return {"per_s": rate, "requests": total, "p50_ms": _latency(output, "50%"), "p99_ms": _latency(output, "99%"),
            "non_2xx": int(errors.group(1)) if errors else 0}


def _latency(output: str, label: str) -> float:
    match = re.search(rf"^\s+{re.escape(label)}\s+([\d.]+)(us|ms|s)\s*$", output, re.M)
    if match is None:
        return float("nan")
    value, unit = float(match.group(1)), match.group(2)
    return value / 1000 if unit == "us" else value * 1000 if unit == "s" else value


def percentile(values: list[float], share: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(share * (len(ordered) - 1))))
    return ordered[index]


def progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)
