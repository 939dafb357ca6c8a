"""A small billing/CRM emulator: the customer data Deskmate's customer panel can read over HTTP.

`GET /customers/<email>` with the secret header answers `{"customer": {...}}` (plan, subscription, recent
purchases such as pay-per-view events, refunds, promo codes), 404 for unknown e-mails, 401 without the secret.
`seed_customers(emails)` makes deterministic sample customers; `seed_from_helpdesk(state)` takes the e-mails
of a helpdesk emulator's end users (the sandbox seed), so both emulators describe the same people.
"""

from __future__ import annotations

from .app import BillingState, create_app, sample_customer, seed_customers, seed_from_helpdesk

__all__ = ["BillingState", "create_app", "sample_customer", "seed_customers", "seed_from_helpdesk"]
