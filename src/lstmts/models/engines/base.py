"""What every engine shares: the epoch loop's bookkeeping, batch padding and prediction."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Protocol

import numpy as np

from lstmts.errors import TrainingDiverged, raise_stop_if_swallowed
from lstmts.models.network import ModelSpec, forward, forward_batches, reset_states

EpochCallback = Callable[[int, float], None]


def predict(model, spec: ModelSpec, inputs: np.ndarray, every_output: bool = False) -> np.ndarray:
    """Return one prediction per sample (the next value: the first output), in order, from a zero LSTM state.

    Stateful states carry across batches, as in Keras' predict with the training batch size.
    every_output: a stateless model's every output per sample, [samples, outputs].
    """
    reset_states(model)
    if not spec.stateful:
        outputs = np.asarray(forward(model)(np.asarray(inputs, np.float32))).reshape(len(inputs), -1)
        return outputs if every_output else outputs[:, 0]
    return predict_in_batches(forward_batches(model), inputs, spec.batch_size)


# Past this many rows capacities grow in steps of it, so that padding adds at most a few per cent.
_CAPACITY_STEP = 65536


def capacity(samples: int) -> int:
    """Return the row count a fit's arrays are padded to: the next power of two (at least 64), or of 65,536 rows.

    One traced (and compiled) epoch serves every sample count up to it, so a backtest whose
    training window grows by a value per origin compiles a handful of times instead of once per origin.
    """
    if samples > _CAPACITY_STEP:
        return -(-int(samples) // _CAPACITY_STEP) * _CAPACITY_STEP
    return max(64, 1 << (int(samples) - 1).bit_length())


def padded(array: np.ndarray, rows: int) -> np.ndarray:
    """Return `array` with zero rows appended up to `rows` (never read: the epoch visits real samples only)."""
    return np.concatenate([array, np.zeros((rows - len(array), *array.shape[1:]), array.dtype)])


class WindowSource(Protocol):
    """Training windows built on demand, so that a large panel never holds all of its windows at once."""

    def __len__(self) -> int:
        """Return how many windows there are."""

    def take(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Return (inputs [rows, time steps, features], targets [rows, outputs]) of these windows, in float32."""


def epoch_feed(tf, inputs, targets, orders: np.ndarray) -> Callable[[np.ndarray], tuple]:
    """Return feed(order) -> (x, y, order, samples): the tensors of one epoch's graph.

    Arrays (targets given) are padded to a capacity and uploaded once; each epoch's order indexes
    them. A WindowSource (targets None) builds each epoch's windows as it starts, in the epoch's
    order, so memory holds one epoch's windows rather than all of them: the graph then visits
    them in place. Both visit the same windows in the same order, so they train the same weights.
    """
    visited = orders.shape[1] if len(orders) else 0
    if targets is None:
        rows = capacity(visited)
        in_place = tf.constant(padded(np.arange(visited, dtype=np.int32), rows))
        count = tf.constant(visited, tf.int32)

        def feed_source(order):
            x, y = inputs.take(np.asarray(order))
            return (tf.constant(padded(np.asarray(x, np.float32), rows)),
                    tf.constant(padded(np.asarray(y, np.float32).reshape(len(y), -1), rows)), in_place, count)

        return feed_source
    samples = len(targets)
    rows = capacity(samples)
    x = tf.constant(padded(np.asarray(inputs, np.float32), rows))
    y = tf.constant(padded(np.asarray(targets, dtype=np.float32).reshape(samples, -1), rows))
    # The samples an epoch visits: all of them, or a random subset of each (training.sample_orders).
    count = tf.constant(visited if len(orders) else samples, tf.int32)

    def feed_arrays(order):
        return x, y, tf.constant(padded(np.asarray(order, np.int32), rows)), count

    return feed_arrays


def loss_terms(tf, spec: ModelSpec, targets, predictions):
    """Return each output's loss term [rows, outputs]: squared or absolute error, sMAPE, MASE or pinball loss.

    With spec.quantiles, targets [rows, steps] are compared with every quantile's block of
    predictions [rows, quantiles x steps]: tau * e for an error e = target - prediction above 0,
    (tau - 1) * e below, so that the minimiser is the tau-quantile.
    """
    if spec.quantiles:
        taus = tf.constant(np.repeat(np.asarray(spec.quantiles, np.float32), spec.outputs // len(spec.quantiles)))
        errors = tf.tile(targets, [1, len(spec.quantiles)]) - predictions
        return tf.maximum(taus * errors, (taus - 1.0) * errors)
    if spec.loss in OWN_VALUE_LOSSES:
        return _own_value_loss_terms(tf, spec.loss, spec.outputs, targets, predictions)
    errors = targets - predictions
    return tf.abs(errors) if spec.loss == "mae" else tf.square(errors)


# Losses measured on the series' own values rather than on the scaled ones the network sees. Their
# targets carry, after the `outputs` target columns, what gives the values back (loss_columns):
#   weight [outputs], level [outputs], log_scale [1], is_log [1].
OWN_VALUE_LOSSES = ("smape", "mase")


def loss_columns(outputs: int) -> int:
    """Return how many target columns the windows of a loss on own values carry for `outputs` forecast steps."""
    return 3 * outputs + 2


def _own_value_loss_terms(tf, loss: str, outputs: int, columns, predictions):
    """Return the sMAPE (as a fraction, 0..2) or the MASE term of every step, on the series' own values.

    A series' own value is v = G(shift + scale * (base + u)), G = exp (a log series) or the
    identity, u the value the network sees (its target t, its forecast p) and base what was taken
    off it (the window's anchor, the step's seasonal offset). Then, per step:
    - a log series: sMAPE = 2 |tanh(scale (t - p) / 2)| (base and shift cancel out), and the
      absolute error is exp(shift + scale * base) |exp(scale t) - exp(scale p)|;
    - otherwise: sMAPE = 2 |t - p| / (|level + t| + |level + p|), level = shift / scale + base,
      and the absolute error is scale |t - p|.
    `weight` holds the absolute error's factor over the series' in-sample seasonal naive error
    (MASE's scale), so that weight times the rest is MASE's term; `log_scale` is the log series'
    scale (0 otherwise). runs.collection_windows builds these columns.
    """
    targets = columns[:, :outputs]
    weight = columns[:, outputs:2 * outputs]
    level = columns[:, 2 * outputs:3 * outputs]
    log_scale, is_log = columns[:, 3 * outputs:3 * outputs + 1], columns[:, 3 * outputs + 1:]
    if loss == "smape":
        on_log = 2.0 * tf.abs(tf.tanh(log_scale * (targets - predictions) / 2.0))
        on_values = 2.0 * tf.abs(targets - predictions) / (tf.abs(level + targets) + tf.abs(level + predictions) + 1e-6)
        return is_log * on_log + (1.0 - is_log) * on_values
    # exp of a wild forecast would overflow; its error is enormous either way.
    grown = tf.exp(tf.minimum(log_scale * targets, 30.0)) - tf.exp(tf.minimum(log_scale * predictions, 30.0))
    return weight * (is_log * tf.abs(grown) + (1.0 - is_log) * tf.abs(targets - predictions))


def pad_to_batches(tf, order, batch_size: int):
    """Return (order padded with sample 0 to whole batches, the batch count, the padding rows)."""
    samples = order.shape[0]
    batches = -(-samples // batch_size)
    padding = batches * batch_size - samples
    return tf.concat([order, tf.zeros([padding], tf.int32)], axis=0), batches, padding


def scheduled(engine, learning_rates) -> Callable[[int], None] | None:
    """Return what sets `engine`'s learning rate before epoch k (learning_rates[k]); None without a schedule."""
    if learning_rates is None:
        return None
    return lambda index: engine.set_learning_rate(learning_rates[index])


def run_epochs(epoch: Callable[[np.ndarray], object], orders: np.ndarray,
               on_epoch: EpochCallback | None, before: Callable[[int], None] | None = None) -> list[float]:
    """Run `epoch(order)` for each row of `orders` (`before(index)` first); return the losses, stopping at a non-finite one."""
    losses = []
    for index, order in enumerate(orders):
        if before is not None:
            before(index)
        loss = float(epoch(order))
        raise_stop_if_swallowed()
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
    whole = math.ceil(samples / batch_size) * batch_size
    if whole > samples:
        filler = np.repeat(inputs[-1:], whole - samples, axis=0)
        inputs = np.concatenate([inputs, filler])
    batches = inputs.reshape(whole // batch_size, batch_size, *inputs.shape[1:]).astype(np.float32)
    return np.asarray(predict_batches(batches)).reshape(whole, -1)[:samples, 0]
