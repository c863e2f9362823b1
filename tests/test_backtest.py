"""Rolling-origin backtests: origins, no peeking past an origin, refits, and a run folder."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pandas as pd
import pytest

from lstmts.config import airline_csv
from lstmts.data.series import load_series
from lstmts.runs import backtest


@pytest.fixture
def cfg(compose_config):
    return compose_config("protocol=honest", "framing.look_back=3", "training.epochs=2", "evaluation=backtest",
                          "evaluation.horizon=3")


def test_origins_every_k_steps_or_evenly_spaced_folds(cfg):
    np.testing.assert_array_equal(backtest.origins_of(cfg, 96, 144), np.arange(96, 144))
    cfg.evaluation.every = 12
    np.testing.assert_array_equal(backtest.origins_of(cfg, 96, 144), [96, 108, 120, 132])
    cfg.evaluation.folds = 3
    np.testing.assert_array_equal(backtest.origins_of(cfg, 96, 144), [96, 120, 143])


def test_a_forecast_never_sees_data_after_its_origin(cfg):
    series = load_series(cfg.data, airline_csv())
    changed = dataclasses.replace(series, values=np.where(np.arange(len(series.values)) >= 110,
                                                          series.values * 3, series.values))
    origins = np.array([100, 110, 120])
    before, _ = backtest.lstm_paths(cfg, series, origins, 3)
    after, _ = backtest.lstm_paths(cfg, changed, origins, 3)
    np.testing.assert_array_equal(before[:2], after[:2])  # origins 100 and 110 use values before 110 only
    assert not np.allclose(before[2], after[2])
    classical_before = backtest.baseline_paths(cfg, series, origins, 3, 12)[0]
    classical_after = backtest.baseline_paths(cfg, changed, origins, 3, 12)[0]
    for method in ("holt_winters", "sarima"):
        np.testing.assert_allclose(classical_before[method][:2], classical_after[method][:2], rtol=1e-9)
        assert not np.allclose(classical_before[method][2], classical_after[method][2])


def test_refit_every_k_origins_and_the_sliding_window(cfg):
    series = load_series(cfg.data, airline_csv())
    cfg.evaluation.refit_every = 2
    paths, seconds = backtest.lstm_paths(cfg, series, np.array([100, 101, 102, 103]), 3)
    assert len(seconds) == 2 and np.isfinite(paths).all()
    cfg.evaluation.refit_every = 1
    cfg.evaluation.window = "sliding"
    shifted = dataclasses.replace(series, values=np.where(np.arange(len(series.values)) < 10, 1.0, series.values))
    slid, _ = backtest.lstm_paths(cfg, series, np.array([100, 110]), 3)
    slid_changed, _ = backtest.lstm_paths(cfg, shifted, np.array([100, 110]), 3)
    # The window of origin 110 starts at 10: what came before it does not count.
    np.testing.assert_array_equal(slid[1], slid_changed[1])


def test_a_backtest_run_writes_every_origin_and_horizon(cfg, tmp_path):
    cfg.evaluation.folds = 4
    metrics = backtest.run_backtest(cfg, tmp_path)
    frame = pd.read_csv(tmp_path / "backtest.csv")
    assert frame["origin"].nunique() == 4 and set(frame["horizon"]) == {1, 2, 3}
    assert set(frame.columns) >= {"origin", "horizon", "target", "actual", "lstm", "holt_winters", "sarima"}
    h1 = frame[frame["horizon"] == 1]
    assert metrics["test_rmse_by_horizon"]["1"] == pytest.approx(float(np.sqrt(np.mean((h1["actual"] - h1["lstm"]) ** 2))))
    assert metrics["baselines"]["sarima"]["test_rmse_by_horizon"]["1"] == pytest.approx(
        float(np.sqrt(np.mean((h1["actual"] - h1["sarima"]) ** 2))))
    saved = json.loads((tmp_path / "metrics.json").read_text())
    assert saved["status"] == "ok" and saved["backtest"]["refits"] == 4 and saved["backtest"]["origins"] == 4
    # The last origin is the last month: scored one step ahead only.
    assert saved["backtest"]["origins_by_horizon"] == {"1": 4, "2": 3, "3": 3}
    assert frame.groupby("horizon")["origin"].nunique().to_dict() == {1: 4, 2: 3, 3: 3}
    assert (tmp_path / "backtest.png").stat().st_size > 0
    # Each baseline's Diebold-Mariano p-values against the LSTM, from the same forecasts; the four origins are
    # more than 3 steps apart (evaluation.folds), so no two h-step errors overlap (the test's horizon 1 at every h).
    from lstmts.evaluation.significance import diebold_mariano

    for h in ("1", "2", "3"):
        at = frame[frame["horizon"] == int(h)]
        expected = diebold_mariano(at["actual"], at["lstm"], at["sarima"], horizon=1)
        assert saved["baselines"]["sarima"]["p_by_horizon"][h] == pytest.approx(expected["p_value"], rel=1e-9)
    # The run table puts them on a row under each baseline's RMSEs.
    import io

    from rich.console import Console

    from lstmts.report.tables import p_value, print_backtest

    out = io.StringIO()
    print_backtest(saved, tmp_path, Console(file=out, width=200))
    lines = out.getvalue().splitlines()
    row = lines[next(i for i, line in enumerate(lines) if "SARIMA" in line) + 1]
    assert "p vs LSTM" in row and p_value(saved["baselines"]["sarima"]["p_by_horizon"]["1"]) in row


def test_the_baselines_fit_while_the_lstm_refits(cfg):
    series = load_series(cfg.data, airline_csv())
    origins = np.array([100, 110])
    events = []

    def meanwhile():
        events.append("lstm")
        return "done"

    paths, seconds, value = backtest.baseline_paths(cfg, series, origins, 3, 12, meanwhile=meanwhile)
    assert value == "done" and events == ["lstm"]
    assert set(paths) == {"holt_winters", "sarima"} and all(p.shape == (2, 3) for p in paths.values())
    assert seconds > 0


def test_origins_by_horizon_counts_the_origins_whose_target_is_inside_the_series():
    assert backtest.origins_by_horizon(np.array([96, 112, 127, 143]), 3, 144) == {"1": 4, "2": 3, "3": 3}
    assert backtest.origins_by_horizon(np.array([96, 130, 140]), 5, 144) == {"1": 3, "2": 3, "3": 3, "4": 3, "5": 2}


def test_resume_keeps_a_finished_backtest_and_reruns_it_when_its_data_changed(compose_config, tmp_path):
    from lstmts.runs import runner

    data = tmp_path / "series.csv"
    data.write_bytes(airline_csv().read_bytes())
    cfg = compose_config("protocol=honest", "framing.look_back=3", "training.epochs=1", "evaluation=backtest",
                         "evaluation.horizon=2", "evaluation.folds=2", "baselines.classical=false", "data=csv",
                         f"data.path={data}", "data.column=Passengers", "data.date_column=Month")
    metrics = backtest.run_backtest(cfg, tmp_path / "run")
    assert metrics["status"] == "ok"
    kept = runner.finished_run(cfg, tmp_path / "run")
    assert kept is not None and kept["backtest"] == json.loads((tmp_path / "run" / "metrics.json").read_text())["backtest"]
    (tmp_path / "run" / "backtest.csv").unlink()
    assert runner.finished_run(cfg, tmp_path / "run") is None  # incomplete
    backtest.run_backtest(cfg, tmp_path / "run")
    assert runner.finished_run(cfg, tmp_path / "run") is not None
    data.write_text(data.read_text().replace("112", "113", 1))  # the same path, other values
    assert runner.finished_run(cfg, tmp_path / "run") is None


@pytest.mark.parametrize("spacing, horizons", [(1, [1, 2, 3]), (2, [1, 1, 2]), (3, [1, 1, 1])])
def test_backtest_p_values_count_the_overlap_of_h_step_errors_from_origins_k_apart(spacing, horizons):
    from lstmts.evaluation.significance import diebold_mariano

    rng = np.random.default_rng(spacing)
    values = 100 + rng.normal(0, 5, 200)
    origins = np.arange(100, 200, spacing)
    lstm, baseline = (rng.normal(100, 5, (len(origins), 3)) for _ in range(2))
    tested = backtest.p_by_horizon(lstm, baseline, origins, values)
    for step, test_horizon in enumerate(horizons):
        targets = origins + step
        inside = targets < 200
        expected = diebold_mariano(values[targets[inside]], lstm[inside, step], baseline[inside, step], test_horizon)
        assert tested[str(step + 1)] == pytest.approx(expected["p_value"], rel=1e-12)
