"""``flask slack manifest``: the Slack app manifest Deskmate needs (bot user, scopes, interactivity URL)."""

from __future__ import annotations

from typing import Any

BOT_SCOPES = ("chat:write", "chat:write.public", "users:read", "users:read.email", "files:write",
              "channels:history", "groups:history")


def slack_manifest(public_url: str, *, name: str = "Deskmate") -> dict[str, Any]:
    """The manifest to paste into "Create an app from a manifest" (api.slack.com/apps)."""
    public_url = public_url.rstrip("/")
    return {
        "display_information": {
            "name": name,
            "description": "Routing, first-reply clock, incidents and feature requests for the support team",
            "background_color": "#03363d",
        },
        "features": {"bot_user": {"display_name": name, "always_online": True}},
        "oauth_config": {"scopes": {"bot": list(BOT_SCOPES)}},
        "settings": {
            "interactivity": {"is_enabled": True, "request_url": f"{public_url}/slack/interactions"},
            "org_deploy_enabled": False,
            "socket_mode_enabled": False,
            "token_rotation_enabled": False,
        },
    }
