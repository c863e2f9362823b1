"""Tests of lstmts.training: sample order, stateful resets, and the fast engine doing Keras' updates."""

from __future__ import annotations

import math

import numpy as np
import pytest

from lstmts.models.network import ModelSpec, build_model, reset_states
from lstmts.models.engines.fused import FusedEngine
from lstmts.models.engines.xla import Engine
from lstmts.models.training import fused_seconds, initial_weights, sample_orders, train, updates_per_epoch, uses_xla

SAMPLES = 20


@pytest.fixture(scope="module")
def data():
    """~20 random windows of 3 time steps and their targets, in [0, 1] like scaled data."""
    rng = np.random.default_rng(0)
    inputs = rng.random((SAMPLES, 3, 1)).astype(np.float32)
    targets = rng.random(SAMPLES).astype(np.float32)
    return inputs, targets


def _max_difference(first: list[np.ndarray], second: list[np.ndarray]) -> float:
    assert len(first) == len(second)
    return max(float(np.abs(a - b).max()) for a, b in zip(first, second))


# --- sample_orders --------------------------------------------------------------------------

def test_shuffled_orders_are_a_permutation_per_epoch():
    orders = sample_orders(10, 4, shuffle=True, seed=3)
    assert orders.shape == (4, 10)
    for order in orders:
        assert sorted(order.tolist()) == list(range(10))
    assert any(order.tolist() != list(range(10)) for order in orders)
    assert len({tuple(order) for order in orders}) > 1


def test_shuffled_orders_depend_on_the_seed_only():
    np.testing.assert_array_equal(sample_orders(30, 3, True, seed=5), sample_orders(30, 3, True, seed=5))
    assert not np.array_equal(sample_orders(30, 3, True, seed=5), sample_orders(30, 3, True, seed=6))


def test_unshuffled_orders_visit_samples_in_time_order():
    np.testing.assert_array_equal(sample_orders(5, 2, shuffle=False, seed=5), [[0, 1, 2, 3, 4], [0, 1, 2, 3, 4]])


def test_updates_per_epoch_counts_a_partial_last_batch():
    assert updates_per_epoch(10, 1) == 10
    assert updates_per_epoch(10, 3) == 4
    assert updates_per_epoch(9, 3) == 3


# --- stateful models and their resets -------------------------------------------------------

def _state_values(model) -> list[np.ndarray]:
    return [np.asarray(state) for layer in model.layers if getattr(layer, "stateful", False) for state in layer.states]


@pytest.mark.parametrize("units", [(4,), (4, 4)], ids=["one_layer", "stacked"])
def test_reset_states_zeroes_every_lstm_state(keras, units):
    model = build_model(ModelSpec(units=units, time_steps=3, features=1, stateful=True, batch_size=1))
    assert len(_state_values(model)) == 2 * len(units)  # hidden and cell state of each layer
    model(np.full((1, 3, 1), 0.7, np.float32))
    assert all(np.abs(state).max() > 0 for state in _state_values(model))
    reset_states(model)
    assert all(not state.any() for state in _state_values(model))


def test_stateful_state_carries_from_one_batch_to_the_next_until_reset(keras):
    model = build_model(ModelSpec(units=(4,), time_steps=3, features=1, stateful=True, batch_size=1))
    batch = np.full((1, 3, 1), 0.7, np.float32)
    first = np.asarray(model(batch))
    second = np.asarray(model(batch))
    assert not np.allclose(first, second)
    reset_states(model)
    np.testing.assert_array_equal(np.asarray(model(batch)), first)


def test_stateless_model_gives_the_same_output_every_call(keras):
    model = build_model(ModelSpec(units=(4,), time_steps=3, features=1, stateful=False, batch_size=1))
    batch = np.full((1, 3, 1), 0.7, np.float32)
    np.testing.assert_array_equal(np.asarray(model(batch)), np.asarray(model(batch)))


@pytest.mark.parametrize(("lags_as_shape", "stateful"), [((1, 3), False), ((3, 1), False), ((3, 1), True)])
def test_build_model_input_and_output_shapes(keras, lags_as_shape, stateful):
    time_steps, features = lags_as_shape
    model = build_model(ModelSpec(units=(4,), time_steps=time_steps, features=features, stateful=stateful, batch_size=1))
    assert tuple(model.input_shape[1:]) == (time_steps, features)
    assert tuple(model.output_shape[1:]) == (1,)
    # LSTM(4) on F features: 4 gates of 4 units, input and recurrent kernels and bias; Dense(1).
    assert model.count_params() == 4 * 4 * (features + 4 + 1) + 4 + 1


# --- train() --------------------------------------------------------------------------------

def test_train_returns_one_loss_per_epoch_and_counts_updates(keras, data):
    inputs, targets = data
    spec = ModelSpec(units=(4,), time_steps=3, features=1, stateful=False, batch_size=3)
    trained = train(spec, inputs[:10], targets[:10], epochs=2, shuffle=True, seed=1, learning_rate=0.001, engine="fast")
    assert len(trained.losses) == 2
    assert all(math.isfinite(loss) and loss > 0 for loss in trained.losses)
    assert trained.updates == 2 * math.ceil(10 / 3)
    assert _max_difference(trained.model.get_weights(), initial_weights(spec, 1)) > 1e-4
    predictions = trained.predict(inputs[:10])
    assert predictions.shape == (10,)
    assert np.isfinite(predictions).all()


def test_initial_weights_depend_on_the_seed_only(keras):
    spec = ModelSpec(units=(4,), time_steps=3, features=1, stateful=False, batch_size=1)
    assert _max_difference(initial_weights(spec, 7), initial_weights(spec, 7)) == 0
    assert _max_difference(initial_weights(spec, 7), initial_weights(spec, 8)) > 0


@pytest.mark.parametrize(("jit_compile", "engine_class"), [(True, Engine), (False, FusedEngine)], ids=["xla", "fused"])
def test_a_second_run_reuses_the_compiled_epoch_and_repeats_the_first(keras, data, jit_compile, engine_class):
    inputs, targets = data
    # An architecture no other test uses, so that the first run must trace it.
    spec = ModelSpec(units=(3,), time_steps=3, features=1, stateful=False, batch_size=2)
    before = engine_class.trace_count
    first = train(spec, inputs, targets, epochs=2, shuffle=True, seed=4, learning_rate=0.001, jit_compile=jit_compile)
    first_weights = first.model.get_weights()
    traced = engine_class.trace_count
    assert traced > before
    second = train(spec, inputs, targets, epochs=2, shuffle=True, seed=4, learning_rate=0.001, jit_compile=jit_compile)
    assert engine_class.trace_count == traced
    # Same seed in a reused engine: nothing of the first run (Adam moments, step count) leaks in.
    np.testing.assert_allclose(second.losses, first.losses, rtol=0, atol=1e-7)
    assert _max_difference(second.model.get_weights(), first_weights) < 1e-7


@pytest.mark.parametrize(("jit_compile", "engine_class"), [(True, Engine), (False, FusedEngine)], ids=["xla", "fused"])
def test_a_growing_training_window_reuses_the_compiled_epoch_and_trains_as_a_fresh_engine(keras, data, jit_compile,
                                                                                          engine_class):
    # A backtest's refits train on one more sample per origin: one traced (and compiled) epoch serves them all.
    inputs, targets = data
    spec = ModelSpec(units=(5,), time_steps=3, features=1, stateful=False, batch_size=2)
    trained = {}
    for samples in (SAMPLES - 2, SAMPLES - 1, SAMPLES):
        first = train(spec, inputs[:samples], targets[:samples], epochs=2, shuffle=True, seed=4, learning_rate=0.01,
                      jit_compile=jit_compile)
        trained[samples] = (first.losses, first.model.get_weights())
        if samples == SAMPLES - 2:
            traced = engine_class.trace_count
    assert engine_class.trace_count == traced
    fresh = Engine(spec, 0.01, jit_compile=True) if jit_compile else FusedEngine(spec, 0.01)
    fresh.reset(initial_weights(spec, 4))
    losses = fresh.fit(inputs, targets, sample_orders(SAMPLES, 2, True, 4))
    np.testing.assert_allclose(losses, trained[SAMPLES][0], rtol=1e-6)
    assert _max_difference(fresh.model.get_weights(), trained[SAMPLES][1]) < 1e-6


@pytest.mark.parametrize("jit_compile", [True, False], ids=["xla", "fused"])
def test_stateful_fast_and_keras_engines_agree(keras, data, jit_compile):
    inputs, targets = data
    spec = ModelSpec(units=(4,), time_steps=3, features=1, stateful=True, batch_size=1)
    fast = train(spec, inputs, targets, epochs=2, shuffle=True, seed=5, learning_rate=0.001, engine="fast",
                 jit_compile=jit_compile)
    fast_weights, fast_predictions = fast.model.get_weights(), fast.predict(inputs)
    reference = train(spec, inputs, targets, epochs=2, shuffle=True, seed=5, learning_rate=0.001, engine="keras")
    np.testing.assert_allclose(fast.losses, reference.losses, rtol=1e-5)
    assert _max_difference(fast_weights, reference.model.get_weights()) < 1e-5
    np.testing.assert_allclose(fast_predictions, reference.predict(inputs), atol=1e-5)


# --- the fast engine makes the same updates as a plain Keras loop ---------------------------

def _keras_loop(keras, spec: ModelSpec, weights, inputs, targets, order) -> list[np.ndarray]:
    """One epoch the plain Keras way: train_on_batch per batch of `order`; return the weights."""
    model = build_model(spec)
    model.set_weights(weights)
    model.compile(optimizer=keras.optimizers.Adam(0.001), loss="mean_squared_error")
    reset_states(model)
    for start in range(0, len(order), spec.batch_size):
        batch = order[start:start + spec.batch_size]
        model.train_on_batch(inputs[batch], targets[batch].reshape(-1, 1))
    return model.get_weights()


@pytest.mark.parametrize(
    "spec",
    [
        ModelSpec(units=(4,), time_steps=3, features=1, stateful=False, batch_size=1),
        ModelSpec(units=(4,), time_steps=3, features=1, stateful=True, batch_size=1),
        ModelSpec(units=(4, 4), time_steps=3, features=1, stateful=True, batch_size=1),
        ModelSpec(units=(4,), time_steps=3, features=1, stateful=False, batch_size=3),  # partial last batch
    ],
    ids=["stateless", "stateful", "stacked_stateful", "stateless_batch3"],
)
@pytest.mark.parametrize("make_engine", [lambda spec: Engine(spec, 0.001, jit_compile=True),
                                         lambda spec: FusedEngine(spec, 0.001)], ids=["xla", "fused"])
def test_one_fast_epoch_equals_one_keras_epoch(keras, data, spec, make_engine):
    inputs, targets = data
    weights = initial_weights(spec, 11)
    order = sample_orders(SAMPLES, 1, shuffle=not spec.stateful, seed=11)
    engine = make_engine(spec)
    engine.reset(weights)
    engine.fit(inputs, targets, order)
    expected = _keras_loop(keras, spec, weights, inputs, targets, order[0])
    assert _max_difference(expected, weights) > 1e-3  # the epoch really moved the weights
    assert _max_difference(engine.model.get_weights(), expected) < 1e-5


def test_stateful_prediction_starts_from_zero_state_and_carries_it(keras, data):
    inputs, _ = data
    spec = ModelSpec(units=(4,), time_steps=3, features=1, stateful=True, batch_size=1)
    engine = Engine(spec, 0.001, jit_compile=True)
    engine.reset(initial_weights(spec, 2))
    engine.model(inputs[:1])  # leave some state behind
    predictions = engine.predict(inputs)
    reset_states(engine.model)
    expected = [float(np.asarray(engine.model(inputs[i:i + 1])).item()) for i in range(SAMPLES)]
    np.testing.assert_allclose(predictions, expected, atol=1e-6)


def test_fused_engine_follows_keras_over_many_epochs_with_two_time_steps_features_and_layers(keras):
    # Several epochs amplify any difference in the gate layout, the state carried between
    # batches or Adam's bias correction; two features and a stacked model test the packing.
    rng = np.random.default_rng(3)
    inputs = rng.random((12, 2, 2)).astype(np.float32)
    targets = rng.random(12).astype(np.float32)
    for spec in (ModelSpec(units=(3, 2), time_steps=2, features=2, stateful=False, batch_size=4),
                 ModelSpec(units=(3, 2), time_steps=2, features=2, stateful=True, batch_size=3)):
        weights = initial_weights(spec, 5)
        orders = sample_orders(12, 5, shuffle=not spec.stateful, seed=5)
        fused = FusedEngine(spec, 0.01)
        fused.reset(weights)
        fused_losses = fused.fit(inputs, targets, orders)
        xla = Engine(spec, 0.01, jit_compile=True)
        xla.reset(weights)
        xla_losses = xla.fit(inputs, targets, orders)
        assert _max_difference(fused.model.get_weights(), weights) > 1e-2
        assert _max_difference(fused.model.get_weights(), xla.model.get_weights()) < 1e-5
        np.testing.assert_allclose(fused_losses, xla_losses, rtol=1e-5)


def test_jit_compile_auto_compiles_only_when_the_fused_kernels_would_take_longer():
    one_step = ModelSpec(units=(4,), time_steps=1, features=1, stateful=False, batch_size=1)
    three_steps = ModelSpec(units=(4,), time_steps=3, features=1, stateful=True, batch_size=1)
    stacked = ModelSpec(units=(4, 4), time_steps=3, features=1, stateful=True, batch_size=1)
    assert not uses_xla("auto", 9_400, one_step)  # the tutorial's regression run
    assert uses_xla("auto", 9_200, three_steps) and uses_xla("auto", 9_200, stacked)
    assert uses_xla("auto", 100_000, one_step) and not uses_xla("auto", 1_000, stacked)
    assert fused_seconds(9_200, stacked) > fused_seconds(9_200, three_steps) > fused_seconds(9_200, one_step)
    assert uses_xla(True, 1, one_step) and not uses_xla(False, 10**9, stacked)
    # Batches of 4,096 rows x steps or more train faster on the fused kernels, however many updates.
    monthly = ModelSpec(units=(64,), time_steps=24, features=1, stateful=False, batch_size=256, outputs=24)
    assert not uses_xla("auto", 100_000, monthly) and uses_xla(True, 100_000, monthly)
    just_under = ModelSpec(units=(64,), time_steps=15, features=1, stateful=False, batch_size=273)
    assert 273 * 15 == 4095 and uses_xla("auto", 100_000, just_under)
    assert not uses_xla("auto", 100_000, ModelSpec(units=(4,), time_steps=16, features=1, stateful=False,
                                                       batch_size=256))  # 4,096 exactly
    with pytest.raises(ValueError, match="jit_compile='sometimes': use True, False or 'auto'"):
        uses_xla("sometimes", 1, one_step)


def test_fused_seconds_by_hand():
    two_layers = ModelSpec(units=(4, 4), time_steps=3, features=1, stateful=False, batch_size=1)
    # Per update: 40 µs + 10 µs x 3 time steps x 2 layers + 20 µs for the second layer = 120 µs.
    assert fused_seconds(1_000, two_layers) == pytest.approx(0.12)
    one_layer = ModelSpec(units=(4,), time_steps=5, features=1, stateful=False, batch_size=1)
    assert fused_seconds(2_000, one_layer) == pytest.approx(2_000 * (40e-6 + 10e-6 * 5))


def test_fused_lstm_layer_gradient_matches_the_lstm_equations(keras):
    # Keras' LSTM written out (gates i, f, c, o; input rows above recurrent rows in w), three steps.
    from lstmts.backend import load
    from lstmts.models.engines.fused import _lstm_layer_op

    _, tf = load()
    rng = np.random.default_rng(0)
    x = tf.constant(rng.normal(size=(3, 2, 2)).astype(np.float32))  # [time, batch, features]
    w = tf.Variable(rng.normal(size=(6, 16)).astype(np.float32))
    b = tf.Variable(rng.normal(size=(16,)).astype(np.float32))
    c0 = tf.constant(rng.normal(size=(2, 4)).astype(np.float32))
    h0 = tf.constant(rng.normal(size=(2, 4)).astype(np.float32))
    with tf.GradientTape() as tape:
        h, c = _lstm_layer_op(tf, 3, 4)(x, c0, h0, w, b)
        fused_loss = tf.reduce_sum(h[-1] ** 2) + tf.reduce_sum(h ** 3)
    fused = tape.gradient(fused_loss, [w, b])
    with tf.GradientTape() as tape:
        hidden, cell, outputs = h0, c0, []
        for step in range(3):
            i, f, g, o = tf.split(tf.matmul(tf.concat([x[step], hidden], 1), w) + b, 4, axis=1)
            cell = tf.sigmoid(f) * cell + tf.sigmoid(i) * tf.tanh(g)
            hidden = tf.sigmoid(o) * tf.tanh(cell)
            outputs.append(hidden)
        plain_loss = tf.reduce_sum(hidden ** 2) + tf.reduce_sum(tf.stack(outputs) ** 3)
    plain = tape.gradient(plain_loss, [w, b])
    np.testing.assert_allclose(float(fused_loss), float(plain_loss), rtol=1e-5)
    for ours, expected in zip(fused, plain):
        np.testing.assert_allclose(ours.numpy(), expected.numpy(), atol=1e-5)


def test_capacity_grows_in_powers_of_two_then_in_steps_of_65536():
    from lstmts.models.engines.base import capacity

    assert [capacity(n) for n in (1, 64, 65, 128, 129)] == [64, 64, 128, 128, 256]
    assert capacity(65536) == 65536 and capacity(65537) == 131072 and capacity(1_000_000) == 16 * 65536


class _Weights:
    """A stand-in model whose weights are the number of the epoch that last wrote them."""

    def __init__(self):
        self.epoch = 0

    def get_weights(self):
        return [np.array([self.epoch])]

    def set_weights(self, weights):
        self.epoch = int(weights[0][0])


def test_early_stopping_stops_after_patience_worse_epochs_and_keeps_the_best_weights():
    from lstmts.models.training import _EarlyStopping, _StopEarly

    planned = [5.0, 4.0, 3.0, 3.5, 3.0, 3.7, 1.0]  # epoch 3 is best; 4, 5 (a tie is no gain) and 6 are not
    model, validation_losses = _Weights(), []

    def report(epoch, loss):
        model.epoch = epoch + 1
        validation_losses.append(planned[epoch])

    early = _EarlyStopping(report, validation_losses, model, patience=3)
    with pytest.raises(_StopEarly):
        for epoch in range(len(planned)):
            early(epoch, 10.0 - epoch)
    assert epoch == 5 and early.best_epoch == 3
    assert early.restore() == [10.0, 9.0, 8.0, 7.0, 6.0, 5.0] and model.epoch == 3


def test_training_with_patience_keeps_the_best_validation_epochs_model(keras, data):
    inputs, targets = data
    spec = ModelSpec(units=(4,), time_steps=inputs.shape[1], features=1, stateful=False, batch_size=8)
    validation = (inputs[14:], targets[14:])
    trained = train(spec, inputs[:14], targets[:14], epochs=60, shuffle=True, seed=3, learning_rate=0.05,
                    validation=validation, patience=2)
    losses = trained.validation_losses
    assert trained.best_epoch == int(np.argmin(losses)) + 1
    assert len(trained.losses) == len(losses) == trained.best_epoch + 2 < 60  # it stopped early
    assert trained.updates == len(losses) * updates_per_epoch(14, 8)
    error = float(np.mean((trained.predict(validation[0]) - validation[1]) ** 2))
    assert error == pytest.approx(min(losses), rel=1e-5)


@pytest.mark.parametrize("jit_compile", [False, True])
def test_the_mae_loss_trains_the_same_in_the_fast_engines_and_keras(keras, jit_compile):
    rng = np.random.default_rng(4)
    inputs = rng.random((12, 3, 1)).astype(np.float32)
    targets = rng.random((12, 2)).astype(np.float32)
    spec = ModelSpec(units=(3,), time_steps=3, features=1, stateful=False, batch_size=4, outputs=2, loss="mae")
    fast = train(spec, inputs, targets, epochs=3, shuffle=False, seed=5, learning_rate=0.01, engine="fast",
                 jit_compile=jit_compile)
    reference = train(spec, inputs, targets, epochs=3, shuffle=False, seed=5, learning_rate=0.01, engine="keras")
    np.testing.assert_allclose(fast.losses, reference.losses, rtol=1e-5)
    assert _max_difference(fast.model.get_weights(), reference.model.get_weights()) < 1e-5
    # And it is not the squared error: the same network under mse moves elsewhere.
    squared = train(ModelSpec(**{**spec.__dict__, "loss": "mse"}), inputs, targets, epochs=3, shuffle=False, seed=5,
                    learning_rate=0.01, engine="fast", jit_compile=jit_compile)
    assert abs(squared.losses[0] - fast.losses[0]) > 1e-3


@pytest.mark.parametrize("make_engine", [lambda spec: Engine(spec, 0.001, jit_compile=True),
                                         lambda spec: FusedEngine(spec, 0.001)], ids=["xla", "fused"])
def test_an_epoch_of_a_subset_makes_the_updates_of_that_subset_only(keras, data, make_engine):
    """samples_per_epoch: the engines visit the first samples of each epoch's permutation, and no others."""
    inputs, targets = data
    spec = ModelSpec(units=(4,), time_steps=3, features=1, stateful=False, batch_size=2)
    weights = initial_weights(spec, 3)
    order = sample_orders(SAMPLES, 1, shuffle=True, seed=3, per_epoch=4)
    assert order.shape == (1, 4)
    engine = make_engine(spec)
    engine.reset(weights)
    engine.fit(inputs, targets, order)
    expected = _keras_loop(keras, spec, weights, inputs, targets, order[0])  # 2 batches of the 4 chosen samples
    assert _max_difference(engine.model.get_weights(), expected) < 1e-5


# --- quantile outputs -----------------------------------------------------------------------

@pytest.mark.parametrize("make_engine", [lambda spec: Engine(spec, 0.001, jit_compile=True),
                                         lambda spec: FusedEngine(spec, 0.001)], ids=["xla", "fused"])
def test_a_quantile_epoch_makes_the_updates_of_keras_with_the_pinball_loss(keras, make_engine):
    rng = np.random.default_rng(1)
    inputs = rng.random((12, 3, 1)).astype(np.float32)
    targets = rng.random((12, 2)).astype(np.float32)  # two steps
    quantiles = (0.1, 0.5, 0.975)
    spec = ModelSpec(units=(4,), time_steps=3, features=1, stateful=False, batch_size=4, outputs=6,
                     quantiles=quantiles)
    weights = initial_weights(spec, 3)
    engine = make_engine(spec)
    engine.reset(weights)
    order = sample_orders(12, 1, shuffle=True, seed=2)
    engine.fit(inputs, targets, order)
    taus = np.repeat(np.array(quantiles, np.float32), 2)  # quantile-major: q1 s1, q1 s2, q2 s1 ...

    def pinball(y_true, y_pred):
        errors = y_true - y_pred
        return keras.ops.mean(keras.ops.maximum(taus * errors, (taus - 1.0) * errors), axis=-1)

    model = build_model(spec)
    model.set_weights(weights)
    model.compile(optimizer=keras.optimizers.Adam(0.001), loss=pinball)
    for start in range(0, 12, 4):
        batch = order[0][start:start + 4]
        model.train_on_batch(inputs[batch], np.tile(targets[batch], (1, 3)))
    assert _max_difference(engine.model.get_weights(), model.get_weights()) < 1e-5


def test_quantile_outputs_learn_the_quantiles_of_the_targets(keras):
    # Targets 0, 1, ..., 99 whatever the input: the 0.1 and 0.9 quantiles are about 10 and 90 (scaled by 100).
    rng = np.random.default_rng(0)
    targets = (np.arange(400) % 100 / 100.0).astype(np.float32)[:, None]
    inputs = rng.random((400, 2, 1)).astype(np.float32)
    spec = ModelSpec(units=(2,), time_steps=2, features=1, stateful=False, batch_size=50, outputs=2,
                     quantiles=(0.1, 0.9))
    trained = train(spec, inputs, targets, epochs=300, shuffle=True, seed=1, learning_rate=0.02)
    low, high = np.median(np.asarray(trained.model(inputs)), axis=0)
    assert low == pytest.approx(0.10, abs=0.04) and high == pytest.approx(0.89, abs=0.04)


def test_quantile_outputs_need_the_fast_engine():
    spec = ModelSpec(units=(2,), time_steps=2, features=1, stateful=False, batch_size=4, outputs=2, quantiles=(0.1, 0.9))
    with pytest.raises(ValueError, match="fast engine"):
        train(spec, np.zeros((4, 2, 1)), np.zeros(4), epochs=1, shuffle=False, seed=0, learning_rate=0.01,
              engine="keras")


# --- losses on the series' own values ------------------------------------------------------------

def _own_value_columns(rng, rows, steps):
    """Targets with the smape and mase losses' columns: half the rows of log series, half of linear ones."""
    targets = rng.normal(scale=0.5, size=(rows, steps))
    weight = rng.uniform(0.5, 3.0, size=(rows, steps))
    level = rng.uniform(2.0, 6.0, size=(rows, steps))
    is_log = (np.arange(rows) % 2).astype(float)[:, None]
    log_scale = rng.uniform(0.1, 0.8, size=(rows, 1)) * is_log
    return np.concatenate([targets, weight, level * (1 - is_log), log_scale, is_log], axis=1).astype(np.float32)


@pytest.mark.parametrize("loss", ["smape", "mase"])
@pytest.mark.parametrize("make_engine", [lambda spec: Engine(spec, 0.001, jit_compile=True),
                                         lambda spec: FusedEngine(spec, 0.001)], ids=["xla", "fused"])
def test_an_epoch_on_the_series_own_values_makes_the_updates_of_keras_with_that_loss(keras, make_engine, loss):
    rng = np.random.default_rng(5)
    inputs = rng.random((12, 3, 1)).astype(np.float32)
    columns = _own_value_columns(rng, 12, 2)
    spec = ModelSpec(units=(4,), time_steps=3, features=1, stateful=False, batch_size=4, outputs=2, loss=loss)
    weights = initial_weights(spec, 3)
    engine = make_engine(spec)
    engine.reset(weights)
    order = sample_orders(12, 1, shuffle=True, seed=2)
    engine.fit(inputs, columns, order)

    def own_values_loss(y_true, y_pred):  # written out apart from engines.base, in Keras' ops
        ops = keras.ops
        t, weight, level = y_true[:, :2], y_true[:, 2:4], y_true[:, 4:6]
        log_scale, is_log = y_true[:, 6:7], y_true[:, 7:8]
        if loss == "smape":
            terms = is_log * 2 * ops.abs(ops.tanh(log_scale * (t - y_pred) / 2)) + (1 - is_log) * 2 * ops.abs(
                t - y_pred) / (ops.abs(level + t) + ops.abs(level + y_pred) + 1e-6)
        else:
            terms = weight * (is_log * ops.abs(ops.exp(log_scale * t) - ops.exp(log_scale * y_pred))
                              + (1 - is_log) * ops.abs(t - y_pred))
        return ops.mean(terms, axis=-1)

    model = build_model(spec)
    model.set_weights(weights)
    model.compile(optimizer=keras.optimizers.Adam(0.001), loss=own_values_loss)
    for start in range(0, 12, 4):
        batch = order[0][start:start + 4]
        model.train_on_batch(inputs[batch], columns[batch])
    assert _max_difference(engine.model.get_weights(), model.get_weights()) < 1e-5
    assert _max_difference(engine.model.get_weights(), weights) > 1e-4  # it trained


def test_losses_on_the_series_own_values_need_the_fast_engine():
    spec = ModelSpec(units=(2,), time_steps=2, features=1, stateful=False, batch_size=4, outputs=1, loss="smape")
    with pytest.raises(ValueError, match="smape loss trains with the fast engine"):
        train(spec, np.zeros((4, 2, 1)), np.zeros((4, 5)), epochs=1, shuffle=False, seed=0, learning_rate=0.01,
              engine="keras")


# --- learning-rate schedules ----------------------------------------------------------------

def test_the_cosine_schedule_by_hand():
    from lstmts.models.training import learning_rates

    assert learning_rates("constant", 0.01, 5) is None
    # Three epochs: the full rate, halfway down (0.1 + 0.9 / 2 = 0.55 of it), a tenth.
    np.testing.assert_allclose(learning_rates("cosine", 0.01, 3), [0.01, 0.0055, 0.001])
    # Five: cos(pi / 4) = 0.7071 at a quarter of the way.
    np.testing.assert_allclose(learning_rates("cosine", 1.0, 5)[1], 0.1 + 0.9 * (1 + np.sqrt(0.5)) / 2)
    np.testing.assert_allclose(learning_rates("cosine", 0.02, 1), [0.02])
    with pytest.raises(ValueError, match="unknown learning-rate schedule"):
        learning_rates("linear", 0.01, 3)


@pytest.mark.parametrize("jit_compile", [False, True], ids=["fused", "xla"])
def test_a_scheduled_training_makes_the_updates_of_keras_with_that_rate_each_epoch(keras, data, jit_compile):
    from lstmts.models.training import learning_rates

    inputs, targets = data
    spec = ModelSpec(units=(4,), time_steps=3, features=1, stateful=False, batch_size=5)
    rates = learning_rates("cosine", 0.01, 3)
    trained = train(spec, inputs, targets, epochs=3, shuffle=True, seed=4, learning_rate=0.01,
                    jit_compile=jit_compile, lr_schedule="cosine")
    orders = sample_orders(SAMPLES, 3, True, seed=4)
    model = build_model(spec)
    model.set_weights(initial_weights(spec, 4))
    optimizer = keras.optimizers.Adam(0.01)
    model.compile(optimizer=optimizer, loss="mean_squared_error")
    for rate, order in zip(rates, orders):
        optimizer.learning_rate.assign(rate)
        for start in range(0, SAMPLES, 5):
            batch = order[start:start + 5]
            model.train_on_batch(inputs[batch], targets[batch].reshape(-1, 1))
    assert _max_difference(trained.model.get_weights(), model.get_weights()) < 1e-5
    # The engine is kept for the next run of this architecture, which starts at the full rate again.
    again = train(spec, inputs, targets, epochs=3, shuffle=True, seed=4, learning_rate=0.01, jit_compile=jit_compile)
    constant = build_model(spec)
    constant.set_weights(initial_weights(spec, 4))
    constant.compile(optimizer=keras.optimizers.Adam(0.01), loss="mean_squared_error")
    for order in orders:
        for start in range(0, SAMPLES, 5):
            batch = order[start:start + 5]
            constant.train_on_batch(inputs[batch], targets[batch].reshape(-1, 1))
    assert _max_difference(again.model.get_weights(), constant.get_weights()) < 1e-5


def test_the_validation_error_of_a_multi_step_network_is_over_every_step(keras):
    rng = np.random.default_rng(3)
    inputs, targets = rng.random((16, 3, 1)).astype(np.float32), rng.random((16, 2)).astype(np.float32)
    held_inputs, held_targets = rng.random((5, 3, 1)).astype(np.float32), rng.random((5, 2))
    spec = ModelSpec(units=(3,), time_steps=3, features=1, stateful=False, batch_size=4, outputs=2)
    trained = train(spec, inputs, targets, epochs=2, shuffle=True, seed=1, learning_rate=0.01,
                    validation=(held_inputs, held_targets))
    outputs = np.asarray(trained.model(held_inputs))
    assert trained.validation_losses[-1] == pytest.approx(float(np.mean((outputs - held_targets) ** 2)), rel=1e-5)
    assert trained.validation_losses[-1] != pytest.approx(float(np.mean((outputs[:, 0] - held_targets[:, 0]) ** 2)))
