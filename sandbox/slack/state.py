"""`SlackState`: an emulated Slack workspace (channels, users, messages, files) guarded by one lock."""

from __future__ import annotations

import math
import threading
import time
from typing import Any

from ..faults import Faults
from ..timeutil import Clock

# The sandbox's published fake credentials (never real ones).
SANDBOX_BOT_TOKEN = "xoxb-sandbox-token"
SANDBOX_SIGNING_SECRET = "sandbox-signing-secret"
DEFAULT_CHANNELS = [
    ("C01SUPPORT", "support"),
    ("C02PREMIUM", "premium-partners"),
    ("C03SLA", "sla-alerts"),
    ("C04INCIDENT", "incidents"),
    ("C05FEATURES", "feature-requests"),
    ("C06NEWS", "breaking-news"),
    ("C07TIER2", "tier-2"),
    ("C08APPROVALS", "billing-approvals"),
]


class SlackError(Exception):
    """A Slack Web API error: `{"ok": false, "error": code}` with an HTTP status (200 unless 429)."""

    def __init__(
        self,
        code: str,
        status: int = 200,
        headers: dict[str, str] | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(code)
        self.code = code
        self.status = status
        self.headers = headers or {}
        self.extra = extra or {}


class ChannelBucket:
    """Token bucket per channel: about one message per second sustained, with a small burst."""

    def __init__(self, rate: float, burst: int, now: float) -> None:
        self.rate = rate
        self.burst = burst
        self.tokens = float(burst)
        self.stamp = now

    def take(self, now: float) -> int:
        """Take a token; return 0 if allowed, else whole seconds until one is available (at least 1)."""
        self.tokens = min(float(self.burst), self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        if self.tokens >= 1:
            self.tokens -= 1
            return 0
        return max(1, math.ceil((1 - self.tokens) / self.rate))


class SlackState:
    """An emulated Slack workspace. Options: bot_token, signing_secret, team_id, team_domain,
    interactivity_url, post_rate (messages/second/channel), post_burst, clock."""

    def __init__(
        self,
        *,
        bot_token: str = SANDBOX_BOT_TOKEN,
        signing_secret: str = SANDBOX_SIGNING_SECRET,
        team_id: str = "T0SANDBOX",
        team_domain: str = "deskmate-sandbox",
        interactivity_url: str | None = None,
        post_rate: float = 1.0,
        post_burst: int = 4,
        clock: Clock | None = None,
    ) -> None:
        self.lock = threading.RLock()
        self.clock = clock or time.time
        self.bot_tokens = {bot_token}
        self.signing_secret = signing_secret
        self.team_id = team_id
        self.team_domain = team_domain
        self.interactivity_url = interactivity_url
        self.post_rate = post_rate
        self.post_burst = post_burst
        self.bot_user_id = "U0DESKMATE"
        self.bot_id = "B0DESKMATE"
        self.app_id = "A0DESKMATE"
        self.faults = Faults(self.clock)
        self.reset()

    def reset(self) -> None:
        """Empty the workspace back to its default channels and the bot user."""
        with self.lock:
            self.channels: dict[str, dict[str, Any]] = {}
            self.users: dict[str, dict[str, Any]] = {}
            self.messages: dict[str, list[dict[str, Any]]] = {}
            self.ephemeral: list[dict[str, Any]] = []
            self.files: dict[str, dict[str, Any]] = {}
            self.interactions: list[dict[str, Any]] = []
            self.response_urls: dict[str, dict[str, Any]] = {}
            self.calls: dict[str, int] = {}
            self.rate_limited = 0
            self._buckets: dict[str, ChannelBucket] = {}
            self._last_ts = 0.0
            self._file_seq = 0
            for channel_id, name in DEFAULT_CHANNELS:
                self.add_channel(name, channel_id)
            self.add_user("deskmate", "Deskmate", None, user_id=self.bot_user_id, is_bot=True)

    # -- directory ------------------------------------------------------------------------------------
    def add_channel(
        self, name: str, channel_id: str | None = None, *, private: bool = False
    ) -> dict[str, Any]:
        """Create a channel (the bot is a member of every channel)."""
        with self.lock:
            channel_id = channel_id or f"C{len(self.channels) + 10:02d}{name.upper().replace('-', '')[:7]}"
            channel = {
                "id": channel_id,
                "name": name,
                "is_channel": not private,
                "is_group": False,
                "is_im": False,
                "is_private": private,
                "is_archived": False,
                "is_member": True,
                "created": int(self.clock()),
                "creator": self.bot_user_id,
                "topic": {"value": "", "creator": "", "last_set": 0},
                "purpose": {"value": f"#{name} (Deskmate sandbox)", "creator": "", "last_set": 0},
                "num_members": 0,
            }
            self.channels[channel_id] = channel
            self.messages.setdefault(channel_id, [])
            return channel

    def add_user(
        self,
        name: str,
        real_name: str,
        email: str | None,
        *,
        user_id: str | None = None,
        is_bot: bool = False,
        tz: str = "Europe/Rome",
    ) -> dict[str, Any]:
        """Create a workspace member."""
        with self.lock:
            user_id = user_id or f"U{len(self.users) + 100:04d}{name.upper().replace('.', '')[:5]}"
            profile = {
                "real_name": real_name,
                "display_name": name,
                "real_name_normalized": real_name,
                "display_name_normalized": name,
                "image_48": "",
                "image_72": "",
                "team": self.team_id,
            }
            if email:
                profile["email"] = email
            user = {
                "id": user_id,
                "team_id": self.team_id,
                "name": name,
                "deleted": False,
                "color": "4bbe2e",
                "real_name": real_name,
                "tz": tz,
                "tz_label": "Central European Time",
                "tz_offset": 3600,
                "profile": profile,
                "is_admin": False,
                "is_owner": False,
                "is_bot": is_bot,
                "is_app_user": False,
                "updated": int(self.clock()),
            }
            self.users[user_id] = user
            return user

    def channel(self, ref: str | None) -> dict[str, Any]:
        """Find a channel by id, `name` or `#name`; raise `channel_not_found`."""
        if not ref:
            raise SlackError("channel_not_found")
        with self.lock:
            if ref in self.channels:
                return self.channels[ref]
            name = ref.lstrip("#")
            for channel in self.channels.values():
                if channel["name"] == name:
                    return channel
        raise SlackError("channel_not_found")

    def user_by_email(self, email: str) -> dict[str, Any] | None:
        """Find a member by e-mail (case-insensitive)."""
        with self.lock:
            for user in self.users.values():
                if (user["profile"].get("email") or "").lower() == email.lower():
                    return user
        return None

    # -- messages -------------------------------------------------------------------------------------
    def next_ts(self) -> str:
        """A unique, increasing message timestamp like `1700000000.000100`."""
        with self.lock:
            ts = max(round(self.clock(), 6), round(self._last_ts + 0.000001, 6))
            self._last_ts = ts
            return f"{ts:.6f}"

    def check_post_rate(self, channel_id: str) -> None:
        """Enforce about one message per second per channel; raise `ratelimited` with Retry-After."""
        now = self.clock()
        with self.lock:
            bucket = self._buckets.get(channel_id)
            if bucket is None:
                bucket = self._buckets[channel_id] = ChannelBucket(self.post_rate, self.post_burst, now)
            wait = bucket.take(now)
            if wait:
                self.rate_limited += 1
                raise SlackError("ratelimited", 429, {"Retry-After": str(wait)})

    def find_message(self, channel_id: str, ts: str | None) -> dict[str, Any]:
        """A message by channel and ts; raise `message_not_found`."""
        with self.lock:
            for message in self.messages.get(channel_id, []):
                if message["ts"] == ts:
                    return message
        raise SlackError("message_not_found")

    def all_messages(self, channel_id: str | None = None) -> list[dict[str, Any]]:
        """Every recorded message (oldest first), optionally of one channel."""
        with self.lock:
            channels = [channel_id] if channel_id else list(self.messages)
            out: list[dict[str, Any]] = []
            for cid in channels:
                out.extend(dict(m, channel=cid) for m in self.messages.get(cid, []))
            return sorted(out, key=lambda m: float(m["ts"]))

    def count_call(self, method: str) -> None:
        """Count one Web API call."""
        with self.lock:
            self.calls[method] = self.calls.get(method, 0) + 1
