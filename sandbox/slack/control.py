"""`/__sandbox/...` for the Slack emulator: recorded messages, channel view, interactions, faults."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, current_app, jsonify, redirect, render_template, request, url_for

from .interact import apply_response_url, send_interaction
from .render import mrkdwn, render_block, thread_view, when
from .state import SlackError, SlackState

bp = Blueprint("slack_control", __name__, template_folder="templates")


def _state() -> SlackState:
    state: SlackState = current_app.extensions["slack"]
    return state


def _json() -> dict[str, Any]:
    data = request.get_json(silent=True)
    return data if isinstance(data, dict) else {}


def _signature(state: SlackState, channel_id: str | None) -> str:
    messages = state.all_messages(channel_id)
    return f"{len(messages)}:{sum(len(m.get('_history', [])) for m in messages)}"


@bp.errorhandler(SlackError)
def slack_error(exc: SlackError) -> Response:
    response = jsonify({"ok": False, "error": exc.code})
    response.status_code = exc.status if exc.status != 200 else 400
    return response


@bp.get("/__sandbox/messages")
def messages() -> Any:
    """Every recorded message (with `_history` of earlier versions); `channel` filters by id or name."""
    state = _state()
    channel_id = state.channel(request.args["channel"])["id"] if request.args.get("channel") else None
    if request.args.get("count_only"):
        return jsonify(
            {"count": len(state.all_messages(channel_id)), "signature": _signature(state, channel_id)}
        )
    records = [{**m, "history": m.get("_history", [])} for m in state.all_messages(channel_id)]
    for record in records:
        record.pop("_history", None)
    with state.lock:
        ephemeral = [e for e in state.ephemeral if not channel_id or e["channel"] == channel_id]
    return jsonify({"messages": records, "ephemeral": ephemeral, "count": len(records)})


@bp.get("/__sandbox/channel/<name>")
def channel_view(name: str) -> Any:
    """A readable page of a channel: text, blocks, threads, edits, files; buttons send interactions."""
    state = _state()
    channel = state.channel(name)
    with state.lock:
        channels = list(state.channels.values())
        users = dict(state.users)
    threads = thread_view(state, channel["id"])
    people = [u for u in users.values() if not u["is_bot"]]
    return render_template(
        "slack_channel.html",
        channel=channel,
        channels=channels,
        threads=threads,
        users=users,
        people=people,
        count=len(state.all_messages(channel["id"])),
        signature=_signature(state, channel["id"]),
        when=when,
        mrkdwn=lambda text: mrkdwn(text, state),
        render_block=lambda block: render_block(block, state),
    )


@bp.get("/__sandbox/")
@bp.get("/")
def index() -> Any:
    """Open the first channel."""
    return redirect(url_for("slack_control.channel_view", name="premium-partners"))  # Deskmate's SLA channel


@bp.get("/archives/<channel_id>/<stamp>")
def permalink(channel_id: str, stamp: str) -> Any:
    """Where chat.getPermalink links point: the message in the channel view."""
    channel = _state().channel(channel_id)
    return redirect(url_for("slack_control.channel_view", name=channel["name"]) + f"#{stamp}")


@bp.post("/__sandbox/upload/<file_id>/<key>")
def upload(file_id: str, key: str) -> Any:
    """The upload URL of files.getUploadURLExternal: keeps the raw bytes (or a multipart `file`)."""
    state = _state()
    with state.lock:
        record = state.files.get(file_id)
        if record is None or record["upload_key"] != key:
            return Response("invalid upload url", status=404)
        if request.mimetype == "multipart/form-data":
            upload_file = request.files.get("file") or request.files.get("filename")
            record["data"] = upload_file.read() if upload_file is not None else b""
        else:
            # slack-sdk posts raw bytes, which urllib labels as a form; never let the form parser eat them.
            record["data"] = request.get_data(parse_form_data=False)
    return Response(f"OK - {len(record['data'])}", mimetype="text/plain")


@bp.get("/__sandbox/files/<file_id>")
def download(file_id: str) -> Any:
    """The bytes of an uploaded file."""
    state = _state()
    record = state.files.get(file_id)
    if record is None or record["data"] is None:
        return Response("not found", status=404)
    mimetype = "image/png" if record["name"].lower().endswith(".png") else "application/octet-stream"
    return Response(record["data"], mimetype=mimetype)


@bp.post("/__sandbox/interact")
def interact() -> Any:
    """Send a signed `block_actions` click to Deskmate: `{channel, ts, action_id, user, value?, url?}`."""
    state = _state()
    data = _json()
    missing = [k for k in ("channel", "ts", "action_id", "user") if not data.get(k)]
    if missing:
        raise SlackError(f"missing_{missing[0]}", 400)
    record = send_interaction(
        state,
        channel_ref=data["channel"],
        ts=data["ts"],
        action_id=data["action_id"],
        user_ref=data["user"],
        base_url=request.host_url.rstrip("/"),
        url=data.get("url"),
        value=data.get("value"),
    )
    return jsonify(record)


@bp.get("/__sandbox/interactions")
def interactions() -> Any:
    """Every interaction sent so far, with Deskmate's answers."""
    state = _state()
    with state.lock:
        return jsonify({"interactions": list(state.interactions)})


@bp.post("/__sandbox/response_url/<key>")
def response_url(key: str) -> Any:
    """A `response_url` from an interaction payload."""
    apply_response_url(_state(), key, _json())
    return jsonify({"ok": True})


@bp.get("/__sandbox/faults")
def get_faults() -> Any:
    """Current faults."""
    return jsonify(_state().faults.snapshot())


@bp.post("/__sandbox/faults")
def set_faults() -> Any:
    """Inject faults: storm_seconds (429 ratelimited), latency_ms, error_seconds, drop_share."""
    try:
        return jsonify(_state().faults.set_from_json(_json()))
    except (TypeError, ValueError) as exc:
        raise SlackError(f"invalid_fault: {exc}", 400) from None


@bp.delete("/__sandbox/faults")
def clear_faults() -> Any:
    """Remove every fault."""
    _state().faults.clear()
    return jsonify(_state().faults.snapshot())


@bp.get("/__sandbox/stats")
def stats() -> Any:
    """Web API calls per method and per-channel rate limiting."""
    state = _state()
    with state.lock:
        return jsonify(
            {
                "calls": dict(state.calls),
                "api_calls": sum(state.calls.values()),
                "rate_limited": state.rate_limited,
                "messages": sum(len(v) for v in state.messages.values()),
            }
        )


@bp.get("/__sandbox/config")
def get_config() -> Any:
    """Run-time settings."""
    state = _state()
    return jsonify(
        {
            "interactivity_url": state.interactivity_url,
            "post_rate": state.post_rate,
            "post_burst": state.post_burst,
        }
    )


@bp.post("/__sandbox/config")
def set_config() -> Any:
    """Change `interactivity_url`, `post_rate` or `post_burst`."""
    state = _state()
    data = _json()
    with state.lock:
        if "interactivity_url" in data:
            state.interactivity_url = data["interactivity_url"]
        if "post_rate" in data:
            state.post_rate = float(data["post_rate"])
        if "post_burst" in data:
            state.post_burst = int(data["post_burst"])
        state._buckets.clear()
    return get_config()


@bp.post("/__sandbox/reset")
def reset() -> Any:
    """Forget every message, file and interaction (channels and seeded users come back)."""
    state = _state()
    state.reset()
    if _json().get("seed"):
        from ..seed import seed_slack

        seed_slack(state)
    return jsonify({"ok": True})
