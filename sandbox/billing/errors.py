"""Errors in Stripe's shape: `{"error": {"type", "code", "message", "param"}}`."""

from __future__ import annotations

from typing import Any

INVALID = "invalid_request_error"
IDEMPOTENCY = "idempotency_error"
API = "api_error"


class BillingError(Exception):
    """An answer other than success; `param` names the request field at fault, when one is."""

    def __init__(self, status: int, code: str, message: str, *, param: str | None = None,
                 type: str = INVALID) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.param = param
        self.type = type

    def body(self) -> dict[str, Any]:
        """The JSON answer."""
        return {"error": {"type": self.type, "code": self.code, "message": self.message, "param": self.param}}


def invalid(param: str | None, message: str) -> BillingError:
    """400 parameter_invalid for a missing or malformed field."""
    return BillingError(400, "parameter_invalid", message, param=param)


def missing(param: str | None, message: str) -> BillingError:
    """404 resource_missing."""
    return BillingError(404, "resource_missing", message, param=param)
