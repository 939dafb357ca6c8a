"""Installing Deskmate: the sidebar app package and its rules, the helpdesk set-up, the Slack manifest.

``init_app`` adds the ``flask zendesk`` and ``flask slack`` command groups; see ``docs/installation.md``.
"""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Register ``flask zendesk ...`` and ``flask slack ...`` (reads ``public_url`` when they run)."""
    from app.install.cli import slack_cli, zendesk_cli

    app.cli.add_command(zendesk_cli)
    app.cli.add_command(slack_cli)
