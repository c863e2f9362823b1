"""What every engine shares: the epoch loop's bookkeeping, batch padding and prediction."""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from lstmts.errors import TrainingDiverged
from lstmts.models.network import ModelSpec, forward, forward_batches, reset_states

EpochCallback = Callable[[int, float], None]


def predict(model, spec: ModelSpec, inputs: np.ndarray) -> np.ndarray:
    """Return one prediction per sample (the next value: the first output), in order, from a zero LSTM state.

    Stateful states carry across batches, as in Keras' predict with the training batch size.
    """
    reset_states(model)
    if not spec.stateful:
        return np.asarray(forward(model)(np.asarray(inputs, np.float32))).reshape(len(inputs), -1)[:, 0]
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
    whole = math.ceil(samples / batch_size) * batch_size
    if whole > samples:
        filler = np.repeat(inputs[-1:], whole - samples, axis=0)
        inputs = np.concatenate([inputs, filler])
    batches = inputs.reshape(whole // batch_size, batch_size, *inputs.shape[1:]).astype(np.float32)
    return np.asarray(predict_batches(batches)).reshape(whole, -1)[:samples, 0]
