"""Delivering requester notices (work kind ``zendesk.requester_notice``), each exactly once.

A batch of due notices costs one ``tickets/show_many`` (up to 100 tickets) and one ``users/show_many`` for
the whole batch, then one call per notice: a public comment (``PUT /tickets/{id}``, the notice's key in the
audit's ``metadata.custom``) on the requester's most recent open ticket, or, when all their tickets are
closed, a follow-up ticket (``POST /tickets`` with ``via_followup_source_id`` and the key as the
``Idempotency-Key``). The choice is made here, from the tickets' current status, so a ticket closed after the
release gets a follow-up. A retried item first looks for what an earlier attempt may have done (the key in
an audit of the tickets or of their follow-ups) before doing anything.

Each item gets its own outcome: a rate-limit deferral or an error on one notice never undoes the record of
the notices delivered before it in the same batch.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from app.effects import find_audit
from app.models import RequesterNoticeRecord, WorkItem
from app.notices import NoticeTemplates, render, requester_values
from app.plugins import PluginContext
from app.ratelimit import BudgetExhausted
from app.workqueue import RUNNING, BatchHandler, ClaimedItem, Done, Fail, Outcome, PermanentFailure, Retry
from app.zendesk import HelpdeskError

UNSOLVED = ("new", "open", "pending", "hold")
_SHOW_MANY = 100


def _recency(ticket: Mapping[str, Any]) -> tuple[int, str, int]:
    unsolved = 1 if ticket.get("status") in UNSOLVED else 0
    return (unsolved, str(ticket.get("updated_at") or ""), int(ticket["id"]))


def _show_many(ctx: PluginContext, path: str, member: str, ids: list[int]) -> dict[int, dict[str, Any]]:
    found: dict[int, dict[str, Any]] = {}
    for start in range(0, len(ids), _SHOW_MANY):
        chunk = ids[start:start + _SHOW_MANY]
        answer = ctx.zendesk.call("GET", path, params={"ids": ",".join(map(str, chunk))}, what=path)
        found.update({int(record["id"]): record for record in answer.get(member) or []})
    return found


def _fetch(ctx: PluginContext, records: list[RequesterNoticeRecord]) -> tuple[dict[int, Any], dict[int, Any]]:
    """The current state of every candidate ticket and every requester of the batch (two calls for 100)."""
    ticket_ids = sorted({int(t) for record in records for t in record.ticket_ids})
    tickets = _show_many(ctx, "/tickets/show_many.json", "tickets", ticket_ids)
    users = _show_many(ctx, "/users/show_many.json", "users", sorted({r.requester_id for r in records}))
    return tickets, users


def _reconcile(ctx: PluginContext, key: str, candidates: list[dict[str, Any]]) -> dict[str, Any] | None:
    """What an earlier attempt did, if anything: the key in an audit of a ticket or of its follow-ups."""
    for ticket in sorted(candidates, key=_recency, reverse=True):
        audit_id = find_audit(ctx, int(ticket["id"]), key)
        if audit_id is not None:
            return {"channel": "comment", "ticket_id": int(ticket["id"]), "audit_id": audit_id,
                    "reconciled": True}
        for followup_id in ticket.get("followup_ids") or []:
            try:
                audit_id = find_audit(ctx, int(followup_id), key)
            except HelpdeskError as error:
                if error.status == 404:
                    continue
                raise
            if audit_id is not None:
                return {"channel": "followup", "ticket_id": int(followup_id),
                        "source_ticket_id": int(ticket["id"]), "audit_id": audit_id, "reconciled": True}
    return None


def _message(record: RequesterNoticeRecord, user: Mapping[str, Any] | None) -> tuple[str, str, str]:
    """(locale, subject, body) for this requester, from their helpdesk locale and name."""
    templates = NoticeTemplates.from_json(record.templates)
    locale, template = templates.for_locale((user or {}).get("locale"))
    values = {**record.context, **requester_values((user or {}).get("name") or record.requester_name)}
    return locale, render(template.subject, values), render(template.body, values)


def _comment(ctx: PluginContext, key: str, ticket_id: int, body: str, tags: list[str]) -> dict[str, Any]:
    ticket: dict[str, Any] = {"comment": {"body": body, "public": True}, "metadata": {"deskmate_key": key}}
    if tags:
        ticket["additional_tags"] = tags
    answer = ctx.zendesk.call("PUT", f"/tickets/{ticket_id}.json", json={"ticket": ticket},
                              what="notice comment")
    audit = (answer or {}).get("audit") or {}
    return {"channel": "comment", "ticket_id": ticket_id, "audit_id": audit.get("id")}


def _followup(ctx: PluginContext, key: str, record: RequesterNoticeRecord, source: Mapping[str, Any],
              subject: str, body: str) -> dict[str, Any]:
    ticket: dict[str, Any] = {
        "via_followup_source_id": int(source["id"]), "requester_id": record.requester_id, "subject": subject,
        "comment": {"body": body, "public": True}, "metadata": {"deskmate_key": key},
    }
    for name in ("organization_id", "brand_id"):
        if source.get(name) is not None:
            ticket[name] = source[name]
    if record.tags:
        ticket["tags"] = list(record.tags)
    answer = ctx.zendesk.call("POST", "/tickets.json", json={"ticket": ticket},
                              headers={"Idempotency-Key": key}, what="notice follow-up")
    return {"channel": "followup", "ticket_id": int(answer["ticket"]["id"]),
            "source_ticket_id": int(source["id"])}


def _deliver(ctx: PluginContext, item: ClaimedItem, record: RequesterNoticeRecord, tickets: Mapping[int, Any],
             users: Mapping[int, Any]) -> dict[str, Any]:
    """Tell one requester, or find that an earlier attempt already did. Returns how it went out."""
    candidates = [tickets[int(t)] for t in record.ticket_ids if int(t) in tickets]
    if item.is_retry:
        found = _reconcile(ctx, item.key, candidates)
        if found is not None:
            return found
    theirs = [t for t in candidates
              if t.get("requester_id") is None or int(t["requester_id"]) == record.requester_id]
    if not theirs:
        raise PermanentFailure(f"none of tickets {record.ticket_ids} exists with requester "
                               f"{record.requester_id} any more; nothing to comment on or follow up")
    locale, subject, body = _message(record, users.get(record.requester_id))
    open_tickets = [t for t in theirs if t.get("status") not in ("closed", "deleted")]
    if open_tickets:
        target = max(open_tickets, key=_recency)
        try:
            return {**_comment(ctx, item.key, int(target["id"]), body, list(record.tags)), "locale": locale}
        except HelpdeskError as error:
            # Closed between the look-up and the comment: the follow-up below is the right channel now.
            if error.status != 422 or "closed" not in str(error.body).lower():
                raise
            target = {**target, "status": "closed"}
            theirs = [target if t["id"] == target["id"] else t for t in theirs]
    source = max((t for t in theirs if t.get("status") == "closed"), key=_recency)
    try:
        return {**_followup(ctx, item.key, record, source, subject, body), "locale": locale}
    except HelpdeskError as error:
        if error.status == 400 and "idempot" in str(error.body).lower():
            found = _reconcile(ctx, item.key, candidates)
            if found is not None:
                return found
        raise


def _result_of(record: RequesterNoticeRecord) -> dict[str, Any]:
    return {"channel": record.channel, "ticket_id": record.ticket_id,
            "source_ticket_id": record.source_ticket_id, "locale": record.locale}


def _failure(error: Exception) -> Outcome:
    """Turn what a delivery raised into its item's outcome."""
    if isinstance(error, BudgetExhausted):
        return Retry(str(error), at=error.retry_at)  # nothing was sent: no attempt spent
    if isinstance(error, PermanentFailure):
        return Fail(str(error))
    if isinstance(error, HelpdeskError):
        return Retry(str(error)) if error.retryable else Fail(str(error))
    return Retry(f"{type(error).__name__}: {error}")


def _load(ctx: PluginContext, keys: list[str]) -> dict[str, RequesterNoticeRecord]:
    """The batch's notices, read in a short transaction of their own.

    The handler's own session stays closed until the results are written: on SQLite an open write
    transaction would block the rate budget's bookkeeping for as long as the helpdesk calls take.
    """
    with Session(ctx.session.get_bind(), expire_on_commit=False) as reader:
        return {record.work_key: record for record in reader.scalars(sa.select(RequesterNoticeRecord).where(
            RequesterNoticeRecord.account_id == ctx.account.id, RequesterNoticeRecord.work_key.in_(keys)))}


class _Leases:
    """Keeps the batch's claims alive while it works through them, and says when one was lost.

    A batch slowed down by the rate budget can outlive the lease its items were claimed with; another worker
    would then take over notices this one is still telling. So before each notice, a lease closer to its end
    than ``margin`` is extended, but only while it has not run out (an unexpired lease is still this
    worker's); an item whose lease ran out is handed back untouched.
    """

    def __init__(self, ctx: PluginContext, items: list[ClaimedItem]) -> None:
        self.ctx = ctx
        self.engine = cast(Engine, ctx.session.get_bind())  # sessions here are bound to the app's engine
        self.ids = [item.id for item in items]
        self.seconds = float(ctx.config.worker_lease_seconds)
        self.margin = min(45.0, self.seconds / 2)
        w = WorkItem.__table__
        with self.engine.connect() as connection:
            rows = connection.execute(sa.select(WorkItem.id, WorkItem.locked_until).where(
                w.c.id.in_(self.ids), w.c.state == RUNNING)).all()
        self.until: dict[int, datetime] = {row.id: row.locked_until for row in rows if row.locked_until}

    def held(self, item_id: int) -> bool:
        now = self.ctx.now()
        until = self.until.get(item_id)
        if until is None or until <= now:
            return False
        if (until - now).total_seconds() >= self.margin:
            return True
        extended = now + timedelta(seconds=self.seconds)
        with self.engine.begin() as connection:
            kept = connection.execute(
                sa.update(WorkItem).where(WorkItem.id.in_(list(self.until)), WorkItem.state == RUNNING,
                                          WorkItem.locked_until > now)
                .values(locked_until=extended).returning(WorkItem.id)).scalars().all()
        self.until = dict.fromkeys(kept, extended)
        return item_id in self.until


def deliver_notices(items: list[ClaimedItem], ctx: PluginContext) -> dict[int, Outcome]:
    """The ``zendesk.requester_notice`` batch handler: one outcome per item, never an exception."""
    records = _load(ctx, [item.key for item in items])
    outcomes: dict[int, Outcome] = {}
    todo: list[tuple[ClaimedItem, RequesterNoticeRecord]] = []
    for item in items:
        record = records.get(item.key)
        if record is None:
            outcomes[item.id] = Fail("no requester notice is recorded under this key")
        elif record.delivered_at is not None:
            outcomes[item.id] = Done(_result_of(record))  # delivered; only the item's own finish was lost
        else:
            todo.append((item, record))
    if not todo:
        return outcomes
    try:
        tickets, users = _fetch(ctx, [record for _, record in todo])
    except Exception as error:
        failure = _failure(error)
        outcomes.update({item.id: failure if not isinstance(failure, Fail) else Retry(failure.error)
                         for item, _ in todo})
        return outcomes
    delivered: dict[int, dict[str, Any]] = {}
    leases = _Leases(ctx, [item for item, _ in todo])
    for index, (item, record) in enumerate(todo):
        if not leases.held(item.id):
            outcomes[item.id] = Retry("the claim ran out before this notice was told", at=ctx.now())
            continue
        try:
            result = _deliver(ctx, item, record, tickets, users)
        except Exception as error:
            outcomes[item.id] = _failure(error)
            if isinstance(error, BudgetExhausted):
                # The budget is spent for everyone: defer the rest of the batch without spending attempts.
                for later, _ in todo[index + 1:]:
                    outcomes[later.id] = Retry(str(error), at=error.retry_at)
                break
            continue
        delivered[record.id] = result
        outcomes[item.id] = Done(result)
    now = ctx.now()
    for record_id, result in delivered.items():
        mine = RequesterNoticeRecord.id == record_id
        ctx.session.execute(sa.update(RequesterNoticeRecord).where(mine).values(
            delivered_at=now, channel=result.get("channel"), ticket_id=result.get("ticket_id"),
            source_ticket_id=result.get("source_ticket_id"), locale=result.get("locale")))
    return outcomes


def notice_handler() -> BatchHandler:
    """The core's handler for ``zendesk.requester_notice``: batches of 50 share their look-ups."""
    return BatchHandler(deliver_notices, max_batch=50)
