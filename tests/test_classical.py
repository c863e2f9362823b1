"""Classical baselines (statsmodels), scored on exactly the LSTM's targets."""

from __future__ import annotations

import numpy as np
import pytest

from lstmts.evaluation.classical import classical_forecasts
from lstmts.config import airline_csv
from lstmts.data.series import load_series
from lstmts.evaluation.metrics import rmse

SETTINGS = {
    "holt_winters": {"trend": "add", "seasonal": "mul", "damped_trend": False},
    "sarima": {"order": [0, 1, 1], "seasonal_order": [0, 1, 1], "log": True},
}


@pytest.fixture(scope="module")
def airline(compose_config):
    return load_series(compose_config().data, airline_csv()).values


@pytest.fixture(autouse=True)
def no_disk_cache(monkeypatch):
    monkeypatch.setenv("LSTMTS_CACHE", "off")


def test_holt_winters_and_sarima_reproduce_the_published_airline_scores(airline):
    forecasts = classical_forecasts(airline, 96, 12, SETTINGS)
    test = np.arange(96, 144)
    # Fitted on 1949-1956 only, one step ahead over 1957-1960 without refitting.
    assert rmse(airline[test], forecasts["holt_winters"][test]) == pytest.approx(17.16, abs=0.01)
    assert rmse(airline[test], forecasts["sarima"][test]) == pytest.approx(13.74, abs=0.02)


def test_forecasts_of_the_test_period_do_not_depend_on_later_values(airline):
    changed = airline.copy()
    changed[120:] *= 3  # a different future must not change forecasts made before it
    before = classical_forecasts(airline, 96, 12, SETTINGS)
    after = classical_forecasts(changed, 96, 12, SETTINGS)
    for name in ("holt_winters", "sarima"):
        np.testing.assert_allclose(before[name][96:121], after[name][96:121], rtol=1e-6)
        assert not np.allclose(before[name][122:], after[name][122:])


def test_a_series_with_zeros_skips_the_multiplicative_and_log_models_with_a_note():
    values = np.tile(np.array([0.0, 1, 2, 3, 4, 5, 6, 5, 4, 3, 2, 1]), 6) + np.arange(72) * 0.1
    forecasts = classical_forecasts(values, 48, 12, SETTINGS)
    assert forecasts["holt_winters"].startswith("skipped:") and "positive" in forecasts["holt_winters"]
    assert forecasts["sarima"].startswith("skipped:") and "positive" in forecasts["sarima"]


def test_the_cache_returns_the_same_forecasts(airline, tmp_path, monkeypatch):
    monkeypatch.setenv("LSTMTS_CACHE", str(tmp_path))
    first = classical_forecasts(airline, 96, 12, SETTINGS)
    assert any(tmp_path.rglob("*.pkl")), "the first call should have stored its result"
    second = classical_forecasts(airline, 96, 12, SETTINGS)
    np.testing.assert_array_equal(first["sarima"], second["sarima"])


def test_every_run_reports_classical_baselines_and_scaled_metrics(compose_config, tmp_path):
    from lstmts.runs.runner import run

    cfg = compose_config("protocol=honest", "training.epochs=2", "horizons=[]")
    metrics = run(cfg, tmp_path / "run")
    baselines = metrics["baselines"]
    assert baselines["persistence"]["test_rmse"] == pytest.approx(48.04, abs=0.01)
    assert baselines["seasonal_naive"]["test_rmse"] == pytest.approx(41.85, abs=0.01)
    assert baselines["holt_winters"]["test_rmse"] == pytest.approx(17.16, abs=0.01)
    assert baselines["sarima"]["test_rmse"] == pytest.approx(13.74, abs=0.02)
    # MASE of the seasonal naive forecast scaled by its own in-sample error, and the ratio column.
    assert metrics["test_rmse_ratio_to_persistence"] == pytest.approx(metrics["test_rmse"] / 48.04, rel=1e-3)
    assert baselines["seasonal_naive"]["test_mase"] > 0
    assert metrics["samples"]["test"] == 48


def test_classical_baselines_can_be_switched_off(compose_config, tmp_path):
    from lstmts.runs.runner import run

    cfg = compose_config("training.epochs=2", "baselines.classical=false", "horizons=[]")
    metrics = run(cfg, tmp_path / "run")
    assert set(metrics["baselines"]) == {"persistence", "seasonal_naive"}


_APART_PROBE = """
import json, sys
import numpy as np
from lstmts.evaluation.classical import classical_forecasts
from lstmts.config import airline_csv
import pandas as pd
values = pd.read_csv(airline_csv())["Passengers"].to_numpy(dtype="float64")
settings = json.loads(sys.argv[1])
first = classical_forecasts(values, 96, 12, settings, apart=True)
imported_here = "statsmodels" in sys.modules
again = classical_forecasts(values, 96, 12, settings, apart=True)  # now from the cache
print(json.dumps({"imported_here": imported_here, "same": all(np.array_equal(first[k], again[k]) for k in first),
                  "sarima_test": float(np.sqrt(np.mean((values[96:] - first["sarima"][96:]) ** 2)))}))
"""


def test_an_uncached_fit_runs_in_a_child_while_tensorflow_is_not_loaded(tmp_path, airline):
    import json
    import os
    import subprocess
    import sys

    env = {**os.environ, "LSTMTS_CACHE": str(tmp_path)}
    result = subprocess.run([sys.executable, "-c", _APART_PROBE, json.dumps(SETTINGS)], env=env, cwd=tmp_path,
                            capture_output=True, text=True, timeout=240, check=False)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["imported_here"] is False  # statsmodels stayed in the child
    assert report["same"] is True
    assert report["sarima_test"] == pytest.approx(13.74, abs=0.02)
    in_process = classical_forecasts(airline, 96, 12, SETTINGS)  # TensorFlow may be loaded here: no child
    assert rmse(airline[96:], in_process["sarima"][96:]) == pytest.approx(report["sarima_test"], abs=1e-9)
