"""Every engine (fast with XLA, fast with fused kernels, Keras' own fit) over batch sizes and shuffling.

Predictions are checked against the model called by hand: stateless row by row, stateful one batch
at a time from a zero state, the state carrying from each batch to the next, a partial last batch
padded and its padding dropped.
"""

from __future__ import annotations

import time

import numpy as np
import pytest

from lstmts.models.network import ModelSpec, reset_states
from lstmts.models.training import train

ENGINES = {"xla": {"engine": "fast", "jit_compile": True}, "fused": {"engine": "fast", "jit_compile": False},
           "keras": {"engine": "keras"}}


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(3)
    return rng.random((10, 2, 1)).astype(np.float32), rng.random(10).astype(np.float32)


def _train(spec: ModelSpec, inputs, targets, engine: str, shuffle: bool = False, seed: int = 1):
    return train(spec, inputs, targets, epochs=1, shuffle=shuffle, seed=seed, learning_rate=0.01, **ENGINES[engine])


def _by_hand_stateful(model, inputs: np.ndarray, batch_size: int) -> np.ndarray:
    """Return what a stateful model predicts batch after batch from a zero state (Keras' predict)."""
    reset_states(model)
    outputs = []
    for start in range(0, len(inputs), batch_size):
        batch = inputs[start:start + batch_size]
        rows = len(batch)
        if rows < batch_size:  # the fixed batch shape needs whole batches: pad, then drop the padding
            batch = np.concatenate([batch, np.repeat(batch[-1:], batch_size - rows, axis=0)])
        outputs.extend(np.asarray(model(batch, training=False))[:rows, 0])
    return np.asarray(outputs)


@pytest.mark.parametrize("engine", list(ENGINES))
@pytest.mark.parametrize("batch_size, predicted", [(1, 10), (2, 10), (4, 10), (4, 7)],
                         ids=["batch1", "batch2", "batch4", "batch4-partial"])
def test_stateful_prediction_goes_batch_by_batch_from_a_zero_state(keras, data, engine, batch_size, predicted):
    inputs, targets = data
    spec = ModelSpec(units=(3,), time_steps=2, features=1, stateful=True, batch_size=batch_size)
    trained = _train(spec, inputs[:8], targets[:8], engine)  # 8 training samples: whole batches
    trained.model(np.repeat(inputs[:1], batch_size, axis=0))  # leave a state behind
    predictions = trained.predict(inputs[:predicted])
    assert predictions.shape == (predicted,)
    expected = _by_hand_stateful(trained.model, inputs[:predicted], batch_size)
    np.testing.assert_allclose(predictions, expected, atol=1e-6)
    # The state really carries: predicting each window from a zero state gives other values.
    alone = []
    for window in inputs[:predicted]:
        reset_states(trained.model)
        alone.append(float(np.asarray(trained.model(np.repeat(window[None], batch_size, axis=0)))[0, 0]))
    assert np.abs(predictions - np.asarray(alone)).max() > 1e-4


@pytest.mark.parametrize("engine", list(ENGINES))
@pytest.mark.parametrize("batch_size", [1, 3])
def test_stateless_prediction_is_the_model_row_by_row(keras, data, engine, batch_size):
    inputs, targets = data
    spec = ModelSpec(units=(3,), time_steps=2, features=1, stateful=False, batch_size=batch_size)
    trained = _train(spec, inputs, targets, engine)
    expected = [float(np.asarray(trained.model(inputs[i:i + 1], training=False))[0, 0]) for i in range(len(inputs))]
    np.testing.assert_allclose(trained.predict(inputs), expected, atol=1e-6)


@pytest.mark.parametrize("engine", list(ENGINES))
def test_stateless_training_shuffles_when_asked_and_stateful_never(keras, data, engine):
    inputs, targets = data
    weights = {}
    for stateful in (False, True):
        spec = ModelSpec(units=(3,), time_steps=2, features=1, stateful=stateful, batch_size=1)
        for shuffle in (False, True):
            weights[stateful, shuffle] = [w.copy() for w in _train(spec, inputs, targets, engine, shuffle).model.get_weights()]
    # Ten single-sample Adam updates in another order end elsewhere.
    assert max(np.abs(a - b).max() for a, b in zip(weights[False, False], weights[False, True])) > 1e-5
    for a, b in zip(weights[True, False], weights[True, True]):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("engine", list(ENGINES))
def test_updates_count_a_partial_last_batch_and_losses_one_per_epoch(keras, data, engine):
    inputs, targets = data
    spec = ModelSpec(units=(3,), time_steps=2, features=1, stateful=False, batch_size=4)
    started = time.perf_counter()
    trained = train(spec, inputs, targets, epochs=3, shuffle=True, seed=2, learning_rate=0.01, **ENGINES[engine])
    assert 0 < trained.seconds <= time.perf_counter() - started
    assert trained.updates == 3 * 3  # 10 samples in batches of 4: 4 + 4 + 2
    assert len(trained.losses) == 3


@pytest.mark.parametrize("engine", list(ENGINES))
def test_validation_losses_are_the_mse_after_each_epoch_and_change_nothing(keras, data, engine):
    inputs, targets = data
    spec = ModelSpec(units=(3,), time_steps=2, features=1, stateful=False, batch_size=2)
    reported = []
    options = dict(epochs=2, shuffle=False, seed=6, learning_rate=0.01, **ENGINES[engine])
    watched = train(spec, inputs[:8], targets[:8], validation=(inputs[8:], targets[8:]),
                    on_epoch=lambda epoch, loss: reported.append((epoch, loss)), **options)
    assert [epoch for epoch, _ in reported] == [0, 1]
    assert [loss for _, loss in reported] == watched.losses
    assert len(watched.validation_losses) == 2
    last = np.mean((watched.predict(inputs[8:]) - targets[8:]) ** 2)
    assert watched.validation_losses[-1] == pytest.approx(last, rel=1e-5)
    assert watched.validation_losses[0] != pytest.approx(watched.validation_losses[1], rel=1e-6)
    watched_weights = [w.copy() for w in watched.model.get_weights()]
    plain = train(spec, inputs[:8], targets[:8], **options)
    assert plain.validation_losses == []
    for a, b in zip(watched_weights, plain.model.get_weights()):
        np.testing.assert_allclose(a, b, atol=1e-7)


def test_only_the_keras_engine_trains_with_keras_fit(keras, data, monkeypatch):
    from lstmts.models import training

    calls = []
    real = training.fit_like_tutorial
    monkeypatch.setattr(training, "fit_like_tutorial", lambda *args, **kwargs: calls.append(1) or real(*args, **kwargs))
    inputs, targets = data
    spec = ModelSpec(units=(3,), time_steps=2, features=1, stateful=False, batch_size=5)
    _train(spec, inputs, targets, "keras")
    assert calls == [1]
    _train(spec, inputs, targets, "fused")
    assert calls == [1]
