"""Deskmate's configuration: typed, prefixed, validated once at start-up.

Values come, in rising order of precedence, from the defaults below, an optional TOML file named by
``DESKMATE_CONFIG_FILE``, the environment (``DESKMATE_*``) and the mapping given to ``create_app``.
Secrets are ``SecretStr`` so that they never appear in a repr, a log line or a diagnostic page.
"""

from __future__ import annotations

import math
import os
import tomllib
from collections import Counter
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

# Each capability adds its name here when it lands.
DEFAULT_PLUGINS: list[str] = ["routing", "sla", "breaking_news", "feature_requests", "customer"]


class ConfigError(RuntimeError):
    """The configuration cannot start Deskmate; the message says which setting and why."""


class Settings(BaseSettings):
    """Every setting Deskmate reads. Environment names are the field names upper-cased with ``DESKMATE_``."""

    model_config = SettingsConfigDict(env_prefix="DESKMATE_", extra="forbid", validate_default=True)

    env: Literal["development", "test", "production"] = "development"
    secret_key: SecretStr | None = None
    database_url: str = "sqlite:///instance/deskmate.sqlite3"
    # Production refuses SQLite (one process, no concurrent writers) unless this says it is meant: a small team
    # may run one process on SQLite knowingly (docs/operations.md).
    allow_sqlite_in_production: bool = False
    plugins: Annotated[list[str], NoDecode] = Field(default_factory=lambda: list(DEFAULT_PLUGINS))
    log_format: Literal["json", "text"] | None = None
    log_level: str = "INFO"
    public_url: str = "http://127.0.0.1:5000"
    metrics_token: SecretStr | None = None

    # The account configured from the environment (more can be registered with `flask accounts add`).
    zendesk_subdomain: str | None = None
    zendesk_account_id: int | None = None
    zendesk_base_url: str | None = None
    zendesk_email: str | None = None
    zendesk_api_token: SecretStr | None = None
    zendesk_webhook_secret: SecretStr | None = None
    zendesk_rate_limit_per_minute: int = Field(default=700, ge=10)
    # A helpdesk call that takes longer is abandoned. Work item leases must outlast it (see the validator).
    zendesk_timeout_seconds: float = Field(default=30.0, gt=0)
    slack_bot_token: SecretStr | None = None
    slack_signing_secret: SecretStr | None = None
    slack_base_url: str | None = None

    # Inbound webhooks.
    webhook_max_age_seconds: int = Field(default=300, ge=1)
    webhook_max_body_bytes: int = Field(default=1_000_000, ge=1024)

    # Share of the helpdesk's per-minute limit Deskmate allows itself; the rest is left to agents' other apps.
    rate_budget_share: float = Field(default=0.85, gt=0, le=1)
    # Longest Deskmate waits in line for the budget before it defers the work item instead.
    rate_budget_max_wait_seconds: float = Field(default=2.0, ge=0)

    # Worker and work queue.
    embedded_worker: bool = False
    worker_threads: int = Field(default=2, ge=1, le=32)
    worker_poll_seconds: float = Field(default=0.5, gt=0)
    worker_lease_seconds: int = Field(default=120, ge=1)
    worker_batch_size: int = Field(default=200, ge=1)
    timer_interval_seconds: float = Field(default=5.0, gt=0)
    work_max_attempts: int = Field(default=8, ge=1)
    work_backoff_base_seconds: float = Field(default=5.0, gt=0)
    work_backoff_cap_seconds: float = Field(default=3600.0, gt=0)
    # How long a batchable work item waits for company, so that a burst becomes few API calls.
    batch_linger_seconds: float = Field(default=2.0, ge=0)
    job_status_timeout_seconds: float = Field(default=60.0, gt=0)

    # Catch-up after an outage (app/catch_up.py, docs/operations.md "Catch-up after an outage"): webhooks the
    # helpdesk gave up on (Deskmate down longer than its retries, or its circuit breaker open) are recovered
    # from the incremental ticket export, read from a per-account cursor at start and every this many seconds;
    # 0 turns it off.
    catch_up_interval_seconds: float = Field(default=60.0, ge=0)
    # Changes younger than this are left to their webhooks (normally seconds away) and judged by a later pass.
    # At least the ticket event export's own lag (Zendesk leaves out the last minute), or a pass would take the
    # comments of that minute as read.
    catch_up_settle_seconds: float = Field(default=60.0, ge=0)
    # How far back an account's very first pass reads (there is no cursor yet). 0: from then on; what came
    # before Deskmate listened is `flask routing backfill`'s.
    catch_up_initial_lookback_minutes: int = Field(default=0, ge=0)
    # The export's own rate limit (Zendesk: 10 requests a minute, 30 with the High Volume add-on), of which
    # Deskmate takes rate_budget_share, as of the account's API limit.
    catch_up_export_per_minute: int = Field(default=10, ge=1)

    # Retention (app/retention.py, docs/operations.md "Retention"): done inbound events and done work items are
    # deleted this many days after they finished. It is also how long a repeated webhook delivery is still
    # recognised as a duplicate, so it must outlast the helpdesk's retries (hours) and the longest window in
    # which a timer may enqueue the same key again (the SLA digest's day): hence at least 2.
    retention_days: float = Field(default=14.0, ge=2)
    # For benches and tests only (bench/soak.py): a window in seconds instead of retention_days, so that a run of
    # minutes sees the purge delete many times. Far too short to recognise repeated deliveries: production
    # refuses it.
    retention_window_seconds: float | None = Field(default=None, gt=0)
    # How often the worker's retention pass runs (once per account per interval), and the rows per transaction:
    # small transactions never hold SQLite's write lock or a PostgreSQL snapshot for long.
    retention_interval_seconds: float = Field(default=3600.0, ge=10)
    retention_batch_size: int = Field(default=1000, ge=1, le=50_000)
    # /healthz says "degraded" while events or work items failed for good within this window (older failures
    # stay listed in Failed work and counted, but no longer mark the service as failing now).
    health_failed_window_seconds: int = Field(default=3600, ge=60)
    # `flask worker` serves its own Prometheus /metrics on this port (helpdesk calls, 429s, durations are
    # counted in the worker, which may run on any host); unset: not served. `--metrics-port` overrides it.
    worker_metrics_port: int | None = Field(default=None, ge=0, le=65535)
    worker_metrics_address: str = "0.0.0.0"  # noqa: S104 - scraped from other hosts; protect with METRICS_TOKEN

    # The agent sidebar (app/sidebar): session lifetime, the ticket-context cache, the ZAF SDK it loads.
    sidebar_session_minutes: int = Field(default=20, ge=2, le=120)
    # A session is refreshed at most this long after the helpdesk's signed load; then the agent reloads.
    sidebar_session_max_hours: int = Field(default=12, ge=1, le=72)
    # Cached requesters and organizations older than this are served, then refreshed in the background.
    sidebar_cache_seconds: int = Field(default=600, ge=10)
    # Fetch a new ticket's requester and organization when its ticket.created event arrives (one call).
    sidebar_warm_cache: bool = True
    # Warm-ups use at most this share of the account's per-minute helpdesk limit (per worker process): in a
    # spike of new tickets the budget goes to routing first; an unwarmed ticket's first open makes the call.
    sidebar_warm_share: float = Field(default=0.1, gt=0, le=1)
    # The one helpdesk call an uncached sidebar open may make waits at most this long.
    sidebar_helpdesk_timeout_seconds: float = Field(default=3.0, gt=0, le=30)
    sidebar_zaf_sdk_url: str = "https://static.zdassets.com/zendesk_app_framework_sdk/2.0/zaf_sdk.min.js"

    # Sections for plugins, keyed by plugin name; each plugin validates its own section.
    plugin_settings: dict[str, dict[str, Any]] = Field(default_factory=dict)

    @field_validator("plugins", mode="before")
    @classmethod
    def _split_plugins(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [name.strip() for name in value.split(",") if name.strip()]
        return value

    @model_validator(mode="after")
    def _check_consistency(self) -> Settings:
        # What production requires is checked once every source is merged (``production_problems``).
        if self.zendesk_subdomain and not (self.zendesk_email and self.zendesk_api_token):
            raise ValueError(
                "DESKMATE_ZENDESK_EMAIL and DESKMATE_ZENDESK_API_TOKEN are required with DESKMATE_ZENDESK_SUBDOMAIN"
            )
        if self.worker_lease_seconds < 2 * self.zendesk_timeout_seconds:
            # A worker that dies mid-call may leave its request in flight; only once that request has surely
            # ended may another worker take the item over and look for what it did.
            raise ValueError("DESKMATE_WORKER_LEASE_SECONDS must be at least twice DESKMATE_ZENDESK_TIMEOUT_SECONDS")
        if len(set(self.plugins)) != len(self.plugins):
            raise ValueError("DESKMATE_PLUGINS names a plugin twice")
        return self

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def resolved_log_format(self) -> str:
        return self.log_format or ("json" if self.env == "production" else "text")


# A production secret key: at least this long, and at least this many bits by the estimate below (low enough
# that random keys always pass: 32 random hexadecimal digits, the shortest usual key, measured at least 89 in
# 300,000 tries; 32 spaces are 0; "password" four times passes with 88, as the estimate cannot see words).
MIN_SECRET_KEY_LENGTH = 32
MIN_SECRET_KEY_BITS = 80
_KEY_ADVICE = "generate one with: python -c 'import secrets; print(secrets.token_urlsafe(32))'"


def estimated_entropy_bits(text: str) -> float:
    """Bits of ``text`` judged by how often each character occurs in it (Shannon entropy times length).

    It sees repeated and few distinct characters (32 spaces: 0 bits; ``abab...``: 1 bit a character), not
    patterns of several characters; 32 random hexadecimal digits come to about 115, a token_urlsafe(32) to 200.
    """
    counts = Counter(text)
    return -sum(count * math.log2(count / len(text)) for count in counts.values())


def production_problems(settings: Settings) -> list[str]:
    """Why these settings must not serve the internet, one line per setting named; empty outside production.

    No webhook secret is required: `flask zendesk install` stores the webhook's own, and until one is stored
    webhooks are refused (fail closed), which the logs and metrics make visible.
    """
    if settings.env != "production":
        return []
    problems = []
    key = settings.secret_key.get_secret_value() if settings.secret_key is not None else ""
    if len(key) < MIN_SECRET_KEY_LENGTH:
        problems.append(f"DESKMATE_SECRET_KEY: must be set to at least {MIN_SECRET_KEY_LENGTH} characters in "
                        "production (it encrypts the stored helpdesk and Slack secrets and signs sessions); "
                        f"{_KEY_ADVICE}")
    elif estimated_entropy_bits(key) < MIN_SECRET_KEY_BITS:
        problems.append(f"DESKMATE_SECRET_KEY: is too guessable: judged by how often each of its characters occurs it "
                        f"holds under {MIN_SECRET_KEY_BITS} bits (repeated characters, or too few different ones); "
                        f"{_KEY_ADVICE}")
    url = urlsplit(settings.public_url)
    if url.scheme != "https" or not url.hostname:
        problems.append("DESKMATE_PUBLIC_URL: must be an https:// URL in production (the helpdesk posts signed "
                        f"sidebar loads to it and admins sign in there); it is {settings.public_url!r}")
    if settings.is_sqlite and not settings.allow_sqlite_in_production:
        problems.append("DESKMATE_DATABASE_URL: is SQLite, which serves a single process; use PostgreSQL in "
                        "production, or set DESKMATE_ALLOW_SQLITE_IN_PRODUCTION=true to run one process on SQLite "
                        "knowingly")
    if settings.retention_window_seconds is not None:
        problems.append("DESKMATE_RETENTION_WINDOW_SECONDS: is for benches and tests; in production the window is "
                        "DESKMATE_RETENTION_DAYS (at least 2: repeated deliveries must still be recognised)")
    metrics_token = settings.metrics_token.get_secret_value().strip() if settings.metrics_token is not None else ""
    if not metrics_token:
        problems.append("DESKMATE_METRICS_TOKEN: must be set in production; without it /metrics is public (queue "
                        "sizes, helpdesk and Slack call counts)")
    return problems


def load_settings(overrides: Mapping[str, Any] | None = None) -> Settings:
    """Build the settings from file, environment and ``overrides``.

    Raises:
        ConfigError: with one line per invalid setting, naming it as the environment would; in production also
            for each setting production requires (``production_problems``).
    """
    file_values: dict[str, Any] = {}
    config_file = (overrides or {}).get("config_file") or os.environ.get("DESKMATE_CONFIG_FILE")
    if config_file:
        path = Path(config_file)
        try:
            file_values = tomllib.loads(path.read_text())
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise ConfigError(f"cannot read DESKMATE_CONFIG_FILE {path}: {exc}") from exc
        file_values = _flatten_file(file_values)
    merged = dict(overrides or {})
    merged.pop("config_file", None)
    try:
        from_env = Settings()
        env_values = {name: getattr(from_env, name) for name in from_env.model_fields_set}
        settings = Settings.model_validate({**file_values, **env_values, **merged})
    except ValidationError as exc:
        lines = []
        for error in exc.errors():
            where = ".".join(str(part) for part in error["loc"]) or "settings"
            name = f"DESKMATE_{where.upper()}" if error["loc"] else where
            lines.append(f"{name}: {error['msg']}")
        raise ConfigError("invalid configuration:\n  " + "\n  ".join(lines)) from None
    problems = production_problems(settings)
    if problems:
        raise ConfigError("invalid configuration for production (DESKMATE_ENV=production):\n  " + "\n  ".join(problems))
    return settings


def _flatten_file(values: dict[str, Any]) -> dict[str, Any]:
    """Accept ``[deskmate]`` and ``[plugins.<name>]`` tables as well as top-level keys."""
    flat = dict(values.pop("deskmate", {}))
    plugin_tables = values.pop("plugins", None)
    flat.update(values)
    if isinstance(plugin_tables, dict):
        flat["plugin_settings"] = {**flat.get("plugin_settings", {}), **plugin_tables}
    elif plugin_tables is not None:
        flat["plugins"] = plugin_tables
    return flat
