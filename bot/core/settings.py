"""Configuration from the environment or `.env`. Every key is listed in `.env.example`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import (
    Field,
    SecretStr,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_settings import NoDecode, SettingsConfigDict

from providers import PollCadence, ProviderName, RetryPolicy
from providers.learned_polling import LearnedSchedule
from providers.registry import ProviderSettings
from providers.settings import real_secret

MiB = 1024 * 1024


def parse_listen(value: str) -> tuple[str, int]:
    """`HOST:PORT` (`[::1]:9108` for IPv6) -> (host, port). Raises ValueError when malformed."""
    host, sep, port = value.strip().rpartition(":")
    host = host.strip("[]")
    if not sep or not host or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise ValueError("must be HOST:PORT, e.g. 127.0.0.1:9108")
    return host, int(port)


class SettingsError(Exception):
    """The configuration is unusable. The message names the keys, never their values."""


class Settings(ProviderSettings):
    model_config = SettingsConfigDict(
        env_file=".env",
        env_file_encoding="utf-8",
        env_ignore_empty=True,
        extra="ignore",
        hide_input_in_errors=True,
    )

    # Discord
    discord_token: SecretStr | None = None
    discord_guild_ids: Annotated[list[int], NoDecode] = Field(default_factory=list)
    # Shards across processes: this process connects DISCORD_SHARD_IDS of DISCORD_SHARD_COUNT.
    # Both unset: one process with every shard Discord recommends.
    discord_shard_count: int | None = Field(None, ge=1)
    discord_shard_ids: Annotated[list[int] | None, NoDecode] = None

    # Providers: their keys and base URLs (and ALLOW_LOOPBACK_URLS) come from ProviderSettings,
    # declared beside each provider (providers/runcomfy.py, providers/wavespeed.py).

    # Polling and deadlines (seconds)
    poll_first_delay: float = Field(1.0, gt=0)
    poll_warmup: float = Field(20.0, ge=0)
    poll_warmup_interval: float = Field(5.0, gt=0)
    poll_interval: float = Field(1.5, gt=0)
    poll_long_job_after: float = Field(240.0, ge=0)
    poll_backoff_per_second: float = Field(0.02, ge=0)
    poll_queue_seconds_per_position: float = Field(3.0, ge=0)
    poll_max_interval: float = Field(15.0, gt=0)
    # The learned poller (see README "How jobs are polled")
    poll_learn: bool = True
    poll_learn_min_samples: int = Field(10, ge=2)
    poll_learn_history: int = Field(100, ge=2, le=10_000)
    poll_learn_low_quantile: float = Field(0.04, gt=0, lt=0.5)
    poll_learn_dense_quantile: float = Field(0.65, gt=0, lt=1)
    poll_learn_high_quantile: float = Field(0.99, gt=0.5, lt=1)
    poll_dense_interval: float = Field(0.5, gt=0)
    poll_edge_interval: float = Field(1.5, gt=0)
    poll_min_interval: float = Field(0.5, gt=0)
    poll_learn_backoff_per_second: float = Field(0.05, ge=0)
    job_deadline_seconds: float = Field(1800.0, gt=0)
    http_timeout_seconds: float = Field(30.0, gt=0)
    http_max_retries: int = Field(5, ge=1, le=20)
    # Connections to each provider at once (its requests wait their turn beyond that).
    provider_max_connections: int = Field(50, ge=1, le=10_000)

    # Downloads
    download_max_mb: int = Field(200, gt=0)
    # Video work (re-encoding a result to fit the upload limit): the longest one piece may take.
    video_timeout_seconds: float = Field(300.0, gt=0)

    # Extend: the longest joined video a chain of extensions may make, in seconds.
    extend_max_seconds: float = Field(30.0, gt=0)

    # Storage
    # sqlite:///PATH or postgresql://USER:PASSWORD@HOST:PORT/DB; kept out of repr (a password).
    database_url: str = Field("sqlite:///data/reelbot.db", repr=False)
    work_dir: Path = Path("data")  # temporary downloads live in WORK_DIR/tmp

    # Quotas and limits
    quota_limit: int = Field(5, ge=0)  # units per member per window
    quota_window_hours: float = Field(24.0, gt=0)
    cost_5s: int = Field(1, ge=0)
    cost_10s: int = Field(2, ge=0)
    max_jobs_per_member: int = Field(2, ge=1)  # a member's unfinished jobs
    max_concurrent_jobs: int = Field(2, ge=1)  # jobs at the providers at once, all members
    default_provider: ProviderName | None = None

    # Job ownership and Discord pacing
    lease_seconds: float = Field(60.0, ge=1)
    status_edit_interval: float = Field(3.0, ge=0)

    # Testing only: point discord.py at another Discord API and gateway.
    discord_api_base_url: str | None = None
    discord_gateway_url: str | None = None

    # WaveSpeed callbacks (off unless WEBHOOK_PUBLIC_URL is set): WaveSpeed POSTs to
    # WEBHOOK_PUBLIC_URL + /webhooks/wavespeed, which must reach WEBHOOK_LISTEN.
    webhook_public_url: str | None = None
    webhook_listen: str = "127.0.0.1:9109"
    webhook_safety_interval: float = Field(60.0, gt=0)  # polling while callbacks are expected

    # Prometheus /metrics, /livez and /readyz (off unless set), e.g. 127.0.0.1:9108
    metrics_listen: str | None = None

    log_level: str = "INFO"
    log_format: Literal["text", "json"] = "text"

    @model_validator(mode="after")
    def _learned_schedule_fits(self) -> Settings:
        try:
            self.learned_schedule()
        except ValueError as error:
            raise ValueError(f"POLL_* learned poller settings: {error}") from None
        return self

    @field_validator("discord_guild_ids", mode="before")
    @classmethod
    def _split_ids(cls, value: object) -> object:
        if isinstance(value, str):
            parts = [p.strip() for p in value.split(",") if p.strip()]
            for part in parts:
                if not part.isdigit():
                    raise ValueError("must be comma-separated numeric server ids, e.g. 123,456")
            return [int(p) for p in parts]
        return value

    @field_validator("discord_shard_ids", mode="before")
    @classmethod
    def _split_shard_ids(cls, value: object) -> object:
        if isinstance(value, str):
            parts = [p.strip() for p in value.split(",") if p.strip()]
            if not parts or not all(p.isdigit() for p in parts):
                raise ValueError("must be comma-separated shard numbers from 0, e.g. 0,1")
            return [int(p) for p in parts]
        return value

    @field_validator("discord_shard_ids")
    @classmethod
    def _shard_ids_fit_the_count(cls, value: list[int] | None, info: ValidationInfo) -> object:
        if value is None or "discord_shard_count" not in info.data:
            return value  # unset, or the count is invalid and reported on its own
        count: int | None = info.data["discord_shard_count"]
        if count is None:
            raise ValueError(
                "needs DISCORD_SHARD_COUNT as well: the total number of shards across all "
                "processes (the same value in every process)"
            )
        if not value:
            raise ValueError("lists no shard; leave it unset for every shard in this process")
        outside = sorted({i for i in value if i >= count})
        if outside:
            raise ValueError(
                f"shard {', '.join(map(str, outside))} does not exist: with "
                f"DISCORD_SHARD_COUNT={count} the shards are 0 to {count - 1}"
            )
        if len(set(value)) != len(value):
            raise ValueError("lists a shard twice")
        return value

    @field_validator("discord_token", mode="before")
    @classmethod
    def _real_secret(cls, value: object) -> object:
        return real_secret(value)

    @field_validator("database_url")
    @classmethod
    def _database(cls, value: str) -> str:
        scheme = value.strip().partition("://")[0].lower()
        if scheme.split("+")[0] not in ("sqlite", "postgres", "postgresql"):
            raise ValueError(
                "must be sqlite:///PATH or postgresql://USER:PASSWORD@HOST:PORT/DATABASE"
            )
        return value.strip()

    @field_validator("webhook_listen", "metrics_listen")
    @classmethod
    def _listen(cls, value: str | None) -> str | None:
        if value is not None:
            parse_listen(value)
        return value

    @field_validator("webhook_public_url")
    @classmethod
    def _public_url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        value = value.strip().rstrip("/")
        if not value.startswith(("https://", "http://")):
            raise ValueError("must be the public https:// URL that reaches WEBHOOK_LISTEN")
        return value

    def webhook_cadence(self) -> PollCadence:
        """Polling while callbacks are expected: a first quick check (a job refused at once),
        then a slow safety net that covers a lost callback."""
        return PollCadence(
            first_delay=self.poll_first_delay,
            warmup=0.0,
            interval=self.webhook_safety_interval,
            long_job_after=self.job_deadline_seconds,
            queue_seconds_per_position=0.0,
            max_interval=max(self.webhook_safety_interval, self.poll_max_interval),
        )

    def cadence(self) -> PollCadence:
        return PollCadence(
            first_delay=self.poll_first_delay,
            warmup=self.poll_warmup,
            warmup_interval=self.poll_warmup_interval,
            interval=self.poll_interval,
            long_job_after=self.poll_long_job_after,
            backoff_per_second=self.poll_backoff_per_second,
            queue_seconds_per_position=self.poll_queue_seconds_per_position,
            max_interval=self.poll_max_interval,
        )

    def learned_schedule(self) -> LearnedSchedule | None:
        """The learned poller's settings, or None when it is turned off."""
        if not self.poll_learn:
            return None
        # POLL_MAX_INTERVAL bounds every interval: the learned ones give way to it.
        edge = min(self.poll_edge_interval, self.poll_max_interval)
        dense = min(self.poll_dense_interval, edge)
        return LearnedSchedule(
            min_samples=self.poll_learn_min_samples,
            history=self.poll_learn_history,
            low_quantile=self.poll_learn_low_quantile,
            dense_quantile=self.poll_learn_dense_quantile,
            high_quantile=self.poll_learn_high_quantile,
            dense_interval=dense,
            edge_interval=edge,
            min_interval=min(self.poll_min_interval, dense),
            max_interval=self.poll_max_interval,
            backoff_per_second=self.poll_learn_backoff_per_second,
        )

    def retry_policy(self) -> RetryPolicy:
        return RetryPolicy(max_attempts=self.http_max_retries)

    def provider_order(self) -> list[ProviderName]:
        """Configured providers, the default first."""
        names = list(self.provider_configs())
        if self.default_provider in names:
            names.remove(self.default_provider)
            names.insert(0, self.default_provider)
        return names

    @property
    def syncs_commands(self) -> bool:
        """Commands are synced once per bot, by the process holding shard 0 (or every shard);
        the processes holding only other shards leave it to that one."""
        return self.discord_shard_ids is None or 0 in self.discord_shard_ids

    @property
    def download_max_bytes(self) -> int:
        return self.download_max_mb * MiB


def load_settings(**overrides: object) -> Settings:
    """Read the settings, turning validation errors into one readable message without values."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as error:
        lines = []
        for item in error.errors(include_input=False, include_url=False):
            key = ".".join(str(p) for p in item["loc"]).upper() or "settings"
            lines.append(f"{key}: {item['msg']}")
        raise SettingsError("invalid configuration:\n  " + "\n  ".join(lines)) from None
