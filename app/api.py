"""The public plugin API: the one module of the core a plugin imports (with ``app.hookspecs``).

Everything a plugin may use from the core is named here and described in ``docs/plugins.md``; anything else in
``app`` may change without notice. ``make test`` runs import-linter (``.importlinter``), which fails when a
plugin imports another part of the core, another plugin, or the sandbox.

The surface, by concern:

- **Hooks and the context**: ``hookimpl``, ``PluginContext`` (``ctx``: the transaction, the clock, the
  clients, work items, events, settings), ``Timer``, ``SidebarTicket``.
- **Events**: ``Event``, ``TicketSnapshot``, ``parse_time``.
- **The helpdesk mirror**: ``ctx.mirror`` / ``Mirror(session, account_id)`` with ``MirrorTicket``,
  ``MirrorUser``, ``MirrorOrganization``: tickets, users and organizations as last seen.
- **Tables**: ``Base`` (a plugin's models subclass it), ``insert_for`` (insert ... on conflict do nothing),
  ``transaction()`` (a session in one transaction outside a hook: commands, views without a request session),
  ``read_connection()`` (one cheap read on a hot path).
- **Work items**: ``ClaimedItem``, ``BatchHandler``, ``Handler``, ``Outcome`` with ``Done`` / ``Retry`` /
  ``Fail``, ``RetryLater``, ``PermanentFailure``, the states ``DONE`` / ``FAILED`` / ``PENDING`` /
  ``RUNNING``, ``WorkState``; the core's work kinds ``TICKET_UPDATE``, ``TICKET_COMMENT``, ``TICKET_CREATE``,
  ``SLACK_POST``, ``SLACK_UPDATE``, ``SLACK_UPLOAD``; ``perform_core_effect`` to run one of them in-line from
  a work handler; ``perform_work_once`` for a command that delivers without a worker.
- **Accounts**: ``AccountView``, ``active_accounts``, ``get_account``, ``settings_for`` (a plugin's settings for an
  account, without a session).
- **Commands**: ``account_option`` (the ``--account SUBDOMAIN`` option, one behaviour everywhere),
  ``resolve_account`` (the account it names), ``command_context`` (the plugin's context for that
  account, in one transaction).
- **Requester notices**: ``NOTICE_STATES``, ``REQUESTER_PLACEHOLDERS``, ``NoticeTemplate``,
  ``NoticeTemplates``, ``RequesterNotice``, ``notify_requesters``,
  ``summarise_notices``, ``list_notices``, ``retry_failed_notices``, ``told_requesters``.
- **HTTP views**: ``request_context(plugin)`` (the plugin's context for the request's account),
  ``context_for(plugin, account, session)``, ``current_account``, ``db_session``, ``json_body``,
  ``json_error``, ``require_admin``, ``require_admin_page``, ``admin_page``, ``require_sidebar_session``,
  ``current_agent``.
- **Sidebar**: ``load_sidebar_messages`` (a plugin's ``sidebar_messages`` from a folder of JSON files),
  ``cached_sidebar_ticket`` (in a sidebar-session route: the ticket as the panels saw it, from the cache).
- **Errors and time**: ``HelpdeskError``, ``current_time()``.
- **Texts in the reader's language** (Flask-Babel, so a plugin never imports ``flask_babel`` itself):
  ``gettext``, ``ngettext``, ``pgettext``, ``lazy_gettext``, ``format_datetime``, ``format_timedelta``,
  ``format_decimal``, ``get_locale``, ``get_timezone``. A plugin's catalogs live in
  ``plugins/<name>/translations`` (``docs/plugins.md``, *Translating server texts*); templates have ``_``,
  ``ngettext`` and the ``|when`` / ``|ago`` filters.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any, TypeVar

import click
from flask import Flask, current_app
from flask_babel import format_datetime, format_decimal, format_timedelta, get_locale, get_timezone
from pydantic import BaseModel
from sqlalchemy import Connection
from sqlalchemy.orm import Session

from app.accounts import AccountView, active_accounts, get_account
from app.admin_pages import admin_page, require_admin_page
from app.clock import get_clock
from app.db import Base, insert_for, storage
from app.effects import (
    SLACK_POST,
    SLACK_UPDATE,
    SLACK_UPLOAD,
    TICKET_COMMENT,
    TICKET_CREATE,
    TICKET_UPDATE,
    perform_core_effect,
)
from app.events import Event, TicketSnapshot, parse_time
from app.hookspecs import hookimpl
from app.i18n import gettext, lazy_gettext, ngettext, pgettext
from app.mirror import Mirror, MirrorOrganization, MirrorTicket, MirrorUser
from app.notices import (
    NOTICE_STATES,
    REQUESTER_PLACEHOLDERS,
    NoticeTemplate,
    NoticeTemplates,
    RequesterNotice,
    list_notices,
    notify_requesters,
    retry_failed_notices,
    told_requesters,
)
from app.notices import summarise as summarise_notices
from app.plugins import PluginContext, SidebarTicket, Timer, WorkState, plugin_manager
from app.sidebar.auth import current_agent, require_sidebar_session
from app.sidebar.panels import load_sidebar_messages
from app.sidebar.panels import sidebar_ticket_for_request as cached_sidebar_ticket
from app.web import current_account, db_session, json_body, json_error, require_admin
from app.workqueue import (
    DONE,
    FAILED,
    PENDING,
    RUNNING,
    BatchHandler,
    ClaimedItem,
    Done,
    Fail,
    Handler,
    Outcome,
    PermanentFailure,
    Retry,
    RetryLater,
)
from app.zendesk import HelpdeskError

__all__ = [
    "DONE",
    "FAILED",
    "NOTICE_STATES",
    "PENDING",
    "REQUESTER_PLACEHOLDERS",
    "RUNNING",
    "SLACK_POST",
    "SLACK_UPDATE",
    "SLACK_UPLOAD",
    "TICKET_COMMENT",
    "TICKET_CREATE",
    "TICKET_UPDATE",
    "AccountView",
    "Base",
    "BatchHandler",
    "ClaimedItem",
    "Done",
    "Event",
    "Fail",
    "Handler",
    "HelpdeskError",
    "Mirror",
    "MirrorOrganization",
    "MirrorTicket",
    "MirrorUser",
    "NoticeTemplate",
    "NoticeTemplates",
    "Outcome",
    "PermanentFailure",
    "PluginContext",
    "RequesterNotice",
    "Retry",
    "RetryLater",
    "SidebarTicket",
    "TicketSnapshot",
    "Timer",
    "WorkState",
    "account_option",
    "active_accounts",
    "admin_page",
    "cached_sidebar_ticket",
    "command_context",
    "context_for",
    "current_account",
    "current_agent",
    "current_time",
    "db_session",
    "format_datetime",
    "format_decimal",
    "format_timedelta",
    "get_account",
    "get_locale",
    "get_timezone",
    "gettext",
    "hookimpl",
    "insert_for",
    "json_body",
    "json_error",
    "lazy_gettext",
    "list_notices",
    "load_sidebar_messages",
    "ngettext",
    "notify_requesters",
    "parse_time",
    "perform_core_effect",
    "perform_work_once",
    "pgettext",
    "read_connection",
    "request_context",
    "require_admin",
    "require_admin_page",
    "require_sidebar_session",
    "resolve_account",
    "retry_failed_notices",
    "settings_for",
    "summarise_notices",
    "told_requesters",
    "transaction",
]

F = TypeVar("F", bound=Callable[..., Any])
M = TypeVar("M", bound=BaseModel)


def current_time(app: Flask | None = None) -> datetime:
    """The current time from the app's clock (tests drive it); never ``datetime.now()`` in a decision."""
    return get_clock(app).now()


@contextmanager
def transaction(app: Flask | None = None) -> Iterator[Session]:
    """A database session in one transaction, committed on success and rolled back on any exception.

    For commands and for code outside a hook; a hook already has ``ctx.session`` and a view ``db_session()``.
    """
    with storage.session(app) as opened:
        yield opened


def read_connection(app: Flask | None = None) -> Connection:
    """A plain connection for one cheap read on a hot path (use it as a context manager)."""
    return storage.engine(app).connect()


def context_for(plugin: str, account: AccountView, session: Session, app: Flask | None = None) -> PluginContext:
    """The plugin's context for ``account`` on ``session``: for views and code that hold their own session."""
    return plugin_manager.context(app or current_app._get_current_object(),  # type: ignore[attr-defined]
                                  plugin, account, session)


def settings_for(plugin: str, model: type[M], account: AccountView, app: Flask | None = None) -> M:
    """The plugin's settings for ``account`` (the deployment's, with the account's overrides), typed.

    For code that needs only the settings, without a session: a public view answering from a cache.
    """
    settings = plugin_manager.settings_for(app or current_app._get_current_object(),  # type: ignore[attr-defined]
                                           plugin, account)
    if not isinstance(settings, model):
        raise RuntimeError(f"plugin {plugin} has no settings of type {model.__name__}")
    return settings


def request_context(plugin: str) -> PluginContext:
    """The plugin's context for the authenticated request's account, on the request's session."""
    return context_for(plugin, current_account(), db_session())


def account_option(function: F) -> F:
    """The ``--account SUBDOMAIN`` option of a plugin command; pass its value to ``command_context``."""
    return click.option("--account", "subdomain", metavar="SUBDOMAIN",
                        help="The account's subdomain (optional when there is only one active account).")(function)


def resolve_account(subdomain: str | None) -> AccountView:
    """The active account named by ``--account``, or the only active one; a usage error otherwise."""
    accounts = active_accounts(current_app)
    if subdomain:
        found = [account for account in accounts if account.subdomain == subdomain]
        if not found:
            raise click.UsageError(f"no active account {subdomain!r}")
        return found[0]
    if len(accounts) != 1:
        raise click.UsageError("no active account" if not accounts else
                               "name the account with --account SUBDOMAIN (there are several)")
    return accounts[0]


@contextmanager
def command_context(plugin: str, subdomain: str | None) -> Iterator[PluginContext]:
    """The plugin's context for the account named by ``--account``, in a transaction committed at the end.

    Everything the command writes through ``ctx.session`` (and ``ctx.enqueue``) commits when the block ends
    without an exception; a long command may also commit (or roll back, for a dry run) as it goes.
    """
    account = resolve_account(subdomain)
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    opened = storage.sessions(app)()
    try:
        yield plugin_manager.context(app, plugin, account, opened)
        if opened.in_transaction():
            opened.commit()
    finally:
        opened.close()  # rolls back whatever was not committed


def perform_work_once() -> bool:
    """Claim and perform one batch of due work items in this process; False when nothing was due.

    For a command that offers to deliver what it queued when no worker runs (``--work``).
    """
    from app.worker import Worker

    app = current_app._get_current_object()  # type: ignore[attr-defined]
    workers: dict[str, Worker] = app.extensions.setdefault("deskmate.command_worker", {})
    worker = workers.setdefault("worker", Worker(app))
    return bool(worker.perform_work())
