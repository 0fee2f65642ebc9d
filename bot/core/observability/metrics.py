"""The Prometheus metrics (prometheus-client), in a registry of their own.

Labels are closed sets the bot chooses (provider, mode, state, kind, shard): never a prompt,
a user's text, a URL or a secret. Hooks are small calls made where the event already happens.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from bot.core.jobs.models import Job, JobState

_DELIVERY_BUCKETS = (15, 30, 45, 60, 90, 120, 180, 240, 360, 600, 900, 1800)
_NOTICE_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30)
_LAG_BUCKETS = (0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5)


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.jobs = Gauge("reelbot_jobs", "Jobs by state (all processes).", ["state"], registry=r)
        self.submissions = Counter(
            "reelbot_submissions", "Jobs accepted by a provider.", ["provider", "mode"], registry=r
        )
        self.outcomes = Counter(
            "reelbot_outcomes",
            "Jobs that reached a final state.",
            ["provider", "mode", "outcome"],
            registry=r,
        )
        self.delivery_seconds = Histogram(
            "reelbot_submit_to_delivery_seconds",
            "From the provider accepting a job to its video being posted.",
            ["provider"],
            buckets=_DELIVERY_BUCKETS,
            registry=r,
        )
        self.notice_seconds = Histogram(
            "reelbot_completion_to_notice_seconds",
            "From a provider reporting a job ended (its callback) to the bot having the result.",
            ["provider"],
            buckets=_NOTICE_BUCKETS,
            registry=r,
        )
        self.provider_requests = Counter(
            "reelbot_provider_requests",
            "HTTP requests to provider APIs; kind=status for status and result checks.",
            ["provider", "kind"],
            registry=r,
        )
        self.provider_errors = Counter(
            "reelbot_provider_errors",
            "Failed provider API requests by kind.",
            ["provider", "kind"],
            registry=r,
        )
        self.discord_rate_limits = Counter(
            "reelbot_discord_rate_limits", "HTTP 429 answers from Discord.", registry=r
        )
        self.quota_refusals = Counter(
            "reelbot_quota_refusals", "Requests refused by a quota.", ["reason"], registry=r
        )
        self.lease_takeovers = Counter(
            "reelbot_lease_takeovers",
            "Unfinished jobs taken over from a process whose lease lapsed.",
            registry=r,
        )
        self.gateway_latency = Gauge(
            "reelbot_gateway_latency_seconds",
            "Discord gateway heartbeat latency.",
            ["shard"],
            registry=r,
        )
        self.loop_lag = Histogram(
            "reelbot_event_loop_lag_seconds",
            "How late the event loop ran a timer it was asked to run.",
            buckets=_LAG_BUCKETS,
            registry=r,
        )
        self.webhooks = Counter(
            "reelbot_webhooks", "Provider callbacks by result.", ["result"], registry=r
        )

    # --- hooks ------------------------------------------------------------------------------

    def job_moved(self, job: Job, *, now: float) -> None:
        """A job changed state (its row after the move)."""
        provider, mode = job.provider, str(job.mode)
        if job.state is JobState.SUBMITTED:
            self.submissions.labels(provider, mode).inc()
        elif job.state.is_final:
            self.outcomes.labels(provider, mode, str(job.state)).inc()
            if job.state is JobState.DELIVERED and job.submitted_at is not None:
                self.delivery_seconds.labels(provider).observe(max(0.0, now - job.submitted_at))

    def set_job_counts(self, counts: dict[str, int]) -> None:
        for state in JobState:
            self.jobs.labels(str(state)).set(counts.get(str(state), 0))

    def set_gateway_latencies(self, latencies: list[tuple[int, float]]) -> None:
        for shard, latency in latencies:
            if latency == latency and latency != float("inf"):  # not NaN/inf before connecting
                self.gateway_latency.labels(str(shard)).set(latency)
