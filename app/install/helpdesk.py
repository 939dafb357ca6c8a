"""``flask zendesk install``: what Deskmate needs in a helpdesk account, created or updated, never twice.

Each step looks first and changes only what differs, so a second run reports ``unchanged`` everywhere:

* the tier groups (``Tier 1``, ``Tier 2`` by default);
* the partner-tier organization field and the triggers of ``requirements.json`` (the same objects that
  installing the app creates natively; created here for an install without the app);
* the event-subscribed webhook to ``<service URL>/webhooks/zendesk``, whose signing secret is stored in the
  account (webhooks are refused until it is);
* with ``--with-app``: the app package uploaded (again only when its version changed) and installed;
* every installation of the Deskmate app registered as trusted for signed sidebar loads, with its public key.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import requests
from flask import Flask

from app.accounts import AccountView, account_secrets, upsert_account
from app.clock import get_clock
from app.install.package import build
from app.ratelimit import BudgetExhausted
from app.sidebar.keys import PublicKeyUnavailable, fetch_public_key, register_installation, store_public_key
from app.zendesk import HelpdeskError, Zendesk, zendesk_clients

APP_NAME = "Deskmate"
DEFAULT_GROUPS = ("Tier 1", "Tier 2")
PREMIUM_PARTNER_TAG = "premium_partner"  # the tag the default routing rules look for on an organization


@dataclass(frozen=True)
class Step:
    """What one install step did: ``created``, ``updated``, ``unchanged``, ``stored`` or ``skipped``."""

    what: str
    name: str
    action: str
    detail: str = ""

    def __str__(self) -> str:
        return f"{self.what} {self.name}: {self.action}" + (f" ({self.detail})" if self.detail else "")

    @property
    def changed(self) -> bool:
        return self.action in ("created", "updated", "stored")


class InstallError(Exception):
    """The install cannot go on; the message says what to fix."""


def install(app: Flask, account: AccountView, *, service_url: str, groups: tuple[str, ...] = DEFAULT_GROUPS,
            with_app: bool = False, job_timeout: float = 60.0) -> list[Step]:
    """Run every step against the account's helpdesk and return what each did.

    Raises:
        InstallError: a step was refused (bad credentials, an app build that failed...).
        app.install.package.PackageRefused: ``with_app`` and the package breaks a rule.
    """
    client = zendesk_clients.for_account(account, app)
    service_url = service_url.rstrip("/")
    package = build(service_url)
    from app.install.package import read_zip

    requirements = json.loads(read_zip(package.data)["requirements.json"])
    steps: list[Step] = []
    try:
        steps += [_group(client, name) for name in groups]
        fields = requirements.get("organization_fields", {}).values()
        steps += [_organization_field(client, field) for field in fields]
        steps += [_trigger(client, trigger) for trigger in requirements.get("triggers", {}).values()]
        for webhook in requirements.get("webhooks", {}).values():
            steps += _webhook(app, client, account, webhook)
        if with_app:
            steps += _app(client, package.data, package.version, service_url, job_timeout)
        steps += _trust_installations(app, client, account)
    except HelpdeskError as exc:
        raise InstallError(f"the helpdesk refused a step: {exc}") from exc
    except (requests.RequestException, BudgetExhausted) as exc:
        raise InstallError(f"the helpdesk could not be reached: {type(exc).__name__}: {exc}") from exc
    return steps


def _pages(client: Zendesk, path: str, key: str) -> Iterator[dict[str, Any]]:
    """Every record of a list endpoint, following cursor pages (or offset pages)."""
    next_path: str | None = path + ("&" if "?" in path else "?") + "page[size]=100"
    while next_path:
        page = client.call("GET", next_path)
        yield from page.get(key) or []
        link = (page.get("links") or {}).get("next") if (page.get("meta") or {}).get("has_more") else None
        link = link or page.get("next_page")
        next_path = link.split("/api/v2", 1)[1] if link and "/api/v2" in link else None


def _group(client: Zendesk, name: str) -> Step:
    groups = _pages(client, "/groups.json", "groups")
    existing = next((group for group in groups if group["name"].lower() == name.lower()), None)
    if existing is not None:
        return Step("group", name, "unchanged", f"id {existing['id']}")
    created = client.call("POST", "/groups.json", json={"group": {"name": name}})["group"]
    return Step("group", name, "created", f"id {created['id']}")


def _organization_field(client: Zendesk, field: dict[str, Any]) -> Step:
    try:
        fields = list(_pages(client, "/organization_fields.json", "organization_fields"))
    except HelpdeskError as exc:
        if exc.status == 404:
            # Nothing breaks without it: routing reads the organization's tag, which the field only sets.
            return Step("organization field", field["key"], "skipped",
                        f"this helpdesk has no custom organization fields; give each premium partner's "
                        f"organization the tag {PREMIUM_PARTNER_TAG} instead (Admin Center > Organizations)")
        raise
    if any(existing.get("key") == field["key"] for existing in fields):
        return Step("organization field", field["key"], "unchanged")
    created = client.call("POST", "/organization_fields.json", json={"organization_field": field})
    return Step("organization field", field["key"], "created", f"id {created['organization_field']['id']}")


def _trigger(client: Zendesk, trigger: dict[str, Any]) -> Step:
    triggers = _pages(client, "/triggers.json", "triggers")
    existing = next((t for t in triggers if t["title"] == trigger["title"]), None)
    if existing is None:
        created = client.call("POST", "/triggers.json", json={"trigger": trigger})["trigger"]
        return Step("trigger", trigger["title"], "created", f"id {created['id']}")
    wanted = {"conditions": {"all": trigger["conditions"].get("all") or [],
                             "any": trigger["conditions"].get("any") or []},
              "actions": trigger["actions"], "active": trigger.get("active", True)}
    current = {"conditions": {"all": existing["conditions"].get("all") or [],
                              "any": existing["conditions"].get("any") or []},
               "actions": existing["actions"], "active": existing.get("active", True)}
    if current == wanted:
        return Step("trigger", trigger["title"], "unchanged", f"id {existing['id']}")
    client.call("PUT", f"/triggers/{existing['id']}.json", json={"trigger": wanted})
    return Step("trigger", trigger["title"], "updated", f"id {existing['id']}")


_WEBHOOK_FIELDS = ("name", "status", "endpoint", "http_method", "request_format", "subscriptions")


def _webhook(app: Flask, client: Zendesk, account: AccountView, webhook: dict[str, Any]) -> list[Step]:
    hooks = list(_pages(client, "/webhooks", "webhooks"))
    existing = next((h for h in hooks if h.get("endpoint") == webhook["endpoint"]), None) or next(
        (h for h in hooks if h.get("name") == webhook["name"]), None)
    wanted = {name: webhook[name] for name in _WEBHOOK_FIELDS if name in webhook}
    if existing is None:
        hook = client.call("POST", "/webhooks", json={"webhook": {**webhook}})["webhook"]
        step = Step("webhook", webhook["name"], "created", f"{hook['id']} -> {webhook['endpoint']}")
    else:
        hook = existing
        current = {name: existing.get(name) for name in wanted}
        current["subscriptions"] = sorted(current.get("subscriptions") or [])
        if current == {**wanted, "subscriptions": sorted(wanted.get("subscriptions") or [])}:
            step = Step("webhook", webhook["name"], "unchanged", f"{hook['id']} -> {webhook['endpoint']}")
        else:
            client.call("PATCH", f"/webhooks/{hook['id']}", json={"webhook": wanted})
            step = Step("webhook", webhook["name"], "updated", f"{hook['id']} -> {webhook['endpoint']}")
    secret = client.call("GET", f"/webhooks/{hook['id']}/signing_secret")["signing_secret"]["secret"]
    steps = [step]
    if account_secrets(app, account.id).webhook_secret == secret:
        steps.append(Step("webhook signing secret", webhook["name"], "unchanged", "stored in the account"))
    else:
        upsert_account(app, subdomain=account.subdomain, now=get_clock(app).now(), webhook_secret=secret)
        steps.append(Step("webhook signing secret", webhook["name"], "stored", "webhooks are accepted from now on"))
    settings = app.config["DESKMATE"]
    configured = settings.zendesk_webhook_secret
    if settings.zendesk_subdomain == account.subdomain and configured is not None and \
            configured.get_secret_value() != secret:
        # Every process start writes the environment's account to the database (sync_default_account).
        steps.append(Step("webhook signing secret", webhook["name"], "attention",
                          "DESKMATE_ZENDESK_WEBHOOK_SECRET holds another secret and will replace the stored "
                          "one when Deskmate restarts: unset it, or set it to this webhook's secret"))
    return steps


def _app(client: Zendesk, data: bytes, version: str, service_url: str, job_timeout: float) -> list[Step]:
    owned = client.call("GET", "/apps/owned.json").get("apps") or []
    existing = next((a for a in owned if a.get("name") == APP_NAME), None)
    steps = []
    if existing is not None and str(existing.get("version")) == version:
        app_id = int(existing["id"])
        steps.append(Step("app", APP_NAME, "unchanged", f"id {app_id}, version {version}"))
    else:
        response = client.session.request("POST", f"{client.api_root}/apps/uploads.json",
                                          files={"uploaded_data": ("deskmate.zip", data, "application/zip")})
        if response.status_code >= 400:
            raise InstallError(f"the app upload was refused: {response.status_code} {response.text[:300]}")
        upload_id = response.json()["id"]
        if existing is None:
            job = client.call("POST", "/apps.json", json={"name": APP_NAME, "upload_id": upload_id,
                                                          "short_description": "Deskmate ticket sidebar"})
        else:
            job = client.call("PUT", f"/apps/{existing['id']}.json", json={"upload_id": upload_id})
        app_id = _wait_for_app_job(client, job["job_id"], job_timeout)
        steps.append(Step("app", APP_NAME, "created" if existing is None else "updated",
                          f"id {app_id}, version {version}"))
    installations = client.call("GET", "/apps/installations.json").get("installations") or []
    installation = next((i for i in installations if int(i.get("app_id") or 0) == app_id), None)
    if installation is None:
        installation = client.call("POST", "/apps/installations.json", json={
            "app_id": app_id, "settings": {"name": APP_NAME, "service_url": service_url}})
        steps.append(Step("app installation", APP_NAME, "created", f"id {installation['id']}"))
    else:
        steps.append(Step("app installation", APP_NAME, "unchanged", f"id {installation['id']}"))
        configured = (installation.get("settings") or {}).get("service_url")
        if configured and configured.rstrip("/") != service_url:
            steps.append(Step("app installation", APP_NAME, "attention",
                              f"its service_url setting is {configured}; change it in the helpdesk's app settings"))
    return steps


def _wait_for_app_job(client: Zendesk, job_id: str, timeout: float) -> int:
    deadline = time.monotonic() + timeout
    while True:
        job = client.call("GET", f"/apps/job_statuses/{job_id}.json")
        if job.get("status") == "completed" and job.get("app_id"):
            return int(job["app_id"])
        if job.get("status") == "failed":
            raise InstallError(f"the helpdesk could not build the app: {job.get('message')}")
        if time.monotonic() > deadline:
            raise InstallError(f"the app build job {job_id} did not finish in {timeout:.0f} s")
        time.sleep(0.5)  # a CLI waiting for the helpdesk's build job; nothing else to do meanwhile


def _trust_installations(app: Flask, client: Zendesk, account: AccountView) -> list[Step]:
    """Register every installation of the Deskmate app (however it was installed) for signed loads."""
    owned = {int(a["id"]) for a in client.call("GET", "/apps/owned.json").get("apps") or []
             if a.get("name") == APP_NAME}
    installations = [i for i in client.call("GET", "/apps/installations.json").get("installations") or []
                     if int(i.get("app_id") or 0) in owned]
    steps = []
    now = get_clock(app).now()
    for installation in installations:
        app_id, installation_id = int(installation["app_id"]), int(installation["id"])
        result = register_installation(app, account_id=account.id, installation_id=installation_id,
                                       app_id=app_id, now=now)
        detail = f"installation {installation_id} of app {app_id}"
        if result["created"] or result["changed"]:
            try:
                pem = fetch_public_key(app, account, app_id)
                store_public_key(app, account.id, installation_id, pem, now)
                detail += ", public key fetched"
            except PublicKeyUnavailable as exc:
                detail += f", public key not fetched yet ({exc})"
        steps.append(Step("sidebar", "signed loads", "created" if result["created"] else
                          "updated" if result["changed"] else "unchanged", detail))
    if not steps:
        steps.append(Step("sidebar", "signed loads", "skipped",
                          "the Deskmate app is not installed yet (run again with --with-app, or after "
                          "installing it)"))
    return steps
