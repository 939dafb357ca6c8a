"""A small billing emulator, Stripe-like: the customer data and the billing actions Deskmate's customer panel uses.

`GET /customers/<email>` with the secret header answers `{"customer": {...}}` (plan, subscription, purchases
such as pay-per-view events, refunds, promo codes; money in integer minor units), 404 for unknown e-mails,
401 without the secret. `POST .../refunds`, `.../subscription/cancel` and `.../promo_codes` change it, with
Stripe-shaped errors and `Idempotency-Key` replay; `GET /campaigns` lists what promo codes can be issued from.
`/__billing/faults`, `/__billing/ledger` and `/__billing/stats` are test controls (docs/sandbox.md).
`seed_customers(state, emails)` makes deterministic sample customers; `seed_from_helpdesk(state, helpdesk)`
takes the e-mails of a helpdesk emulator's end users (the sandbox seed), so both emulators describe the same
people.
"""

from __future__ import annotations

from .app import create_app
from .errors import BillingError
from .seed import sample_customer, seed_customers, seed_from_helpdesk
from .state import CAMPAIGNS, DEFAULT_SECRET, BillingState

__all__ = ["CAMPAIGNS", "DEFAULT_SECRET", "BillingError", "BillingState", "create_app", "sample_customer",
           "seed_customers", "seed_from_helpdesk"]
