"""Collections in production: every series' future with intervals (lstmts forecast on a collection run)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from lstmts.data.collection import Member
from lstmts.evaluation import competition
from lstmts.runs import collection as runs_collection
from lstmts.runs import collection_job
from lstmts.runs import collection_intervals


def _panel(path, spec: dict[str, tuple[str, str, int]], seed: int = 0):
    """A long CSV: {id: (first date, pandas frequency, length)}, a level, a season and noise each."""
    rng = np.random.default_rng(seed)
    rows = []
    for k, (name, (start, freq, length)) in enumerate(spec.items()):
        dates = pd.date_range(start, periods=length, freq=freq)
        values = 40 + 10 * k + 3 * np.sin(np.arange(length)) + 0.2 * np.arange(length) + rng.normal(0, 0.3, length)
        rows += [{"id": name, "when": d.strftime("%Y-%m-%d"), "y": v} for d, v in zip(dates, values)]
    pd.DataFrame(rows).to_csv(path, index=False)


def _common(path, *extra):
    return ["data=collection", f"data.path={path}", "data.id_column=id", "data.date_column=when",
            "data.value_column=y", "data.horizon=4", "framing=timesteps", "framing.look_back=6",
            "training.epochs=2", "training.batch_size=8", "model.units=3",
            "collection.baselines=[naive,seasonal_naive]", *extra]


# --- intervals by hand --------------------------------------------------------------------------

def test_msis_and_coverage_of_a_toy_interval_by_hand():
    actual = np.array([10.0, 14.0, 7.0, 12.0])
    lower = np.array([9.0, 10.0, 8.0, 10.0])
    upper = np.array([11.0, 13.0, 9.0, 14.0])
    insample = np.array([1.0, 3.0, 2.0, 6.0])  # naive errors 2, 1, 4: scale 7 / 3
    # Widths 2, 3, 1, 4; at 80 % (alpha 0.2) each unit outside costs 2 / 0.2 = 10: step 2 is 1 above
    # (10), step 3 is 1 below (10). Mean (2 + 13 + 11 + 4) / 4 = 7.5, over the scale 7 / 3.
    assert competition.msis(actual, lower, upper, insample, 1, 0.8) == pytest.approx(7.5 / (7 / 3))
    # At 95 % (alpha 0.05) the penalty is 40 per unit: (2 + 43 + 41 + 4) / 4 = 22.5.
    assert competition.msis(actual, lower, upper, insample, 1, 0.95) == pytest.approx(22.5 / (7 / 3))
    members = [Member("a", insample, actual, 1, "positions")]
    scored = collection_intervals.score(members, {"m": [{"80": (lower, upper)}]})
    assert scored["m"]["coverage_80"] == pytest.approx(0.5)  # steps 1 and 4 inside, 2 and 3 outside
    assert scored["m"]["msis_80"] == pytest.approx(7.5 / (7 / 3))


def test_calibration_pools_errors_scaled_by_each_series_and_gives_each_its_own_width():
    # Two series whose held-back horizon (2 steps) a stub forecasts as all zeros: the errors are the values.
    a = Member("a", np.array([0.0, 2.0, 0.0, 2.0, 0.0, 4.0, 2.0]), np.array([9.0, 9.0]), 1, "monthly")
    b = Member("b", np.array([0.0, 20.0, 0.0, 20.0, 0.0, 10.0, 30.0]), np.array([9.0, 9.0]), 1, "monthly")
    seen = []

    def zeros(held):
        seen.extend(held)
        return [np.zeros(m.horizon) for m in held]

    calibration = collection_intervals.calibrate([a, b], zeros, [0.5])
    # Held back: each series' last 2 training values; scales from the 5 before them (naive errors: 2, 20).
    assert [list(m.test) for m in seen] == [[4.0, 2.0], [10.0, 30.0]]
    # Scaled errors: step 1: 4 / 2 = 2 and 10 / 20 = 0.5; step 2: 1 and 1.5. The 50 % conformal
    # quantile is the ceil(3 * 0.5) = 2nd smallest: 2 at step 1, 1.5 at step 2.
    assert calibration.quantiles == {"monthly": {"50": [2.0, 1.5]}}
    bands = collection_intervals.bands(calibration, a, np.array([100.0, 100.0, 100.0]), 3.0)
    lower, upper = bands["50"]
    np.testing.assert_allclose(lower, [94.0, 95.5, 95.5])  # the third step keeps the last width
    np.testing.assert_allclose(upper, [106.0, 104.5, 104.5])


def test_a_series_too_short_to_give_up_a_horizon_does_not_calibrate():
    short = Member("s", np.array([1.0, 2.0, 3.0]), np.array([4.0, 5.0]), 1, "yearly")
    assert not collection_intervals.can_calibrate(short)
    assert collection_intervals.calibrate([short], lambda held: [], [0.8]) is None


def test_statsforecast_intervals_of_ets_and_arima_bracket_their_forecasts_and_are_cached(private_caches):
    pytest.importorskip("statsforecast")
    rng = np.random.default_rng(3)
    trains = [50 + 5 * np.sin(np.arange(48) * 2 * np.pi / 12) + rng.normal(0, 1, 48) for _ in range(2)]
    asked = []
    first = competition.baseline_forecasts(trains, [6, 6], [12, 12], ["ets", "arima", "comb"], n_jobs=1,
                                           levels=[80, 95], on_fit=lambda method, count: asked.append(method))
    assert set(first.bands) == {"ets", "arima"}
    for method in ("ets", "arima"):
        for k in range(2):
            forecast = first.forecasts[method][k]
            low80, high80 = first.bands[method]["80"][0][k], first.bands[method]["80"][1][k]
            low95, high95 = first.bands[method]["95"][0][k], first.bands[method]["95"][1][k]
            assert np.all(low95 < low80) and np.all(low80 < forecast) and np.all(forecast < high80)
            assert np.all(high80 < high95)
    again = []
    second = competition.baseline_forecasts(trains, [6, 6], [12, 12], ["ets", "arima", "comb"], n_jobs=1,
                                            levels=[80, 95], on_fit=lambda method, count: again.append(method))
    assert again == [] and asked == ["theta", "ets", "arima"]
    np.testing.assert_array_equal(second.bands["ets"]["95"][0][1], first.bands["ets"]["95"][0][1])


# --- forecasts past the data ------------------------------------------------------------------

@pytest.fixture(scope="module")
def mixed_run(tmp_path_factory, compose_config):
    """One global collection run over monthly and quarterly series that end at different dates."""
    from lstmts.runs.collection_job import run_collection

    work = tmp_path_factory.mktemp("future")
    _panel(work / "panel.csv", {"m1": ("2001-01-01", "MS", 40), "m2": ("2003-05-01", "MS", 30),
                                "q1": ("1990-01-01", "QS", 28)})
    # Levels that two monthly and one quarterly series can calibrate: the ceil((n + 1) level)-th of n errors.
    # collection.scale=steps: the forecast past the data must scale each series as the run did.
    cfg = compose_config(*_common(work / "panel.csv"), "intervals.levels=[0.4,0.5]", "collection.scale=steps")
    metrics = run_collection(cfg, work / "run")
    return work, metrics


def test_a_collection_forecast_past_the_data_has_each_series_dates_and_count(mixed_run):
    from lstmts.runs.collection_future import forecast_collection

    work, metrics = mixed_run
    assert metrics["intervals"]["levels"] == ["40", "50"]
    table = forecast_collection(work / "run", 5)
    assert list(table.groupby("series").size()) == [5, 5, 5]
    dates = {name: list(pd.to_datetime(rows["date"]).dt.strftime("%Y-%m-%d")) for name, rows in table.groupby("series")}
    # m1: 40 months from 2001-01 end in 2004-04; m2: 30 from 2003-05 end in 2005-10; q1: 28 quarters from 1990 end 1996Q4.
    assert dates["m1"] == ["2004-05-01", "2004-06-01", "2004-07-01", "2004-08-01", "2004-09-01"]
    assert dates["m2"] == ["2005-11-01", "2005-12-01", "2006-01-01", "2006-02-01", "2006-03-01"]
    assert dates["q1"] == ["1997-01-01", "1997-04-01", "1997-07-01", "1997-10-01", "1998-01-01"]
    assert list(table["step"][:5]) == [1, 2, 3, 4, 5]
    assert np.all(table["lower_50"] <= table["lower_40"]) and np.all(table["lower_40"] < table["forecast"])
    assert np.all(table["forecast"] < table["upper_40"]) and np.all(table["upper_40"] <= table["upper_50"])
    saved = pd.read_csv(work / "run" / "forecast-5.csv")
    assert len(saved) == 15 and (work / "run" / "forecast-5.png").stat().st_size > 0


def test_the_saved_networks_forecast_past_the_data_as_the_run_forecast_its_test_part(mixed_run, monkeypatch):
    """Without --refit: the run's own networks, from each series' end; checked on the run's own origin."""
    from lstmts.runs import collection_future

    work, _ = mixed_run
    run_forecasts = pd.read_csv(work / "run" / "forecasts.csv")
    # Forecasting from the end of the training parts (the test parts cut off) gives the run's own forecasts.
    real = collection_future._members

    def training_parts_only(config, metrics):
        return [Member(m.id, m.train[:-4], m.train[-4:], m.season_length, m.frequency,
                       None if m.dates is None else m.dates[:-4]) for m in real(config, metrics)]

    monkeypatch.setattr(collection_future, "_members", training_parts_only)
    config, metrics = collection_future.load_collection_run(work / "run")
    members = real(config, metrics)
    views = training_parts_only(config, metrics)
    forecasts = collection_future._from_saved(work / "run", config, views, members, 4)
    for member, forecast in zip(members, forecasts):
        expected = run_forecasts.loc[run_forecasts["series"] == member.id, "lstm"].to_numpy()
        np.testing.assert_allclose(forecast, expected, rtol=1e-5)


def test_refit_trains_on_each_series_whole_history(mixed_run, monkeypatch):
    from lstmts.runs import collection_future

    work, _ = mixed_run
    trained_on = []

    def stub(cfg, spec, inputs, targets, origins, seed, jit_compile, *kept):
        inputs, targets = inputs.take(np.arange(len(inputs)))  # the panel's windows, all of them
        trained_on.append(targets)
        return np.zeros((len(origins), spec.outputs)), 1, 0.0

    monkeypatch.setattr(runs_collection, "_fit_predict", stub)
    table = collection_future.forecast_collection(work / "run", 3, refit=True)
    assert (work / "run" / "forecast-3-refit.csv").exists() and len(table) == 9
    config, metrics = collection_future.load_collection_run(work / "run")
    members = collection_future._members(config, metrics)
    # The first network of the refit learns from every series' whole history: its last targets are
    # each series' last 3 values (window-relative, on the series' scale), test parts included.
    whole = [np.concatenate([m.train, m.test]) for m in members]
    scales = [runs_collection.SeriesScale.fit(w, config.collection.log, "steps") for w in whole]
    last_targets = []
    for w, scale in zip(whole, scales):
        z = scale.forward(w)
        last_targets.append(z[-3:] - z[-4])
    np.testing.assert_allclose(trained_on[0][[len(trained_on[0]) - 1]], [last_targets[-1]], rtol=1e-6)
    assert trained_on[0].shape[1] == 3  # the horizon is --steps


def test_a_collection_forecast_refuses_data_that_changed(tmp_path, compose_config, lstmts_cli):
    from lstmts.runs.collection_job import run_collection

    _panel(tmp_path / "panel.csv", {"a": ("2001-01-01", "MS", 30), "b": ("2001-01-01", "MS", 30)})
    cfg = compose_config(*_common(tmp_path / "panel.csv"), "intervals.levels=[]")
    run_collection(cfg, tmp_path / "run")
    assert not (tmp_path / "run" / "intervals.json").exists()
    frame = pd.read_csv(tmp_path / "panel.csv")
    frame.loc[3, "y"] += 1.0
    frame.to_csv(tmp_path / "panel.csv", index=False)
    result = lstmts_cli.run(["forecast", str(tmp_path / "run"), "--steps", "2"], tmp_path)
    assert result.returncode != 0 and "Traceback" not in result.stderr
    assert "changed since this run was made" in lstmts_cli.error_line(result)
    assert json.loads((tmp_path / "run" / "metrics.json").read_text())["status"] == "ok"


# --- rolling-origin cross-validation ----------------------------------------------------------

def test_a_series_cut_at_an_origin_by_hand():
    from lstmts.runs.collection_cv import at_origin

    member = Member("a", np.arange(10.0), np.array([10.0, 11.0, 12.0]), 1, "positions")
    np.testing.assert_array_equal(at_origin(member, 0).train, np.arange(10.0))
    np.testing.assert_array_equal(at_origin(member, 0).test, [10.0, 11.0, 12.0])
    earlier = at_origin(member, 4)  # 4 values before the end of the training part: 6 train, the next 3 scored
    np.testing.assert_array_equal(earlier.train, np.arange(6.0))
    np.testing.assert_array_equal(earlier.test, [6.0, 7.0, 8.0])
    assert at_origin(member, 8) is None  # 2 values before that origin: too few


def _cv_run(compose_config, path, folder, *extra):
    from lstmts.runs.collection_job import run_collection

    cfg = compose_config(*_common(path), "intervals.levels=[]", "collection.cross_validation.origins=3",
                         "collection.cross_validation.step=2", "collection.cross_validation.refit_every=2", *extra)
    return run_collection(cfg, folder)


@pytest.fixture(scope="module")
def cv_runs(tmp_path_factory, compose_config):
    """Two cross-validations (3 origins, 2 values apart, refit every 2): of a panel, and of it changed from origin 2 on."""
    work = tmp_path_factory.mktemp("cv")
    _panel(work / "a.csv", {"a": ("2001-01-01", "MS", 30), "b": ("2002-01-01", "MS", 26), "c": ("2001-06-01", "MS", 24)})
    first = _cv_run(compose_config, work / "a.csv", work / "run-a")
    frame = pd.read_csv(work / "a.csv")
    lengths = frame.groupby("id").size()
    # Every value from origin 2 on (2 values before each training part's end, which is 4 before the data's end).
    position = frame.groupby("id").cumcount()
    later = position >= frame["id"].map(lengths) - 4 - 2
    frame.loc[later, "y"] = frame.loc[later, "y"] * 3 + 100
    frame.to_csv(work / "b.csv", index=False)
    second = _cv_run(compose_config, work / "b.csv", work / "run-b")
    return work, first, second


def test_cross_validation_origins_never_see_later_values(cv_runs):
    """The forecasts at an origin are the same whatever the values from that origin on (retrained or not)."""
    work, metrics, _ = cv_runs
    # Origins 3 (the usual one), 2 and 1: 0, 2 and 4 values before each training part's end (horizon 4).
    # The second origin reuses the networks trained at the first (refit_every=2): the LSTM trained twice.
    cv = metrics["cross_validation"]
    assert cv["trainings"] == 2 and [o["refitted"] for o in cv["by_origin"]] == [True, False, True]
    a = pd.read_csv(work / "run-a" / "cross_validation.csv")
    b = pd.read_csv(work / "run-b" / "cross_validation.csv")
    for origin in (1, 2):
        for method in ("lstm", "naive", "seasonal_naive"):
            np.testing.assert_allclose(a.loc[a["origin"] == origin, method], b.loc[b["origin"] == origin, method],
                                       err_msg=f"origin {origin}, {method}")
    assert not np.allclose(a.loc[a["origin"] == 3, "lstm"], b.loc[b["origin"] == 3, "lstm"])
    # Each origin scores the next 4 values of every series: 3 series x 4 steps per origin.
    assert list(a.groupby("origin").size()) == [12, 12, 12]


def test_cross_validation_scores_per_step_and_origin_by_hand(cv_runs):
    work, metrics, _ = cv_runs
    table = pd.read_csv(work / "run-a" / "cross_validation.csv")
    smape = 200 * (table["actual"] - table["naive"]).abs() / (table["actual"].abs() + table["naive"].abs())
    by_step = smape.groupby(table["step"]).mean().to_list()
    np.testing.assert_allclose(metrics["cross_validation"]["by_horizon"]["naive"], by_step)
    by_origin = smape.groupby(table["origin"]).mean().to_list()
    np.testing.assert_allclose([o["naive"] for o in metrics["cross_validation"]["by_origin"]], by_origin)
    # The headline score is the mean over every series and origin.
    assert metrics["baselines"]["naive"]["test_smape"] == pytest.approx(smape.groupby(
        [table["origin"], table["series"]]).mean().mean())


# --- covariates of a collection ----------------------------------------------------------------

def test_static_past_and_known_future_covariates_reach_the_network_aligned_by_value(tmp_path, compose_config,
                                                                                     monkeypatch):
    promo = {"a": [0, 1, 0, 0, 1, 0, 0, 0, 1, 0], "b": [1, 0, 0, 1, 0, 0, 1, 1, 0, 0]}
    visits = {"a": [5, 6, 7, 8, 9, 10, 11, 12, 13, 14], "b": [20, 18, 16, 14, 12, 10, 8, 6, 4, 2]}
    rows = []
    for name in ("a", "b"):
        dates = pd.date_range("2020-01-01", periods=10, freq="MS")
        for k, date in enumerate(dates):
            rows.append({"id": name, "when": date.strftime("%Y-%m-%d"), "y": 50.0 + 4 * (k % 3) + k * k / (3 if name == "a" else 2),
                         "promo": promo[name][k], "visits": visits[name][k], "region": "north" if name == "a" else "south"})
    pd.DataFrame(rows).to_csv(tmp_path / "panel.csv", index=False)
    cfg = compose_config("data=collection", f"data.path={tmp_path / 'panel.csv'}", "data.id_column=id",
                         "data.date_column=when", "data.value_column=y", "data.horizon=2", "framing=timesteps",
                         "framing.look_back=3", "intervals.levels=[]", "collection.baselines=[naive]",
                         "data.covariates.future=[promo]", "data.covariates.past=[visits]",
                         "data.covariates.static=[region]", "data.calendar=true")
    seen = {}

    def stub(cfg, spec, inputs, targets, origins, seed, jit_compile, *kept):
        inputs, targets = inputs.take(np.arange(len(inputs)))  # the panel's windows, all of them
        seen.update(spec=spec, inputs=inputs, origins=origins)
        return np.zeros((len(origins), spec.outputs)), 1, 0.0

    monkeypatch.setattr(runs_collection, "_fit_predict", stub)
    collection_job.run_collection(cfg, tmp_path / "run")
    # Training parts: the first 8 values of each series. Pooled over both, the scaling of each column:
    p_train = np.array(promo["a"][:8] + promo["b"][:8], float)
    v_train = np.array(visits["a"][:8] + visits["b"][:8], float)
    p_scaled = lambda value: (value - p_train.mean()) / p_train.std()  # noqa: E731
    v_scaled = lambda value: (value - v_train.mean()) / v_train.std()  # noqa: E731
    # Channels per step: the value, visits (past), then 2 forecast steps x (promo + 12 months), then north, south.
    assert seen["spec"].features == 1 + 1 + 2 * 13 + 2 and seen["inputs"].shape[2] == 30
    # Series a has 8 - 3 - 2 + 1 = 4 training windows; its window 1 reads values 1..3 and forecasts 4, 5.
    window = seen["inputs"][1]
    np.testing.assert_allclose(window[:, 1], [v_scaled(6), v_scaled(7), v_scaled(8)])
    first, second = window[0, 2:15], window[0, 15:28]
    assert first[0] == pytest.approx(p_scaled(1)) and second[0] == pytest.approx(p_scaled(0))  # promo at 4 and 5
    assert np.argmax(first[1:]) + 1 == 5 and np.argmax(second[1:]) + 1 == 6  # May and June 2020
    np.testing.assert_array_equal(window[:, 28:], [[1.0, 0.0]] * 3)  # north, at every step
    np.testing.assert_allclose(window[2, 2:28], window[0, 2:28])  # the future is the same at every input step
    # The forecast origin of series b: inputs 5..7, the test part's promo (8, 9: 0, 0) and months 9, 10.
    origin = seen["origins"][1]
    np.testing.assert_allclose(origin[:, 1], [v_scaled(10), v_scaled(8), v_scaled(6)])
    assert origin[0, 2] == pytest.approx(p_scaled(0)) and np.argmax(origin[0, 3:15]) + 1 == 9
    assert origin[0, 15] == pytest.approx(p_scaled(0)) and np.argmax(origin[0, 16:28]) + 1 == 10
    np.testing.assert_array_equal(origin[:, 28:], [[0.0, 1.0]] * 3)


def test_a_static_attribute_that_changes_within_a_series_is_one_line(tmp_path):
    from lstmts.data.collection import load_collection
    from lstmts.errors import UserError
    from omegaconf import OmegaConf

    frame = pd.DataFrame({"id": ["a"] * 3 + ["b"] * 3, "y": [1.0, 2, 3, 4, 5, 6], "kind": ["x", "x", "y", "z", "z", "z"]})
    frame.to_csv(tmp_path / "p.csv", index=False)
    data = OmegaConf.create({"source": "csv", "path": str(tmp_path / "p.csv"), "id_column": "id", "date_column": None,
                             "value_column": "y", "horizon": 1, "season_length": 1, "shard": 0, "shards": 1,
                             "limit": None, "covariates": {"past": [], "future": [], "static": ["kind"],
                                                           "static_path": None}, "calendar": False})
    with pytest.raises(UserError, match="static covariate 'kind' changes within series a"):
        load_collection(data)
