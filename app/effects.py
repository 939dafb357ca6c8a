"""The core's side effects: helpdesk ticket updates, comments and creations, Slack posts and updates.

Plugins ask for these with ``ctx.enqueue(kind, key, payload)``; the worker performs them. Each one is safe to
perform again after a crash: field updates are idempotent by nature, comments carry the work item's key in
the audit's ``metadata.custom`` and are looked up before a retry, ticket creation sends the key as Zendesk's
``Idempotency-Key``, and Slack posts carry it in message metadata, looked up before a retry.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from slack_sdk.errors import SlackApiError

from app.plugins import PluginContext
from app.workqueue import BatchHandler, ClaimedItem, Done, Fail, Handler, Outcome, PermanentFailure, Retry
from app.zendesk import HelpdeskError

TICKET_UPDATE = "zendesk.ticket_update"
TICKET_COMMENT = "zendesk.ticket_comment"
TICKET_CREATE = "zendesk.ticket_create"
SLACK_POST = "slack.post_message"
SLACK_UPDATE = "slack.update_message"
SLACK_UPLOAD = "slack.upload_file"
METADATA_EVENT = "deskmate_message"

# Ticket fields a plugin may set through zendesk.ticket_update.
UPDATABLE_FIELDS = frozenset({
    "group_id", "assignee_id", "priority", "type", "status", "additional_tags", "remove_tags", "custom_fields",
    "organization_id",
})


def _update_tickets(items: list[ClaimedItem], ctx: PluginContext) -> Mapping[int, Outcome]:
    """Apply up to 100 ticket updates with one ``update_many`` and follow its job status to the end."""
    outcomes: dict[int, Outcome] = {}
    by_ticket: dict[int, ClaimedItem] = {}
    for item in items:
        ticket_id = int(item.payload["ticket_id"])
        fields = item.payload.get("ticket") or {}
        unknown = set(fields) - UPDATABLE_FIELDS
        if unknown:
            outcomes[item.id] = Fail(f"fields not updatable through {TICKET_UPDATE}: {sorted(unknown)}")
        elif ticket_id in by_ticket:
            # Two updates of one ticket in one call would race inside the helpdesk: the second waits its turn.
            outcomes[item.id] = Retry("another update of this ticket is in the same batch",
                                      at=ctx.now() + timedelta(seconds=1))
        else:
            by_ticket[ticket_id] = item
    if not by_ticket:
        return outcomes
    body = {"tickets": [{"id": ticket_id, **(item.payload.get("ticket") or {})}
                        for ticket_id, item in by_ticket.items()]}
    answer = ctx.zendesk.call("PUT", "/tickets/update_many.json", json=body, what="update_many")
    job = _follow_job(ctx, answer["job_status"])
    if job["status"] not in ("completed", "failed"):
        for item in by_ticket.values():
            outcomes[item.id] = Retry(f"job {job['id']} still {job['status']}")
        return outcomes
    results = {int(result["id"]): result for result in job.get("results") or [] if "id" in result}
    for ticket_id, item in by_ticket.items():
        result = results.get(ticket_id)
        if result is None:
            outcomes[item.id] = Retry(f"job {job['id']} reported nothing for ticket {ticket_id}")
        elif result.get("success", result.get("status") == "Updated"):
            outcomes[item.id] = Done({"job_id": job["id"], "status": result.get("status")})
        elif _is_permanent(result):
            outcomes[item.id] = Fail(f"ticket {ticket_id}: {result.get('errors') or result.get('error')}")
        else:
            outcomes[item.id] = Retry(f"ticket {ticket_id}: {result.get('errors') or result.get('error')}")
    return outcomes


def _is_permanent(result: Mapping[str, Any]) -> bool:
    text = f"{result.get('error', '')} {result.get('errors', '')} {result.get('details', '')}".lower()
    return any(word in text for word in ("closed", "recordnotfound", "not found", "invalid"))


def _follow_job(ctx: PluginContext, job: dict[str, Any]) -> dict[str, Any]:
    """Poll a job status with growing pauses until it ends or the configured timeout passes."""
    deadline = time.monotonic() + ctx.config.job_status_timeout_seconds
    pause = 0.25
    while job["status"] in ("queued", "working") and time.monotonic() < deadline:
        time.sleep(pause)
        pause = min(pause * 2, 5.0)
        job = ctx.zendesk.call("GET", f"/job_statuses/{job['id']}.json", what="job status")["job_status"]
    return job


def _comment(item: ClaimedItem, ctx: PluginContext) -> dict[str, Any]:
    """Add a comment (public or internal) to a ticket, exactly once."""
    ticket_id = int(item.payload["ticket_id"])
    if item.is_retry:
        audit_id = find_audit(ctx, ticket_id, item.key)
        if audit_id is not None:
            return {"ticket_id": ticket_id, "audit_id": audit_id, "reconciled": True}
    comment = {key: item.payload[key] for key in ("body", "html_body", "public", "author_id") if key in item.payload}
    # `metadata` is a member of the ticket object; the helpdesk stores it as the audit's `metadata.custom`.
    body = {"ticket": {**(item.payload.get("ticket") or {}), "comment": comment,
                       "metadata": {"deskmate_key": item.key}}}
    try:
        answer = ctx.zendesk.call("PUT", f"/tickets/{ticket_id}.json", json=body, what="comment")
    except HelpdeskError as error:
        if error.status in (404, 422):
            raise PermanentFailure(str(error)) from error
        raise
    return {"ticket_id": ticket_id, "audit_id": (answer.get("audit") or {}).get("id")}


def find_audit(ctx: PluginContext, ticket_id: int, key: str) -> int | None:
    """The id of the ticket's audit whose ``metadata.custom.deskmate_key`` is ``key``, if there is one."""
    path: str | None = f"/tickets/{ticket_id}/audits.json"
    while path:
        page = ctx.zendesk.call("GET", path, what="audits")
        for audit in page.get("audits") or []:
            if ((audit.get("metadata") or {}).get("custom") or {}).get("deskmate_key") == key:
                return int(audit["id"])
        next_page = page.get("next_page")
        path = next_page.split("/api/v2", 1)[1] if next_page else None
    return None


def _create_ticket(item: ClaimedItem, ctx: PluginContext) -> dict[str, Any]:
    """Create a ticket (for example a follow-up), once: the key is the helpdesk's Idempotency-Key."""
    answer = ctx.zendesk.call("POST", "/tickets.json", json={"ticket": item.payload["ticket"]},
                              headers={"Idempotency-Key": item.key}, what="create ticket")
    return {"ticket_id": answer["ticket"]["id"]}


def _post_message(item: ClaimedItem, ctx: PluginContext) -> dict[str, Any]:
    """Post a Slack message (or a thread reply under the message of ``thread_of``), exactly once."""
    payload = dict(item.payload)
    thread_ts = None
    if payload.get("thread_of"):
        parent = ctx.result_of(payload["thread_of"])
        if not parent:
            raise PermanentFailure(f"the message {payload['thread_of']} to reply under was never posted")
        thread_ts = parent["ts"]
        payload["channel"] = parent["channel"]
    if item.is_retry:
        found = _find_message(ctx, payload["channel"], item.key, thread_ts)
        if found:
            return found
    answer = _slack(ctx, "chat_postMessage", channel=payload["channel"], text=payload.get("text", ""),
                    blocks=payload.get("blocks"), thread_ts=thread_ts, unfurl_links=False,
                    metadata={"event_type": METADATA_EVENT, "event_payload": {"deskmate_key": item.key}})
    return {"channel": answer["channel"], "ts": answer["ts"], "thread_ts": thread_ts}


def _find_message(ctx: PluginContext, channel: str, key: str, thread_ts: str | None) -> dict[str, Any] | None:
    if thread_ts:
        answer = _slack(ctx, "conversations_replies", channel=channel, ts=thread_ts, include_all_metadata=True,
                        limit=200)
    else:
        answer = _slack(ctx, "conversations_history", channel=channel, include_all_metadata=True, limit=200)
    for message in answer.get("messages") or []:
        payload = (message.get("metadata") or {}).get("event_payload") or {}
        if payload.get("deskmate_key") == key:
            return {"channel": channel, "ts": message["ts"], "thread_ts": thread_ts, "reconciled": True}
    return None


def _update_message(item: ClaimedItem, ctx: PluginContext) -> dict[str, Any]:
    """Replace the text and blocks of the message posted by work item ``message_of`` (idempotent)."""
    original = ctx.result_of(item.payload["message_of"])
    if not original:
        raise PermanentFailure(f"the message {item.payload['message_of']} was never posted")
    answer = _slack(ctx, "chat_update", channel=original["channel"], ts=original["ts"],
                    text=item.payload.get("text", ""), blocks=item.payload.get("blocks"))
    return {"channel": answer["channel"], "ts": answer["ts"]}


def _upload_file(item: ClaimedItem, ctx: PluginContext) -> dict[str, Any]:
    """Upload a file (a chart) to a channel. At least once: Slack files carry no metadata to look up."""
    import base64

    content = base64.b64decode(item.payload["content_base64"])
    answer = _slack(ctx, "files_upload_v2", channel=item.payload["channel"], content=content,
                    filename=item.payload["filename"], title=item.payload.get("title"),
                    initial_comment=item.payload.get("initial_comment"))
    file_info = answer.get("file") or {}
    return {"file_id": file_info.get("id")}


# Slack errors that no retry can mend.
_SLACK_PERMANENT = {"channel_not_found", "not_in_channel", "invalid_auth", "account_inactive", "is_archived",
                    "msg_too_long", "invalid_blocks", "message_not_found", "cant_update_message", "no_text"}


def _slack(ctx: PluginContext, method: str, **kwargs: Any) -> Any:
    from app import metrics
    from app.workqueue import RetryLater

    try:
        answer = getattr(ctx.slack, method)(**{k: v for k, v in kwargs.items() if v is not None})
    except SlackApiError as error:
        code = str(error.response.get("error", "unknown"))
        metrics.SLACK_CALLS.labels(method, code).inc()
        if code == "ratelimited" or error.response.status_code == 429:
            retry_after = float(error.response.headers.get("Retry-After", error.response.headers.get(
                "retry-after", 5)) or 5)
            raise RetryLater(ctx.now() + timedelta(seconds=retry_after), "slack ratelimited") from error
        if code in _SLACK_PERMANENT:
            raise PermanentFailure(f"slack {method}: {code}") from error
        raise
    metrics.SLACK_CALLS.labels(method, "ok").inc()
    return answer


def core_handlers() -> dict[str, Handler]:
    from app.notice_delivery import notice_handler
    from app.notices import NOTICE_WORK_KIND

    return {
        NOTICE_WORK_KIND: notice_handler(),
        TICKET_UPDATE: BatchHandler(_update_tickets, max_batch=100),
        TICKET_COMMENT: _comment,
        TICKET_CREATE: _create_ticket,
        SLACK_POST: _post_message,
        SLACK_UPDATE: _update_message,
        SLACK_UPLOAD: _upload_file,
    }


def perform_core_effect(kind: str, item: ClaimedItem, ctx: PluginContext) -> dict[str, Any]:
    """Perform one of the core's single-item effects in-line, from a plugin's own work handler.

    For a handler that decides at the last moment what to send (an SLA reminder reads its clock first): the
    item's key and ``is_retry`` carry the same exactly-once guarantees as an enqueued item of ``kind``.
    """
    handler = core_handlers()[kind]
    if isinstance(handler, BatchHandler):
        raise ValueError(f"{kind} is performed in batches; enqueue it instead")
    return handler(item, ctx) or {}
