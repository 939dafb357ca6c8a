"""The admin index links every admin page the enabled plugins registered (with the default plugins)."""

from __future__ import annotations

import re

import pytest

from app.admin_pages import nav_pages


@pytest.fixture
def app_config(app_config):
    from app.config import DEFAULT_PLUGINS

    app_config["plugins"] = list(DEFAULT_PLUGINS)
    return app_config


def sign_in(client, token: str) -> None:
    page = client.get("/admin/login").get_data(as_text=True)
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    assert client.post("/admin/login", data={"token": token, "csrf_token": csrf}).status_code == 302


def test_admin_index_links_every_registered_page(app, client, admin_token):
    sign_in(client, admin_token)
    index = client.get("/admin/").get_data(as_text=True)
    pages = nav_pages(app)
    titles = {title for title, _ in pages}
    assert {"Failed work", "Routing", "Breaking news", "SLA", "Feature requests"} <= titles
    for title, url in pages:
        assert f'href="{url}"' in index, f"the admin index does not link {title} ({url})"
        assert client.get(url).status_code == 200, f"{title} ({url}) does not open"
