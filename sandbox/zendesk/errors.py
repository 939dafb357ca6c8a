"""Zendesk-shaped API errors raised by the state and turned into responses by the app."""

from __future__ import annotations

from typing import Any


class ApiError(Exception):
    """An error answer: HTTP status plus the JSON body Zendesk would send."""

    def __init__(self, status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> None:
        super().__init__(f"{status} {body}")
        self.status = status
        self.body = body
        self.headers = headers or {}


def record_not_found() -> ApiError:
    """404 for an unknown record, exactly as Zendesk words it."""
    return ApiError(404, {"error": "RecordNotFound", "description": "Not found"})


def record_invalid(field: str, description: str, error: str = "InvalidValue") -> ApiError:
    """422 validation error for one field."""
    return ApiError(
        422,
        {
            "error": "RecordInvalid",
            "description": "Record validation errors",
            "details": {field: [{"description": description, "error": error}]},
        },
    )


def invalid_request(description: str, error: str = "InvalidRequest", status: int = 400) -> ApiError:
    """400 for a malformed request."""
    return ApiError(status, {"error": error, "description": description})


def too_many_values(count: int, maximum: int = 100) -> ApiError:
    """400 when a bulk call carries more than Zendesk's 100 items."""
    return ApiError(
        400,
        {
            "error": "TooManyValues",
            "description": f"You have exceeded the maximum number of values ({maximum}); got {count}",
            "max_count": maximum,
        },
    )


def webhook_error(status: int, code: str, title: str, detail: str, pointer: str | None = None) -> ApiError:
    """The Webhooks API answers JSON:API-style `errors` arrays, unlike the Support API."""
    error: dict[str, Any] = {"code": code, "title": title, "detail": detail}
    if pointer:
        error["source"] = {"pointer": pointer}
    return ApiError(status, {"errors": [error]})
