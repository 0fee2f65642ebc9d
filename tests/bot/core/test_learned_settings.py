"""The learned poller's settings: on by default, bounded by POLL_MAX_INTERVAL, contradictions
refused at start-up with the keys named."""

from __future__ import annotations

import pytest

from bot.core.settings import SettingsError, load_settings


def test_the_learned_poller_is_on_by_default_with_the_documented_values() -> None:
    schedule = load_settings(_env_file=None).learned_schedule()
    assert schedule is not None
    assert (schedule.min_samples, schedule.history) == (10, 100)
    assert (schedule.low_quantile, schedule.dense_quantile, schedule.high_quantile) == (
        0.04,
        0.65,
        0.99,
    )
    assert (schedule.dense_interval, schedule.edge_interval) == (0.5, 1.5)
    assert (schedule.min_interval, schedule.max_interval) == (0.5, 15.0)


def test_it_can_be_turned_off() -> None:
    assert load_settings(_env_file=None, poll_learn=False).learned_schedule() is None


def test_a_lower_max_interval_bounds_the_learned_intervals_too() -> None:
    schedule = load_settings(_env_file=None, poll_max_interval=0.2).learned_schedule()
    assert schedule is not None
    assert schedule.max_interval == schedule.edge_interval == schedule.dense_interval == 0.2
    assert schedule.min_interval <= 0.2


def test_contradicting_learned_settings_are_refused_by_name() -> None:
    with pytest.raises(SettingsError, match="POLL_"):
        load_settings(_env_file=None, poll_learn_min_samples=500, poll_learn_history=100)


def test_a_dense_quantile_outside_the_band_is_refused_by_name() -> None:
    with pytest.raises(SettingsError, match="dense_quantile"):
        load_settings(_env_file=None, poll_learn_dense_quantile=0.02)
