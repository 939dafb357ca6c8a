"""The failed-work page: what failed in words, tickets by their subject, retries that say what they did."""

from __future__ import annotations

import re

import sqlalchemy as sa

from app import workqueue
from app.db import storage
from app.effects import TICKET_UPDATE
from app.mirror import Mirror
from app.models import WorkItem
from tests.core.test_admin import csrf_from, sign_in


def failed_items(app, account_id, clock, *keys, ticket_id=None):
    with storage.session(app) as session:
        for key in keys:
            payload = {"ticket_id": ticket_id} if ticket_id else {}
            workqueue.enqueue(session, account_id=account_id, kind=TICKET_UPDATE, key=key, payload=payload,
                              now=clock.now())
        session.execute(sa.update(WorkItem).values(state="failed", last_error="HTTP 422 from the helpdesk",
                                                   attempts=8, finished_at=clock.now()))
        ids = session.scalars(sa.select(WorkItem.id).order_by(WorkItem.id)).all()
    return [str(i) for i in ids]


def states(app):
    with storage.session(app) as session:
        return dict(session.execute(sa.select(WorkItem.idempotency_key, WorkItem.state)).all())


def test_failed_item_is_described_in_words_with_its_ticket_named(app, client, admin_token, account_id, clock):
    with storage.session(app) as session:
        Mirror(session, account_id).store_ticket({"id": 301, "subject": "Live stream keeps buffering",
                                                  "updated_at": "2026-11-23T09:00:00Z"}, clock.now())
    failed_items(app, account_id, clock, "routing:301", ticket_id=301)
    sign_in(client, admin_token)
    page = client.get("/admin/work?lang=en").get_data(as_text=True)
    assert "1 failed work item<" in page
    assert "Update a ticket in the helpdesk" in page
    assert "Ticket #301" in page and "Live stream keeps buffering" in page
    assert "8 of 8" in page
    shown = re.sub(r'datetime="[^"]*"', "", page)  # the machine-readable attribute may be ISO; the text not
    assert not re.search(r"\d{4}-\d\d-\d\d[T ]\d\d:\d\d", shown)
    assert "just now" in page


def test_retry_selected_without_a_tick_says_what_to_do_and_changes_nothing(app, client, admin_token, account_id,
                                                                        clock):
    failed_items(app, account_id, clock, "a", "b")
    sign_in(client, admin_token)
    page = client.get("/admin/work?lang=fr").get_data(as_text=True)
    answer = client.post("/admin/work", data={"csrf_token": csrf_from(page), "what": "items", "scope": "selected"})
    assert answer.status_code == 400
    assert "Rien n\u2019a été relancé" in answer.get_data(as_text=True)
    assert states(app) == {"a": "failed", "b": "failed"}


def test_retry_of_the_ticked_items_then_of_all_says_how_many(app, client, admin_token,
                                                                             account_id, clock):
    ids = failed_items(app, account_id, clock, "a", "b", "c")
    sign_in(client, admin_token)
    page = client.get("/admin/work?lang=en").get_data(as_text=True)
    answer = client.post("/admin/work", data={"csrf_token": csrf_from(page), "what": "items", "scope": "selected",
                                              "ids": [ids[0], ids[2]]}, follow_redirects=True)
    assert "2 work items will be tried again." in answer.get_data(as_text=True)
    assert states(app) == {"a": "pending", "b": "failed", "c": "pending"}
    answer = client.post("/admin/work", data={"csrf_token": csrf_from(page), "what": "items", "scope": "all"},
                         follow_redirects=True)
    assert "1 work item will be tried again." in answer.get_data(as_text=True)


def test_an_unknown_admin_page_is_a_translated_404(client, admin_token):
    sign_in(client, admin_token)
    answer = client.get("/admin/nowhere?lang=it")
    assert answer.status_code == 404
    assert "Non esiste una pagina a questo indirizzo" in answer.get_data(as_text=True)


def test_an_admin_page_that_breaks_says_so_in_the_admins_language(client, admin_token, monkeypatch):
    from app import admin_home

    def broken(*args, **kwargs):
        raise RuntimeError("database on fire")

    monkeypatch.setattr(admin_home, "failed_work_card", broken)
    sign_in(client, admin_token)
    answer = client.get("/admin/?lang=fr")
    page = answer.get_data(as_text=True)
    assert answer.status_code == 500
    assert "Deskmate n\u2019a pas pu répondre à cette demande." in page
    assert "database on fire" not in page and "internal error" not in page
