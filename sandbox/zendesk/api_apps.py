"""The Apps API subset an install command needs: uploads, apps, job statuses, installations, public key."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, jsonify, request

from .errors import invalid_request, record_not_found
from .web import api_route, base, json_body, state

bp = Blueprint("helpdesk_apps", __name__)


def _created(body: dict[str, Any]) -> Response:
    response = jsonify(body)
    response.status_code = 201
    return response


# -- apps -------------------------------------------------------------------------------------------
@api_route(bp, "/apps/<int:app_id>/public_key.pem")
def app_public_key(app_id: int) -> Any:
    """The key that verifies signed-URL JWTs (anonymous, as in Zendesk)."""
    s = state()
    if app_id not in s.apps:
        raise record_not_found()
    return Response(s.public_key_pem(), mimetype="application/x-pem-file")


@api_route(bp, "/apps/uploads", methods=["POST"])
def upload_app() -> Any:
    """Keep an uploaded app zip (multipart field `uploaded_data`)."""
    upload = request.files.get("uploaded_data")
    if upload is None:
        raise invalid_request("uploaded_data is required", "InvalidParameter")
    return _created({"id": state().upload_app_package(upload.read())})


@api_route(bp, "/apps", methods=["POST"])
def create_app_from_upload() -> Any:
    """Create an app from an upload; answers a job id to poll."""
    data = json_body()
    job = state().create_app_from_upload(
        data.get("name", ""), data.get("upload_id"), data.get("short_description", "")
    )
    response = jsonify({"job_id": job["id"]})
    response.status_code = 202
    return response


@api_route(bp, "/apps/<int:app_id>", methods=["PUT"])
def update_app(app_id: int) -> Any:
    """Replace an app's package with a new upload; answers a job id."""
    data = json_body()
    job = state().create_app_from_upload(
        "", data.get("upload_id"), data.get("short_description", ""), app_id=app_id
    )
    response = jsonify({"job_id": job["id"]})
    response.status_code = 202
    return response


@api_route(bp, "/apps/job_statuses/<job_id>")
def app_job_status(job_id: str) -> Any:
    """Status of an app build job."""
    s = state()
    with s.lock:
        job = s.app_jobs.get(job_id)
        if job is None:
            raise record_not_found()
        return jsonify({**job, "url": f"{base()}/api/v2/apps/job_statuses/{job_id}.json"})


@api_route(bp, "/apps/owned")
def owned_apps() -> Any:
    """Apps the account owns."""
    s = state()
    with s.lock:
        return jsonify({"apps": [dict(a) for a in s.apps.values()]})


@api_route(bp, "/apps/installations")
def list_installations() -> Any:
    """App installations."""
    s = state()
    with s.lock:
        return jsonify({"installations": [dict(i) for i in s.installations.values()]})


@api_route(bp, "/apps/installations", methods=["POST"])
def install_app() -> Any:
    """Install an app (`app_id`, `settings`)."""
    s = state()
    data = json_body()
    if data.get("app_id") is None:
        raise invalid_request("app_id is required", "InvalidParameter")
    installation = s.install_app(data["app_id"], data.get("settings") or {}, bool(data.get("enabled", True)))
    return _created(dict(installation))


@api_route(bp, "/apps/installations/<int:installation_id>")
def show_installation(installation_id: int) -> Any:
    """One installation."""
    return jsonify(dict(state().get_installation(installation_id)))
