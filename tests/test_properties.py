"""Properties of framing and transforms that hold for any series, checked on random ones (hypothesis)."""

from __future__ import annotations

import re

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
from hypothesis.extra.numpy import arrays

from lstmts.errors import UserError
from lstmts.data.framing import make_windows, plan_periods
from lstmts.data.transforms import Pipeline

TRANSFORMS = ["log", "diff1", "diff12", "minmax", "standard"]
EXAMPLES = settings(max_examples=50, deadline=None)


def positive_series(length: int):
    return arrays(np.float64, length, elements=st.floats(1.0, 1000.0, allow_nan=False, allow_infinity=False))


@st.composite
def framings(draw) -> dict:
    length = draw(st.integers(10, 80))
    return {
        "values": draw(positive_series(length)),
        "look_back": draw(st.integers(1, 6)),
        "train_fraction": draw(st.floats(0.3, 0.9)),
        "validation_fraction": draw(st.sampled_from([0.0, 0.0, 0.2, 0.35])),
        "drop_last": draw(st.booleans()),
        "test_windows_inside_split": draw(st.booleans()),
        "warmup": draw(st.sampled_from([0, 0, 1, 2, 12, 13])),
        "lags_as": draw(st.sampled_from(["features", "timesteps"])),
    }


def _plan(case: dict, length: int):
    return plan_periods(length, case["look_back"], case["train_fraction"],
                        validation_fraction=case["validation_fraction"], drop_last=case["drop_last"],
                        test_windows_inside_split=case["test_windows_inside_split"], warmup=case["warmup"])


@given(framings())
@EXAMPLES
def test_periods_and_windows_of_any_series(case):
    values, look_back = case["values"], case["look_back"]
    length = len(values)
    try:
        periods = _plan(case, length)
    except UserError as error:
        # Too short: the minimum the message names is more than it has, and enough.
        needed = int(re.search(r"at least (\d+) values", str(error)).group(1))
        assert needed > length
        _plan(case, needed)
        return
    split = int(length * case["train_fraction"])
    validation_start = split - int(split * case["validation_fraction"])
    bounds = {"train": (case["warmup"], validation_start), "validation": (validation_start, split),
              "test": (split, length)}
    previous_last = -1
    for name, (start, stop) in bounds.items():
        targets = getattr(periods, name)
        if not case["validation_fraction"] and name == "validation":
            assert len(targets) == 0
            continue
        assert len(targets) > 0, name
        assert np.all(np.diff(targets) == 1), name  # increasing, and no month skipped
        assert start <= targets[0] and targets[-1] < stop, name
        assert targets[0] > previous_last, name  # periods do not overlap and keep time order
        previous_last = targets[-1]
        history_start = split if name == "test" and case["test_windows_inside_split"] else case["warmup"]
        assert targets[0] == max(start, history_start + look_back), name
        windows = make_windows(values, targets, look_back, case["lags_as"])
        expected_shape = (len(targets), 1, look_back) if case["lags_as"] == "features" else (len(targets), look_back, 1)
        assert windows.inputs.shape == expected_shape
        assert windows.inputs.dtype == np.float32
        np.testing.assert_array_equal(windows.target_index, targets)
        lags = windows.inputs.reshape(len(targets), look_back)
        for row, target in zip(lags, targets):
            np.testing.assert_array_equal(row, values[target - look_back:target].astype(np.float32))
        np.testing.assert_array_equal(windows.targets, values[targets].astype(np.float32))
    # Every test month up to the end is scored, except the one the tutorial's off-by-one drops.
    assert periods.test[-1] == length - 1 - case["drop_last"]


@st.composite
def pipelines(draw) -> tuple[list[str], np.ndarray, int]:
    specs = draw(st.lists(st.sampled_from(TRANSFORMS), unique=True, max_size=len(TRANSFORMS)))
    warmup = Pipeline(specs).warmup
    length = draw(st.integers(warmup + 3, warmup + 60))
    values = draw(positive_series(length))
    prefix = draw(st.integers(warmup + 2, length))
    return specs, values, prefix


def _fitted(specs: list[str], values: np.ndarray, prefix: int) -> tuple[Pipeline, np.ndarray] | None:
    """Return the pipeline fitted on values[:prefix] and the transformed series, or None when log cannot apply."""
    pipeline = Pipeline(specs)
    try:
        pipeline.fit(values[:prefix])
        return pipeline, pipeline.transform(values)
    except UserError as error:
        # Only log can refuse a positive series: after a step that made some value <= 0.
        assert specs.index("log") > 0, specs
        assert "'log'" in str(error)
        return None


@given(pipelines())
@EXAMPLES
def test_inverse_of_transform_gives_back_the_series_at_every_target(case):
    specs, values, prefix = case
    fitted = _fitted(specs, values, prefix)
    if fitted is None:
        return
    pipeline, transformed = fitted
    warmup = pipeline.warmup
    assert np.isnan(transformed[:warmup]).all()
    targets = np.arange(warmup, len(values))
    assert np.isfinite(transformed[targets]).all()
    restored = pipeline.inverse(transformed[targets], targets, values)
    np.testing.assert_allclose(restored, values[targets], rtol=1e-9)


@given(pipelines(), st.data())
@EXAMPLES
def test_inverse_at_a_target_uses_no_value_from_the_target_on(case, data):
    specs, values, prefix = case
    fitted = _fitted(specs, values, prefix)
    if fitted is None:
        return
    pipeline, transformed = fitted
    target = data.draw(st.integers(pipeline.warmup, len(values) - 1))
    outputs = transformed[[target]] + 0.01  # a model output near the truth
    changed = values.copy()
    changed[target:] *= 1.5
    np.testing.assert_array_equal(pipeline.inverse(outputs, np.array([target]), changed),
                                  pipeline.inverse(outputs, np.array([target]), values))


@given(pipelines())
@EXAMPLES
def test_json_round_trip_gives_identical_transforms(case):
    specs, values, prefix = case
    fitted = _fitted(specs, values, prefix)
    if fitted is None:
        return
    pipeline, transformed = fitted
    loaded = Pipeline.from_json(pipeline.to_json())
    assert [step.spec for step in loaded.steps] == specs
    assert [step.state() for step in loaded.steps] == [step.state() for step in pipeline.steps]
    assert loaded.to_json() == pipeline.to_json()
    np.testing.assert_array_equal(loaded.transform(values), transformed)
    targets = np.arange(pipeline.warmup, len(values))
    np.testing.assert_array_equal(loaded.inverse(transformed[targets], targets, values),
                                  pipeline.inverse(transformed[targets], targets, values))


@pytest.mark.parametrize("specs", [["diff1", "log"], ["minmax", "log"], ["standard", "log"]])
def test_log_after_a_step_that_makes_values_non_positive_is_refused(specs):
    # Falling series: every change is negative; minmax maps the minimum to 0; standard centres on 0.
    values = np.linspace(100.0, 10.0, 30)
    with pytest.raises(UserError, match="'log'"):
        Pipeline(specs).fit(values[:20]).transform(values)
