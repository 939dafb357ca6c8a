"""The actions as the sidebar shows them: forms (the ``form`` block), confirmations, and this ticket's history.

Only actions that make sense for this customer are offered: a refund when something is left to refund, a
reversal for a purchase the billing system marks as a duplicate, a cancellation for a live subscription, codes
from the account's campaigns. Whether the agent may do it is decided by the worker, from the helpdesk's record
of the agent; the page only learns the outcome.
"""

from __future__ import annotations

from typing import Any

from app.api import SidebarTicket
from plugins.customer.checks import Planned, left_to_refund
from plugins.customer.models import CustomerAction
from plugins.customer.settings import CustomerSettings

PREVIEW, POST = "/sidebar/api/customer/actions/preview", "/sidebar/api/customer/actions"
STATE_TONES = {"done": "green", "awaiting_approval": "yellow", "requested": "blue", "approved": "blue",
               "refused": "red", "declined": "red", "failed": "red"}
LIVE_SUBSCRIPTIONS = frozenset({"active", "trialing", "past_due"})


def _money(amount: int | None, currency: str | None) -> dict[str, Any] | str:
    return {"money": amount, "currency": currency} if amount is not None and currency else ""


def _form(name: str, kind: str, ticket: SidebarTicket, fields: list[dict[str, Any]], *, submit: str,
          open_text: str | None = None, extra: dict[str, Any] | None = None, tone: str = "primary",
          ) -> dict[str, Any]:
    form: dict[str, Any] = {"type": "form", "name": name, "fields": fields, "preview": PREVIEW, "post": POST,
                            "body": {"kind": kind, "ticket_id": ticket.id, "locale": ticket.locale, **(extra or {})},
                            "submit": {"t": submit}, "tone": tone}
    if open_text:
        form["open"] = {"t": open_text}
    return form


def _purchase_option(item: dict[str, Any]) -> list[Any]:
    """A purchase as the refund form lists it: its title, "duplicate charge" when the billing system marks it so
    (else two charges of one event read the same; said early, as a closed select shows only its start), what is
    left to refund, and its day."""
    return [item.get("title") or item["id"],
            {"t": "customer.form.duplicate_charge"} if item.get("duplicate_of") else None,
            _money(left_to_refund(item), item.get("currency")), {"day": item["date"]} if item.get("date") else None]


def action_blocks(data: dict[str, Any], ticket: SidebarTicket, settings: CustomerSettings) -> list[dict[str, Any]]:
    """The forms for what can be done for this customer now (none when the panel has no billing data)."""
    if data.get("state") != "ok" or (ticket.status == "closed" and settings.refuse_closed_tickets):
        return []
    shown: list[dict[str, Any]] = []
    refundable = [item for item in data.get("purchases") or [] if item.get("id") and left_to_refund(item) > 0]
    if "refund" in settings.actions and refundable:
        shown.append(_form("refund", "refund", ticket, [
            {"name": "purchase_id", "label": {"t": "customer.form.purchase"}, "kind": "select", "required": True,
             "options": [{"value": item["id"], "text": _purchase_option(item)} for item in refundable]},
            {"name": "amount", "label": {"t": "customer.form.amount"}, "kind": "money",
             "currency": refundable[0].get("currency") or settings.currency, "min": 1,
             "help": {"t": "customer.form.amount_help"}},
            {"name": "reason", "label": {"t": "customer.form.reason"}, "kind": "select", "required": True,
             "options": [{"value": reason, "text": reason} for reason in settings.refund_reasons]},
        ], submit="customer.form.refund.submit", open_text="customer.form.refund.open"))
    if "reverse_duplicate" in settings.actions:
        for item in refundable:
            if item.get("duplicate_of"):
                shown.append(_form(f"reverse-{item['id']}", "reverse_duplicate", ticket, [],
                                   submit="customer.form.reverse.submit", extra={"purchase_id": item["id"]},
                                   tone="danger")
                             | {"title": {"t": "customer.form.reverse.title",
                                          "args": {"title": item.get("title") or "",
                                                   "amount": _money(left_to_refund(item), item.get("currency"))}}})
    subscription = data.get("subscription") or {}
    if ("cancel_subscription" in settings.actions and subscription.get("status") in LIVE_SUBSCRIPTIONS
            and not subscription.get("cancel_at_period_end")):
        shown.append(_form("cancel-subscription", "cancel_subscription", ticket, [
            {"name": "when", "label": {"t": "customer.form.when"}, "kind": "radio", "value": "period_end",
             "options": [{"value": "period_end", "text": {"t": "customer.form.when.period_end"}},
                         {"value": "now", "text": {"t": "customer.form.when.now"}}]},
        ], submit="customer.form.cancel.submit", open_text="customer.form.cancel.open", tone="danger"))
    if "promo_code" in settings.actions:
        campaigns = _offered_campaigns(settings)
        if campaigns:
            shown.append(_form("promo-code", "promo_code", ticket, [
                {"name": "campaign", "label": {"t": "customer.form.campaign"}, "kind": "select", "required": True,
                 "options": [{"value": item["id"], "text": [item.get("name") or item["id"], item.get("discount")]}
                             for item in campaigns]},
            ], submit="customer.form.code.submit", open_text="customer.form.code.open"))
    if shown:
        shown[0] = {**shown[0], "title": shown[0].get("title") or {"t": "customer.actions"}}
    return shown


def _offered_campaigns(settings: CustomerSettings) -> list[dict[str, Any]]:
    from app.api import current_account
    from plugins.customer.billing_api import BillingUnavailable, campaigns_cached

    try:
        campaigns = campaigns_cached(current_account().id, settings)
    except BillingUnavailable:
        return []  # the rest of the panel still shows; codes come back with the billing system
    return [item for item in campaigns if not settings.campaigns or item.get("id") in settings.campaigns]


def summary_text(action: CustomerAction | Planned) -> dict[str, Any]:
    """One line for an action, as a sidebar text."""
    kind = action.kind
    if kind == "cancel_subscription":
        return {"t": f"customer.action.cancel_subscription.{action.option or 'now'}"}
    args: dict[str, Any] = {"title": action.purchase_title or "", "amount": _money(action.amount, action.currency),
                            "campaign": action.purchase_title or action.option or ""}
    return {"t": f"customer.action.{kind}", "args": args}


def confirmation(planned: Planned, ticket: SidebarTicket, settings: CustomerSettings) -> dict[str, Any]:
    """What will happen, in the agent's words, with who is affected (shown before the agent confirms)."""
    key = {"refund": "customer.confirm.refund", "reverse_duplicate": "customer.confirm.reverse",
           "cancel_subscription": f"customer.confirm.cancel.{planned.option}",
           "promo_code": "customer.confirm.code"}[planned.kind]
    args = {"amount": _money(planned.amount, planned.currency), "title": planned.purchase_title or "",
            "email": ticket.requester_email or "", "reason": planned.reason or "",
            "campaign": planned.purchase_title or planned.option or "", "discount": planned.discount or ""}
    return {"t": key, "args": args}


def done_message(action: CustomerAction) -> dict[str, Any]:
    reference = ({"t": "customer.reference", "args": {"reference": action.billing_reference}}
                 if action.billing_reference else "")
    return {"t": "customer.done", "args": {"what": summary_text(action), "reference": reference}}


def action_view(action: CustomerAction) -> dict[str, Any]:
    """An action for API clients (and the bench): what, its state, and what came of it."""
    return {"id": action.id, "request_id": action.request_id, "kind": action.kind, "state": action.state,
            "ticket_id": action.ticket_id, "purchase_id": action.purchase_id, "amount": action.amount,
            "currency": action.currency, "reason": action.reason, "option": action.option,
            "approval_reason": action.approval_reason, "refusal": action.refusal,
            "approver": action.approver_name, "billing_reference": action.billing_reference,
            "requested_at": action.requested_at.isoformat(),
            "finished_at": action.finished_at.isoformat() if action.finished_at else None}


def approval_text(action: CustomerAction) -> dict[str, Any] | str | None:
    """Why an action waits for a lead, in the agent's language (the English reason when there is no detail)."""
    detail = (action.result or {}).get("approval") or {}
    limit = detail.get("limit")
    if limit in ("per_ticket", "per_agent_per_day"):
        first = "" if detail.get("spent") else "_first"  # nothing spent yet: no "0.00 already refunded"
        return {"t": f"customer.approval.{limit}{first}", "default": action.approval_reason,
                "args": {"limit": _money(detail.get("amount"), detail.get("currency")),
                         "spent": _money(detail.get("spent"), detail.get("currency"))}}
    if limit == "currency":
        return {"t": "customer.approval.currency", "default": action.approval_reason,
                "args": {"currency": detail.get("currency"), "limits_currency": detail.get("limits_currency")}}
    if limit == "promo_codes":
        return {"t": "customer.approval.promo_codes", "default": action.approval_reason,
                "args": {"count": detail.get("count"), "allowed": detail.get("allowed")}}
    return action.approval_reason


def history(actions: list[CustomerAction]) -> list[dict[str, Any]]:
    """This ticket's actions, newest first, each with its state as a coloured tag."""
    if not actions:
        return []
    items = []
    for action in actions:
        detail: Any = None
        if action.state == "done" and action.billing_reference:
            detail = {"t": "customer.reference", "args": {"reference": action.billing_reference}}
        elif action.state == "awaiting_approval":
            detail = approval_text(action)
        elif action.state in ("refused", "declined", "failed"):
            detail = action.refusal
        if action.state == "done":
            from plugins.customer.texts import reply

            extra = {"reply": reply(action)}  # for an action done after its form closed (a lead approved it)
        else:
            extra = {}
        items.append({**extra, "id": str(action.id), "title": summary_text(action),
                      "badge": {"text": {"t": f"customer.action_state.{action.state}"},
                                "tone": STATE_TONES.get(action.state)},
                      "text": detail,
                      "note": [action.agent_name or None, {"date": action.requested_at.isoformat()}]})
    return [{"type": "list", "name": "customer-actions", "title": {"t": "customer.history"}, "items": items}]
