"""The example third-party plugin (``tests/data/deskmate_example_plugin``), installed as a distribution of its own.

It was written from ``docs/plugins.md`` alone. Here it is installed the way pip would leave it (its source on
``sys.path`` and a ``*.dist-info`` folder declaring the entry point from its own ``pyproject.toml``), enabled by
its entry point's name, migrated from its own folder, and driven through the real path: a signed webhook,
the worker's event handling, its timer, the core's work items against the helpdesk and Slack emulators, its
sidebar panel through the sidebar's ticket API and, in Chromium, inside the sandbox agent workspace.
"""

from __future__ import annotations

import ast
import json
import sys
import tomllib
from collections.abc import Iterator
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
browser, zaf_sdk, served = browser_fixtures.browser, browser_fixtures.zaf_sdk, browser_fixtures.served

PROJECT = Path(__file__).resolve().parents[1] / "data" / "deskmate_example_plugin"
SOURCE = PROJECT / "src"
PACKAGE = SOURCE / "deskmate_watchword"
CHANNEL = "C0WATCH"


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
    table = Base.metadata.tables.get("watchword_mentions")
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
    assert "watchword_0002" in heads
    # The branch goes down and up on its own, leaving the core and the other plugins where they are.
    downgrade(app, "watchword@base")
    assert "watchword_mentions" not in sa.inspect(engine).get_table_names()
    with engine.connect() as connection:
        assert set(connection.scalars(sa.text("SELECT version_num FROM alembic_version"))) == heads - {
            "watchword_0002"}
    upgrade(app, "watchword@head")
    assert "watchword_mentions" in sa.inspect(engine).get_table_names()
    storage.dispose(app)


def test_the_model_matches_the_migration(app):
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    def only_the_plugins_table(name, kind, parent):
        return kind != "table" or name == "watchword_mentions"

    def only_the_plugins_objects(obj, name, kind, reflected, compare_to):
        return kind != "table" or name == "watchword_mentions"

    with storage.engine(app).connect() as connection:
        context = MigrationContext.configure(connection, opts={
            "compare_type": True, "include_name": only_the_plugins_table,
            "include_object": only_the_plugins_objects})
        assert compare_metadata(context, Base.metadata) == []


# --- the sidebar panel --------------------------------------------------------------------------------------

MESSAGES = PACKAGE / "sidebar_ui" / "i18n"
VIEWER = {"id": 501, "name": "Ada Viewer", "email": "ada@example.com", "locale": "en", "tags": []}


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
                        "href": "https://acme.zendesk.com/agent/tickets/51",
                        "aside": {"date": first_seen.isoformat()}}]},
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
    assert panel["blocks"] == []
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
    for language in ("en", "it"):
        served_keys = {key for key in client.get(f"/sidebar/ui/i18n/{language}.json").get_json()
                       if key.startswith("watchword.")}
        assert served_keys == set(files[language])
    # The sidebar speaks the core's languages (sidebar_ui/i18n: en, it): the plugin's French texts are ready
    # for the day the core has French, and not served before (docs/plugins.md, sidebar_messages).
    assert client.get("/sidebar/ui/i18n/fr.json").status_code == 404


def test_the_sidebar_texts_have_the_same_keys_and_plural_forms_in_every_language():
    files = {path.stem: json.loads(path.read_text()) for path in MESSAGES.glob("*.json")}
    keys = set(files["en"])
    assert all(key.startswith("watchword.") for key in keys)
    for language, texts in files.items():
        assert set(texts) == keys, language
        for key in ("watchword.requester_mentions", "watchword.account_mentions"):
            assert set(texts[key]) >= {"one", "other"}, (language, key)
    panel_keys = set()  # every key the panel uses is a literal of sidebar.py, and has its text
    for node in ast.walk(ast.parse((PACKAGE / "sidebar.py").read_text())):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value.startswith("watchword."):
            panel_keys.add(node.value)
    assert panel_keys == keys


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
