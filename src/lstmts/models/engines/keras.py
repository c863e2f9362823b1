"""The reference engine: Keras' own fit, as the tutorial trains (benchmarks and equivalence tests measure against it)."""

from __future__ import annotations

import numpy as np

from lstmts.backend import load
from lstmts.models.engines.base import EpochCallback
from lstmts.models.network import reset_states


def fit_like_tutorial(model, inputs, targets, *, epochs, batch_size, shuffle, stateful, learning_rate,
                      on_epoch: EpochCallback | None = None, loss: str = "mse") -> list[float]:
    """Train with Keras' own fit, as the tutorial does: one fit call per epoch with resets if stateful."""
    keras, _ = load()
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=learning_rate), loss="mean_absolute_error" if loss == "mae" else "mean_squared_error")
    targets = np.asarray(targets, dtype=np.float32).reshape(len(targets), -1)
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
