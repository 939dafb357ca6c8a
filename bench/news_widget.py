"""Requests per second for /news/active.json (200 and 304) next to a minimal Flask endpoint of the same app.

Both are served by the same gunicorn (same worker count) in the same run; load comes from another process on
loopback (``wrk``, installed from Debian if missing; a Python multi-process client when it cannot be). Each
endpoint is measured in interleaved rounds and the median round counts, so that a noisy neighbour on a shared
machine hits all three alike. The last line printed is one JSON object:

    {"json_per_s": ..., "json_304_per_s": ..., "minimal_per_s": ..., "ratio": ...}

``ratio`` compares the full 200 answer with the minimal endpoint: the median over rounds of each round's
json/minimal rate (measured seconds apart, so a neighbour's burst skews both alike); the target is 0.8.

Usage: .venv/bin/python bench/news_widget.py [--seconds 2] [--rounds 7] [--workers 2] [--connections 16]
       [--database-url postgresql://...] [--plugins breaking_news]
"""

from __future__ import annotations

import argparse
import http.client
import json
import multiprocessing
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
ORIGIN = "https://help.acme.example"
MINIMAL_BODY = b'{"ok":true}'


def wsgi_app() -> Any:
    """The Deskmate app as configured by the environment, plus the minimal endpoint to compare with."""
    sys.path.insert(0, str(ROOT))
    from flask import Response

    from app import create_app

    app = create_app()

    @app.get("/bench/minimal")
    def minimal() -> Response:
        return Response(MINIMAL_BODY, content_type="application/json")

    return app


def prepare(database_url: str) -> None:
    """Migrate a fresh database and publish a realistic incident (two languages, a timeline, quick links)."""
    sys.path.insert(0, str(ROOT))
    from app import create_app
    from app.accounts import upsert_account
    from app.migrate import upgrade

    app = create_app({"database_url": database_url, "secret_key": "bench-" + "k" * 40,
                      "log_level": "WARNING"})
    upgrade(app)
    now = datetime.now(UTC)
    upsert_account(app, subdomain="acme", now=now,
                   settings={"breaking_news": {"allowed_origins": [ORIGIN]}})
    created_token = app.test_cli_runner().invoke(args=["tokens", "create", "--name", "bench"])
    token = created_token.output.strip().split()[-1]
    client = app.test_client()
    headers = {"Authorization": f"Bearer {token}"}
    body = ("Live streams on **web and TV apps** may fail to start or stop after a few minutes.\n\n"
            "- Mobile apps are not affected\n- Recordings are safe\n\n"
            "Follow [the status page](https://status.example.com/incidents/42) for details.")
    created = client.post("/admin/api/news/incidents", headers=headers, json={
        "title": "Live streams fail to start", "body": body, "severity": "outage",
        "affected_features": ["Live streaming"], "keywords": ["black screen", "stream won't start"],
        "translations": {"it": {"title": "Le dirette non partono", "body": "Stiamo verificando."}}})
    assert created.status_code == 201, created.get_json()
    incident_id = created.get_json()["incident"]["id"]
    client.post(f"/admin/api/news/incidents/{incident_id}/updates", headers=headers,
                json={"status": "identified", "body": "A faulty encoder cluster; a fix is rolling out."})
    client.post("/admin/api/news/incidents", headers=headers, json={
        "title": "Planned maintenance of payments", "severity": "maintenance",
        "starts_at": (now + timedelta(days=1)).isoformat(),
        "ends_at": (now + timedelta(days=1, hours=1)).isoformat()})
    client.put("/admin/api/news/quick-links/360001", headers=headers, json={"links": [
        {"kind": "article", "title": "Fix buffering", "url": "https://help.acme.example/articles/1"},
        {"kind": "notice", "title": "Streams may stutter tonight",
         "text": "No need to write to us about it."}]})
    from app.db import storage

    storage.engine(app).dispose()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def ensure_wrk() -> str | None:
    """wrk's path; installs Debian's package when it is missing and we may (root), else None."""
    found = shutil.which("wrk")
    if found or os.geteuid() != 0 or not shutil.which("apt-get"):
        return found
    print("wrk is missing: installing Debian's package", file=sys.stderr)
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL, "check": False}
    subprocess.run(["apt-get", "update", "-qq"], **quiet)  # type: ignore[call-overload]
    subprocess.run(["apt-get", "install", "-y", "-qq", "wrk"], **quiet)  # type: ignore[call-overload]
    return shutil.which("wrk")


def run_wrk(wrk: str, url: str, headers: dict[str, str], seconds: float, connections: int) -> float:
    command = [wrk, "-t", "2", "-c", str(connections), "-d", f"{max(1, round(seconds))}s", "--latency"]
    for name, value in headers.items():
        command += ["-H", f"{name}: {value}"]
    output = subprocess.run([*command, url], capture_output=True, text=True, check=True).stdout
    if "Non-2xx or 3xx responses" in output or "Socket errors" in output:
        print(output, file=sys.stderr)  # errors would make a rate meaningless: show them
    match = re.search(r"Requests/sec:\s+([\d.]+)", output)
    if not match:
        raise RuntimeError(f"wrk said nothing about requests/sec:\n{output}")
    return float(match.group(1))


def server_cpu_seconds(master_pid: int) -> float:
    """CPU time (user + system) used so far by the gunicorn master's workers, from /proc."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == master_pid:  # fields[1] is the parent pid
            total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / ticks


def _client_loop(host: str, port: int, path: str, headers: dict[str, str], until: float, counts: Any) -> None:
    connection = http.client.HTTPConnection(host, port, timeout=10)
    done = 0
    while time.monotonic() < until:
        try:
            connection.request("GET", path, headers=headers)
            connection.getresponse().read()
            done += 1
        except (OSError, http.client.HTTPException):
            connection.close()
            connection = http.client.HTTPConnection(host, port, timeout=10)
    counts.put(done)


def run_python(url: str, headers: dict[str, str], seconds: float, connections: int) -> float:
    """The fallback load generator: ``connections`` processes, one keep-alive connection each."""
    match = re.match(r"http://([^:/]+):(\d+)(/.*)", url)
    assert match
    host, port, path = match.group(1), int(match.group(2)), match.group(3)
    counts: Any = multiprocessing.Queue()
    until = time.monotonic() + seconds
    workers = [multiprocessing.Process(target=_client_loop, args=(host, port, path, headers, until, counts))
               for _ in range(connections)]
    for worker in workers:
        worker.start()
    total = sum(counts.get() for _ in workers)
    for worker in workers:
        worker.join()
    return total / seconds


def probe(url: str, headers: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
    match = re.match(r"http://([^:/]+):(\d+)(/.*)", url)
    assert match
    connection = http.client.HTTPConnection(match.group(1), int(match.group(2)), timeout=10)
    connection.request("GET", match.group(3), headers=headers)
    response = connection.getresponse()
    return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()


def wait_until_up(url: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if probe(url, {})[0] == 200:
                return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"gunicorn did not answer {url} within {timeout}s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=2.0, help="length of one measured round")
    parser.add_argument("--rounds", type=int, default=7,
                        help="interleaved rounds per endpoint (the median counts)")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers")
    parser.add_argument("--connections", type=int, default=16, help="concurrent connections")
    parser.add_argument("--database-url", help="default: a fresh SQLite file in a temporary folder")
    parser.add_argument("--plugins", help="DESKMATE_PLUGINS for the served app (default: the deployment's)")
    args = parser.parse_args()
    if args.plugins is not None:
        os.environ["DESKMATE_PLUGINS"] = args.plugins

    workdir = Path(tempfile.mkdtemp(prefix="deskmate-bench-news-"))
    database_url = args.database_url or f"sqlite:///{workdir / 'bench.sqlite3'}"
    prepare(database_url)
    port = free_port()
    env = {**os.environ, "DESKMATE_DATABASE_URL": database_url, "DESKMATE_SECRET_KEY": "bench-" + "k" * 40,
           "DESKMATE_LOG_LEVEL": "WARNING", "PYTHONPATH": str(ROOT)}
    gunicorn = subprocess.Popen(
        [str(Path(sys.executable).parent / "gunicorn"), "--workers", str(args.workers), "--bind",
         f"127.0.0.1:{port}", "--chdir", str(ROOT), "--pythonpath", str(ROOT / "bench"),
         "--log-level", "warning", "--backlog", "2048", "news_widget:wsgi_app()"],
        env=env, cwd=workdir, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(base + "/bench/minimal")
        json_url = base + "/news/active.json?account=acme&locale=it"
        status, headers, body = probe(json_url, {"Origin": ORIGIN})
        assert status == 200 and headers.get("access-control-allow-origin") == ORIGIN, (status, headers)
        etag = headers["etag"]
        assert probe(json_url, {"Origin": ORIGIN, "If-None-Match": etag})[0] == 304
        wrk = ensure_wrk()
        load = "wrk " + wrk if wrk else "Python client (wrk unavailable)"
        print(f"load: {load}; gunicorn {args.workers} sync "
              f"workers; {args.connections} connections; {args.rounds} rounds of {args.seconds}s; "
              f"active.json is {len(body)} bytes", file=sys.stderr)
        targets = {
            "minimal_per_s": (base + "/bench/minimal", {"Origin": ORIGIN}),
            "json_per_s": (json_url, {"Origin": ORIGIN}),
            "json_304_per_s": (json_url, {"Origin": ORIGIN, "If-None-Match": etag}),
        }
        for url, headers_sent in targets.values():  # warm every worker's cache and connections
            run_wrk(wrk, url, headers_sent, 1, args.connections) if wrk else run_python(
                url, headers_sent, 1, args.connections)
        rates: dict[str, list[float]] = {name: [] for name in targets}
        cpu: dict[str, list[float]] = {name: [] for name in targets}
        names = list(targets)
        for round_number in range(args.rounds):
            # Each round starts with another endpoint, so that no endpoint always follows the same one.
            for name in names[round_number % 3:] + names[:round_number % 3]:
                url, headers_sent = targets[name]
                cpu_before = server_cpu_seconds(gunicorn.pid)
                rate = (run_wrk(wrk, url, headers_sent, args.seconds, args.connections) if wrk
                        else run_python(url, headers_sent, args.seconds, args.connections))
                # Server CPU per request hardly depends on what else the machine runs; the rate does.
                cpu_us = (server_cpu_seconds(gunicorn.pid) - cpu_before) / (rate * args.seconds) * 1e6
                rates[name].append(rate)
                cpu[name].append(cpu_us)
                print(f"round {round_number + 1} {name:15} {rate:10.1f} req/s {cpu_us:8.0f} server CPU "
                      "us/request", file=sys.stderr)
    finally:
        os.killpg(gunicorn.pid, signal.SIGTERM)
        gunicorn.wait(timeout=30)
        shutil.rmtree(workdir, ignore_errors=True)
    medians = {name: round(statistics.median(values), 1) for name, values in rates.items()}

    def ratio(name: str) -> float:
        pairs = zip(rates[name], rates["minimal_per_s"], strict=True)
        return round(statistics.median(rate / minimal for rate, minimal in pairs), 3)

    result = {"json_per_s": medians["json_per_s"], "json_304_per_s": medians["json_304_per_s"],
              "minimal_per_s": medians["minimal_per_s"], "ratio": ratio("json_per_s")}
    print(f"304 ratio: {ratio('json_304_per_s'):.3f}", file=sys.stderr)
    per_request = {name: statistics.median(values) for name, values in cpu.items()}
    print("server CPU per request (median, us): " + ", ".join(f"{name.removesuffix('_per_s')} {value:.0f}"
          for name, value in per_request.items()) + "; CPU-bound rate ratio "
          f"{per_request['minimal_per_s'] / per_request['json_per_s']:.3f} (json), "
          f"{per_request['minimal_per_s'] / per_request['json_304_per_s']:.3f} (304)", file=sys.stderr)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
