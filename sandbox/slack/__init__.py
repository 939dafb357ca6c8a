"""Slack emulator: `create_app()` and the in-memory `SlackState`."""

from .app import create_app
from .state import SlackError, SlackState

__all__ = ["SlackError", "SlackState", "create_app"]
