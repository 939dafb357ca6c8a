"""The admin page ``/admin/news`` (filled in below)."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("breaking_news_admin_page", __name__, template_folder="templates")
