"""The Web API methods themselves: chat, conversations, users, auth and the external file upload flow."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from typing import Any

from flask import request

from .state import SlackError, SlackState

MAX_BLOCKS = 50
MAX_TEXT = 40_000


def _check_content(args: dict[str, Any], required: bool = True) -> None:
    blocks = args.get("blocks")
    if blocks is not None:
        if not isinstance(blocks, list) or len(blocks) > MAX_BLOCKS:
            raise SlackError("invalid_blocks")
        if any(not isinstance(b, dict) or "type" not in b for b in blocks):
            raise SlackError("invalid_blocks")
    if required and not (args.get("text") or blocks or args.get("attachments")):
        raise SlackError("no_text")
    if len(str(args.get("text") or "")) > MAX_TEXT:
        raise SlackError("msg_too_long")
    metadata = args.get("metadata")
    if metadata is not None and (not isinstance(metadata, dict) or "event_type" not in metadata):
        raise SlackError("invalid_metadata_format")


def _public(message: dict[str, Any], with_metadata: bool = True) -> dict[str, Any]:
    out = {k: v for k, v in message.items() if not k.startswith("_")}
    if not with_metadata:
        out.pop("metadata", None)
    return out


def _thread_parent(state: SlackState, channel_id: str, thread_ts: str) -> dict[str, Any]:
    try:
        return state.find_message(channel_id, thread_ts)
    except SlackError:
        raise SlackError("thread_not_found") from None


def auth_test(state: SlackState, args: dict[str, Any]) -> dict[str, Any]:
    """Who the token belongs to."""
    return {
        "url": f"https://{state.team_domain}.slack.com/",
        "team": "Deskmate Sandbox",
        "user": "deskmate",
        "team_id": state.team_id,
        "user_id": state.bot_user_id,
        "bot_id": state.bot_id,
        "is_enterprise_install": False,
    }


def post_message(state: SlackState, args: dict[str, Any]) -> dict[str, Any]:
    """chat.postMessage: record the message (thread replies update their parent)."""
    channel = state.channel(args.get("channel"))
    _check_content(args)
    with state.lock:
        thread_ts = args.get("thread_ts") or None
        parent = _thread_parent(state, channel["id"], thread_ts) if thread_ts else None
        if parent is not None and parent.get("thread_ts") not in (None, parent["ts"]):
            raise SlackError("thread_not_found")  # replies to replies are not threads
        state.check_post_rate(channel["id"])
        ts = state.next_ts()
        message: dict[str, Any] = {
            "type": "message",
            "subtype": "bot_message" if args.get("username") else None,
            "text": args.get("text") or "",
            "user": state.bot_user_id,
            "bot_id": state.bot_id,
            "app_id": state.app_id,
            "ts": ts,
            "team": state.team_id,
            "blocks": args.get("blocks") or [],
            "attachments": args.get("attachments") or None,
            "metadata": args.get("metadata"),
            "username": args.get("username"),
            "icon_emoji": args.get("icon_emoji"),
            "_history": [],
        }
        message = {k: v for k, v in message.items() if v is not None}
        if parent is not None:
            message["thread_ts"] = parent["ts"]
            parent["thread_ts"] = parent["ts"]
            parent["reply_count"] = parent.get("reply_count", 0) + 1
            parent["reply_users"] = sorted(set(parent.get("reply_users", [])) | {state.bot_user_id})
            parent["reply_users_count"] = len(parent["reply_users"])
            parent["latest_reply"] = ts
            if str(args.get("reply_broadcast")).lower() == "true":
                message["subtype"] = "thread_broadcast"
        state.messages[channel["id"]].append(message)
        return {"channel": channel["id"], "ts": ts, "message": _public(message)}


def update_message(state: SlackState, args: dict[str, Any]) -> dict[str, Any]:
    """chat.update: replace text/blocks/metadata, keeping every earlier version for the channel view."""
    channel = state.channel(args.get("channel"))
    _check_content(args, required=False)
    with state.lock:
        message = state.find_message(channel["id"], args.get("ts"))
        if message.get("bot_id") != state.bot_id:
            raise SlackError("cant_update_message")
        message["_history"].append({k: v for k, v in message.items() if k in ("text", "blocks", "metadata")})
        for key in ("text", "blocks", "attachments", "metadata"):
            if key in args:
                message[key] = args[key]
        message["edited"] = {"user": state.bot_user_id, "ts": state.next_ts()}
        return {
            "channel": channel["id"],
            "ts": message["ts"],
            "text": message.get("text", ""),
            "message": _public(message),
        }


def get_permalink(state: SlackState, args: dict[str, Any]) -> dict[str, Any]:
    """chat.getPermalink: a link that opens the message in the sandbox channel view."""
    channel = state.channel(args.get("channel"))
    message = state.find_message(channel["id"], args.get("message_ts"))
    base = request.host_url.rstrip("/")
    link = f"{base}/archives/{channel['id']}/p{message['ts'].replace('.', '')}"
    if message.get("thread_ts") and message["thread_ts"] != message["ts"]:
        link += f"?thread_ts={message['thread_ts']}&cid={channel['id']}"
    return {"channel": channel["id"], "permalink": link}


def post_ephemeral(state: SlackState, args: dict[str, Any]) -> dict[str, Any]:
    """chat.postEphemeral: a message only one member sees."""
    channel = state.channel(args.get("channel"))
    if args.get("user") not in state.users:
        raise SlackError("user_not_in_channel")
    _check_content(args)
    with state.lock:
        ts = state.next_ts()
        state.ephemeral.append(
            {
                "channel": channel["id"],
                "user": args["user"],
                "ts": ts,
                "text": args.get("text") or "",
                "blocks": args.get("blocks") or [],
                "thread_ts": args.get("thread_ts"),
            }
        )
        return {"message_ts": ts}


def history(state: SlackState, args: dict[str, Any]) -> dict[str, Any]:
    """conversations.history: newest first; message metadata only with `include_all_metadata`."""
    channel = state.channel(args.get("channel"))
    limit = max(1, min(999, int(args.get("limit") or 100)))
    with_metadata = str(args.get("include_all_metadata", "")).lower() in ("true", "1")
    oldest = float(args.get("oldest") or 0)
    latest = float(args["latest"]) if args.get("latest") else None
    with state.lock:
        top = [
            m
            for m in state.messages[channel["id"]]
            if m.get("thread_ts") in (None, m["ts"]) or m.get("subtype") == "thread_broadcast"
        ]
        top = [m for m in top if float(m["ts"]) > oldest and (latest is None or float(m["ts"]) < latest)]
        top.sort(key=lambda m: float(m["ts"]), reverse=True)
        start = int(args.get("cursor") or 0) if str(args.get("cursor") or "0").isdigit() else 0
        page = top[start : start + limit]
        more = start + limit < len(top)
        return {
            "messages": [_public(m, with_metadata) for m in page],
            "has_more": more,
            "pin_count": 0,
            "response_metadata": {"next_cursor": str(start + limit) if more else ""},
        }


def replies(state: SlackState, args: dict[str, Any]) -> dict[str, Any]:
    """conversations.replies: a thread's parent then its replies."""
    channel = state.channel(args.get("channel"))
    with state.lock:
        parent = state.find_message(channel["id"], args.get("ts"))
        thread = [parent] + [
            m for m in state.messages[channel["id"]] if m.get("thread_ts") == parent["ts"] and m is not parent
        ]
        return {
            "messages": [_public(m) for m in thread],
            "has_more": False,
            "response_metadata": {"next_cursor": ""},
        }


def conversations_list(state: SlackState, args: dict[str, Any]) -> dict[str, Any]:
    """conversations.list."""
    with state.lock:
        return {"channels": list(state.channels.values()), "response_metadata": {"next_cursor": ""}}


def conversations_info(state: SlackState, args: dict[str, Any]) -> dict[str, Any]:
    """conversations.info."""
    return {"channel": state.channel(args.get("channel"))}


def users_info(state: SlackState, args: dict[str, Any]) -> dict[str, Any]:
    """users.info."""
    user = state.users.get(args.get("user") or "")
    if user is None:
        raise SlackError("user_not_found")
    return {"user": user}


def users_lookup_by_email(state: SlackState, args: dict[str, Any]) -> dict[str, Any]:
    """users.lookupByEmail."""
    user = state.user_by_email(str(args.get("email") or ""))
    if user is None:
        raise SlackError("users_not_found")
    return {"user": user}


def users_list(state: SlackState, args: dict[str, Any]) -> dict[str, Any]:
    """users.list."""
    with state.lock:
        return {"members": list(state.users.values()), "response_metadata": {"next_cursor": ""}}


def get_upload_url(state: SlackState, args: dict[str, Any]) -> dict[str, Any]:
    """files.getUploadURLExternal: step 1 of slack-sdk's files_upload_v2."""
    filename, length = args.get("filename"), args.get("length")
    if not filename or not str(length or "").isdigit():
        raise SlackError("invalid_arguments")
    with state.lock:
        state._file_seq += 1
        file_id = f"F{state._file_seq:08d}"
        state.files[file_id] = {
            "id": file_id,
            "name": filename,
            "title": filename,
            "length": int(str(length)),
            "alt_txt": args.get("alt_txt"),
            "data": None,
            "completed": False,
            "created": int(state.clock()),
            "upload_key": uuid.uuid4().hex,
        }
        url = (
            f"{request.host_url.rstrip('/')}/__sandbox/upload/{file_id}/{state.files[file_id]['upload_key']}"
        )
        return {"upload_url": url, "file_id": file_id}


def complete_upload(state: SlackState, args: dict[str, Any]) -> dict[str, Any]:
    """files.completeUploadExternal: step 3; shares the files in a channel as one message."""
    files = args.get("files")
    if isinstance(files, str):
        files = json.loads(files)
    if not isinstance(files, list) or not files:
        raise SlackError("invalid_arguments")
    with state.lock:
        shared = []
        for item in files:
            record = state.files.get(item.get("id", ""))
            if record is None or record["data"] is None:
                raise SlackError("file_not_found")
            record["title"] = item.get("title") or record["title"]
            record["completed"] = True
            shared.append(record)
        views = [_file_view(state, f) for f in shared]
        if args.get("channel_id"):
            channel = state.channel(args["channel_id"])
            for view in views:
                view["channels"] = [channel["id"]]
            message_args = {
                "channel": channel["id"],
                "text": args.get("initial_comment") or "",
                "thread_ts": args.get("thread_ts"),
            }
            posted = post_message(
                state, {**message_args, "blocks": None, "text": message_args["text"] or " "}
            )
            message = state.find_message(channel["id"], posted["ts"])
            message["files"] = views
            message["upload"] = True
        return {"files": views}


def _file_view(state: SlackState, record: dict[str, Any]) -> dict[str, Any]:
    name = record["name"]
    mimetype = "image/png" if name.lower().endswith(".png") else "application/octet-stream"
    base = request.host_url.rstrip("/")
    return {
        "id": record["id"],
        "created": record["created"],
        "timestamp": record["created"],
        "name": name,
        "title": record["title"],
        "mimetype": mimetype,
        "filetype": name.rsplit(".", 1)[-1].lower(),
        "user": state.bot_user_id,
        "size": len(record["data"] or b""),
        "url_private": f"{base}/__sandbox/files/{record['id']}",
        "alt_txt": record.get("alt_txt"),
        "permalink": f"{base}/__sandbox/files/{record['id']}",
        "channels": [],
        "is_public": True,
    }


METHODS: dict[str, Callable[[SlackState, dict[str, Any]], dict[str, Any]]] = {
    "auth.test": auth_test,
    "chat.postMessage": post_message,
    "chat.update": update_message,
    "chat.getPermalink": get_permalink,
    "chat.postEphemeral": post_ephemeral,
    "conversations.history": history,
    "conversations.replies": replies,
    "conversations.list": conversations_list,
    "conversations.info": conversations_info,
    "users.info": users_info,
    "users.lookupByEmail": users_lookup_by_email,
    "users.list": users_list,
    "files.getUploadURLExternal": get_upload_url,
    "files.completeUploadExternal": complete_upload,
}
