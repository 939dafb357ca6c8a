"""The helpdesk mirror's rules: whole records, what events change, older never over newer, one lock order."""

from __future__ import annotations

from app.accounts import active_accounts
from app.db import storage
from app.events import normalise
from app.mirror import Mirror


def _user(user_id: int, email: str, updated_at: str, **extra):
    return {"id": user_id, "name": f"User {user_id}", "email": email, "updated_at": updated_at, "tags": ["VIP"],
            "user_fields": {"plan": "gold"}, **extra}


def test_a_batch_naming_a_record_twice_keeps_its_last_copy(app, clock):
    """Incremental exports can repeat a record across pages; one INSERT ... ON CONFLICT may touch a row once."""
    account_id = active_accounts(app)[0].id
    with storage.session(app) as session:
        Mirror(session, account_id).store_users([
            _user(3, "c@x.example", "2026-11-23T10:00:00Z"), _user(1, "old@x.example", "2026-11-23T09:00:00Z"),
            _user(1, "new@x.example", "2026-11-23T09:30:00Z")], clock.now())
    with storage.session(app) as session:
        users = Mirror(session, account_id).users([1, 3], whole=True)
    assert users[1].email == "new@x.example" and users[3].email == "c@x.example"
    assert users[1].tags == frozenset({"vip"}) and users[1].data is not None and users[1].data["id"] == 1


def test_events_update_what_they_carry_and_make_the_record_untrusted(app, clock):
    account_id = active_accounts(app)[0].id
    with storage.session(app) as session:
        Mirror(session, account_id).store_users([_user(7, "a@x.example", "2026-11-23T09:00:00Z")], clock.now())
    event = normalise({"type": "zen:event-type:user.email_changed", "account_id": 9001, "id": "e1",
                       "time": "2026-11-23T10:00:00Z", "subject": "zen:user:7",
                       "detail": {"id": "7", "email": "B@x.example", "updated_at": "2026-11-23T10:00:00Z"},
                       "event": {}})
    older = normalise({"type": "zen:event-type:user.email_changed", "account_id": 9001, "id": "e0",
                       "time": "2026-11-23T08:00:00Z", "subject": "zen:user:7",
                       "detail": {"id": "7", "email": "stale@x.example", "updated_at": "2026-11-23T08:00:00Z"},
                       "event": {}})
    with storage.session(app) as session:
        mirror = Mirror(session, account_id)
        mirror.note_event(event)
        mirror.note_event(older)  # arrives late: changes nothing
    with storage.session(app) as session:
        user = Mirror(session, account_id).user(7)
    assert user is not None
    assert (user.email, user.complete, user.trusted, user.has_data) == ("b@x.example", False, False, True)
    assert user.tags == frozenset({"vip"})  # kept, but not to be trusted until read again
