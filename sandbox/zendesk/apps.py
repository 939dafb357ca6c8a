"""Zendesk apps: uploads, installations, the sidebar app's URL and its RS256-signed JWTs."""

from __future__ import annotations

import io
import json
import re
import uuid
import zipfile
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from .base import StateBase
from .errors import record_invalid, record_not_found

SETTING = re.compile(r"\{\{\s*setting\.(\w+)\s*\}\}")


class AppsMixin(StateBase):
    """The Apps API subset an install command needs, and the sidebar hosting data."""

    _private_key: rsa.RSAPrivateKey | None = None
    app_jobs: dict[str, dict[str, Any]]

    # -- keys -----------------------------------------------------------------------------------------
    def private_key(self) -> rsa.RSAPrivateKey:
        """The account's RSA key, generated on first use (one key serves every app)."""
        with self.lock:
            if self._private_key is None:
                self._private_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
            return self._private_key

    def public_key_pem(self) -> str:
        """PEM of the public key, as `GET /api/v2/apps/{app_id}/public_key.pem` serves it."""
        key = self.private_key().public_key()
        return key.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        ).decode("ascii")

    # -- apps and installations -----------------------------------------------------------------------
    def configure_sidebar_app(
        self,
        url: str,
        *,
        signed_urls: bool = True,
        name: str = "Deskmate",
        settings: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Register (or reconfigure) a ticket-sidebar app and its installation; returns the installation."""
        with self.lock:
            app = next((a for a in self.apps.values() if a["name"] == name), None)
            if app is None:
                app = self._new_app(
                    name,
                    {
                        "name": name,
                        "signedUrls": signed_urls,
                        "location": {"support": {"ticket_sidebar": {"url": url}}},
                    },
                )
            app["sidebar_url"] = url
            app["signed_urls"] = signed_urls
            installation = next((i for i in self.installations.values() if i["app_id"] == app["id"]), None)
            if installation is None:
                installation = self.install_app(app["id"], settings or {"name": name})
            elif settings:
                installation["settings"].update(settings)
            return installation

    def _new_app(self, name: str, manifest: dict[str, Any], short_description: str = "") -> dict[str, Any]:
        app_id = self.ids.next("apps")
        location = ((manifest.get("location") or {}).get("support") or {}).get("ticket_sidebar")
        url = location.get("url") if isinstance(location, dict) else location
        app = {
            "id": app_id,
            "name": name,
            "short_description": short_description,
            "version": manifest.get("version", "1.0.0"),
            "framework_version": manifest.get("frameworkVersion"),
            "signed_urls": bool(manifest.get("signedUrls")),
            "sidebar_url": url,
            "parameters": manifest.get("parameters") or [],
            "created_at": self.now_iso(),
            "updated_at": self.now_iso(),
            "owner_id": self.account_id,
            "visibility": "private",
        }
        self.apps[app_id] = app
        return app

    def upload_app_package(self, data: bytes) -> int:
        """Keep an uploaded app zip; returns the upload id."""
        with self.lock:
            upload_id = self.ids.next("uploads")
            self.uploads[upload_id] = {"id": upload_id, "data": data}
            return upload_id

    def create_app_from_upload(
        self, name: str, upload_id: Any, short_description: str = "", app_id: int | None = None
    ) -> dict[str, Any]:
        """Build (or update) an app from an uploaded zip; returns the app job status record."""
        with self.lock:
            upload = self.uploads.get(int(upload_id)) if str(upload_id).isdigit() else None
            if upload is None:
                raise record_invalid("upload_id", "Upload: is invalid")
            job: dict[str, Any] = {
                "id": uuid.uuid4().hex,
                "status": "completed",
                "message": None,
                "total": 1,
                "progress": 1,
                "app_id": None,
            }
            try:
                manifest = read_manifest(upload["data"])
            except ValueError as exc:
                job.update(status="failed", message=str(exc), progress=0)
            else:
                if app_id is None:
                    app = self._new_app(name or manifest.get("name", "App"), manifest, short_description)
                else:
                    app = self._get(self.apps, app_id)
                    fresh = self._new_app(app["name"], manifest, short_description)
                    del self.apps[fresh["id"]]
                    app.update({k: v for k, v in fresh.items() if k not in ("id", "name", "created_at")})
                job["app_id"] = app["id"]
            self.app_jobs[job["id"]] = job
            return job

    def install_app(
        self, app_id: Any, settings: dict[str, Any] | None = None, enabled: bool = True
    ) -> dict[str, Any]:
        """Install an app in Support; returns the installation record."""
        with self.lock:
            app = self._get(self.apps, app_id)
            installation_id = self.ids.next("installations")
            stamp = self.now_iso()
            installation = {
                "id": installation_id,
                "app_id": app["id"],
                "product": "support",
                "settings": {"name": app["name"], **(settings or {})},
                "enabled": enabled,
                "created_at": stamp,
                "updated_at": stamp,
                "settings_objects": [],
                "paid": False,
                "collapsible": True,
                "plan": None,
                "recurring_price": None,
                "has_unpaid_subscription": False,
            }
            self.installations[installation_id] = installation
            return installation

    def sidebar_installation(self) -> tuple[dict[str, Any], dict[str, Any]] | None:
        """The newest enabled installation whose app has a ticket-sidebar location."""
        with self.lock:
            for installation in sorted(self.installations.values(), key=lambda i: -i["id"]):
                app = self.apps.get(installation["app_id"])
                if installation["enabled"] and app and app.get("sidebar_url"):
                    return app, installation
        return None

    def sidebar_url(self, app: dict[str, Any], installation: dict[str, Any]) -> str:
        """The app's URL with `{{setting.x}}` placeholders filled from the installation."""
        settings = installation["settings"]
        return SETTING.sub(lambda m: str(settings.get(m.group(1), "")), str(app["sidebar_url"]))

    def sidebar_token(
        self, installation: dict[str, Any], ticket_id: int, user_id: int, lifetime: int = 300
    ) -> str:
        """The RS256 JWT Zendesk posts to a signed-URL app as form field `token`."""
        now = int(self.now())
        user = self.users.get(user_id) or {}
        claims = {
            "iss": f"{self.subdomain}.zendesk.com",
            "aud": f"https://{self.subdomain}.zendesk.com/api/v2/apps/installations/{installation['id']}.json",
            "iat": now,
            "exp": now + lifetime,
            "jti": uuid.uuid4().hex,
            "sub": str(user_id),
            "context": {
                "product": "support",
                "location": "ticket_sidebar",
                "ticket_id": ticket_id,
                "user_id": user_id,
                "user_role": user.get("role"),
                "account_id": self.account_id,
                "subdomain": self.subdomain,
                "installation_id": installation["id"],
                "app_id": installation["app_id"],
            },
        }
        return jwt.encode(claims, self.private_key(), algorithm="RS256")

    def get_installation(self, installation_id: Any) -> dict[str, Any]:
        """An installation by id."""
        with self.lock:
            if not str(installation_id).isdigit() or int(installation_id) not in self.installations:
                raise record_not_found()
            return self.installations[int(installation_id)]


def read_manifest(data: bytes) -> dict[str, Any]:
    """Read `manifest.json` from an app zip (at the root or in one top folder)."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile:
        raise ValueError("The uploaded file is not a zip archive") from None
    names = [n for n in archive.namelist() if n.rsplit("/", 1)[-1] == "manifest.json"]
    if not names:
        raise ValueError("manifest.json is missing")
    try:
        manifest = json.loads(archive.read(min(names, key=len)))
    except ValueError:
        raise ValueError("manifest.json is not valid JSON") from None
    if not isinstance(manifest, dict):
        raise ValueError("manifest.json must hold an object")
    return manifest
