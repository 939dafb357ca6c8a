"""Prometheus metrics. Under gunicorn set ``PROMETHEUS_MULTIPROC_DIR`` so every worker's counts add up."""

from __future__ import annotations

import os

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest, multiprocess

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
WORK_BY_STATE = Gauge("deskmate_work_items_current", "Work items in the database, by state", ["state"],
                      multiprocess_mode="liveall")
EVENTS_PENDING = Gauge("deskmate_inbound_events_pending", "Inbound events not yet handled",
                       multiprocess_mode="liveall")


def render(extra_state: dict[str, int] | None = None, events_pending: int | None = None) -> bytes:
    """The Prometheus text exposition; database-derived gauges are set just before rendering."""
    for state, count in (extra_state or {}).items():
        WORK_BY_STATE.labels(state).set(count)
    if events_pending is not None:
        EVENTS_PENDING.set(events_pending)
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return generate_latest(registry)
    return generate_latest()
