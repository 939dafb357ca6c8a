"""The plugin contract: every hook a plugin may implement, each documented in ``docs/plugins.md``.

A plugin is a package ``plugins/<name>/`` whose ``__init__.py`` implements some of these hooks with
``@hookimpl``. Implementations take only the arguments they use (pluggy passes them by name). A hook exists
because a plugin needs it; add one here, in ``docs/plugins.md`` and in a test, or not at all.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    from datetime import datetime

    import click
    from flask import Blueprint
    from pydantic import BaseModel

    from app.events import Event
    from app.plugins import PluginContext, SidebarTicket, Timer
    from app.workqueue import Handler

PROJECT = "deskmate"
hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


@hookspec
def settings_model() -> type[BaseModel]:  # type: ignore[empty-body]
    """Return the pydantic model of this plugin's settings.

    The model validates ``[plugins.<name>]`` of the config file at start-up, merged with the account's own
    overrides (``accounts.settings[<name>]``) when a context is built. Every field needs a default.
    """


@hookspec
def handle_event(event: Event, ctx: PluginContext) -> None:
    """React to one inbound event (from the helpdesk or emitted by a plugin).

    Runs in the worker, inside the event's transaction: write state through ``ctx.session``, ask for side
    effects with ``ctx.enqueue`` and tell other plugins with ``ctx.emit``; all of it commits together with the
    event, or none of it does. Do not call the helpdesk or Slack here. Raising rolls back this plugin's work
    only (the worker then runs the event again with each plugin in a savepoint, so a handler may be called
    twice for one event); the event is retried later for this plugin alone.
    """


@hookspec
def register_routes() -> Blueprint | list[Blueprint]:  # type: ignore[empty-body]
    """Return the Flask blueprint(s) with this plugin's HTTP routes, registered at start-up.

    Views reach the core through ``app.web`` (``current_account``, ``db_session``, ``require_admin``...).
    """


@hookspec
def register_timers() -> list[Timer]:  # type: ignore[empty-body]
    """Return the timed passes this plugin needs (``Timer(name, every_seconds, run)``).

    The worker runs ``run(ctx)`` every ``every_seconds`` for each active account, in one transaction. A pass
    must decide only from the database (read what is due, turn it into work items), so that a restart catches
    up and two workers running the same pass do nothing twice.
    """


@hookspec
def register_work_handlers() -> dict[str, Handler]:  # type: ignore[empty-body]
    """Return ``{kind: handler}`` for the work item kinds this plugin performs (kinds start with its name).

    A handler is ``fn(item, ctx) -> result dict | None`` or a ``BatchHandler``. It raises ``RetryLater``,
    ``PermanentFailure`` or any exception (retried with backoff). When ``item.is_retry`` it must check whether
    an earlier attempt already did the side effect.
    """


@hookspec
def register_commands(cli: click.Group) -> None:
    """Add this plugin's ``flask <name> ...`` commands to ``cli``."""


@hookspec
def purge(ctx: PluginContext, before: datetime, limit: int, dry_run: bool) -> int:  # type: ignore[empty-body]
    """Delete up to ``limit`` of this plugin's rows of the account that only matter before ``before``; return
    how many.

    Retention (``app.retention``) calls it once per account per interval, and ``flask purge``: again, each
    call its own transaction, until it returns less than ``limit``. Delete only what nothing can need again
    (what makes an action happen once must outlive every repeat of it); the core never touches plugins'
    tables. With ``dry_run``, delete nothing and return how many rows would go (all of them).
    """


@hookspec
def sidebar_panels(ticket: SidebarTicket, ctx: PluginContext) -> dict[str, Any] | None:
    """Return this plugin's panel for the agent's sidebar, or None (its ``<plugin>.empty`` text, if any).

    A panel is ``{"title": text, "blocks": [block, ...], "empty": text, "data": {...}}`` (the shape is in
    ``docs/plugins.md``): the sidebar renders it without knowing the plugin. Called on every sidebar open:
    read from the database only; at most one helpdesk call for the whole page is the sidebar's budget, and the
    core spends it (``ticket`` already holds the ticket and requester). Anything slower (another system over
    HTTP) goes in a ``deferred`` block the page fetches from the plugin's own sidebar route after showing.
    """


@hookspec
def sidebar_messages() -> dict[str, dict[str, Any]]:  # type: ignore[empty-body]
    """Return this plugin's sidebar texts: ``{language: {key: text}}``, every key starting with ``<plugin>.``.

    Merged into the catalog the sidebar page loads (``/sidebar/ui/i18n/<language>.json``) next to the core's
    ``sidebar_ui/i18n/<language>.json``; panels refer to them as ``{"t": "<plugin>.key", "args": {...}}``. A text
    is a string with ``{name}`` placeholders, or ``{"one": ..., "other": ...}`` chosen by ``Intl.PluralRules``
    for ``args.count``. ``app.api.load_sidebar_messages(folder)`` reads a folder of ``<language>.json`` files.
    """


@hookspec
def sidebar_module() -> str:  # type: ignore[empty-body]
    """Return the path of an ES module that renders this plugin's panel itself (for more than blocks).

    The core serves it (and files next to it) at ``/sidebar/ui/plugins/<plugin>/<file>``; the page imports it
    and calls its ``render({panel, ticket, api, h, t, label, reload, ...})``, which returns a DOM node
    (see ``docs/sidebar.md``).
    """


@hookspec
def admin_summary(ctx: PluginContext) -> list[dict[str, Any]] | None:
    """Return this plugin's cards for the admin home: what matters now, at a glance (or None for none).

    Each card is ``{"title": str, "value": str | int, "detail": str | None, "href": str | None,
    "tone": "ok" | "warn" | "bad" | None}``: ``title`` and ``detail`` already translated (``app.api.gettext``,
    ``ngettext``), ``href`` the page to look closer (the plugin's admin page), ``tone`` how the number reads
    (``bad`` for a breach or an active incident). Called on every admin home view with ``ctx.session`` in a
    read-only transaction: read a few indexed rows, call no helpdesk or Slack. A raising hook shows its
    card as unavailable and is logged; the rest of the page still renders.
    """
