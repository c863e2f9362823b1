"""Tests of lstmts.framing: which series indices become targets, and the windows built for them."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from lstmts.errors import UserError
from lstmts.data.framing import make_windows, plan_periods, shape_inputs, target_range

TUTORIAL = {"drop_last": True, "test_windows_inside_split": True}
HONEST = {"drop_last": False, "test_windows_inside_split": False}


# --- target_range ---------------------------------------------------------------------------

def test_target_range_needs_look_back_values_of_history_before_the_first_target():
    assert target_range(0, 10, 3, 0, drop_last=False).tolist() == [3, 4, 5, 6, 7, 8, 9]


def test_target_range_drop_last_loses_the_last_target_of_the_period():
    assert target_range(0, 10, 3, 0, drop_last=True).tolist() == [3, 4, 5, 6, 7, 8]


def test_target_range_takes_history_from_before_the_period_when_allowed():
    assert target_range(5, 10, 2, history_start=0, drop_last=False).tolist() == [5, 6, 7, 8, 9]
    assert target_range(5, 10, 2, history_start=5, drop_last=False).tolist() == [7, 8, 9]


def test_target_range_of_a_too_short_period_is_empty():
    assert target_range(0, 3, 3, 0, drop_last=True).tolist() == []
    assert target_range(0, 3, 3, 0, drop_last=False).tolist() == []


# --- shape_inputs / make_windows ------------------------------------------------------------

LAGS = np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])


def test_shape_inputs_lags_as_features_is_one_time_step_of_look_back_features():
    shaped = shape_inputs(LAGS, "features")
    assert shaped.shape == (2, 1, 3)
    assert shaped[1, 0].tolist() == [4.0, 5.0, 6.0]


def test_shape_inputs_lags_as_timesteps_is_look_back_time_steps_of_one_feature():
    shaped = shape_inputs(LAGS, "timesteps")
    assert shaped.shape == (2, 3, 1)
    assert shaped[1, :, 0].tolist() == [4.0, 5.0, 6.0]


def test_shape_inputs_rejects_an_unknown_layout():
    with pytest.raises(ValueError, match="lags_as"):
        shape_inputs(LAGS, "channels")


@pytest.mark.parametrize(("lags_as", "shape"), [("features", (3, 1, 3)), ("timesteps", (3, 3, 1))])
def test_make_windows_inputs_are_the_look_back_values_before_each_target(lags_as, shape):
    values = np.arange(10.0)
    windows = make_windows(values, np.array([3, 4, 9]), look_back=3, lags_as=lags_as)
    assert windows.inputs.shape == shape
    assert windows.inputs.dtype == np.float32
    assert windows.inputs.reshape(3, 3).tolist() == [[0, 1, 2], [1, 2, 3], [6, 7, 8]]
    assert windows.targets.tolist() == [3.0, 4.0, 9.0]
    assert windows.target_index.tolist() == [3, 4, 9]
    assert len(windows) == 3


def test_make_windows_of_the_direct_strategy_hold_the_next_outputs_values_as_targets():
    values = np.arange(10.0) * 10
    windows = make_windows(values, np.array([2, 5]), look_back=2, lags_as="timesteps", outputs=3)
    assert windows.inputs.reshape(2, 2).tolist() == [[0, 10], [30, 40]]
    assert windows.targets.tolist() == [[20, 30, 40], [50, 60, 70]]
    assert windows.targets.dtype == np.float32


# --- plan_periods: the tutorial's protocol and the honest one -------------------------------

@pytest.mark.parametrize(("look_back", "train_samples", "test_samples"), [(1, 94, 46), (3, 92, 44)])
def test_tutorial_protocol_reproduces_the_off_by_one(look_back, train_samples, test_samples):
    periods = plan_periods(144, look_back, 0.67, **TUTORIAL)
    assert periods.split == 96
    assert len(periods.train) == train_samples
    assert len(periods.test) == test_samples
    assert periods.train[0] == look_back
    assert periods.train[-1] == 94
    assert periods.test[0] == 96 + look_back
    assert periods.test[-1] == 142


@pytest.mark.parametrize("look_back", [1, 3])
def test_tutorial_protocol_targets_are_those_of_the_tutorial_loops(look_back):
    # The tutorial frames each split with `for i in range(len(split) - look_back - 1)`, target x[i + L].
    periods = plan_periods(144, look_back, 0.67, **TUTORIAL)
    assert periods.train.tolist() == [i + look_back for i in range(96 - look_back - 1)]
    assert periods.test.tolist() == [96 + i + look_back for i in range(48 - look_back - 1)]


@pytest.mark.parametrize("look_back", [1, 3])
def test_honest_protocol_scores_every_test_month(look_back):
    periods = plan_periods(144, look_back, 0.67, **HONEST)
    assert periods.test.tolist() == list(range(96, 144))
    assert periods.train.tolist() == list(range(look_back, 96))


def test_tutorial_test_windows_start_inside_the_test_split():
    values = np.arange(144.0)
    periods = plan_periods(144, 3, 0.67, **TUTORIAL)
    first = make_windows(values, periods.test, 3, "timesteps")
    assert first.inputs[0, :, 0].tolist() == [96.0, 97.0, 98.0]
    assert first.targets[0] == 99.0


def test_honest_test_windows_take_their_history_from_the_training_period():
    values = np.arange(144.0)
    periods = plan_periods(144, 3, 0.67, **HONEST)
    first = make_windows(values, periods.test, 3, "timesteps")
    assert first.inputs[0, :, 0].tolist() == [93.0, 94.0, 95.0]
    assert first.targets[0] == 96.0


def test_target_index_is_the_position_of_the_target_in_the_series():
    months = pd.date_range("1949-01-01", periods=144, freq="MS")
    periods = plan_periods(144, 1, 0.67, **TUTORIAL)
    windows = make_windows(np.arange(144.0), periods.test, 1, "features")
    assert months[periods.train[0]] == pd.Timestamp("1949-02-01")
    assert months[windows.target_index[0]] == pd.Timestamp("1957-02-01")
    assert months[windows.target_index[-1]] == pd.Timestamp("1960-11-01")
    # On np.arange the value of a target is its own index.
    assert windows.targets.tolist() == windows.target_index.astype(float).tolist()


def test_periods_with_validation_are_disjoint_and_in_time_order():
    periods = plan_periods(144, 3, 0.67, validation_fraction=0.2, **TUTORIAL)
    assert periods.train[-1] < periods.validation[0]
    assert periods.validation[-1] < periods.split <= periods.test[0]
    # The validation period is the last int(96 * 0.2) = 19 months of the training period.
    assert periods.validation[0] == 96 - 19


# --- a series too short to frame ------------------------------------------------------------

def _needed(message: str) -> int:
    return int(re.search(r"at least (\d+) values", message).group(1))


def test_too_short_series_names_its_length_and_the_minimum_by_hand():
    # n=7: split int(4.69)=4, train targets 1, 2, test target 5. n=6: split 4, no test target.
    with pytest.raises(UserError) as error:
        plan_periods(6, 1, 0.67, **TUTORIAL)
    message = str(error.value)
    assert "6 values" in message
    assert "framing.look_back=1" in message
    assert "test" in message
    assert _needed(message) == 7
    periods = plan_periods(7, 1, 0.67, **TUTORIAL)
    assert periods.train.tolist() == [1, 2]
    assert periods.test.tolist() == [5]


@pytest.mark.parametrize(
    "options",
    [
        {"look_back": 1, **TUTORIAL},
        {"look_back": 3, **TUTORIAL},
        {"look_back": 12, **TUTORIAL},
        {"look_back": 3, **HONEST},
        {"look_back": 3, "warmup": 12, **HONEST},
        {"look_back": 2, "warmup": 1, **TUTORIAL},
        {"look_back": 3, "validation_fraction": 0.2, **TUTORIAL},
    ],
)
def test_the_minimum_length_in_the_message_really_is_the_minimum(options):
    options = dict(options)
    look_back = options.pop("look_back")
    with pytest.raises(UserError) as error:
        plan_periods(5, look_back, 0.67, **options)
    needed = _needed(str(error.value))
    plan_periods(needed, look_back, 0.67, **options)
    with pytest.raises(UserError, match=f"has {needed - 1} values, too short .* at least {needed} values"):
        plan_periods(needed - 1, look_back, 0.67, **options)


def test_a_huge_look_back_names_the_length_it_needs_and_the_largest_look_back_that_fits():
    # Honest, n=144: split int(96.48)=96, train targets look_back..95, so look_back 95 at most.
    with pytest.raises(UserError) as error:
        plan_periods(144, 1_000_000, 0.67, **HONEST)
    message = str(error.value)
    assert "None" not in message and "framing.look_back=1000000" in message
    assert "or use a smaller framing.look_back: 95 at most" in message
    plan_periods(144, 95, 0.67, **HONEST)
    needed = _needed(message)  # int(0.67 n) must reach 1,000,001
    assert int(needed * 0.67) >= 1_000_001 > int((needed - 1) * 0.67)


def test_an_absurd_look_back_still_gets_a_number_of_values():
    with pytest.raises(UserError) as error:
        plan_periods(144, 10**30, 0.67, **TUTORIAL)
    assert _needed(str(error.value)) > 10**30


def test_a_series_too_short_for_any_look_back_does_not_offer_one():
    with pytest.raises(UserError) as error:
        plan_periods(2, 1, 0.67, **HONEST)
    assert "smaller framing.look_back" not in str(error.value)


# --- warmup (values that differencing leaves without a transformed value) -------------------

def test_warmup_values_are_neither_targets_nor_history():
    periods = plan_periods(144, 1, 0.67, warmup=12, **HONEST)
    assert periods.train[0] == 13
    assert periods.test.tolist() == list(range(96, 144))
    for targets in (periods.train, periods.test):
        assert (targets - 1 >= 12).all()


def test_warmup_does_not_move_the_tutorial_test_period():
    periods = plan_periods(144, 1, 0.67, warmup=12, **TUTORIAL)
    assert periods.train[0] == 13
    assert periods.test[0] == 97


# --- covariates ----------------------------------------------------------------------------

def _tiny_covariates():
    from lstmts.data.covariates import Scaled

    positions = np.arange(8.0)
    # Past-only p[k] = 100 + k; known-future f[k] = 200 + k, with one row beyond the series.
    return Scaled(past=(100 + positions)[:, None], future=(200 + np.arange(9.0))[:, None])


def test_covariates_as_time_steps_past_ones_up_to_the_origin_future_ones_up_to_the_target():
    values = 10 * np.arange(8.0)
    windows = make_windows(values, np.array([3, 5]), look_back=2, lags_as="timesteps", covariates=_tiny_covariates())
    # Target 3: time steps at positions 1 and 2 hold [value, past at the same position, future one later].
    expected = np.array([[[10, 101, 202], [20, 102, 203]],
                         [[30, 103, 204], [40, 104, 205]]], dtype=np.float32)
    np.testing.assert_array_equal(windows.inputs, expected)
    np.testing.assert_array_equal(windows.targets, [30, 50])


def test_covariates_as_features_follow_the_lags_one_covariate_after_the_other():
    values = 10 * np.arange(8.0)
    windows = make_windows(values, np.array([3, 7]), look_back=2, lags_as="features", covariates=_tiny_covariates())
    expected = np.array([[[10, 20, 101, 102, 202, 203]],
                         [[50, 60, 105, 106, 206, 207]]], dtype=np.float32)
    np.testing.assert_array_equal(windows.inputs, expected)


def test_no_covariates_frames_as_before():
    values = 10 * np.arange(8.0)
    plain = make_windows(values, np.array([3]), look_back=2, lags_as="features")
    np.testing.assert_array_equal(plain.inputs, [[[10, 20]]])
