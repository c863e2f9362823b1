"""Recursive forecasts: horizon scores in every run, and `lstmts forecast` from a run folder."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from conftest import StubState

from lstmts.errors import UserError
from lstmts.commands.forecast import forecast_run
from lstmts.runs.runner import run


@pytest.fixture(scope="module")
def runs(compose_config, tmp_path_factory):
    folder = tmp_path_factory.mktemp("forecast-runs")
    made = {}
    for name, overrides in {
        "honest": ["protocol=honest", "protocol.transforms=[log,diff12,standard]", "framing=timesteps",
                   "framing.look_back=4", "training.epochs=2"],
        "stateful": ["experiment=tutorial_stateful", "training.epochs=2"],
        "repeats": ["protocol=honest", "framing.look_back=2", "training.epochs=1", "training.repeats=2",
                    "baselines.classical=false", "intervals.levels=[]", "horizons=[]"],
    }.items():
        made[name] = (folder / name, run(compose_config(*overrides), folder / name))
    return made


@pytest.mark.parametrize("name", ["honest", "stateful"])
def test_horizon_one_of_the_recursion_is_the_one_step_test_score(runs, name):
    _, metrics = runs[name]
    assert metrics["test_rmse_by_horizon"]["1"] == pytest.approx(metrics["test_rmse"], rel=1e-5)
    counts = metrics["test_count_by_horizon"]
    tests = metrics["samples"]["test"]
    # An h-step forecast from each origin whose target is still a test target.
    assert [counts[h] for h in ("1", "3", "6", "12")] == [tests, tests - 2, tests - 5, tests - 11]


def _saved(folder, file_name="model.keras", look_back=4, lags_as="timesteps", stateful=False, batch_size=1):
    """Return a Forecaster of a saved model with the run's saved transforms."""
    from lstmts.backend import load
    from lstmts.data.transforms import Pipeline
    from lstmts.models.forecaster import Forecaster

    keras, _ = load()
    model = keras.saving.load_model(folder / file_name, compile=False)
    pipeline = Pipeline.from_json((folder / "transforms.json").read_text())
    return Forecaster(model, pipeline, look_back, lags_as, stateful, batch_size)


def _airline() -> np.ndarray:
    from lstmts.config import airline_csv

    return pd.read_csv(airline_csv())["Passengers"].to_numpy(float)


def test_horizon_rmses_are_those_of_the_paths_from_every_test_origin(runs):
    folder, metrics = runs["honest"]
    values = _airline()
    origins = np.arange(96, 144)  # the honest protocol scores every test month
    paths = _saved(folder).paths(values, origins, 12)
    for horizon in (1, 3, 6, 12):
        # The h-step forecast from origin o is of month o + h - 1; origins whose target is past the data drop out.
        inside = origins + horizon - 1 < 144
        errors = paths[inside, horizon - 1] - values[origins[inside] + horizon - 1]
        assert metrics["test_rmse_by_horizon"][str(horizon)] == pytest.approx(np.sqrt(np.mean(errors ** 2)), rel=1e-4)
    assert len(set(metrics["test_rmse_by_horizon"].values())) == 4


def test_forecast_writes_dated_csv_and_plot_beyond_the_data(runs):
    folder, _ = runs["honest"]
    forecast_run(folder, 24)
    saved = pd.read_csv(folder / "forecast-24.csv", parse_dates=["date"])
    assert (folder / "forecast-24.png").stat().st_size > 0
    assert list(saved["step"]) == list(range(1, 25))
    assert saved["date"].iloc[0] == pd.Timestamp("1961-01-01")
    assert saved["date"].iloc[-1] == pd.Timestamp("1962-12-01")
    assert np.all(np.isfinite(saved["forecast"])) and np.all(saved["forecast"] > 0)  # log transform
    # Each step is the one-step forecast from the data followed by the steps before it.
    forecaster, history = _saved(folder), _airline()
    for step in range(3):
        one_step = forecaster.paths(np.append(history, saved["forecast"][:step]), np.array([144 + step]), 1)[0, 0]
        assert saved["forecast"][step] == pytest.approx(one_step, rel=1e-5)
    assert saved["lower_80"][0] < saved["forecast"][0] < saved["upper_80"][0]


def test_forecast_from_a_saved_model_matches_the_runs_own_recursion(runs):
    """The run's own 3-step paths from the last test origins are what the saved model forecasts from there."""
    folder, _ = runs["honest"]
    predictions = pd.read_csv(folder / "predictions.csv")
    history = _airline()
    forecaster = _saved(folder)
    # The last test prediction in predictions.csv was made from values[:143]; redo it.
    assert forecaster.paths(history, np.array([143]), 1)[0, 0] == pytest.approx(predictions["prediction"].iloc[-1],
                                                                                rel=1e-5)
    # Three steps from origin 140 feed back the first two forecasts, not months 140 and 141.
    path = forecaster.paths(history, np.array([140]), 3)[0]
    fed_back = forecaster.paths(np.append(history[:140], path[:2]), np.array([142]), 1)[0, 0]
    assert path[2] == pytest.approx(fed_back, rel=1e-6)
    with_truth = forecaster.paths(history, np.array([142]), 1)[0, 0]
    assert path[2] != pytest.approx(with_truth, rel=1e-6)


def test_forecast_of_a_stateful_run_warms_up_from_the_first_test_target(runs, compose_config):
    from lstmts.commands.forecast import _first_test_target
    from lstmts.config import airline_csv
    from lstmts.data.series import load_series
    from lstmts.models.network import reset_states

    folder, _ = runs["stateful"]
    frame = forecast_run(folder, 2)
    forecaster = _saved(folder, look_back=3, stateful=True)
    model, pipeline, values = forecaster.model, forecaster.pipeline, _airline()
    scaled = pipeline.transform(values)
    # The tutorial's test targets start at 96 + look_back = 99: the state runs over months 99..143,
    # one window at a time, then forecasts month 144 from months 141..143.
    reset_states(model)
    for target in range(99, 144):
        model(scaled[target - 3:target].reshape(1, 3, 1).astype("float32"))
    first = float(np.asarray(model(scaled[141:144].reshape(1, 3, 1).astype("float32")))[0, 0])
    assert frame["forecast"][0] == pytest.approx(float(pipeline.inverse(np.array([first]), 0, values)[0]), rel=1e-5)
    # A trained LSTM forgets an extra window of warm-up within rounding, so the start is checked itself
    # (and by the stub models of test_forecaster.py).
    assert _first_test_target(folder, load_series(compose_config().data, airline_csv())) == 99




class _CountingLayer:
    stateful = True

    def __init__(self) -> None:
        self.states = [StubState()]

    def reset_state(self) -> None:
        self.states[0].assign(0.0)


class CountingStatefulModel:
    """Stateful and never forgetting: each call adds 1 to the state and outputs it (windows seen since a reset)."""

    def __init__(self) -> None:
        self.layers = [_CountingLayer()]

    def __call__(self, windows) -> np.ndarray:
        state = self.layers[0].states[0]
        state.assign(state.numpy() + 1)
        return np.full((len(windows), 1), float(state.numpy()))


def test_a_stateful_forecast_beyond_the_data_warms_up_over_every_test_window(runs, monkeypatch):
    import lstmts.commands.forecast as forecast_module
    import lstmts.models.forecaster as forecaster_module
    from lstmts.data.transforms import Pipeline

    folder, _ = runs["stateful"]
    monkeypatch.setattr(forecast_module, "_load_model", lambda keras, model_file: CountingStatefulModel())
    monkeypatch.setattr(forecaster_module, "forward", lambda model: model)
    frame = forecast_run(folder, 1)
    # From a zero state: the windows of test targets 99..143 (45), then the forecast's own window: 46.
    pipeline = Pipeline.from_json((folder / "transforms.json").read_text())
    expected = pipeline.inverse(np.array([46.0]), 0, _airline())[0]
    assert frame["forecast"][0] == pytest.approx(expected, rel=1e-12)


def test_forecast_with_repeats_is_the_mean_of_every_models_forecast(runs):
    folder, metrics = runs["repeats"]
    assert metrics["repeats"]["seeds"] == [7, 8]
    frame = forecast_run(folder, 4)
    values = _airline()
    each = [_saved(folder, f"models/seed-{seed}.keras", look_back=2, lags_as="features").beyond(values, 4, 96)
            for seed in (7, 8)]
    assert np.abs(each[0] - each[1]).max() > 1e-3  # two different models
    np.testing.assert_allclose(frame["forecast"], np.mean(each, axis=0), rtol=1e-5)
    saved = pd.read_csv(folder / "forecast-4.csv")
    np.testing.assert_allclose(saved["forecast"], np.mean(each, axis=0), rtol=1e-5)


def test_forecast_of_a_folder_that_is_not_a_run_is_a_user_error(tmp_path):
    with pytest.raises(UserError, match="not a run folder"):
        forecast_run(tmp_path, 3)


def test_forecast_of_a_backtest_run_says_it_keeps_no_model_and_what_to_run_instead(tmp_path):
    import json

    (tmp_path / ".hydra").mkdir()
    (tmp_path / ".hydra" / "overrides.yaml").write_text(
        "- experiment=airline_best\n- evaluation=backtest\n- evaluation.folds=4\n- data.path=my sales.csv\n")
    (tmp_path / "metrics.json").write_text(json.dumps({"status": "ok", "test_rmse": 1.0, "backtest": {"origins": 4}}))
    with pytest.raises(UserError) as caught:
        forecast_run(tmp_path, 3)
    message = str(caught.value)
    assert "is a backtest run" in message and "keeps no single model" in message
    assert message.endswith("lstmts experiment=airline_best 'data.path=my sales.csv'")
    assert "this version of lstmts" not in message


def test_forecast_finds_a_relative_data_path_from_another_folder(compose_config, tmp_path, monkeypatch):
    """data.path is relative to where the run started; forecast uses the absolute path it recorded."""
    from lstmts.config import airline_csv

    source = pd.read_csv(airline_csv())
    started_in = tmp_path / "project"
    started_in.mkdir()
    pd.DataFrame({"sales": source["Passengers"]}).to_csv(started_in / "sales.csv", index=False)
    monkeypatch.chdir(started_in)
    folder = tmp_path / "run"
    run(compose_config("data=csv", "data.path=sales.csv", "data.column=sales", "training.epochs=2", "horizons=[]"),
        folder)
    monkeypatch.chdir(tmp_path)
    frame = forecast_run(folder, 2)
    assert list(frame["date"]) == [144, 145]  # no date column: positions continue after the last one
    assert np.all(np.isfinite(frame["forecast"]))


# The periods after the last date, worked out on a calendar: (alias, first date, last date, next two dates).
NEXT_DATES = [
    ("YS", "2000-01-01", "2004-01-01", ["2005-01-01", "2006-01-01"]),
    ("YE", "2000-12-31", "2004-12-31", ["2005-12-31", "2006-12-31"]),
    ("QS", "2000-01-01", "2001-01-01", ["2001-04-01", "2001-07-01"]),
    ("QE", "2000-03-31", "2001-03-31", ["2001-06-30", "2001-09-30"]),
    ("MS", "1960-08-01", "1960-12-01", ["1961-01-01", "1961-02-01"]),
    ("ME", "1999-10-31", "2000-01-31", ["2000-02-29", "2000-03-31"]),  # a leap year's February
    ("W-SUN", "2000-01-02", "2000-01-30", ["2000-02-06", "2000-02-13"]),
    ("D", "2000-02-26", "2000-02-28", ["2000-02-29", "2000-03-01"]),
    ("B", "2000-01-03", "2000-01-14", ["2000-01-17", "2000-01-18"]),  # Friday, then Monday
    ("h", "2000-12-31 20:00", "2000-12-31 23:00", ["2001-01-01 00:00", "2001-01-01 01:00"]),
]


@pytest.mark.parametrize("alias, first, last, expected", NEXT_DATES, ids=[case[0] for case in NEXT_DATES])
def test_the_first_forecast_date_is_one_period_after_the_last_date(alias, first, last, expected):
    from types import SimpleNamespace

    from lstmts.commands.forecast import _future_labels
    from lstmts.data.frequency import infer_frequency

    labels = pd.date_range(first, last, freq=alias)
    assert len(labels) >= 3
    series = SimpleNamespace(labels=labels, frequency=infer_frequency(labels))
    assert list(_future_labels(series, 2)) == [pd.Timestamp(date) for date in expected]


def test_forecast_positions_continue_after_the_last_position():
    from types import SimpleNamespace

    from lstmts.commands.forecast import _future_labels
    from lstmts.data.frequency import POSITIONS

    series = SimpleNamespace(labels=pd.RangeIndex(10, 15), frequency=POSITIONS)
    assert list(_future_labels(series, 3)) == [15, 16, 17]


def test_an_interval_left_empty_for_want_of_errors_is_named_with_its_first_step_and_its_need():
    from lstmts.commands.forecast import empty_interval_notes

    frame = pd.DataFrame({"step": [1, 2, 3, 4], "forecast": [1.0, 2.0, 3.0, 4.0],
                          "lower_80": [0.5, 1.5, 2.5, np.nan], "upper_80": [1.5, 2.5, 3.5, np.nan],
                          "lower_95": [0.2, np.nan, np.nan, np.nan], "upper_95": [1.8, np.nan, np.nan, np.nan]})
    notes = empty_interval_notes(frame)
    # 80 % needs 0.8 / 0.2 = 4 errors at a horizon, 95 % needs 0.95 / 0.05 = 19.
    assert notes == [
        "the 80 % interval is left empty from step 4 on: its calibration period has fewer than 4 forecast errors"
        " that far ahead; a longer validation period (split.validation_fraction) gives it more",
        "the 95 % interval is left empty from step 2 on: its calibration period has fewer than 19 forecast errors"
        " that far ahead; a longer validation period (split.validation_fraction) gives it more"]
    assert empty_interval_notes(frame.fillna(0.0)) == []
