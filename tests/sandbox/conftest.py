"""Fixtures for the sandbox's own tests; they live in `sandbox.testing` so other suites can reuse them."""

from sandbox.testing import (
    helpdesk,
    helpdesk_state,
    slack,
    slack_client,
    slack_state,
    webhook_receiver,
    zenpy_client,
)

__all__ = [
    "helpdesk",
    "helpdesk_state",
    "slack",
    "slack_client",
    "slack_state",
    "webhook_receiver",
    "zenpy_client",
]
