"""Helpdesk (Zendesk Support) emulator: `create_app()` and the in-memory `HelpdeskState`."""

from .app import create_app
from .state import HelpdeskState

__all__ = ["HelpdeskState", "create_app"]
