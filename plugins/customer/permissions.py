"""Who may do what: the agent's helpdesk record against the account's rules and what was already spent.

Decided in the worker only, from the helpdesk's own record of the agent (``GET /users/{id}``, its group
memberships and their groups' names), never from anything the page sends. ``decide`` runs with the totals of
the ticket and of the agent's day locked (``customer_totals``, always in that order), so two actions decided at
once on two workers see each other's amounts.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from app.api import HelpdeskError, PluginContext, insert_for
from plugins.customer.models import CustomerAction, CustomerAgent, CustomerTotal
from plugins.customer.settings import MONEY_KINDS, ActionRule, CustomerSettings
from plugins.customer.texts import money

STAFF_ROLES = frozenset({"agent", "admin"})


@dataclass(frozen=True)
class AgentRecord:
    id: int
    name: str | None
    email: str | None
    role: str | None
    active: bool
    locale: str | None
    groups: tuple[str, ...]


@dataclass(frozen=True)
class Decision:
    """``allow``, ``approval`` (with why) or ``refuse`` (with why), and the rule that decided.

    ``reason`` is English (the audit, Slack); ``detail`` says the same as data, for the sidebar to say it in
    the agent's language: ``{"limit": "per_ticket" | "per_agent_per_day" | "currency" | "promo_codes", ...}``.
    """

    outcome: str
    rule: str | None
    reason: str | None = None
    detail: dict[str, Any] | None = None


def describe(rule: ActionRule, index: int) -> str:
    who = " in ".join(part for part in (rule.role or "", f"group {rule.group}" if rule.group else "") if part)
    return f"rule {index + 1} ({who or 'everyone'})"


def matching_rule(agent: AgentRecord, settings: CustomerSettings) -> tuple[int, ActionRule] | None:
    groups = {name.lower() for name in agent.groups}
    for index, rule in enumerate(settings.rules):
        if rule.role is not None and rule.role != agent.role:
            continue
        if rule.group is not None and rule.group.lower() not in groups:
            continue
        return index, rule
    return None


# --- the helpdesk's record of the agent ---------------------------------------------------------------------

def cached_agent(ctx: PluginContext, agent_id: int, now: datetime,
                 settings: CustomerSettings) -> AgentRecord | None:
    """The agent as last read from the helpdesk, if that was recent enough (a short read of its own)."""
    rows = ctx.read(sa.select(CustomerAgent).where(CustomerAgent.account_id == ctx.account.id,
                                                   CustomerAgent.agent_id == agent_id))
    if not rows or (now - rows[0].fetched_at).total_seconds() > settings.agent_record_seconds:
        return None
    row = rows[0]
    return AgentRecord(row.agent_id, row.name, row.email, row.role, row.active, row.locale, tuple(row.groups))


def fetch_agent(ctx: PluginContext, agent_id: int) -> AgentRecord:
    """The agent from the helpdesk: the user, its group memberships, and the names of those groups."""
    try:
        user = ctx.zendesk.call("GET", f"/users/{agent_id}.json", what="agent record")["user"]
    except HelpdeskError as error:
        if error.status == 404:
            return AgentRecord(agent_id, None, None, None, False, None, ())
        raise
    memberships = ctx.zendesk.call("GET", "/group_memberships.json", params={"user_id": agent_id},
                                   what="agent groups").get("group_memberships") or []
    names = []
    for group_id in sorted({int(item["group_id"]) for item in memberships if item.get("group_id")}):
        try:
            group = ctx.zendesk.call("GET", f"/groups/{group_id}.json", what="agent group")["group"]
        except HelpdeskError as error:
            if error.status == 404:
                continue
            raise
        if not group.get("deleted"):
            names.append(str(group.get("name") or ""))
    active = bool(user.get("active", True)) and not user.get("suspended", False)
    return AgentRecord(agent_id, user.get("name"), user.get("email"), user.get("role"), active,
                       user.get("locale"), tuple(sorted(name for name in names if name)))


def remember_agent(session: Session, account_id: int, agent: AgentRecord, now: datetime) -> None:
    values = {"name": agent.name, "email": agent.email, "role": agent.role, "active": agent.active,
              "locale": agent.locale, "groups": list(agent.groups), "fetched_at": now}
    statement = insert_for(session, CustomerAgent).values(account_id=account_id, agent_id=agent.id, **values)
    session.execute(statement.on_conflict_do_update(index_elements=["account_id", "agent_id"], set_=values))


# --- limits -------------------------------------------------------------------------------------------------

def _scopes(action: CustomerAction, day: str) -> list[str]:
    return [f"ticket:{action.ticket_id}", f"agent:{action.agent_id}:{day}"]


def _locked_totals(session: Session, account_id: int, scopes: list[str], currency: str,
                   now: datetime) -> dict[str, CustomerTotal]:
    for scope in scopes:  # make sure each row exists, then lock them in one order
        session.execute(insert_for(session, CustomerTotal).values(
            account_id=account_id, scope=scope, currency=currency, amount=0, updated_at=now
        ).on_conflict_do_nothing())
    rows = session.scalars(sa.select(CustomerTotal).where(
        CustomerTotal.account_id == account_id, CustomerTotal.scope.in_(scopes),
        CustomerTotal.currency == currency).order_by(CustomerTotal.scope).with_for_update()).all()
    return {row.scope: row for row in rows}


def decide(session: Session, action: CustomerAction, agent: AgentRecord, settings: CustomerSettings,
           customer: dict[str, Any], now: datetime) -> Decision:
    """Whether the agent may do ``action`` now, needs a lead's approval, or may not at all.

    For money actions that are allowed the amount is added to the totals here (``action.reserved``), in the
    transaction that records the decision; ``release`` takes it back if the action does not happen.
    """
    if agent.role not in STAFF_ROLES or not agent.active:
        return Decision("refuse", None, "your helpdesk user is not an active agent")
    found = matching_rule(agent, settings)
    if found is None:
        return Decision("refuse", None, "no rule of this account lets your role and groups act on billing")
    index, rule = found
    name = describe(rule, index)
    if action.kind not in rule.actions:
        return Decision("refuse", name, f"{name} does not allow this action")
    if action.kind == "promo_code":
        issued = _codes_issued(session, action, customer)
        allowed = rule.promo_codes_per_customer
        if allowed is not None and issued >= allowed:
            return Decision("approval", name, f"this customer already has {issued} code(s) issued by support; "
                                              f"{name} allows {allowed}",
                            {"limit": "promo_codes", "count": issued, "allowed": allowed})
        return Decision("allow", name)
    if action.kind not in MONEY_KINDS or action.amount is None or action.currency is None:
        return Decision("allow", name)
    if action.currency != settings.currency:
        return Decision("approval", name, f"the amount is in {action.currency}; limits are set in "
                                          f"{settings.currency}",
                        {"limit": "currency", "currency": action.currency, "limits_currency": settings.currency})
    day = now.date().isoformat()
    ticket_scope, agent_scope = _scopes(action, day)
    totals = _locked_totals(session, action.account_id, [ticket_scope, agent_scope], action.currency, now)
    spent_ticket, spent_day = totals[ticket_scope].amount, totals[agent_scope].amount
    currency = action.currency
    for limit, spent, words in (("per_ticket", spent_ticket, "per ticket"),
                                ("per_agent_per_day", spent_day, "per agent per day")):
        allowed_amount = getattr(rule, limit)
        if allowed_amount is not None and spent + action.amount > allowed_amount:
            already = "already refunded on this ticket" if limit == "per_ticket" else "refunded today"
            spent_words = f" ({money(spent, currency, 'en')} {already})" if spent else ""
            return Decision("approval", name, f"above the limit {words} of {money(allowed_amount, currency, 'en')}"
                                              + spent_words,
                            {"limit": limit, "amount": allowed_amount, "spent": spent, "currency": currency})
    reserve(session, action, now)
    return Decision("allow", name)


def reserve(session: Session, action: CustomerAction, now: datetime) -> None:
    """Count the action's amount in its ticket's and agent's totals (once)."""
    if action.reserved or action.kind not in MONEY_KINDS or not action.amount or not action.currency:
        return
    scopes = _scopes(action, (action.decided_at or now).date().isoformat())
    for total in _locked_totals(session, action.account_id, scopes, action.currency, now).values():
        total.amount += action.amount
        total.updated_at = now
    action.reserved = True


def release(session: Session, action: CustomerAction, now: datetime) -> None:
    """Take back a reserved amount (the billing system refused, or the action failed for good)."""
    if not action.reserved or not action.amount or not action.currency:
        return
    scopes = _scopes(action, (action.decided_at or now).date().isoformat())
    for total in _locked_totals(session, action.account_id, scopes, action.currency, now).values():
        total.amount = max(0, total.amount - action.amount)
        total.updated_at = now
    action.reserved = False


def _codes_issued(session: Session, action: CustomerAction, customer: dict[str, Any]) -> int:
    """Codes support already gave this customer: the billing system's, else Deskmate's own record."""
    from plugins.customer.models import DONE

    listed = sum(1 for code in customer.get("promo_codes") or []
                 if isinstance(code, dict) and code.get("campaign"))
    ours = session.scalar(sa.select(sa.func.count()).select_from(CustomerAction).where(
        CustomerAction.account_id == action.account_id, CustomerAction.kind == "promo_code",
        CustomerAction.customer_email == action.customer_email, CustomerAction.state == DONE)) or 0
    return max(listed, int(ours))
