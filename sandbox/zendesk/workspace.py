"""Agent workspace and help-center pages (filled in later)."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("helpdesk_workspace", __name__)
