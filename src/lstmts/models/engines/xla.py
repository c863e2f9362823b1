"""The XLA engine: each epoch is one XLA-compiled graph of the Keras training step in a loop over batches."""

from __future__ import annotations

import numpy as np

from lstmts.backend import load
from lstmts.models.engines.base import (EpochCallback, epoch_feed, loss_terms, pad_to_batches, predict, run_epochs,
                                        scheduled)
from lstmts.models.network import ModelSpec, build_model, reset_states


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
        """Start afresh: set the weights, zero Adam's moments and step count, zero the LSTM states.

        The optimizer's variables include its learning rate, so a schedule's last rate goes too.
        """
        self.model.set_weights(weights)
        for variable, start in zip(self.optimizer.variables, self._optimizer_start):
            variable.assign(start)
        reset_states(self.model)

    def set_learning_rate(self, value: float) -> None:
        """Use this learning rate from the next epoch on (a schedule's step); Adam reads its variable in the graph."""
        self.optimizer.learning_rate.assign(float(value))

    def _step(self, x, y, index, weights):
        """One Adam update on the samples at `index`; zero-weight rows are padding and do not count."""
        tf = self.tf
        with tf.GradientTape() as tape:
            predictions = self.model(tf.gather(x, index), training=True)
            squared = tf.reduce_mean(loss_terms(tf, self.spec, tf.gather(y, index), predictions), axis=-1)
            # The mean squared error over the real samples of the batch, as Keras computes it.
            loss = tf.reduce_sum(squared * weights) / tf.reduce_sum(weights)
        gradients = tape.gradient(loss, self.model.trainable_variables)
        self.optimizer.apply(gradients, self.model.trainable_variables)
        return loss

    def _epoch_graph(self, x, y, order, samples):
        """One epoch: an update per batch of the first `samples` entries of `order`; returns the sample-weighted mean batch loss.

        x, y and order come padded to a capacity (engines.base.capacity), so that a backtest's refits on
        100, 101, 102 ... samples reuse one compiled program; the batch count follows `samples`.
        A partial last batch is padded to the full batch size with zero-weight rows, so that one
        compiled step serves every batch (a second step shape would double the XLA compile time).
        """
        Engine.trace_count += 1
        tf = self.tf
        batch = self.spec.batch_size
        order, _, _ = pad_to_batches(tf, order, batch)
        batches = (samples + batch - 1) // batch
        weights = tf.cast(tf.range(tf.shape(order)[0]) < samples, tf.float32)

        def body(i, total):
            batch_weights = tf.slice(weights, [i * batch], [batch])
            loss = self._step(x, y, tf.slice(order, [i * batch], [batch]), batch_weights)
            return i + 1, total + loss * tf.reduce_sum(batch_weights)

        # An explicit loop: tracing without AutoGraph's source conversion is quicker.
        _, total = tf.while_loop(lambda i, _: i < batches, body, (tf.constant(0), tf.zeros((), tf.float32)))
        return total / tf.cast(samples, tf.float32)

    def fit(self, inputs, targets, orders: np.ndarray, on_epoch: EpochCallback | None = None,
            learning_rates=None) -> list[float]:
        """Train one epoch per row of `orders`; return the loss of each epoch.

        inputs may be a WindowSource (targets None); learning_rates: one per epoch (a schedule), or None.
        """
        feed = epoch_feed(self.tf, inputs, targets, orders)

        def epoch(order):
            if self.spec.stateful:
                reset_states(self.model)
            return self._epoch(*feed(order))

        return run_epochs(epoch, orders, on_epoch, before=scheduled(self, learning_rates))

    def sync_model(self) -> None:
        """Nothing to do: the Keras model's own weights are the ones trained."""

    def predict(self, inputs: np.ndarray) -> np.ndarray:
        return predict(self.model, self.spec, inputs)
