"""Tests of lstmts.evaluation: metrics and naive baselines on hand-checkable arrays."""

from __future__ import annotations

import math

import numpy as np
import pytest

from lstmts.evaluation.metrics import mae, mase, rmse, score, seasonal_scale
from lstmts.evaluation.naive import naive_baselines, naive_forecast

ACTUAL = np.array([1.0, 2.0, 3.0])
PREDICTED = np.array([1.0, 2.0, 5.0])


def test_rmse():
    assert rmse(ACTUAL, PREDICTED) == pytest.approx(math.sqrt(4 / 3))
    assert rmse([0.0, 0.0], [3.0, -4.0]) == pytest.approx(math.sqrt(12.5))
    assert rmse(ACTUAL, ACTUAL) == 0.0


def test_mae():
    assert mae(ACTUAL, PREDICTED) == pytest.approx(2 / 3)
    assert mae([0.0, 0.0], [3.0, -4.0]) == pytest.approx(3.5)


def test_metrics_are_computed_in_float64():
    # float32 would lose the difference between these two values.
    assert rmse(np.array([1e8], np.float32), np.array([1e8 + 4])) == pytest.approx(4.0)


def test_mase_divides_the_mae_by_the_scale():
    assert mase(ACTUAL, PREDICTED, 2.0) == pytest.approx(1 / 3)
    assert mase(ACTUAL, PREDICTED, None) is None


def test_seasonal_scale_is_the_in_sample_mae_of_the_seasonal_naive_forecast():
    values = np.array([1.0, 2.0, 4.0, 7.0, 11.0, 100.0])
    assert seasonal_scale(values, 5, 1) == pytest.approx((1 + 2 + 3 + 4) / 4)
    assert seasonal_scale(values, 5, 2) == pytest.approx((3 + 5 + 7) / 3)


def test_seasonal_scale_is_none_without_a_full_season_or_without_change():
    assert seasonal_scale(np.arange(12.0), 12, 12) is None
    assert seasonal_scale(np.ones(30), 30, 12) is None


def test_score_returns_every_metric_on_the_same_targets():
    assert score(ACTUAL, PREDICTED, 2.0) == pytest.approx({"rmse": math.sqrt(4 / 3), "mae": 2 / 3, "mase": 1 / 3})
    assert score(ACTUAL, PREDICTED)["mase"] is None


VALUES = np.arange(20.0) * 10


def test_persistence_forecast_is_the_previous_value():
    assert naive_forecast(VALUES, np.array([3, 5]), 1).tolist() == [20.0, 40.0]


def test_seasonal_naive_forecast_is_the_value_one_season_back():
    assert naive_forecast(VALUES, np.array([12, 19]), 12).tolist() == [0.0, 70.0]
    assert naive_forecast(VALUES, np.array([3, 5]), 3).tolist() == [0.0, 20.0]


def test_naive_forecast_is_none_when_some_target_has_no_history():
    assert naive_forecast(VALUES, np.array([3, 5]), 4) is None
    assert naive_forecast(VALUES, np.array([11, 15]), 12) is None
    assert naive_forecast(VALUES, np.array([], dtype=int), 1) is None


def test_naive_baselines_leave_out_the_seasonal_one_without_a_season_of_history():
    baselines = naive_baselines(VALUES, np.array([5, 6]), 12)
    assert list(baselines) == ["persistence"]
    assert baselines["persistence"].tolist() == [40.0, 50.0]
    both = naive_baselines(VALUES, np.array([12, 13]), 12)
    assert both["seasonal_naive"].tolist() == [0.0, 10.0]


def test_repeat_scores_of_two_models_and_their_ensemble_by_hand():
    from lstmts.evaluation.scoring import repeat_scores

    values = np.array([0.0, 0.0, 10.0, 20.0, 30.0])
    targets = {"train": np.array([2, 3]), "test": np.array([4])}
    per_seed = [(7, {"train": np.array([12.0, 20.0]), "test": np.array([27.0])}),
                (8, {"train": np.array([10.0, 24.0]), "test": np.array([35.0])})]
    scores = repeat_scores(values, targets, per_seed)
    assert scores["seeds"] == [7, 8]
    # train: seed 7 errors 2 0 -> sqrt(2); seed 8 errors 0 4 -> sqrt(8); the mean prediction 11 22: errors 1 2.
    assert scores["train_rmse"] == pytest.approx([math.sqrt(2), math.sqrt(8)])
    assert scores["train_rmse_mean"] == pytest.approx((math.sqrt(2) + math.sqrt(8)) / 2)
    assert scores["train_rmse_std"] == pytest.approx(abs(math.sqrt(8) - math.sqrt(2)) / math.sqrt(2))
    assert scores["ensemble_train_rmse"] == pytest.approx(math.sqrt(2.5))
    # test: errors -3 and 5; the mean prediction 31 is 1 off.
    assert scores["test_rmse"] == pytest.approx([3.0, 5.0])
    assert scores["test_rmse_std"] == pytest.approx(math.sqrt(2))
    assert scores["ensemble_test_rmse"] == pytest.approx(1.0)


def test_baseline_scores_on_the_validation_and_test_targets_by_hand():
    from lstmts.evaluation.scoring import baseline_scores

    values = np.array([1.0, 3.0, 2.0, 6.0, 4.0, 9.0])
    theta = np.array([0.0, 0.0, 0.0, 5.0, 5.0, 5.0])  # one-step forecasts of every index
    baselines = baseline_scores(values, {"validation": np.array([3]), "test": np.array([4, 5])}, 2, 2.0,
                                {"theta": theta, "sarima": "skipped: too short"})
    # Persistence: validation 6 vs 2; test 4 vs 6 and 9 vs 4 (errors 2 and 5).
    assert baselines["persistence"]["validation_rmse"] == pytest.approx(4.0)
    assert baselines["persistence"]["test_rmse"] == pytest.approx(math.sqrt((4 + 25) / 2))
    assert baselines["persistence"]["test_mae"] == pytest.approx(3.5)
    assert baselines["persistence"]["test_mase"] == pytest.approx(3.5 / 2)
    # Seasonal naive (season 2): validation 6 vs 3; test 4 vs 2 and 9 vs 6.
    assert baselines["seasonal_naive"]["validation_rmse"] == pytest.approx(3.0)
    assert baselines["seasonal_naive"]["test_mae"] == pytest.approx(2.5)
    # Theta's forecasts of exactly those indices: 5 vs 6; 5 vs 4 and 5 vs 9.
    assert baselines["theta"]["validation_mae"] == pytest.approx(1.0)
    assert baselines["theta"]["test_mae"] == pytest.approx(2.5)
    assert baselines["sarima"] == {"note": "skipped: too short"}


def test_baseline_scores_without_a_validation_period_have_test_scores_only():
    from lstmts.evaluation.scoring import baseline_scores

    baselines = baseline_scores(VALUES, {"test": np.array([14, 15])}, 12, None, {})
    assert set(baselines) == {"persistence", "seasonal_naive"}
    assert set(baselines["persistence"]) == {"test_rmse", "test_mae", "test_mase"}
    assert baselines["persistence"]["test_rmse"] == pytest.approx(10.0)
    assert baselines["seasonal_naive"]["test_rmse"] == pytest.approx(120.0)
    assert baselines["persistence"]["test_mase"] is None


@pytest.mark.parametrize("value, expected", [(1, 1.0), (2.5, 2.5), (True, None), (float("nan"), None),
                                             (float("inf"), None), ("3", None), (None, None)])
def test_finite_number(value, expected):
    from lstmts.evaluation.scoring import finite_number

    assert finite_number(value) == expected
