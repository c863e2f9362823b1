"""Refitting a configuration on every value of a series, with the training replaced by stub models.

What refit() decides is checked by hand: which samples it trains on (the stateful batch rule, the
differencing warm-up), that the transforms see every value, and that the forecast is the mean of
every seed's model.
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from lstmts.models import forecaster as forecaster_module
from lstmts.runs import runner


class OffsetStub:
    """Output: the window's last value plus an offset, which is the model's only weight."""

    def __init__(self, offset: float) -> None:
        self.offset = offset
        self.layers = []

    def __call__(self, windows):
        lags = np.asarray(windows, dtype="float64").reshape(len(windows), -1)
        return (lags[:, -1] + self.offset)[:, None]

    def get_weights(self):
        return [np.array(self.offset)]

    def set_weights(self, weights):
        self.offset = float(weights[0])


@pytest.fixture
def stub_training(monkeypatch):
    """Replace the training by one OffsetStub per seed (offsets 1, 3, 5, ...); return what it was given."""
    given = {}

    def train_repeats(cfg, prepared, progress, *, score=True, start_weights=None):
        given["prepared"] = prepared
        model = OffsetStub(0.0)
        for number in range(cfg.training.repeats):
            model.set_weights([np.array(1.0 + 2 * number)])  # one shared model, as the fast engines have
            yield cfg.seed + number, SimpleNamespace(model=model, updates=0), {}

    monkeypatch.setattr(runner, "_train_repeats", train_repeats)
    monkeypatch.setattr(forecaster_module, "forward", lambda model: model)
    return given


def _series(compose_config, tmp_path, *overrides):
    path = tmp_path / "series.csv"
    path.write_text("value\n" + "\n".join(str(v) for v in range(1, 21)) + "\n")  # 1 .. 20
    cfg = compose_config("data=csv", f"data.path={path}", "data.column=value", "framing.look_back=3", *overrides)
    return cfg, runner.prepare(cfg).series


def test_refit_forecasts_with_the_mean_of_every_seeds_model(compose_config, tmp_path, stub_training):
    cfg, series = _series(compose_config, tmp_path, "training.repeats=2", "protocol.transforms=[]")
    refitted = runner.refit(cfg, series)
    assert [float(w[0]) for w in refitted.weights] == [1.0, 3.0]
    # Offset 1: 20+1 = 21, 21+1 = 22; offset 3: 23, 26. Their mean: 22, 24.
    np.testing.assert_allclose(refitted.forecast(series.values, 2), [22.0, 24.0])
    # Every value is a training target once it has look_back values before it.
    assert stub_training["prepared"].windows["train"].target_index.tolist() == list(range(3, 20))


def test_refit_fits_the_transforms_on_every_value(compose_config, tmp_path, stub_training):
    cfg, series = _series(compose_config, tmp_path, "protocol.transforms=[minmax]")
    refitted = runner.refit(cfg, series)
    np.testing.assert_allclose(refitted.pipeline.transform(np.array([1.0, 20.0])), [0.0, 1.0])
    # The model adds 1 in scaled units, 19 passengers: 20 + 19 = 39.
    np.testing.assert_allclose(refitted.forecast(series.values, 1), [39.0])


@pytest.mark.parametrize("batch_size, first", [(1, 3), (4, 4), (5, 5), (17, 3)])
def test_a_stateful_refit_drops_the_oldest_samples_that_do_not_fill_a_batch(compose_config, tmp_path, stub_training,
                                                                             batch_size, first):
    cfg, series = _series(compose_config, tmp_path, "model=stateful", f"training.batch_size={batch_size}",
                          "protocol.transforms=[]")
    refitted = runner.refit(cfg, series)
    # Targets 3..19 are 17 samples; (17 % batch_size) of the oldest go.
    assert refitted.first_target == first
    index = stub_training["prepared"].windows["train"].target_index
    assert index.tolist() == list(range(first, 20))
    assert len(index) % batch_size == 0


def test_a_differenced_refit_starts_after_the_warmup(compose_config, tmp_path, stub_training):
    cfg, series = _series(compose_config, tmp_path, "protocol.transforms=[diff1]")
    refitted = runner.refit(cfg, series)
    assert refitted.first_target == 4
    assert stub_training["prepared"].windows["train"].target_index.tolist() == list(range(4, 20))
    # Changes are all 1; the model adds 1: the next change is 2, then 3.
    np.testing.assert_allclose(refitted.forecast(series.values, 2), [22.0, 25.0])


def test_a_direct_refit_keeps_every_target_row_inside_the_series(compose_config, tmp_path, stub_training):
    cfg, series = _series(compose_config, tmp_path, "framing.strategy=direct", "framing.horizon=3",
                          "protocol.transforms=[]")
    runner.refit(cfg, series)
    train = stub_training["prepared"].windows["train"]
    assert train.target_index.tolist() == list(range(3, 18))
    assert train.targets[-1].tolist() == [18.0, 19.0, 20.0]


def _short_series(compose_config, tmp_path, values: int, *overrides):
    path = tmp_path / "short.csv"
    path.write_text("value\n" + "\n".join(str(v) for v in range(1, values + 1)) + "\n")
    cfg = compose_config("data=csv", f"data.path={path}", "data.column=value", "protocol.transforms=[]", *overrides)
    from lstmts.data.series import load_series

    return cfg, load_series(cfg.data, tmp_path / "unused.csv")


def test_a_refit_needs_two_samples(compose_config, tmp_path, stub_training):
    from lstmts.errors import UserError

    cfg, series = _short_series(compose_config, tmp_path, 5, "framing.look_back=3")
    runner.refit(cfg, series)  # targets 3 and 4
    assert stub_training["prepared"].windows["train"].target_index.tolist() == [3, 4]
    cfg, series = _short_series(compose_config, tmp_path, 5, "framing.look_back=4")
    with pytest.raises(UserError, match="the series has 5 values, too few to refit framing.look_back=4"):
        runner.refit(cfg, series)
