"""The automatic LSTM's combination with the baselines, and its optional second half."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import yaml

from lstmts.config import airline_csv
from lstmts.search import auto, residuals

# Theta is the one classical baseline here (a fit takes milliseconds on the airline series).
QUICK = ["experiment=auto", "auto.max_trials=2", "auto.ensemble=2", "training.epochs=12", "training.patience=3",
         "baselines.methods=[theta]", "intervals.levels=[]", "horizons=[1]", "auto.residuals=true"]


def _data(path) -> list[str]:
    return ["data=csv", f"data.path={path}", "data.column=Passengers", "data.date_column=Month"]


@pytest.fixture(scope="module")
def halves(compose_config, tmp_path_factory, keras, airline_copy):
    """A run with both halves on the airline series, and one on a copy whose test values are tripled."""
    from lstmts.runs import runner

    root = tmp_path_factory.mktemp("residuals")
    test_start = int(len(pd.read_csv(airline_csv())) * 0.67)

    def tripled_test(values):
        values[test_start:] *= 3
        return values

    folders = {}
    for name, change, more in (("plain", None, []), ("test", tripled_test, []), ("mean", None, ["auto.combine=mean"]),
                               ("median", None, ["auto.combine=median", "auto.leaders=2"]),
                               ("three", None, ["auto.combine=median", "auto.leaders=0"]),
                               # fit_half 5: the fitted weights count most (the default's 500 keeps shrink's here)
                               ("networks", None, ["auto.residuals=false", "auto.fit_half=5"]),
                               ("shrink", None, ["auto.residuals=false", "auto.combine=shrink"])):
        folders[name] = root / name
        runner.run(compose_config(*QUICK, *more, *_data(airline_copy(root, f"{name}.csv", change))), folders[name],
                   body=auto._auto)
    return folders


def _member(folder, keras):
    from omegaconf import OmegaConf

    from lstmts.data.transforms import Pipeline
    from lstmts.models.forecaster import Forecaster

    config = OmegaConf.create(yaml.safe_load((folder / "config.yaml").read_text()))
    return Forecaster(keras.saving.load_model(folder / "model.keras", compile=False),
                      Pipeline.from_json((folder / "transforms.json").read_text()),
                      config.framing.look_back, config.framing.lags_as, False, config.training.batch_size)


def _split(folder):
    kinds = {m: json.loads((m / "member.json").read_text())["learns"] for m in (folder / "members").iterdir()}
    on_series = sorted((m for m, kind in kinds.items() if kind == "series"), key=lambda m: int(m.name))
    on_residuals = sorted((m for m, kind in kinds.items() if kind != "series"), key=lambda m: int(m.name))
    return on_series, on_residuals, kinds


def test_the_second_half_learns_what_the_baseline_chosen_on_validation_leaves(halves):
    metrics = json.loads((halves["plain"] / "metrics.json").read_text())
    second = metrics["auto"]["residuals"]
    assert second["baseline"] == metrics["best_baseline"]["name"]  # the table's rule: lowest validation RMSE
    assert json.loads((halves["plain"] / "residuals.json").read_text())["baseline"] == second["baseline"]
    on_series, on_residuals, kinds = _split(halves["plain"])
    assert [m.name for m in on_series] == ["1", "2"] and [m.name for m in on_residuals] == ["3", "4"]
    assert {kinds[m] for m in on_residuals} == {f"{second['baseline']} residuals"}
    candidates = pd.read_csv(halves["plain"] / "candidates.csv")
    assert list(candidates["learns"].unique()) == ["series", f"{second['baseline']} residuals"]
    assert list(candidates["candidate"]) == list(range(1, len(candidates) + 1))
    assert sorted(candidates["member"].dropna().astype(int)) == [1, 2, 3, 4]
    # The residual networks see the residuals scaled, never differenced.
    assert set(candidates.loc[candidates["learns"] != "series", "transforms"]) == {"standard"}


def _one_step_by_hand(name, values, season, end):
    from lstmts.evaluation.classical import classical_forecasts

    if name == "persistence":
        return np.concatenate([[np.nan], values[:-1]])
    if name == "seasonal_naive":
        return np.concatenate([np.full(season, np.nan), values[:-season]])
    return classical_forecasts(values, end, season, {"methods": ["theta"]})[name]


def _simplex_by_hand(voices, actual):
    """The weights (at least 0, summing to 1) with the least squared error, found by trying every set of
    voices with Lagrange's equations (sum of w = 1) and keeping the best whose weights are all >= 0."""
    from itertools import combinations

    best, count = (np.inf, None), len(voices)
    for size in range(1, count + 1):
        for chosen in combinations(range(count), size):
            x = voices[list(chosen)].T
            system = np.block([[2 * x.T @ x, np.ones((size, 1))], [np.ones((1, size)), np.zeros((1, 1))]])
            try:
                solved = np.linalg.solve(system, np.concatenate([2 * x.T @ actual, [1.0]]))[:size]
            except np.linalg.LinAlgError:
                continue
            if (solved >= -1e-12).all():
                weights = np.zeros(count)
                weights[list(chosen)] = solved
                error = float(np.sum((weights @ voices - actual) ** 2))
                best = min(best, (error, weights), key=lambda pair: pair[0])
    return best[1]


def _fitted_by_hand(voices, actual, move=0.3, half=500.0):
    """Shrink's weights (1 - move on the baseline, move shared by the others) moved n / (n + half) of
    the way to the best weights on the n validation targets every voice forecasts."""
    voices = np.asarray(voices, dtype=float)
    every = np.isfinite(voices).all(axis=0)
    fixed = np.array([1 - move] + [move / (len(voices) - 1)] * (len(voices) - 1))
    share = every.sum() / (every.sum() + half)
    return (1 - share) * fixed + share * _simplex_by_hand(voices[:, every], actual[every])


def _combined_by_hand(run, first, second, base, leading, move=0.3, weights=None):
    """The run's forecast from its voices: the default (plain, networks) weights them (the baseline,
    the halves, the leaders' mean) by `weights`; shrink moves the baseline `move` of the way towards
    the mean of the others; median and mean; three: the median without the leaders' mean."""
    if run in ("plain", "networks"):
        voices = [base, first] + ([] if second is None else [second]) + [leading]
        return np.tensordot(weights, np.array(voices), axes=1)
    if run == "shrink":  # no second half: towards the mean of the networks and the leaders
        return base + move * (np.mean([first, leading], axis=0) - base)
    voices = [first, second, base] + ([] if run == "three" else [leading])
    return (np.mean if run == "mean" else np.median)(voices, axis=0)


@pytest.mark.parametrize("run", ["plain", "mean", "median", "three", "networks", "shrink"])
def test_the_runs_forecast_combines_its_halves_and_the_baseline_computed_by_hand(halves, keras, run):
    """First half: the median of its members on the series. Second: the baseline's one-step forecast
    plus the median of its members on the residuals (y less that forecast). The run (auto.combine):
    the voices (the baseline, the halves, the mean of the three baselines best on validation)
    weighted by shrink's weights moved towards the weights fitted on validation (the default), the
    baseline moved 0.3 of the way towards the mean of the others (shrink), or the mean or the median
    of the four, or (auto.leaders=0) the median of the first three."""

    folder = halves[run]
    values = pd.read_csv(airline_csv())["Passengers"].to_numpy(dtype=float)
    predictions = pd.read_csv(folder / "predictions.csv")
    test = predictions["split"] == "test"
    targets = np.arange(len(values) - int(test.sum()), len(values))
    np.testing.assert_array_equal(predictions.loc[test, "actual"], values[targets])
    record = json.loads((folder / "residuals.json").read_text())
    name, season, end = record["baseline"], record["season_length"], record["training_end"]
    base = _one_step_by_hand(name, values, season, end)
    residual = values - base
    residual[:season + 1] = 0.0
    residual[~np.isfinite(residual)] = 0.0
    on_series, on_residuals, _ = _split(folder)
    first = np.median([_member(m, keras).paths(values, targets, 1)[:, 0] for m in on_series], axis=0)
    second = None
    if run in ("networks", "shrink"):
        assert not on_residuals and json.loads((folder / "metrics.json").read_text())["auto"]["residuals"] is None
    else:
        second = base[targets] + np.median(
            [_member(m, keras).paths(residual, targets, 1)[:, 0] for m in on_residuals], axis=0)
        assert not np.allclose(first, second)  # two different halves, not one counted twice
    # The leaders: persistence, seasonal naive and theta (the run's only classical baseline), by validation RMSE.
    scores = json.loads((folder / "metrics.json").read_text())["baselines"]
    ranked = sorted(scores, key=lambda baseline: scores[baseline]["validation_rmse"])
    chosen = {"three": [], "median": ranked[:2]}.get(run, ranked)  # the median run asks for 2 (auto.leaders=2)
    assert record["leaders"] == chosen and ranked[0] == name and len(ranked) == 3
    def leaders_at(index):
        return np.mean([_one_step_by_hand(leader, values, season, end)[index] for leader in chosen or ranked], axis=0)

    leading = leaders_at(targets)
    kept = pd.read_csv(folder / "voices.csv")
    weights = None
    if run in ("plain", "networks"):
        # The weights: fitted on the validation targets from the baseline's and the leaders' forecasts
        # (by hand) and the search models' (voices.csv), shrunk towards 0.7 / the rest shared equally.
        validation = kept[kept["split"] == "validation"]
        index = np.arange(len(values))[-int(test.sum()) - len(validation):-int(test.sum())]
        voices = [base[index], validation["networks"].to_numpy()] + (
            [] if second is None else [validation["second_half"].to_numpy()]) + [leaders_at(index)]
        weights = _fitted_by_hand(voices, values[index], half=5.0 if run == "networks" else 500.0)
        names = ["baseline", "networks"] + ([] if second is None else ["second_half"]) + ["leaders"]
        assert list(record["weights"]) == names
        np.testing.assert_allclose(list(record["weights"].values()), weights, atol=1e-6)
        combined = json.loads((folder / "metrics.json").read_text())["auto"]["combination"]
        assert combined["weights"] == record["weights"] and combined["fitted_on"] == len(index)
        # The run's validation RMSE is the weighted voices' on validation.
        assert json.loads((folder / "metrics.json").read_text())["validation_rmse"] == pytest.approx(
            np.sqrt(np.mean((np.tensordot(weights, np.array(voices), axes=1) - values[index]) ** 2)), rel=1e-6)
    by_hand = _combined_by_hand(run, first, second, base[targets], leading, weights=weights)
    assert record["combine"] == {"plain": "fitted", "networks": "fitted", "shrink": "shrink",
                                 "mean": "mean"}.get(run, "median")
    assert record["shrink"] == (0.3 if run in ("plain", "networks", "shrink") else None)
    np.testing.assert_allclose(predictions.loc[test, "prediction"], by_hand, rtol=1e-6 if weights is not None else 1e-9)
    # voices.csv: each voice as computed here, every baseline scored on validation, best first, and the
    # run's forecast of the validation and test targets.
    halves_kept = ["networks"] + ([] if second is None else ["second_half"])
    assert list(kept.columns) == ["date", "actual", "split", "forecast", *halves_kept, *ranked]
    months = {month: i for i, month in enumerate(pd.to_datetime(pd.read_csv(airline_csv())["Month"]))}
    for split in ("validation", "test"):
        rows, written = kept[kept["split"] == split], predictions[predictions["split"] == split]
        np.testing.assert_array_equal(rows["date"], written["date"])
        np.testing.assert_allclose(rows["forecast"], written["prediction"], rtol=1e-12)
        index = np.array([months[month] for month in pd.to_datetime(rows["date"])])
        np.testing.assert_array_equal(rows["actual"], values[index])
        for baseline in ranked:
            np.testing.assert_allclose(rows[baseline], _one_step_by_hand(baseline, values, season, end)[index],
                                       rtol=1e-9)
    test_rows = kept[kept["split"] == "test"]
    np.testing.assert_allclose(test_rows["networks"], first, rtol=1e-9)
    if second is not None:
        np.testing.assert_allclose(test_rows["second_half"], second, rtol=1e-9)
    voices = [first, second, base[targets], leading]
    if run == "three":  # each of the three is the middle one somewhere: a median, not one of them throughout
        middle = {name: np.isclose(by_hand, values_).sum()
                  for name, values_ in (("first", first), ("second", second), ("base", base[targets]))}
        assert all(count > 0 for count in middle.values()), middle
    if run == "median":  # the fourth voice changes the forecast: not the median of the first three
        assert not np.allclose(by_hand, np.median(voices[:3], axis=0))


def test_changing_the_test_values_changes_neither_halfs_choice_nor_weights(halves, keras):
    plain, changed = (pd.read_csv(halves[name] / "candidates.csv") for name in ("plain", "test"))
    pd.testing.assert_frame_equal(plain.drop(columns="seconds"), changed.drop(columns="seconds"))
    for member in (halves["plain"] / "members").iterdir():
        for a, b in zip(keras.saving.load_model(member / "model.keras", compile=False).get_weights(),
                        keras.saving.load_model(halves["test"] / "members" / member.name / "model.keras",
                                                compile=False).get_weights(), strict=True):
            np.testing.assert_array_equal(a, b)
    before = [json.loads((halves[name] / "metrics.json").read_text())["validation_rmse"] for name in ("plain", "test")]
    assert before[0] == before[1]
    # nor the voices' weights, fitted on validation only
    weights = [json.loads((halves[name] / "residuals.json").read_text())["weights"] for name in ("plain", "test")]
    assert weights[0] == weights[1] and len(weights[0]) == 4


def _voices_by_hand(folder, keras, steps=5):
    """Return the airline series, the folder's residuals.json and its first half's, second half's and
    baseline's forecasts of the `steps` values after the series, computed from the members' folders."""
    from lstmts.data.series import load_series
    from omegaconf import OmegaConf

    config = OmegaConf.create(yaml.safe_load((folder / "config.yaml").read_text()))
    series = load_series(config.data, airline_csv())
    record = json.loads((folder / "residuals.json").read_text())
    on_series, on_residuals, _ = _split(folder)
    first = np.median([_member(m, keras).beyond(series.values, steps, 0) for m in on_series], axis=0)
    residual = residuals.residuals(series.values, residuals.base_for(record, series.values), record["season_length"])
    future = residuals.future(record, series.values, steps)
    second = (future + np.median([_member(m, keras).beyond(residual, steps, 0) for m in on_residuals], axis=0)
              if on_residuals else None)
    return series, record, first, second, future


@pytest.mark.parametrize("run", ["plain", "mean", "median", "three", "networks", "shrink", "moved further",
                                 "weighted otherwise"])
def test_lstmts_forecast_of_a_run_with_two_halves_combines_them_as_the_run_did(halves, keras, run, tmp_path):
    import shutil

    folder, move = halves.get(run), 0.3
    if run == "moved further":  # the run's own move (residuals.json), not the default's
        folder, move, run = tmp_path / "further", 0.8, "shrink"
        shutil.copytree(halves["shrink"], folder)
        record = json.loads((folder / "residuals.json").read_text())
        (folder / "residuals.json").write_text(json.dumps({**record, "shrink": move}))
    if run == "weighted otherwise":  # the run's own weights (residuals.json), in its order of the voices
        folder, run = tmp_path / "weighted", "plain"
        shutil.copytree(halves["plain"], folder)
        record = json.loads((folder / "residuals.json").read_text())
        weights = {"leaders": 0.1, "second_half": 0.2, "networks": 0.6, "baseline": 0.1}  # written in another order
        (folder / "residuals.json").write_text(json.dumps({**record, "weights": weights}))
    series, record, first, second, future = _voices_by_hand(folder, keras)
    forecast = auto.forecast_members(folder, series, 5, refit=False)
    leading = None
    if run != "three":  # the leaders' mean: the last value, the last season (12) and theta's forecast
        assert len(record["leaders"]) == (2 if run == "median" else 3)
        assert set(record["leaders"]) <= {"persistence", "seasonal_naive", "theta"}
        from lstmts.evaluation.classical import forecast_from

        naive = {"persistence": np.full(5, series.values[-1]), "seasonal_naive": series.values[-12:-7],
                 "theta": forecast_from("theta", series.values, 5, 12, record["baselines"])}
        leading = np.mean([naive[leader] for leader in record["leaders"]], axis=0)
    weights = record.get("weights")
    if weights is not None:
        weights = [weights[voice] for voice in ("baseline", "networks", "second_half", "leaders") if voice in weights]
    np.testing.assert_allclose(forecast, _combined_by_hand(run, first, second, future, leading, move, weights),
                               rtol=1e-9)
    if folder == halves["plain"]:
        refitted = auto.forecast_members(folder, series, 5, refit=True)
        assert refitted.shape == (5,) and np.isfinite(refitted).all()


def test_lstmts_forecast_of_a_fitted_run_whose_record_lacks_a_weight_is_one_line(halves, keras, tmp_path):
    import shutil

    from lstmts.errors import UserError

    folder = tmp_path / "lacking"
    shutil.copytree(halves["plain"], folder)
    record = json.loads((folder / "residuals.json").read_text())
    del record["weights"]["second_half"]
    (folder / "residuals.json").write_text(json.dumps(record))
    series, *_ = _voices_by_hand(folder, keras)
    with pytest.raises(UserError, match="has no weight for each of the run's voices .*second_half.*; rerun"):
        auto.forecast_members(folder, series, 5, refit=False)


@pytest.mark.parametrize("before", ["leaders", "combine"])
def test_lstmts_forecast_of_an_older_run_combines_as_that_run_did(halves, keras, tmp_path, before):
    """A run from before auto.leaders: the median of the halves and the baseline; from before
    auto.combine: the mean of the halves."""
    import shutil

    folder = tmp_path / "old"
    shutil.copytree(halves["plain"], folder)
    record = json.loads((folder / "residuals.json").read_text())
    del record[before]  # as such a run wrote it
    record["combine"], record["shrink"] = "median", None  # shrink came after both
    if before == "combine":
        del record["combine"]
    (folder / "residuals.json").write_text(json.dumps(record))
    series, _, first, second, future = _voices_by_hand(folder, keras)
    by_hand = np.median([first, second, future], axis=0) if before == "leaders" else (first + second) / 2
    np.testing.assert_allclose(auto.forecast_members(folder, series, 5, refit=False), by_hand, rtol=1e-9)


def test_without_the_second_half_nothing_of_it_is_written(halves, compose_config, tmp_path, keras):
    import shutil

    from lstmts.runs import runner

    # No second half: no residual networks, no learns column; the combination's record only.
    metrics = json.loads((halves["networks"] / "metrics.json").read_text())
    assert metrics["auto"]["residuals"] is None and metrics["auto"]["combination"]["combine"] == "fitted"
    assert "learns" not in pd.read_csv(halves["networks"] / "candidates.csv").columns
    # The networks alone (auto.combine=none), in the folder of a run with both halves and the baselines:
    # nothing of the baselines is left there, so lstmts forecast takes the networks alone too.
    folder = tmp_path / "run"
    shutil.copytree(halves["plain"], folder)
    metrics = runner.run(compose_config(*QUICK, "auto.residuals=false", "auto.combine=none", *_data(airline_csv())),
                         folder, body=auto._auto)
    assert metrics["auto"]["residuals"] is None and metrics["auto"]["combination"] is None
    assert not (folder / "residuals.json").exists()
    assert sorted(p.name for p in (folder / "members").iterdir()) == ["1", "2"]
    series, _, first, _, _ = _voices_by_hand(halves["networks"], keras)  # the series and its first half, for the shape
    on_series, _, _ = _split(folder)
    by_hand = np.median([_member(m, keras).beyond(series.values, 5, 0) for m in on_series], axis=0)
    np.testing.assert_allclose(auto.forecast_members(folder, series, 5, refit=False), by_hand, rtol=1e-9)
    # voices.csv keeps the baselines beside the networks even where the forecast is the networks alone.
    kept = pd.read_csv(folder / "voices.csv")
    np.testing.assert_allclose(kept["forecast"], kept["networks"], rtol=1e-12)
    assert {"persistence", "seasonal_naive", "theta"} <= set(kept.columns)


def test_combine_voices_scores_other_combinations_from_the_run_folders_alone(halves):
    """benchmarks/combine_voices.py: from voices.csv, each run's own combination is its forecast, its
    ratio is the run's, and the default's rule (0.3 towards the networks and the 3 leaders' mean)
    rebuilds the default run's forecast."""
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "benchmarks" / "combine_voices.py"
    spec = importlib.util.spec_from_file_location("combine_voices", path)
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    for name, folder in halves.items():
        run = bench.load(folder)
        test = run["voices"][run["voices"]["split"] == "test"]
        np.testing.assert_allclose(bench.as_run(run), test["forecast"], rtol=1e-9)
        metrics = json.loads((folder / "metrics.json").read_text())
        assert bench.ranked_baselines(run)[0] == metrics["best_baseline"]["name"]
        assert bench.ratio(run, bench.as_run(run)) == pytest.approx(metrics["test_rmse_ratio_to_best_baseline"],
                                                                   rel=1e-6)
    rules = bench.rules([0.3, 1.0])
    for name, rule in (("shrink", rules["moved 0.3 towards the networks and the leaders' mean"]),
                       ("networks", bench.fitted(5))):  # that run's fit_half
        run = bench.load(halves[name])
        test = run["voices"][run["voices"]["split"] == "test"]
        validation = run["voices"][run["voices"]["split"] == "validation"]
        np.testing.assert_allclose(rule(test, validation, bench.ranked_baselines(run)), test["forecast"], rtol=1e-9)
    ratios = bench.summary(np.array([0.9, 1.0, 1.05, 1.2]))
    assert ratios["wins"] == 1 and ratios["within 1.10"] == 3 and ratios["worst"] == 1.2
    assert ratios["geo"] == pytest.approx((0.9 * 1.05 * 1.2) ** 0.25)


# --- the pieces, by hand -------------------------------------------------------------------------

@pytest.mark.parametrize("season", [1, 4, 12])
def test_the_naive_bases_one_step_forecasts_by_hand(season):
    values = np.arange(1.0, 31.0) ** 1.5
    persistence = residuals.one_step("persistence", values, season, {})
    assert np.isnan(persistence[0]) and persistence[7] == values[6]
    seasonal = residuals.one_step("seasonal_naive", values, season, {})
    assert np.isnan(seasonal[:season]).all() and seasonal[season + 3] == values[3]
    classical = {"theta": values * 0.5, "ets": "skipped: no"}
    np.testing.assert_array_equal(residuals.one_step("theta", values, season, classical), values * 0.5)
    with pytest.raises(KeyError):
        residuals.one_step("ets", values, season, classical)


@pytest.mark.parametrize("season, zeroed", [(1, 2), (4, 5), (12, 13), (52, 53)])
def test_the_residuals_are_zero_over_the_first_season_and_where_the_base_has_no_forecast(season, zeroed):
    values = np.linspace(10.0, 80.0, 120)
    base = values - 0.5
    base[60] = np.nan
    z = residuals.residuals(values, base, season)
    assert residuals.leading(season) == zeroed
    assert (z[:zeroed] == 0).all() and z[60] == 0
    np.testing.assert_allclose(np.delete(z[zeroed:], 60 - zeroed), 0.5)


def test_the_halves_mean_takes_the_one_that_has_a_forecast_where_the_other_has_none():
    first = np.array([1.0, 2.0, np.nan, 4.0])
    second = np.array([3.0, np.nan, np.nan, 0.0])
    np.testing.assert_array_equal(residuals.combine(first, second), [2.0, 2.0, np.nan, 2.0])
    assert residuals.combine(None, second) is second and residuals.combine(first, None) is first
    np.testing.assert_array_equal(residuals.combine(np.ones((2, 3)), np.full((2, 3), 3.0)), np.full((2, 3), 2.0))


def test_the_median_with_the_baseline_by_hand_and_the_mean_where_one_of_the_three_is_missing():
    first = np.array([5.0, 1.0, 4.0, 2.0, 7.0, np.nan, 3.0])
    second = np.array([3.0, 2.0, 9.0, 6.0, 1.0, 4.0, np.nan])
    base = np.array([4.0, 3.0, 5.0, 2.0, 8.0, 2.0, 1.0])
    # The middle value of each column; where one is missing, the mean of the halves that have a forecast.
    np.testing.assert_array_equal(residuals.combine(first, second, base), [4.0, 2.0, 5.0, 2.0, 7.0, 4.0, 3.0])
    # Multi-step paths: the base has only the first step, so the later steps are the halves' mean.
    paths_first, paths_second = np.array([[1.0, 10.0], [6.0, 20.0]]), np.array([[3.0, np.nan], [2.0, 40.0]])
    paths_base = np.array([[2.5, np.nan], [7.0, np.nan]])
    np.testing.assert_array_equal(residuals.combine(paths_first, paths_second, paths_base), [[2.5, 10.0], [6.0, 30.0]])
    # The mean of the three: (1 + 3 + 2.5) / 3 and (6 + 2 + 7) / 3 at the first step; the halves' mean after it.
    np.testing.assert_allclose(residuals.combine(paths_first, paths_second, paths_base, "mean"),
                               [[6.5 / 3, 10.0], [5.0, 30.0]], rtol=1e-12)


def test_the_fourth_voice_by_hand_and_the_median_of_three_where_it_has_no_forecast():
    first = np.array([5.0, 1.0, 4.0, 2.0, np.nan])
    second = np.array([3.0, 2.0, 9.0, 6.0, 4.0])
    base = np.array([4.0, 3.0, 5.0, 2.0, 2.0])
    leading = np.array([10.0, 0.0, np.nan, 3.0, 8.0])
    # Four voices: the mean of the middle two (4 and 5, 1 and 2, 2 and 3); where the leaders' mean has
    # none, the median of three (5); where a half has none, the mean of the halves (4).
    np.testing.assert_array_equal(residuals.combine(first, second, base, "median", leading), [4.5, 1.5, 5.0, 2.5, 4.0])
    np.testing.assert_allclose(residuals.combine(first, second, base, "mean", leading),
                               [5.5, 1.5, 6.0, 3.25, 4.0], rtol=1e-12)
    # shrink: the baseline moved 0.3 (or 0.5) of the way to the others' mean: 4 + 0.3 (6 - 4); 3 + 0.3 (1 - 3);
    # without the leaders' mean 5 + 0.3 (6.5 - 5); 2 + 0.3 (11 / 3 - 2); where a half has none, the halves' mean.
    np.testing.assert_allclose(residuals.combine(first, second, base, "shrink", leading, 0.3),
                               [4.6, 2.4, 5.45, 2.5, 4.0], rtol=1e-12)
    np.testing.assert_allclose(residuals.combine(first, second, base, "shrink", leading, 0.5),
                               [5.0, 2.0, 5.75, 2 + 5 / 6, 4.0], rtol=1e-12)
    np.testing.assert_allclose(residuals.combine(first, second, base, "shrink", None, 1.0), [4.0, 1.5, 6.5, 4.0, 4.0])
    # Paths: the baselines have the first step only, so later steps are the halves' mean.
    paths = [np.array([[1.0, 10.0]]), np.array([[3.0, 30.0]]), np.array([[2.5, np.nan]]), np.array([[9.0, np.nan]])]
    np.testing.assert_array_equal(residuals.combine(*paths[:3], "median", paths[3]), [[2.75, 20.0]])
    np.testing.assert_allclose(residuals.combine(*paths[:3], "shrink", paths[3], 0.3), [[2.5 + 0.3 * (13 / 3 - 2.5), 20.0]])


def test_with_one_half_the_baseline_moves_towards_it_and_the_leaders_by_hand():
    first = np.array([5.0, 1.0, np.nan, 8.0])
    base = np.array([4.0, 3.0, 5.0, 2.0])
    leading = np.array([10.0, 0.0, 7.0, np.nan])
    # 4 + 0.3 (7.5 - 4); 3 + 0.3 (0.5 - 3); the half has none: its own NaN; no leaders' mean: 2 + 0.3 (8 - 2).
    np.testing.assert_allclose(residuals.combine(first, None, base, "shrink", leading, 0.3), [5.05, 2.25, np.nan, 3.8])
    np.testing.assert_allclose(residuals.combine(first, None, base, "median", leading), [5.0, 1.0, np.nan, 5.0])
    # The networks alone (auto.combine=none), with or without a baseline: the half itself.
    assert residuals.combine(first, None, base, "none", leading) is first and residuals.combine(first, None) is first
    with pytest.raises(ValueError, match="move"):  # shrink has no default move of its own: the config's
        residuals.combine(first, None, base, "shrink", leading)


@pytest.mark.parametrize("count, names", [(0, None), (2, ("theta", "ets")), (3, ("theta", "ets", "seasonal_naive")),
                                          (9, ("theta", "ets", "seasonal_naive", "persistence"))])
def test_the_leaders_are_the_baselines_best_on_validation_and_their_mean_by_hand(count, names):
    values = np.sin(np.arange(60.0) * 2 * np.pi / 4) * 10 + 50 + np.arange(60.0) * 0.3
    validation = np.arange(40, 50)
    classical = {"theta": values + 0.1, "ets": values - 0.5, "holt": "skipped: no"}
    leading = residuals.leaders(values, validation, 4, classical, count)
    if names is None:
        assert leading is None
        return
    assert leading.names == names
    by_hand = {"theta": values + 0.1, "ets": values - 0.5, "persistence": np.concatenate([[np.nan], values[:-1]]),
               "seasonal_naive": np.concatenate([np.full(4, np.nan), values[:-4]])}
    np.testing.assert_allclose(leading.forecasts, np.mean([by_hand[name] for name in names], axis=0), rtol=1e-12)
    assert np.isnan(leading.forecasts[0]) == (count > 2)
    # Without a season and a classical baseline, persistence alone scores: nothing to average, no fourth voice.
    assert residuals.leaders(values, validation, 1, {"ets": "skipped: no"}, 3) is None
    assert residuals.leaders(values, validation, 4, {"ets": "skipped: no"}, 3).names == ("seasonal_naive", "persistence")


def test_a_whole_float_count_of_leaders_is_read_as_a_count(compose_config):
    assert residuals.leader_count(compose_config(*QUICK, "auto.leaders=3.0")) == 3
    assert residuals.leader_count(compose_config(*QUICK, "auto.leaders=0")) == 0


@pytest.mark.parametrize("value", [1, -1, "three", True, 2.5])
def test_an_impossible_count_of_leaders_is_one_line_before_anything_runs(compose_config, tmp_path, value):
    from lstmts.errors import UserError
    from lstmts.runs import runner

    with pytest.raises(UserError, match=r"auto.leaders=.* is not a whole number of baselines to average; use 0") \
            as caught:
        runner.run(compose_config(*QUICK, f"auto.leaders={value}", *_data(airline_csv())), tmp_path / "run",
                   body=auto._auto)
    assert "\n" not in str(caught.value) and not (tmp_path / "run" / "members").exists()


@pytest.mark.parametrize("value", [0, 1.5, -0.2, "far"])
def test_an_impossible_move_towards_the_other_voices_is_one_line_before_anything_runs(compose_config, tmp_path, value):
    from lstmts.errors import UserError
    from lstmts.runs import runner

    with pytest.raises(UserError, match=r"auto.shrink=.* is not a fraction of the way .* above 0 and at most 1") as caught:
        runner.run(compose_config(*QUICK, f"auto.shrink={value}", *_data(airline_csv())), tmp_path / "run",
                   body=auto._auto)
    assert "\n" not in str(caught.value) and not (tmp_path / "run" / "members").exists()


@pytest.mark.parametrize("value", [0, -5, "many", True])
def test_an_impossible_count_for_the_fitted_weights_is_one_line_before_anything_runs(compose_config, tmp_path, value):
    from lstmts.errors import UserError
    from lstmts.runs import runner

    with pytest.raises(UserError, match=r"auto.fit_half=.* is not a number of validation targets; .* above 0") as caught:
        runner.run(compose_config(*QUICK, f"auto.fit_half={value}", *_data(airline_csv())), tmp_path / "run",
                   body=auto._auto)
    assert "\n" not in str(caught.value) and not (tmp_path / "run" / "members").exists()


@pytest.mark.parametrize("count", [2, 3, 4])
def test_shrinks_weights_by_hand(count):
    # 0.7 on the baseline, 0.3 shared: 0.3; 0.15 each; 0.1 each.
    np.testing.assert_allclose(residuals.fixed_weights(count, 0.3), [0.7] + [0.3 / (count - 1)] * (count - 1))


def test_the_weights_fitted_on_validation_by_hand():
    y = np.array([3.0, 5.0, 4.0, 8.0, 6.0, 7.0])
    # Two voices 1 above and 1 below: half each forecasts y exactly.
    np.testing.assert_allclose(residuals.simplex_fit(np.stack([y + 1, y - 1]), y), [0.5, 0.5], atol=1e-7)
    # A voice that is y itself takes all the weight; one that is 3 above and one 1 below: 1/4 and 3/4.
    np.testing.assert_allclose(residuals.simplex_fit(np.stack([y + 5, y, y + 2]), y), [0, 1, 0], atol=1e-7)
    np.testing.assert_allclose(residuals.simplex_fit(np.stack([y + 3, y - 1]), y), [0.25, 0.75], atol=1e-7)
    # Errors of opposite signs in turn, e1 = (1, -1, ...) and e2 = -e1, and a third voice 2 above
    # throughout: the squared error 6 (w1 - w2)^2 + 24 w3^2 (e1 sums to 0) is least at 1/2, 1/2, 0.
    signs = np.array([1.0, -1.0] * 3)
    np.testing.assert_allclose(residuals.simplex_fit(np.stack([y + signs, y - signs, y + 2]), y),
                               [0.5, 0.5, 0.0], atol=1e-6)
    # The weights are the same whatever the units: a series 1000 times larger.
    np.testing.assert_allclose(residuals.simplex_fit(np.stack([y + 3, y - 1]) * 1000, y * 1000), [0.25, 0.75],
                               atol=1e-7)


@pytest.mark.parametrize("targets, half", [(6, 500.0), (6, 6.0), (30, 10.0)])
def test_the_run_moves_shrinks_weights_n_over_n_plus_half_of_the_way_to_the_fitted_ones(targets, half):
    rng = np.random.default_rng(targets)
    y = rng.normal(10, 2, targets + 2)
    voices = np.stack([y + 1, y - 3, y + rng.normal(0, 5, len(y))])  # the third worse: the fit gives 3/4, 1/4, 0
    voices[0, 0] = np.nan  # a target one voice has no forecast for is left out of the fit and the count
    y[1] = np.nan  # and so is one without a value
    weights, count = residuals.fitted_weights(voices, y, 0.3, half)
    share = targets / (targets + half)
    assert count == targets
    fitted = residuals.simplex_fit(voices[:, 2:], y[2:])
    np.testing.assert_allclose(fitted, [0.75, 0.25, 0.0], atol=1e-6)  # 3/4 of 1 above and 1/4 of 3 below: y
    np.testing.assert_allclose(weights, (1 - share) * np.array([0.7, 0.15, 0.15]) + share * fitted, rtol=1e-12)
    np.testing.assert_allclose(weights.sum(), 1.0)
    # With no more targets than voices, nothing is fitted: shrink's weights.
    weights, count = residuals.fitted_weights(voices[:, :5], y[:5], 0.3, half)
    assert count == 3
    np.testing.assert_allclose(weights, [0.7, 0.15, 0.15])


def test_the_fitted_combination_weights_the_voices_and_renormalises_where_the_leaders_have_none():
    first = np.array([5.0, 1.0, 4.0])
    second = np.array([7.0, 3.0, 2.0])
    base = np.array([4.0, 3.0, 6.0])
    leading = np.array([10.0, np.nan, 0.0])
    weights = [0.4, 0.3, 0.2, 0.1]
    # 0.4 4 + 0.3 5 + 0.2 7 + 0.1 10 = 5.5; no leaders: (0.4 3 + 0.3 1 + 0.2 3) / 0.9 = 2.1 / 0.9;
    # 0.4 6 + 0.3 4 + 0.2 2 + 0.1 0 = 4.
    np.testing.assert_allclose(residuals.combine(first, second, base, "fitted", leading, 0.3, weights),
                               [5.5, 2.1 / 0.9, 4.0], rtol=1e-12)
    # One half: the baseline, the networks, the leaders.
    np.testing.assert_allclose(residuals.combine(first, None, base, "fitted", leading, 0.3, [0.5, 0.25, 0.25]),
                               [5.75, (0.5 * 3 + 0.25 * 1) / 0.75, 4.0], rtol=1e-12)
    for weights in (None, [0.5, 0.5], [0.25] * 4):  # none, or not one for each voice
        with pytest.raises(ValueError, match="one weight for each voice"):
            residuals.combine(first, None, base, "fitted", leading, 0.3, weights)
    assert residuals.ordered_weights({"leaders": 0.1, "baseline": 0.6, "networks": 0.3}) == [0.6, 0.3, 0.1]


def test_where_the_weights_cannot_be_fitted_shrinks_are_kept(monkeypatch):
    y = np.arange(10.0)
    monkeypatch.setattr(residuals, "simplex_fit", lambda voices, actual: None)  # the optimiser found none
    weights, count = residuals.fitted_weights(np.stack([y + 1, y - 1, y]), y, 0.3, 5.0)
    assert count == 10
    np.testing.assert_allclose(weights, [0.7, 0.15, 0.15])


def test_an_unknown_way_to_combine_the_halves_is_one_line_before_anything_runs(compose_config, tmp_path):
    from lstmts.errors import UserError
    from lstmts.runs import runner

    with pytest.raises(UserError, match=r"auto.combine='vote' is unknown; use fitted, shrink, median, mean or none") \
            as caught:
        runner.run(compose_config(*QUICK, "auto.combine=vote", *_data(airline_csv())), tmp_path / "run", body=auto._auto)
    assert "\n" not in str(caught.value) and not (tmp_path / "run" / "members").exists()


@pytest.mark.parametrize("season, steps", [(1, 3), (4, 6), (12, 14)])
def test_a_naive_bases_future_repeats_the_last_value_or_season(season, steps):
    values = np.arange(1.0, 41.0)
    record = {"baseline": "persistence", "season_length": season}
    np.testing.assert_array_equal(residuals.future(record, values, steps), np.full(steps, 40.0))
    record["baseline"] = "seasonal_naive"
    expected = [values[len(values) - season + (h % season)] for h in range(steps)]
    np.testing.assert_array_equal(residuals.future(record, values, steps), expected)


def test_the_base_is_the_baseline_with_the_lowest_validation_rmse():
    values = np.sin(np.arange(60.0)) * 10 + 50
    validation = np.arange(40, 50)
    good = values + 0.1
    classical = {"theta": good, "ets": values + 5.0, "holt": "skipped: no"}
    base = residuals.best_base(values, validation, 4, classical)
    assert base.name == "theta" and base.validation_rmse == pytest.approx(0.1)
    np.testing.assert_array_equal(base.forecasts, good)
    worse = {"theta": values + 50.0}
    assert residuals.best_base(values, validation, 4, worse).name in ("persistence", "seasonal_naive")
    assert residuals.method_of("stl_ets") == "ets" and residuals.method_of("holt") == "holt_winters"


def test_the_run_table_names_both_halves_and_their_validation_scores(halves):
    import io

    from rich.console import Console

    from lstmts.report.ranking import baseline_label
    from lstmts.report.tables import print_summary

    metrics = json.loads((halves["plain"] / "metrics.json").read_text())
    console = Console(file=io.StringIO(), width=400, force_terminal=False, color_system=None)
    print_summary(metrics, halves["plain"], console)
    text = " ".join(console.file.getvalue().split())
    label = baseline_label(metrics["auto"]["residuals"]["baseline"])
    weights = metrics["auto"]["combination"]["weights"]
    assert (f"automatic LSTM ({label} {weights['baseline']:.2f}, networks {weights['networks']:.2f}, second half"
            f" {weights['second_half']:.2f}, leaders {weights['leaders']:.2f}: weights fitted on"
            f" {metrics['auto']['combination']['fitted_on']} validation targets)") in text
    leaders = ", ".join(map(baseline_label, metrics["auto"]["residuals"]["leaders"]))
    assert f"the leaders (auto.leaders): {leaders}, the 3 baselines best on validation" in text
    for run, expected in (("median", "median of the halves, {} and the leaders' mean"),
                          ("three", "median of the halves and {}"), ("shrink", "{} moved 0.3 towards the networks"
                                                                              " and leaders")):
        other = json.loads((halves[run] / "metrics.json").read_text())
        console = Console(file=io.StringIO(), width=400, force_terminal=False, color_system=None)
        print_summary(other, halves[run], console)
        expected = expected.format(baseline_label(other["auto"]["combination"]["baseline"]))
        assert f"automatic LSTM ({expected})" in " ".join(console.file.getvalue().split())
    assert f"first half (networks on the series): {metrics['auto']['candidates']} candidates" in text
    first, second = metrics["auto"]["residuals"]["validation_rmse_halves"]
    assert f"second half: {label} (best on validation) plus networks on what it leaves" in text
    assert f"validation RMSE {first:.2f} on the series, {second:.2f} on the residuals" in text


def test_a_voices_paths_are_the_naive_ones_from_the_values_and_the_mean_of_the_classical_ones_by_hand():
    values = np.arange(10.0)
    origins = np.array([5, 6])
    classical = {"theta": np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]), "ets": "skipped: no ETS model could be fitted"}
    # Persistence: the value before the origin at every step; seasonal naive (season 2): the same period
    # of the last season known at the origin (from 5: values 3, 4, 3; from 6: 4, 5, 4).
    np.testing.assert_array_equal(residuals.voice_paths(["persistence"], values, 2, classical, origins, 3),
                                  [[4, 4, 4], [5, 5, 5]])
    np.testing.assert_array_equal(residuals.voice_paths(["seasonal_naive"], values, 2, classical, origins, 3),
                                  [[3, 4, 3], [4, 5, 4]])
    np.testing.assert_allclose(residuals.voice_paths(["theta", "persistence"], values, 2, classical, origins, 3),
                               [[2.5, 3.0, 3.5], [4.5, 5.0, 5.5]])
    # A baseline without paths, or a run of one step ahead: the voice has none.
    assert residuals.voice_paths(["theta", "ets"], values, 2, classical, origins, 3) is None
    assert residuals.voice_paths(["theta"], values, 2, {}, origins, 3) is None
    assert residuals.voice_paths(["persistence"], values, 2, classical, origins, 1) is None


def test_the_runs_score_h_steps_ahead_is_the_combination_of_every_voices_h_step_forecasts(
        compose_config, tmp_path, monkeypatch, airline_copy):
    from lstmts.evaluation.metrics import rmse
    from lstmts.runs import runner

    combined = []
    combine = residuals.combine

    def recording(first, second, base=None, *args, **kwargs):
        result = combine(first, second, base, *args, **kwargs)
        if first is not None and np.ndim(first) == 2 and first.shape[1] > 1:  # the test and calibration paths
            combined.append((first, base, args, kwargs, result))
        return result

    monkeypatch.setattr(residuals, "combine", recording)
    monkeypatch.setenv("LSTMTS_CACHE", "off")
    cfg = compose_config(*QUICK, "auto.residuals=false", "horizons=[1,3]", "auto.leaders=2", "intervals.levels=[0.8]",
                         "intervals.steps=4", *_data(airline_copy(tmp_path, "airline.csv")))
    metrics = runner.run(cfg, tmp_path / "run", body=auto._auto)
    (networks, base, args, kwargs, result), calibration = sorted(combined, key=lambda call: call[0].shape[1])
    how, leaders_mean, _, weights = args
    values = pd.read_csv(tmp_path / "airline.csv")["Passengers"].to_numpy(float)
    test = np.arange(len(values) - len(networks), len(values))
    # The baseline's voice and the leaders' forecast every step: none is left to the networks alone.
    assert np.isfinite(base).all() and np.isfinite(leaders_mean).all()
    assert metrics["auto"]["combination"]["baseline"] == "theta"
    np.testing.assert_allclose(result, weights[0] * base + weights[1] * networks + weights[2] * leaders_mean)
    for step in (1, 3):
        inside = test + step - 1 < len(values)
        expected = rmse(values[test[inside] + step - 1], result[inside, step - 1])
        assert metrics["test_rmse_by_horizon"][str(step)] == pytest.approx(expected, rel=1e-9)
    assert metrics["test_rmse_by_horizon"]["1"] == pytest.approx(metrics["test_rmse"], rel=1e-9)
    # Theta's own score at each step, beside the run's.
    assert set(metrics["baselines"]["theta"]["test_rmse_by_horizon"]) == {"1", "3"}
    # The intervals' widths at each of their 4 steps: from the errors of the same combination on validation.
    from lstmts.evaluation import intervals

    _, calibration_base, (_, calibration_leaders, _, calibration_weights), _, calibrated = calibration
    assert calibrated.shape[1] == 4 and np.isfinite(calibration_base).all() and np.isfinite(calibration_leaders).all()
    record = json.loads((tmp_path / "run" / "intervals.json").read_text())
    origins = np.arange(len(values) - len(networks) - len(calibrated), len(values) - len(networks))
    errors = intervals.calibration_errors(calibrated, origins, values, origins[-1] + 1, record["errors"] == "relative")
    assert record["widths"]["80"] == pytest.approx(intervals.conformal_quantiles(errors, [0.8])["80"], rel=1e-9)
