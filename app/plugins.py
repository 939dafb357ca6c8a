"""The plugin manager (pluggy) and what plugins receive: ``PluginContext``, ``Timer``, ``SidebarTicket``.

Plugins are enabled by the ordered list ``DESKMATE_PLUGINS``; each name is an installed entry point of group
``deskmate.plugins``, else the package ``plugins.<name>``, else a dotted module path (see ``load_plugin``).
Fan-out hooks (events, timers, sidebar panels) call each plugin separately, so one plugin's failure is logged
with its name and never stops the others (pluggy alone would stop at the first exception).
"""

from __future__ import annotations

import importlib
import importlib.metadata
import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, TypeVar, cast

import pluggy
import sqlalchemy as sa
from flask import Blueprint, Flask, current_app
from pydantic import BaseModel, ValidationError
from slack_sdk import WebClient
from sqlalchemy.orm import Session

from app import hookspecs, inbox, metrics, workqueue
from app.accounts import AccountView, invalidate
from app.clock import get_clock
from app.config import ConfigError
from app.db import storage
from app.mirror import Mirror
from app.models import FAILED_ROWS, Account, InboundEvent, WorkItem

EXTENSION_KEY = "deskmate.plugins"
log = logging.getLogger("deskmate.plugins")


@dataclass(frozen=True)
class Timer:
    """A timed pass: ``run(ctx)`` every ``every_seconds`` for each active account.

    ``run_at_start``: the worker's scheduler also runs it as soon as the worker starts, for a pass whose point
    is what happened while no worker ran (the core's catch-up after an outage).
    """

    name: str
    every_seconds: float
    run: Callable[[PluginContext], None]
    run_at_start: bool = False


@dataclass(frozen=True)
class WorkState:
    """Where a work item stands: its state (``pending``, ``running``, ``done``, ``failed``...), when it
    finished and the last error, if any."""

    state: str
    finished_at: datetime | None
    last_error: str | None


M = TypeVar("M", bound=BaseModel)


@dataclass(frozen=True)
class SidebarTicket:
    """What the sidebar knows about the open ticket before asking plugins for their panels."""

    id: int
    subject: str | None
    status: str | None
    requester_id: int | None
    requester_email: str | None
    requester_name: str | None
    organization_id: int | None
    group_id: int | None
    tags: tuple[str, ...]
    created_at: datetime | None
    locale: str = "en"
    raw: dict[str, Any] = field(default_factory=dict)


class PluginContext:
    """What a plugin's hook gets for one account: the transaction, the clock, its settings, the clients.

    Plugins never build clients or sessions of their own; they also never keep a context beyond the call.
    """

    def __init__(self, app: Flask, plugin: str, account: AccountView, session: Session,
                 settings: BaseModel | None) -> None:
        self._app = app
        self.plugin = plugin
        self.account = account
        self.session = session
        self.settings = settings
        self.log = logging.getLogger(f"deskmate.plugins.{plugin}")

    @property
    def config(self) -> Any:
        """The deployment's settings (``app.config.Settings``), read-only."""
        return self._app.config["DESKMATE"]

    def now(self) -> datetime:
        return get_clock(self._app).now()

    def enqueue(self, kind: str, key: str, payload: dict[str, Any], *, due_at: datetime | None = None,
                after: str | None = None, coalesce: bool = False, max_attempts: int | None = None) -> bool:
        """Ask for a side effect, in this transaction. False when ``key`` was already enqueued.

        ``key`` starts with ``<plugin>:`` (as ``emit``'s events are namespaced by plugin), so no plugin can take
        another's key. ``coalesce`` delays the item by ``batch_linger_seconds`` so that items due together share
        a batch (``update_many``); ``after`` names an item that must be done first (its result reaches the
        handler).
        """
        if not key.startswith(self.plugin + ":"):
            raise ValueError(f"plugin {self.plugin} may only enqueue keys starting with '{self.plugin}:' "
                             f"(got {key[:60]!r})")
        return self.enqueue_for_core(kind, key, payload, due_at=due_at, after=after, coalesce=coalesce,
                                     max_attempts=max_attempts)

    def enqueue_for_core(self, kind: str, key: str, payload: dict[str, Any], *, due_at: datetime | None = None,
                         after: str | None = None, coalesce: bool = False, max_attempts: int | None = None) -> bool:
        """``enqueue`` under a key of the core's own namespace (requester notices), in the plugin's transaction.
        Not for plugins: the core calls it on their behalf."""
        now = self.now()
        if coalesce and due_at is None:
            due_at = now + timedelta(seconds=self.config.batch_linger_seconds)
        return workqueue.enqueue(
            self.session, account_id=self.account.id, kind=kind, key=key, payload=payload, now=now,
            due_at=due_at, after=after, max_attempts=max_attempts or self.config.work_max_attempts,
            created_by=self.plugin,
        )

    def emit(self, event_type: str, data: dict[str, Any], *, key: str, ticket: dict[str, Any] | None = None,
             ticket_id: int | None = None) -> bool:
        """Tell other plugins something happened (``<plugin>.<what>``), through the inbound events table.

        ``key`` makes the emission idempotent (emitting the same key twice stores one event).
        """
        if not event_type.startswith(self.plugin + "."):
            raise ValueError(f"plugin {self.plugin} may only emit events named '{self.plugin}.*'")
        return inbox.emit(self.session, account_id=self.account.id, source=self.plugin, event_type=event_type,
                          key=f"{self.plugin}:{key}", data=data, now=self.now(), ticket=ticket, ticket_id=ticket_id)

    def result_of(self, key: str) -> dict[str, Any] | None:
        """The result of a done work item of this account (e.g. the Slack message to reply under)."""
        return workqueue.result_of(self.session, self.account.id, key)

    def work_states(self, keys: list[str]) -> dict[str, WorkState]:
        """Where the account's work items with these idempotency keys stand; keys never enqueued are absent."""
        found: dict[str, WorkState] = {}
        unique = list(dict.fromkeys(keys))
        for start in range(0, len(unique), 500):  # bounded IN lists: one index probe per key
            rows = self.session.execute(
                sa.select(WorkItem.idempotency_key, WorkItem.state, WorkItem.finished_at, WorkItem.last_error)
                .where(WorkItem.account_id == self.account.id,
                       WorkItem.idempotency_key.in_(unique[start:start + 500]))
            ).all()
            found.update({row.idempotency_key: WorkState(row.state, row.finished_at, row.last_error)
                          for row in rows})
        return found

    def failed_work(self, kind: str, since: datetime) -> dict[str, WorkState]:
        """This account's work items of ``kind`` (one of this plugin's) that failed for good since ``since``.

        For a timed pass that marks its own records when the work behind them gave up: failures are rare, so
        this reads few rows however large the queue is.
        """
        if not kind.startswith(self.plugin + "."):
            raise ValueError(f"plugin {self.plugin} may only ask about its own work kinds ('{self.plugin}.*')")
        rows = self.session.execute(
            sa.select(WorkItem.idempotency_key, WorkItem.state, WorkItem.finished_at, WorkItem.last_error)
            # FAILED_ROWS as literal SQL lets the partial index ix_work_items_failed serve it (app.models).
            .where(FAILED_ROWS, WorkItem.state == workqueue.FAILED, WorkItem.account_id == self.account.id,
                   WorkItem.kind == kind, WorkItem.finished_at >= since)
        ).all()
        return {row.idempotency_key: WorkState(row.state, row.finished_at, row.last_error) for row in rows}

    def work_state(self, key: str) -> str | None:
        """The state of the work item ``key`` (None when it was never enqueued)."""
        found = self.work_states([key]).get(key)
        return found.state if found else None

    def tickets_with_unhandled_events(self, ticket_ids: list[int]) -> set[int]:
        """Tickets among ``ticket_ids`` with stored events that this plugin has not handled yet.

        A timed pass asks this before acting on a ticket, so that news already received (a reply, a solve)
        is handled first. An event retried only for other plugins counts as handled by this one.
        """
        if not ticket_ids:
            return set()
        rows = self.session.execute(
            sa.select(InboundEvent.ticket_id, InboundEvent.pending_plugins)
            .where(InboundEvent.account_id == self.account.id, InboundEvent.ticket_id.in_(ticket_ids),
                   InboundEvent.state.in_(("pending", "processing")))
        ).all()
        return {row.ticket_id for row in rows if not row.pending_plugins or self.plugin in row.pending_plugins}

    def settings_as(self, model: type[M]) -> M:
        """This plugin's settings, typed as its own model (the account's overrides merged in)."""
        if not isinstance(self.settings, model):
            raise RuntimeError(f"plugin {self.plugin} has no settings of type {model.__name__} in its context; "
                               "does its settings_model hook return it?")
        return self.settings

    def save_settings(self, values: dict[str, Any] | None) -> None:
        """Store this plugin's per-account overrides (merged into what is there), or clear them with None.

        The account row is locked for the change, so two admins saving different plugins' settings never lose
        each other's; validate ``values`` first. Every process sees the change within seconds of the commit
        (this one at once).
        """
        account = self.session.get(Account, self.account.id, with_for_update=True)
        if account is None:
            raise LookupError(f"no account {self.account.id}")
        settings = dict(account.settings or {})
        if values is None:
            settings.pop(self.plugin, None)
        else:
            settings[self.plugin] = {**(settings.get(self.plugin) or {}), **values}
        account.settings = settings  # a new dict: the JSON column notices replacement, not mutation
        account.updated_at = self.now()
        app = self._app
        sa.event.listen(self.session, "after_commit", lambda _session: invalidate(app), once=True)

    def read(self, statement: sa.Select[Any]) -> list[Any]:
        """Run a query in a short transaction of its own and return its scalars (ORM objects stay loaded).

        For work handlers that decide from the database before a network call: reading through
        ``ctx.session`` would keep its transaction open (and on SQLite the write lock held) across the call.
        Filter on ``ctx.account.id`` as everywhere.
        """
        with storage.session(self._app) as session:
            return list(session.scalars(statement))

    @property
    def mirror(self) -> Mirror:
        """The helpdesk mirror of this account on ``ctx.session``: tickets, users and organizations as last
        seen (``app.mirror``). Store whole records the plugin read from the API with ``store_*``."""
        return Mirror(self.session, self.account.id)

    @contextmanager
    def mirror_reader(self) -> Iterator[Mirror]:
        """The mirror on a short read-only session of its own, for a work handler before its helpdesk calls
        (``ctx.mirror`` would open the handler's transaction and, on SQLite, hold the write lock meanwhile)."""
        with Session(storage.reader(self._app), expire_on_commit=False) as session:
            yield Mirror(session, self.account.id)

    @property
    def zendesk(self) -> Any:
        """The account's helpdesk client (``app.zendesk.Zendesk``). For work handlers and commands."""
        from app.zendesk import zendesk_clients

        return zendesk_clients.for_account(self.account, self._app)

    @property
    def own_user_id(self) -> int | None:
        """The helpdesk user Deskmate acts as: the author of its own comments and changes (notices, notes,
        routing), which no plugin should take for a person's. None while unknown (no helpdesk credentials, or
        ``GET /users/me`` failing). The worker learns it before handling events, so in a hook this costs no call.
        """
        from app.zendesk import zendesk_clients

        try:
            return zendesk_clients.for_account(self.account, self._app).own_user_id()
        except RuntimeError:  # an account without helpdesk credentials
            return None

    def heard_until(self) -> datetime:
        """The moment up to which Deskmate has surely heard every change of the account's tickets: now while
        webhooks flow, and after an outage only as far as the catch-up has read the helpdesk's exports
        (``app.catch_up.heard_until``). Before telling people something did *not* happen by a moment (no reply
        by the deadline), wait until this has passed that moment."""
        from app.catch_up import heard_until

        return heard_until(self._app, self.account.id, self.now(), self.session)

    @property
    def slack(self) -> WebClient:
        """The account's Slack client. For work handlers and commands."""
        from app.slack import slack_clients

        return slack_clients.for_account(self.account, self._app)

    @property
    def has_slack(self) -> bool:
        from app.slack import slack_clients

        return slack_clients.has_slack(self.account, self._app)


def _caller(impl: pluggy.HookImpl) -> Callable[..., Any]:
    """Call an implementation with only the arguments it declares, as pluggy itself would."""
    names = set(impl.argnames)

    def call(**kwargs: Any) -> Any:
        return impl.function(**{key: value for key, value in kwargs.items() if key in names})

    return call


PLUGIN_GROUP = "deskmate.plugins"


def load_plugin(entry: str) -> tuple[str, Any]:
    """Resolve one name of ``DESKMATE_PLUGINS`` to the plugin's name and the object to register.

    In this order: an installed entry point of that name in group ``deskmate.plugins`` (a plugin packaged
    outside this repository); Deskmate's own package ``plugins.<name>``; a dotted module path, whose last part
    is the plugin's name. Nothing found, or two installed distributions claiming the name, is a ``ConfigError``.
    """
    claims = sorted(importlib.metadata.entry_points(group=PLUGIN_GROUP, name=entry),
                    key=lambda ep: (_distribution_name(ep), ep.value))
    if len(claims) > 1:
        owners = "; ".join(f"{ep.value} from {_distribution_name(ep)}" for ep in claims)
        raise ConfigError(f"DESKMATE_PLUGINS names {entry!r}, which {len(claims)} installed entry points of group "
                          f"{PLUGIN_GROUP} claim ({owners}); uninstall all but one")
    if claims:
        try:
            return entry, claims[0].load()
        except (ImportError, AttributeError) as exc:
            raise ConfigError(f"DESKMATE_PLUGINS names {entry!r}, the entry point {claims[0].value} of "
                              f"{_distribution_name(claims[0])}, which cannot be loaded: {exc}") from exc
    module_name = entry if "." in entry else f"plugins.{entry}"
    try:
        return entry.rsplit(".", 1)[-1], importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name is None or not (module_name == exc.name or module_name.startswith(exc.name + ".")):
            raise  # the plugin exists but one of its own imports is missing: that error says more
        raise ConfigError(f"DESKMATE_PLUGINS names {entry!r}, but there is no entry point {entry!r} of group "
                          f"{PLUGIN_GROUP} and no module {module_name}") from exc


def _distribution_name(entry_point: importlib.metadata.EntryPoint) -> str:
    dist = getattr(entry_point, "dist", None)
    return str(dist.name) if dist is not None else "an unknown distribution"


class PluginManager:
    """The extension holding the enabled plugins. Config read by ``init_app``: ``plugins``, ``plugin_settings``."""

    def init_app(self, app: Flask) -> None:
        if EXTENSION_KEY in app.extensions:
            raise RuntimeError("PluginManager.init_app was called twice on the same app")
        settings = app.config["DESKMATE"]
        pm = pluggy.PluginManager(hookspecs.PROJECT)
        pm.add_hookspecs(hookspecs)
        order = []
        for entry in settings.plugins:
            name, plugin = load_plugin(entry)
            if name in order:
                raise ConfigError(f"DESKMATE_PLUGINS names two plugins called {name!r} ({entry!r} is the second)")
            pm.register(plugin, name=name)
            order.append(name)
        pm.check_pending()  # a misspelt hook name fails at start-up, not silently
        plugin_settings: dict[str, BaseModel] = {}
        for impl in pm.hook.settings_model.get_hookimpls():
            model = cast(type[BaseModel], impl.function())
            try:
                plugin_settings[impl.plugin_name] = model.model_validate(
                    settings.plugin_settings.get(impl.plugin_name, {}))
            except ValidationError as exc:
                raise ConfigError(f"[plugins.{impl.plugin_name}] settings are invalid: {exc}") from exc
        unknown = set(settings.plugin_settings) - set(order)
        if unknown:
            raise ConfigError(f"settings given for plugins that are not enabled: {', '.join(sorted(unknown))}")
        app.extensions[EXTENSION_KEY] = _State(pm, order, plugin_settings)
        for impl in pm.hook.register_routes.get_hookimpls():
            blueprints = cast(Blueprint | list[Blueprint], impl.function())
            for blueprint in blueprints if isinstance(blueprints, list) else [blueprints]:
                app.register_blueprint(blueprint)

    @staticmethod
    def state(app: Flask | None = None) -> _State:
        try:
            return (app or current_app).extensions[EXTENSION_KEY]
        except KeyError:
            raise RuntimeError("PluginManager is not initialised: call plugin_manager.init_app(app)") from None

    def register_builtin(self, app: Flask, module: Any, name: str) -> None:
        """Register a part of the core that uses the plugin machinery (isolated hooks, retries), ahead of plugins.

        The core's own defaults are plugins too: they go through the same path as every capability.
        """
        state = self.state(app)
        if name in state.order:
            raise ConfigError(f"a plugin named {name!r} would shadow the core's {name}; rename the plugin")
        state.pm.register(module, name=name)
        state.pm.check_pending()
        state.order.insert(0, name)
        state.builtins.add(name)

    def is_builtin(self, app: Flask, name: str) -> bool:
        """True for a part of the core registered with ``register_builtin`` (the sidebar's index, for one)."""
        return name in self.state(app).builtins

    def context(self, app: Flask, plugin: str, account: AccountView, session: Session) -> PluginContext:
        """Build the context a plugin's hook receives for ``account``, with the account's setting overrides."""
        return PluginContext(app, plugin, account, session, self.settings_for(app, plugin, account))

    def settings_for(self, app: Flask, plugin: str, account: AccountView) -> BaseModel | None:
        """The plugin's settings for ``account``: the deployment's, with the account's overrides merged in."""
        base = self.state(app).settings.get(plugin)
        overrides = account.settings.get(plugin)
        if base is not None and overrides:
            base = base.model_validate({**base.model_dump(), **overrides})
        return base

    def implementations(self, app: Flask, hook: str) -> Iterator[tuple[str, Callable[..., Any]]]:
        """Each enabled plugin's implementation of ``hook``, in the configured plugin order."""
        state = self.state(app)
        impls = {impl.plugin_name: impl for impl in getattr(state.pm.hook, hook).get_hookimpls()}
        for name in state.order:
            if name in impls:
                yield name, _caller(impls[name])

    def call_isolated(self, app: Flask, hook: str, plugin: str, function: Callable[..., Any],
                      **kwargs: Any) -> tuple[bool, Any]:
        """Call one plugin's hook; log and count a failure with the plugin's name instead of raising."""
        try:
            return True, function(**kwargs)
        except Exception:
            metrics.PLUGIN_ERRORS.labels(plugin, hook).inc()
            log.exception("plugin %s failed in %s", plugin, hook, extra={"plugin": plugin, "hook": hook})
            return False, None

    def work_handlers(self, app: Flask) -> dict[str, workqueue.Handler]:
        handlers: dict[str, workqueue.Handler] = {}
        for name, function in self.implementations(app, "register_work_handlers"):
            for kind, handler in function().items():
                if not kind.startswith(name + "."):
                    raise ConfigError(f"plugin {name} registers work kind {kind!r}; kinds must start with '{name}.'")
                handlers[kind] = handler
        return handlers

    def timers(self, app: Flask) -> list[tuple[str, Timer]]:
        return [(name, timer) for name, function in self.implementations(app, "register_timers")
                for timer in function()]


@dataclass
class _State:
    pm: pluggy.PluginManager
    order: list[str]
    settings: dict[str, BaseModel]
    builtins: set[str] = field(default_factory=set)


plugin_manager = PluginManager()

