"""A user's own series at any frequency: seasons, baselines, honest protocol, direct multi-step, forecasts."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import yaml

from lstmts.commands.forecast import forecast_run
from lstmts.data.framing import make_windows
from lstmts.evaluation.naive import naive_paths
from lstmts.evaluation.scoring import best_baseline
from lstmts.runs import runner

# alias, periods, season, the non-seasonal or STL names the classical methods take
FREQUENCIES = {
    "yearly": ("YS", 40, 1, {"holt", "arima", "theta", "ets"}),
    "quarterly": ("QS", 60, 4, {"holt_winters", "sarima", "theta", "ets"}),
    "monthly": ("MS", 96, 12, {"holt_winters", "sarima", "theta", "ets"}),
    "weekly": ("W-SUN", 52 * 4, 52, {"stl_holt", "stl_arima", "theta", "stl_ets"}),
    "daily": ("D", 7 * 20, 7, {"holt_winters", "sarima", "theta", "ets"}),
    "hourly": ("h", 24 * 10, 24, {"holt_winters", "sarima", "theta", "ets"}),
}


def _series_csv(folder, alias: str, periods: int, season: int):
    dates = pd.date_range("2001-01-01", periods=periods, freq=alias)
    t = np.arange(periods)
    wave = np.sin(2 * np.pi * t / season) if season > 1 else 0.0
    values = 50 + 0.3 * t + 8 * wave + np.random.default_rng(1).normal(0, 0.5, periods)
    path = folder / "series.csv"
    pd.DataFrame({"when": dates, "amount": values}).to_csv(path, index=False)
    return path, dates


@pytest.mark.parametrize("name", list(FREQUENCIES))
def test_each_frequency_gets_its_season_its_baselines_and_dated_forecasts(name, compose_config, tmp_path):
    alias, periods, season, classical = FREQUENCIES[name]
    path, dates = _series_csv(tmp_path, alias, periods, season)
    # A fit may take minutes on a loaded machine (hourly SARIMA): the test is about fitting, not the time limit.
    cfg = compose_config("data=csv", f"data.path={path}", "data.column=amount", "data.date_column=when",
                         "training.epochs=2", "horizons=[1,2]", "intervals.steps=3", "baselines.time_limit=1800")
    out = tmp_path / "run"
    metrics = runner.run(cfg, out)
    assert metrics["frequency"] == name and metrics["season_length"] == season
    assert metrics["protocol"] == "honest"  # a user's CSV is never scored with the tutorial's quirks
    naive = {"persistence"} | ({"seasonal_naive"} if season > 1 else set())
    assert set(metrics["baselines"]) == naive | classical
    for scores in metrics["baselines"].values():
        assert scores.get("test_rmse") is not None, scores  # fitted, not skipped (time_limit: see the config above)
    best = metrics["best_baseline"]
    assert best["test_rmse"] == min(b["test_rmse"] for b in metrics["baselines"].values())
    frame = forecast_run(out, 3)
    expected = pd.date_range(dates[-1], periods=4, freq=alias)[1:]
    assert list(frame["date"]) == list(expected)
    assert frame.attrs["frequency"].format(frame["date"].iloc[0]) == {
        "yearly": "2041", "quarterly": "2016Q1", "monthly": "2009-01", "weekly": "2005-01-02",
        "daily": "2001-05-21", "hourly": "2001-01-11 00:00"}[name]
    assert (frame["lower_80"] < frame["forecast"]).all() and (frame["forecast"] < frame["upper_80"]).all()
    assert (frame["lower_95"] <= frame["lower_80"]).all()


def test_a_number_still_wins_over_the_inferred_season(compose_config, tmp_path):
    path, dates = _series_csv(tmp_path, "W-SUN", 52 * 3, 52)
    cfg = compose_config("data=csv", f"data.path={path}", "data.column=amount", "data.date_column=when",
                         "training.epochs=2", "season_length=4", "baselines.classical=false", "intervals.levels=[]")
    metrics = runner.run(cfg, tmp_path / "run")
    assert metrics["season_length"] == 4 and metrics["frequency"] == "weekly"
    values = pd.read_csv(path)["amount"].to_numpy()
    predictions = pd.read_csv(tmp_path / "run" / "predictions.csv", parse_dates=["date"])
    index = np.flatnonzero(np.isin(dates, predictions.loc[predictions["split"] == "test", "date"]))
    expected = float(np.sqrt(np.mean((values[index] - values[index - 4]) ** 2)))
    assert metrics["baselines"]["seasonal_naive"]["test_rmse"] == pytest.approx(expected)


def test_the_tutorial_presets_keep_the_tutorial_protocol_on_the_airline_data(compose_config):
    assert compose_config().protocol.name == "tutorial"
    assert compose_config("experiment=tutorial_stateful").protocol.name == "tutorial"
    assert compose_config("data=csv", "data.path=x.csv", "data.column=y").protocol.name == "honest"
    assert compose_config("data=csv", "data.path=x.csv", "data.column=y", "protocol=tutorial").protocol.name == "tutorial"


CSV = ["data=csv", "data.path=x.csv", "data.column=y"]


@pytest.mark.parametrize("given, automatic", [
    ([], True),
    (["training.epochs=50", "seed=3", "split.validation_fraction=0.25", "auto.budget_seconds=30"], True),
    (["horizons=[1,12]", "data.date_column=date", "data.missing=interpolate", "baselines.classical=false"], True),
    (["experiment=plain"], False),
    (["experiment=tutorial_window"], False),
    (["experiment=auto"], False),  # already there: nothing added
    (["framing.look_back=12"], False),
    (["framing=window"], False),
    (["model=stacked"], False),
    (["model.units=8"], False),
    (["protocol=tutorial"], False),
    (["protocol.transforms=[diff1,standard]"], False),  # as the shell passes it on
    (["evaluation=backtest"], False),
    (["data.covariates.past=[temp]"], False),
    (["data.calendar=true"], False),
    (["+hparams_search=airline_optuna"], False),
    (["~experiment"], False),
])
def test_data_csv_runs_the_automatic_lstm_unless_told_how_the_lstm_should_look(given, automatic):
    from lstmts.commands.run import default_experiment

    argv = [*CSV, *given]
    expected = [*CSV[:1], "experiment=auto", *CSV[1:], *given] if automatic else argv
    assert default_experiment(argv) == expected


def test_the_default_experiment_is_added_beside_data_csv_before_hydra_flags_and_never_elsewhere():
    from lstmts.commands.run import default_experiment

    # Hydra reads the overrides before its flags: after `--cfg job` an override is refused.
    assert default_experiment(["-m", "seed=1,2", "data=csv", "data.path=x.csv", "--cfg", "job"]) == \
        ["-m", "seed=1,2", "data=csv", "experiment=auto", "data.path=x.csv", "--cfg", "job"]
    for argv in ([], ["seed=3"], ["data=m1", "data.subset=yearly"], ["-m", "data=csv,airline", "data.path=x.csv"]):
        assert default_experiment(argv) == argv


def test_the_command_line_composes_the_automatic_lstm_for_data_csv_and_the_plain_one_on_request(lstmts_cli, tmp_path):
    common = ["data=csv", "data.path=x.csv", "data.column=y", "--cfg", "job"]
    automatic = lstmts_cli.run(common, tmp_path)
    assert automatic.returncode == 0, automatic.stderr
    config = yaml.safe_load(automatic.stdout)
    assert config["auto"]["search"] == "staged" and config["split"]["validation_fraction"] == 0.2
    assert config["horizons"] == [1] and config["framing"]["name"] == "timesteps"
    for extra in (["experiment=plain"], ["framing.look_back=5"]):
        plain = lstmts_cli.run([*common[:3], *extra, *common[3:]], tmp_path)
        assert plain.returncode == 0, plain.stderr
        config = yaml.safe_load(plain.stdout)
        assert config["auto"] is None and config["split"]["validation_fraction"] == 0.0
        assert config["protocol"]["name"] == "honest"  # data=csv's own default, with or without the search


@pytest.mark.parametrize("season, steps", [(1, 3), (4, 6), (12, 13)])
def test_naive_paths_by_hand(season, steps):
    values = np.arange(100.0) ** 1.5
    origins = np.array([30, 41])
    paths = naive_paths(values, origins, steps, season)
    for row, origin in enumerate(origins):
        for h in range(1, steps + 1):
            # The latest value known at the origin that is a whole number of seasons before the target.
            source = origin + h - 1
            while source >= origin:
                source -= season
            assert paths[row, h - 1] == values[source]


def test_best_baseline_is_the_lowest_score_of_the_metric_asked_for():
    baselines = {"a": {"validation_rmse": 1.0, "test_rmse": 9.0}, "b": {"validation_rmse": 2.0, "test_rmse": 3.0},
                 "c": {"note": "skipped: x"}, "d": {"validation_rmse": None, "test_rmse": "2"}}
    assert best_baseline(baselines, "validation_rmse") == ("a", 1.0)
    assert best_baseline(baselines, "test_rmse") == ("b", 3.0)
    assert best_baseline({"c": {"note": "skipped"}}, "test_rmse") is None


def test_direct_windows_hold_h_targets_by_hand():
    values = np.arange(20.0) * 10
    windows = make_windows(values, np.array([3, 4]), look_back=2, lags_as="timesteps", outputs=3)
    np.testing.assert_array_equal(windows.targets, [[30, 40, 50], [40, 50, 60]])
    np.testing.assert_array_equal(windows.inputs[:, :, 0], [[10, 20], [20, 30]])


def test_direct_strategy_trains_on_targets_inside_the_training_period(compose_config):
    cfg = compose_config("protocol=honest", "framing=timesteps", "framing.strategy=direct", "horizons=[1,3,5]",
                         "split.validation_fraction=0.2")
    prepared = runner.prepare(cfg)
    train = prepared.windows["train"]
    assert train.targets.shape == (len(train), 5)
    assert int(train.target_index.max()) + 4 < int(prepared.windows["validation"].target_index[0])
    transformed = prepared.pipeline.transform(prepared.series.values)
    np.testing.assert_allclose(train.targets[:, 4], transformed[train.target_index + 4], rtol=1e-6)


def test_a_direct_run_scores_every_horizon_with_one_network_call_per_origin(compose_config, tmp_path):
    cfg = compose_config("protocol=honest", "framing=timesteps", "framing.strategy=direct", "horizons=[1,3,6]",
                         "training.epochs=3", "baselines.classical=false")
    metrics = runner.run(cfg, tmp_path)
    from lstmts.backend import load

    model = load()[0].saving.load_model(tmp_path / "model.keras", compile=False)
    assert model.output_shape == (None, 6)
    assert metrics["test_rmse_by_horizon"]["1"] == pytest.approx(metrics["test_rmse"], rel=1e-5)
    assert set(metrics["baselines"]["persistence"]["test_rmse_by_horizon"]) == {"1", "3", "6"}
    assert metrics["baselines"]["persistence"]["test_rmse_by_horizon"]["1"] == pytest.approx(
        metrics["baselines"]["persistence"]["test_rmse"])


def test_refit_trains_on_all_the_data_and_forecasts_past_its_end(compose_config, tmp_path):
    cfg = compose_config("protocol=honest", "framing.look_back=3", "training.epochs=2", "baselines.classical=false")
    runner.run(cfg, tmp_path)
    as_trained = forecast_run(tmp_path, 6)
    refitted = forecast_run(tmp_path, 6, refit=True)
    saved = pd.read_csv(tmp_path / "forecast-6-refit.csv", parse_dates=["date"])
    assert list(saved["date"]) == [pd.Timestamp(f"1961-{month:02d}-01") for month in range(1, 7)]
    assert saved["step"].tolist() == [1, 2, 3, 4, 5, 6]
    assert np.isfinite(saved["forecast"]).all() and (saved["forecast"] > 0).all()
    assert not np.allclose(refitted["forecast"], as_trained["forecast"])  # a new model, trained on 1949-1960
    assert (tmp_path / "forecast-6-refit.png").stat().st_size > 0


def test_the_readmes_own_data_command_reads_the_exported_file_and_counts_the_filled_months(lstmts_cli, tmp_path):
    import json
    import re
    import shlex
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    readme = (root / "README.md").read_text()
    command = re.search(r"<!-- own-data-command -->\n```\n(.+?)\n```", readme).group(1)
    words = shlex.split(command)  # as the shell passes it on
    assert words[0] == "lstmts"
    out = tmp_path / "run"
    result = lstmts_cli.run([*words[1:], "training.epochs=1", "baselines.classical=false", f"hydra.run.dir={out}"],
                            root)
    assert result.returncode == 0, result.stderr
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["status"] == "ok" and metrics["frequency"] == "monthly"
    assert metrics["data"]["filled"] == 2 and metrics["data"]["values"] == 96
    assert "filled in 2 missing value(s)" in " ".join(result.stdout.split())
    predictions = pd.read_csv(out / "predictions.csv")
    assert predictions["date"].iloc[-1] == "2022-12-15"  # the 15th, as in the file


def test_a_series_too_short_for_the_default_search_is_one_line_that_names_the_plain_lstm(lstmts_cli, tmp_path):
    path = tmp_path / "short.csv"
    path.write_text("date,sales\n" + "".join(f"2020-{m:02d}-01,{100 + m}\n" for m in range(1, 13)))
    result = lstmts_cli.run(["data=csv", f"data.path={path}", "data.column=sales", "data.date_column=date",
                             f"hydra.run.dir={tmp_path / 'run'}"], tmp_path)
    assert result.returncode != 0 and "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("lstmts: error: no candidate of the automatic LSTM"), lines
    assert "the series has 12 values" in lines[0] and "experiment=plain framing.look_back=" in lines[0]
    assert path.read_text().count("\n") == 13  # the data file is left as it was


def test_a_file_named_alone_runs_on_the_columns_found_in_it_and_the_folder_keeps_them(lstmts_cli, tmp_path):
    import json

    path = tmp_path / "shop.csv"
    days = pd.date_range("2021-01-04", periods=84, freq="D")
    sales = 100 + 20 * (days.dayofweek >= 5) + np.arange(84) % 5
    pd.DataFrame({"note": ["x"] * 84, "date": days.strftime("%Y-%m-%d"), "sales": sales}).to_csv(path, index=False)
    before = path.read_bytes()
    out = tmp_path / "run"
    result = lstmts_cli.run(["data=csv", f"data.path={path}", "experiment=plain", "training.epochs=1",
                             "baselines.classical=false", f"hydra.run.dir={out}"], tmp_path)
    assert result.returncode == 0, result.stderr
    assert "columns found in the file: data.column=sales, data.date_column=date" in " ".join(result.stdout.split())
    config = yaml.safe_load((out / "config.yaml").read_text())
    assert config["data"]["column"] == "sales" and config["data"]["date_column"] == "date"
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["found_in_file"] == {"data.column": "sales", "data.date_column": "date"}
    assert metrics["frequency"] == "daily" and metrics["season_length"] == 7
    frame = forecast_run(out, 3)
    assert list(frame["date"]) == list(pd.date_range("2021-03-29", periods=3, freq="D"))  # after the file's last day
    assert path.read_bytes() == before


def test_an_agency_download_with_notes_above_its_header_and_the_newest_week_first_runs_once_told(lstmts_cli,
                                                                                                   tmp_path):
    import json

    path = tmp_path / "weekly-supply.csv"
    weeks = pd.date_range("2022-01-07", periods=104, freq="W-FRI")
    supply = 9000 + 300 * np.sin(2 * np.pi * np.arange(104) / 52) + np.arange(104) % 7
    body = pd.DataFrame({"Week of": weeks.strftime("%m/%d/%Y"), "Weekly supply (thousand barrels a day)": supply})
    path.write_text("Weekly supply of motor gasoline\nLink: an agency's page\nSource: an agency\n"
                    + body.iloc[::-1].to_csv(index=False))
    before = path.read_bytes()
    told = lstmts_cli.run(["data=csv", f"data.path={path}", f"hydra.run.dir={tmp_path / 'first'}"], tmp_path)
    assert told.returncode == 2 and "Traceback" not in told.stderr
    assert told.stderr.strip().splitlines() == [
        f"lstmts: error: data file {path} starts with 3 line(s) of notes above its header line (line 4: 'Week of,Weekly"
        f" supply (thousand barrels a day)'); skip them with data.skiprows=3"]
    out = tmp_path / "run"
    result = lstmts_cli.run(["data=csv", f"data.path={path}", "data.skiprows=3", "experiment=plain", "training.epochs=1",
                             "baselines.classical=false", f"hydra.run.dir={out}"], tmp_path)
    assert result.returncode == 0, result.stderr
    printed = " ".join(result.stdout.split())
    assert "the file lists its dates newest first; they are read oldest first" in printed
    assert "data.date_column=\"'Week of'\"" in printed  # as it would be typed
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["data"]["newest_first"] and metrics["frequency"] == "weekly"
    predictions = pd.read_csv(out / "predictions.csv")
    assert predictions["date"].iloc[-1] == "2023-12-29" and predictions["actual"].iloc[-1] == pytest.approx(supply[-1])
    assert list(forecast_run(out, 2)["date"]) == list(pd.date_range("2024-01-05", periods=2, freq="W-FRI"))
    assert path.read_bytes() == before


@pytest.mark.parametrize("given, key", [(["data=csv"], "data.path"), (["data=collection"], "data.path")])
def test_a_setting_left_without_a_value_is_one_line_naming_it(lstmts_cli, tmp_path, given, key):
    result = lstmts_cli.run([*given, f"hydra.run.dir={tmp_path / 'run'}"], tmp_path)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert lines == [f"lstmts: error: {key} has no value; give it on the command line, e.g. {key}=my.csv"], lines
