"""The billing emulator's Flask app: reads, Stripe-like writes with idempotency keys, faults and a ledger."""

from __future__ import annotations

import copy
import json
import time
from collections.abc import Callable
from dataclasses import asdict
from typing import Any

from flask import Flask, Response, jsonify, request
from werkzeug.exceptions import HTTPException

from .errors import API, IDEMPOTENCY, BillingError, invalid
from .seed import sample_customer, seed_customers, seed_from_helpdesk
from .state import DEFAULT_SECRET, BillingState
from .writes import (
    cancel_subscription,
    issue_promo_code,
    parse_cancel,
    parse_promo_code,
    parse_refund,
    refund,
    unknown_customer,
)

__all__ = ["DEFAULT_SECRET", "BillingState", "create_app", "sample_customer", "seed_customers",
           "seed_from_helpdesk"]

MAX_KEY_LENGTH = 255
Answer = tuple[int, dict[str, Any]]


def create_app(state: BillingState | None = None) -> Flask:
    """The billing emulator; its state is `app.extensions["billing"]`."""
    billing = state or BillingState()
    app = Flask(__name__)
    app.config["MAX_CONTENT_LENGTH"] = 64 * 1024
    app.extensions["billing"] = billing

    @app.errorhandler(BillingError)
    def billing_error(error: BillingError) -> Any:
        return jsonify(error.body()), error.status

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException) -> Any:
        status = error.code or 500
        code = (error.name or "error").lower().replace(" ", "_")
        message = f"{error.name} ({request.method} {request.path})."
        return jsonify(BillingError(status, code, message).body()), status

    def gate(endpoint: str, *, latency: bool) -> None:
        """Count the call, apply latency and a forced error status, check the secret."""
        billing.count(billing.calls, endpoint)
        if latency and billing.latency_ms:
            time.sleep(billing.latency_ms / 1000)
        status = billing.error_status
        if status:
            code = "service_unavailable" if status == 503 else "api_error"
            raise BillingError(status, code, "The billing system failed; try again later.", type=API)
        if not billing.authorised(request.headers.get(billing.header)):
            raise BillingError(401, "unauthorized", f"Send the secret in the {billing.header} header.")

    def idempotency_key() -> str | None:
        key = request.headers.get("Idempotency-Key")
        if key is None:
            return None
        if not key.strip() or len(key) > MAX_KEY_LENGTH:
            raise invalid(None, f"The Idempotency-Key header must be 1 to {MAX_KEY_LENGTH} characters.")
        return key

    def in_use() -> BillingError:
        return BillingError(409, "idempotency_key_in_use", "A request with this Idempotency-Key is still being"
                            " performed; retry it in a moment.", type=IDEMPOTENCY)

    def write(endpoint: str, email: str, parse: Callable[[Any], Any],
              perform: Callable[[str, Any, str | None], dict[str, Any]], status: int) -> Any:
        """The order matters: refusals that leave no trace, then the key, then the change, then faults after it."""
        gate(endpoint, latency=False)
        key = idempotency_key()
        draw = billing.draw()
        if draw.error:
            billing.count(billing.events, "injected_error")
            raise BillingError(503, "service_unavailable", "The billing system is briefly unavailable;"
                               " nothing was done. Try again.", type=API)
        if draw.conflict:
            billing.count(billing.events, "injected_conflict")
            raise in_use()
        body = request.get_json(force=True, silent=True)
        params = parse(body)
        headers = {"Idempotency-Key": key} if key is not None else {}
        answer: Answer | None = None
        if key is not None:
            outcome = billing.idempotency.begin(key, fingerprint(email, body))
            if outcome.kind == "reused":
                raise BillingError(400, "idempotency_key_reused", "This Idempotency-Key was already used with"
                                   " another request; use a new key for a new request.", type=IDEMPOTENCY)
            if outcome.kind == "in_use":
                raise in_use()
            if outcome.kind == "replay" and outcome.body is not None:
                billing.count(billing.events, "replayed")
                headers["Idempotent-Replayed"] = "true"
                answer = (outcome.status, outcome.body)
        if answer is None:
            answer = performed(email, key, params, perform, status)
        if draw.hold_ms:
            # The work is done and its answer kept under the key; only the client never hears it in time.
            billing.count(billing.events, "injected_timeout")
            time.sleep(draw.hold_ms / 1000)
        return jsonify(answer[1]), answer[0], headers

    def performed(email: str, key: str | None, params: Any,
                  perform: Callable[[str, Any, str | None], dict[str, Any]], status: int) -> Answer:
        try:
            if billing.latency_ms:
                time.sleep(billing.latency_ms / 1000)
            answer: Answer = (status, perform(email, params, key))
        except BillingError as error:
            answer = (error.status, error.body())
        except BaseException:
            if key is not None:
                billing.idempotency.release(key)
            raise
        if key is not None:
            billing.idempotency.finish(key, *answer)
        return answer

    def fingerprint(email: str, body: Any) -> str:
        path = request.path.replace(email, email.lower())
        return f"{request.method} {path} {json.dumps(body, sort_keys=True, separators=(',', ':'))}"

    @app.get("/customers/<path:email>")
    def customer(email: str) -> Any:
        """One customer by e-mail."""
        gate("customers", latency=True)
        found = billing.customer(email)
        if found is None:
            raise unknown_customer(email)
        return jsonify({"customer": found})

    @app.post("/customers/<path:email>/refunds")
    def create_refund(email: str) -> Any:
        return write("refunds", email, parse_refund,
                     lambda who, params, key: {"refund": refund(billing, who, params, key)}, 201)

    @app.post("/customers/<path:email>/subscription/cancel")
    def cancel(email: str) -> Any:
        return write("subscription_cancel", email, parse_cancel,
                     lambda who, at, key: {"subscription": cancel_subscription(billing, who, at, key)}, 200)

    @app.post("/customers/<path:email>/promo_codes")
    def create_promo_code(email: str) -> Any:
        def perform(who: str, params: tuple[str, dict[str, str]], key: str | None) -> dict[str, Any]:
            campaign, metadata = params
            return {"promo_code": issue_promo_code(billing, who, campaign, metadata, key)}

        return write("promo_codes", email, parse_promo_code, perform, 201)

    @app.get("/campaigns")
    def campaigns() -> Any:
        gate("campaigns", latency=True)
        return jsonify({"campaigns": [{"id": c["id"], "name": c["name"], "discount": c["discount"]}
                                      for c in billing.campaigns.values()]})

    # Test controls: unmetered, no secret.

    @app.post("/__billing/customers")
    def add_customer() -> Any:
        """Add or replace a customer (`{"email": ..., ...}`); missing ids and totals are filled in."""
        body = request.get_json(force=True, silent=True)
        if not isinstance(body, dict) or not isinstance(body.get("email"), str) or not body["email"]:
            raise invalid("email", "Send a customer object with an email.")
        return jsonify({"customer": billing.add(body)}), 201

    @app.route("/__billing/faults", methods=["GET", "POST"])
    def faults() -> Any:
        """POST replaces every fault setting (`{}` clears); GET shows them."""
        if request.method == "POST":
            body = request.get_json(force=True, silent=True) if request.get_data() else {}
            return jsonify(billing.set_faults(body))
        return jsonify(asdict(billing.faults))

    @app.get("/__billing/ledger")
    def ledger() -> Response:
        """Every write made through the API, with its metadata and idempotency key."""
        with billing.lock:
            return jsonify(copy.deepcopy(billing.ledger))

    @app.get("/__billing/stats")
    def stats() -> Response:
        """Calls per endpoint, replays, injected faults, idempotency keys kept."""
        events = billing.events
        return jsonify({"calls": dict(billing.calls), "replayed": events["replayed"],
                        "injected": {"error": events["injected_error"], "conflict": events["injected_conflict"],
                                     "timeout": events["injected_timeout"]},
                        "idempotency_keys": len(billing.idempotency)})

    return app
