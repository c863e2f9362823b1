"""Tests of the automatic LSTM (lstmts.search): its space, its scoring by hand, and what it may read."""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from rich.console import Console

from lstmts.config import airline_csv
from lstmts.errors import UserError
from lstmts.report.tables import print_summary
from lstmts.search import auto
from lstmts.search.space import Candidate, base_look_back, neighbours, stages, transform_options

# Few candidates and epochs: the cases here are about what is read, chosen and combined.
QUICK = ["experiment=auto", "auto.max_trials=3", "auto.ensemble=2", "training.epochs=12", "training.patience=3",
         "baselines.classical=false", "intervals.levels=[]", "horizons=[1,3]", "auto.residuals=false",
         "auto.combine=none"]  # the networks alone: the cases here are about them


def _data(path: Path) -> list[str]:
    return ["data=csv", f"data.path={path}", "data.column=Passengers", "data.date_column=Month"]


def _weights(folder: Path, keras) -> list[list[np.ndarray]]:
    return [keras.saving.load_model(member / "model.keras", compile=False).get_weights()
            for member in sorted((folder / "members").iterdir())]


@pytest.fixture(scope="module")
def runs(compose_config, tmp_path_factory, keras, airline_copy):
    """The same search on the airline series, on a copy whose test values are tripled, and on one whose validation
    moved, each with the members trained again every season of the test period; and the first without those refits."""
    from lstmts.runs import runner

    root = tmp_path_factory.mktemp("auto")
    length = len(pd.read_csv(airline_csv()))
    test_start = int(length * 0.67)
    validation_start = int(test_start * 0.8)

    def tripled_test(values):
        values[test_start:] *= 3
        return values

    def shifted_validation(values):
        values[validation_start:test_start] += 40
        return values

    folders = {}
    for name, change in (("plain", None), ("test", tripled_test), ("validation", shifted_validation)):
        path = airline_copy(root, f"{name}.csv", change)
        folders[name] = root / name
        runner.run(compose_config(*QUICK, "auto.refit_every=auto", *_data(path)), folders[name], body=auto._auto)
    # The members as trained on training + validation forecast the whole test period: no refits in it.
    folders["fixed"] = root / "fixed"
    runner.run(compose_config(*QUICK, "auto.refit_every=0", *_data(airline_copy(root, "fixed.csv"))), folders["fixed"],
               body=auto._auto)
    return folders


def test_changing_the_test_values_leaves_the_choice_and_the_refitted_weights_unchanged(runs, keras):
    plain, changed = (pd.read_csv(runs[name] / "candidates.csv") for name in ("plain", "test"))
    pd.testing.assert_frame_equal(plain.drop(columns="seconds"), changed.drop(columns="seconds"))
    for first, second in zip(_weights(runs["plain"], keras), _weights(runs["test"], keras), strict=True):
        for a, b in zip(first, second, strict=True):
            np.testing.assert_array_equal(a, b)
    # The validation forecasts and the in-sample ones are the same too; only the test's differ.
    plain, changed = (pd.read_csv(runs[name] / "predictions.csv") for name in ("plain", "test"))
    before_test = plain["split"] != "test"
    np.testing.assert_array_equal(plain.loc[before_test, "prediction"], changed.loc[before_test, "prediction"])
    assert not np.allclose(plain.loc[~before_test, "prediction"], changed.loc[~before_test, "prediction"])


def test_the_refit_learns_from_the_validation_period(runs, keras):
    """Members are trained on training + validation: values moved in the validation period move their weights."""
    plain, moved = _weights(runs["plain"], keras), _weights(runs["validation"], keras)
    assert any(not np.array_equal(a, b) for first, second in zip(plain, moved) for a, b in zip(first, second))


def test_a_member_is_configured_to_train_on_training_and_validation_only(runs, compose_config):
    from lstmts.runs import runner

    member = yaml.safe_load((runs["plain"] / "members" / "1" / "config.yaml").read_text())
    assert member["split"]["validation_fraction"] == 0.0 and member["training"]["patience"] is None
    candidates = pd.read_csv(runs["plain"] / "candidates.csv")
    chosen = candidates[candidates["member"] == 1].iloc[0]
    assert member["training"]["epochs"] == chosen["best_epoch"] and member["framing"]["look_back"] == chosen["look_back"]
    prepared = runner.prepare(compose_config(*QUICK, *_data(airline_csv())))
    from omegaconf import OmegaConf

    trained_on = runner.prepare(OmegaConf.create(member)).periods
    assert trained_on.train[-1] == prepared.periods.split - 1  # the last validation value, never a test value
    assert len(trained_on.validation) == 0


def test_the_runs_forecasts_are_the_median_of_its_members(runs, keras):
    """Each member's one-step forecasts of the test period, computed here from its folder; their median is the run's."""
    from omegaconf import OmegaConf

    from lstmts.data.transforms import Pipeline
    from lstmts.models.forecaster import Forecaster

    folder = runs["fixed"]
    values = pd.read_csv(airline_csv())["Passengers"].to_numpy(dtype=float)
    predictions = pd.read_csv(folder / "predictions.csv")
    test = predictions["split"] == "test"
    targets = np.flatnonzero(np.isin(pd.read_csv(airline_csv())["Month"], predictions.loc[test, "date"].str[:7]))
    members = []
    for member in sorted((folder / "members").iterdir()):
        config = OmegaConf.create(yaml.safe_load((member / "config.yaml").read_text()))
        forecaster = Forecaster(keras.saving.load_model(member / "model.keras", compile=False),
                                Pipeline.from_json((member / "transforms.json").read_text()),
                                config.framing.look_back, config.framing.lags_as, False, config.training.batch_size)
        members.append(forecaster.paths(values, targets, 1)[:, 0])
    assert len(members) == 2
    by_hand = (members[0] + members[1]) / 2  # the median of two is their mean
    np.testing.assert_allclose(predictions.loc[test, "prediction"], by_hand, rtol=1e-9)
    metrics = json.loads((folder / "metrics.json").read_text())
    assert metrics["kind"] == "auto" and len(metrics["auto"]["ensemble"]) == 2
    assert metrics["auto"]["rerun_best"].startswith("lstmts ")


def test_the_members_train_again_every_season_of_the_test_period_from_values_before_it(runs):
    """48 monthly test targets: refits 12, 24 and 36 steps in. The first year's forecasts are the fixed members'."""
    plain, fixed = (pd.read_csv(runs[name] / "predictions.csv") for name in ("plain", "fixed"))
    test = plain["split"] == "test"
    assert test.sum() == 48
    assert json.loads((runs["plain"] / "metrics.json").read_text())["auto"]["test_refits"] == 3
    assert json.loads((runs["fixed"] / "metrics.json").read_text())["auto"]["test_refits"] == 0
    first_year = plain.index[test][:12]
    np.testing.assert_allclose(plain.loc[first_year, "prediction"], fixed.loc[first_year, "prediction"], rtol=1e-9)
    later = plain.index[test][12:]
    assert not np.allclose(plain.loc[later, "prediction"], fixed.loc[later, "prediction"])
    printed = {}
    for name in ("plain", "fixed"):
        console = Console(file=io.StringIO(), width=400)
        print_summary(json.loads((runs[name] / "metrics.json").read_text()), runs[name], console)
        printed[name] = console.file.getvalue()
    assert "each member trained again 3 time(s) through the test period" in printed["plain"]
    assert "trained again" not in printed["fixed"]


@pytest.mark.parametrize("every, first, stop, season, expected", [
    ("auto", 96, 144, 12, [108, 120, 132]),          # every season
    ("auto", 96, 145, 12, [108, 120, 132, 144]),
    ("auto", 100, 146, 1, list(range(103, 146, 3))),  # no season: every ceil(46 / 20) = 3 steps, 15 refits
    ("auto", 0, 1000, 24, list(range(50, 1000, 50))),  # at most 20 fits: every 50 of 1,000 steps
    (5, 10, 27, 12, [15, 20, 25]),
    (0, 10, 27, 12, []),
    (None, 10, 27, 12, []),
    ("auto", 10, 15, 12, []),                          # a test period shorter than a season
])
def test_the_members_refit_points_follow_the_season_or_refit_every(compose_config, every, first, stop, season,
                                                                   expected):
    from lstmts.search import online

    cfg = compose_config("experiment=auto")
    cfg.auto.refit_every = every
    assert online.refit_schedule(cfg, first, stop, season) == expected


@pytest.mark.parametrize("value", [-1, 2.5, "often", True])
def test_an_impossible_refit_every_or_refit_epochs_is_one_line(compose_config, value):
    from lstmts.search import online

    cfg = compose_config("experiment=auto")
    cfg.auto.refit_every = value
    with pytest.raises(UserError, match="auto.refit_every=.* is impossible"):
        online.refit_schedule(cfg, 0, 100, 12)
    cfg.auto.refit_every = 0  # checked even when no refit would run
    cfg.auto.refit_epochs = value
    with pytest.raises(UserError, match="auto.refit_epochs=.* is impossible"):
        online.refit_schedule(cfg, 0, 100, 12)


def test_impossible_refits_are_one_line_before_the_search(compose_config, tmp_path):
    from lstmts.runs import runner

    with pytest.raises(UserError, match="auto.refit_epochs=2 is impossible"):
        runner.run(compose_config(*QUICK, "auto.refit_epochs=2"), tmp_path / "run", body=auto._auto)
    assert not (tmp_path / "run" / "candidates.csv").exists()


@pytest.mark.parametrize("fraction, epochs, expected", [(0.1, 47, 5), (0.1, 4, 1), (0.25, 10, 2), (1, 30, 30)])
def test_a_refit_trains_a_fraction_of_the_members_epochs(compose_config, fraction, epochs, expected):
    from lstmts.search import online

    cfg = compose_config("experiment=auto", f"auto.refit_epochs={fraction}")
    assert online.refit_epochs(cfg, compose_config(f"training.epochs={epochs}")) == expected


def test_a_members_refit_reads_only_the_values_before_its_point(compose_config, keras):
    """Values changed from position 125 on: the forecasts of targets up to 125 stay, the later ones move."""
    import dataclasses

    from lstmts.runs import runner
    from lstmts.search import online

    cfg = compose_config("framing=timesteps", "framing.look_back=12", "protocol.transforms=[diff1,standard]",
                         "training.epochs=4", "training.batch_size=16", "split.validation_fraction=0.0")
    series = runner.prepare(cfg).series
    start = runner.refit(cfg, series.window(0, 96))
    targets = np.arange(96, 144)
    forecaster = runner._forecaster(cfg, start.pipeline, start.model)
    fixed = forecaster.paths(series.values, targets, 1)[:, 0]
    changed = dataclasses.replace(series, values=series.values.copy())
    changed.values[125:] *= 3
    results = {}
    for name, each in (("plain", series), ("changed", changed)):
        results[name] = online.online_forecasts(cfg, each, start.weights[0], targets, fixed,
                                                np.zeros((len(targets), 2)), [108, 120, 132], 2)
    forecasts, paths, updates = results["plain"]
    np.testing.assert_array_equal(forecasts[:12], fixed[:12])  # before the first point: the member as it was
    assert not np.allclose(forecasts[12:], fixed[12:])
    assert updates > 0
    np.testing.assert_allclose(paths[12:, 0], forecasts[12:], rtol=1e-6)  # a path's first step is the forecast
    np.testing.assert_array_equal(paths[:12], 0)  # kept as given before the first point
    unchanged = targets <= 125
    np.testing.assert_array_equal(results["changed"][0][unchanged], forecasts[unchanged])
    assert not np.allclose(results["changed"][0][~unchanged], forecasts[~unchanged])
    np.testing.assert_array_equal(online.online_forecasts(cfg, series, start.weights[0], targets, fixed, None, [], 2)[0],
                                  fixed)


def test_lstmts_forecast_of_an_auto_run_is_the_median_of_its_members(runs):
    from lstmts.commands.forecast import forecast_run

    frame = forecast_run(runs["plain"], 4)
    assert list(frame["step"]) == [1, 2, 3, 4] and np.isfinite(frame["forecast"]).all()
    assert (runs["plain"] / "forecast-4.csv").exists()


def test_median_of_members_by_hand():
    members = [np.array([1.0, 5.0, 2.0]), np.array([3.0, 1.0, 2.0]), np.array([2.0, 2.0, 9.0])]
    np.testing.assert_array_equal(auto.median_of(members), [2.0, 2.0, 2.0])
    np.testing.assert_array_equal(auto.median_of([np.array([[1.0, 4.0]]), np.array([[3.0, 0.0]])]), [[2.0, 2.0]])


def test_horizon_rmse_scores_each_step_on_targets_before_the_test_period_only():
    values = np.arange(20, dtype=float)
    origins = np.array([14, 15, 16, 17])
    # Each path is its origin's true values plus an error of (row + 1) at every step.
    paths = np.stack([values[o:o + 3] + row + 1 if o + 3 <= 20 else np.r_[values[o:20], [99] * (o + 3 - 20)] + row + 1
                      for row, o in enumerate(origins)])
    scores = auto.horizon_rmse(paths, origins, values, stop=18, horizons=[1, 3])
    assert scores[1] == pytest.approx(np.sqrt(np.mean(np.array([1, 2, 3, 4]) ** 2)))
    assert scores[3] == pytest.approx(np.sqrt(np.mean(np.array([1, 2]) ** 2)))  # targets 16 and 17; 18, 19 are test


def test_the_score_is_the_mean_or_the_geometric_mean_of_the_horizons_rmse():
    assert auto.combined_score({1: 1.0, 3: 4.0, 6: 16.0}) == pytest.approx(7.0)
    assert auto.combined_score({1: 1.0, 3: 4.0, 6: 16.0}, "geometric") == pytest.approx(4.0)
    # Geometric: 10 % off at one step moves the score as much as 10 % off at six.
    assert auto.combined_score({1: 1.1, 6: 16.0}, "geometric") == pytest.approx(
        auto.combined_score({1: 1.0, 6: 17.6}, "geometric"))
    with pytest.raises(UserError, match="auto.score"):
        auto.combined_score({1: 1.0}, "median")


def test_the_auto_preset_scores_one_step_ahead_unless_the_user_asks_for_more_horizons(compose_config):
    # The run's headline test RMSE and its best baseline are one step ahead, so the search scores there.
    cfg = compose_config("experiment=auto")
    assert list(cfg.horizons) == [1]
    assert auto.validation_horizons(cfg.horizons, 30) == [1]
    first = Candidate(transforms=("diff1", "standard"), look_back=12)
    assert dict(stages(first, 12, max(auto.validation_horizons(cfg.horizons, 30)), True))["strategy"] == []
    asked = compose_config("experiment=auto", "horizons=[1,12]")
    assert auto.validation_horizons(asked.horizons, 30) == [1, 12]
    assert dict(stages(first, 12, max(auto.validation_horizons(asked.horizons, 30)), True))["strategy"] == ["direct"]


def test_validation_horizons_keep_those_that_fit():
    assert auto.validation_horizons([1, 3, 6, 12], 19) == [1, 3, 6, 12]
    assert auto.validation_horizons([3, 6, 12], 5) == [1, 3]
    assert auto.validation_horizons([], 5) == [1]


@pytest.mark.parametrize("positive, season, expected", [
    (True, 12, [("log", "diff1", "standard"), ("log", "diff12", "standard"), ("log", "diff12", "diff1", "standard"),
                ("diff1", "standard")]),
    (False, 4, [("diff1", "standard"), ("diff4", "standard"), ("diff4", "diff1", "standard")]),
    (False, 1, [("diff1", "standard")]),
    (True, 7, [("log", "diff1", "standard"), ("log", "diff7", "standard"), ("log", "diff7", "diff1", "standard"),
               ("diff1", "standard")]),
])
def test_every_transform_option_differences_the_series_and_follows_the_season(positive, season, expected):
    options = transform_options(positive, season)
    assert options == expected
    assert all(any(t.startswith("diff") for t in option) for option in options)  # never held to the training range


@pytest.mark.parametrize("season, horizon, look_back", [(12, 12, 12), (12, 18, 18), (1, 6, 6), (1, 1, 4), (4, 8, 8),
                                                        (48, 48, 48), (7, 28, 28)])
def test_the_first_look_back_covers_a_season_and_the_horizon(season, horizon, look_back):
    assert base_look_back(season, horizon) == look_back


def test_stages_search_one_dimension_at_a_time_from_the_best():
    first = Candidate(transforms=("diff1", "standard"), look_back=6)
    dimensions = dict(stages(first, season=1, horizon=1, positive=False))
    assert dimensions["look_back"] == [3, 12] and dimensions["strategy"] == []
    assert dict(stages(first, season=1, horizon=6, positive=False))["strategy"] == ["direct"]
    assert [c.units for c in neighbours(first, "units", [16, 32, 64])] == [16, 64]


def test_a_candidates_overrides_compose_to_the_config_it_applies(compose_config):
    candidate = Candidate(transforms=("log", "diff12", "standard"), look_back=24, lags_as="features", units=16,
                          layers=2, strategy="direct")
    base = compose_config("experiment=auto")
    applied = candidate.apply(base)
    composed = compose_config("experiment=auto", *(o.strip("'") for o in candidate.overrides()))
    for key in ("protocol.transforms", "framing.look_back", "framing.lags_as", "framing.strategy", "model.units",
                "model.layers", "model.stateful"):
        assert _select(composed, key) == _select(applied, key), key


def _select(cfg, key):
    from omegaconf import OmegaConf

    value = OmegaConf.select(cfg, key)
    return list(value) if hasattr(value, "__len__") and not isinstance(value, str) else value


def test_a_zero_in_the_test_period_changes_no_score_and_leaves_the_log_candidates_out_of_the_ensemble(
        compose_config, tmp_path, airline_copy):
    """The search transforms no test value: with a 0 as the last test value, every candidate (the log
    ones included) scores what it scores without it. The log candidates cannot forecast the test
    period, so they are left out of the ensemble by name and the next ones take their places."""
    from lstmts.runs import runner

    def zero_at_the_end(values):
        values[-1] = 0.0
        return values

    tables, metrics = [], []
    for name, change in (("plain", None), ("zero", zero_at_the_end)):
        path = airline_copy(tmp_path, f"{name}.csv", change)
        # A budget no machine reaches: both searches try the same 5 candidates, however busy it is.
        metrics.append(runner.run(compose_config(*QUICK, *_data(path), "auto.max_trials=5",
                                                 "auto.budget_seconds=100000"), tmp_path / name, body=auto._auto))
        tables.append(pd.read_csv(tmp_path / name / "candidates.csv"))
    plain, zero = tables
    assert plain["transforms"].iloc[0] == "log,diff1,standard"
    pd.testing.assert_series_equal(plain["validation_score"], zero["validation_score"])
    pd.testing.assert_series_equal(plain["transforms"], zero["transforms"])
    assert any("log" in m for m in metrics[0]["auto"]["ensemble"]) and not metrics[0]["auto"]["left_out"]
    assert metrics[1]["status"] == "ok" and len(zero) == len(plain) == 5
    # The members are the best candidates without a log, in their ranks, as many as there are up to
    # auto.ensemble (2): here the search's one candidate without a log.
    ranked = zero.sort_values("validation_score", kind="stable")
    expected = [row.candidate for row in ranked.itertuples() if not row.transforms.startswith("log")][:2]
    assert expected and len(metrics[1]["auto"]["ensemble"]) == len(expected)
    assert sorted(zero["member"].dropna().astype(int)) == list(range(1, len(expected) + 1))
    assert set(expected) == set(zero.loc[zero["member"].notna(), "candidate"])
    assert not any("log" in m for m in metrics[1]["auto"]["ensemble"])
    logged = {t for t in zero["transforms"] if t.startswith("log")}
    assert logged and all(any(t in note and "strictly positive" in note for note in metrics[1]["auto"]["left_out"])
                          for t in logged)
    assert np.isfinite(metrics[1]["test_rmse"])
    left = zero[zero["transforms"].isin(logged)]
    assert left["member"].isna().all() and left["note"].str.startswith("left out of the ensemble").all()
    from rich.console import Console

    from lstmts.report.tables import print_summary

    console = Console(record=True, width=300)
    print_summary(metrics[1], tmp_path / "zero", console)
    printed = [line for line in console.export_text().splitlines()
               if line.startswith("left out of the ensemble (it cannot forecast the test period): log")]
    assert len(printed) == int(zero["transforms"].str.startswith("log").sum())


@pytest.mark.parametrize("transforms", [("log", "diff1", "ar13", "standard"), ("log", "level12", "standard")],
                         ids=",".join)
def test_the_hybrid_and_level_candidates_read_no_test_value_and_their_members_none_after_validation(
        compose_config, tmp_path, transforms, airline_copy):
    """Tripling the test values changes neither the candidate's validation score and forecasts nor its
    member's fitted transforms; the member's autoregression is fitted on training + validation."""
    from lstmts.runs import runner

    length = len(pd.read_csv(airline_csv()))
    test_start = int(length * 0.67)

    def tripled_test(values):
        values[test_start:] *= 3
        return values

    candidate = Candidate(transforms=transforms, look_back=12)
    outcomes, pipelines = [], []
    for name, change in (("plain", None), ("test", tripled_test)):
        cfg = compose_config(*QUICK, *_data(airline_copy(tmp_path, f"{name}.csv", change)))
        prepared = runner.prepare(cfg)
        outcomes.append(auto.try_candidate(cfg, candidate, _quiet_progress(), [1, 3], 3))
        member = auto.member_config(cfg, outcomes[-1])
        pipelines.append(runner.prepare(member).pipeline.to_json())
        assert int(prepared.periods.split) == test_start
    assert np.isfinite(outcomes[0].score)
    assert outcomes[0].score == outcomes[1].score and outcomes[0].by_horizon == outcomes[1].by_horizon
    np.testing.assert_array_equal(outcomes[0].paths, outcomes[1].paths)
    assert pipelines[0] == pipelines[1]
    if "ar13" in transforms:
        values = pd.read_csv(airline_csv())["Passengers"].to_numpy(dtype=float)
        from lstmts.data.transforms import Pipeline

        by_hand = Pipeline(list(transforms)).fit(values[:test_start]).to_json()
        assert pipelines[0] == by_hand  # fitted on training + validation, the values before the test period


def _quiet_progress():
    from lstmts.runs.progress import RunProgress

    return RunProgress(None)


def test_auto_without_a_validation_period_or_with_covariates_is_one_line(compose_config, tmp_path):
    from lstmts.runs import runner

    with pytest.raises(UserError, match="split.validation_fraction"):
        runner.run(compose_config(*QUICK, "split.validation_fraction=0"), tmp_path / "a", body=auto._auto)
    with pytest.raises(UserError, match="covariates"):
        runner.run(compose_config(*QUICK, "data.calendar=true"), tmp_path / "b", body=auto._auto)
    with pytest.raises(UserError, match=r"drop protocol.scaler_sees_test \(protocol=tutorial\)"):
        runner.run(compose_config(*QUICK, "protocol.scaler_sees_test=true"), tmp_path / "c", body=auto._auto)


def test_an_optuna_search_starts_where_the_staged_one_does_and_keeps_its_budget(compose_config, tmp_path):
    pytest.importorskip("optuna")
    from lstmts.runs import runner

    metrics = runner.run(compose_config(*QUICK, "auto.search=optuna", "auto.max_trials=4"), tmp_path / "run",
                         body=auto._auto)
    candidates = pd.read_csv(tmp_path / "run" / "candidates.csv")
    first = candidates.iloc[0]
    assert (first["transforms"], first["look_back"], first["lags_as"], first["units"], first["layers"],
            first["strategy"]) == ("log,diff1,standard", 12, "timesteps", 32, 1, "recursive")
    assert 1 <= len(candidates) <= 4 and metrics["auto"]["search"] == "optuna"


def test_an_optuna_search_stops_where_the_budget_leaves_no_room_for_the_members(compose_config, tmp_path,
                                                                                monkeypatch):
    """The study asks the staged search's rule after every trial: once it says no room is left (the
    members and their refits would not fit), no trial starts, and the run says the budget cut it."""
    pytest.importorskip("optuna")
    from lstmts.runs import runner

    asked = []

    def room_for_two(cfg, elapsed, seconds, per_member=1.0):
        asked.append((len(seconds), per_member))
        return len(seconds) < 2

    monkeypatch.setattr(auto, "room_for_another", room_for_two)
    metrics = runner.run(compose_config(*QUICK, "auto.search=optuna", "auto.max_trials=4", "auto.refit_every=24",
                                        "auto.refit_epochs=0.5"), tmp_path / "run", body=auto._auto)
    assert len(pd.read_csv(tmp_path / "run" / "candidates.csv")) == 2
    assert metrics["auto"]["budget_reached"] is True
    assert asked[-1][0] == 2 and [c for c, _ in asked] == sorted(c for c, _ in asked)  # asked after every trial
    assert all(per_member == pytest.approx(1.5) for _, per_member in asked)  # one refit, half the epochs


def test_an_unknown_search_is_one_line(compose_config, tmp_path):
    from lstmts.runs import runner

    with pytest.raises(UserError, match="auto.search='grid' is unknown; use staged or optuna"):
        runner.run(compose_config(*QUICK, "auto.search=grid"), tmp_path / "run", body=auto._auto)


# --- the budget --------------------------------------------------------------------------------

@pytest.mark.parametrize("windows, batch, expected", [
    (100, 32, 300),      # 4 updates an epoch: 300 epochs are 1,200 updates, well inside 20,000
    (3200, 32, 200),     # 100 updates an epoch: 20,000 // 100
    (64000, 32, 21),     # 2,000 an epoch: 10 epochs, but never fewer than patience 20 + 1
    (3201, 32, 198),     # a partial batch is an update: 101 an epoch -> 20,000 // 101
])
def test_a_candidates_epochs_keep_its_updates_within_max_updates(compose_config, windows, batch, expected):
    cfg = compose_config(*QUICK, "training.epochs=300", "training.patience=20", f"training.batch_size={batch}",
                         "auto.max_updates=20000")
    assert auto.search_epochs(cfg, windows) == expected
    unbounded = compose_config(*QUICK, "training.epochs=300", "auto.max_updates=null")
    assert auto.search_epochs(unbounded, 64000) == 300


def test_the_search_starts_candidates_in_its_share_of_the_budget(compose_config):
    cfg = compose_config(*QUICK, "auto.budget_seconds=50")
    assert auto.search_seconds(cfg) == pytest.approx(50 * auto.SEARCH_SHARE)


def test_the_two_halves_share_the_budget_equally(compose_config):
    # With auto.residuals each half (its search and its members) has half of auto.budget_seconds...
    halves = compose_config(*QUICK, "auto.budget_seconds=50", "auto.residuals=true")
    assert auto.budget(halves) == pytest.approx(25.0)
    assert auto.search_seconds(halves) == pytest.approx(25 * auto.SEARCH_SHARE)
    assert auto.room_for_another(halves, 14.0, []) and not auto.room_for_another(halves, 16.0, [])
    # ...and without a time limit neither half has one.
    assert auto.budget(compose_config(*QUICK, "auto.budget_seconds=null", "auto.residuals=true")) is None


def test_the_search_leaves_room_in_the_budget_for_every_network_of_the_ensemble(compose_config):
    cfg = compose_config(*QUICK, "auto.budget_seconds=100", "auto.ensemble=3", "auto.seeds=2")
    assert auto.planned_members(cfg) == 6
    assert auto.room_for_another(cfg, 10.0, [])
    # Six networks of about 4.5 s each (the median after the first candidate, and a quarter more for
    # the validation values) still fit after 60 s...
    assert auto.room_for_another(cfg, 60.0, [3.0, 4.0, 5.0])
    # ...not after 61 s, and never after the search's share of the budget, however quick they are.
    assert not auto.room_for_another(cfg, 61.0, [3.0, 4.0, 5.0])
    assert not auto.room_for_another(cfg, 61.0, [0.1, 0.1])
    # Refits through the test period that double each member's training leave no room at 60 s.
    assert not auto.room_for_another(cfg, 60.0, [3.0, 4.0, 5.0], per_member=2.0)
    assert auto.room_for_another(cfg, 30.0, [3.0, 4.0, 5.0], per_member=2.0)
    # The first candidate's time (TensorFlow's first trace and compilation) does not count: after a
    # first candidate of 30 s there is room for a second, and after a second of 1 s for more...
    assert auto.room_for_another(cfg, 30.0, [30.0]) and auto.room_for_another(cfg, 31.0, [30.0, 1.0])
    # ...but a second as slow as the first leaves none (6 x 1.25 x 30 s would run past 100 s).
    assert not auto.room_for_another(cfg, 31.0, [30.0, 30.0])


@pytest.mark.parametrize("overrides, expected", [
    (["auto.refit_every=auto", "auto.refit_epochs=0.1"], 1.3),  # 48 monthly test targets: 3 refits
    (["auto.refit_every=auto", "auto.refit_epochs=0.5"], 2.5),
    (["auto.refit_every=24", "auto.refit_epochs=0.5"], 1.5),    # one refit, 24 steps in
    (["auto.refit_every=0"], 1.0),
])
def test_the_budget_counts_the_members_refits_through_the_test_period(compose_config, overrides, expected):
    from lstmts.runs import runner

    cfg = compose_config(*QUICK, *overrides)
    prepared = runner.prepare(cfg)
    assert len(prepared.windows["test"]) == 48
    assert auto.refit_cost(cfg, prepared) == pytest.approx(expected)


def test_without_a_time_budget_max_trials_alone_bounds_the_search(compose_config):
    cfg = compose_config(*QUICK, "auto.budget_seconds=null")
    assert auto.budget(cfg) is None and auto.search_seconds(cfg) is None
    # However long it has run and however slow its candidates: no clock decides anything.
    assert auto.room_for_another(cfg, 1e9, [1e6, 1e6])


@pytest.mark.parametrize("length, seconds", [
    (24, 90.0), (5000, 90.0), (5001, 90.018), (10000, 180.0), (15000, 270.0), (20000, 360.0), (50000, 360.0)])
def test_the_automatic_budget_grows_with_the_series_length_up_to_a_limit(compose_config, length, seconds):
    cfg = compose_config(*QUICK)
    assert cfg.auto.budget_seconds == "auto"
    resolved = auto.with_budget(cfg, length)
    assert auto.budget(resolved) == pytest.approx(seconds)
    assert auto.search_seconds(resolved) == pytest.approx(seconds * auto.SEARCH_SHARE)
    assert cfg.auto.budget_seconds == "auto"  # the run's own config is left as given
    # A number or null is kept whatever the length; with two halves each has half.
    assert auto.budget(auto.with_budget(compose_config(*QUICK, "auto.budget_seconds=50"), length)) == 50.0
    assert auto.budget(auto.with_budget(compose_config(*QUICK, "auto.budget_seconds=null"), length)) is None
    assert auto.budget(auto.with_budget(compose_config(*QUICK, "auto.residuals=true"), length)) == pytest.approx(
        seconds / 2)
    with pytest.raises(RuntimeError):
        auto.budget(cfg)  # never used unresolved


def test_the_progress_display_says_how_far_into_its_budget_the_search_is(compose_config):
    candidate = Candidate(transforms=("log", "diff1", "standard"), look_back=48)
    timed = auto.with_budget(compose_config(*QUICK), 10000)
    assert auto.candidate_label(timed, "candidate", 5, candidate, 61.7) == (
        "candidate 5 (62/180 s): log,diff1,standard lb48 timesteps 32x1 recursive")
    halves = auto.with_budget(compose_config(*QUICK, "auto.residuals=true"), 10000)
    assert auto.candidate_label(halves, "on ets residuals", 2, candidate, 3.2).startswith("on ets residuals 2 (3/90 s): ")
    untimed = compose_config(*QUICK, "auto.budget_seconds=null")
    assert auto.candidate_label(untimed, "candidate", 1, candidate, 3.0) == (
        "candidate 1: log,diff1,standard lb48 timesteps 32x1 recursive")


def test_a_run_records_the_budget_its_length_gave(runs):
    assert json.loads((runs["plain"] / "metrics.json").read_text())["auto"]["budget_seconds"] == 90.0
    assert yaml.safe_load((runs["plain"] / "config.yaml").read_text())["auto"]["budget_seconds"] == "auto"


@pytest.mark.parametrize("value", ["0", "-5", "soon", "true"])
def test_an_impossible_budget_is_one_line_before_anything_runs(compose_config, tmp_path, value):
    from lstmts.runs import runner

    with pytest.raises(UserError, match=r"auto.budget_seconds=.* is impossible; .* auto \(from the series' length\),"
                                        r" or null for no time limit") as caught:
        runner.run(compose_config(*QUICK, f"auto.budget_seconds={value}"), tmp_path / "run", body=auto._auto)
    assert "\n" not in str(caught.value)
    assert not (tmp_path / "run" / "candidates.csv").exists()


def test_a_run_says_whether_the_time_budget_cut_it(runs, compose_config, tmp_path):
    from lstmts.runs import runner

    # QUICK's three candidates fit well inside 90 s: max_trials ended the search, not the clock.
    plain = json.loads((runs["plain"] / "metrics.json").read_text())
    assert plain["auto"]["budget_reached"] is False and plain["auto"]["candidates"] == 3
    # A budget no candidate fits in: the first one is tried, then the clock ends the search.
    cut = runner.run(compose_config(*QUICK, *_data(airline_csv()), "auto.budget_seconds=0.001"), tmp_path / "cut",
                     body=auto._auto)
    assert cut["auto"]["budget_reached"] is True and cut["auto"]["candidates"] == 1


def _tried(transforms: tuple[str, ...], units: int, score: float) -> auto.Tried:
    return auto.Tried(Candidate(transforms=transforms, look_back=12, units=units), score, {1: score},
                      paths=np.zeros((2, 1)))


def test_the_members_are_the_best_or_the_best_of_each_transform_and_train_seed_by_seed():
    a, b = ("log", "diff1", "standard"), ("log", "diff12", "standard")
    ranked = [_tried(a, 32, 1.0), _tried(a, 64, 1.1), _tried(a, 16, 1.2), _tried(b, 32, 1.3), _tried(b, 16, 1.4)]
    assert [t.score for t in auto.choose_members(ranked, 3)] == [1.0, 1.1, 1.2]
    # Diverse: the best of a and the best of b first, then the next best overall, in rank order.
    assert [t.score for t in auto.choose_members(ranked, 3, diverse=True)] == [1.0, 1.1, 1.3]
    assert [t.score for t in auto.choose_members(ranked[:2], 3, diverse=True)] == [1.0, 1.1]
    # Within 20 % of the best, b's best (1.3) is too far to be taken first: the three best.
    assert [t.score for t in auto.choose_members(ranked, 3, diverse=True, tolerance=0.2)] == [1.0, 1.1, 1.2]
    assert [t.score for t in auto.choose_members(ranked, 3, diverse=True, tolerance=0.3)] == [1.0, 1.1, 1.3]
    plan = auto.ensemble_plan(ranked[:2], seeds=3)
    assert [(t.score, k) for t, k in plan] == [(1.0, 0), (1.1, 0), (1.0, 1), (1.1, 1), (1.0, 2), (1.1, 2)]


def test_a_member_from_another_seed_differs_only_in_its_seed(compose_config):
    cfg = compose_config(*QUICK, "seed=5")
    tried = _tried(("diff1", "standard"), 32, 1.0)
    tried.best_epoch = 7
    first, second = auto.member_config(cfg, tried), auto.member_config(cfg, tried, 2)
    assert (first.seed, second.seed) == (5, 7) and first.training.epochs == 7
    second.seed = 5
    assert second == first


def test_the_level_option_takes_each_value_relative_to_the_season_before_it():
    assert transform_options(True, 12, level=True)[-1] == ("log", "level12", "standard")
    assert transform_options(True, 12, level=True)[3] == ("diff1", "standard")  # the fallback without log first
    assert transform_options(False, 4, level=True)[-1] == ("level4", "standard")
    assert transform_options(False, 1, level=True) == [("diff1", "standard")]  # no season: diff1 is the level
    assert Candidate(transforms=("log", "level12", "diff1", "standard"), look_back=12).warmup == 13


def test_the_hybrid_option_models_what_a_linear_autoregression_of_the_differences_leaves():
    assert transform_options(True, 12, hybrid=True)[-1] == ("log", "diff1", "ar13", "standard")
    assert transform_options(False, 1, hybrid=True) == [("diff1", "standard"), ("diff1", "ar2", "standard")]
    assert transform_options(False, 168, hybrid=True)[-1] == ("diff1", "ar60", "standard")  # at most 60 lags
    assert Candidate(transforms=("log", "diff1", "ar13", "standard"), look_back=12).warmup == 14
    first = Candidate(transforms=("diff1", "standard"), look_back=12)
    assert ("diff1", "ar13", "standard") in dict(stages(first, 12, 12, False, hybrid=True))["transforms"]


def test_auto_transforms_replaces_the_season_aware_options_in_both_searches(compose_config, tmp_path):
    """The user's options are the only ones tried, the first of them first; the default is the season-aware list."""
    from lstmts.runs import runner

    cfg = compose_config(*QUICK, "auto.transforms=[[minmax],[diff12,standard]]", "auto.max_trials=4")
    assert auto.transform_choices(cfg, True, 12) == [("minmax",), ("diff12", "standard")]
    assert auto.transform_choices(compose_config(*QUICK), True, 12) == transform_options(True, 12, level=True,
                                                                                          hybrid=True)
    runner.run(cfg, tmp_path / "run", body=auto._auto)
    candidates = pd.read_csv(tmp_path / "run" / "candidates.csv")
    assert candidates["transforms"].iloc[0] == "minmax"
    assert set(candidates["transforms"]) == {"minmax", "diff12,standard"}
    pytest.importorskip("optuna")
    runner.run(compose_config(*QUICK, "auto.transforms=[[diff1,standard]]", "auto.search=optuna"),
               tmp_path / "optuna", body=auto._auto)
    assert set(pd.read_csv(tmp_path / "optuna" / "candidates.csv")["transforms"]) == {"diff1,standard"}


@pytest.mark.parametrize("value, expected", [
    ("auto.transforms=[[diff1,cube]]", r"auto.transforms has an unknown transform in \['diff1', 'cube'\]"),
    ("auto.transforms=standard", r"auto.transforms='standard' is not a list of transform lists"),
    ("auto.transforms=[standard]", r"is not a list of transform lists"),
    ("auto.transforms=[]", r"is not a list of transform lists"),
    *[(f"auto.second_season={value}", r"auto.second_season=.* is not a cycle; use auto .*, a lag such as 168,"
                                      r" or null for none")
      for value in ("1", "0", "true", "week", "-168", "2.5", "1.0")],
])
def test_impossible_transform_options_or_cycles_are_one_line_before_anything_runs(compose_config, tmp_path, value,
                                                                                   expected):
    from lstmts.runs import runner

    with pytest.raises(UserError, match=expected) as caught:
        runner.run(compose_config(*QUICK, value), tmp_path / "run", body=auto._auto)
    assert "\n" not in str(caught.value)
    assert not (tmp_path / "run" / "candidates.csv").exists()


def test_the_baselines_fitted_beside_the_search_are_those_a_plain_fit_gives(compose_config, tmp_path, monkeypatch):
    from lstmts.runs import runner

    monkeypatch.setenv("LSTMTS_CACHE", str(tmp_path / "cache"))
    cfg = compose_config(*QUICK, "baselines.classical=true", "baselines.methods=[theta,holt_winters]",
                         "horizons=[1,3]")
    prepared = runner.prepare(cfg)
    ran = []
    beside, beside_paths, value = runner._classical_during(cfg, prepared, lambda: ran.append(1) or "searched")
    assert value == "searched" and ran == [1]
    monkeypatch.setenv("LSTMTS_CACHE", "off")
    alone, alone_paths = runner._classical(cfg, prepared)
    assert sorted(beside) == sorted(alone) == sorted(beside_paths) == sorted(alone_paths)
    for name, forecasts in alone.items():
        np.testing.assert_allclose(beside[name], forecasts, equal_nan=True)
        # The paths from every test origin, three steps each, start with the one-step forecast there.
        test = prepared.windows["test"].target_index
        assert alone_paths[name].shape == (len(test), 3)
        np.testing.assert_allclose(beside_paths[name], alone_paths[name])
        np.testing.assert_allclose(alone_paths[name][:, 0], forecasts[test])
    # Switched off: no fit, and the search still runs.
    off, paths, value = runner._classical_during(compose_config(*QUICK, "baselines.classical=false"), prepared,
                                                 lambda: 7)
    assert off == {} and paths == {} and value == 7


@pytest.mark.parametrize("look_back, lags_as, jit, expected", [
    (52, "timesteps", "auto", False), (13, "timesteps", "auto", False), (64, "timesteps", "auto", False),
    (12, "timesteps", "auto", "auto"), (65, "timesteps", "auto", "auto"), (52, "features", "auto", "auto"),
    (52, "timesteps", True, True)])
def test_candidates_of_13_to_64_time_steps_train_on_the_fused_kernels(compose_config, monkeypatch, look_back, lags_as,
                                                                     jit, expected):
    """XLA unrolls windows of up to 64 steps (a compile of 3-14 s, some shapes slower per update), so under
    training.jit_compile=auto such candidates train on the fused kernels, in the search and as members,
    and the rerun command says so; a user's own jit_compile is kept."""
    from lstmts.errors import UserError
    from lstmts.search.space import Candidate

    cfg = compose_config("experiment=auto", f"training.jit_compile={str(jit).lower()}")
    candidate = Candidate(transforms=("diff1", "standard"), look_back=look_back, lags_as=lags_as)
    member = auto.member_config(cfg, auto.Tried(candidate, 1.0, {1: 1.0}, best_epoch=5))
    assert member.training.jit_compile == expected
    command = auto._rerun_command(member, candidate)
    assert ("training.jit_compile=false" in command) == (expected is False)
    assert ("training.jit_compile=true" in command) == (expected is True) and "jit_compile=auto" not in command
    seen = []

    def prepare(candidate_cfg, **kwargs):  # the search's config for the candidate, before any training
        seen.append(candidate_cfg.training.jit_compile)
        raise UserError("stop here")

    monkeypatch.setattr(auto.runner, "prepare", prepare)
    tried = auto.try_candidate(cfg, candidate, None, [1], 1)
    assert seen == [expected] and tried.note == "stop here"


@pytest.mark.parametrize("seconds, epochs_run, best_epoch, expected", [
    (20.0, 100, 25, 5.0),    # a member trains the 25 epochs early stopping chose, not the 75 of patience after
    (8.0, 40, 40, 8.0),      # the last epoch was the best
    (3.0, 0, None, 3.0),     # a candidate that could not be trained: its own time
])
def test_a_members_time_is_its_candidates_for_the_epochs_chosen(seconds, epochs_run, best_epoch, expected):
    from lstmts.search.space import Candidate

    tried = auto.Tried(Candidate(("diff1", "standard"), 12), 1.0, {1: 1.0}, best_epoch=best_epoch,
                       epochs_run=epochs_run, seconds=seconds)
    assert auto.member_seconds(tried) == pytest.approx(expected)


def test_the_search_judges_the_members_time_from_the_epochs_they_will_train(compose_config, monkeypatch):
    """The staged search asks room_for_another with each candidate's member_seconds, in the order tried."""
    from lstmts.runs import runner
    from lstmts.runs.progress import RunProgress

    asked = []

    def room(cfg, elapsed, seconds, per_member=1.0):
        asked.append(list(seconds))
        return True

    monkeypatch.setattr(auto, "room_for_another", room)
    cfg = compose_config(*QUICK, "auto.max_trials=3", "training.epochs=60")
    prepared = runner.prepare(cfg)
    cfg = auto.with_budget(cfg, len(prepared.series.values))  # as the run resolves it
    with RunProgress(Console(file=io.StringIO())) as progress:
        tried, _ = auto.search(cfg, prepared, progress, [1], 1)
    assert len(tried) == 3 and asked
    expected = [t.seconds * t.best_epoch / t.epochs_run for t in tried]
    assert any(t.best_epoch < t.epochs_run for t in tried[:-1])  # early stopping ended one: the two differ
    np.testing.assert_allclose(asked[-1], expected[:len(asked[-1])])


@pytest.mark.parametrize("freq, season_length, expected", [
    ("30min", "auto", 336), ("h", "auto", 168), ("15min", "auto", 672), ("5min", "auto", 2016),
    ("D", "auto", 364), ("B", "auto", 260), ("W", "auto", None), ("MS", "auto", None), ("QS", "auto", None),
    ("YS", "auto", None), ("min", "auto", None),  # minutes: the season is an hour, not a day
    ("h", 12, None), ("D", 30, None),  # a season of the user's own: no cycle above it is assumed
])
def test_the_cycle_above_the_season_is_a_whole_number_of_weeks(freq, season_length, expected):
    from lstmts.data.frequency import infer_frequency, season_for, second_season

    frequency = infer_frequency(pd.date_range("2021-01-04", periods=60, freq=freq))
    assert second_season(frequency, season_for(season_length, frequency)) == expected


def test_the_second_season_option_differences_at_the_cycle_then_once_more():
    assert ("log", "diff336", "diff1", "standard") not in transform_options(True, 48)
    assert transform_options(True, 48, second=336)[1] == ("log", "diff336", "diff1", "standard")
    with_second = transform_options(False, 7, level=True, hybrid=True, second=364)
    assert with_second[1] == ("diff364", "diff1", "standard")  # second: tried before a budget cuts the search
    assert with_second[:1] + with_second[2:] == transform_options(False, 7, level=True, hybrid=True)
    assert Candidate(transforms=("diff336", "diff1", "standard"), look_back=48).warmup == 337


def _hourly(folder: Path, length: int) -> list[str]:
    """An hourly series (no test-period surprises) with a daily and a weekly cycle, as data overrides."""
    hours = np.arange(length)
    values = (np.sin(2 * np.pi * hours / 24) + 2.0 * (hours // 24 % 7 >= 5)
              + np.random.default_rng(3).normal(0, 0.1, length))
    path = folder / f"hourly-{length}.csv"
    pd.DataFrame({"date": pd.date_range("2021-01-04", periods=length, freq="h"), "load": values}).to_csv(
        path, index=False)
    return ["data=csv", f"data.path={path}", "data.column=load", "data.date_column=date"]


def test_the_second_season_needs_two_cycles_before_validation_and_can_be_set_or_dropped(compose_config, tmp_path):
    from lstmts.runs import runner

    split = ["split.train_fraction=0.8", "split.validation_fraction=0.25"]
    # 1,680 values: 1,344 before the test period, 1,008 before validation (6 weeks of hours).
    long = runner.prepare(compose_config(*QUICK, *split, *_hourly(tmp_path, 1680)))
    assert int(long.periods.validation[0]) == 1008
    assert auto.second_cycle(compose_config(*QUICK, *split, *_hourly(tmp_path, 1680)), long) == 168
    assert auto.second_cycle(compose_config(*QUICK, *split, "auto.second_season=500", *_hourly(tmp_path, 1680)),
                             long) == 500
    assert auto.second_cycle(compose_config(*QUICK, *split, "auto.second_season=505", *_hourly(tmp_path, 1680)),
                             long) is None  # 1,008 values hold one cycle of 505, not two
    assert auto.second_cycle(compose_config(*QUICK, *split, "auto.second_season=null", *_hourly(tmp_path, 1680)),
                             long) is None
    # 400 values: 240 before validation, fewer than two weeks.
    short_cfg = compose_config(*QUICK, *split, *_hourly(tmp_path, 400))
    assert auto.second_cycle(short_cfg, runner.prepare(short_cfg)) is None
    # Monthly dates have no cycle above their year.
    airline = compose_config(*QUICK)
    assert auto.second_cycle(airline, runner.prepare(airline)) is None
    # Exactly two cycles before validation are enough: 1,008 values hold two of 504, not of 505.
    assert auto.second_cycle(compose_config(*QUICK, *split, "auto.second_season=504", *_hourly(tmp_path, 1680)),
                             long) == 504
    # A whole number written as a float (Hydra reads 168.0 so) is that lag.
    assert auto.second_cycle(compose_config(*QUICK, *split, "auto.second_season=168.0", *_hourly(tmp_path, 1680)),
                             long) == 168
    # The user's own transform options are the only ones: no cycle is added to them.
    given = compose_config(*QUICK, *split, "auto.transforms=[[diff1,standard]]", *_hourly(tmp_path, 1680))
    assert auto.second_cycle(given, long) is None
    # A config from before auto.second_season (no such key) tries no cycle.
    older = compose_config(*QUICK, *split, "~auto.second_season", *_hourly(tmp_path, 1680))
    assert "second_season" not in older.auto and auto.second_cycle(older, long) is None


def test_a_run_on_hourly_values_tries_the_weekly_difference_and_says_so(compose_config, tmp_path, monkeypatch):
    from lstmts.runs import runner

    monkeypatch.setattr(auto, "BUDGET_FROM", 1000)  # so that this series' 1,680 values are beyond it
    monkeypatch.setattr(auto, "room_for_another", lambda *args, **kwargs: True)  # max_trials alone, on any machine
    cfg = compose_config(*QUICK, "split.train_fraction=0.8", "split.validation_fraction=0.25", "auto.level=false",
                         "auto.hybrid=false", "auto.max_trials=4", "training.epochs=4", "horizons=[1]",
                         *_hourly(tmp_path, 1680))
    metrics = runner.run(cfg, tmp_path / "run", body=auto._auto)
    candidates = pd.read_csv(tmp_path / "run" / "candidates.csv")
    # The values are not all positive: no log. The weekly option comes second.
    assert list(candidates["transforms"]) == ["diff1,standard", "diff168,diff1,standard", "diff24,standard",
                                              "diff24,diff1,standard"]
    assert metrics["auto"]["second_season"] == 168
    assert metrics["auto"]["budget_seconds"] == pytest.approx(90 + 0.018 * 680)  # from the series' length
    console = Console(file=io.StringIO(), width=400)
    print_summary(metrics, tmp_path / "run", console)
    assert (f"4 candidates scored on validation (horizons 1) in {metrics['auto']['search_seconds']:.1f} s of a"
            f" 102.24 s budget; the transforms included a difference at the cycle above the season (168 values);"
            f" the median of") in console.file.getvalue()
    metrics["auto"].update(budget_reached=True, second_season=None, budget_seconds=None)
    print_summary(metrics, tmp_path / "run", console)
    assert "(reached)" not in console.file.getvalue()  # no budget: nothing to reach
    metrics["auto"].update(budget_seconds=90.0)
    print_summary(metrics, tmp_path / "run", console)
    assert "s of a 90 s budget (reached); the median of" in console.file.getvalue()
    assert np.isfinite(candidates["validation_score"]).all()


def test_the_rerun_command_keeps_the_users_data_and_drops_what_it_sets_and_what_a_plain_run_lacks(
        compose_config, monkeypatch):
    import shlex
    from types import SimpleNamespace

    from hydra.core.hydra_config import HydraConfig

    from lstmts.search.space import Candidate

    task = ["data=csv", "data.path=x.csv", "experiment=auto", "seed=1", "split.validation_fraction=0.25",
            "auto.max_trials=4", "+auto.extra=1", "training.epochs=50", "baselines.refit_every=0", "horizons=[1,3]",
            "framing.look_back=5", "model.units=8", "protocol=tutorial", "training.lr_schedule=cosine",
            "training.patience=5", "training.batch_size=16", "training.learning_rate=0.01", "training.repeats=3",
            "training.jit_compile=true", "training.shuffle=false"]
    # The user's schedule and shuffling trained the member, so they stay; what the command sets or a member
    # overrides goes.
    assert auto.rerun_overrides(task) == ["data=csv", "data.path=x.csv", "baselines.refit_every=0", "horizons=[1,3]",
                                          "training.lr_schedule=cosine", "training.shuffle=false"]

    # The whole command, as a run under Hydra prints it, composes as a plain run with the member's seed.
    airline_task = ["seed=1", "auto.max_trials=4", "split.validation_fraction=0.25", "baselines.refit_every=0",
                    "training.lr_schedule=cosine", "training.patience=5"]
    monkeypatch.setattr(HydraConfig, "initialized", staticmethod(lambda: True))
    monkeypatch.setattr(HydraConfig, "get", staticmethod(lambda: SimpleNamespace(
        overrides=SimpleNamespace(task=airline_task))))
    cfg = compose_config("experiment=auto", "seed=3")
    candidate = Candidate(transforms=("log", "diff12", "standard"), look_back=12)
    member = auto.member_config(cfg, auto.Tried(candidate, 1.0, {1: 1.0}, best_epoch=5))
    words = shlex.split(auto._rerun_command(member, candidate))
    assert words[0] == "lstmts" and [w for w in words if w.startswith("seed=")] == ["seed=3"]
    rerun = compose_config(*words[1:])
    assert rerun.seed == 3 and rerun.auto is None and rerun.baselines.refit_every == 0
    assert rerun.training.lr_schedule == "cosine" and rerun.training.patience is None and rerun.training.epochs == 5
    assert list(rerun.protocol.transforms) == ["log", "diff12", "standard"] and rerun.split.validation_fraction == 0


@pytest.mark.parametrize("task, cfg_data, added", [
    # found in the file: both written out, so the rerun reads them whatever the file gets later
    (["data=csv", "data.path=x.csv"], {"column": "sales", "date_column": "week"},
     ["data.column=sales", "data.date_column=week"]),
    # no dates found; a name that needs Hydra's quotes
    (["data=csv", "data.path=x.csv"], {"column": "sales 2024", "date_column": None},
     ["data.column=\"'sales 2024'\"", "data.date_column=null"]),
    # given by the user: kept as given (rerun_overrides), not written twice
    (["data=csv", "data.path=x.csv", "data.column=sales"], {"column": "sales", "date_column": "week"},
     ["data.date_column=week"]),
    # the shipped data names its own columns
    ([], None, []),
])
def test_the_rerun_command_names_the_columns_the_run_found(compose_config, task, cfg_data, added):
    cfg = compose_config(*(["data=csv", "data.path=x.csv"] if cfg_data else []))
    for key, name in (cfg_data or {}).items():
        cfg.data[key] = name
    assert auto.found_columns(task, cfg) == added
