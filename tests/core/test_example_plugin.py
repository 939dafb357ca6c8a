"""The example third-party plugin (``tests/data/deskmate_example_plugin``), installed as a distribution of its own.

It was written from ``docs/plugins.md`` alone. Here it is installed the way pip would leave it (its source on
``sys.path`` and a ``*.dist-info`` folder declaring the entry point from its own ``pyproject.toml``), enabled by
its entry point's name, migrated from its own folder, and driven through the real path: a signed webhook,
the worker's event handling, its timer, the core's work items against the helpdesk and Slack emulators, its
sidebar panel through the sidebar's ticket API and, in Chromium, inside the sandbox agent workspace.
"""

from __future__ import annotations

import ast
import io
import json
import re
import sys
import tomllib
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect

from app import create_app
from app.config import DEFAULT_PLUGINS
from app.db import Base, storage
from app.migrate import downgrade, upgrade, version_locations
from app.models import WorkItem
from app.plugins import PLUGIN_GROUP, plugin_manager
from sandbox.server import ServerThread
from tests.conftest import base_config, create_pg_database, database_kind, drop_pg_database, ticket_event
from tests.distributions import write_distribution
from tests.sidebar import conftest as sidebar_fixtures
from tests.sidebar import test_sidebar_browser as browser_fixtures
from tests.sidebar.conftest import bearer, index_ticket
from tests.sidebar.test_sidebar_browser import ARTIFACTS, open_sidebar

# The sidebar's fixtures for this module: a signed load's session, and Chromium with Zendesk's ZAF SDK.
app_key, installation, signed_token, sidebar_session = (
    sidebar_fixtures.app_key, sidebar_fixtures.installation, sidebar_fixtures.signed_token,
    sidebar_fixtures.sidebar_session)
zaf_sdk = browser_fixtures.zaf_sdk  # browser and served come from tests/browser.py

PROJECT = Path(__file__).resolve().parents[1] / "data" / "deskmate_example_plugin"
SOURCE = PROJECT / "src"
PACKAGE = SOURCE / "deskmate_watchword"
CHANNEL = "C0WATCH"
PLUGIN_TABLES = ("watchword_mentions", "watchword_words")


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """Install the example plugin for this module: its sources and its dist-info on sys.path."""
    project = tomllib.loads((PROJECT / "pyproject.toml").read_text())["project"]
    entry_points = project["entry-points"]
    site = tmp_path_factory.mktemp("site")
    write_distribution(site, project["name"], project["version"], entry_points)
    with pytest.MonkeyPatch.context() as patch:
        patch.syspath_prepend(str(SOURCE))
        patch.syspath_prepend(str(site))
        yield entry_points[PLUGIN_GROUP]
    # Forget the plugin: its table must not reach the other modules' databases (they empty every table of
    # the shared metadata), and a later import must start afresh.
    for name in [name for name in sys.modules if name.split(".")[0] == "deskmate_watchword"]:
        del sys.modules[name]
    for name in PLUGIN_TABLES:
        table = Base.metadata.tables.get(name)
        if table is not None:
            Base.metadata.remove(table)


@pytest.fixture(scope="module")
def database_url(installed, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """This module's own database, migrated with every capability and the example plugin."""
    if database_kind() == "postgresql":
        url = create_pg_database()
    else:
        url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'deskmate.sqlite3'}"
    app = create_app(base_config(url, plugins=[*DEFAULT_PLUGINS, "watchword"]))
    upgrade(app)
    storage.engine(app).dispose()
    yield url
    if database_kind() == "postgresql":
        drop_pg_database(url)


@pytest.fixture
def app_config(app_config):
    app_config["plugins"] = ["watchword"]
    app_config["plugin_settings"] = {"watchword": {"word": "outage", "tag": "outage_watch",
                                                   "digest_channel": CHANNEL}}
    app_config["sidebar_warm_cache"] = False  # these tests count the plugin's own work
    return app_config


def work_items(app) -> list[WorkItem]:
    with storage.session(app) as session:
        return list(session.scalars(sa.select(WorkItem).order_by(WorkItem.id)))


def mentions(app) -> list[dict]:
    with storage.session(app) as session:
        return [dict(row._mapping) for row in session.execute(sa.text(
            "SELECT ticket_id, requester_id, word, reported_at FROM watchword_mentions ORDER BY id"))]


def test_the_entry_point_is_the_one_its_pyproject_declares(installed, app):
    assert installed == {"watchword": "deskmate_watchword"}
    plugin = plugin_manager.state(app).pm.get_plugin("watchword")
    assert Path(plugin.__file__).resolve().parent == PACKAGE
    assert PACKAGE / "migrations" in version_locations(app)


def test_the_plugin_imports_only_the_public_api_from_the_core():
    core_imports = set()
    for path in PACKAGE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = ([alias.name for alias in node.names] if isinstance(node, ast.Import)
                     else [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            core_imports |= {name for name in names if name.split(".")[0] in {"app", "plugins", "sandbox"}}
    assert core_imports == {"app.api", "app.hookspecs"}


@pytest.mark.hook("handle_event")
def test_a_signed_webhook_mentioning_the_word_records_and_tags_the_ticket(app, post_webhook, worker):
    assert post_webhook(ticket_event(4711, subject="Live stream OUTAGE in Berlin", requester_id=501)).status_code == 202
    assert post_webhook(ticket_event(4712, subject="Cannot log in", description="no outages here")).status_code == 202
    duplicate = ticket_event(4713, subject="Question", description="Is there an outage?", requester_id=502)
    assert post_webhook(duplicate).status_code == 202
    worker.handle_events()
    assert post_webhook(duplicate).get_json() == {"status": "duplicate"}
    assert worker.handle_events() == 0
    assert [(m["ticket_id"], m["requester_id"], m["word"], m["reported_at"]) for m in mentions(app)] == [
        (4711, 501, "outage", None), (4713, 502, "outage", None)]
    tags = [(item.kind, item.idempotency_key, item.payload) for item in work_items(app)]
    assert tags == [
        ("zendesk.ticket_update", "watchword:tag:ticket:4711",
         {"ticket_id": 4711, "ticket": {"additional_tags": ["outage_watch"]}}),
        ("zendesk.ticket_update", "watchword:tag:ticket:4713",
         {"ticket_id": 4713, "ticket": {"additional_tags": ["outage_watch"]}}),
    ]


@pytest.mark.hook("register_timers", "settings_model")
def test_the_digest_timer_reports_each_mention_once(app, post_webhook, worker, clock):
    for ticket_id in (21, 22):
        post_webhook(ticket_event(ticket_id, subject=f"outage {ticket_id}"))
    worker.handle_events()
    assert worker.run_timers() >= 1
    [digest] = [item for item in work_items(app) if item.kind == "slack.post_message"]
    assert digest.idempotency_key.startswith("watchword:digest:")
    assert digest.payload == {"channel": CHANNEL, "text": "2 new tickets mention “outage”: #21, #22"}
    assert all(m["reported_at"] is not None for m in mentions(app))
    worker.run_timers()
    post_webhook(ticket_event(23, subject="another outage"))
    worker.handle_events()
    worker.run_timers()
    digests = [item.payload["text"] for item in work_items(app) if item.kind == "slack.post_message"]
    assert digests == ["2 new tickets mention “outage”: #21, #22", "1 new ticket mention “outage”: #23"]


@pytest.mark.hook("handle_event", "register_timers")
def test_end_to_end_the_helpdesk_ticket_is_tagged_and_slack_gets_the_digest(app, helpdesk, slack_emulator,
                                                                             post_webhook, worker):
    slack_emulator.state.add_channel("watch", CHANNEL)
    ticket = helpdesk.call("POST", "/__sandbox/tickets", json={
        "requester_email": "viewer@example.com", "subject": "Outage on channel 4", "body": "Black screen"})["ticket"]
    assert post_webhook(ticket_event(int(ticket["id"]), subject=ticket["subject"])).status_code == 202
    worker.run_until_idle(timers=True)
    assert "outage_watch" in helpdesk.api("GET", f"/tickets/{ticket['id']}.json")["ticket"]["tags"]
    [message] = slack_emulator.call("GET", f"/__sandbox/messages?channel={CHANNEL}")["messages"]
    assert message["text"] == f"1 new ticket mention “outage”: #{ticket['id']}"
    assert {item.state for item in work_items(app)} == {"done"}


@pytest.mark.hook("register_commands")
def test_the_mentions_command(app, runner, post_webhook, worker):
    post_webhook(ticket_event(31, subject="outage again"))
    worker.handle_events()
    result = runner.invoke(args=["watchword", "mentions"])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("#31\toutage\t") and "not reported yet" in result.output


@pytest.mark.hook("register_routes")
def test_the_admin_api_lists_mentions(app, client, admin_headers, post_webhook, worker):
    post_webhook(ticket_event(41, subject="outage", requester_id=777))
    worker.handle_events()
    assert client.get("/watchword/api/mentions").status_code == 401
    answer = client.get("/watchword/api/mentions", headers=admin_headers)
    assert answer.status_code == 200
    assert [(m["ticket_id"], m["requester_id"], m["reported"]) for m in answer.get_json()["mentions"]] == [
        (41, 777, False)]
    assert client.get("/watchword/api/mentions?limit=0", headers=admin_headers).status_code == 400


def test_the_migration_is_its_own_branch_after_the_core(database_url):
    # Alembic must know every branch the database holds: migrate with every plugin the database was made with.
    app = create_app(base_config(database_url, plugins=[*DEFAULT_PLUGINS, "watchword"]))
    engine = storage.engine(app)
    inspector = sa.inspect(engine)
    assert {column["name"] for column in inspector.get_columns("watchword_mentions")} == {
        "id", "account_id", "ticket_id", "requester_id", "word", "seen_at", "reported_at"}
    assert {"ix_watchword_mentions_due", "ix_watchword_mentions_requester"} <= {
        index["name"] for index in inspector.get_indexes("watchword_mentions")}
    with engine.connect() as connection:
        heads = set(connection.scalars(sa.text("SELECT version_num FROM alembic_version")))
    assert "watchword_0003" in heads
    assert {column["name"] for column in inspector.get_columns("watchword_words")} == {
        "id", "account_id", "word", "days", "request_id", "added_by", "added_at", "active_until"}
    # The branch goes down and up on its own, leaving the core and the other plugins where they are.
    downgrade(app, "watchword@base")
    assert not set(PLUGIN_TABLES) & set(sa.inspect(engine).get_table_names())
    with engine.connect() as connection:
        assert set(connection.scalars(sa.text("SELECT version_num FROM alembic_version"))) == heads - {
            "watchword_0003"}
    upgrade(app, "watchword@head")
    assert set(PLUGIN_TABLES) <= set(sa.inspect(engine).get_table_names())
    storage.dispose(app)


def test_the_model_matches_the_migration(app):
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    def only_the_plugins_table(name, kind, parent):
        return kind != "table" or name in PLUGIN_TABLES

    def only_the_plugins_objects(obj, name, kind, reflected, compare_to):
        return kind != "table" or name in PLUGIN_TABLES

    with storage.engine(app).connect() as connection:
        context = MigrationContext.configure(connection, opts={
            "compare_type": True, "include_name": only_the_plugins_table,
            "include_object": only_the_plugins_objects})
        assert compare_metadata(context, Base.metadata) == []


# --- the sidebar panel --------------------------------------------------------------------------------------

MESSAGES = PACKAGE / "sidebar_ui" / "i18n"
VIEWER = {"id": 501, "name": "Ada Viewer", "email": "ada@example.com", "locale": "en", "tags": []}
WORDS = "/sidebar/api/watchword/words"


def add_word_form(ticket_id: int) -> dict:
    return {
        "type": "form", "name": "watchword-add", "open": {"t": "watchword.add_open"},
        "fields": [
            {"name": "word", "label": {"t": "watchword.word_label"}, "kind": "text", "required": True,
             "help": {"t": "watchword.word_help", "args": {"word": "outage"}}},
            {"name": "days", "label": {"t": "watchword.days_label"}, "kind": "number", "value": 7, "min": 1,
             "max": 30, "required": True},
        ],
        "body": {"ticket_id": ticket_id},
        "preview": f"{WORDS}/preview", "post": WORDS,
        "submit": {"t": "watchword.add_submit"}, "tone": "primary",
    }


def open_ticket(client, session_token: str, ticket_id: int, locale: str = "en") -> dict:
    response = client.get(f"/sidebar/api/tickets/{ticket_id}?locale={locale}", headers=bearer(session_token))
    assert response.status_code == 200, response.get_data(as_text=True)
    body = response.get_json()
    assert body["meta"]["helpdesk_calls"] == 0  # the panel reads the database only; the ticket was cached
    return body


@pytest.mark.hook("sidebar_panels", "handle_event")
def test_the_sidebar_ticket_api_serves_the_panel_of_a_ticket_that_mentions_the_word(
        app, client, account_id, sidebar_session, post_webhook, worker, clock):
    first_seen = clock.now()  # ticket 51's mention; each later ticket is seen a minute after the previous one
    for ticket_id, subject, requester_id in ((51, "Outage in Rome", 501), (52, "Another OUTAGE tonight", 501),
                                             (53, "outage at home", 777), (54, "Cannot log in", 501),
                                             (55, "Billing question", 888)):
        post_webhook(ticket_event(ticket_id, subject=subject, requester_id=requester_id))
        worker.handle_events()
        clock.advance(minutes=1)
    for ticket_id in (52, 54, 55):
        index_ticket(app, account_id, ticket_id, requester={**VIEWER, "id": 888 if ticket_id == 55 else 501})

    body = open_ticket(client, sidebar_session, 52)
    assert body["meta"]["plugins"] == ["watchword"]
    panel = body["panels"]["watchword"]
    assert panel == {
        "title": {"t": "watchword.title"},
        "blocks": [
            {"type": "badges", "name": "watchword-ticket",
             "items": [{"text": {"t": "watchword.mentioned", "args": {"word": "outage"}}, "tone": "yellow"}]},
            {"type": "list", "name": "watchword-requester",
             "title": {"t": "watchword.requester_mentions", "args": {"count": 1}},
             "items": [{"id": 51, "title": {"t": "watchword.ticket", "args": {"id": 51}},
                        "href": "http://127.0.0.1:9/agent/tickets/51",  # the account's helpdesk base URL
                        "aside": {"date": first_seen.isoformat()}}]},
            {"type": "deferred", "source": "/sidebar/api/watchword/words"},
            add_word_form(52),
        ],
        "empty": {"t": "watchword.empty", "args": {"word": "outage"}},
        "data": {"word": "outage", "mentioned": True, "scope": "requester", "tickets": [51]},
    }
    # The same requester's ticket without the word: the badge says so, their mentions are listed newest first.
    other = open_ticket(client, sidebar_session, 54, locale="it")["panels"]["watchword"]
    assert other["blocks"][0]["items"] == [{"text": {"t": "watchword.not_mentioned", "args": {"word": "outage"}}}]
    assert other["data"] == {"word": "outage", "mentioned": False, "scope": "requester", "tickets": [52, 51]}
    # A requester with no mention of their own: the account's latest mentions instead.
    stranger = open_ticket(client, sidebar_session, 55)["panels"]["watchword"]
    assert stranger["blocks"][1]["name"] == "watchword-account"
    assert stranger["data"]["tickets"] == [53, 52, 51]


@pytest.mark.hook("sidebar_panels")
def test_with_no_mention_at_all_the_panel_shows_its_empty_text(app, client, account_id, sidebar_session):
    index_ticket(app, account_id, 61, requester=VIEWER)
    panel = open_ticket(client, sidebar_session, 61)["panels"]["watchword"]
    # The empty text is a block of its own: the added words and the form to add one follow it.
    assert panel["blocks"] == [
        {"type": "text", "text": {"t": "watchword.empty", "args": {"word": "outage"}}, "empty": True},
        {"type": "deferred", "source": "/sidebar/api/watchword/words"},
        add_word_form(61),
    ]
    assert panel["empty"] == {"t": "watchword.empty", "args": {"word": "outage"}}


@pytest.mark.hook("sidebar_messages")
def test_the_panels_texts_are_in_the_served_catalog(client):
    english = client.get("/sidebar/ui/i18n/en.json").get_json()
    italian = client.get("/sidebar/ui/i18n/it.json").get_json()
    assert english["watchword.title"] == "Watch word"
    assert english["watchword.requester_mentions"] == {
        "one": "{count} other ticket from this requester mentions it",
        "other": "{count} other tickets from this requester mention it"}
    assert italian["watchword.title"] == "Parola sorvegliata"
    assert italian["watchword.mentioned"] == "Questo ticket menziona «{word}»"
    files = {path.stem: json.loads(path.read_text()) for path in MESSAGES.glob("*.json")}
    assert set(files) == {"en", "fr", "it"}
    # The sidebar speaks the core's languages (sidebar_ui/i18n: en, fr, it): each serves the plugin's texts.
    for language in ("en", "fr", "it"):
        served_keys = {key for key in client.get(f"/sidebar/ui/i18n/{language}.json").get_json()
                       if key.startswith("watchword.")}
        assert served_keys == set(files[language])


def test_the_sidebar_texts_have_the_same_keys_and_plural_forms_in_every_language():
    files = {path.stem: json.loads(path.read_text()) for path in MESSAGES.glob("*.json")}
    keys = set(files["en"])
    assert all(key.startswith("watchword.") for key in keys)
    for language, texts in files.items():
        assert set(texts) == keys, language
        for key in ("watchword.requester_mentions", "watchword.account_mentions"):
            assert set(texts[key]) >= {"one", "other"}, (language, key)
    panel_keys = set()  # every key the panel and its routes use is a literal of the package, and has its text
    for path in PACKAGE.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and re.fullmatch(
                    r"watchword\.[a-z_]+", node.value):
                panel_keys.add(node.value)
    assert panel_keys == keys
    for language, texts in files.items():
        assert set(texts["watchword.confirm_add"]) >= {"one", "other"}, language


def words_rows(app) -> list[dict]:
    with storage.session(app) as session:
        return [dict(row._mapping) for row in session.execute(sa.text(
            "SELECT word, days, request_id, added_by, active_until FROM watchword_words ORDER BY id"))]


@pytest.mark.hook("register_routes")
def test_the_form_preview_names_the_refused_field_and_changes_nothing(app, client, account_id, sidebar_session):
    index_ticket(app, account_id, 71, requester=VIEWER)
    open_ticket(client, sidebar_session, 71)

    def preview(**body):
        return client.post(f"{WORDS}/preview", json={"ticket_id": 71, **body}, headers=bearer(sidebar_session))

    taken = preview(word="Outage", days=7)
    assert taken.status_code == 422
    assert taken.get_json() == {"error": {"status": 422, "field": "word",
                                          "message": {"t": "watchword.word_taken", "args": {"word": "outage"}}}}
    assert preview(word="two words", days=7).get_json()["error"]["message"] == {"t": "watchword.word_invalid"}
    assert preview(word="refund", days=31).get_json()["error"] == {
        "status": 422, "field": "days", "message": {"t": "watchword.days_invalid", "args": {"max": 30}}}
    assert preview(word="refund", days=True).get_json()["error"]["field"] == "days"
    answer = preview(word=" Refund ", days=14.0)
    assert answer.status_code == 200
    assert answer.get_json() == {"confirm": {"t": "watchword.confirm_add",
                                             "args": {"word": "refund", "count": 14, "tag": "outage_watch"}}}
    assert words_rows(app) == []
    assert client.post(f"{WORDS}/preview", json={"word": "refund", "days": 1}).status_code == 401


@pytest.mark.hook("register_routes", "register_timers", "handle_event")
def test_a_word_is_added_once_per_request_id_pending_until_the_timer_then_watched(
        app, client, account_id, sidebar_session, worker, clock, post_webhook):
    index_ticket(app, account_id, 72, requester={**VIEWER, "locale": "it-IT"})
    open_ticket(client, sidebar_session, 72)  # the reply's language comes from the sidebar's cache of the ticket
    headers = bearer(sidebar_session)
    body = {"ticket_id": 72, "word": "Refund", "days": 14, "request_id": str(uuid.uuid4())}

    first = client.post(WORDS, json=body, headers=headers)
    assert first.status_code == 202
    assert first.get_json()["message"] == {"t": "watchword.added", "args": {"word": "refund"}}
    assert first.get_json()["reply"].startswith("Grazie della segnalazione") and "«refund»" in first.get_json()["reply"]
    # The same confirmation again (a double click, a retry after a lost answer): the same answer, no new word.
    again = client.post(WORDS, json=body, headers=headers)
    assert (again.status_code, again.get_json()) == (202, first.get_json())
    [row] = words_rows(app)
    assert (row["word"], row["days"], row["request_id"], row["active_until"]) == ("refund", 14, body["request_id"],
                                                                                 None)
    assert row["added_by"].startswith("agent:")
    # Another confirmation of the same word: refused, it is already watched (pending).
    other = client.post(WORDS, json={**body, "request_id": str(uuid.uuid4())}, headers=headers)
    assert (other.status_code, other.get_json()["error"]["field"]) == (422, "word")
    assert client.post(WORDS, json={**body, "request_id": "short"}, headers=headers).status_code == 400
    assert client.post(WORDS, json={**body, "ticket_id": "72"}, headers=headers).status_code == 400

    # The deferred list asks to be refreshed while the word is pending...
    listing = client.get(WORDS, headers=headers).get_json()
    assert listing["refresh_seconds"] == 2
    [item] = listing["blocks"][0]["items"]
    assert item["title"] == {"t": "watchword.word", "args": {"word": "refund"}}
    assert item["badge"] == {"text": {"t": "watchword.pending"}, "tone": "yellow"}
    # ...and, once the timer started it, says until when, and no longer asks.
    assert worker.run_timers({"words"}) == 1
    listing = client.get(WORDS, headers=headers).get_json()
    assert "refresh_seconds" not in listing
    until = (clock.now() + timedelta(days=14)).date().isoformat()
    assert listing["blocks"][0]["items"][0]["badge"] == {
        "text": {"t": "watchword.until", "args": {"day": {"day": until}}}, "tone": "green"}

    # New tickets mentioning the word are recorded with it; after its days it is no longer watched.
    post_webhook(ticket_event(73, subject="Refund for the match", requester_id=501))
    worker.handle_events()
    assert [(m["ticket_id"], m["word"]) for m in mentions(app)] == [(73, "refund")]
    clock.advance(days=15)
    post_webhook(ticket_event(74, subject="Another refund", requester_id=501))
    worker.handle_events()
    assert [m["ticket_id"] for m in mentions(app)] == [73]
    from deskmate_watchword import words

    with storage.session(app) as session:
        assert words.watched(session, account_id, clock.now()) == []  # the sidebar lists it no more


@pytest.mark.browser
@pytest.mark.hook("sidebar_panels", "sidebar_messages", "handle_event")
def test_in_chromium_the_workspace_shows_the_watchword_panel(browser, zaf_sdk, helpdesk, served, runner,
                                                             worker):
    result = runner.invoke(args=["zendesk", "install", "--service-url", served, "--with-app"])
    assert result.exit_code == 0, result.output

    def ticket(subject: str, body: str) -> int:
        answer = helpdesk.call("POST", "/__sandbox/tickets", json={
            "requester_email": "ada.viewer@mail.example", "subject": subject, "body": body, "via": "web"})
        return int(answer["ticket"]["id"])

    earlier = ticket("Outage on channel 4", "Black screen since 8 pm.")
    ticket("Invoice address", "Please change my billing address.")
    current = ticket("Another outage tonight", "The stream stopped again during the match.")
    for _ in range(6):  # deliver every webhook and let the worker handle it, until nothing more happens
        helpdesk.flush_deliveries()
        helpdesk.state.wait_for_jobs(10)
        if not worker.run_until_idle():
            break

    page, frame = open_sidebar(browser, zaf_sdk, f"{helpdesk.url}/agent/tickets/{current}")
    assert frame.get_attribute("#app", "data-state") == "ready", frame.inner_text("#app")
    section = frame.locator("[data-panel=watchword]")
    expect(section).to_be_visible()
    text = section.inner_text()
    assert "watch word" in text.lower()  # the section title (shown in capitals)
    assert "This ticket mentions “outage”" in text
    assert "1 other ticket from this requester mentions it" in text
    link = section.locator(f"[data-list=watchword-requester] [data-item='{earlier}'] a")
    expect(link).to_have_text(f"Ticket #{earlier}")
    assert link.get_attribute("href").endswith(f"/agent/tickets/{earlier}")
    assert "watchword." not in frame.inner_text("#app")  # no raw keys anywhere
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "sidebar_example_plugin.png"), full_page=True)
    page.close()
    assert (ARTIFACTS / "sidebar_example_plugin.png").stat().st_size > 10_000


@pytest.fixture
def counted(app) -> Iterator[tuple[str, list[tuple[str, str, bytes]]]]:
    """The app served with every request it receives counted: (method, path, body) as the server saw them."""
    received: list[tuple[str, str, bytes]] = []
    inner = app.wsgi_app

    def counting(environ, start_response):
        body = b""
        if environ["REQUEST_METHOD"] == "POST":
            body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
            environ["wsgi.input"] = io.BytesIO(body)
        received.append((environ["REQUEST_METHOD"], environ.get("PATH_INFO", ""), body))
        return inner(environ, start_response)

    app.wsgi_app = counting
    server = ServerThread(app).start()
    yield server.url, received
    server.stop()
    app.wsgi_app = inner


# Counts skeletons put into the sidebar after it is watched: a deferred refresh must not show one again.
WATCH_SKELETONS = """() => {
  window.skeletons = 0;
  new MutationObserver((changes) => changes.forEach((change) => change.addedNodes.forEach((node) => {
    if (node.nodeType === 1 && (node.matches('.dm-skeleton') || node.querySelector('.dm-skeleton'))) {
      window.skeletons += 1;
    }
  }))).observe(document.getElementById('app'), {subtree: true, childList: true});
}"""


@pytest.mark.browser
@pytest.mark.hook("sidebar_panels", "register_routes", "register_timers")
def test_in_chromium_the_form_adds_a_word_once_and_the_list_refreshes_in_place(
        app, browser, zaf_sdk, helpdesk, counted, runner, worker):
    served, received = counted
    result = runner.invoke(args=["zendesk", "install", "--service-url", served, "--with-app"])
    assert result.exit_code == 0, result.output
    helpdesk.state.create_user({"name": "Luca Rossi", "email": "luca.rossi@mail.example", "locale": "it"})
    ticket = int(helpdesk.call("POST", "/__sandbox/tickets", json={
        "requester_email": "luca.rossi@mail.example", "subject": "Rimborso della partita",
        "body": "Lo streaming si è interrotto, vorrei un rimborso.", "via": "web"})["ticket"]["id"])

    def posts(path: str) -> list[dict]:
        return [json.loads(body) for method, seen, body in received if method == "POST" and seen == path]

    page, frame = open_sidebar(browser, zaf_sdk, f"{helpdesk.url}/agent/tickets/{ticket}")
    assert frame.get_attribute("#app", "data-state") == "ready", frame.inner_text("#app")
    section = frame.locator("[data-panel=watchword]")
    expect(section.locator("[data-deferred=ready]")).to_have_text("Only “outage” is watched.")
    form = section.locator("[data-form=watchword-add]")
    expect(form.locator("form")).to_be_hidden()
    form.get_by_role("button", name="Watch another word").click()
    word = form.get_by_role("textbox", name="Word", exact=True)
    days = form.get_by_role("spinbutton", name="For how many days")
    expect(word).to_be_focused()
    expect(days).to_have_value("7")

    # The plugin refuses the word: its message beside the word, what was typed still there.
    word.fill("Outage")
    form.get_by_role("button", name="Review").click()
    word_error = form.locator("[data-field=word] .dm-field__error")
    expect(word_error).to_have_text("“outage” is already watched.")
    expect(word).to_have_value("Outage")
    expect(word).to_have_attribute("aria-invalid", "true")
    expect(word).to_be_focused()
    assert len(posts(f"{WORDS}/preview")) == 1
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "sidebar_form_refused.png"), full_page=True)

    # The page's own check (max 30 days) asks the server nothing.
    word.fill("Refund")
    days.fill("45")
    form.get_by_role("button", name="Review").click()
    expect(form.locator("[data-field=days] .dm-field__error")).to_have_text("At most 30.")
    expect(word_error).to_be_hidden()
    assert len(posts(f"{WORDS}/preview")) == 1

    # Enter in a field previews; the confirmation says exactly what will happen.
    days.fill("14")
    days.press("Enter")
    dialog = form.get_by_role("alertdialog")
    expect(dialog).to_contain_text(
        "From the next check, new tickets mentioning “refund” are tagged outage_watch for 14 days.")
    expect(dialog).to_be_focused()
    expect(word).to_be_disabled()
    assert posts(f"{WORDS}/preview")[-1] == {"ticket_id": ticket, "word": "Refund", "days": 14}
    page.screenshot(path=str(ARTIFACTS / "sidebar_form_confirm.png"), full_page=True)

    # Confirm, double-clicked, sends one request; its answer is lost on the way back (the server did the work)...
    lost = []

    def lose_the_first_answer(route):
        response = route.fetch()
        if not lost:
            lost.append(response.status)
            route.fulfill(status=503, json={"error": {"message": "The answer was lost on the way."}})
        else:
            route.fulfill(response=response)

    page.route(f"{served}{WORDS}", lose_the_first_answer)
    dialog.get_by_role("button", name="Confirm").dblclick()
    expect(dialog).to_contain_text("Confirm again to retry: it will not be done twice.")
    assert lost == [202]
    assert len(posts(WORDS)) == 1
    page.screenshot(path=str(ARTIFACTS / "sidebar_form_retry.png"), full_page=True)
    # ...so Confirm again resends the same request_id, and the plugin answers without adding the word twice.
    dialog.get_by_role("button", name="Confirm").click()
    note = section.locator("[data-note]")
    expect(note).to_contain_text("“refund” will be watched from the next check.")
    expect(note).to_be_focused()
    sent = posts(WORDS)
    assert len(sent) == 2 and sent[0] == sent[1]
    assert str(uuid.UUID(sent[0]["request_id"])) == sent[0]["request_id"]
    assert {k: v for k, v in sent[0].items() if k != "request_id"} == {"ticket_id": ticket, "word": "Refund",
                                                                      "days": 14}
    assert [(row["word"], row["active_until"]) for row in words_rows(app)] == [("refund", None)]

    # The panel reloaded: the form is closed again, the word is listed as pending.
    words_list = section.locator("[data-list=watchword-words]")
    expect(words_list).to_contain_text("“refund”")
    expect(words_list).to_contain_text("Starts at the next check")
    expect(form.locator("form")).to_be_hidden()

    # "Insert reply" puts the reply, in the requester's language, into the workspace's comment box.
    note.get_by_role("button", name="Insert reply").click()
    expect(note).to_contain_text("The reply is in the comment box.")
    expect(page.locator("#comment-body")).to_have_value(re.compile(r"^Grazie della segnalazione.*«refund»"))
    page.screenshot(path=str(ARTIFACTS / "sidebar_form_done.png"), full_page=True)

    # The list refreshes itself while the word is pending: once the timer starts it, it says until when, in
    # place (no skeleton), and stops asking.
    frame.evaluate(WATCH_SKELETONS)
    worker.run_timers({"words"})
    expect(words_list).to_contain_text(re.compile(r"Until \w+ \d+, \d{4}"), timeout=10_000)
    holder = section.locator("[data-deferred]")
    assert int(holder.get_attribute("data-refreshes")) >= 1
    assert frame.evaluate("window.skeletons") == 0
    expect(note).to_be_visible()  # the refresh left the note alone
    listed = len([1 for method, seen, _ in received if method == "GET" and seen == WORDS])
    page.wait_for_timeout(3_000)
    assert len([1 for method, seen, _ in received if method == "GET" and seen == WORDS]) == listed
    page.screenshot(path=str(ARTIFACTS / "sidebar_form_refreshed.png"), full_page=True)
    page.close()
