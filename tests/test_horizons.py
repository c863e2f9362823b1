"""Tests of scores by horizon and of the naive forecast paths, over several season lengths, by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest

from lstmts.evaluation.horizons import horizon_scores
from lstmts.evaluation.naive import naive_baselines, naive_forecast, naive_paths
from lstmts.evaluation.scoring import horizon_metrics, naive_horizon_scores

VALUES = 100.0 + np.arange(60)  # the value at index i is 100 + i: forecasts show which index they copy


def _last_known_index_of_the_same_period(origin: int, horizon: int, season: int) -> int:
    """The latest index before the origin that is a whole number of seasons before the target."""
    target = origin + horizon - 1
    return max(i for i in range(origin) if (target - i) % season == 0)


@pytest.mark.parametrize("season", [1, 2, 4, 7, 12, 24])
def test_naive_paths_copy_the_same_period_of_the_last_known_season(season):
    origins = np.array([30, 31, 37])
    paths = naive_paths(VALUES, origins, 2 * season + 1, season)
    for row, origin in enumerate(origins):
        expected = [100 + _last_known_index_of_the_same_period(origin, h, season) for h in range(1, 2 * season + 2)]
        assert paths[row].tolist() == expected


def test_naive_paths_of_season_four_by_hand():
    # Origin 10 knows indices 0..9; the last season is 6 7 8 9, repeated.
    assert naive_paths(VALUES, np.array([10]), 9, 4)[0].tolist() == [106, 107, 108, 109, 106, 107, 108, 109, 106]
    # Persistence: the last known value at every horizon.
    assert naive_paths(VALUES, np.array([10, 20]), 3, 1).tolist() == [[109] * 3, [119] * 3]


@pytest.mark.parametrize("season", [2, 4, 7, 12, 24])
def test_seasonal_naive_forecast_is_one_season_back_at_any_season_length(season):
    targets = np.array([season, season + 3, 50])
    assert naive_forecast(VALUES, targets, season).tolist() == [100, 103, 150 - season]
    baselines = naive_baselines(VALUES, targets, season)
    assert baselines["persistence"].tolist() == [100 + season - 1, 100 + season + 2, 149]
    assert baselines["seasonal_naive"].tolist() == [100, 103, 150 - season]
    assert naive_forecast(VALUES, targets - 1, season) is None  # the first target has no season before it


def test_without_a_season_there_is_no_seasonal_naive_baseline():
    assert list(naive_baselines(VALUES, np.array([5, 6]), 1)) == ["persistence"]


ORIGINS = np.array([5, 6, 7, 8])
PATHS = np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0], [7.0, 8.0, 9.0], [8.0, 8.0, 8.0]])  # 4 origins, 3 steps
SMALL = np.arange(10.0)  # value i at index i


def test_horizon_scores_by_hand():
    scores = horizon_scores(PATHS, ORIGINS, SMALL, scored=ORIGINS, horizons=(1, 2, 3, 4))
    # h=1: targets 5 6 7 8, errors 1-5 4-6 7-7 8-8 = -4 -2 0 0.
    assert scores["1"] == {"rmse": pytest.approx(math.sqrt((16 + 4 + 0 + 0) / 4)), "count": 4}
    # h=2: targets 6 7 8 (9 is not scored): errors 2-6 5-7 8-8 = -4 -2 0.
    assert scores["2"] == {"rmse": pytest.approx(math.sqrt((16 + 4) / 3)), "count": 3}
    # h=3: targets 7 8: 3-7 and 6-8.
    assert scores["3"] == {"rmse": pytest.approx(math.sqrt((16 + 4) / 2)), "count": 2}
    assert "4" not in scores  # longer than the paths (of 3 steps, from 4 origins)


def test_horizon_scores_default_to_horizons_1_3_6_12():
    paths = np.zeros((2, 12))
    scores = horizon_scores(paths, np.array([0, 1]), np.ones(20), np.arange(20))
    assert list(scores) == ["1", "3", "6", "12"]
    assert all(score == {"rmse": 1.0, "count": 2} for score in scores.values())
    assert list(horizon_scores(paths[:, :11], np.array([0, 1]), np.ones(20), np.arange(20))) == ["1", "3", "6"]


def test_horizon_scores_leave_out_a_horizon_without_scored_targets():
    scores = horizon_scores(PATHS, ORIGINS, SMALL, scored=np.array([5]), horizons=(1, 2))
    assert scores == {"1": {"rmse": pytest.approx(4.0), "count": 1}}


def test_horizon_metrics_give_rmse_and_count_by_horizon():
    metrics = horizon_metrics(PATHS, ORIGINS, SMALL, [1, 3])
    assert metrics["test_rmse_by_horizon"] == {"1": pytest.approx(math.sqrt(20 / 4)), "3": pytest.approx(math.sqrt(10))}
    assert metrics["test_count_by_horizon"] == {"1": 4, "3": 2}


@pytest.mark.parametrize("season", [4, 7, 12])
def test_naive_horizon_scores_by_hand(season):
    values = np.arange(40.0) ** 2
    test_index = np.arange(30, 40)
    scores = naive_horizon_scores(values, test_index, season, [1, 2])
    # Persistence from origin o: h-step forecast values[o-1] of target o+h-1.
    for h in (1, 2):
        errors = [values[o + h - 1] - values[o - 1] for o in test_index if o + h - 1 < 40]
        assert scores["persistence"]["test_rmse_by_horizon"][str(h)] == pytest.approx(np.sqrt(np.mean(np.square(errors))))
    # Seasonal naive (h <= season): values[o + h - 1 - season].
    errors = [values[o] - values[o - season] for o in test_index]
    assert scores["seasonal_naive"]["test_rmse_by_horizon"]["1"] == pytest.approx(np.sqrt(np.mean(np.square(errors))))


def test_naive_horizon_scores_need_only_one_season_before_the_first_origin():
    # Season 2: seasonal naive exists; the first origin is exactly one season (and one step) in.
    scores = naive_horizon_scores(VALUES, np.array([2, 3]), 2, [1])
    assert set(scores) == {"persistence", "seasonal_naive"}
    # Origin 2 copies index 1 (persistence) and index 0 (seasonal): errors 1 and 2 for both origins.
    assert scores["persistence"]["test_rmse_by_horizon"]["1"] == pytest.approx(1.0)
    assert scores["seasonal_naive"]["test_rmse_by_horizon"]["1"] == pytest.approx(2.0)
    assert set(naive_horizon_scores(VALUES, np.array([1, 2]), 2, [1])) == {"persistence"}


def test_naive_horizon_scores_skip_a_baseline_without_history():
    scores = naive_horizon_scores(VALUES, np.array([5, 6]), 12, [1])
    assert list(scores) == ["persistence"]
    assert naive_horizon_scores(VALUES, np.array([5, 6]), 1, [1]).keys() == {"persistence"}
    assert naive_horizon_scores(VALUES, np.array([], dtype=int), 4, [1]) == {}
