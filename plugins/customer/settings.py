"""The customer panel's settings: ``[plugins.customer]`` in the config file, overridable per account."""

from __future__ import annotations

import re
from typing import Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, Field, SecretStr, field_validator, model_validator

ActionKind = Literal["refund", "reverse_duplicate", "cancel_subscription", "promo_code"]
ACTION_KINDS: tuple[ActionKind, ...] = ("refund", "reverse_duplicate", "cancel_subscription", "promo_code")
MONEY_KINDS = frozenset({"refund", "reverse_duplicate"})


class ActionRule(BaseModel):
    """What the agents a rule matches may do: the first rule matching the agent's helpdesk record wins.

    ``role`` (the helpdesk role, ``agent`` or ``admin``) and ``group`` (a helpdesk group name the agent belongs
    to) both match when absent. Amounts are integer minor units of the settings' ``currency``; ``None`` is no
    limit. Above a limit the action goes to a lead for approval (``approvals_channel``).
    """

    model_config = {"extra": "forbid"}

    role: Literal["agent", "admin"] | None = None
    group: str | None = Field(default=None, min_length=1, max_length=255)
    actions: list[ActionKind] = Field(default_factory=lambda: list(ACTION_KINDS))
    per_ticket: int | None = Field(default=None, ge=0)
    per_agent_per_day: int | None = Field(default=None, ge=0)
    promo_codes_per_customer: int | None = Field(default=1, ge=0)


def _default_rules() -> list[ActionRule]:
    return [ActionRule(role="admin"),
            ActionRule(group="Tier 2", per_ticket=10_000, per_agent_per_day=50_000, promo_codes_per_customer=2),
            ActionRule(group="Billing", per_ticket=50_000, per_agent_per_day=200_000, promo_codes_per_customer=3),
            ActionRule(per_ticket=2_000, per_agent_per_day=10_000)]


class CustomerSettings(BaseModel):
    """Where the customer data comes from; every field has a default (the helpdesk's own fields)."""

    # "helpdesk": the requester's user fields, then their organization's fields, as the sidebar sideloaded
    # them (no extra call). "billing": the team's billing or CRM system over HTTP.
    source: Literal["helpdesk", "billing"] = "helpdesk"
    # Field keys to read, first match wins (user fields before organization fields).
    plan_fields: list[str] = Field(default_factory=lambda: ["plan", "partner_tier"])
    subscription_fields: list[str] = Field(default_factory=lambda: ["subscription_status", "subscription"])
    renews_fields: list[str] = Field(default_factory=lambda: ["subscription_renews_at", "renews_at"])
    purchases_fields: list[str] = Field(default_factory=lambda: ["recent_purchases", "purchases"])
    refunds_fields: list[str] = Field(default_factory=lambda: ["refunds"])
    promo_codes_fields: list[str] = Field(default_factory=lambda: ["promo_codes"])
    # The billing system: a URL template with {email}, and the header that carries its secret.
    billing_url_template: str | None = None
    billing_secret_header: str = Field(default="Authorization", pattern=r"^[A-Za-z0-9-]{1,64}$")
    billing_secret: SecretStr | None = None
    billing_timeout_seconds: float = Field(default=1.0, gt=0, le=5)
    # How long an answer is reused (per process); failures are retried sooner.
    billing_cache_seconds: int = Field(default=60, ge=0, le=3600)
    billing_error_cache_seconds: int = Field(default=10, ge=0, le=300)
    max_items: int = Field(default=5, ge=1, le=50)

    # --- actions on the billing system (source "billing" only) ---
    # The switches: which actions the panel offers at all in this account.
    actions: list[ActionKind] = Field(default_factory=lambda: list(ACTION_KINDS))
    # Who may do what, up to how much (first matching rule wins; an agent no rule matches may do nothing).
    rules: list[ActionRule] = Field(default_factory=_default_rules)
    # The currency of the rules' amounts; an amount in another currency always needs approval.
    currency: str = Field(default="EUR", pattern=r"^[A-Z]{3}$")
    refund_reasons: list[str] = Field(default_factory=lambda: [
        "Stream did not play", "Charged twice", "Event cancelled or postponed", "Subscription taken by mistake",
        "Goodwill gesture"], min_length=1, max_length=30)
    # Campaign ids whose codes agents may issue (empty: every campaign the billing system lists).
    campaigns: list[str] = Field(default_factory=list)
    # Where approval requests go (a Slack channel) and who may answer them (Slack user ids).
    approvals_channel: str | None = Field(default=None, max_length=80)
    approvers: list[str] = Field(default_factory=list)
    # The language of the internal notes actions leave on tickets (en, fr or it).
    note_locale: Literal["en", "fr", "it"] = "en"
    # Refuse actions on a closed ticket (solved tickets stay allowed: that is where refunds are often asked).
    refuse_closed_tickets: bool = True
    # A billing write waits at most this long; the work item then retries with the same Idempotency-Key.
    billing_write_timeout_seconds: float = Field(default=2.0, gt=0, le=30)
    # How long the helpdesk's record of an agent (role, groups) is trusted before it is read again.
    agent_record_seconds: int = Field(default=300, ge=0, le=3600)
    # The sidebar's POST waits this long for the worker to finish before answering "in progress".
    answer_wait_seconds: float = Field(default=3.0, ge=0, le=10)

    @field_validator("billing_url_template")
    @classmethod
    def _template(cls, value: str | None) -> str | None:
        if value is None:
            return None
        parts = urlsplit(value.replace("{email}", "x"))
        local = parts.hostname in ("127.0.0.1", "localhost")
        if "{email}" not in value or not parts.netloc or not (parts.scheme == "https" or
                                                              (parts.scheme == "http" and local)):
            raise ValueError("billing_url_template must be an https URL (http for localhost) with {email}")
        return value

    @field_validator("refund_reasons")
    @classmethod
    def _reasons(cls, value: list[str]) -> list[str]:
        cleaned = [reason.strip() for reason in value]
        if any(not reason or len(reason) > 120 for reason in cleaned):
            raise ValueError("each refund reason needs 1 to 120 characters")
        if len({reason.lower() for reason in cleaned}) != len(cleaned):
            raise ValueError("refund reasons must differ")
        return cleaned

    @field_validator("approvers")
    @classmethod
    def _approvers(cls, value: list[str]) -> list[str]:
        for user in value:
            if not re.fullmatch(r"[UW][A-Z0-9]{2,20}", user):
                raise ValueError(f"approvers are Slack user ids such as U024BE7LH, not {user!r}")
        return value

    @model_validator(mode="after")
    def _billing_needs_a_url(self) -> CustomerSettings:
        if self.source == "billing" and not self.billing_url_template:
            raise ValueError("source 'billing' needs billing_url_template")
        return self
