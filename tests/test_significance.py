"""Tests of the Diebold-Mariano test of a run against its best baseline (lstmts.evaluation.significance)."""

from __future__ import annotations

import io
import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from lstmts.evaluation.significance import diebold_mariano, long_run_variance
from lstmts.runs import runner

SHIPPED_CSV = Path(__file__).resolve().parents[1] / "data" / "airline-passengers.csv"


def test_one_step_by_hand():
    actual = np.array([10.0, 12.0, 11.0, 13.0, 12.0])
    first = np.array([11.0, 12.0, 10.0, 13.0, 14.0])  # errors -1, 0, 1, 0, -2: squared 1, 0, 1, 0, 4
    second = np.array([12.0, 10.0, 11.0, 10.0, 12.0])  # errors -2, 2, 0, 3, 0: squared 4, 4, 0, 9, 0
    # d = 1-4, 0-4, 1-0, 0-9, 4-0 = -3, -4, 1, -9, 4; mean -2.2
    # deviations -0.8, -1.8, 3.2, -6.8, 6.2; squares 0.64 + 3.24 + 10.24 + 46.24 + 38.44 = 98.8
    # γ0 = 98.8 / 5 = 19.76; variance of the mean 19.76 / 5 = 3.952
    # DM = -2.2 / sqrt(3.952); HLN (h = 1): sqrt((5 + 1 - 2) / 5) = sqrt(0.8)
    statistic = math.sqrt(0.8) * -2.2 / math.sqrt(3.952)
    test = diebold_mariano(actual, first, second)
    assert test["targets"] == 5
    assert test["statistic"] == pytest.approx(statistic, rel=1e-12)
    assert test["statistic"] == pytest.approx(-0.98983, abs=1e-5)
    assert test["p_value"] == pytest.approx(2 * stats.t.sf(abs(statistic), df=4), rel=1e-10)


def test_two_steps_ahead_by_hand():
    actual = np.zeros(6)
    first = np.array([1.0, 2.0, 3.0, 3.0, 2.0, 1.0])  # squared 1, 4, 9, 9, 4, 1
    second = np.full(6, 2.0)  # squared 4 throughout
    # d = -3, 0, 5, 5, 0, -3: mean 2/3; deviations -11/3, -2/3, 13/3, 13/3, -2/3, -11/3
    # γ0 = (121 + 4 + 169 + 169 + 4 + 121) / 9 / 6 = 588 / 54
    # γ1: the neighbours' products, in ninths, (-11)(-2) + (-2)(13) + (13)(13) + (13)(-2) + (-2)(-11) = 161: 161 / 9 / 6
    gamma0, gamma1 = 588 / 54, 161 / 54
    variance = (gamma0 + 2 * gamma1) / 6
    # HLN (h = 2): sqrt((n + 1 - 2h + h(h - 1) / n) / n) = sqrt((6 + 1 - 4 + 2 / 6) / 6)
    statistic = math.sqrt((3 + 1 / 3) / 6) * (2 / 3) / math.sqrt(variance)
    test = diebold_mariano(actual, first, second, horizon=2)
    assert test["statistic"] == pytest.approx(statistic, rel=1e-12)
    assert test["p_value"] == pytest.approx(2 * stats.t.sf(abs(statistic), df=5), rel=1e-10)
    # One step ahead the same errors give another statistic: no lag-1 term, another correction.
    assert diebold_mariano(actual, first, second)["statistic"] != pytest.approx(statistic, rel=1e-3)


def test_a_long_run_variance_that_is_not_positive_gives_none():
    # d = -3, 3, -3, 8, -3, 3 alternates: its lag-1 autocovariance outweighs its variance.
    actual = np.zeros(6)
    first = np.array([1.0, 2.0, 1.0, 3.0, 1.0, 2.0])
    second = np.array([2.0, 1.0, 2.0, 1.0, 2.0, 1.0])
    assert diebold_mariano(actual, first, second, horizon=2) is None
    assert diebold_mariano(actual, first, second)["targets"] == 6  # one step ahead it has one


@pytest.mark.parametrize("lags", [0, 1, 2, 5])
def test_the_long_run_variance_is_statsmodels_hac_with_a_uniform_kernel(lags):
    from statsmodels.regression.linear_model import OLS

    values = np.random.default_rng(lags).normal(0.2, 1.0, 40)
    fit = OLS(values, np.ones(len(values))).fit(
        cov_type="HAC", cov_kwds={"maxlags": lags, "kernel": "uniform", "use_correction": False})
    assert long_run_variance(values, lags) == pytest.approx(float(fit.bse[0]) ** 2, rel=1e-12)


def test_swapping_the_forecasts_flips_the_sign_and_keeps_the_p_value():
    rng = np.random.default_rng(3)
    actual = rng.normal(size=30)
    first, second = actual + rng.normal(0, 1, 30), actual + rng.normal(0, 1.3, 30)
    forward, backward = diebold_mariano(actual, first, second), diebold_mariano(actual, second, first)
    assert forward["statistic"] == pytest.approx(-backward["statistic"], rel=1e-12)
    assert forward["p_value"] == pytest.approx(backward["p_value"], rel=1e-12)


def test_a_clearly_better_forecast_is_significant_and_an_equal_one_is_not():
    rng = np.random.default_rng(0)
    actual = rng.normal(size=300)
    better = diebold_mariano(actual, actual + rng.normal(0, 0.5, 300), actual + rng.normal(0, 1.0, 300))
    assert better["statistic"] < 0 and better["p_value"] < 0.001
    equal = diebold_mariano(actual, actual + rng.normal(0, 1.0, 300), actual + rng.normal(0, 1.0, 300))
    assert equal["p_value"] > 0.05


def test_targets_without_every_forecast_are_left_out_and_too_few_give_none():
    actual = np.array([1.0, 2.0, 3.0, 4.0, 5.0, 6.0])
    first = np.array([np.nan, 2.5, 3.5, 3.0, 5.0, 7.0])
    second = np.array([1.0, 2.0, 2.0, 4.5, np.nan, 5.0])
    kept = [1, 2, 3, 5]
    assert diebold_mariano(actual, first, second) == diebold_mariano(actual[kept], first[kept], second[kept])
    assert diebold_mariano(actual, first, second)["targets"] == 4
    assert diebold_mariano(actual[:2], first[1:3], second[:2]) is None  # 2 targets
    assert diebold_mariano(actual, actual + 1, actual - 1) is None  # the same squared errors throughout


@pytest.mark.parametrize("split", [[], ["protocol=honest", "split.validation_fraction=0.25"]],
                         ids=["chosen on test", "chosen on validation"])
def test_a_run_records_and_prints_the_test_of_its_forecasts_against_its_best_baseline(compose_config, tmp_path,
                                                                                   split):
    from rich.console import Console

    from lstmts.report.tables import print_summary

    cfg = compose_config("training.epochs=2", "baselines.classical=false", *split)
    metrics = runner.run(cfg, tmp_path / "run")
    best = metrics["best_baseline"]
    assert best["chosen_on"] == ("validation" if split else "test")
    saved = json.loads((tmp_path / "run" / "metrics.json").read_text())["best_baseline"]["diebold_mariano"]

    # Again from the run's predictions and the airline file: the naive baseline is the value 1 or 12 months back.
    values = pd.read_csv(SHIPPED_CSV)["Passengers"].to_numpy(dtype=float)
    predictions = pd.read_csv(tmp_path / "run" / "predictions.csv", parse_dates=["date"])
    test = predictions[predictions["split"] == "test"]
    position = ((test["date"].dt.year - 1949) * 12 + test["date"].dt.month - 1).to_numpy()
    assert np.allclose(values[position], test["actual"])
    lag = {"persistence": 1, "seasonal_naive": 12}[best["name"]]
    expected = diebold_mariano(values[position], test["prediction"].to_numpy(), values[position - lag])
    assert saved == pytest.approx(expected, rel=1e-9)
    assert saved["targets"] == metrics["samples"]["test"]

    out = io.StringIO()
    print_summary(metrics, tmp_path / "run", Console(file=out, width=400))
    word = "significant" if expected["p_value"] < 0.05 else "not significant"
    assert f"; {word} at 5 %: Diebold-Mariano p " in out.getvalue()
    assert f"on {expected['targets']} targets)" in out.getvalue()
