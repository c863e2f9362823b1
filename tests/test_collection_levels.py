"""collection.anchor=level: each series' windows relative to its exponentially smoothed level, by hand."""

from __future__ import annotations

import numpy as np
import pytest

from lstmts.data.collection import Member
from lstmts.errors import UserError
from lstmts.runs import collection as runs_collection
from lstmts.runs import collection_levels
from lstmts.runs.collection_windows import PanelWindows

SERIES = np.array([4.0, 0.0, 8.0, 2.0, 6.0])


@pytest.mark.parametrize(("alpha", "expected"), [
    (0.5, [4.0, 2.0, 5.0, 3.5, 4.75]),
    (0.25, [4.0, 3.0, 4.25, 3.6875, 4.265625]),
    (1.0, SERIES),
])
def test_the_smoothed_level_by_hand(alpha, expected):
    np.testing.assert_allclose(collection_levels.smoothed(SERIES, alpha), expected)


def test_the_level_and_alpha_agree_with_statsmodels_simple_exponential_smoothing():
    from statsmodels.tsa.holtwinters import SimpleExpSmoothing

    rng = np.random.default_rng(3)
    for length, noise in ((7, 0.1), (30, 1.0), (60, 3.0)):
        values = np.cumsum(rng.normal(size=length)) + noise * rng.normal(size=length)
        errors = []
        for alpha in collection_levels.ALPHAS:
            fit = SimpleExpSmoothing(values, initialization_method="known", initial_level=values[0]).fit(
                smoothing_level=alpha, optimized=False)
            np.testing.assert_allclose(collection_levels.smoothed(values, alpha), fit.level, atol=1e-10)
            errors.append(fit.sse)
        assert collection_levels.fit_alpha(values) == collection_levels.ALPHAS[int(np.argmin(errors))]


def test_the_alpha_follows_the_series():
    assert collection_levels.fit_alpha(np.arange(10.0)) == 1.0  # a straight line: the last value forecasts best
    noise = 5 + np.random.default_rng(0).normal(size=200)
    assert collection_levels.fit_alpha(noise) == 0.1  # noise about a level: smooth the most
    assert collection_levels.fit_alpha(np.array([3.0])) == 1.0


def test_a_panels_windows_are_anchored_at_the_level_of_their_last_input_by_hand():
    # alpha 0.5: levels 4, 2, 5, 3.5, 4.75; look_back 2, horizon 1.
    panel = PanelWindows([SERIES], 2, 1, relative=True, lags_as="timesteps", alphas=np.array([0.5]))
    inputs, targets = panel.take(np.arange(len(panel)))
    np.testing.assert_allclose(inputs[:, :, 0], [[4 - 2, 0 - 2], [0 - 5, 8 - 5], [8 - 3.5, 2 - 3.5]])
    np.testing.assert_allclose(targets, [[8 - 2], [2 - 5], [6 - 3.5]])
    # alpha 1 is the last value: the default anchor's windows.
    ones = PanelWindows([SERIES, SERIES[::-1]], 2, 2, True, "timesteps", alphas=np.ones(2)).take(np.arange(4))
    last = PanelWindows([SERIES, SERIES[::-1]], 2, 2, True, "timesteps").take(np.arange(4))
    for a, b in zip(ones, last):
        np.testing.assert_array_equal(a, b)


def test_the_origin_inputs_are_anchored_at_each_series_last_level_padded_or_not(compose_config):
    cfg = compose_config("data=collection", "data.path=x.csv", "framing=timesteps", "collection.normalise=window",
                         "collection.anchor=level")
    inputs, anchors = runs_collection.origin_inputs(cfg, [SERIES, np.array([1.0, 3.0])], 3,
                                                    alphas=np.array([0.5, 0.5]))
    np.testing.assert_allclose(anchors, [4.75, 2.0])  # [1, 3]: levels 1, 2
    np.testing.assert_allclose(inputs[:, :, 0], [[8 - 4.75, 2 - 4.75, 6 - 4.75], [1 - 2.0, 1 - 2.0, 3 - 2.0]])


def test_alphas_are_fitted_only_where_the_config_anchors_at_the_level(compose_config):
    level = compose_config("data=collection", "data.path=x.csv", "collection.normalise=window", "collection.anchor=level")
    last = compose_config("data=collection", "data.path=x.csv", "collection.normalise=window")
    series = [5 + np.random.default_rng(0).normal(size=200), np.arange(10.0)]
    np.testing.assert_array_equal(collection_levels.alphas_for(level, series), [0.1, 1.0])
    assert collection_levels.alphas_for(last, series) is None


def test_a_global_run_forecasts_from_the_level_and_reads_no_test_value(compose_config, monkeypatch):
    """A stub network forecasting no change: the forecast is the level of the training part, whatever the test."""
    cfg = compose_config("data=collection", "data.path=x.csv", "framing=timesteps", "framing.look_back=2",
                         "collection.normalise=window", "collection.anchor=level", "collection.log=false")
    seen = []

    def stub(cfg, spec, inputs, targets, origins, seed, jit_compile, *kept):
        seen.append(inputs.take(np.arange(len(inputs))))
        return np.zeros((len(origins), spec.outputs)), 1, 0.0

    monkeypatch.setattr(runs_collection, "_fit_predict", stub)
    train = 10 + np.random.default_rng(0).normal(size=40)
    results = []
    for test in (np.array([11.0, 10.0]), np.array([500.0, -3.0])):
        members = [Member("a", train, test, 1, "positions")]
        scales = [runs_collection.SeriesScale.fit(train, False)]
        results.append(runs_collection._forecast_global(cfg, members, scales, lambda text: None)[0][0])
    alpha = collection_levels.fit_alpha(train)  # the same on the scaled values: their errors scale alike
    assert alpha < 0.5
    level = collection_levels.smoothed(train, alpha)[-1]
    assert abs(level - train[-1]) > 0.1
    np.testing.assert_allclose(results[0], [level, level], rtol=1e-6)
    np.testing.assert_array_equal(results[0], results[1])
    for a, b in zip(*seen):
        np.testing.assert_array_equal(a, b)
    # The training windows carry the same anchors: each window's inputs and targets less its level.
    adjusted = scales[0].forward(train)
    expected = PanelWindows([adjusted], 2, 2, True, "timesteps", alphas=np.array([alpha])).take(np.arange(37))
    for a, b in zip(seen[0], expected):
        np.testing.assert_allclose(a, b, atol=1e-6)


def test_forecasts_past_the_horizon_keep_the_alpha_of_the_training_part(compose_config, monkeypatch):
    """Fed back as history, each block moves the level with the series' own alpha (0.5 here), not a refitted one."""
    from lstmts.models import network
    from lstmts.runs import collection_future

    cfg = compose_config("data=collection", "data.path=x.csv", "framing=timesteps", "collection.normalise=window",
                         "collection.anchor=level")
    monkeypatch.setattr(network, "forward", lambda model: lambda inputs: np.ones((len(inputs), 2)))
    paths = collection_future._recursive(cfg, [("net", 2, 2)], [SERIES], 4, alphas=np.array([0.5]))
    # Level 4.75 -> block 5.75, 5.75; levels 5.25, 5.5 -> block 6.5, 6.5.
    np.testing.assert_allclose(paths[0], [5.75, 5.75, 6.5, 6.5])
    last = collection_future._recursive(cfg, [("net", 2, 2)], [SERIES], 4)
    np.testing.assert_allclose(last[0], [7.0, 7.0, 8.0, 8.0])  # without alphas: the last value's anchor


@pytest.mark.parametrize(("overrides", "message"), [
    (["collection.anchor=mean"], "collection.anchor='mean' is unknown; use last or level"),
    (["collection.anchor=level", "collection.normalise=series"], "collection.anchor=level anchors the windows"),
    (["collection=local", "+collection.anchor=level"], "collection.anchor=level anchors the windows"),
])
def test_an_impossible_anchor_is_one_line(compose_config, overrides, message):
    from lstmts.config import validate

    with pytest.raises(UserError, match=message):
        validate(compose_config("data=collection", "data.path=x.csv", *overrides))


def test_a_runs_forecast_past_its_data_smooths_with_the_alphas_of_the_training_parts(compose_config, monkeypatch):
    """`lstmts forecast` without --refit: the test part shifts the level, but the alpha stays the training part's."""
    from lstmts.models import network
    from lstmts.runs import collection_future

    cfg = compose_config("data=collection", "data.path=x.csv", "framing=timesteps", "collection.normalise=window",
                         "collection.anchor=level", "collection.log=false")
    rng = np.random.default_rng(1)
    # The network was trained on 30 values of noise; the series has since gone on to 40 (a climb), then 4 at 30.
    train = np.concatenate([10 + rng.normal(size=30), 10 + np.arange(1.0, 11.0)])
    trained = Member("a", train[:30], train[30:], 1, "positions")
    member = Member("a", train, np.full(4, 30.0), 1, "positions")
    monkeypatch.setattr(collection_future, "_network", lambda cfg, about, arrays, number: "net")
    monkeypatch.setattr(network, "forward", lambda model: lambda inputs: np.zeros((len(inputs), 2)))  # no change
    about = [{"frequency": "all", "look_back": 3, "outputs": 2}]
    forecast = collection_future.forecast_with(cfg, about, {}, [member], [trained], 3)[0]
    scale = runs_collection.series_scale(cfg, trained)
    whole = scale.forward(np.concatenate([train, member.test]))
    alpha = collection_levels.fit_alpha(scale.forward(train[:30]))
    # Fitted on the later values, or on the whole history, the alpha would be another.
    assert alpha not in (collection_levels.fit_alpha(scale.forward(train)), collection_levels.fit_alpha(whole))
    np.testing.assert_allclose(forecast, np.full(3, scale.inverse(collection_levels.smoothed(whole, alpha)[-1:])[0]))
