"""The sidebar gets each live incident's text as parsed blocks (paragraphs, lists, links), never as HTML."""

from __future__ import annotations

import pytest

from app.accounts import get_account
from app.db import storage
from app.plugins import SidebarTicket
from app.sidebar.panels import gather_panels

TICKET = SidebarTicket(id=601, subject="buffering", status="new", requester_id=1, requester_email=None,
                       requester_name=None, organization_id=None, group_id=None, tags=(), created_at=None)


def incident_in_sidebar(app, account_id):
    with storage.session(app) as session:
        [shown] = gather_panels(app, session, get_account(account_id), TICKET)["breaking_news"]["data"]["incidents"]
    return shown


def test_the_sidebar_gets_paragraphs_lists_and_safe_links(app, news, account_id):
    news.create(title="Streams fail", body=("First paragraph with [the status page](https://status.example.com).\n\n"
                                            "- Replays work\n- Refunds are automatic\n\n"
                                            "<b>Not markup</b> and [bad](javascript:alert(1))"))
    blocks = incident_in_sidebar(app, account_id)["text"]
    assert [block["type"] for block in blocks] == ["p", "ul", "p"]
    assert blocks[0]["children"][1] == {"type": "link", "text": "the status page",
                                        "href": "https://status.example.com"}
    assert [item[0]["text"] for item in blocks[1]["items"]] == ["Replays work", "Refunds are automatic"]
    assert blocks[2]["children"] == [{"type": "text", "text": "<b>Not markup</b> and bad"}]  # text, no link


@pytest.mark.hook("sidebar_module")
def test_the_plugin_serves_its_sidebar_module(client):
    answer = client.get("/sidebar/ui/plugins/breaking_news/panel.js")
    assert answer.status_code == 200
    script = answer.get_data(as_text=True)
    assert 'rel: "noopener noreferrer"' in script and 'target: "_blank"' in script
    assert "innerHTML" not in script
