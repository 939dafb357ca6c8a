"""Fixtures for the breaking-news tests: an admin client for incidents, readers of the public documents."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest
import sqlalchemy as sa

from app.db import storage
from app.models import InboundEvent, WorkItem

HELP_CENTER = "https://help.acme.example"


@pytest.fixture
def app_config(app_config: dict[str, Any]) -> dict[str, Any]:
    # This plugin alone: what other plugins do with the same events is their tests' business.
    app_config["plugins"] = ["breaking_news"]
    app_config["plugin_settings"] = {"breaking_news": {"allowed_origins": [HELP_CENTER]}}
    return app_config


class News:
    """Drives the admin API the way an admin's tools would, and reads what the public sees."""

    def __init__(self, client: Any, headers: dict[str, str]) -> None:
        self.client = client
        self.headers = headers

    def create(self, **fields: Any) -> dict[str, Any]:
        body = {"title": "Live streams fail to start", "body": "We are looking into it.", **fields}
        for name in ("starts_at", "ends_at"):
            if isinstance(body.get(name), datetime):
                body[name] = body[name].isoformat()
        answer = self.client.post("/admin/api/news/incidents", json=body, headers=self.headers)
        assert answer.status_code == 201, answer.get_json()
        return answer.get_json()["incident"]  # type: ignore[no-any-return]

    def patch(self, incident_id: int, **fields: Any) -> Any:
        return self.client.patch(f"/admin/api/news/incidents/{incident_id}", json=fields,
                                 headers=self.headers)

    def update(self, incident_id: int, status: str, body: str = "", **fields: Any) -> Any:
        return self.client.post(f"/admin/api/news/incidents/{incident_id}/updates",
                                json={"status": status, "body": body, **fields}, headers=self.headers)

    def resolve(self, incident_id: int, **fields: Any) -> Any:
        return self.client.post(f"/admin/api/news/incidents/{incident_id}/resolve", json=fields,
                                headers=self.headers)

    def show(self, incident_id: int) -> dict[str, Any]:
        answer = self.client.get(f"/admin/api/news/incidents/{incident_id}", headers=self.headers)
        assert answer.status_code == 200
        return answer.get_json()  # type: ignore[no-any-return]

    def active(self, query: str = "", **headers: str) -> Any:
        return self.client.get(f"/news/active.json{query}", headers=headers)

    def shown(self, query: str = "") -> list[dict[str, Any]]:
        answer = self.active(query)
        assert answer.status_code == 200
        return answer.get_json()["incidents"]  # type: ignore[no-any-return]


@pytest.fixture
def news(client: Any, admin_headers: dict[str, str]) -> News:
    return News(client, admin_headers)


def work_items(app: Any, kind: str | None = None) -> list[WorkItem]:
    with storage.session(app) as session:
        query = sa.select(WorkItem).order_by(WorkItem.id)
        if kind:
            query = query.where(WorkItem.kind == kind)
        return list(session.scalars(query))


def emitted(app: Any, prefix: str = "breaking_news.") -> list[tuple[str, dict[str, Any]]]:
    with storage.session(app) as session:
        rows = session.scalars(sa.select(InboundEvent).where(InboundEvent.event_type.startswith(prefix))
                               .order_by(InboundEvent.id))
        return [(row.event_type, row.payload["data"]) for row in rows]
