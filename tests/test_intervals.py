"""Tests of lstmts.evaluation.intervals: conformal widths by hand, bounds, coverage, and a run's intervals."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from lstmts.evaluation.intervals import bounds, calibration_errors, conformal_quantiles, coverage, path_bounds


def test_calibration_errors_per_horizon_stop_before_the_held_out_period():
    values = np.arange(10.0)
    origins = np.array([3, 4, 5])
    paths = np.array([[2.0, 5.0], [4.5, 6.0], [5.0, 7.5]])  # forecasts of 3,4 / 4,5 / 5,6
    errors = calibration_errors(paths, origins, values, stop=6, relative=False)
    np.testing.assert_allclose(errors[0], [1.0, -0.5, 0.0])  # 3-2, 4-4.5, 5-5
    np.testing.assert_allclose(errors[1], [-1.0, -1.0])      # 4-5, 5-6; target 6 is not before stop
    relative = calibration_errors(paths, origins, values, stop=6, relative=True)
    np.testing.assert_allclose(relative[0], [3 / 2 - 1, 4 / 4.5 - 1, 0.0])


def test_conformal_width_is_the_ceil_n_plus_1_level_smallest_absolute_error():
    errors = [np.array([0.1, -0.4, 0.3, -0.2, 0.5, 0.05, -0.6, 0.35, 0.15]), np.array([1.0, 2.0])]
    widths = conformal_quantiles(errors, levels=(0.8, 0.5))
    # n = 9: ceil(10 * 0.8) = 8th smallest of |e| sorted (.05 .1 .15 .2 .3 .35 .4 .5 .6) = 0.5
    assert widths["80"][0] == pytest.approx(0.5)
    assert widths["50"][0] == pytest.approx(0.3)  # ceil(10 * 0.5) = 5th
    # n = 2: ceil(3 * 0.8) = 3 > 2: too few errors for an 80 % interval
    assert widths["80"][1] is None
    assert widths["50"][1] == pytest.approx(2.0)  # ceil(1.5) = 2nd


def test_conformal_width_of_rank_one_is_the_smallest_error_and_non_finite_errors_do_not_count():
    # n = 1 finite error (NaN and inf left out): ceil(2 * 0.5) = 1st smallest; ceil(2 * 0.8) = 2 > 1: none.
    widths = conformal_quantiles([np.array([-3.0, np.nan, np.inf])], levels=(0.5, 0.8))
    assert widths == {"50": [3.0], "80": [None]}
    # n = 3: ceil(4 * 0.25) = 1st smallest.
    assert conformal_quantiles([np.array([0.7, -0.2, 0.4])], levels=(0.25,)) == {"25": [pytest.approx(0.2)]}


def test_bounds_absolute_and_relative():
    lower, upper = bounds(np.array([100.0, 200.0]), 0.1, relative=True)
    np.testing.assert_allclose(lower, [90, 180])
    np.testing.assert_allclose(upper, [110, 220])
    lower, upper = bounds(np.array([100.0, 200.0]), 5.0, relative=False)
    np.testing.assert_allclose(lower, [95, 195])
    np.testing.assert_allclose(upper, [105, 205])


def test_path_bounds_reuse_the_last_calibrated_width_beyond_it():
    lower, upper = path_bounds(np.array([10.0, 10, 10, 10]), [1.0, 2.0], relative=False)
    np.testing.assert_allclose(upper - lower, [2, 4, 4, 4])
    # A horizon without a width has no band; beyond the calibrated ones the last known width is used.
    lower, upper = path_bounds(np.array([10.0, 10, 10, 10]), [1.0, None], relative=False)
    np.testing.assert_allclose(upper - lower, [2, np.nan, 2, 2])
    lower, upper = path_bounds(np.array([10.0, 10]), [None, None], relative=False)
    assert np.isnan(lower).all() and np.isnan(upper).all() and len(lower) == 2


def test_coverage_counts_the_actual_values_inside():
    actual = np.array([1.0, 2, 3, 4])
    assert coverage(actual, np.array([0.0, 2.5, 2.5, 5]), np.array([2.0, 3, 3.5, 6])) == pytest.approx(0.5)
    assert coverage(actual, np.full(4, np.nan), np.full(4, np.nan)) is None
    # The interval is closed: a value on either bound is inside; steps without a band are not counted.
    assert coverage(actual, np.array([1.0, 0, 3.5, np.nan]), np.array([1.5, 2, 4, np.nan])) == pytest.approx(2 / 3)


def test_a_run_reports_intervals_and_their_test_coverage(compose_config, tmp_path):
    from lstmts.runs.runner import run

    cfg = compose_config("protocol=honest", "training.epochs=3", "baselines.classical=false", "horizons=[1,2]",
                         "split.validation_fraction=0.2")
    metrics = run(cfg, tmp_path)
    saved = json.loads((tmp_path / "intervals.json").read_text())
    assert saved["calibrated_on"] == "validation" and saved["errors"] == "absolute"
    frame = pd.read_csv(tmp_path / "predictions.csv")
    test = frame[frame["split"] == "test"]
    width_80 = saved["widths"]["80"][0]
    np.testing.assert_allclose(test["upper_80"] - test["prediction"], width_80)
    np.testing.assert_allclose(test["prediction"] - test["lower_80"], width_80)
    assert saved["widths"]["95"][0] >= width_80
    inside = ((test["actual"] >= test["lower_95"]) & (test["actual"] <= test["upper_95"])).mean()
    assert metrics["intervals"]["test_coverage"]["95"] == pytest.approx(inside)
    assert frame.loc[frame["split"] != "test", "lower_80"].isna().all()
    assert set(metrics["intervals"]["test_coverage_by_horizon"]["80"]) == {"1", "2"}


def test_the_intervals_are_calibrated_on_targets_before_the_test_period_only(compose_config, tmp_path):
    from lstmts.config import airline_csv
    from lstmts.runs.runner import run

    frame = pd.read_csv(airline_csv())
    column = frame.columns[-1]
    saved = {}
    for name, factor in (("plain", 1.0), ("test-times-10", 10.0)):
        changed = frame.copy()
        changed.loc[96:, column] = changed.loc[96:, column] * factor  # the test part: 96 = 0.67 x 144
        path = tmp_path / f"{name}.csv"
        changed.to_csv(path, index=False)
        cfg = compose_config("data=csv", f"data.path={path}", f"data.column={column}", f"data.date_column={frame.columns[0]}",
                             "training.epochs=2", "baselines.classical=false", "horizons=[1,3]", "intervals.steps=3",
                             "split.validation_fraction=0.2", "report.tensorboard=false")
        metrics = run(cfg, tmp_path / name)
        assert metrics["intervals"]["calibrated_on"] == "validation"
        saved[name] = json.loads((tmp_path / name / "intervals.json").read_text())
    # The validation period's h-step errors stop where it ends: the test values never move a width.
    assert saved["plain"]["widths"] == saved["test-times-10"]["widths"]
    assert saved["plain"]["calibration_targets"] == saved["test-times-10"]["calibration_targets"]
