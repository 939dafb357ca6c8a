"""The customer panel's settings: ``[plugins.customer]`` in the config file, overridable per account."""

from __future__ import annotations

from typing import Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, Field, SecretStr, field_validator, model_validator


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

    @model_validator(mode="after")
    def _billing_needs_a_url(self) -> CustomerSettings:
        if self.source == "billing" and not self.billing_url_template:
            raise ValueError("source 'billing' needs billing_url_template")
        return self
