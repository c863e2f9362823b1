"""Tests of lstmts.transforms: invertible log, differencing and scaling, and their JSON form."""

from __future__ import annotations

import json

import numpy as np
import pytest

from lstmts.errors import UserError
from lstmts.data.transforms import Pipeline


def _seasonal_series(length: int = 40) -> np.ndarray:
    """A positive, trending, seasonal series like the airline data."""
    t = np.arange(length)
    return 100.0 + 2.0 * t + 15.0 * np.sin(2 * np.pi * t / 12) + (t % 5)


# --- known values ---------------------------------------------------------------------------

def test_minmax_maps_the_fitted_range_to_zero_one_and_back():
    values = np.array([2.0, 4.0, 6.0, 10.0])
    pipeline = Pipeline(["minmax"]).fit(values)
    np.testing.assert_allclose(pipeline.transform(values), [0.0, 0.25, 0.5, 1.0])
    np.testing.assert_allclose(pipeline.inverse(np.array([0.25, 1.0]), np.array([1, 3]), values), [4.0, 10.0])
    np.testing.assert_allclose(pipeline.inverse(np.array([0.75]), np.array([2]), values), [8.0])


def test_minmax_fitted_on_a_prefix_scales_later_values_beyond_one():
    values = np.array([0.0, 1.0, 2.0, 3.0, 4.0])
    np.testing.assert_allclose(Pipeline(["minmax"]).fit(values[:3]).transform(values), [0.0, 0.5, 1.0, 1.5, 2.0])
    np.testing.assert_allclose(Pipeline(["minmax"]).fit(values).transform(values), [0.0, 0.25, 0.5, 0.75, 1.0])


def test_standard_gives_zero_mean_unit_variance():
    values = np.array([1.0, 2.0, 3.0])
    np.testing.assert_allclose(Pipeline(["standard"]).fit(values).transform(values), [-np.sqrt(1.5), 0.0, np.sqrt(1.5)])


def test_log_of_powers_of_e():
    values = np.exp([0.0, 1.0, 2.0])
    np.testing.assert_allclose(Pipeline(["log"]).fit(values).transform(values), [0.0, 1.0, 2.0])


def test_diff1_is_the_change_from_the_previous_value():
    values = np.array([1.0, 4.0, 9.0, 16.0])
    np.testing.assert_allclose(Pipeline(["diff1"]).fit(values).transform(values), [np.nan, 3.0, 5.0, 7.0])


def test_diff12_leaves_the_first_year_without_a_value():
    values = np.arange(15.0) ** 2
    transformed = Pipeline(["diff12"]).fit(values).transform(values)
    assert np.isnan(transformed[:12]).all()
    np.testing.assert_allclose(transformed[12:], [144.0 - 0.0, 169.0 - 1.0, 196.0 - 4.0])


def test_inverse_of_a_difference_adds_the_true_previous_value():
    # A one-step forecast of a change becomes a level by adding the last actual value.
    values = np.array([10.0, 12.0, 15.0, 11.0])
    pipeline = Pipeline(["diff1"]).fit(values)
    np.testing.assert_allclose(pipeline.inverse(np.array([0.5, -1.0]), np.array([2, 3]), values), [12.5, 14.0])


def test_warmup_is_the_sum_of_the_differencing_lags():
    assert Pipeline(["minmax"]).warmup == 0
    assert Pipeline(["log", "diff1", "diff12", "minmax"]).warmup == 13


def test_level_is_the_value_less_the_mean_of_the_values_before_it():
    values = np.array([1.0, 3.0, 5.0, 10.0, 2.0])
    np.testing.assert_allclose(Pipeline(["level2"]).transform(values), [np.nan, np.nan, 3.0, 6.0, -5.5])
    np.testing.assert_allclose(Pipeline(["level3"]).transform(values), [np.nan, np.nan, np.nan, 7.0, -4.0])
    assert Pipeline(["level12", "diff1"]).warmup == 13
    # Its inverse adds back the mean of the true values before the target, for targets inside the
    # inputs and for the value after them (a forecast step).
    pipeline = Pipeline(["level2"]).fit(values)
    np.testing.assert_allclose(pipeline.inverse(np.array([1.0, -1.0]), np.array([2, 4]), values), [3.0, 6.5])
    np.testing.assert_allclose(pipeline.inverse(np.array([0.5]), 5, values), [6.5])
    tails = np.array([[1.0, 2.0, 3.0], [4.0, 8.0, 0.0]])
    np.testing.assert_allclose(pipeline.inverse(np.array([1.0, 1.0]), 3, tails), [3.5, 5.0])


def test_level_reads_no_later_value_and_follows_a_trend_beyond_the_fitted_range():
    values = _seasonal_series(60)
    pipeline = Pipeline(["log", "level12", "standard"]).fit(values[:36])
    changed = values.copy()
    changed[40:] *= 3
    refitted = Pipeline(["log", "level12", "standard"]).fit(changed[:36])
    assert refitted.to_json() == pipeline.to_json()  # nothing fitted moves when later values change
    np.testing.assert_array_equal(pipeline.transform(values)[:40], pipeline.transform(changed)[:40])
    # The value after a window far above the fitted range comes back far above it.
    tail = values[-24:] * 10
    back = pipeline.inverse(np.array([0.0]), len(tail), tail)
    assert back[0] > 5 * values[:36].max()


def test_ar_leaves_what_a_linear_forecast_from_the_lags_misses():
    # An exact AR(2) (x[t] = 0.5 x[t-1] + 0.3 x[t-2]) is learned almost exactly: tiny residuals.
    values = np.zeros(200)
    values[:2] = [1.0, -1.0]
    noise = np.random.default_rng(0).normal(0, 0.01, 200)
    for t in range(2, 200):
        values[t] = 0.5 * values[t - 1] + 0.3 * values[t - 2] + noise[t]
    pipeline = Pipeline(["ar2"]).fit(values[:150])
    coef = pipeline.steps[0].coef
    np.testing.assert_allclose(coef, [0.5, 0.3], atol=0.05)
    residuals = pipeline.transform(values)
    assert np.isnan(residuals[:2]).all() and pipeline.warmup == 2
    mean = pipeline.steps[0].mean
    by_hand = values[5] - (mean + coef[0] * (values[4] - mean) + coef[1] * (values[3] - mean))
    assert residuals[5] == pytest.approx(by_hand)
    # The inverse adds the linear forecast back, inside the inputs and one step after them.
    np.testing.assert_allclose(pipeline.inverse(residuals[[5, 9]], np.array([5, 9]), values), values[[5, 9]])
    step = pipeline.inverse(np.array([0.0]), 150, values[:150])[0]
    assert step == pytest.approx(mean + coef[0] * (values[149] - mean) + coef[1] * (values[148] - mean))


def test_ar_is_fitted_on_the_fitting_period_only_and_reads_no_later_value():
    values = _seasonal_series(80)
    specs = ["log", "diff1", "ar13", "standard"]
    changed = values.copy()
    changed[50:] *= 3
    fitted, refitted = Pipeline(specs).fit(values[:50]), Pipeline(specs).fit(changed[:50])
    assert fitted.to_json() == refitted.to_json()  # later values move nothing fitted
    np.testing.assert_array_equal(fitted.transform(values)[:50], fitted.transform(changed)[:50])
    assert Pipeline(specs).fit(changed[:60]).to_json() != fitted.to_json()  # it does learn from its window
    # A trend that leaves the fitted range is followed, not capped: the level comes from the inputs.
    tail = values[-30:] * 5
    assert fitted.inverse(np.array([0.0]), 30, tail)[0] > 3 * values[:50].max()


# --- round trips ----------------------------------------------------------------------------

ROUND_TRIPS = [["minmax"], ["standard"], ["log"], ["diff1"], ["diff12"], ["log", "diff12", "minmax"], ["diff1", "standard"],
               ["level12"], ["log", "level12", "standard"], ["level4", "diff1", "standard"],
               ["log", "diff1", "ar13", "standard"], ["ar2"]]


@pytest.mark.parametrize("specs", ROUND_TRIPS, ids="+".join)
def test_inverse_of_transform_gives_back_the_series_at_every_target(specs):
    values = _seasonal_series()
    pipeline = Pipeline(specs).fit(values[:30])
    transformed = pipeline.transform(values)
    targets = np.arange(pipeline.warmup, len(values))
    assert np.isfinite(transformed[targets]).all()
    assert not np.allclose(transformed[targets], values[targets])
    np.testing.assert_allclose(pipeline.inverse(transformed[targets], targets, values), values[targets], rtol=1e-12)


@pytest.mark.parametrize("specs", ROUND_TRIPS, ids="+".join)
def test_json_round_trip_gives_the_same_transform(specs):
    values = _seasonal_series()
    pipeline = Pipeline(specs).fit(values[:30])
    restored = Pipeline.from_json(pipeline.to_json())
    assert [step.spec for step in restored.steps] == specs
    json.loads(pipeline.to_json())  # plain JSON that any tool can read
    np.testing.assert_array_equal(restored.transform(values), pipeline.transform(values))
    targets = np.arange(pipeline.warmup, len(values))
    outputs = np.linspace(-0.5, 1.5, len(targets))
    np.testing.assert_array_equal(restored.inverse(outputs, targets, values), pipeline.inverse(outputs, targets, values))


def test_json_keeps_the_state_fitted_on_a_prefix():
    values = np.array([0.0, 1.0, 2.0, 3.0, 4.0])
    restored = Pipeline.from_json(Pipeline(["minmax"]).fit(values[:3]).to_json())
    np.testing.assert_allclose(restored.transform(values), [0.0, 0.5, 1.0, 1.5, 2.0])


# --- bad specs and bad series ---------------------------------------------------------------

@pytest.mark.parametrize("spec", ["boxcox", "diff0", "diff", "MinMax"])
def test_unknown_transform_is_a_user_error_naming_it(spec):
    with pytest.raises(UserError, match="protocol.transforms") as error:
        Pipeline([spec])
    assert repr(spec) in str(error.value)
    assert "minmax" in str(error.value)


@pytest.mark.parametrize("values", [[1.0, 0.0, 2.0], [3.0, -1.0, 2.0]])
def test_log_of_a_non_positive_series_is_a_user_error(values):
    with pytest.raises(UserError, match="log"):
        Pipeline(["log", "minmax"]).fit(np.array(values))


# --- the scalers are scikit-learn's arithmetic, without importing it -----------------------------

def _sklearn_pairs():
    from sklearn.preprocessing import MinMaxScaler, StandardScaler

    return [("minmax", MinMaxScaler, ("min_", "scale_", "data_min_", "data_max_", "data_range_")),
            ("standard", StandardScaler, ("mean_", "scale_", "var_"))]


@pytest.mark.parametrize("values", [
    np.random.default_rng(0).normal(300.0, 80.0, 97),
    np.random.default_rng(1).lognormal(8.0, 2.0, 1000) * 1e6,  # large values: sums that round differently
    np.full(12, 7.25),  # a constant: nothing to scale, as scikit-learn leaves it
    np.array([1e-300, 2e-300, 3e-300]),
    np.array([-5.0, np.nan, 3.5, np.inf, 2.0]),  # fitted on the finite values only
])
def test_scalers_match_scikit_learn_to_the_last_bit(values):
    finite = values[np.isfinite(values)].reshape(-1, 1)
    probe = np.concatenate([finite[:, 0], [0.0, -1.0, 1e4]])
    for spec, sklearn_class, attributes in _sklearn_pairs():
        ours = Pipeline([spec]).fit(values)
        theirs = sklearn_class().fit(finite)
        stage = ours.steps[0]
        for name in attributes:
            assert stage.fitted[name] == getattr(theirs, name)[0], (spec, name)
        np.testing.assert_array_equal(ours.transform(probe), theirs.transform(probe.reshape(-1, 1))[:, 0])
        outputs = np.linspace(-2.0, 3.0, 11)
        np.testing.assert_array_equal(stage.inverse_values(outputs),
                                      theirs.inverse_transform(outputs.reshape(-1, 1))[:, 0])


def test_a_state_written_by_scikit_learn_scalers_reads_back_the_same():
    """transforms.json of runs made while lstmts scaled with scikit-learn: the same numbers now."""
    values = np.random.default_rng(2).normal(50.0, 9.0, 40)
    for spec, sklearn_class, attributes in _sklearn_pairs():
        fitted = sklearn_class().fit(values.reshape(-1, 1))
        text = json.dumps({"steps": [{"spec": spec, "state": {name: getattr(fitted, name).tolist() for name in attributes}}]})
        restored = Pipeline.from_json(text)
        np.testing.assert_array_equal(restored.transform(values), fitted.transform(values.reshape(-1, 1))[:, 0])


def test_a_plain_run_does_not_import_scikit_learn(tmp_path):
    """Its import (scipy.stats with it) was about a second of a five-second run; Keras is kept from it too."""
    import subprocess
    import sys

    code = ("import sys; from lstmts.backend import load; from lstmts.data.transforms import Pipeline; import numpy;"
            "load(); Pipeline(['minmax']).fit(numpy.arange(5.0));"
            "print(sorted(m for m in ('sklearn', 'matplotlib.pyplot', 'scipy.stats') if m in sys.modules))")
    shown = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=tmp_path)
    assert shown.stdout.strip() == "[]"
