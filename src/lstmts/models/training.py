"""The training loop: one optimizer update per batch, stateful resets, and the speed to do it fast.

`train` is the only entry point the runner uses. Three engines make the same updates:

- `fast` with XLA (`engines.xla.Engine`, `jit_compile=True`): each epoch is one XLA-compiled graph of the
  Keras training step in a loop over batches; an update costs microseconds after the compile.
- `fast` with fused kernels (`engines.fused.FusedEngine`, `jit_compile=False`): the same loop on
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
from dataclasses import dataclass, field

import numpy as np

from lstmts.backend import load
from lstmts.models.engines.base import OWN_VALUE_LOSSES, EpochCallback, WindowSource
from lstmts.models.engines.base import predict as engine_predict
from lstmts.models.engines.keras import fit_like_tutorial
from lstmts.models.network import ModelSpec, build_model


def sample_orders(samples: int, epochs: int, shuffle: bool, seed: int, per_epoch: int | None = None) -> np.ndarray:
    """Return [epochs, samples]: the order samples are visited in, a seeded permutation per epoch.

    per_epoch: visit only that many samples an epoch (the first of each permutation: a fresh
    random subset every epoch), so that a huge panel trains for a bounded number of updates.
    """
    if not shuffle:
        return np.tile(np.arange(samples, dtype=np.int32), (epochs, 1))
    rng = np.random.default_rng(seed)
    count = samples if per_epoch is None else min(int(per_epoch), samples)
    return np.stack([rng.permutation(samples)[:count].astype(np.int32) for _ in range(epochs)])


# The cosine schedule ends at this share of the starting learning rate.
COSINE_FLOOR = 0.1


def learning_rates(schedule: str, learning_rate: float, epochs: int) -> np.ndarray | None:
    """Return the learning rate of each epoch under `schedule`; None for constant (the engine's own rate throughout).

    cosine: learning_rate * (f + (1 - f) (1 + cos(pi k / (epochs - 1))) / 2) for epoch k, f = COSINE_FLOOR:
    the full rate in the first epoch, f of it in the last.
    """
    if schedule in (None, "constant"):
        return None
    if schedule != "cosine":
        raise ValueError(f"unknown learning-rate schedule {schedule!r}")
    if epochs <= 1:
        return np.full(max(epochs, 0), float(learning_rate))
    phase = np.arange(epochs) / (epochs - 1)
    return learning_rate * (COSINE_FLOOR + (1 - COSINE_FLOOR) * (1 + np.cos(np.pi * phase)) / 2)


def updates_per_epoch(samples: int, batch_size: int) -> int:
    """Return the number of optimizer updates in one epoch (a partial last batch counts)."""
    return math.ceil(samples / batch_size)


_ENGINES: dict[tuple, object] = {}

# training.jit_compile=auto picks the engine that finishes first, by the run's size. The fused
# kernels need no compile, but an update costs them about 40 µs plus 10 µs per time step and
# layer (and 20 µs per extra layer); XLA's updates cost 3-5 µs after a compile of 0.5-1 s
# (0.3 s from its cache). Measured with benchmarks/bench_training.py (scaling table and presets).
FUSED_SECONDS_PER_UPDATE = (40e-6, 10e-6, 20e-6)  # base, per time step and layer, per extra layer
XLA_COMPILE_SECONDS = 0.55
# XLA's update grows with a batch's rows times its time steps much faster than the fused kernels'
# (python benchmarks/bench_engines.py, 2 cores): at 256 rows of 48 steps and 32 units an update
# took 34 ms compiled against 10 ms fused, at 128 x 48 17.7 against 6.3 ms, at 256 x 12 5.8
# against 7.9. Batches of this many rows x steps or more (a collection's monthly networks, not
# the tutorial's) train on the fused kernels.
XLA_MAX_STEP_ROWS = 4096
# XLA unrolls the time-step loop of a window of up to 64 steps: its compile grows with the steps, and
# some shapes update slowly. LSTMTS_CACHE=off python benchmarks/bench_engines.py --shapes ... (batch
# 32, 2 cores) measured the compile at 0.9 s for 3 steps, 2.1 s for 12, 4.4-6.7 s for 24, 7.4 s for
# 36, 14 s for 48-52 and 1.1 s for 104; an update at 48 steps and 16 units 11.3 ms against the
# fused kernels' 2.3 ms, at 52 steps and 32 units 3.6 against 3.1, at 104 steps 2.1 against 4.1.
# The automatic LSTM's candidates of these many steps (a weekly or half-hourly season's look_back)
# train on the fused kernels (search.auto.engine_settings).
XLA_UNROLLED_STEPS = range(13, 65)


def fused_seconds(updates: int, spec: ModelSpec) -> float:
    """Return the fused engine's estimated training seconds for `updates` updates of `spec`."""
    base, per_step, per_layer = FUSED_SECONDS_PER_UPDATE
    layers = len(spec.units)
    return updates * (base + per_step * spec.time_steps * layers + per_layer * (layers - 1))


def uses_xla(jit_compile: bool | str, updates: int, spec: ModelSpec) -> bool:
    """Resolve training.jit_compile (true, false or auto) for a run of `updates` updates of `spec`.

    auto takes XLA once the fused kernels would need longer than XLA's compile: the tutorial's
    regression and window runs (one time step) stay on the fused kernels, and under the
    tutorial script's memory; its time-step, stateful and stacked runs compile. Large batches of
    long windows (batch_size x time_steps of XLA_MAX_STEP_ROWS or more) stay on the fused
    kernels, whose updates are then the faster ones.
    """
    if jit_compile == "auto":
        small_batches = spec.batch_size * spec.time_steps < XLA_MAX_STEP_ROWS
        return small_batches and fused_seconds(updates, spec) >= XLA_COMPILE_SECONDS
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
        from lstmts.models.engines.xla import Engine

        engine = Engine(spec, learning_rate, jit_compile=True)
    else:
        from lstmts.models.engines.fused import FusedEngine

        engine = FusedEngine(spec, learning_rate)
    _ENGINES[key] = engine
    engine.reset(engine.model.get_weights())
    return engine


@dataclass
class Trained:
    """A trained model, its per-epoch losses (validation too, when given), how many updates it took and how long."""

    model: object
    losses: list[float]
    updates: int
    seconds: float
    predict: Callable[[np.ndarray], np.ndarray]
    validation_losses: list[float] = field(default_factory=list)
    best_epoch: int | None = None  # with early stopping: the epoch whose weights the model holds (1-based)


_INITIAL_WEIGHTS: dict[tuple, list[np.ndarray]] = {}


def initial_weights(spec: ModelSpec, seed: int) -> list[np.ndarray]:
    """Return the weights a freshly built model gets with this seed (the same in every process).

    Kept per (spec, seed): a backtest refits the same seed's model at every origin, and building
    a Keras model to read its weights costs more than some refits.
    """
    key = (spec, seed)
    if key not in _INITIAL_WEIGHTS:
        keras, _ = load()
        keras.utils.set_random_seed(seed)
        _INITIAL_WEIGHTS[key] = build_model(spec).get_weights()
    return [w.copy() for w in _INITIAL_WEIGHTS[key]]


def train(
    spec: ModelSpec,
    inputs: np.ndarray | WindowSource,
    targets: np.ndarray | None,
    *,
    epochs: int,
    shuffle: bool,
    seed: int,
    learning_rate: float,
    engine: str = "fast",
    jit_compile: bool | str = "auto",
    on_epoch: EpochCallback | None = None,
    validation: tuple[np.ndarray, np.ndarray] | None = None,
    start_weights: list[np.ndarray] | None = None,
    patience: int | None = None,
    samples_per_epoch: int | None = None,
    lr_schedule: str = "constant",
    schedule_epochs: int | None = None,
) -> Trained:
    """Train a model of `spec` on (inputs, targets) and return it with its loss history.

    Stateful models never shuffle; their LSTM state is reset at the start of every epoch. With
    `validation` (inputs, targets), the model's mean squared error on it is recorded after every
    epoch, on the same scale as the training loss; it does not change the training. With
    `start_weights`, training starts from them (fine-tuning) instead of the seed's initial weights.
    With a WindowSource for `inputs` (targets None), the fast engine builds each epoch's windows
    as the epoch starts (a large panel's windows are never all held at once); Keras takes them all.
    lr_schedule: constant, or cosine (learning_rates: from learning_rate down to a tenth of it),
    spread over `schedule_epochs` (default: epochs) of which the first `epochs` run.
    With `validation` of several steps (targets [samples, steps]), its error is over every output.
    """
    load()  # TensorFlow's import is start-up work, not training time
    if spec.quantiles and engine != "fast":
        raise ValueError("quantile outputs train with the fast engine only")
    if spec.loss in OWN_VALUE_LOSSES and engine != "fast":
        raise ValueError(f"the {spec.loss} loss trains with the fast engine only")
    rates = learning_rates(lr_schedule, learning_rate, max(epochs, schedule_epochs or 0))
    rates = None if rates is None else rates[:epochs]
    if rates is not None and engine != "fast":
        raise ValueError("a learning-rate schedule trains with the fast engine only")
    if targets is None and engine != "fast":
        inputs, targets = inputs.take(np.arange(len(inputs)))
    shuffle = shuffle and not spec.stateful
    orders = sample_orders(len(inputs), epochs, shuffle, seed, samples_per_epoch if engine == "fast" else None)
    updates = epochs * updates_per_epoch(orders.shape[1], spec.batch_size)
    validation_losses: list[float] = []
    report = on_epoch
    start = time.perf_counter()
    if engine == "fast":
        fast = engine_for(spec, learning_rate, uses_xla(jit_compile, updates, spec), seed)
        if start_weights is not None:
            fast.reset(start_weights)
        if validation is not None:
            report = _with_validation(on_epoch, validation, lambda x: engine_predict(fast.model, spec, x, every_output=True),
                                      validation_losses, fast.sync_model)
        if validation is not None and patience:
            early = _EarlyStopping(report, validation_losses, fast.model, int(patience))
            try:
                fast.fit(inputs, targets, orders, early, learning_rates=rates)
            except _StopEarly:
                pass
            losses = early.restore()
        else:
            losses = fast.fit(inputs, targets, orders, report, learning_rates=rates)
        model, predict_fn = fast.model, fast.predict
    else:
        model = build_model(spec)
        model.set_weights(start_weights if start_weights is not None else initial_weights(spec, seed))
        if validation is not None:
            report = _with_validation(on_epoch, validation, lambda x: engine_predict(model, spec, x, every_output=True),
                                      validation_losses)
        losses = fit_like_tutorial(model, inputs, targets, epochs=epochs, batch_size=spec.batch_size,
                                   shuffle=shuffle, stateful=spec.stateful, learning_rate=learning_rate,
                                   on_epoch=report, loss=spec.loss)

        def predict_fn(samples: np.ndarray) -> np.ndarray:
            # Keras' own predict cannot give a stateful model (fixed batch shape) a partial last batch.
            return engine_predict(model, spec, samples)
    if validation is not None and patience and engine == "fast":
        updates = len(losses) * updates_per_epoch(orders.shape[1], spec.batch_size)
        best_epoch = early.best_epoch
    else:
        best_epoch = None
    return Trained(model=model, losses=losses, updates=updates, seconds=time.perf_counter() - start, predict=predict_fn,
                   validation_losses=validation_losses, best_epoch=best_epoch)


class _StopEarly(Exception):
    """Raised between epochs by _EarlyStopping; never leaves train()."""


class _EarlyStopping:
    """An epoch callback that keeps the weights of the best validation epoch and stops after `patience` worse ones."""

    def __init__(self, report: EpochCallback, validation_losses: list[float], model, patience: int) -> None:
        self.report, self.validation_losses, self.model, self.patience = report, validation_losses, model, patience
        self.losses: list[float] = []
        self.best_epoch, self.best_loss, self.best_weights = 0, float("inf"), None

    def __call__(self, epoch: int, loss: float) -> None:
        self.losses.append(loss)
        self.report(epoch, loss)  # appends this epoch's validation error (and syncs the model's weights)
        latest = self.validation_losses[-1]
        if latest < self.best_loss:
            self.best_epoch, self.best_loss, self.best_weights = epoch + 1, latest, self.model.get_weights()
        elif epoch + 1 - self.best_epoch >= self.patience and np.isfinite(loss):
            raise _StopEarly

    def restore(self) -> list[float]:
        """Give the model its best epoch's weights; return the losses of the epochs that ran."""
        if self.best_weights is not None:
            self.model.set_weights(self.best_weights)
        return self.losses


def _with_validation(on_epoch, validation, predict_fn, validation_losses: list, sync=None) -> EpochCallback:
    """Return an epoch callback that first appends the validation MSE to `validation_losses`."""
    inputs, targets = validation
    targets = np.asarray(targets, dtype=np.float64).reshape(len(targets), -1)

    def report(epoch: int, loss: float) -> None:
        if sync is not None:
            sync()
        # The first outputs: one-step targets compare with a direct model's first step only.
        predictions = np.asarray(predict_fn(inputs)).reshape(len(targets), -1)[:, :targets.shape[1]]
        validation_losses.append(float(np.mean((predictions - targets) ** 2)))
        if on_epoch:
            on_epoch(epoch, loss)

    return report
