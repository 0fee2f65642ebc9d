"""A poll schedule learned from how long past jobs of the same kind ran.

Generation times of one provider, mode, duration and resolution cluster: they are close to
log-normal. From the running times of past jobs (at least `min_samples` of them) we fit one,
robustly (the median of the logarithms, and the wider of their interquartile range and
standard deviation without outliers).

What a schedule buys is lag (how late a finished job is noticed) and what it pays is checks, and
a check is only made while the job still runs. Over a stretch where checks are `d` apart, a job
finishing in it is noticed within `d`, and the expected checks per second are `S(t) / d`, with
`S(t)` the chance the job still runs at `t`. The targets are on quantiles of the lag (half the
jobs within the dense interval, nearly all within the edge interval), and trading those
quantiles against `S(t) / d` is linear in `1/d`: at each moment the best choice is one of the
extremes, and which one depends only on the hazard `f(t) / S(t)` (how likely a job still running
is to finish in the next second). Where the hazard is low, checks are as sparse as allowed;
where it is high, as dense as the target needs. The log-normal's hazard rises through the whole
range where jobs finish (for spreads up to about 35 %; wider ones turn down near the top, where
staying dense only costs a few checks), so the switch points are quantiles of the fit. Hence,
with time counted from the job's `running_since`:

- before the `low_quantile` (the job can hardly be done yet): sparse, landing on that quantile,
  at most `max_interval` apart;
- from it to the `dense_quantile`: `edge_interval` apart, so almost every job is noticed within
  it (the p95 target);
- from the `dense_quantile` to the `high_quantile`: `dense_interval` apart. Jobs still running
  there are about to finish and the ones left cost few checks, so the jobs that finish late
  (a third or more of them) are noticed within it (the p50 target);
- past the `high_quantile` (slower than the history says): backing off from `edge_interval` by
  `backoff_per_second`, up to `max_interval`.

Time is measured from the job's `running_since`: the last moment it was known not to be running
yet (the submission, or the last check that found it queued). With too little history, while the
job is queued, and for the first check, today's `PollCadence` decides, unchanged. Every interval
lies within [`min_interval`, `max_interval`].
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass

from providers.models import JobUpdate, Queued, Running
from providers.polling import PollCadence

# The interquartile range of a standard normal distribution: turns an IQR into a sigma.
_IQR_PER_SIGMA = 2 * statistics.NormalDist().inv_cdf(0.75)
_NORMAL = statistics.NormalDist()
# A fit never claims more certainty than this (a few identical samples would give sigma 0).
MIN_SIGMA = 0.02
# Running times further than this many (robust) sigmas from the median are outliers to the fit.
OUTLIER_SIGMAS = 4.0


@dataclass(frozen=True, slots=True)
class LearnedSchedule:
    """The learned poller's settings (see README "How jobs are polled")."""

    min_samples: int = 10
    history: int = 100  # running times kept per configuration
    low_quantile: float = 0.04
    dense_quantile: float = 0.65
    high_quantile: float = 0.99
    dense_interval: float = 0.5
    edge_interval: float = 1.5
    min_interval: float = 0.5
    max_interval: float = 15.0
    backoff_per_second: float = 0.05

    def __post_init__(self) -> None:
        if not 0.0 < self.low_quantile < self.dense_quantile < self.high_quantile < 1.0:
            raise ValueError("need 0 < low_quantile < dense_quantile < high_quantile < 1")
        if not 0.0 < self.min_interval <= self.dense_interval <= self.edge_interval:
            raise ValueError("need 0 < min_interval <= dense_interval <= edge_interval")
        if self.edge_interval > self.max_interval:
            raise ValueError("need edge_interval <= max_interval")
        if not 2 <= self.min_samples <= self.history:
            raise ValueError("need 2 <= min_samples <= history")


@dataclass(frozen=True, slots=True)
class RunTimeFit:
    """A log-normal fit of running times: log-seconds have median `mu` and spread `sigma`."""

    mu: float
    sigma: float

    @classmethod
    def of(cls, samples: Sequence[float]) -> RunTimeFit | None:
        logs = sorted(math.log(s) for s in samples if s > 0 and math.isfinite(s))
        if len(logs) < 2:
            return None
        q1, _, q3 = statistics.quantiles(logs, n=4, method="inclusive")
        mu, robust = statistics.median(logs), (q3 - q1) / _IQR_PER_SIGMA
        # The interquartile range shrugs off outliers but wobbles with few samples; the standard
        # deviation of the samples within OUTLIER_SIGMAS of the median wobbles less. A spread
        # guessed too narrow costs far more (jobs finishing before the band wait a sparse
        # interval) than one guessed too wide (a few more checks), so take the wider.
        kept = [x for x in logs if abs(x - mu) <= OUTLIER_SIGMAS * max(robust, MIN_SIGMA)]
        spread = statistics.stdev(kept) if len(kept) >= 2 else 0.0
        return cls(mu=mu, sigma=max(MIN_SIGMA, robust, spread))

    def quantile(self, q: float) -> float:
        return math.exp(self.mu + self.sigma * statistics.NormalDist().inv_cdf(q))

    def hazard(self, seconds: float) -> float:
        """How likely a job still running after `seconds` is to finish in the next second."""
        z = self.z(seconds)
        survival = max(1e-12, 1.0 - _NORMAL.cdf(z))
        return _NORMAL.pdf(z) / (self.sigma * max(seconds, 1e-9)) / survival

    def z(self, seconds: float) -> float:
        """How many sigmas `seconds` lies from the median, on the log scale."""
        return (math.log(max(seconds, 1e-9)) - self.mu) / self.sigma


def learned_delay(schedule: LearnedSchedule, fit: RunTimeFit, since_start: float) -> float:
    """Seconds until the next check of a running job, `since_start` seconds after it could
    first have started running. Pure: the same inputs always give the same interval."""
    low = fit.quantile(schedule.low_quantile)
    dense_from = fit.quantile(schedule.dense_quantile)
    high = fit.quantile(schedule.high_quantile)
    if since_start < low:
        delay = min(schedule.max_interval, low - since_start)
    elif since_start < dense_from:
        delay = schedule.edge_interval
    elif since_start <= high:
        delay = schedule.dense_interval
    else:
        delay = schedule.edge_interval + schedule.backoff_per_second * (since_start - high)
    return min(schedule.max_interval, max(schedule.min_interval, delay))


class LearnedCadence:
    """One job's learned poll cadence: what `wait_for_job` asks "when do I check next?".

    It follows what the checks found, to know since when the job may have been running; with no
    fit (too little history) it is exactly `fallback`. After the wait, `run_sample` and
    `queue_sample` estimate the job's running and queue time for the history.
    """

    def __init__(
        self,
        *,
        fallback: PollCadence,
        schedule: LearnedSchedule,
        run_times: Sequence[float],
        running_since: float | None = None,
    ) -> None:
        self.fallback = fallback
        self.schedule = schedule
        self.fit = RunTimeFit.of(run_times) if len(run_times) >= schedule.min_samples else None
        self.running_since = running_since
        """Elapsed seconds (since submission) after which the job may have started running."""
        self.seen_running_at: float | None = None
        self.seen_queued = False
        self.watched = True
        """Whether the whole wait was watched from the submission (not resumed), so its times
        are worth learning from."""
        self._not_running_at = 0.0  # the submission: no job runs before it exists
        self._last_check: float | None = None

    def next_delay(self, *, elapsed: float, checks: int, last: JobUpdate | None) -> float:
        if checks > 0:
            self._observe(elapsed, last)
        if self.fit is None or checks == 0 or self.running_since is None:
            return self.fallback.next_delay(elapsed=elapsed, checks=checks, last=last)
        return learned_delay(self.schedule, self.fit, elapsed - self.running_since)

    def _observe(self, elapsed: float, last: JobUpdate | None) -> None:
        """A check just answered `last` (the latest update so far) at `elapsed`."""
        self._last_check = elapsed
        if isinstance(last, Running):
            if self.running_since is None:
                self.running_since = self._not_running_at
                self.seen_running_at = elapsed
        elif last is None or isinstance(last, Queued):
            self.seen_queued |= isinstance(last, Queued) and last.position is not None
            self._not_running_at = elapsed

    def run_sample(self, finished_at: float) -> float | None:
        """The running time of a job first seen finished at `finished_at` (elapsed): from
        `running_since` to the middle of the last gap between checks, where it finished."""
        start = self._not_running_at if self.running_since is None else self.running_since
        before = self._last_check if self._last_check is not None else start
        finished = (max(before, start) + finished_at) / 2.0
        sample = finished - start
        return sample if sample > 0 else None

    def queue_sample(self) -> float | None:
        """The queue time, where the provider reported the job queued: from submission to the
        middle of the gap in which it started running."""
        if not self.seen_queued or self.seen_running_at is None or self.running_since is None:
            return None
        return (self.running_since + self.seen_running_at) / 2.0
