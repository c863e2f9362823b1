"""Collections of series: reading them, competition scoring by hand, per-series scaling, global and local LSTMs, shards."""

from __future__ import annotations

import json
import math
import signal
import subprocess
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import children, gone, scaled
from omegaconf import OmegaConf

from lstmts.data.collection import Member, load_collection
from lstmts.errors import UserError
from lstmts.evaluation import competition
from lstmts.runs import collection as runs_collection
from lstmts.runs import collection_job
from lstmts.runs import ensemble
from lstmts.runs.records import read_run
from lstmts.runs.shards import merge_shards

# --- competition scoring, by hand ------------------------------------------------------------


def test_smape_is_the_m3_definition_by_hand():
    # 200 * 10 / 210 and 200 * 20 / 380, averaged.
    assert competition.smape([100, 200], [110, 180]) == pytest.approx((2000 / 210 + 4000 / 380) / 2)
    # A step where actual and forecast are both zero counts as a perfect step; opposite signs give 200.
    assert competition.smape([0, 5], [0, -5]) == pytest.approx(100.0)


# season 3: |4-1|, |2-2|, |3-3|, |4-4|, |5-2| = 3, 0, 0, 0, 3: 6 / 5. A season of 12 is longer than
# the 8 values: lag 1, |1| * 6 + |-2| = 8 over 7 differences.
@pytest.mark.parametrize(("season", "expected_scale"), [(4, 1.0), (1, 8 / 7), (12, 8 / 7), (3, 6 / 5)])
def test_mase_scales_by_the_in_sample_seasonal_naive_error(season, expected_scale):
    insample = np.array([1, 2, 3, 4, 2, 3, 4, 5], float)
    assert competition.mase_scale(insample, season) == pytest.approx(expected_scale)
    # Errors 1 and 2: a mean absolute error of 1.5.
    assert competition.mase([6, 7], [5, 9], insample, season) == pytest.approx(1.5 / expected_scale)


def test_smape_mase_and_rmse_at_small_scales_and_edges_by_hand():
    # |y| + |f| below 1 is still a real step: 200 * 0.2 / 0.6.
    assert competition.smape([0.2], [0.4]) == pytest.approx(200 * 0.2 / 0.6)
    # A training part exactly one season long has no seasonal difference: the lag-1 scale.
    assert competition.mase_scale(np.array([1.0, 3.0, 2.0, 6.0]), 4) == pytest.approx((2 + 1 + 4) / 3)
    # A constant training part has no scale: MASE is undefined, not infinite.
    assert math.isnan(competition.mase([2.0], [3.0], np.full(6, 5.0), 1))
    # RMSE: errors 3 and -4 -> sqrt((9 + 16) / 2).
    assert competition.rmse([1.0, 2.0], [4.0, -2.0]) == pytest.approx(math.sqrt(12.5))
    # Errors -3 and -3: 3 (a sum instead of a difference would give sqrt((25 + 49) / 2)).
    assert competition.scores([1.0, 2.0], [4.0, 5.0], np.array([0.0, 1.0, 3.0]), 1)["rmse"] == pytest.approx(3.0)


def test_mase_scale_uses_the_training_part_only():
    train = np.array([1, 2, 3, 4, 2, 3, 4, 5], float)
    before = competition.mase([6, 7], [5, 9], train, 4)
    # A wild test period changes the error, never the scale.
    assert competition.mase_scale(train, 4) == competition.mase_scale(train.copy(), 4)
    assert competition.mase([600, 7], [5, 9], train, 4) == pytest.approx((595 + 2) / 2)
    assert before == pytest.approx(1.5)


@pytest.mark.parametrize(("season", "horizon", "expected"), [
    (4, 6, [2, 3, 4, 5, 2, 3]),
    (3, 4, [3, 4, 5, 3]),
    (1, 3, [5, 5, 5]),
    (12, 2, [5, 5]),  # a training part shorter than a season: the naive forecast
    (8, 3, [1, 2, 3]),  # a training part exactly one season long: that season
])
def test_seasonal_naive_repeats_the_last_season(season, horizon, expected):
    train = np.array([1, 2, 3, 4, 2, 3, 4, 5], float)
    np.testing.assert_array_equal(competition.seasonal_naive(train, horizon, season), expected)


def test_summary_means_and_share_of_series_won():
    per_series = {
        "lstm": [{"smape": 1.0, "mase": 0.5, "rmse": 2.0}, {"smape": 5.0, "mase": 1.5, "rmse": 4.0},
                 {"smape": 3.0, "mase": 1.0, "rmse": 3.0}],
        "naive": [{"smape": 2.0, "mase": 1.0, "rmse": 1.0}, {"smape": 4.0, "mase": 1.0, "rmse": 1.0},
                  {"smape": 3.0, "mase": 1.0, "rmse": 1.0}],
    }
    summary = competition.summarise(per_series)
    assert "share_beaten_by_lstm" not in summary["lstm"]
    assert summary["lstm"]["smape"] == pytest.approx(3.0)
    assert summary["lstm"]["mase"] == pytest.approx(1.0)
    assert summary["naive"]["smape"] == pytest.approx(3.0)
    # Won on the first series only: the tie on the third is not a win.
    assert summary["naive"]["share_beaten_by_lstm"] == pytest.approx(1 / 3)


def test_naive_baselines_of_a_collection_and_their_combination_needs_statistical_methods():
    trains = [np.arange(1.0, 9.0), np.array([5.0, 1.0, 5.0, 1.0])]
    forecasts = competition.baseline_forecasts(trains, [3, 2], [4, 2], ["naive", "seasonal_naive"]).forecasts
    np.testing.assert_array_equal(forecasts["naive"][0], [8, 8, 8])
    np.testing.assert_array_equal(forecasts["seasonal_naive"][0], [5, 6, 7])
    np.testing.assert_array_equal(forecasts["seasonal_naive"][1], [5, 1])
    with pytest.raises(UserError, match="unknown method.*holt"):
        competition.baseline_forecasts(trains, [3, 2], [4, 2], ["holt"])


def test_statistical_baselines_forecast_a_clean_seasonal_series_and_are_cached(private_caches):
    pytest.importorskip("statsforecast")
    season = np.array([10.0, 20.0, 30.0, 20.0])
    trains = [np.tile(season, 10) + 100, np.tile(season, 8) + 50]
    asked = []
    forecasts, *_ = competition.baseline_forecasts(trains, [4, 6], [4, 4], ["theta", "comb"], n_jobs=1,
                                                  on_fit=lambda method, count: asked.append((method, count)))
    assert asked == [("theta", 2), ("ets", 2), ("arima", 2)]
    # A series that is one season repeated is forecast as that season by every method.
    np.testing.assert_allclose(forecasts["theta"][0], season + 100, rtol=0.02)
    np.testing.assert_allclose(forecasts["comb"][1], np.r_[season, season[:2]] + 50, rtol=0.02)
    again = []
    cached, *_ = competition.baseline_forecasts(trains, [4, 6], [4, 4], ["theta", "comb"], n_jobs=1,
                                               on_fit=lambda method, count: again.append((method, count)))
    assert again == []
    np.testing.assert_array_equal(cached["comb"][1], forecasts["comb"][1])
    # A new series beside cached ones: only it is fitted, and the cached forecasts come back unchanged.
    more, *_ = competition.baseline_forecasts([trains[1], trains[0] * 2], [6, 4], [4, 4], ["theta"], n_jobs=1,
                                             on_fit=lambda method, count: again.append((method, count)))
    assert again == [("theta", 1)]
    np.testing.assert_array_equal(more["theta"][0], forecasts["theta"][1])
    np.testing.assert_allclose(more["theta"][1], 2 * (season + 100), rtol=0.02)


# --- per-series scaling and windows ----------------------------------------------------------


def test_series_scale_is_fitted_on_the_training_part_and_inverts():
    train = np.exp([0.0, 1.0, 2.0])
    scale = runs_collection.SeriesScale.fit(train, "auto")
    assert scale.log and scale.shift == pytest.approx(1.0) and scale.scale == pytest.approx(math.sqrt(2 / 3))
    assert scale.forward(np.array([math.e ** 3]))[0] == pytest.approx(2 / math.sqrt(2 / 3))
    values = np.array([0.5, 7.0, 300.0])
    np.testing.assert_allclose(scale.inverse(scale.forward(values)), values)
    plain = runs_collection.SeriesScale.fit(np.array([-1.0, 1.0, 3.0]), "auto")
    assert not plain.log and plain.shift == pytest.approx(1.0)
    # A zero has no log: a series with one is scaled as it is.
    assert not runs_collection.SeriesScale.fit(np.array([0.0, 1.0, 3.0]), "auto").log
    with pytest.raises(UserError, match="positive"):
        runs_collection.SeriesScale.fit(np.array([0.0, 1.0]), True)
    with pytest.raises(UserError, match="positive"):
        runs_collection.SeriesScale.fit(np.array([-1.0, 1.0]), True)


def test_series_scale_by_steps_divides_by_the_mean_absolute_change():
    # A straight line: its std grows with its length, its steps do not.
    short, long = np.arange(1.0, 8.0), np.arange(1.0, 41.0)
    assert runs_collection.SeriesScale.fit(long, False).scale > 5 * runs_collection.SeriesScale.fit(short, False).scale
    for train in (short, long):
        scale = runs_collection.SeriesScale.fit(train, False, "steps")
        assert not scale.log and scale.shift == pytest.approx(train.mean()) and scale.scale == pytest.approx(1.0)
    # On the log when there is one: a series growing 10 % a step has steps of log(1.1).
    growing = runs_collection.SeriesScale.fit(100 * 1.1 ** np.arange(12), "auto", "steps")
    assert growing.log and growing.scale == pytest.approx(math.log(1.1))
    values = np.array([3.0, 250.0])
    np.testing.assert_allclose(growing.inverse(growing.forward(values)), values)
    # seasonal_steps: from one season to the next; [0, 4, 0, 4, 1, 5, 1, 5] changes by 1 a season of 2.
    seasonal = np.array([0.0, 4.0, 0.0, 4.0, 1.0, 5.0, 1.0, 5.0])
    assert runs_collection.SeriesScale.fit(seasonal, False, "seasonal_steps", 4).scale == pytest.approx(1.0)
    assert runs_collection.SeriesScale.fit(seasonal, False, "steps", 4).scale == pytest.approx(27 / 7)
    # A constant series keeps a scale of 1; one value has no step and falls back to its std (then 1).
    assert runs_collection.SeriesScale.fit(np.full(5, 3.0), False, "steps").scale == 1.0
    assert runs_collection.SeriesScale.fit(np.array([3.0]), False, "steps").scale == 1.0


def test_windows_by_hand_absolute_and_relative_to_the_origin():
    scaled = np.arange(6.0)
    inputs, targets = runs_collection.windows(scaled, 2, 2, relative=False)
    np.testing.assert_array_equal(inputs, [[0, 1], [1, 2], [2, 3]])
    np.testing.assert_array_equal(targets, [[2, 3], [3, 4], [4, 5]])
    inputs, targets = runs_collection.windows(scaled, 2, 2, relative=True)
    np.testing.assert_array_equal(inputs, [[-1, 0]] * 3)
    np.testing.assert_array_equal(targets, [[1, 2]] * 3)
    start, anchor = runs_collection.origin_input(scaled, 3, relative=True)
    np.testing.assert_array_equal(start, [-2, -1, 0])
    assert anchor == 5.0
    assert runs_collection.windows(scaled, 4, 3, relative=False)[0].shape == (0, 4)
    # Exactly one whole window.
    inputs, targets = runs_collection.windows(np.arange(4.0), 2, 2, relative=False)
    np.testing.assert_array_equal(inputs, [[0, 1]])
    np.testing.assert_array_equal(targets, [[2, 3]])


def test_a_short_series_input_is_padded_in_front_with_its_first_value():
    start, real = ensemble.padded_input(np.array([5.0, 6.0, 8.0]), 5)
    np.testing.assert_array_equal(start, [5, 5, 5, 6, 8])
    assert real == 3
    start, real = ensemble.padded_input(np.arange(10.0), 4)
    np.testing.assert_array_equal(start, [6, 7, 8, 9])
    assert real == 4


def test_a_series_shorter_than_the_look_back_is_forecast_from_its_padded_input_by_value(compose_config, monkeypatch):
    cfg = compose_config("data=collection", "data.path=x.csv", "framing=timesteps", "framing.look_back=5",
                         "collection.normalise=window")
    members = [Member("long", np.arange(1.0, 21.0), np.array([21.0, 22.0]), 1, "positions"),
               Member("short", np.array([4.0, 6.0, 5.0]), np.array([7.0, 9.0]), 1, "positions")]
    scales = [runs_collection.SeriesScale.fit(m.train, False) for m in members]
    seen = {}

    def stub(cfg, spec, inputs, targets, origins, seed, jit_compile, *kept):
        seen["origins"] = origins
        # A stub network: forecast the origin's first input (relative to its last) for every step.
        return np.repeat(origins[:, :1, 0], spec.outputs, axis=1), 1, 0.0

    monkeypatch.setattr(runs_collection, "_fit_predict", stub)
    forecasts, info = runs_collection._forecast_global(cfg, members, scales, lambda text: None)
    short = scales[1].forward(members[1].train)
    # The short series' input: its first value twice in front of its three, less the last (window-relative).
    np.testing.assert_allclose(seen["origins"][1, :, 0], np.array([short[0], short[0], *short]) - short[-1])
    # Forecast: last value + (first - last) on its own scale = its first value, 4, at both steps.
    np.testing.assert_allclose(forecasts[1], [4.0, 4.0])
    np.testing.assert_allclose(forecasts[0], [16.0, 16.0])  # the long one's input starts at its 16th value
    assert info["padded"] == 1 and info["_inputs"] == ["full", "padded: 3 of 5 values real"]


# --- reading collections -----------------------------------------------------------------------


def _long_csv(path, lengths: dict[str, int], seed: int = 0):
    rng = np.random.default_rng(seed)
    rows = []
    for name, length in lengths.items():
        dates = pd.date_range("2000-01-01", periods=length, freq="MS")
        season = np.tile([0, 3, 6, 3, 0, -3, -6, -3, 0, 2, 4, 2], length // 12 + 1)[:length]
        level = 50 + 10 * list(lengths).index(name)
        values = level + season + np.arange(length) * 0.2 + rng.normal(0, 0.3, length)
        rows += [{"id": name, "month": d.strftime("%Y-%m-%d"), "y": v} for d, v in zip(dates, values)]
    frame = pd.DataFrame(rows).sample(frac=1.0, random_state=seed)  # rows in any order
    frame.to_csv(path, index=False)
    return frame


def _data_cfg(path, **extra):
    base = {"source": "csv", "path": str(path), "id_column": "id", "date_column": "month", "value_column": "y",
            "horizon": 6, "season_length": "auto", "shard": 0, "shards": 1, "limit": None}
    base.update(extra)
    return OmegaConf.create(base)


def test_a_long_csv_gives_one_member_per_series_sorted_by_date(tmp_path):
    _long_csv(tmp_path / "long.csv", {"a": 30, "b": 40, "c": 20})
    frame = pd.read_csv(tmp_path / "long.csv")
    loaded = load_collection(_data_cfg(tmp_path / "long.csv"))
    assert [m.id for m in loaded.members] == ["a", "b", "c"]
    b = loaded.members[1]
    assert (len(b.train), len(b.test), b.season_length, b.frequency) == (34, 6, 12, "monthly")
    expected = frame[frame["id"] == "b"].sort_values("month")["y"].to_numpy()
    np.testing.assert_array_equal(np.r_[b.train, b.test], expected)
    # Its dates travel with it, for the plots, and a validation split keeps those of its values.
    assert list(b.dates) == list(pd.date_range("2000-01-01", periods=40, freq="MS"))
    assert list(b.validation().dates) == list(b.dates[:-6])
    quarterly = load_collection(_data_cfg(tmp_path / "long.csv", season_length=4, horizon=3))
    assert {m.season_length for m in quarterly.members} == {4} and quarterly.members[0].horizon == 3


def test_shards_split_the_series_and_together_hold_them_all(tmp_path):
    _long_csv(tmp_path / "long.csv", {n: 30 for n in "abcde"})
    whole = load_collection(_data_cfg(tmp_path / "long.csv"))
    parts = [load_collection(_data_cfg(tmp_path / "long.csv", shard=k, shards=2)) for k in range(2)]
    assert [m.id for m in parts[0].members] == ["a", "c", "e"]
    assert [m.id for m in parts[1].members] == ["b", "d"]
    assert sorted(m.id for p in parts for m in p.members) == [m.id for m in whole.members]
    assert parts[0].total == 5 and parts[0].sha256 != whole.sha256


def test_a_folder_of_csvs_is_a_collection(tmp_path):
    folder = tmp_path / "many"
    folder.mkdir()
    for name, start in (("north", 10.0), ("south", 20.0)):
        pd.DataFrame({"month": pd.date_range("2001-01-01", periods=24, freq="MS").strftime("%Y-%m-%d"),
                      "y": start + np.arange(24)}).to_csv(folder / f"{name}.csv", index=False)
    loaded = load_collection(_data_cfg(folder, source="folder"))
    assert [m.id for m in loaded.members] == ["north", "south"]
    np.testing.assert_array_equal(loaded.members[1].test, 20.0 + np.arange(18, 24))


def test_a_repeated_column_name_in_a_collection_file_is_refused(tmp_path):
    path = tmp_path / "long.csv"
    path.write_text("id,month,y,y\na,2001-01-01,1,10\na,2001-02-01,2,20\n")
    with pytest.raises(UserError, match="'y' more than once.*rename"):
        load_collection(_data_cfg(path))


def test_a_collection_file_with_rows_longer_than_its_header_is_refused(tmp_path):
    path = tmp_path / "long.csv"
    path.write_text("id,month,y\n0,a,2001-01-01,1\n1,a,2001-02-01,2\n")
    with pytest.raises(UserError, match=r"more fields than its header line names \('id', 'month', 'y'\)"):
        load_collection(_data_cfg(path))


@pytest.mark.parametrize(("change", "message"), [
    ({"id_column": "store"}, "no column 'store'.*data.id_column"),
    ({"horizon": 40}, "series a has 30 values, not more than data.horizon=40"),
    ({"source": "folder"}, "is not a folder; point data.path at a folder"),
    ({"shard": 3, "shards": 2}, "data.shard=3 of data.shards=2"),
])
def test_bad_collections_say_what_to_fix(tmp_path, change, message):
    _long_csv(tmp_path / "long.csv", {"a": 30, "b": 40})
    with pytest.raises(UserError, match=message):
        load_collection(_data_cfg(tmp_path / "long.csv", **change))


def test_a_missing_collection_file_is_named(tmp_path):
    with pytest.raises(UserError, match="nowhere.csv does not exist"):
        load_collection(_data_cfg(tmp_path / "nowhere.csv"))


@pytest.mark.parametrize(("value", "message"), [
    ("twelve", r"column 'y' holds non-numeric values such as 'twelve' \(line 6, series a\)"),
    ("", r"column 'y' has a missing value \(line 6, series a\)"),
])
def test_a_bad_value_is_named_with_its_line_in_the_file(tmp_path, value, message):
    frame = _long_csv(tmp_path / "long.csv", {"a": 30, "b": 30}).astype({"y": object})
    frame.iloc[4, frame.columns.get_loc("y")] = value
    frame.iloc[4, frame.columns.get_loc("id")] = "a"
    frame.to_csv(tmp_path / "long.csv", index=False)
    with pytest.raises(UserError, match=message):
        load_collection(_data_cfg(tmp_path / "long.csv"))


# --- the global model sees every series --------------------------------------------------------


def test_the_global_model_trains_on_the_windows_of_every_series(compose_config, monkeypatch):
    cfg = compose_config("data=collection", "data.path=x.csv", "framing=timesteps", "framing.look_back=3",
                         "collection.normalise=series")
    members = [Member("a", np.arange(1.0, 11.0), np.arange(11.0, 13.0), 1, "positions"),
               Member("b", 100 + np.arange(1.0, 8.0), np.array([108.0, 109.0]), 1, "positions"),
               # Four values: an input window at its origin, but no whole training window of 3 + 2.
               Member("c", np.array([5.0, 6.0, 8.0, 7.0]), np.array([9.0]), 1, "positions")]
    scales = [runs_collection.SeriesScale.fit(m.train, False) for m in members]
    seen = {}

    def fake_fit(cfg, spec, inputs, targets, origins, seed, jit_compile, *kept):
        inputs, targets = inputs.take(np.arange(len(inputs)))  # the panel's windows, all of them
        seen.update(spec=spec, inputs=inputs, targets=targets, origins=origins)
        # Forecast "the origin's last value + 1 scaled step" for both steps: recognisable per series.
        return np.repeat(origins[:, -1, :], spec.outputs, axis=1), 1, 0.0

    monkeypatch.setattr(runs_collection, "_fit_predict", fake_fit)
    forecasts, info = runs_collection._forecast_global(cfg, members, scales, lambda text: None)
    # a: 10 values -> 10 - 3 - 2 + 1 = 6 windows; b: 7 values -> 3 windows.
    assert info["windows"] == 9 and seen["inputs"].shape == (9, 3, 1) and seen["spec"].outputs == 2
    assert seen["targets"].shape == (9, 2)
    first_b = scales[1].forward(members[1].train)[:3]
    np.testing.assert_allclose(seen["inputs"][6, :, 0], first_b)
    np.testing.assert_allclose(seen["targets"][6], scales[1].forward(members[1].train)[3:5])
    # Forecasts come back on each series' own scale and horizon: the last training value repeated.
    np.testing.assert_allclose(forecasts[0], [10.0, 10.0])
    np.testing.assert_allclose(forecasts[1], [107.0, 107.0])
    np.testing.assert_allclose(forecasts[2], [7.0])


def test_the_global_ensemble_averages_its_seeds_from_each_origin(compose_config, monkeypatch):
    cfg = compose_config("data=collection", "data.path=x.csv", "framing=timesteps", "framing.look_back=3",
                         "collection.normalise=window", "training.repeats=2", "seed=3")
    members = [Member("a", np.arange(1.0, 11.0), np.array([11.0, 12.0]), 1, "positions")]
    scales = [runs_collection.SeriesScale.fit(members[0].train, False)]
    seeds = []

    def fake_fit(cfg, spec, inputs, targets, origins, seed, jit_compile, *kept):
        inputs, targets = inputs.take(np.arange(len(inputs)))  # the panel's windows, all of them
        seeds.append(seed)
        # Relative windows: every input window, and the origin's, ends at 0.
        assert np.all(inputs[:, -1, 0] == 0) and np.all(origins[:, -1, 0] == 0)
        return np.full((len(origins), spec.outputs), 1.0 if seed == 3 else 3.0), 10, 0.5

    monkeypatch.setattr(runs_collection, "_fit_predict", fake_fit)
    forecasts, info = runs_collection._forecast_global(cfg, members, scales, lambda text: None)
    assert seeds == [3, 4] and info["updates"] == 20 and info["train_seconds"] == 1.0 and info["models"] == 2
    # The mean change, 2 scaled steps, from the origin's value 10.
    np.testing.assert_allclose(forecasts[0], [10 + 2 * scales[0].scale] * 2)


# --- a whole collection run --------------------------------------------------------------------


@pytest.fixture(scope="module")
def collection_runs(tmp_path_factory, compose_config):
    from lstmts.runs.collection_job import run_collection

    work = tmp_path_factory.mktemp("collection")
    _long_csv(work / "long.csv", {"a": 48, "b": 60, "c": 12, "d": 54, "e": 36, "f": 22})
    common = ["data=collection", f"data.path={work / 'long.csv'}", "data.id_column=id", "data.date_column=month",
              "data.value_column=y", "data.horizon=6", "framing=timesteps", "framing.look_back=12",
              "training.epochs=3", "training.batch_size=8", "model.units=4",
              "collection.baselines=[naive,seasonal_naive]"]
    runs = {}
    # Intervals (a second training) only where a test looks at them.
    for name, extra in (("global", []), ("local", ["collection=local", "intervals.levels=[]"]),
                        ("validation", ["collection.validation=true", "intervals.levels=[]"]),
                        ("shard0", ["data.shards=2", "data.shard=0", "intervals.levels=[]"]),
                        ("shard1", ["data.shards=2", "data.shard=1", "intervals.levels=[]"])):
        cfg = compose_config(*common, *extra)
        runs[name] = (work / name, run_collection(cfg, work / name))
    return runs


def test_a_collection_run_prints_its_summary_line_once(tmp_path, compose_config):
    import io

    from rich.console import Console

    from lstmts.report.tables import print_summary
    from lstmts.runs.collection_job import run_collection

    _long_csv(tmp_path / "long.csv", {"a": 48, "b": 60})
    cfg = compose_config("data=collection", f"data.path={tmp_path / 'long.csv'}", "data.id_column=id",
                         "data.date_column=month", "data.value_column=y", "data.horizon=6", "framing.look_back=3",
                         "training.epochs=1", "model.units=2", "collection.baselines=[naive]")
    console = Console(file=io.StringIO(), width=200, force_terminal=False, color_system=None)
    metrics = run_collection(cfg, tmp_path / "run", console=console)
    print_summary(metrics, tmp_path / "run", console)
    lines = console.file.getvalue().splitlines()
    assert [line.split(",")[0] for line in lines if "scored on test" in line] == ["long: 2 series scored on test"]


def test_a_collection_run_scores_every_long_enough_series_and_notes_the_short_one(collection_runs):
    folder, metrics = collection_runs["global"]
    table = pd.read_csv(folder / "series.csv")
    assert list(table["series"]) == ["a", "b", "c", "d", "e", "f"]
    # c's 6 training values are fewer than the look_back of 12: it is forecast from a padded input.
    assert table.set_index("series").loc["c", "status"] == "scored"
    assert table.set_index("series").loc["c", "lstm_input"] == "padded: 6 of 12 values real"
    # f's 16 training values hold no whole window of 12 + 6, but the global model forecasts it.
    assert table.set_index("series").loc["f", "status"] == "scored"
    assert table.set_index("series").loc["f", "lstm_input"] == "full"
    scored = table[table["status"] == "scored"]
    assert metrics["collection"]["scored"] == 6 and metrics["collection"]["skipped"] == 0 and metrics["padded"] == 1
    assert metrics["test_smape"] == pytest.approx(scored["lstm_smape"].mean())
    assert metrics["baselines"]["seasonal_naive"]["test_mase"] == pytest.approx(scored["seasonal_naive_mase"].mean())
    forecasts = pd.read_csv(folder / "forecasts.csv")
    for _, row in scored.iterrows():
        rows = forecasts[forecasts["series"] == row["series"]]
        assert list(rows["step"]) == [1, 2, 3, 4, 5, 6]
        assert competition.smape(rows["actual"], rows["lstm"]) == pytest.approx(row["lstm_smape"])
    on_disk = json.loads((folder / "metrics.json").read_text())
    assert on_disk["status"] == "ok" and on_disk["kind"] == "collection"
    assert (folder / "errors.png").stat().st_size > 0 and (folder / "series.png").stat().st_size > 0


def test_seasonal_naive_of_a_collection_scored_by_hand(collection_runs):
    folder, _ = collection_runs["global"]
    forecasts = pd.read_csv(folder / "forecasts.csv")
    series = pd.read_csv(folder / "series.csv").set_index("series")
    rows = forecasts[forecasts["series"] == "b"]
    # b has 54 training values: the last 12 repeated are its seasonal naive forecast.
    full = pd.read_csv(folder.parent / "long.csv")
    values = full[full["id"] == "b"].sort_values("month")["y"].to_numpy()
    np.testing.assert_allclose(rows["seasonal_naive"], values[42:48])
    np.testing.assert_allclose(rows["actual"], values[54:])
    assert series.loc["b", "seasonal_naive_smape"] == pytest.approx(competition.smape(values[54:], values[42:48]))


def test_a_collection_series_is_scored_against_its_own_training_errors_by_hand(collection_runs):
    folder, _ = collection_runs["global"]
    series = pd.read_csv(folder / "series.csv").set_index("series")
    full = pd.read_csv(folder.parent / "long.csv")
    values = full[full["id"] == "b"].sort_values("month")["y"].to_numpy()
    train, test = values[:54], values[54:]
    # MASE: over the seasonal naive error inside the 54 training values, never the test part.
    scale = np.mean(np.abs(train[12:] - train[:-12]))
    assert series.loc["b", "seasonal_naive_mase"] == pytest.approx(np.mean(np.abs(test - values[42:48])) / scale)
    assert series.loc["b", "naive_mase"] == pytest.approx(np.mean(np.abs(test - train[-1])) / scale)


@pytest.mark.parametrize("scope", ["global", "local"])
def test_a_collection_lstm_forecast_does_not_move_when_the_test_part_does(tmp_path, compose_config, scope):
    from lstmts.runs.collection_job import run_collection

    frame = _long_csv(tmp_path / "long.csv", {"a": 48, "b": 60})
    last = frame.groupby("id")["month"].transform(lambda months: months >= sorted(months)[-6])
    frame.loc[last, "y"] *= 10  # the 6 test values of each series
    frame.to_csv(tmp_path / "changed.csv", index=False)
    forecasts = []
    for name in ("long", "changed"):
        cfg = compose_config("data=collection", f"data.path={tmp_path / f'{name}.csv'}", "data.id_column=id",
                             "data.date_column=month", "data.value_column=y", "data.horizon=6", "framing=timesteps",
                             "framing.look_back=12", "training.epochs=2", "training.batch_size=8", "model.units=4",
                             "collection.baselines=[naive]", f"collection={scope}")
        run_collection(cfg, tmp_path / name)
        forecasts.append(pd.read_csv(tmp_path / name / "forecasts.csv"))
    # Each series' scale, the windows and the training see the training part only.
    np.testing.assert_array_equal(forecasts[0]["lstm"], forecasts[1]["lstm"])
    assert not np.allclose(forecasts[0]["actual"], forecasts[1]["actual"])


def test_local_models_and_validation_runs(collection_runs):
    _, local = collection_runs["local"]
    # A model per series with a training window: f's 16 values allow look_back 10; c's 6 none at all.
    assert local["collection"]["scope"] == "local" and local["models"] == 5 and local["fallbacks"] == 1
    local_table = pd.read_csv(collection_runs["local"][0] / "series.csv").set_index("series")
    assert local_table.loc["f", "lstm_input"] == "look_back shortened to 10"
    assert local_table.loc["c", "lstm_input"] == "fallback: seasonal naive (6 training values, no training window)"
    assert local_table.loc["c", "status"] == "scored"
    forecasts = pd.read_csv(collection_runs["local"][0] / "forecasts.csv")
    c_rows = forecasts[forecasts["series"] == "c"]
    np.testing.assert_allclose(c_rows["lstm"], c_rows["seasonal_naive"])
    validation_dir, validation = collection_runs["validation"]
    assert "test_smape" not in validation and validation["validation_smape"] > 0
    forecasts = pd.read_csv(validation_dir / "forecasts.csv")
    full = pd.read_csv(validation_dir.parent / "long.csv")
    values = full[full["id"] == "a"].sort_values("month")["y"].to_numpy()
    # Scored on the last 6 training values; the real test part (the last 6) is never used.
    np.testing.assert_allclose(forecasts[forecasts["series"] == "a"]["actual"], values[36:42])


def test_shards_merge_into_the_whole_collections_result(collection_runs):
    records = [read_run(collection_runs[name][0]) for name in ("shard0", "shard1")]
    merged, notes, tables = merge_shards(records)
    assert notes == [] and len(merged) == 1
    metrics = merged[0].metrics
    table = next(iter(tables.values()))
    assert sorted(table["series"]) == ["a", "b", "c", "d", "e", "f"]
    scored = table[table["status"] == "scored"]
    assert metrics["collection"]["scored"] == 6 and metrics["collection"]["skipped"] == 0
    assert metrics["test_smape"] == pytest.approx(scored["lstm_smape"].mean())
    # The naive forecasts do not depend on the sharding: the merged score equals the whole run's.
    whole = collection_runs["global"][1]
    assert metrics["baselines"]["naive"]["test_smape"] == pytest.approx(whole["baselines"]["naive"]["test_smape"])
    assert metrics["baselines"]["naive"]["share_beaten_by_lstm"] == pytest.approx(
        np.mean(scored["lstm_smape"] < scored["naive_smape"]))
    alone, notes, _ = merge_shards(records[:1])
    assert "missing [1]" in notes[0] and alone == records[:1]


def test_no_usable_series_is_one_error_line(tmp_path, lstmts_cli):
    _long_csv(tmp_path / "long.csv", {"a": 20, "b": 20})
    result = lstmts_cli.run(["data=collection", f"data.path={tmp_path / 'long.csv'}", "data.id_column=id",
                             "data.date_column=month", "data.value_column=y", "framing.look_back=24",
                             f"hydra.run.dir={tmp_path / 'run'}"], tmp_path)
    line = lstmts_cli.error_line(result)
    assert "no series has the look_back + horizon = 24 + 18 training values that a training window needs" in line
    assert json.loads((tmp_path / "run" / "metrics.json").read_text())["status"] == "failed"


def test_forecast_and_compare_of_collection_runs(collection_runs, lstmts_cli, tmp_path):
    folder = collection_runs["global"][0]
    result = lstmts_cli.run(["forecast", str(folder), "--steps", "3"], tmp_path)
    assert result.returncode == 0, result.stderr
    assert "6 series, 3 steps each: wrote" in result.stdout
    table = pd.read_csv(folder / "forecast-3.csv")
    assert list(table.columns) == ["series", "date", "step", "forecast", "lower_80", "upper_80", "lower_95", "upper_95"]
    assert (folder / "forecast-3.png").stat().st_size > 0
    shards = [str(collection_runs[name][0]) for name in ("shard0", "shard1")]
    result = lstmts_cli.run(["compare", str(folder), *shards, "--out", str(tmp_path / "out")], tmp_path)
    assert result.returncode == 0, result.stderr
    frame = pd.read_csv(tmp_path / "out" / "comparison.csv")
    # The two shards became one row, ranked by test sMAPE with the whole-collection run.
    assert len(frame) == 2 and frame["test_smape"].is_monotonic_increasing
    assert any("2 shards merged" in run for run in frame["run"])
    merged = pd.read_csv(tmp_path / "out" / "series-merged-1.csv")
    assert sorted(merged["series"]) == ["a", "b", "c", "d", "e", "f"]
    assert "choosing on it is choosing on the test set; score candidates with collection.validation=true" in result.stdout


def test_a_sweep_over_shards_summarises_the_whole_collection_too(collection_runs, tmp_path):
    import shutil

    from lstmts.runs.sweep import summarize_sweep

    sweep = tmp_path / "sweep"
    for number, name in enumerate(("shard0", "shard1")):
        shutil.copytree(collection_runs[name][0], sweep / f"{number}_data.shard={number}")
    assert summarize_sweep(sweep, tensorboard=False) == 0
    summary = pd.read_csv(sweep / "summary.csv")
    assert len(summary) == 3 and sum("2 shards merged" in run for run in summary["run"]) == 1
    merged = summary[summary["run"].str.contains("merged")].iloc[0]
    joined = pd.read_csv(sweep / "series-merged.csv")
    assert merged["test_smape"] == pytest.approx(joined.loc[joined["status"] == "scored", "lstm_smape"].mean())


@pytest.mark.parametrize(("override", "message"), [
    ("collection.scope=everywhere", "collection.scope='everywhere' is unknown; use global or local"),
    ("collection.normalise=level", "collection.normalise='level' is unknown; use series or window"),
    ("collection.scale=range", "collection.scale='range' is unknown; use std, steps or seasonal_steps"),
    ("collection.baselines=[naive,holt]", "collection.baselines=.* is impossible; use a list of naive"),
    ("data.shard=2", "data.shard=2 is impossible with data.shards=1"),
    ("data.horizon=0", "data.horizon=0 is impossible"),
    ("model=stateful", "collections train stateless models"),
    ("evaluation=backtest", "evaluation=backtest is for one series"),
    ("collection.cross_validation.origins=0", "collection.cross_validation.origins=0 is impossible"),
    ("collection.season_window=1", "collection.season_window=1 is impossible; use a whole number of seasons >= 2"),
    ("collection.season_window=2.5", "collection.season_window=2.5 is impossible"),
    ("collection.early_stopping=true", "collection.early_stopping=True is impossible"),
    ("collection.quantile_intervals=maybe", "collection.quantile_intervals='maybe' is impossible"),
    ("collection.early_stopping={patience: 0}", r"collection.early_stopping=\{'patience': 0\} is impossible"),
    ("collection.cross_validation.step=0", r"collection.cross_validation.step=0 is impossible.*or null"),
    ("collection.cross_validation.refit_every=1.5", "collection.cross_validation.refit_every=1.5 is impossible"),
])
def test_impossible_collection_settings_are_one_line(compose_config, override, message):
    from lstmts.config import validate

    cfg = compose_config("data=collection", "data.path=x.csv", override)
    with pytest.raises(UserError, match=message):
        validate(cfg)


def test_early_stopping_and_quantile_intervals_of_local_models_are_one_line(compose_config):
    from lstmts.config import validate

    cfg = compose_config("data=collection", "data.path=x.csv", "collection=local", "collection.early_stopping={patience: 2}")
    with pytest.raises(UserError, match="collection.early_stopping is for collection.scope=global"):
        validate(cfg)
    cfg = compose_config("data=collection", "data.path=x.csv", "collection=local", "collection.quantile_intervals=true")
    with pytest.raises(UserError, match="collection.quantile_intervals come from a global network"):
        validate(cfg)


def test_a_collection_preset_without_a_collection_says_so(compose_config):
    from lstmts.config import validate

    with pytest.raises(UserError, match="data.source=None is not a collection"):
        validate(compose_config("experiment=collection_monthly"))


def test_resume_of_a_collection_run_reruns_when_a_series_was_edited_in_place(tmp_path, compose_config):
    from lstmts.runs.runner import finished_run

    _long_csv(tmp_path / "long.csv", {"a": 30, "b": 36})
    settings = ["data=collection", f"data.path={tmp_path / 'long.csv'}", "data.id_column=id", "data.date_column=month",
                "data.value_column=y", "data.horizon=6", "framing.look_back=6", "training.epochs=1",
                "model.units=4", "collection.baselines=[naive]", "resume=true"]
    folder = tmp_path / "run"
    metrics = collection_job.run_collection(compose_config(*settings), folder)
    assert finished_run(compose_config(*settings), folder)["test_smape"] == metrics["test_smape"]
    assert finished_run(compose_config(*settings, "seed=99"), folder) is None
    frame = pd.read_csv(tmp_path / "long.csv")
    frame.loc[frame.index[3], "y"] += 100.0  # one value of one series, same file name, same rows
    frame.to_csv(tmp_path / "long.csv", index=False)
    assert finished_run(compose_config(*settings), folder) is None


def test_a_series_without_a_mase_is_left_out_of_every_mean_not_only_the_mase(tmp_path, compose_config):
    # a rises by 1 a month, b alternates 10, 8; zero is all zeros: its seasonal naive error is 0, so no MASE.
    values = {"a": np.arange(1.0, 9.0), "b": np.tile([10.0, 8.0], 4), "zero": np.zeros(8)}
    dates = pd.date_range("2000-01-01", periods=8, freq="MS").strftime("%Y-%m-%d")
    pd.DataFrame([{"id": name, "month": d, "y": v} for name, series in values.items() for d, v in zip(dates, series)]
                 ).to_csv(tmp_path / "long.csv", index=False)
    cfg = compose_config("data=collection", f"data.path={tmp_path / 'long.csv'}", "data.id_column=id",
                         "data.date_column=month", "data.value_column=y", "data.horizon=2", "framing.look_back=2",
                         "training.epochs=1", "model.units=4", "collection.baselines=[naive]")
    metrics = collection_job.run_collection(cfg, tmp_path / "run")
    # The naive forecast by hand. a: 6, 6 for 7, 8; the training part's lag-1 error is 1 (6 values, a
    # monthly season of 12 is longer). b: 8, 8 for 10, 8; its lag-1 error is 2.
    smape_a, smape_b = (200 * 1 / 13 + 200 * 2 / 14) / 2, (200 * 2 / 18 + 0) / 2
    naive = metrics["baselines"]["naive"]
    assert naive["test_smape"] == pytest.approx((smape_a + smape_b) / 2)  # not (a + b + 0) / 3
    assert naive["test_mase"] == pytest.approx((1.5 / 1 + 1 / 2) / 2)
    assert naive["test_rmse"] == pytest.approx((math.sqrt((1 + 4) / 2) + math.sqrt((4 + 0) / 2)) / 2)
    table = pd.read_csv(tmp_path / "run" / "series.csv").set_index("series")
    assert table.loc["zero", "status"].startswith("skipped: no MASE"), table.loc["zero", "status"]
    assert metrics["collection"]["scored"] == 2 and metrics["collection"]["skipped"] == 1
    scored = table[table["status"] == "scored"]
    assert list(scored.index) == ["a", "b"]
    # The network's means are over the same two series, for every metric.
    for metric in ("smape", "mase", "rmse"):
        assert metrics[f"test_{metric}"] == pytest.approx(scored[f"lstm_{metric}"].mean())


def test_summary_means_refuse_to_leave_out_a_series_for_one_metric_only():
    rows = [{"smape": 10.0, "mase": 1.0, "rmse": 1.0}, {"smape": 0.0, "mase": float("nan"), "rmse": 0.0}]
    summary = competition.summarise({"lstm": rows})
    assert summary["lstm"]["smape"] == pytest.approx(5.0)
    assert math.isnan(summary["lstm"]["mase"])  # not 1.0, the mean of the first series alone




@pytest.mark.skipif(not Path("/proc/self/task").is_dir(), reason="reads child processes from /proc")
def test_sigterm_during_the_statistical_baselines_fit_ends_the_pool_within_seconds(tmp_path, lstmts_cli):
    pytest.importorskip("statsforecast")
    # Enough ARIMA fits to keep two workers busy for a minute; stopped seconds after they start.
    _long_csv(tmp_path / "long.csv", {f"s{k:02d}": 150 for k in range(80)}, seed=19)
    folder = tmp_path / "run"
    env = dict(lstmts_cli.env, LSTMTS_CACHE=str(tmp_path / "empty-cache"))  # nothing cached: the fits run
    process = subprocess.Popen(
        [lstmts_cli.command, "data=collection", f"data.path={tmp_path / 'long.csv'}", "data.id_column=id",
         "data.date_column=month", "data.value_column=y", "data.horizon=6", "framing.look_back=12",
         "collection.baselines=[arima]", "collection.n_jobs=2", f"hydra.run.dir={folder}"],
        env=env, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    with lstmts_cli.ended(process):
        deadline = time.monotonic() + scaled(120)
        while not children(process.pid) and time.monotonic() < deadline:
            assert process.poll() is None, process.communicate()
            time.sleep(0.05)
        fits = children(process.pid)
        assert fits, "the fits' child processes never started"
        process.send_signal(signal.SIGTERM)
        stopped = time.monotonic()
        try:
            stdout, stderr = process.communicate(timeout=scaled(4))
        except subprocess.TimeoutExpired:
            pytest.fail(f"lstmts still ran {scaled(4):g} s after SIGTERM, its pool still fitting")
        while not all(gone(pid) for pid in fits) and time.monotonic() < stopped + scaled(4):
            time.sleep(0.05)
    assert all(gone(pid) for pid in fits), "a baseline fit outlived its run"
    assert process.returncode == 128 + signal.SIGTERM, stderr
    assert "Traceback" not in stderr and "interrupted by SIGTERM" in stderr, stderr
    metrics = json.loads((folder / "metrics.json").read_text())
    assert metrics["status"] == "interrupted" and metrics["signal"] == "SIGTERM"


def test_statistical_baselines_fitted_in_shares_by_child_processes_match_one_process(monkeypatch):
    pytest.importorskip("statsforecast")
    monkeypatch.setenv("LSTMTS_CACHE", "off")  # both fits really run
    season = np.array([10.0, 20.0, 30.0, 20.0])
    trains = [np.tile(season, 10) + 100, np.tile(season, 8) + 50, np.arange(30.0), np.tile(season, 9) * 2]
    horizons, seasons = [4, 6, 3, 5], [4, 4, 1, 4]
    alone = competition.baseline_forecasts(trains, horizons, seasons, ["theta"], n_jobs=1).forecasts
    apart = competition.baseline_forecasts(trains, horizons, seasons, ["theta"], n_jobs=3).forecasts
    for one, other, horizon in zip(alone["theta"], apart["theta"], horizons):
        assert len(other) == horizon
        np.testing.assert_array_equal(other, one)


def test_statsforecasts_warnings_go_to_the_log_not_the_console(capfd, caplog):
    pytest.importorskip("statsforecast")
    from lstmts.evaluation.competition import _fit_statistical

    # A cubic trend with a growing season: AutoARIMA differences it twice and seasonally once, and warns.
    t = np.arange(120.0)
    series = 0.001 * t**3 + 5 * np.sin(2 * np.pi * t / 12) * (1 + t / 50) + np.random.default_rng(0).normal(0, 0.3, 120)
    with caplog.at_level("INFO", logger="lstmts"):
        _fit_statistical("arima", [series], [6], [12])
    assert "differencing" not in capfd.readouterr().err
    assert any("statsforecast warned" in r.getMessage() and "differencing operations" in r.getMessage()
               for r in caplog.records)


# --- ensembles, deseasonalisation and presets per frequency -----------------------------------


def test_ensemble_members_vary_look_back_loss_and_seed(compose_config):
    cfg = compose_config("data=collection", "data.path=x.csv", "seed=7",
                         "+collection.ensemble={look_backs: [1, 1.5, 2], losses: [mse, mae], seeds: 2}")
    members = ensemble.members(cfg, 6)
    assert [(m.look_back, m.loss, m.seed) for m in members][:4] == [(6, "mse", 7), (6, "mse", 8), (6, "mae", 7),
                                                                    (6, "mae", 8)]
    assert sorted({m.look_back for m in members}) == [6, 9, 12] and len(members) == 12
    assert [m.look_back for m in ensemble.members(cfg, 1)][:1] == [2]  # at least 2
    plain = compose_config("data=collection", "data.path=x.csv", "framing.look_back=5", "training.repeats=3", "seed=1")
    assert [(m.look_back, m.loss, m.seed) for m in ensemble.members(plain, 6)] == [(5, "mse", 1), (5, "mse", 2),
                                                                                     (5, "mse", 3)]


def test_the_global_ensemble_is_the_median_of_its_members_by_hand(compose_config, monkeypatch):
    cfg = compose_config("data=collection", "data.path=x.csv", "framing=timesteps", "collection.normalise=series",
                         "seed=1", "+collection.ensemble={look_backs: [1], losses: [mse], seeds: 3}")
    members = [Member("a", np.arange(1.0, 21.0), np.array([21.0, 22.0]), 1, "positions")]
    scales = [runs_collection.SeriesScale.fit(members[0].train, False)]
    outputs = {1: [0.0, 3.0], 2: [1.0, -1.0], 3: [5.0, 0.5]}  # scaled forecasts per seed

    def stub(cfg, spec, inputs, targets, origins, seed, jit_compile, *kept):
        assert spec.time_steps == 2  # look_back: 1 x the horizon of 2
        return np.array([outputs[seed]]), 1, 0.0

    monkeypatch.setattr(runs_collection, "_fit_predict", stub)
    forecasts, info = runs_collection._forecast_global(cfg, members, scales, lambda text: None)
    scale = scales[0]
    np.testing.assert_allclose(forecasts[0], [scale.shift + 1.0 * scale.scale, scale.shift + 0.5 * scale.scale])
    assert info["ensemble"]["combined_by"] == "median" and len(info["ensemble"]["members"]) == 3


@pytest.mark.parametrize("skip_padded", [False, True])
def test_skip_padded_leaves_a_series_padded_members_out_of_its_median_by_hand(compose_config, monkeypatch,
                                                                            skip_padded):
    """look_backs 2, 4 and 6 (horizon 2) x 1 seed: a series of 4 training values fills only the first
    two members' inputs, one of 3 only the first's, one of 1 none; a long one all three."""
    cfg = compose_config("data=collection", "data.path=x.csv", "framing=timesteps", "collection.normalise=series",
                         "seed=1", f"+collection.ensemble={{look_backs: [1, 2, 3], losses: [mse], seeds: 1,"
                                   f" skip_padded: {str(skip_padded).lower()}}}")
    lengths = [20, 4, 3, 1]
    members = [Member(f"s{n}", np.arange(1.0, n + 1.0), np.array([n + 1.0, n + 2.0]), 1, "positions")
               for n in lengths]
    scales = [runs_collection.SeriesScale(False, 0.0, 1.0) for _ in members]
    # Scaled forecasts per member (by look_back), the same for every series but distinct per member.
    outputs = {2: [0.0, 10.0], 4: [3.0, 1.0], 6: [9.0, 7.0]}

    def stub(cfg, spec, inputs, targets, origins, seed, jit_compile, *kept):
        return np.tile(outputs[spec.time_steps], (len(members), 1)), 1, 0.0

    monkeypatch.setattr(runs_collection, "_fit_predict", stub)
    forecasts, _ = runs_collection._forecast_global(cfg, members, scales, lambda text: None)
    every = [3.0, 7.0]  # the median of all three members, step by step
    expected = ([every, [1.5, 5.5], [0.0, 10.0], every] if skip_padded  # 20: all; 4: lb 2 and 4; 3: lb 2; 1: none
                else [every] * 4)
    for forecast, by_hand in zip(forecasts, expected):
        np.testing.assert_allclose(forecast, by_hand)


def test_skip_padded_that_is_not_true_or_false_is_one_line(compose_config):
    from lstmts.config import validate

    cfg = compose_config("data=collection", "data.path=x.csv",
                         "+collection.ensemble={look_backs: [1], losses: [mse], skip_padded: 3}")
    with pytest.raises(UserError, match=r"collection\.ensemble\.skip_padded=3 is impossible; use true or false"):
        validate(cfg)


@pytest.mark.parametrize(("override", "message"), [
    ("+collection.presets.yearly.collection.ensemble.skip_padded=maybe",
     r"collection\.presets\.yearly: collection\.ensemble\.skip_padded='maybe' is impossible"),
    ("collection.presets.yearly.training.lr_schedule=cosin",
     r"collection\.presets\.yearly: training\.lr_schedule='cosin' is unknown; use constant or cosine"),
    ("collection.presets.monthly.model.units=0", r"collection\.presets\.monthly: model\.units"),
])
def test_a_presets_impossible_value_is_one_line_naming_the_preset(compose_config, override, message):
    from lstmts.config import validate

    validate(compose_config("data=m1", "experiment=collection"))  # the shipped presets pass
    with pytest.raises(UserError, match=message):
        validate(compose_config("data=m1", "experiment=collection", override))


@pytest.mark.parametrize("skip_padded", [False, True])
def test_skip_padded_beyond_the_horizon_keeps_the_members_chosen_at_the_origin(compose_config, monkeypatch,
                                                                               skip_padded):
    """`lstmts forecast` past the networks' horizon (2) feeds each block back as history: a series
    of 3 values, padded for the look_back-4 member at its end, keeps that member out of every step,
    though its history reaches 5 values after the first block."""
    from lstmts.models import network
    from lstmts.runs import collection_future

    cfg = compose_config("data=collection", "data.path=x.csv", "framing=timesteps", "collection.normalise=series",
                         f"+collection.ensemble={{look_backs: [1, 2], losses: [mse], seeds: 1,"
                         f" skip_padded: {str(skip_padded).lower()}}}")
    outputs = {"lb2": 1.0, "lb4": 5.0}  # each member's scaled forecast, at every step, for every series
    monkeypatch.setattr(network, "forward", lambda model: lambda inputs: np.full((len(inputs), 2), outputs[model]))
    adjusted = [np.arange(10.0), np.arange(3.0)]
    paths = collection_future._recursive(cfg, [("lb2", 2, 2), ("lb4", 4, 2)], adjusted, 4)
    np.testing.assert_allclose(paths[0], [3.0] * 4)  # 10 values: both members, the median of 1 and 5
    np.testing.assert_allclose(paths[1], [1.0] * 4 if skip_padded else [3.0] * 4)


def test_skip_padded_keeps_a_kept_members_nan(compose_config):
    cfg = compose_config("data=collection", "data.path=x.csv",
                         "+collection.ensemble={look_backs: [1, 2], losses: [mse], skip_padded: true}")
    outputs = [np.array([[1.0, np.nan], [1.0, 2.0]]), np.array([[3.0, 4.0], [np.nan, 6.0]])]
    # Series 0 (10 values) keeps both members: member 0's NaN stays a NaN. Series 1 (3 values) keeps
    # only the look_back-2 member: member 1's NaN is left out with it.
    combined = runs_collection.combine(cfg, outputs, [2, 4], [10, 3])
    np.testing.assert_array_equal(combined, [[2.0, np.nan], [1.0, 2.0]])


def test_members_with_the_smape_or_mase_loss_train_on_windows_that_carry_the_series_own_values(compose_config,
                                                                                               monkeypatch):
    cfg = compose_config("data=collection", "data.path=x.csv", "framing=timesteps", "seed=1", "training.epochs=2",
                         "training.batch_size=8", "model.units=4", "collection.deseasonalise=true",
                         "+collection.ensemble={look_backs: [1], losses: [mae, smape, mase], seeds: 1}")
    rng = np.random.default_rng(0)
    positions = np.arange(30.0)
    members = [Member("up", 20 + positions + 3 * np.sin(positions) + rng.normal(size=30), np.array([51.0, 52.0]), 4,
                      "quarterly"),
               Member("mixed", np.cumsum(rng.normal(size=24)) - 2, np.array([0.0, 0.0]), 4, "quarterly")]
    scales = [runs_collection.series_scale(cfg, m) for m in members]
    seen = []
    original = runs_collection._fit_predict

    def recording(cfg, spec, inputs, targets, *rest, **kwargs):
        seen.append((spec.loss, inputs.take(np.arange(3))[1].shape[1]))
        return original(cfg, spec, inputs, targets, *rest, **kwargs)

    monkeypatch.setattr(runs_collection, "_fit_predict", recording)
    forecasts, info = runs_collection._forecast_global(cfg, members, scales, lambda text: None)
    # The horizon of 2: mae's windows carry the 2 targets, smape's and mase's 2 + 3 x 2 + 2 columns.
    assert seen == [("mae", 2), ("smape", 8), ("mase", 8)]
    assert info["ensemble"]["members"] == ["look_back 2, mae, seed 1", "look_back 2, smape, seed 1",
                                           "look_back 2, mase, seed 1"]
    assert all(np.all(np.isfinite(f)) and f.shape == (2,) for f in forecasts)


def test_an_ensemble_loss_other_than_mse_mae_smape_or_mase_is_one_line(compose_config):
    from lstmts.config import validate

    cfg = compose_config("data=collection", "data.path=x.csv",
                         "+collection.ensemble={look_backs: [1], losses: [mse, mape], seeds: 1}")
    with pytest.raises(UserError, match=r"collection\.ensemble\.losses=\['mse', 'mape'\] is impossible;"
                                        r" use a list of mse, mae, smape and mase"):
        validate(cfg)


def test_the_season_is_fitted_on_the_training_part_by_hand():
    # Season of 4 on a linear trend: the centred moving average removes the trend exactly.
    pattern = np.array([1.0, -2.0, 0.5, 0.5])
    values = 0.3 * np.arange(16) + np.tile(pattern, 4)
    season = ensemble.Season.fit(values, 4)
    np.testing.assert_allclose(season.offsets, pattern - pattern.mean(), atol=1e-12)
    np.testing.assert_allclose(season.at(16, 5), season.offsets[[0, 1, 2, 3, 0]])
    np.testing.assert_allclose(season.at(3, 2), season.offsets[[3, 0]])
    # An odd season; too few values or no season: none.
    odd = np.array([2.0, -1.0, -1.0])
    np.testing.assert_allclose(ensemble.Season.fit(np.tile(odd, 5) + 10, 3).offsets, odd, atol=1e-12)
    assert ensemble.Season.fit(values[:7], 4) is None and ensemble.Season.fit(values, 1) is None


@pytest.mark.parametrize(("season_length", "length", "window", "kept_from"), [
    (4, 26, 2, 16),  # 26 - 8 = 18 values before the last two seasons: 16 of them are whole seasons
    (4, 26, 3, 12),
    (12, 90, 4, 36),  # 90 - 48 = 42: 36
    (3, 20, 2, 12),  # an odd season: 20 - 6 = 14: 12
])
def test_a_season_window_fits_the_pattern_of_the_last_whole_seasons_by_hand(season_length, length, window, kept_from):
    """Pattern A before `kept_from`, B from it on: the window sees only B, in its own phase."""
    rng = np.random.default_rng(season_length)
    old, new = rng.normal(size=season_length), rng.normal(size=season_length)
    old, new = old - old.mean(), new - new.mean()
    phase = np.arange(length) % season_length
    values = 5 + 0.2 * np.arange(length) + np.where(np.arange(length) < kept_from, old[phase], new[phase])
    windowed = ensemble.Season.fit(values, season_length, window)
    np.testing.assert_allclose(windowed.offsets, new, atol=1e-12)
    np.testing.assert_allclose(windowed.at(length, 2), new[[length % season_length, (length + 1) % season_length]])
    # The whole training part mixes both patterns; a window longer than it is the whole part.
    whole = ensemble.Season.fit(values, season_length)
    assert np.abs(whole.offsets - new).max() > 0.05
    np.testing.assert_array_equal(ensemble.Season.fit(values, season_length, length).offsets, whole.offsets)


def test_the_preset_season_window_reaches_the_seasons_fitted(compose_config):
    cfg = compose_config("data=collection", "data.path=x.csv", "collection.deseasonalise=true",
                         "collection.season_window=2")
    pattern = np.array([3.0, -1.0, -1.0, -1.0])
    train = 50 + np.concatenate([np.zeros(12), np.tile(pattern, 2)])  # no season for 3 years, then one
    members = [Member("a", train, np.zeros(2), 4, "quarterly")]
    scales = [runs_collection.SeriesScale.fit(train, False)]
    season = runs_collection.seasons_of(cfg, members, scales)[0]
    np.testing.assert_allclose(season.offsets * scales[0].scale, pattern, atol=1e-9)


def test_deseasonalised_forecasts_read_no_test_value_and_add_the_season_back(compose_config, monkeypatch):
    cfg = compose_config("data=collection", "data.path=x.csv", "framing=timesteps", "framing.look_back=4",
                         "collection.normalise=series", "collection.deseasonalise=true")
    pattern = np.array([3.0, -1.0, -1.0, -1.0])
    train = 50 + np.tile(pattern, 6)
    seen = []

    def stub(cfg, spec, inputs, targets, origins, seed, jit_compile, *kept):
        inputs, targets = inputs.take(np.arange(len(inputs)))  # the panel's windows, all of them
        seen.append(inputs.copy())
        return np.zeros((len(origins), spec.outputs)), 1, 0.0  # the deseasonalised level's mean

    monkeypatch.setattr(runs_collection, "_fit_predict", stub)
    results = []
    for test in (np.array([51.0, 49.0, 49.0]), np.array([500.0, 0.0, 7.0])):
        members = [Member("a", train, test, 4, "quarterly")]
        scales = [runs_collection.SeriesScale.fit(train, False)]
        results.append(runs_collection._forecast_global(cfg, members, scales, lambda text: None))
    # The windows have no season left: a constant level.
    assert np.allclose(seen[0], seen[0][0, 0, 0])
    np.testing.assert_array_equal(seen[0], seen[1])
    # The forecasts: the level, 50, with the season of positions 24, 25, 26 added back.
    np.testing.assert_allclose(results[0][0][0], 50 + pattern[:3])
    np.testing.assert_allclose(results[0][0][0], results[1][0][0])
    assert results[0][1]["deseasonalised"] == 1


def test_each_frequency_group_gets_its_preset(compose_config, monkeypatch):
    cfg = compose_config("data=collection", "data.path=x.csv", "framing=timesteps", "framing.look_back=3",
                         "+collection.presets={yearly: {framing: {look_back: 4}}, default: {model: {units: 5}}}")
    assert runs_collection.preset_for(cfg, "yearly").framing.look_back == 4
    assert runs_collection.preset_for(cfg, "monthly").model.units == 5
    assert runs_collection.preset_for(cfg, "monthly").framing.look_back == 3
    members = [Member("y1", np.arange(1.0, 13.0), np.array([13.0]), 1, "yearly"),
               Member("m1", np.arange(1.0, 25.0), np.array([25.0, 26.0]), 12, "monthly"),
               Member("y2", np.arange(2.0, 14.0), np.array([14.0]), 1, "yearly")]
    specs = []

    def stub(cfg, spec, inputs, targets, origins, seed, jit_compile, *kept):
        specs.append((spec.time_steps, spec.units, len(origins)))
        return np.zeros((len(origins), spec.outputs)), 1, 0.0

    monkeypatch.setattr(runs_collection, "_fit_predict", stub)
    forecasts, info = runs_collection._forecast_by_frequency(cfg, members, lambda text: None)
    assert specs == [(4, (4,), 2), (3, (5,), 1)]
    assert [len(f) for f in forecasts] == [1, 2, 1]
    assert info["by_frequency"]["yearly"]["series"] == 2 and info["models"] == 2


def test_experiment_collection_takes_the_shipped_preset_of_each_frequency(compose_config):
    cfg = compose_config("data=m1", "experiment=collection")
    yearly, quarterly, monthly, weekly = (runs_collection.preset_for(cfg, f)
                                          for f in ("yearly", "quarterly", "monthly", "weekly"))
    assert not yearly.collection.deseasonalise and quarterly.collection.deseasonalise
    assert monthly.collection.deseasonalise and weekly.collection.deseasonalise  # weekly: the default preset
    assert yearly.collection.scale == "steps" and monthly.collection.scale == "seasonal_steps"
    assert quarterly.collection.scale == weekly.collection.scale == "std"
    assert yearly.collection.max_updates == monthly.collection.max_updates == 20000
    # 64 units for yearly and quarterly; 32 for monthly and the rest, so that Tourism monthly takes minutes.
    assert yearly.model.units == quarterly.model.units == 64 and monthly.model.units == weekly.model.units == 32
    for preset in (yearly, quarterly, monthly, weekly):
        assert preset.collection.scope == "global" and preset.collection.normalise == "window"
        assert preset.collection.anchor == "level"  # each window relative to its series' smoothed level
        assert list(preset.collection.ensemble.look_backs) == (
            [1, 2, 3] if preset is yearly else [0.5, 1] if preset is quarterly else [1, 1.5, 2])
        own_values = preset is quarterly or preset is monthly
        assert list(preset.collection.ensemble.losses) == (["smape", "mase"] if own_values else ["mse", "mae"])
    # The seasons of quarterly and monthly series come from their last 6 years; the default's from all.
    assert quarterly.collection.season_window == monthly.collection.season_window == 6
    assert weekly.collection.season_window is None
    # Quarterly trains for 30 epochs, the rest for the experiment's 20.
    assert quarterly.training.epochs == 30
    assert yearly.training.epochs == monthly.training.epochs == weekly.training.epochs == 20
    # Only yearly's learning rate falls along a cosine.
    assert yearly.training.lr_schedule == "cosine"
    assert quarterly.training.lr_schedule == monthly.training.lr_schedule == weekly.training.lr_schedule == "constant"
    # Look_backs follow each group's horizon: M1 yearly h=6 -> 6, 12, 18; monthly h=18 -> 18, 27, 36.
    assert [m.look_back for m in ensemble.members(yearly, 6)] == [6, 6, 12, 12, 18, 18]
    # Quarterly h=8 -> 4, 8, with two seeds of each loss.
    assert [m.look_back for m in ensemble.members(quarterly, 8)] == [4] * 4 + [8] * 4
    assert sorted({m.look_back for m in ensemble.members(monthly, 18)}) == [18, 27, 36]


def test_the_ensemble_line_counts_the_members_of_every_frequency_group(compose_config, monkeypatch):
    cfg = compose_config("data=collection", "data.path=x.csv", "framing=timesteps", "seed=1",
                         "+collection.presets={yearly: {collection: {ensemble: {look_backs: [1], seeds: 2}}},"
                         " default: {collection: {ensemble: {look_backs: [1, 2]}}}}")
    members = [Member("y", np.arange(1.0, 13.0), np.array([13.0]), 1, "yearly"),
               Member("m", np.arange(1.0, 25.0), np.array([25.0, 26.0]), 12, "monthly")]

    def stub(cfg, spec, inputs, targets, origins, seed, jit_compile, *kept):
        return np.zeros((len(origins), spec.outputs)), 1, 0.25

    monkeypatch.setattr(runs_collection, "_fit_predict", stub)
    _, info = runs_collection._forecast_by_frequency(cfg, members, lambda text: None)
    assert info["ensemble"]["members"] == ["yearly: look_back 2, mse, seed 1", "yearly: look_back 2, mse, seed 2",
                                           "monthly: look_back 2, mse, seed 1", "monthly: look_back 4, mse, seed 1"]
    assert info["ensemble"]["train_seconds"] == 1.0 and info["models"] == 4


def test_the_long_csv_reader_gives_what_reading_each_series_alone_gives(tmp_path):
    """The whole file is parsed and sorted at once; each series must come out as if read on its own."""
    from lstmts.data.collection import _members_of_frame

    rng = np.random.default_rng(5)
    rows = []
    for number in (10, 2, 33, 7):  # numeric ids: in numeric order, as pandas' groupby sorts them
        start = pd.Timestamp("2001-01-01") + pd.DateOffset(months=int(rng.integers(0, 5)))
        for k, date in enumerate(pd.date_range(start, periods=int(rng.integers(20, 40)), freq="MS")):
            rows.append({"id": number, "month": date.strftime("%Y-%m-%d"), "y": float(rng.normal(50, 5))})
    frame = pd.DataFrame(rows).sample(frac=1.0, random_state=1)
    frame.to_csv(tmp_path / "long.csv", index=False)
    members = load_collection(_data_cfg(tmp_path / "long.csv")).members
    assert [m.id for m in members] == ["2", "7", "10", "33"]
    read = pd.read_csv(tmp_path / "long.csv")
    for member in members:
        alone = _members_of_frame(read[read["id"] == int(member.id)], member.id, _data_cfg(tmp_path / "long.csv"), "x")
        np.testing.assert_array_equal(member.train, alone.train)
        np.testing.assert_array_equal(member.test, alone.test)
        assert member.dates.equals(alone.dates) and member.frequency == alone.frequency == "monthly"


def test_a_long_csv_with_unix_times_gives_hourly_dates(tmp_path):
    # 1,704,067,200,000 ms is 2024-01-01 00:00 UTC; an hour is 3,600,000 ms. Rows in any order.
    rows = [{"id": name, "month": 1_704_067_200_000 + 3_600_000 * step, "y": 10 * level + step % 24}
            for level, name in enumerate(("a", "b")) for step in range(72)]
    pd.DataFrame(rows).sample(frac=1.0, random_state=0).to_csv(tmp_path / "hourly.csv", index=False)
    loaded = load_collection(_data_cfg(tmp_path / "hourly.csv"))
    b = loaded.members[1]
    assert (b.frequency, b.season_length) == ("hourly", 24)
    assert list(b.dates) == list(pd.date_range("2024-01-01", periods=72, freq="h"))
    np.testing.assert_array_equal(np.r_[b.train, b.test], [10 + step % 24 for step in range(72)])
    pd.DataFrame({"id": ["a", "a"], "month": [12345, 12346], "y": [1.0, 2.0]}).to_csv(tmp_path / "bad.csv",
                                                                                         index=False)
    with pytest.raises(UserError, match=r"not ISO dates \(such as 12345\)"):
        load_collection(_data_cfg(tmp_path / "bad.csv"))

def test_a_gap_after_dates_another_series_shares_is_still_found(tmp_path):
    """Frequencies are reused for dates seen before; a series that leaves them with a gap is still refused."""
    dates = pd.date_range("2000-01-01", periods=30, freq="MS")
    gap = dates[:20].append(dates[21:])  # the same first 20 dates, then a month missing
    rows = [{"id": "a", "month": d.strftime("%Y-%m-%d"), "y": 1.0 + k % 5} for k, d in enumerate(dates)]
    rows += [{"id": "b", "month": d.strftime("%Y-%m-%d"), "y": 2.0 + k % 3} for k, d in enumerate(gap)]
    pd.DataFrame(rows).to_csv(tmp_path / "long.csv", index=False)
    with pytest.raises(UserError, match="series b"):
        load_collection(_data_cfg(tmp_path / "long.csv"))


def test_a_date_twice_in_a_series_of_a_long_csv_is_named(tmp_path):
    _long_csv(tmp_path / "long.csv", {"a": 30, "b": 40})
    frame = pd.read_csv(tmp_path / "long.csv")
    frame = pd.concat([frame, frame[(frame["id"] == "b") & (frame["month"] == "2001-03-01")]])
    frame.to_csv(tmp_path / "long.csv", index=False)
    with pytest.raises(UserError, match="series b has the date 2001-03-01 twice"):
        load_collection(_data_cfg(tmp_path / "long.csv"))


def test_a_budget_of_updates_visits_a_fresh_subset_of_windows_each_epoch():
    from lstmts.models.training import sample_orders

    orders = sample_orders(100, 3, True, seed=4, per_epoch=20)
    assert orders.shape == (3, 20)
    assert all(len(set(row)) == 20 for row in orders)  # no window twice in an epoch
    assert len({tuple(sorted(row)) for row in orders}) == 3  # another subset each epoch
    np.testing.assert_array_equal(sample_orders(100, 3, True, seed=4)[:, :20], orders)  # the permutations' heads
    assert sample_orders(10, 2, True, seed=4, per_epoch=50).shape == (2, 10)  # never more than there are


def test_a_collection_network_gets_its_update_budget_as_windows_per_epoch(compose_config, monkeypatch):
    from lstmts.models import training

    cfg = compose_config("data=collection", "data.path=x.csv", "framing=timesteps", "framing.look_back=3",
                         "training.epochs=4", "training.batch_size=2", "model.units=2", "collection.max_updates=9")
    members = [Member("a", np.sin(np.arange(40.0)) + 5, np.array([5.0, 5.5]), 1, "positions")]
    scales = [runs_collection.SeriesScale.fit(m.train, False) for m in members]
    asked = {}

    class Enough(Exception):
        pass

    def capture(spec, inputs, targets, **settings):
        asked.update(windows=len(inputs), **settings)
        raise Enough  # what train() makes of it is the engines' test (test_training.py)

    monkeypatch.setattr(training, "train", capture)
    with pytest.raises(Enough):
        runs_collection._forecast_global(cfg, members, scales, lambda text: None)
    # 40 - 3 - 2 + 1 = 36 windows; 9 updates over 4 epochs: 2 batches of 2 windows an epoch.
    assert asked["windows"] == 36 and asked["epochs"] == 4 and asked["samples_per_epoch"] == 4


def test_a_statistical_baseline_over_its_time_budget_is_left_out_with_comb_and_named(monkeypatch, private_caches):
    pytest.importorskip("statsforecast")

    limits = []

    def over_time(jobs, limit):  # what run_apart (tested in test_classical.py) gives a child it stopped
        limits.append(limit)
        return {key: f"skipped: the fit took longer than {limit:g} s; ..." for key in jobs}

    monkeypatch.setattr(competition, "run_apart", over_time)
    trains = [np.arange(1.0, 30.0) + np.sin(np.arange(29.0)) * k for k in (1, 2)]
    result = competition.baseline_forecasts(trains, [3, 3], [4, 4], ["naive", "arima", "comb"], n_jobs=2,
                                            time_limit=0.5)
    assert set(result.forecasts) == {"naive"}
    assert result.skipped["arima"] == "skipped: not finished within collection.baseline_time_limit=0.5 s"
    # comb needs Theta and ETS as well (fitted for it, not asked for: not named on their own).
    assert result.skipped["comb"] == "skipped: it needs theta, ets, arima, which did not finish in time"
    assert set(result.skipped) == {"arima", "comb"} and set(limits) == {0.5}
