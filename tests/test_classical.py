"""Classical baselines (statsmodels), scored on exactly the LSTM's targets."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from conftest import scaled

from lstmts.evaluation.classical import classical_forecasts
from lstmts.config import airline_csv
from lstmts.data.series import load_series
from lstmts.evaluation.metrics import rmse

# As published: fitted once, on the training period, then run one step ahead without refits.
SETTINGS = {
    "holt_winters": {"trend": "add", "seasonal": "mul", "damped_trend": False},
    "sarima": {"order": [0, 1, 1], "seasonal_order": [0, 1, 1], "log": True},
    "refit_every": 0,
}
# As lstmts runs them by default: fitted again every season through validation and test.
REFITTING = {**SETTINGS, "refit_every": "auto"}


@pytest.fixture(scope="module")
def airline(compose_config):
    return load_series(compose_config().data, airline_csv()).values


@pytest.fixture(autouse=True)
def no_disk_cache(monkeypatch):
    monkeypatch.setenv("LSTMTS_CACHE", "off")


def test_holt_winters_and_sarima_reproduce_the_published_airline_scores(airline):
    forecasts = classical_forecasts(airline, 96, 12, SETTINGS)
    test = np.arange(96, 144)
    # Fitted on 1949-1956 only, one step ahead over 1957-1960 without refitting, as published.
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


@pytest.mark.parametrize("refit_every", [0, "auto"])
def test_a_series_with_zeros_gets_the_additive_season_and_sarima_on_its_values(refit_every):
    values = np.tile(np.array([0.0, 1, 2, 3, 4, 5, 6, 5, 4, 3, 2, 1]), 6) + np.arange(72) * 0.1
    forecasts = classical_forecasts(values, 48, 12, {**SETTINGS, "refit_every": refit_every})
    additive = {**SETTINGS, "refit_every": refit_every, "holt_winters": {**SETTINGS["holt_winters"], "seasonal": "add"},
                "sarima": {**SETTINGS["sarima"], "log": False}}
    expected = classical_forecasts(values, 48, 12, additive)
    for name in ("holt_winters", "sarima"):
        assert np.all(np.isfinite(forecasts[name][48:])), forecasts[name]
        np.testing.assert_allclose(forecasts[name][48:], expected[name][48:], rtol=1e-9)
        assert np.sqrt(np.mean((forecasts[name][48:] - values[48:]) ** 2)) < 1.0  # the season is followed


def test_a_zero_after_the_fit_window_switches_to_the_additive_form_from_the_next_forecast_on():
    """A value <= 0 after the fit window never removes Holt-Winters or SARIMA: the forecasts up to it are
    the multiplicative (log) form's, as without it; after it, the additive form's fitted on the same window."""
    values = _seasonal_series(12, 144)
    changed = values.copy()
    changed[100] = 0.0
    before, after = classical_forecasts(values, 96, 12, REFITTING), classical_forecasts(changed, 96, 12, REFITTING)
    additive = {**REFITTING, "holt_winters": {**SETTINGS["holt_winters"], "seasonal": "add"},
                "sarima": {**SETTINGS["sarima"], "log": False}}
    expected = classical_forecasts(changed, 96, 12, additive)
    for name in ("holt_winters", "sarima"):
        assert not isinstance(after[name], str), after[name]
        np.testing.assert_allclose(after[name][96:101], before[name][96:101], rtol=1e-9)  # 100 itself unseen
        np.testing.assert_allclose(after[name][101:], expected[name][101:], rtol=1e-6)
        assert not np.allclose(after[name][96:101], expected[name][96:101])


def test_a_refit_keeps_the_additive_form_after_its_window_has_left_the_zero_behind():
    """A zero in the first fit window makes the season additive and SARIMA run on the values; the
    refits keep those forms when their windows (the last max_fit_values values) no longer hold it."""
    values = _seasonal_series(12, 144)
    values[40] = 0.0  # inside the first fit window (values 36 .. 95), outside the next (48 .. 107) and later ones
    settings = {**REFITTING, "max_fit_values": 60}
    additive = {**settings, "holt_winters": {**SETTINGS["holt_winters"], "seasonal": "add"},
                "sarima": {**SETTINGS["sarima"], "log": False}}
    forecasts, expected = classical_forecasts(values, 96, 12, settings), classical_forecasts(values, 96, 12, additive)
    for name in ("holt_winters", "sarima"):
        np.testing.assert_allclose(forecasts[name][96:], expected[name][96:], rtol=1e-9)


def test_the_cache_stores_plain_arrays_and_returns_them(airline, tmp_path, monkeypatch):
    monkeypatch.setenv("LSTMTS_CACHE", str(tmp_path))
    first = classical_forecasts(airline, 96, 12, SETTINGS)
    stored = sorted(tmp_path.rglob("*.npy"))
    assert len(stored) == 4 and not any(tmp_path.rglob("*.pkl"))
    for path in stored:  # mark every cached array: the second call must read these, not refit
        np.save(path, np.load(path) + 1000.0)
    second = classical_forecasts(airline, 96, 12, SETTINGS)
    np.testing.assert_allclose(second["sarima"][96:], first["sarima"][96:] + 1000.0)


def test_a_crafted_pickle_in_the_cache_is_never_loaded(airline, tmp_path, monkeypatch):
    import pickle

    monkeypatch.setenv("LSTMTS_CACHE", str(tmp_path))
    settings = {**SETTINGS, "methods": ["sarima"]}  # one method's cache files are enough to tamper with
    classical_forecasts(airline, 96, 12, settings)
    marker = tmp_path / "ran"

    class Payload:
        def __reduce__(self):
            return (Path.touch, (marker,))

    for path in tmp_path.rglob("*.npy"):
        path.write_bytes(pickle.dumps(Payload()))
    again = classical_forecasts(airline, 96, 12, settings)
    assert not marker.exists()
    assert rmse(airline[96:], again["sarima"][96:]) == pytest.approx(13.74, abs=0.02)


def _seasonal_series(season: int, length: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(length)
    shape = np.sin(2 * np.pi * t / season) if season > 1 else 0.0
    return 100 + 0.2 * t + 10 * shape + rng.normal(0, 1, length)


@pytest.mark.parametrize("season", [1, 4, 7, 12])
def test_theta_matches_statsmodels_at_the_first_test_origin(season):
    from statsmodels.tsa.forecasting.theta import ThetaModel

    values = _seasonal_series(season, 120)
    forecasts = classical_forecasts(values, 96, season, {**SETTINGS, "methods": ["theta"]})
    model = ThetaModel(values[:96], period=season, deseasonalize=season > 1, use_test=False, method="multiplicative")
    assert forecasts["theta"][96] == pytest.approx(float(model.fit().forecast(1).iloc[0]), rel=1e-6)


def test_without_a_season_the_methods_take_their_non_seasonal_forms():
    values = _seasonal_series(1, 80)
    forecasts = classical_forecasts(values, 60, 1, SETTINGS)
    assert sorted(forecasts) == ["arima", "ets", "holt", "theta"]
    assert all(not isinstance(f, str) for f in forecasts.values()), forecasts


def test_a_long_season_goes_through_stl_in_seconds():
    import time

    values = _seasonal_series(52, 52 * 12)
    started = time.perf_counter()
    forecasts = classical_forecasts(values, 52 * 9, 52, SETTINGS)
    assert sorted(forecasts) == ["stl_arima", "stl_ets", "stl_holt", "theta"]
    test = np.arange(52 * 9, len(values))
    # Each keeps the season: far better than the seasonal amplitude of 10.
    for name, forecast in forecasts.items():
        assert rmse(values[test], forecast[test]) < 2.0, name
    assert time.perf_counter() - started < 120  # a sanity bound far above the seconds it takes, not a benchmark


def test_a_fit_longer_than_the_time_limit_is_skipped_with_a_note(airline):
    forecasts = classical_forecasts(airline, 96, 12, {**SETTINGS, "time_limit": 0.001}, apart=True)
    assert set(forecasts) == {"holt_winters", "sarima", "theta", "ets"}
    for note in forecasts.values():
        assert isinstance(note, str) and "longer than 0.001 s" in note and "baselines.time_limit" in note


def test_fits_use_only_the_last_max_fit_values_whole_seasons():
    values = _seasonal_series(12, 600)
    settings = {**SETTINGS, "max_fit_values": 100}
    forecasts = classical_forecasts(values, 500, 12, settings)
    changed = values.copy()
    changed[:380] *= 5  # before the fit window (500 - 100 = 400, back to a whole season: 396)
    again = classical_forecasts(changed, 500, 12, settings)
    for name in forecasts:
        assert np.isnan(forecasts[name][:396]).all(), name
        np.testing.assert_allclose(forecasts[name][500:], again[name][500:], rtol=1e-9, err_msg=name)


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
print(json.dumps({"imported_here": imported_here, "same": all(np.array_equal(first[k], again[k], equal_nan=True) for k in first),
                  "sarima_test": float(np.sqrt(np.mean((values[96:] - first["sarima"][96:]) ** 2)))}))
"""


def test_an_uncached_fit_runs_in_a_child_while_tensorflow_is_not_loaded(tmp_path, airline):
    import json
    import os
    import subprocess
    import sys

    env = {**os.environ, "LSTMTS_CACHE": str(tmp_path)}
    settings = {**SETTINGS, "methods": ["sarima"]}  # the method checked below; the others take the same path
    result = subprocess.run([sys.executable, "-c", _APART_PROBE, json.dumps(settings)], env=env, cwd=tmp_path,
                            capture_output=True, text=True, timeout=scaled(240), check=False)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["imported_here"] is False  # statsmodels stayed in the child
    assert report["same"] is True
    assert report["sarima_test"] == pytest.approx(13.74, abs=0.02)
    in_process = classical_forecasts(airline, 96, 12, settings)  # TensorFlow may be loaded here: no child
    assert rmse(airline[96:], in_process["sarima"][96:]) == pytest.approx(report["sarima_test"], abs=1e-9)


@pytest.mark.parametrize("order, seasonal_order", [((0, 1, 1), (0, 1, 1, 12)), ((1, 1, 1), (1, 1, 0, 12)),
                                                   ((2, 1, 0), (0, 0, 0, 0))])
def test_the_linear_filter_continues_the_kalman_filters_forecasts_on_long_series(order, seasonal_order, monkeypatch):
    from lstmts.evaluation import classical

    # A deterministic season: seasonal differencing makes the seasonal MA close to -1, where a
    # filter started from zeros would take thousands of steps to forget its start.
    values = np.log(_seasonal_series(12, 3000))
    exact = classical._arima(values, 2000, order, seasonal_order)  # 3,000 values: the Kalman filter throughout
    monkeypatch.setattr(classical, "KALMAN_MAX_VALUES", 2500)
    continued = classical._arima(values, 2000, order, seasonal_order)
    np.testing.assert_allclose(continued[2000:], exact[2000:], rtol=1e-6)
    np.testing.assert_array_equal(continued[:2000], exact[:2000])


@pytest.mark.parametrize("method, fit_end, length, season, every, points", [
    ("theta", 96, 144, 12, "auto", [96, 108, 120, 132]),
    ("ets", 96, 144, 12, "auto", [96, 108, 120, 132]),
    ("sarima", 468, 624, 52, "auto", [468, 520, 572]),
    ("holt_winters", 60, 80, 1, "auto", list(range(60, 80))),  # no season: every step, at most 20 times
    ("theta", 100, 1100, 7, "auto", list(range(100, 1100, 50))),  # at most 20 refits
    ("ets", 96, 144, 12, 5, list(range(96, 144, 5))),
    ("theta", 96, 144, 12, 0, [96]),
])
def test_refit_points_by_hand(method, fit_end, length, season, every, points):
    from lstmts.evaluation.classical import DEFAULTS, refit_points

    assert refit_points(method, fit_end, length, season, {**DEFAULTS, "refit_every": every}) == points


@pytest.mark.parametrize("season", [4, 12])
def test_theta_is_fitted_again_each_season_on_the_values_before(season):
    from statsmodels.tsa.forecasting.theta import ThetaModel

    values = _seasonal_series(season, 144)
    forecasts = classical_forecasts(values, 96, season, {**REFITTING, "methods": ["theta"]})["theta"]
    for origin in (96 + season, 96 + 2 * season):
        model = ThetaModel(values[:origin], period=season, deseasonalize=True, use_test=False, method="multiplicative")
        assert forecasts[origin] == pytest.approx(float(model.fit().forecast(1).iloc[0]), rel=1e-6)


@pytest.mark.parametrize("season", [1, 4, 12, 52])
def test_a_level_shift_in_the_test_period_is_followed_by_every_baseline_within_one_season(season):
    length = 52 * 12 if season == 52 else 240
    fit_end = int(length * 0.6)
    values = _seasonal_series(season, length)
    shift_at = fit_end + 10
    values[shift_at:] += 40.0  # four times the seasonal amplitude
    forecasts = classical_forecasts(values, fit_end, season, REFITTING)
    # Within one season (or, without one, the auto refit interval of 96 / 20 -> 5 steps, and 5 more).
    after = np.arange(shift_at + (season if season > 1 else 10), length)
    for name, forecast in forecasts.items():
        assert not isinstance(forecast, str), (name, forecast)
        assert abs(np.mean(values[after] - forecast[after])) < 4.0, name
        assert rmse(values[after], forecast[after]) < 8.0, name


def test_the_forms_are_chosen_from_the_fit_window_only():
    """A non-positive value after the fit window changes no form: forecasts made before it stay the same."""
    values = _seasonal_series(12, 144)
    changed = values.copy()
    changed[-1] = -5.0
    settings = {**REFITTING, "methods": ["theta", "ets"]}
    before, after = classical_forecasts(values, 96, 12, settings), classical_forecasts(changed, 96, 12, settings)
    for name in ("theta", "ets"):
        np.testing.assert_allclose(before[name][96:], after[name][96:], rtol=1e-9)


def test_a_refit_fits_the_ets_form_chosen_first_and_no_other(monkeypatch):
    from statsmodels.tsa.exponential_smoothing.ets import ETSModel

    fitted = []
    fit = ETSModel.fit

    def counting(self, *args, **kwargs):
        fitted.append((self.error, self.trend, self.seasonal, self.damped_trend))
        return fit(self, *args, **kwargs)

    monkeypatch.setattr(ETSModel, "fit", counting)
    values = _seasonal_series(12, 144)
    classical_forecasts(values, 96, 12, {**REFITTING, "methods": ["ets"]})
    # Refits at 108, 120 and 132 (every season): the first fit tries the nine forms, each refit one.
    assert len(fitted) == 9 + 3
    assert len(set(fitted[9:])) == 1 and fitted[9] in fitted[:9]


def test_statsmodels_warnings_go_to_the_log_not_the_console(monkeypatch, capfd, caplog):
    import warnings

    from lstmts.evaluation import classical

    def warns(*args):
        warnings.warn("Maximum Likelihood optimization failed to converge", UserWarning)
        return np.zeros(3)

    monkeypatch.setattr(classical, "_forecast_from", warns)
    with caplog.at_level("INFO", logger="lstmts"):
        classical.forecast_from("sarima", np.arange(30.0), 3, 12, {})
    assert "converge" not in capfd.readouterr().err
    assert any("statsmodels (sarima) warned: UserWarning: Maximum Likelihood" in r.getMessage() for r in caplog.records)


@pytest.mark.parametrize("fit_end, season", [(96, 12), (100, 4), (120, 1)])
def test_sarimas_backtest_form_estimates_as_its_one_step_form_does(airline, fit_end, season):
    """forecast_from's first step after a history equals the one-step forecast fitted on that history:
    both estimate SARIMA on the differences (with the differences in the state, the backtest form
    estimated other parameters: 1e-3 apart on the airline)."""
    settings = {**SETTINGS, "methods": ["sarima"]}
    one_step = classical_forecasts(airline[:fit_end + 1], fit_end, season, settings)
    name = next(iter(one_step))
    from lstmts.evaluation import classical

    ahead = classical.forecast_from("sarima", airline[:fit_end], 3, season, settings)
    assert ahead.shape == (3,) and np.isfinite(ahead).all()
    assert ahead[0] == pytest.approx(one_step[name][fit_end], rel=1e-6)


@pytest.mark.skipif(not Path("/proc/self/task").is_dir(), reason="reads child processes from /proc")
@pytest.mark.parametrize("name", ["SIGINT", "SIGTERM"])
def test_a_stop_that_a_finalizer_swallows_while_the_fits_run_still_stops_them(monkeypatch, name):
    """The stop's handler ran, but its exception was lost in a finalizer (CI saw "Exception ignored
    in: _ConnectionBase.__del__" and a collection's ARIMA pool fitting on for a minute after SIGTERM).
    The wait for the fits notices the recorded stop, raises it, and kills every fit."""
    import os
    import signal
    import threading
    import time

    from conftest import children, gone

    from lstmts import errors
    from lstmts.evaluation.classical import run_apart

    monkeypatch.setattr(errors, "_received", [])
    seen: set[int] = set()
    before = children(os.getpid())  # earlier tests' helpers (a resource tracker) are not the fits

    def swallowed_stop_once_the_fits_run() -> None:
        deadline = time.monotonic() + scaled(120)
        while not children(os.getpid()) - before and time.monotonic() < deadline:
            time.sleep(0.02)
        seen.update(children(os.getpid()) - before)
        errors._received.append(getattr(signal, name))  # what the handler records before it raises

    thread = threading.Thread(target=swallowed_stop_once_the_fits_run, daemon=True)
    thread.start()
    expected = KeyboardInterrupt if name == "SIGINT" else errors.Interrupted
    with pytest.raises(expected):
        # Without the check the fits end by themselves after 20 s and nothing is raised.
        run_apart({"a": (time.sleep, (20,)), "b": (time.sleep, (20,))}, 3600)
    thread.join()
    assert seen and all(gone(pid) for pid in seen)  # no fit outlives the stop


# --- mstl: a second season, the cycle above the season ----------------------------------------

def _two_seasons(length: int, season: int = 6, cycle: int = 42, seed: int = 0) -> np.ndarray:
    """A level with a daily-like season and a weekly-like cycle (its last seventh 15 lower), and noise."""
    t = np.arange(length)
    weekend = np.where(t % cycle >= cycle - season, -15.0, 0.0)
    return 100 + 8 * np.sin(2 * np.pi * t / season) + weekend + np.random.default_rng(seed).normal(0, 0.5, length)


def test_mstls_seasons_repeat_each_with_its_own_period_after_the_fit_window():
    from statsmodels.tsa.seasonal import MSTL

    from lstmts.evaluation.classical import _mstl_season

    values, fit_end = _two_seasons(300), 210
    seasons = np.asarray(MSTL(values[:fit_end], periods=[6, 42]).fit().seasonal)
    total = _mstl_season(values, fit_end, [6, 42])
    np.testing.assert_allclose(total[:fit_end], seasons.sum(axis=1))
    for t in (210, 215, 216, 251, 252, 299):  # by hand: the last period of each, in its phase
        expected = seasons[fit_end - 6 + (t - fit_end) % 6, 0] + seasons[fit_end - 42 + (t - fit_end) % 42, 1]
        assert total[t] == pytest.approx(expected)
    assert total[252] == pytest.approx(total[210])  # a whole cycle (and so seven seasons) later


@pytest.mark.parametrize("cycle", [None, 42])
def test_mstl_runs_only_with_a_cycle_and_models_it_where_the_one_season_methods_cannot(cycle):
    values, fit_end = _two_seasons(420), 294
    forecasts = classical_forecasts(values, fit_end, 6, {**REFITTING, "second_season": cycle})
    if cycle is None:
        assert "mstl_ets" not in forecasts
        return
    test = np.arange(fit_end, 420)
    errors = {name: rmse(values[test], f[test]) for name, f in forecasts.items()}
    # The weekend of every cycle is a surprise to the one-season forms; MSTL repeats it.
    assert errors["mstl_ets"] < 1.5 < min(e for name, e in errors.items() if name != "mstl_ets"), errors


@pytest.mark.parametrize("fit_end, most, runs", [(83, 2000, False), (84, 2000, True), (200, 83, False), (200, 84, True)])
def test_mstl_needs_two_cycles_in_its_fit_window_else_it_is_left_out_and_the_log_says_so(fit_end, most, runs, caplog):
    values = _two_seasons(300)
    settings = {**REFITTING, "second_season": 42, "methods": ["ets", "mstl"], "max_fit_values": most}
    with caplog.at_level("INFO", logger="lstmts.evaluation.classical"):
        forecasts = classical_forecasts(values, fit_end, 6, settings)
    assert ("mstl_ets" in forecasts) == runs and "ets" in forecasts
    assert not runs == (f"fewer than two cycles of 42" in caplog.text)
    if runs:
        assert not isinstance(forecasts["mstl_ets"], str)


def test_mstl_follows_a_level_shift_within_one_cycle_and_reads_nothing_after_its_targets():
    values, fit_end = _two_seasons(504), 336
    settings = {**REFITTING, "second_season": 42, "methods": ["mstl"]}
    shifted = values.copy()
    shifted[fit_end + 10:] += 40.0
    forecast = classical_forecasts(shifted, fit_end, 6, settings)["mstl_ets"]
    after = np.arange(fit_end + 10 + 42, 504)
    assert abs(np.mean(shifted[after] - forecast[after])) < 4.0 and rmse(shifted[after], forecast[after]) < 8.0
    changed = values.copy()
    changed[450:] *= 3
    before, later = (classical_forecasts(v, fit_end, 6, settings)["mstl_ets"] for v in (values, changed))
    np.testing.assert_allclose(before[fit_end:451], later[fit_end:451], rtol=1e-9)
    assert not np.allclose(before[452:], later[452:])


def test_mstls_multi_step_forecast_repeats_both_seasons():
    from lstmts.evaluation.classical import forecast_from

    values = _two_seasons(294 + 42)
    settings = {**REFITTING, "second_season": 42}
    path = forecast_from("mstl", values[:294], 42, 6, settings)
    assert rmse(values[294:], path) < 1.5
    one_season = forecast_from("ets", values[:294], 42, 6, settings)
    assert rmse(values[294:], one_season) > 3.0
    assert forecast_from("mstl", values[:294], 3, 6, {**REFITTING, "second_season": None}).startswith(
        "skipped: the series has no cycle above its season")


@pytest.mark.parametrize("alias, season, setting, expected", [
    ("h", "auto", "auto", 168), ("30min", "auto", "auto", 336), ("D", "auto", "auto", 364),
    ("B", "auto", "auto", 260), ("MS", "auto", "auto", None), ("W-SUN", "auto", "auto", None),
    ("h", 12, "auto", None),  # a season of the user's own: no cycle is guessed above it
    ("h", "auto", None, None), ("MS", "auto", 24, 24), ("h", "auto", 24, None),  # not above the season
])
def test_the_cycle_that_mstl_models_by_hand(alias, season, setting, expected):
    import pandas as pd

    from lstmts.data.frequency import infer_frequency, season_for
    from lstmts.runs.runner import baseline_cycle

    frequency = infer_frequency(pd.date_range("2024-01-01", periods=60, freq=alias))
    assert baseline_cycle(setting, frequency, season_for(season, frequency)) == expected


def test_an_hourly_run_scores_mstl_beside_the_others_and_none_without_the_cycle(compose_config, tmp_path):
    import json

    import pandas as pd

    from lstmts.runs import runner

    dates = pd.date_range("2024-01-01", periods=24 * 7 * 4, freq="h")  # 450 training values: two weeks and more
    t = np.arange(len(dates))
    values = 100 + 8 * np.sin(2 * np.pi * t / 24) - 15 * (dates.dayofweek >= 5) + np.random.default_rng(0).normal(0, 0.5, len(t))
    path = tmp_path / "hourly.csv"
    pd.DataFrame({"date": dates, "load": values}).to_csv(path, index=False)
    common = ["data=csv", f"data.path={path}", "data.column=load", "data.date_column=date", "training.epochs=1",
              "horizons=[]", "intervals.levels=[]", "baselines.methods=[ets,mstl]", "report.tensorboard=false"]
    runner.run(compose_config(*common), tmp_path / "hourly")
    baselines = json.loads((tmp_path / "hourly" / "metrics.json").read_text())["baselines"]
    assert set(baselines) >= {"ets", "mstl_ets"}
    assert baselines["mstl_ets"]["test_rmse"] < 0.7 * baselines["ets"]["test_rmse"]
    runner.run(compose_config(*common, "baselines.second_season=null"), tmp_path / "none")
    assert "mstl_ets" not in json.loads((tmp_path / "none" / "metrics.json").read_text())["baselines"]


YEAR = 365.25 / 7  # a year of weekly values


def _weekly(length: int, seed: int = 0, noise: float = 0.3) -> np.ndarray:
    """A level that rises, a year of 52.18 weeks (two harmonics), and noise."""
    t = np.arange(length)
    angle = 2 * np.pi * t / YEAR
    return 50 + 0.01 * t + 3 * np.sin(angle) + np.cos(2 * angle) + np.random.default_rng(seed).normal(0, noise, length)


def test_the_yearly_pattern_has_the_harmonics_that_the_smallest_aicc_chooses_worked_by_hand():
    from lstmts.evaluation.classical import YEARS_FITTED, harmonics, yearly_pattern

    t = np.arange(400)
    angle = 2 * np.pi * t / YEAR
    noise = np.random.default_rng(3).normal(0, 0.2, 400)
    for truth, least in ((2 * np.sin(angle), 1), (2 * np.sin(angle) + np.cos(3 * angle), 3)):
        detrended = truth + noise
        later = np.arange(400, 460)
        pattern, count = yearly_pattern(detrended, YEAR, 25, later)
        # By hand: least squares on the last five years (261 weeks), AICc = n log(RSS / n) + 2k + 2k(k + 1) / (n - k - 1)
        # with k = 2 count + 2 (the constant, the sines and cosines, the variance); it differs from
        # statsmodels' by a constant, so the count with the smallest is the same.
        window = np.arange(400 - round(YEARS_FITTED * YEAR), 400)
        n, scores = len(window), []
        for c in range(1, 26):
            angles = [2 * np.pi * k * window / YEAR for k in range(1, c + 1)]
            design = np.column_stack([np.ones(n), *map(np.sin, angles), *map(np.cos, angles)])
            rss = np.sum((detrended[window] - design @ np.linalg.lstsq(design, detrended[window], rcond=None)[0]) ** 2)
            k = 2 * c + 2
            scores.append(n * np.log(rss / n) + 2 * k + 2 * k * (k + 1) / (n - k - 1))
        assert count == int(np.argmin(scores)) + 1 >= least
        # The pattern after the window is the regression's, and follows the true year (not 52 weeks).
        np.testing.assert_allclose(harmonics(later, YEAR, 1)[:, 0], 1.0)
        truth_later = 2 * np.sin(2 * np.pi * later / YEAR) + (np.cos(3 * 2 * np.pi * later / YEAR) if least == 3 else 0)
        assert np.max(np.abs(pattern - truth_later)) < 0.15


def test_the_yearly_pattern_reads_only_the_last_five_years():
    from lstmts.evaluation.classical import yearly_pattern

    detrended = _weekly(400) - 50 - 0.01 * np.arange(400)
    changed = detrended.copy()
    changed[:400 - 262] += np.random.default_rng(1).normal(0, 5, 400 - 262)
    later = np.arange(400, 452)
    np.testing.assert_allclose(yearly_pattern(detrended, YEAR, 25, later)[0], yearly_pattern(changed, YEAR, 25, later)[0])
    changed[400 - 261] += 5
    assert not np.allclose(yearly_pattern(detrended, YEAR, 25, later)[0], yearly_pattern(changed, YEAR, 25, later)[0])


def test_a_weekly_season_is_carried_forward_as_its_yearly_pattern_reading_nothing_after_the_fit_window():
    from statsmodels.tsa.seasonal import STL

    from lstmts.evaluation.classical import _stl_season

    values, fit_end = _weekly(520), 400
    season = _stl_season(values, fit_end, 52, YEAR)
    # The fit window keeps STL's season; after it, the year of 52.18 weeks, not STL's last 52 repeated.
    np.testing.assert_allclose(season[:fit_end], STL(values[:fit_end], period=52, robust=True).fit().seasonal)
    t = np.arange(fit_end, 520)
    truth = 3 * np.sin(2 * np.pi * t / YEAR) + np.cos(4 * np.pi * t / YEAR)
    repeated = _stl_season(values, fit_end, 52)
    np.testing.assert_allclose(repeated[fit_end:], repeated[fit_end - 52:fit_end][(t - fit_end) % 52])
    assert rmse(truth, season[fit_end:]) < 0.5 * rmse(truth, repeated[fit_end:])
    changed = values.copy()
    changed[fit_end:] += 100
    np.testing.assert_allclose(_stl_season(changed, fit_end, 52, YEAR), season)


def test_weekly_stl_forms_forecast_better_with_the_yearly_pattern_one_step_and_many():
    from lstmts.evaluation.classical import forecast_from

    values, fit_end = _weekly(700, seed=4), 450
    test = np.arange(fit_end, 700)
    settings = {**REFITTING, "methods": ["ets", "theta"]}
    repeated = classical_forecasts(values, fit_end, 52, settings)
    yearly = classical_forecasts(values, fit_end, 52, {**settings, "year": YEAR})
    for name in ("stl_ets", "theta"):
        assert rmse(values[test], yearly[name][test]) < rmse(values[test], repeated[name][test]), name
    # Many steps ahead (backtests, lstmts forecast): the same pattern, two years on.
    truth = values[fit_end:fit_end + 104]
    paths = {year: forecast_from("ets", values[:fit_end], 104, 52, {**settings, "year": year}) for year in (None, YEAR)}
    assert rmse(truth, paths[YEAR]) < rmse(truth, paths[None])


@pytest.mark.parametrize("alias, year", [
    ("W-SUN", YEAR), ("W-FRI", YEAR), ("D", 365.25), ("B", 365.25 * 5 / 7), ("MS", None), ("QS", None), ("h", None),
    ("30min", None),
])
def test_the_year_in_steps_that_a_series_dates_give_by_hand(alias, year):
    import pandas as pd

    from lstmts.data.frequency import infer_frequency, season_for
    from lstmts.runs.runner import for_series

    frequency = infer_frequency(pd.date_range("2024-01-05", periods=60, freq=alias))
    settings = for_series({"second_season": "auto"}, frequency, season_for("auto", frequency))
    assert settings["year"] == (pytest.approx(year) if year else None)


@pytest.mark.parametrize("alias, setting, year", [
    ("W-SUN", None, None), ("W-SUN", 52.5, 52.5), ("MS", 12.5, 12.5), ("D", "auto", 365.25),
])
def test_baselines_year_turns_the_pattern_off_or_sets_it_by_hand(alias, setting, year):
    import pandas as pd

    from lstmts.data.frequency import infer_frequency, season_for
    from lstmts.runs.runner import for_series

    frequency = infer_frequency(pd.date_range("2024-01-05", periods=60, freq=alias))
    assert for_series({"year": setting}, frequency, season_for("auto", frequency))["year"] == year


def test_a_weekly_run_without_dates_gets_the_yearly_pattern_from_baselines_year(compose_config, tmp_path):
    import json

    import pandas as pd

    from lstmts.runs import runner

    path = tmp_path / "weekly.csv"
    pd.DataFrame({"value": _weekly(330)}).to_csv(path, index=False)
    common = ["data=csv", f"data.path={path}", "data.column=value", "season_length=52", "training.epochs=1",
              "horizons=[]", "intervals.levels=[]", "baselines.methods=[ets]", "report.tensorboard=false"]
    scores = {}
    for name, year in (("repeated", []), ("yearly", [f"baselines.year={YEAR}"])):
        runner.run(compose_config(*common, *year), tmp_path / name)
        scores[name] = json.loads((tmp_path / name / "metrics.json").read_text())["baselines"]["stl_ets"]["test_rmse"]
    assert scores["yearly"] < scores["repeated"]


@pytest.mark.parametrize("period, year, carried", [
    (52, YEAR, True), (13, YEAR, False), (53, YEAR, True), (54, YEAR, False), (364, 365.25, True), (7, 365.25, False),
    (365, 365.25, True), (260, 365.25 * 5 / 7, True), (52, None, False),
])
def test_which_seasons_are_a_year_by_hand(period, year, carried):
    from lstmts.evaluation.classical import _stl_season, is_year

    assert is_year(period, year) == carried
    if period < 100:
        values = _weekly(6 * period)
        season = _stl_season(values, 4 * period, period, year)
        repeated = season[3 * period:4 * period][np.arange(2 * period) % period]
        assert np.allclose(season[4 * period:], repeated) != carried


def _daily(length: int, seed: int = 0) -> np.ndarray:
    """A weekly shape, a year of 365.25 days, and noise."""
    t = np.arange(length)
    return 100 + 5 * np.sin(2 * np.pi * t / 7) + 10 * np.sin(2 * np.pi * t / 365.25) \
        + np.random.default_rng(seed).normal(0, 2, length)


def test_mstls_yearly_cycle_is_carried_forward_as_its_yearly_pattern_reading_nothing_after_the_fit_window():
    from statsmodels.tsa.seasonal import MSTL

    from lstmts.evaluation.classical import _mstl_season

    values, fit_end = _daily(4 * 365 + 200), 4 * 365
    seasons = np.asarray(MSTL(values[:fit_end], periods=[7, 364]).fit().seasonal)
    yearly = _mstl_season(values, fit_end, [7, 364], 365.25)
    repeated = _mstl_season(values, fit_end, [7, 364])
    np.testing.assert_allclose(yearly[:fit_end], seasons.sum(axis=1))
    # The week is still its last week repeated; the year is now close to the true one, not STL's last 364 days.
    t = np.arange(fit_end, len(values))
    week = seasons[fit_end - 7:fit_end, 0][(t - fit_end) % 7]
    truth = 5 * np.sin(2 * np.pi * t / 7) + 10 * np.sin(2 * np.pi * t / 365.25)
    assert rmse(truth, yearly[fit_end:]) < 0.7 * rmse(truth, repeated[fit_end:])
    assert rmse(truth - week, yearly[fit_end:] - week) < 2.0  # below the noise (2) where the year is 10 high
    changed = values.copy()
    changed[fit_end:] += 50
    np.testing.assert_allclose(_mstl_season(changed, fit_end, [7, 364], 365.25), yearly)


_BLAS_PROBE = """
import json
from threadpoolctl import threadpool_info, threadpool_limits
from lstmts.evaluation.classical import run_apart

def threads():
    from statsmodels.tsa.seasonal import STL  # what a fit loads: scipy's BLAS among it
    return [library["num_threads"] for library in threadpool_info() if library["user_api"] == "blas"]

with threadpool_limits(limits=2):  # as on a machine of two cores or more, whatever this one's environment says
    child = run_apart({"fit": (threads, ())}, 60.0)["fit"]
    print(json.dumps({"child": child, "here": threads()}))  # here after the child: the child loads scipy itself
"""


def test_the_children_fit_with_one_blas_thread_each(tmp_path):
    import json
    import os
    import subprocess
    import sys

    if (os.cpu_count() or 1) < 2:
        pytest.skip("one core: BLAS has one thread anyway")
    # A fresh interpreter, with only numpy's BLAS loaded before the child starts (scipy's comes with the fit).
    result = subprocess.run([sys.executable, "-c", _BLAS_PROBE], cwd=tmp_path, capture_output=True, text=True,
                            timeout=scaled(120), check=False)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert max(report["here"]) >= 2 and len(report["child"]) == len(report["here"]) >= 2
    assert set(report["child"]) == {1}


def test_mstl_forecasts_with_the_yearly_pattern_one_step_and_many():
    from lstmts.evaluation.classical import forecast_from

    values, fit_end = _daily(4 * 365 + 200, seed=5), 4 * 365
    test = np.arange(fit_end, len(values))
    settings = {**SETTINGS, "methods": ["mstl"], "second_season": 364}  # fitted once: one MSTL fit each
    repeated, yearly = (classical_forecasts(values, fit_end, 7, {**settings, "year": year})["mstl_ets"]
                        for year in (None, 365.25))
    assert rmse(values[test], yearly[test]) < rmse(values[test], repeated[test])
    paths = {year: forecast_from("mstl", values[:fit_end], 200, 7, {**settings, "year": year}) for year in (None, 365.25)}
    assert rmse(values[test], paths[365.25]) < rmse(values[test], paths[None])


@pytest.mark.parametrize("year", [None, YEAR])
def test_thetas_multi_step_form_deseasonalises_a_long_season_as_its_one_step_form(year):
    from lstmts.evaluation.classical import forecast_from

    values, fit_end = _weekly(400, seed=6), 300
    settings = {**SETTINGS, "methods": ["theta"], "year": year}
    one_step = classical_forecasts(values, fit_end, 52, settings)["theta"]
    path = forecast_from("theta", values[:fit_end], 52, 52, settings)
    assert path[0] == pytest.approx(one_step[fit_end], rel=1e-9)
    assert rmse(values[fit_end:fit_end + 52], path) < 1.0  # the noise is 0.3, the year 3 high


@pytest.mark.parametrize("method, season, settings, expected", [
    ("holt_winters", 12, SETTINGS, True), ("sarima", 12, SETTINGS, True), ("sarima", 1, SETTINGS, True),
    ("holt_winters", 1, SETTINGS, False),  # Holt's damped trend: no season to multiply
    ("holt_winters", 52, SETTINGS, False), ("sarima", 52, SETTINGS, False),  # STL and the additive forms
    ("holt_winters", 12, {**SETTINGS, "holt_winters": {"seasonal": "add"}}, False),
    ("sarima", 12, {**SETTINGS, "sarima": {"log": False}}, False), ("ets", 12, SETTINGS, False),
    ("theta", 12, SETTINGS, False),
])
def test_which_forms_cannot_take_in_a_zero(method, season, settings, expected):
    from lstmts.evaluation.classical import DEFAULTS, _multiplies

    assert _multiplies(method, season, {**DEFAULTS, **settings}) is expected


# Forecasts of several steps from every test origin (test_rmse_by_horizon): each made with the fit in
# force at that origin and its state after the values before it.

def _paths(values, fit_end, season, settings, origins, steps):
    from lstmts.evaluation.classical import classical_forecasts_and_paths

    forecasts, paths, _ = classical_forecasts_and_paths(values, fit_end, season, settings, (np.asarray(origins), steps))
    return forecasts, paths


@pytest.mark.parametrize("season", [1, 4, 12])
def test_each_path_is_statsmodels_forecast_from_a_model_with_the_same_parameters_run_up_to_its_origin(season):
    from statsmodels.tsa.exponential_smoothing.ets import ETSModel
    from statsmodels.tsa.holtwinters import ExponentialSmoothing
    from statsmodels.tsa.statespace.sarimax import SARIMAX

    from lstmts.evaluation import classical

    values, fit_end, steps = _seasonal_series(season, 144), 96, 5
    origins = np.array([96, 101, 117, 139])  # the last one's path runs past the series' end
    forecasts, paths = _paths(values, fit_end, season, SETTINGS, origins, steps)
    assert sorted(paths) == sorted(forecasts)
    # ETS: the form and parameters of the one fit, statsmodels' own forecast from the origin's end.
    spec, params = classical._best_ets(values, fit_end, season)
    # Holt-Winters: its fit on the training period, run with those parameters up to each origin.
    trend, seasonal, damped = classical._holt_winters_form(SETTINGS, season, True)
    first = ExponentialSmoothing(values[:fit_end], trend=trend, seasonal=seasonal, damped_trend=damped,
                                 seasonal_periods=season if seasonal else None, initialization_method="estimated").fit()
    # SARIMA on logs: the parameters estimated on the differences, filtered with the differences in the state.
    order, seasonal_order, _ = classical._sarima_form(SETTINGS, season, True, False)
    sarima = SARIMAX(np.log(values[:fit_end]), order=order, seasonal_order=seasonal_order,
                     simple_differencing=True).fit(disp=False, return_params=True)
    for row, origin in enumerate(origins):
        ets = np.asarray(ETSModel(values[:origin], **spec).smooth(params).forecast(steps))
        np.testing.assert_allclose(paths["ets"][row], ets, rtol=1e-9)
        # Holt-Winters by the textbook formula from its states after the values before the origin:
        # (level + h trend) x the season of the same period a season before (damped Holt without one).
        hw = ExponentialSmoothing(values[:origin], trend=trend, seasonal=seasonal, damped_trend=damped,
                                  seasonal_periods=season if seasonal else None, initialization_method="known",
                                  initial_level=first.params["initial_level"],
                                  initial_trend=first.params["initial_trend"],
                                  initial_seasonal=first.params["initial_seasons"] if seasonal else None)
        smoothing = {k: first.params[k] for k in ("smoothing_level", "smoothing_trend", "smoothing_seasonal",
                                                  "damping_trend") if not np.isnan(first.params.get(k, np.nan))}
        run = hw.fit(optimized=False, **smoothing)
        level, slope, h = run.level[-1], run.trend[-1], np.arange(1, steps + 1)
        if seasonal:
            expected = (level + h * slope) * np.asarray(run.season)[origin - season + (h - 1) % season]
        else:
            phi = smoothing["damping_trend"]
            expected = level + np.cumsum(phi ** h) * slope
        np.testing.assert_allclose(paths["holt" if season == 1 else "holt_winters"][row], expected, rtol=1e-9)
        log_forecast = SARIMAX(np.log(values[:origin]), order=order, seasonal_order=seasonal_order).filter(sarima)
        np.testing.assert_allclose(paths["arima" if season == 1 else "sarima"][row],
                                   np.exp(np.asarray(log_forecast.forecast(steps))), rtol=1e-7)
        # Every path starts with the one-step forecast of its origin.
        for name in paths:
            assert paths[name][row, 0] == pytest.approx(forecasts[name][origin], rel=1e-7), name


@pytest.mark.parametrize("season", [1, 4, 12])
def test_thetas_path_adds_half_the_drift_for_each_step_to_its_level_worked_by_hand(season):
    from statsmodels.tsa.forecasting.theta import ThetaModel

    values, fit_end, steps = _seasonal_series(season, 120), 96, 4
    _, paths = _paths(values, fit_end, season, {**SETTINGS, "methods": ["theta"]}, [100, 110], steps)
    fitted = ThetaModel(values[:fit_end], period=season if season > 1 else None, deseasonalize=season > 1,
                        use_test=False, method="multiplicative").fit()
    alpha, b0 = float(fitted.params["alpha"]), float(fitted.params["b0"])
    if season > 1:
        from statsmodels.tsa.seasonal import seasonal_decompose

        pattern = np.asarray(seasonal_decompose(values[:fit_end], model="multiplicative", period=season).seasonal)[:season]
    else:
        pattern = np.ones(1)
    adjusted = values / pattern[np.arange(len(values)) % len(pattern)]
    for row, origin in enumerate([100, 110]):
        level = adjusted[0]  # simple exponential smoothing, by hand, up to the value before the origin
        for value in adjusted[:origin]:
            level = alpha * value + (1 - alpha) * level
        for step in range(steps):
            drift = b0 * (step + 1 / alpha - (1 - alpha) ** origin / alpha) / 2
            expected = (level + drift) * pattern[(origin + step) % len(pattern)]
            assert paths["theta"][row, step] == pytest.approx(expected, rel=1e-9), (origin, step)


@pytest.mark.parametrize("season", [4, 12, 52])
def test_a_path_reads_no_value_from_its_origin_on(season):
    length = 52 * 6 if season == 52 else 144
    fit_end, origin, steps = int(length * 0.6), int(length * 0.6) + 2 * season + 1, 3
    values = _seasonal_series(season, length)
    changed = values.copy()
    changed[origin:] *= 1.5
    _, before = _paths(values, fit_end, season, REFITTING, [origin], steps)
    _, after = _paths(changed, fit_end, season, REFITTING, [origin], steps)
    for name in before:
        assert not isinstance(before[name], str), (name, before[name])
        np.testing.assert_allclose(before[name], after[name], rtol=1e-9, err_msg=name)


@pytest.mark.parametrize("season", [1, 4, 12, 52])
def test_paths_follow_a_level_shift_in_the_test_period_within_one_season(season):
    length = 52 * 12 if season == 52 else 240
    fit_end, steps = int(length * 0.6), 3
    values = _seasonal_series(season, length)
    shift_at = fit_end + 10
    values[shift_at:] += 40.0
    origins = np.arange(shift_at + (season if season > 1 else 10), length - steps + 1)
    _, paths = _paths(values, fit_end, season, REFITTING, origins, steps)
    targets = origins[:, None] + np.arange(steps)
    for name, made in paths.items():
        assert not isinstance(made, str), (name, made)
        assert abs(np.mean(values[targets] - made)) < 4.0, name
        assert rmse(values[targets].ravel(), made.ravel()) < 10.0, name


def test_a_zero_after_the_fit_window_switches_the_paths_to_the_additive_form_from_then_on():
    values = _seasonal_series(12, 144)
    values[120] = 0.0
    settings = {**SETTINGS, "methods": ["holt_winters", "sarima"]}
    forecasts, paths = _paths(values, 96, 12, settings, [110, 120, 121, 130], 2)
    for name in ("holt_winters", "sarima"):
        assert np.isfinite(paths[name]).all(), name
        np.testing.assert_allclose(paths[name][:, 0], forecasts[name][[110, 120, 121, 130]], rtol=1e-7)


def test_paths_are_cached_by_their_origins_and_steps(airline, tmp_path, monkeypatch):
    monkeypatch.setenv("LSTMTS_CACHE", str(tmp_path))
    settings = {**SETTINGS, "methods": ["theta"]}
    _, three = _paths(airline, 96, 12, settings, np.arange(96, 144), 3)
    _, six = _paths(airline, 96, 12, settings, np.arange(96, 144), 6)
    np.testing.assert_allclose(six["theta"][:, :3], three["theta"])
    assert len(list(Path(tmp_path).rglob("*.npy"))) == 3  # the one-step forecasts, and each set of paths
    _, again = _paths(airline, 96, 12, settings, np.arange(96, 144), 3)
    np.testing.assert_array_equal(again["theta"], three["theta"])


def test_classical_horizon_scores_worked_by_hand():
    from lstmts.evaluation.scoring import classical_horizon_scores

    values = np.arange(10.0)
    test = np.array([6, 7, 8, 9])
    paths = {"theta": np.full((4, 2), 5.0), "ets": "skipped: no ETS model could be fitted"}
    scores = classical_horizon_scores(paths, values, test, [1, 2])
    # h=1: errors 1, 2, 3, 4; h=2: targets 7, 8, 9 (the last origin's is past the end), errors 2, 3, 4.
    assert scores == {"theta": {"test_rmse_by_horizon": {"1": pytest.approx(np.sqrt(30 / 4)),
                                                         "2": pytest.approx(np.sqrt(29 / 3))}}}


@pytest.mark.parametrize("season", [1, 4, 12])
def test_the_backtests_holt_winters_is_the_runs_path_from_a_refit_origin_by_the_textbook_formula(season):
    """forecast_from (backtests, lstmts forecast) fits on the values before an origin as a refit there does;
    its forecast is then the run's path from that origin: (level + h trend) x the season a period before,
    the latest seasonal update included (statsmodels' own forecast method drops it at h = season)."""
    from statsmodels.tsa.holtwinters import ExponentialSmoothing

    from lstmts.evaluation import classical

    values, steps = _seasonal_series(season, 144), 2 * max(season, 2) + 1
    origin = classical.refit_points("holt_winters", 96, 144, season, REFITTING)[2]  # the third fit's first origin
    _, paths = _paths(values, 96, season, {**REFITTING, "methods": ["holt_winters"]}, [origin], steps)
    backtest = classical.forecast_from("holt_winters", values[:origin], steps, season, REFITTING)
    np.testing.assert_allclose(backtest, paths["holt" if season == 1 else "holt_winters"][0], rtol=1e-9)
    if season > 1:
        fitted = ExponentialSmoothing(values[:origin], trend="add", seasonal="mul", seasonal_periods=season,
                                      initialization_method="estimated").fit()
        h = np.arange(1, steps + 1)
        textbook = (fitted.level[-1] + h * fitted.trend[-1]) * np.asarray(fitted.season)[origin - season + (h - 1) % season]
        np.testing.assert_allclose(backtest, textbook, rtol=1e-9)


@pytest.mark.parametrize("horizons", [[1, 2], [1, 3]])
def test_each_baselines_p_against_the_lstm_at_each_horizon_is_the_diebold_mariano_test_of_those_errors(horizons):
    from lstmts.evaluation.scoring import classical_horizon_scores, naive_horizon_scores
    from lstmts.evaluation.significance import diebold_mariano

    rng = np.random.default_rng(3)
    values = 50 + np.cumsum(rng.normal(0, 1, 40))
    test = np.arange(25, 40)
    steps = max(horizons)
    targets = np.minimum(test[:, None] + np.arange(steps), len(values) - 1)
    lstm = values[targets] + rng.normal(0, 1.0, (len(test), steps))
    theta = values[targets] + rng.normal(0, 2.0, (len(test), steps))
    scores = classical_horizon_scores({"theta": theta}, values, test, horizons, lstm)
    naive = naive_horizon_scores(values, test, 1, horizons, lstm)
    for horizon in horizons:
        inside = test + horizon - 1 < len(values)
        actual = values[test[inside] + horizon - 1]
        # Errors h steps ahead from consecutive origins share h - 1 autocovariances: the test's horizon is h.
        expected = diebold_mariano(actual, lstm[inside, horizon - 1], theta[inside, horizon - 1], horizon=horizon)
        assert scores["theta"]["p_by_horizon"][str(horizon)] == pytest.approx(expected["p_value"], rel=1e-12)
        persistence = values[test[inside] - 1]  # the value before the origin, at every step
        expected = diebold_mariano(actual, lstm[inside, horizon - 1], persistence, horizon=horizon)
        assert naive["persistence"]["p_by_horizon"][str(horizon)] == pytest.approx(expected["p_value"], rel=1e-12)
    assert set(scores["theta"]["p_by_horizon"]) == {str(h) for h in horizons}
    assert "p_by_horizon" not in classical_horizon_scores({"theta": theta}, values, test, horizons)["theta"]
