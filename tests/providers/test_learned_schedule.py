"""The learned schedule as a pure function: sparse before the low quantile, the edge interval to
the dense quantile, dense to the high quantile, backing off past it, within bounds; today's
cadence without history."""

from __future__ import annotations

import itertools
import math
import random
import statistics

import pytest

from providers import PollCadence, Queued, Running
from providers.learned_polling import (
    LearnedCadence,
    LearnedSchedule,
    RunTimeFit,
    learned_delay,
)

SCHEDULE = LearnedSchedule()
CADENCE = PollCadence()


def history(median: float, spread: float, n: int, seed: int = 7) -> list[float]:
    rng = random.Random(seed)
    return [median * math.exp(rng.gauss(0.0, spread)) for _ in range(n)]


def fit_of(median: float, spread: float) -> RunTimeFit:
    return RunTimeFit(mu=math.log(median), sigma=spread)


def test_the_fit_finds_the_median_and_spread_of_log_normal_times() -> None:
    fit = RunTimeFit.of(history(80.0, 0.2, 400))
    assert fit is not None
    assert math.exp(fit.mu) == pytest.approx(80.0, rel=0.03)
    assert fit.sigma == pytest.approx(0.2, rel=0.15)


def test_identical_times_still_leave_some_spread() -> None:
    fit = RunTimeFit.of([60.0] * 20)
    assert fit is not None and fit.sigma > 0


def test_before_the_low_quantile_the_next_check_lands_on_it() -> None:
    fit = fit_of(80.0, 0.2)
    low = fit.quantile(SCHEDULE.low_quantile)
    assert learned_delay(SCHEDULE, fit, low - 10.0) == pytest.approx(10.0)


def test_far_before_the_low_quantile_checks_are_the_maximum_interval_apart() -> None:
    assert learned_delay(SCHEDULE, fit_of(200.0, 0.1), 5.0) == SCHEDULE.max_interval


def test_from_the_low_quantile_to_the_dense_one_checks_are_the_edge_interval_apart() -> None:
    fit = fit_of(80.0, 0.2)
    low, dense_from = fit.quantile(SCHEDULE.low_quantile), fit.quantile(SCHEDULE.dense_quantile)
    for since in (low, 80.0, dense_from - 0.01):
        assert learned_delay(SCHEDULE, fit, since) == pytest.approx(SCHEDULE.edge_interval)


def test_from_the_dense_quantile_to_the_high_one_checks_are_the_dense_interval_apart() -> None:
    fit = fit_of(80.0, 0.2)
    dense_from, high = fit.quantile(SCHEDULE.dense_quantile), fit.quantile(SCHEDULE.high_quantile)
    for since in (dense_from, 95.0, high):
        assert learned_delay(SCHEDULE, fit, since) == pytest.approx(SCHEDULE.dense_interval)


@pytest.mark.parametrize("spread", [0.05, 0.2, 0.3])
def test_the_hazard_rises_through_the_band_so_its_switch_points_are_quantiles(
    spread: float,
) -> None:
    # The schedule is dense where the hazard is high; that is a quantile only while the
    # hazard keeps rising between the low and the high quantile, as it does for spreads up to
    # about 35 % (wider ones turn down near the top, where staying dense costs a few checks).
    fit = fit_of(80.0, spread)
    low, high = fit.quantile(SCHEDULE.low_quantile), fit.quantile(SCHEDULE.high_quantile)
    points = [low + (high - low) * k / 50 for k in range(51)]
    hazards = [fit.hazard(t) for t in points]
    assert all(a < b for a, b in itertools.pairwise(hazards))


def test_half_the_jobs_are_due_a_dense_check_and_nearly_all_an_edge_one() -> None:
    # With the default quantiles: the jobs finishing past the dense quantile (35 %) plus a
    # third of those in the edge band (each noticed within the edge interval, so within the
    # dense one a third of the time) make over half; all but the low quantile's within edge.
    s = SCHEDULE
    within_dense = (1 - s.dense_quantile) + (s.dense_quantile - s.low_quantile) * (
        s.dense_interval / s.edge_interval
    )
    assert within_dense > 0.5
    assert 1 - s.low_quantile >= 0.95


def test_past_the_high_quantile_checks_back_off() -> None:
    fit = fit_of(80.0, 0.2)
    high = fit.quantile(SCHEDULE.high_quantile)
    just_after = learned_delay(SCHEDULE, fit, high + 1.0)
    later = learned_delay(SCHEDULE, fit, high + 60.0)
    assert just_after == pytest.approx(SCHEDULE.edge_interval + SCHEDULE.backoff_per_second)
    assert later > just_after
    assert learned_delay(SCHEDULE, fit, high + 10_000.0) == SCHEDULE.max_interval


@pytest.mark.parametrize("spread", [0.01, 0.05, 0.2, 0.6, 1.5])
@pytest.mark.parametrize("median", [3.0, 45.0, 120.0, 900.0])
def test_every_interval_is_within_the_configured_bounds(median: float, spread: float) -> None:
    schedule = LearnedSchedule(min_interval=0.7, dense_interval=0.8, max_interval=9.0)
    fit = fit_of(median, spread)
    for step in range(4000):
        delay = learned_delay(schedule, fit, step * 0.5)
        assert schedule.min_interval <= delay <= schedule.max_interval


def test_settings_that_contradict_each_other_are_refused() -> None:
    with pytest.raises(ValueError, match="quantile"):
        LearnedSchedule(low_quantile=0.9, high_quantile=0.1)
    with pytest.raises(ValueError, match="dense_quantile"):
        LearnedSchedule(low_quantile=0.3, dense_quantile=0.2)
    with pytest.raises(ValueError, match="interval"):
        LearnedSchedule(min_interval=2.0, dense_interval=1.0)
    with pytest.raises(ValueError, match="min_samples"):
        LearnedSchedule(min_samples=500, history=100)


def steps(cadence: LearnedCadence | PollCadence, updates: list[object]) -> list[float]:
    """The delays a cadence asks for over a series of checks 1 s apart in elapsed time."""
    delays, elapsed = [], 0.0
    for checks, last in enumerate(updates):
        delay = cadence.next_delay(elapsed=elapsed, checks=checks, last=last)  # type: ignore[arg-type]
        delays.append(delay)
        elapsed += delay
    return delays


def test_with_too_little_history_the_cadence_is_todays_exactly() -> None:
    few = history(80.0, 0.2, SCHEDULE.min_samples - 1)
    learned = LearnedCadence(fallback=CADENCE, schedule=SCHEDULE, run_times=few)
    updates: list[object] = [None, Queued(position=3), Queued(position=1)] + [Running()] * 200
    assert learned.fit is None
    assert steps(learned, updates) == steps(CADENCE, updates)


def test_while_queued_the_cadence_is_todays_and_running_counts_from_the_last_queued_check() -> None:
    learned = LearnedCadence(fallback=CADENCE, schedule=SCHEDULE, run_times=history(80.0, 0.2, 50))
    assert learned.next_delay(elapsed=0.0, checks=0, last=None) == CADENCE.first_delay
    queued = Queued(position=4)
    assert learned.next_delay(elapsed=1.0, checks=1, last=queued) == CADENCE.next_delay(
        elapsed=1.0, checks=1, last=queued
    )
    learned.next_delay(elapsed=13.0, checks=2, last=Queued(position=1))
    delay = learned.next_delay(elapsed=16.0, checks=3, last=Running())
    assert learned.running_since == 13.0 and learned.seen_running_at == 16.0
    assert learned.fit is not None
    assert delay == learned_delay(SCHEDULE, learned.fit, 3.0)


def test_the_samples_take_the_middle_of_the_gaps_where_things_happened() -> None:
    learned = LearnedCadence(fallback=CADENCE, schedule=SCHEDULE, run_times=[])
    learned.next_delay(elapsed=0.0, checks=0, last=None)
    learned.next_delay(elapsed=10.0, checks=1, last=Queued(position=1))
    learned.next_delay(elapsed=14.0, checks=2, last=Running())
    learned.next_delay(elapsed=70.0, checks=3, last=Running())
    # Started in (10, 14], finished in (70, 72]: run time counted from 10, queue time 12.
    assert learned.run_sample(72.0) == pytest.approx(61.0)
    assert learned.queue_sample() == pytest.approx(12.0)


def test_no_queue_sample_where_the_provider_never_reported_a_queue() -> None:
    learned = LearnedCadence(fallback=CADENCE, schedule=SCHEDULE, run_times=[])
    learned.next_delay(elapsed=0.0, checks=0, last=None)
    learned.next_delay(elapsed=1.0, checks=1, last=Running())
    assert learned.running_since == 0.0
    assert learned.queue_sample() is None
    assert learned.run_sample(60.0) == pytest.approx((1.0 + 60.0) / 2)


def test_one_wild_outlier_does_not_widen_the_fit() -> None:
    fit = RunTimeFit.of([*history(60.0, 0.2, 60), 900.0])
    assert fit is not None
    assert fit.sigma == pytest.approx(0.2, rel=0.2)


def test_a_spread_the_quartiles_understate_is_taken_from_the_deviation() -> None:
    # Few samples: the quartiles happen to sit close together, the tails do not.
    samples = [60.0 * math.exp(x) for x in (-0.3, -0.25, -0.08, -0.04, 0.0, 0.04, 0.08, 0.25, 0.3)]
    fit = RunTimeFit.of(samples)
    assert fit is not None
    logs = [math.log(s) for s in samples]
    q1, _, q3 = statistics.quantiles(logs, n=4, method="inclusive")
    assert fit.sigma == pytest.approx(statistics.stdev(logs))
    assert fit.sigma > (q3 - q1) / (2 * statistics.NormalDist().inv_cdf(0.75))
