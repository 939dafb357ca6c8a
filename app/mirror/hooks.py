"""The mirror's built-in hooks: every helpdesk event updates the mirror before any plugin sees it.

Registered by ``app.mirror.init_app`` as the built-in plugin ``mirror`` (after the sidebar's, so it runs first:
``register_builtin`` puts the latest first). Echoes of Deskmate's own changes reach it too: they are the
helpdesk's word on what a ticket now looks like.
"""

from __future__ import annotations

from app.events import Event
from app.hookspecs import hookimpl
from app.mirror import Mirror
from app.plugins import PluginContext

NAME = "mirror"


@hookimpl
def handle_event(event: Event, ctx: PluginContext) -> None:
    if event.source != "zendesk":
        return
    mirror = Mirror(ctx.session, ctx.account.id)
    if event.type.startswith(("user.", "organization.")):
        mirror.note_event(event)
    elif event.ticket is not None:
        mirror.note_ticket(event.ticket)
