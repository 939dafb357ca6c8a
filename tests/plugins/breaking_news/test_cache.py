"""The rendered-document cache: fresh at once in the writing process, within a second in every other one."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from app import create_app
from app.db import storage
from plugins.breaking_news.cache import NewsCache, Rendered
from plugins.breaking_news.public_views import CACHE_KEY
from tests.conftest import base_config

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


class Ticks:
    """A monotonic clock a test moves by hand."""

    def __init__(self) -> None:
        self.value = 1000.0

    def __call__(self) -> float:
        return self.value


def doc(version: int, text: str = "x") -> Rendered:
    return Rendered(text.encode(), f'"{version}-{text}"', version, None)


def test_render_started_before_a_write_is_not_kept():
    cache = NewsCache(monotonic=Ticks())
    generation = cache.generation(1)
    cache.invalidate(1)  # this process wrote while the render was reading the old rows
    cache.put(1, ("active", ""), doc(1, "old"), generation)
    assert cache.get(1, ("active", ""), NOW, lambda account_id: 2) is None


def test_version_is_read_at_most_once_a_second():
    ticks = Ticks()
    cache = NewsCache(check_seconds=1.0, monotonic=ticks)
    reads: list[int] = []

    def read(account_id: int) -> int:
        reads.append(account_id)
        return 1

    assert cache.get(1, ("active", ""), NOW, read) is None
    cache.put(1, ("active", ""), doc(1), cache.generation(1))
    ticks.value += 0.5
    assert cache.get(1, ("active", ""), NOW, read) == doc(1)
    assert len(reads) == 1
    ticks.value += 0.6
    assert cache.get(1, ("active", ""), NOW, read) == doc(1)
    assert len(reads) == 2


def test_newer_version_elsewhere_drops_the_documents():
    ticks = Ticks()
    cache = NewsCache(check_seconds=1.0, monotonic=ticks)
    cache.get(1, ("active", ""), NOW, lambda account_id: 1)
    cache.put(1, ("active", "it"), doc(1), cache.generation(1))
    ticks.value += 1
    assert cache.get(1, ("active", "it"), NOW, lambda account_id: 2) is None


@pytest.fixture
def other_process(database_url, clock, app_config):
    """A second app on the same database: another gunicorn worker, as far as the cache can tell."""
    other = create_app(base_config(database_url, **app_config), app_clock=clock)
    ticks = Ticks()
    other.extensions[CACHE_KEY] = NewsCache(check_seconds=1.0, monotonic=ticks)
    yield other.test_client(), ticks
    storage.engine(other).dispose()


def test_write_in_one_process_shows_in_another_within_a_second(news, other_process):
    client, ticks = other_process
    assert client.get("/news/active.json").get_json()["incidents"] == []
    incident = news.create(title="Chat is down")
    assert client.get("/news/active.json").get_json()["incidents"] == []  # served from its cache meanwhile
    ticks.value += 1.0
    [shown] = client.get("/news/active.json").get_json()["incidents"]
    assert shown["title"] == "Chat is down"
    etag = client.get("/news/active.json").headers["ETag"]
    news.resolve(incident["id"])
    ticks.value += 1.0
    answer = client.get("/news/active.json", headers={"If-None-Match": etag})
    assert answer.status_code == 200
    assert answer.get_json()["incidents"][0]["status"] == "resolved"


def test_every_locale_is_refreshed_after_a_write(news):
    incident = news.create(title="Chat is down", translations={"it": {"title": "La chat non va"}})
    assert news.shown("?locale=it")[0]["status"] == "investigating"
    assert news.shown("?locale=en")[0]["status"] == "investigating"
    news.update(incident["id"], "monitoring", "A fix is out.")
    assert news.shown("?locale=it")[0]["status"] == "monitoring"
    assert news.shown("?locale=en")[0]["status"] == "monitoring"


def test_quick_link_change_is_visible_at_once(news, client, admin_headers):
    assert news.active().get_json()["quick_links"] == {}
    client.put("/admin/api/news/quick-links/7", json={"links": [{"kind": "notice", "title": "Known issue"}]},
               headers=admin_headers)
    assert news.active().get_json()["quick_links"] == {"7": [{"kind": "notice", "title": "Known issue",
                                                              "text": ""}]}


def test_settings_change_renders_anew(news, app, clock):
    from app.accounts import upsert_account

    news.create(title="Streams fail", translations={"de": {"title": "Streams starten nicht"}})
    assert news.shown("?locale=ja")[0]["title"] == "Streams fail"
    clock.advance(seconds=1)  # an account's version is the time of its last change
    upsert_account(app, subdomain="acme", now=clock.now(),
                   settings={"breaking_news": {"default_locale": "de"}})
    assert news.shown("?locale=ja")[0]["title"] == "Streams starten nicht"
