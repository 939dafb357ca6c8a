"""Prometheus metrics: counters of what each process did, and the queue's state read from the database.

Where the counters are read: the web's ``/metrics`` (``app.health``) shows the web process's own counters (all
gunicorn workers' with ``PROMETHEUS_MULTIPROC_DIR``) and the queue gauges; a worker's counters (helpdesk and
Slack calls, 429s, work durations) are served by the worker itself with ``flask worker --metrics-port`` (``serve``),
so they can be scraped wherever it runs.
"""

from __future__ import annotations

import hmac
import os
import threading
from collections.abc import Callable, Iterable, Mapping
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, make_server

from prometheus_client import (
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    make_wsgi_app,
    multiprocess,
)
from prometheus_client.exposition import ThreadingWSGIServer
from pydantic import SecretStr

WEBHOOKS = Counter("deskmate_webhooks_total", "Helpdesk webhooks received, by result", ["result"])
EVENTS = Counter("deskmate_events_handled_total", "Inbound events handed to plugins, by outcome", ["outcome"])
PLUGIN_ERRORS = Counter("deskmate_plugin_errors_total", "Plugin hook failures, by plugin and hook",
                        ["plugin", "hook"])
WORK = Counter("deskmate_work_items_total", "Work items finished, by kind and new state", ["kind", "state"])
WORK_SECONDS = Histogram("deskmate_work_item_seconds", "Time to perform a work item (or a batch), by kind",
                         ["kind"])
HELPDESK_CALLS = Counter("deskmate_zendesk_calls_total", "Helpdesk API calls, by method and status",
                         ["method", "status"])
HELPDESK_429 = Counter("deskmate_zendesk_rate_limited_total", "Helpdesk API calls answered 429")
HELPDESK_SECONDS = Histogram("deskmate_zendesk_call_seconds", "Helpdesk API call duration")
SLACK_CALLS = Counter("deskmate_slack_calls_total", "Slack API calls, by method and result", ["method", "result"])
SLACK_429 = Counter("deskmate_slack_rate_limited_total", "Slack API calls answered ratelimited")
# Read from the database for each scrape of the web's /metrics, over the queue tables' partial indexes only:
# pending, running (processing), stuck (running past its lease), failed (all kept failed rows) and
# failed_recently (within DESKMATE_HEALTH_FAILED_WINDOW_SECONDS). Done rows are not counted: counting them
# read every row of the tables on each scrape.
WORK_BY_STATE = Gauge("deskmate_work_items_current", "Work items still to do, stuck or failed, by state",
                      ["state"], multiprocess_mode="livemostrecent")
EVENTS_BY_STATE = Gauge("deskmate_inbound_events_current", "Inbound events still to do, stuck or failed, by state",
                        ["state"], multiprocess_mode="livemostrecent")
EVENTS_PENDING = Gauge("deskmate_inbound_events_pending", "Inbound events not yet handled",
                       multiprocess_mode="livemostrecent")

HELPDESK_RATE_LIMIT = Gauge("deskmate_zendesk_rate_limit_per_minute",
                            "The helpdesk API limit each account's budget keeps to, learnt from the helpdesk's "
                            "X-Rate-Limit or else configured", ["account", "source"],
                            multiprocess_mode="livemostrecent")


def render(work: Mapping[str, int] | None = None, events: Mapping[str, int] | None = None,
           rate_limits: Mapping[str, tuple[int, bool]] | None = None) -> bytes:
    """The Prometheus text exposition; the database-derived gauges are set just before rendering.

    ``rate_limits``: per account subdomain, ``(requests a minute, learnt from the helpdesk)``.
    """
    if rate_limits is not None:
        HELPDESK_RATE_LIMIT.clear()  # a limit once configured and now learnt must not be shown twice
        for subdomain, (per_minute, learnt) in rate_limits.items():
            HELPDESK_RATE_LIMIT.labels(subdomain, "learnt" if learnt else "configured").set(per_minute)
    for state, count in (work or {}).items():
        WORK_BY_STATE.labels(state).set(count)
    for state, count in (events or {}).items():
        EVENTS_BY_STATE.labels(state).set(count)
    if events is not None:
        EVENTS_PENDING.set(events.get("pending", 0))
    return generate_latest(_registry())


def _registry() -> Any:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return registry
    return REGISTRY


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        """Scrapes every few seconds would fill the log; nothing to say about them."""


def _bearer_guard(app: Callable[..., Iterable[bytes]], token: SecretStr | None) -> Callable[..., Iterable[bytes]]:
    """The WSGI app behind the same bearer token as the web's /metrics (when one is set)."""
    if token is None:
        return app
    expected = token.get_secret_value().encode()

    def guarded(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        given = environ.get("HTTP_AUTHORIZATION", "").removeprefix("Bearer ").strip().encode()
        if not hmac.compare_digest(given, expected):
            start_response("401 Unauthorized", [("Content-Type", "application/json")])
            return [b'{"error": {"message": "the metrics token is required"}}']
        return app(environ, start_response)

    return guarded


def serve(port: int, address: str = "0.0.0.0", token: SecretStr | None = None) -> ThreadingWSGIServer:  # noqa: S104
    """Serve this process's metrics at ``http://address:port/metrics`` on a daemon thread (a worker's own
    counters, wherever it runs). Port 0 picks a free one: the server's ``server_port`` says which."""
    server = make_server(address, port, _bearer_guard(make_wsgi_app(_registry()), token), ThreadingWSGIServer,
                         handler_class=_QuietHandler)
    threading.Thread(target=server.serve_forever, name="deskmate-metrics", daemon=True).start()
    return server
