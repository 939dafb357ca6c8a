"""Fixtures for the billing actions (defined in support.py, with the constants and helpers tests import)."""

from tests.plugins.customer.actions.support import (  # noqa: F401  (fixtures)
    agents,
    app_config,
    billing,
    opened,
    session_for,
)
