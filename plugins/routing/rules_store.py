"""Where an account's rules come from: rules saved through the admin API, else the configured rules file.

Parsed rule sets are kept in memory by source and version (the file by its modification time), so that a
burst of tickets parses the rules once, not once per ticket.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from datetime import datetime
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.orm import Session

from plugins.routing import cache
from plugins.routing.models import RoutingRuleSet
from plugins.routing.rules import RuleSet
from plugins.routing.rules_source import RuleProblem, RulesError, parse_rules

_CACHE_SIZE = 64
_cache: OrderedDict[tuple[object, ...], RuleSet] = OrderedDict()
_lock = threading.Lock()


def file_format(path: str) -> str:
    suffix = Path(path).suffix.lower()
    return {".toml": "toml", ".json": "json"}.get(suffix, "yaml")


def _cached(key: tuple[object, ...], text: str, fmt: str, version: str) -> RuleSet:
    with _lock:
        found = _cache.get(key)
        if found is not None:
            _cache.move_to_end(key)
            return found
    rules = parse_rules(text, fmt, version=version)
    with _lock:
        _cache[key] = rules
        while len(_cache) > _CACHE_SIZE:
            _cache.popitem(last=False)
    return rules


def load_file(path: str) -> RuleSet:
    """The rules of a file. Raises ``RulesError`` (with lines) or ``RulesError`` for an unreadable file."""
    file = Path(path)
    try:
        stamp = file.stat().st_mtime_ns
        key: tuple[object, ...] = ("file", str(file), stamp)
        with _lock:
            if key in _cache:
                return _cache[key]
        text = file.read_text(encoding="utf-8")
    except OSError as exc:
        problem = RuleProblem("(file)", f"cannot read the rules file {path}: {exc.strerror}")
        raise RulesError([problem]) from None
    return _cached(key, text, file_format(path), f"file:{stamp}")


def stored(session: Session, account_id: int) -> RoutingRuleSet | None:
    return session.scalar(sa.select(RoutingRuleSet).where(RoutingRuleSet.account_id == account_id))


def load_rules(session: Session, account_id: int, rules_file: str) -> RuleSet:
    """The account's current rules (those saved through the admin API seen within ``cache.TTL_SECONDS``)."""

    def saved() -> tuple[int, str, str] | None:
        row = session.execute(sa.select(RoutingRuleSet.version, RoutingRuleSet.text, RoutingRuleSet.format)
                              .where(RoutingRuleSet.account_id == account_id)).first()
        return (row.version, row.text, row.format) if row is not None else None

    found = cache.get("rules", account_id, saved)
    if found is None:
        return load_file(rules_file)
    version, text, fmt = found
    return _cached(_saved_key(account_id, version, text), text, fmt, f"v{version}")


def _saved_key(account_id: int, version: int, text: str) -> tuple[object, ...]:
    # The text is part of the key: the cache is the process's, and two apps in one process (the tests) may
    # each have an account 1 whose rules are at version 1, with different rules.
    return ("db", account_id, version, hashlib.sha256(text.encode()).hexdigest())


def save_rules(session: Session, account_id: int, text: str, fmt: str, *, now: datetime,
               updated_by: str | None) -> tuple[RuleSet, int]:
    """Validate and store an account's rules; returns them with their new version. Raises ``RulesError``."""
    parse_rules(text, fmt)
    row = session.scalar(sa.select(RoutingRuleSet).where(RoutingRuleSet.account_id == account_id)
                         .with_for_update())
    if row is None:
        row = RoutingRuleSet(account_id=account_id, text=text, format=fmt, version=1, updated_at=now,
                             updated_by=updated_by)
        session.add(row)
    else:
        row.text, row.format, row.version, row.updated_at, row.updated_by = (
            text, fmt, row.version + 1, now, updated_by)
    session.flush()
    cache.invalidate("rules", account_id)
    return _cached(_saved_key(account_id, row.version, text), text, fmt, f"v{row.version}"), row.version
