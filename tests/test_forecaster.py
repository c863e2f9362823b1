"""Tests of lstmts.models.forecaster with stub models whose output is a known function of the window.

Every expected value is worked out by hand in the comments: the recursion feeds back its own
forecasts (not the true values), starts at the origin, undoes the transforms with the right history,
and a stateful model's state is carried over the right windows. No Keras: the stubs have the few
attributes a Forecaster uses (layers with states, a forward pass).
"""

from __future__ import annotations

import numpy as np
import pytest
from conftest import StubState

from lstmts.data.transforms import Pipeline
from lstmts.models import forecaster as forecaster_module
from lstmts.models.forecaster import Forecaster




class _Layer:
    def __init__(self, stateful: bool) -> None:
        self.stateful = stateful
        self.states = [StubState()]

    def reset_state(self) -> None:
        self.states[0].assign(0.0)


class LinearStub:
    """Stateless: output h (of `outputs`) is (h + 2) * last lag - (h + 1) * first lag, for every row.

    With one output that is 2 * last - first: a straight line through the window's two ends.
    """

    def __init__(self, outputs: int = 1) -> None:
        self.outputs = outputs
        self.layers = [_Layer(stateful=False)]
        self.calls = 0

    def __call__(self, windows: np.ndarray) -> np.ndarray:
        self.calls += 1
        lags = np.asarray(windows, dtype="float64").reshape(len(windows), -1)
        return np.stack([(h + 2) * lags[:, -1] - (h + 1) * lags[:, 0] for h in range(self.outputs)], axis=1)


class SummingStatefulStub:
    """Stateful: the state adds the window's last lag on every call, and the output is the new state.

    Like a stateful Keras model it takes exactly `batch_size` rows (the same window repeated).
    """

    def __init__(self, batch_size: int) -> None:
        self.batch_size = batch_size
        self.layers = [_Layer(stateful=True)]

    def __call__(self, windows: np.ndarray) -> np.ndarray:
        windows = np.asarray(windows, dtype="float64")
        assert len(windows) == self.batch_size, f"a stateful model takes {self.batch_size} rows, got {len(windows)}"
        assert np.all(windows == windows[:1]), "every row of a stateful batch is the one window"
        state = self.layers[0].states[0]
        state.assign(state.numpy() + windows[0].reshape(-1)[-1])
        return np.full((len(windows), 1), float(state.numpy()))


@pytest.fixture(autouse=True)
def stub_forward(monkeypatch):
    """The forward pass of a stub is the stub itself (no TensorFlow tracing)."""
    monkeypatch.setattr(forecaster_module, "forward", lambda model: model)


SQUARES = np.arange(8.0) ** 2  # 0 1 4 9 16 25 36 49
POWERS = 2.0 ** np.arange(8)  # 1 2 4 8 16 32 64 128


@pytest.mark.parametrize("lags_as", ["features", "timesteps"])
def test_recursive_paths_feed_back_their_own_forecasts_from_each_origin(lags_as):
    forecaster = Forecaster(LinearStub(), Pipeline([]), 2, lags_as, stateful=False, batch_size=1)
    # Origin 4 knows 0 1 4 9: 2*9-4 = 14, then 2*14-9 = 19, then 2*19-14 = 24.
    # Origin 5 knows .. 9 16: 2*16-9 = 23, then 2*23-16 = 30, then 2*30-23 = 37 (true: 25 36 49).
    paths = forecaster.paths(SQUARES, np.array([4, 5]), 3)
    np.testing.assert_array_equal(paths, [[14, 19, 24], [23, 30, 37]])


def test_one_step_paths_are_the_one_step_predictions():
    forecaster = Forecaster(LinearStub(), Pipeline([]), 2, "timesteps", stateful=False, batch_size=1)
    # From origin o: 2 * v[o-1] - v[o-2] = 2(o-1)^2 - (o-2)^2.
    origins = np.array([2, 3, 6, 7])
    np.testing.assert_array_equal(forecaster.paths(SQUARES, origins, 1)[:, 0],
                                  2 * (origins - 1) ** 2 - (origins - 2) ** 2)


def test_a_longer_look_back_uses_the_window_just_before_the_origin():
    forecaster = Forecaster(LinearStub(), Pipeline([]), 3, "timesteps", stateful=False, batch_size=1)
    # Origin 6 knows .. 9 16 25 (window of 3): 2*25 - 9 = 41; then window 16 25 41: 2*41 - 16 = 66.
    np.testing.assert_array_equal(forecaster.paths(SQUARES, np.array([6]), 2), [[41, 66]])


def test_a_differenced_recursion_adds_each_forecast_change_to_the_previous_forecast():
    forecaster = Forecaster(LinearStub(), Pipeline(["diff1"]), 2, "timesteps", stateful=False, batch_size=1)
    assert forecaster.history_needed == 3
    # Powers of two, origin 5 (knows 1 2 4 8 16): changes 4 8 -> 2*8-4 = 12, forecast 16+12 = 28;
    # changes 8 12 -> 16, forecast 28+16 = 44; changes 12 16 -> 20, forecast 44+20 = 64 (true: 32 64 128).
    np.testing.assert_array_equal(forecaster.paths(POWERS, np.array([5]), 3), [[28, 44, 64]])


def test_a_scaled_recursion_maps_each_forecast_back_to_original_units():
    pipeline = Pipeline(["minmax"]).fit(np.array([0.0, 10.0]))  # x -> x / 10
    forecaster = Forecaster(LinearStub(), pipeline, 2, "timesteps", stateful=False, batch_size=1)
    np.testing.assert_allclose(forecaster.paths(SQUARES, np.array([4, 5]), 3), [[14, 19, 24], [23, 30, 37]], rtol=1e-6)


def test_a_direct_model_gives_its_outputs_as_the_steps_and_continues_from_them():
    model = LinearStub(outputs=3)
    forecaster = Forecaster(model, Pipeline([]), 2, "timesteps", stateful=False, batch_size=1)
    # Origin 5 (9 16): h-th output (h+2)*16 - (h+1)*9 = 23, 30, 37. Steps 4 and 5 come from a second
    # call on the window of its own last two forecasts (30 37): 2*37-30 = 44, 3*37-2*30 = 51.
    np.testing.assert_array_equal(forecaster.paths(SQUARES, np.array([5]), 5), [[23, 30, 37, 44, 51]])
    assert model.calls == 2


def test_a_direct_differenced_model_undoes_each_step_on_the_one_before():
    forecaster = Forecaster(LinearStub(outputs=2), Pipeline(["diff1"]), 2, "timesteps", stateful=False, batch_size=1)
    # Powers of two, origin 5: changes 4 8 -> outputs 2*8-4 = 12 and 3*8-2*4 = 16: 16+12 = 28, 28+16 = 44.
    np.testing.assert_array_equal(forecaster.paths(POWERS, np.array([5]), 2), [[28, 44]])


def test_beyond_forecasts_after_the_last_value():
    forecaster = Forecaster(LinearStub(), Pipeline([]), 2, "timesteps", stateful=False, batch_size=1)
    # After 36 49: 2*49-36 = 62, 2*62-49 = 75, 2*75-62 = 88.
    np.testing.assert_array_equal(forecaster.beyond(SQUARES, 3, first_target=0), [62, 75, 88])


ONE_TO_TEN = np.arange(1.0, 11.0)


@pytest.mark.parametrize("batch_size", [1, 3])
def test_stateful_paths_start_from_zero_and_carry_the_state_over_the_true_windows(batch_size):
    forecaster = Forecaster(SummingStatefulStub(batch_size), Pipeline([]), 2, "timesteps", stateful=True,
                            batch_size=batch_size)
    forecaster.model.layers[0].states[0].assign(1000.0)  # left over from training: reset first
    # Origin 6 (window 5 6), state 0: state 6 -> forecast 6; window 6 6: state 12 -> 12. The state goes
    # back to 0 and moves over the true window 5 6: 6. Origin 7 (window 6 7): 6+7 = 13, window 7 13: 26.
    paths = forecaster.paths(ONE_TO_TEN, np.array([6, 7]), 2)
    np.testing.assert_array_equal(paths, [[6, 12], [13, 26]])
    # Last, the state moved over the true window of origin 7 (last lag 7): 6 + 7.
    assert float(forecaster.model.layers[0].states[0].numpy()) == 13


@pytest.mark.parametrize("batch_size", [1, 2])
def test_stateful_beyond_warms_up_from_the_first_target_to_the_end(batch_size):
    forecaster = Forecaster(SummingStatefulStub(batch_size), Pipeline([]), 2, "timesteps", stateful=True,
                            batch_size=batch_size)
    forecaster.model.layers[0].states[0].assign(1000.0)
    # Warm-up over the windows of targets 7 8 9, whose last lags are 7 8 9: state 24. Then the window
    # 9 10: state 34 -> forecast 34; window 10 34: state 68 -> 68.
    np.testing.assert_array_equal(forecaster.beyond(ONE_TO_TEN, 2, first_target=7), [34, 68])


def test_stateful_beyond_with_differencing_warms_up_on_changes():
    forecaster = Forecaster(SummingStatefulStub(1), Pipeline(["diff1"]), 2, "timesteps", stateful=True, batch_size=1)
    # Powers of two 1..128; changes (NaN) 1 2 4 8 16 32 64. Warm-up over targets 6 and 7: last changes
    # 16 and 32: state 48. Window of changes 32 64: state 112 -> 128 + 112 = 240.
    np.testing.assert_array_equal(forecaster.beyond(POWERS, 1, first_target=6), [240])


def test_windows_are_the_transformed_lags_before_each_tail_end():
    forecaster = Forecaster(LinearStub(), Pipeline(["diff1"]), 2, "features", stateful=False, batch_size=1)
    windows = forecaster.windows(np.array([[1.0, 2.0, 4.0], [4.0, 8.0, 16.0]]))
    assert windows.shape == (2, 1, 2) and windows.dtype == np.float32
    np.testing.assert_array_equal(windows[:, 0, :], [[1, 2], [4, 8]])
