"""The learned schedule as a pure function: sparse before the low quantile, dense around the
median, backing off past the high quantile, within bounds; today's cadence without history."""

from __future__ import annotations

import math
import random

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


def test_at_the_median_checks_are_the_dense_interval_apart() -> None:
    assert learned_delay(SCHEDULE, fit_of(80.0, 0.2), 80.0) == pytest.approx(
        SCHEDULE.dense_interval
    )


def test_checks_are_closer_after_the_median_than_before_it() -> None:
    fit = fit_of(80.0, 0.2)
    early, late = learned_delay(SCHEDULE, fit, 70.0), learned_delay(SCHEDULE, fit, 95.0)
    assert SCHEDULE.dense_interval < early <= SCHEDULE.edge_interval
    assert SCHEDULE.min_interval <= late < SCHEDULE.dense_interval


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
