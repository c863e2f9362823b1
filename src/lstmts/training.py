"""The training loop: one optimizer update per batch, stateful resets, and the speed to do it fast.

`train` is the only entry point the runner uses. Three engines make the same updates:

- `fast` with XLA (`Engine`, `jit_compile=True`): each epoch is one XLA-compiled graph of the
  Keras training step in a loop over batches; an update costs microseconds after the compile.
- `fast` with fused kernels (`lstmts.fused.FusedEngine`, `jit_compile=False`): the same loop on
  TensorFlow's fused LSTM and Adam kernels, traced but not compiled; quicker for short runs,
  and lighter on memory. `jit_compile="auto"` picks between the two by the run's size.
- `keras`: the tutorial's way (`model.fit`, one call per epoch for stateful models), kept as
  the reference that benchmarks and equivalence tests measure the fast engines against.

Fast engines are kept per architecture and reused, with fresh weights, by later runs in the
same process (a sweep pays for tracing and compiling once).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from lstmts.backend import load
from lstmts.errors import TrainingDiverged
from lstmts.model import ModelSpec, build_model, forward, forward_batches, reset_states

EpochCallback = Callable[[int, float], None]


def sample_orders(samples: int, epochs: int, shuffle: bool, seed: int) -> np.ndarray:
    """Return [epochs, samples]: the order samples are visited in, a seeded permutation per epoch."""
    if not shuffle:
        return np.tile(np.arange(samples, dtype=np.int32), (epochs, 1))
    rng = np.random.default_rng(seed)
    return np.stack([rng.permutation(samples).astype(np.int32) for _ in range(epochs)])


def updates_per_epoch(samples: int, batch_size: int) -> int:
    """Return the number of optimizer updates in one epoch (a partial last batch counts)."""
    return math.ceil(samples / batch_size)


class Engine:
    """A model, its Keras Adam optimizer and its XLA-compiled epoch graph, reusable for one architecture."""

    trace_count = 0  # how many times any epoch graph was traced (a check against retracing)

    def __init__(self, spec: ModelSpec, learning_rate: float, jit_compile: bool) -> None:
        keras, tf = load()
        self.tf = tf
        self.spec = spec
        self.model = build_model(spec)
        self.optimizer = keras.optimizers.Adam(learning_rate=learning_rate)
        self.optimizer.build(self.model.trainable_variables)
        self._optimizer_start = [v.numpy() for v in self.optimizer.variables]
        self._epoch = tf.function(self._epoch_graph, jit_compile=jit_compile, autograph=False)

    def reset(self, weights: list[np.ndarray]) -> None:
        """Start afresh: set the weights, zero Adam's moments and step count, zero the LSTM states."""
        self.model.set_weights(weights)
        for variable, start in zip(self.optimizer.variables, self._optimizer_start):
            variable.assign(start)
        reset_states(self.model)

    def _step(self, x, y, index, weights):
        """One Adam update on the samples at `index`; zero-weight rows are padding and do not count."""
        tf = self.tf
        with tf.GradientTape() as tape:
            predictions = self.model(tf.gather(x, index), training=True)
            squared = tf.reduce_mean(tf.square(tf.gather(y, index) - predictions), axis=-1)
            # The mean squared error over the real samples of the batch, as Keras computes it.
            loss = tf.reduce_sum(squared * weights) / tf.reduce_sum(weights)
        gradients = tape.gradient(loss, self.model.trainable_variables)
        self.optimizer.apply(gradients, self.model.trainable_variables)
        return loss

    def _epoch_graph(self, x, y, order):
        """One epoch: an update per batch of `order`; returns the sample-weighted mean batch loss.

        A partial last batch is padded to the full batch size with zero-weight rows, so that one
        compiled step serves every batch (a second step shape would double the XLA compile time).
        """
        Engine.trace_count += 1
        tf = self.tf
        batch = self.spec.batch_size
        samples = order.shape[0]
        order, batches, padding = pad_to_batches(tf, order, batch)
        weights = tf.concat([tf.ones([samples]), tf.zeros([padding])], axis=0)

        def body(i, total):
            batch_weights = tf.slice(weights, [i * batch], [batch])
            loss = self._step(x, y, tf.slice(order, [i * batch], [batch]), batch_weights)
            return i + 1, total + loss * tf.reduce_sum(batch_weights)

        # An explicit loop: tracing without AutoGraph's source conversion is quicker.
        _, total = tf.while_loop(lambda i, _: i < batches, body, (tf.constant(0), tf.zeros((), tf.float32)))
        return total / samples

    def fit(self, inputs, targets, orders: np.ndarray, on_epoch: EpochCallback | None = None) -> list[float]:
        """Train one epoch per row of `orders`; return the loss of each epoch."""
        tf = self.tf
        x = tf.constant(inputs, tf.float32)
        y = tf.constant(np.asarray(targets, dtype=np.float32).reshape(-1, 1))

        def epoch(order):
            if self.spec.stateful:
                reset_states(self.model)
            return self._epoch(x, y, tf.constant(order, tf.int32))

        return run_epochs(epoch, orders, on_epoch)

    def predict(self, inputs: np.ndarray) -> np.ndarray:
        return predict(self.model, self.spec, inputs)


def predict(model, spec: ModelSpec, inputs: np.ndarray) -> np.ndarray:
    """Return one prediction per sample, in order, starting from a zero LSTM state.

    Stateful states carry across batches, as in Keras' predict with the training batch size.
    """
    reset_states(model)
    if not spec.stateful:
        return np.asarray(forward(model)(np.asarray(inputs, np.float32))).reshape(-1)
    return predict_in_batches(forward_batches(model), inputs, spec.batch_size)


def pad_to_batches(tf, order, batch_size: int):
    """Return (order padded with sample 0 to whole batches, the batch count, the padding rows)."""
    samples = order.shape[0]
    batches = -(-samples // batch_size)
    padding = batches * batch_size - samples
    return tf.concat([order, tf.zeros([padding], tf.int32)], axis=0), batches, padding


def run_epochs(epoch: Callable[[np.ndarray], object], orders: np.ndarray,
               on_epoch: EpochCallback | None) -> list[float]:
    """Run `epoch(order)` for each row of `orders`; return the losses, stopping at a non-finite one."""
    losses = []
    for index, order in enumerate(orders):
        loss = float(epoch(order))
        losses.append(loss)
        if on_epoch:
            on_epoch(index, loss)
        if not math.isfinite(loss):
            raise TrainingDiverged(
                f"training diverged: the loss became {loss} in epoch {index + 1};"
                f" lower training.learning_rate or check the data for extreme values"
            )
    return losses


def predict_in_batches(predict_batches, inputs: np.ndarray, batch_size: int) -> np.ndarray:
    """Pad inputs to whole batches, predict them in order, and drop the padding."""
    samples = len(inputs)
    padded = math.ceil(samples / batch_size) * batch_size
    if padded > samples:
        filler = np.repeat(inputs[-1:], padded - samples, axis=0)
        inputs = np.concatenate([inputs, filler])
    batches = inputs.reshape(padded // batch_size, batch_size, *inputs.shape[1:]).astype(np.float32)
    return np.asarray(predict_batches(batches)).reshape(-1)[:samples]


_ENGINES: dict[tuple, object] = {}

# training.jit_compile=auto picks the engine that finishes first, by the run's size. The fused
# kernels need no compile, but an update costs them about 40 µs plus 10 µs per time step and
# layer (and 20 µs per extra layer); XLA's updates cost 3-5 µs after a compile of 0.5-1 s
# (0.3 s from its cache). Measured with benchmarks/bench_training.py (scaling table and presets).
FUSED_SECONDS_PER_UPDATE = (40e-6, 10e-6, 20e-6)  # base, per time step and layer, per extra layer
XLA_COMPILE_SECONDS = 0.55


def fused_seconds(updates: int, spec: ModelSpec) -> float:
    """Return the fused engine's estimated training seconds for `updates` updates of `spec`."""
    base, per_step, per_layer = FUSED_SECONDS_PER_UPDATE
    layers = len(spec.units)
    return updates * (base + per_step * spec.time_steps * layers + per_layer * (layers - 1))


def uses_xla(jit_compile: bool | str, updates: int, spec: ModelSpec) -> bool:
    """Resolve training.jit_compile (true, false or auto) for a run of `updates` updates of `spec`.

    auto takes XLA once the fused kernels would need longer than XLA's compile: the tutorial's
    regression and window runs (one time step) stay on the fused kernels, and under the
    tutorial script's memory; its time-step, stateful and stacked runs compile.
    """
    if jit_compile == "auto":
        return fused_seconds(updates, spec) >= XLA_COMPILE_SECONDS
    if isinstance(jit_compile, bool):
        return jit_compile
    raise ValueError(f"jit_compile={jit_compile!r}: use True, False or 'auto'")


def engine_for(spec: ModelSpec, learning_rate: float, jit_compile: bool, seed: int):
    """Return the process-wide engine for this architecture, reset to the initial weights of `seed`.

    jit_compile picks the XLA-compiled Keras step (Engine) or the fused kernels (FusedEngine).
    The first engine's own model is built right after seeding, so its weights already are that
    seed's initial weights; a reused engine gets them from a freshly built model.
    """
    key = (spec, float(learning_rate), bool(jit_compile))
    if key in _ENGINES:
        engine = _ENGINES[key]
        engine.reset(initial_weights(spec, seed))
        return engine
    load()[0].utils.set_random_seed(seed)
    if jit_compile:
        engine = Engine(spec, learning_rate, jit_compile=True)
    else:
        from lstmts.fused import FusedEngine

        engine = FusedEngine(spec, learning_rate)
    _ENGINES[key] = engine
    engine.reset(engine.model.get_weights())
    return engine


@dataclass
class Trained:
    """A trained model, its per-epoch losses, how many updates it took and how long."""

    model: object
    losses: list[float]
    updates: int
    seconds: float
    predict: Callable[[np.ndarray], np.ndarray]


def initial_weights(spec: ModelSpec, seed: int) -> list[np.ndarray]:
    """Return the weights a freshly built model gets with this seed (the same in every process)."""
    keras, _ = load()
    keras.utils.set_random_seed(seed)
    return build_model(spec).get_weights()


def train(
    spec: ModelSpec,
    inputs: np.ndarray,
    targets: np.ndarray,
    *,
    epochs: int,
    shuffle: bool,
    seed: int,
    learning_rate: float,
    engine: str = "fast",
    jit_compile: bool | str = "auto",
    on_epoch: EpochCallback | None = None,
) -> Trained:
    """Train a model of `spec` on (inputs, targets) and return it with its loss history.

    Stateful models never shuffle; their LSTM state is reset at the start of every epoch.
    """
    load()  # TensorFlow's import is start-up work, not training time
    shuffle = shuffle and not spec.stateful
    orders = sample_orders(len(targets), epochs, shuffle, seed)
    updates = epochs * updates_per_epoch(len(targets), spec.batch_size)
    start = time.perf_counter()
    if engine == "fast":
        fast = engine_for(spec, learning_rate, uses_xla(jit_compile, updates, spec), seed)
        losses = fast.fit(inputs, targets, orders, on_epoch)
        model, predict_fn = fast.model, fast.predict
    else:
        model = build_model(spec)
        model.set_weights(initial_weights(spec, seed))
        losses = fit_like_tutorial(model, inputs, targets, epochs=epochs, batch_size=spec.batch_size,
                                   shuffle=shuffle, stateful=spec.stateful, learning_rate=learning_rate,
                                   on_epoch=on_epoch)

        def predict_fn(samples: np.ndarray) -> np.ndarray:
            reset_states(model)
            return model.predict(samples, batch_size=spec.batch_size, verbose=0).reshape(-1)
    return Trained(model=model, losses=losses, updates=updates, seconds=time.perf_counter() - start, predict=predict_fn)


def fit_like_tutorial(model, inputs, targets, *, epochs, batch_size, shuffle, stateful, learning_rate,
                      on_epoch: EpochCallback | None = None) -> list[float]:
    """Train with Keras' own fit, as the tutorial does: one fit call per epoch with resets if stateful."""
    keras, _ = load()
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=learning_rate), loss="mean_squared_error")
    targets = np.asarray(targets, dtype=np.float32).reshape(-1, 1)
    losses: list[float] = []
    if stateful:
        for epoch in range(epochs):
            reset_states(model)
            history = model.fit(inputs, targets, epochs=1, batch_size=batch_size, shuffle=False, verbose=0)
            losses.append(float(history.history["loss"][0]))
            if on_epoch:
                on_epoch(epoch, losses[-1])
        return losses

    class _Report(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            losses.append(float(logs["loss"]))
            if on_epoch:
                on_epoch(epoch, losses[-1])

    model.fit(inputs, targets, epochs=epochs, batch_size=batch_size, shuffle=shuffle, verbose=0, callbacks=[_Report()])
    return losses
