"""The epoch loop on TensorFlow's fused LSTM and Adam kernels: no compile step, little memory.

XLA turns the Keras training step into one compiled program: the fastest per update (3-5 µs
for the tutorial's LSTM(4)), but the compile takes 0.5-1 s and about 120 MiB the first time, and
loading it from the cache still about 0.3 s and 40 MiB. This engine runs the same updates on
kernels TensorFlow ships: each LSTM layer's whole window is one `BlockLSTMV2` op (gates in Keras'
i, f, c, o order), its gradient one `BlockLSTMGradV2` op, and each Adam update one
`ResourceApplyAdam` op per weight, all inside one traced (not compiled) graph per epoch. An
update costs about 50 µs for an LSTM(4) on one time step (more for longer windows and stacked
layers), with nothing to compile: the better trade for short runs, such as the tutorial's
regression and window experiments (`training.jit_compile=auto` decides; see `lstmts.models.training.uses_xla`).

The weights are the Keras model's own, packed into the layout the kernels take (one matrix per
LSTM layer, its input kernel above its recurrent kernel) for the length of a `fit` and written
back at its end. Adam's hyper-parameters are read from `keras.optimizers.Adam`; the kernel
computes Keras' own update (the same moment updates and bias-corrected step, epsilon outside
the square root).
"""

from __future__ import annotations

import numpy as np

from lstmts.backend import load
from lstmts.models.engines.base import epoch_feed, loss_terms, pad_to_batches, predict, run_epochs, scheduled
from lstmts.models.network import ModelSpec, build_model, reset_states


def _lstm_layer_op(tf, time_steps: int, units: int):
    """Return f(sequence, c0, h0, w, b) -> (h, c) for one LSTM layer over a time-major sequence."""
    steps = tf.constant(time_steps, tf.int64)
    no_peephole = tf.zeros([units])

    # TensorFlow registers BlockLSTMV2's gradient with BlockLSTM's grad kernel, which reads the
    # gates in BlockLSTM's i, c, f, o layout; BlockLSTMGradV2 matches V2's i, f, c, o layout.
    @tf.custom_gradient
    def lstm_layer(sequence, c0, h0, w, b):
        kernel_inputs = dict(seq_len_max=steps, x=sequence, cs_prev=c0, h_prev=h0, w=w,
                             wci=no_peephole, wcf=no_peephole, wco=no_peephole, b=b)
        i, c, f, o, ci, co, h = tf.raw_ops.BlockLSTMV2(**kernel_inputs, cell_clip=0.0, use_peephole=False)

        def gradient(dh, dc):
            grads = tf.raw_ops.BlockLSTMGradV2(**kernel_inputs, i=i, cs=c, f=f, o=o, ci=ci, co=co, h=h,
                                               cs_grad=dc, h_grad=dh, use_peephole=False)
            return grads.x_grad, grads.cs_prev_grad, grads.h_prev_grad, grads.w_grad, grads.b_grad

        return (h, c), gradient

    return lstm_layer


class FusedEngine:
    """A model and its Adam state trained on fused kernels; reusable for one architecture."""

    trace_count = 0  # how many times any epoch graph was traced (a check against retracing)

    def __init__(self, spec: ModelSpec, learning_rate: float) -> None:
        keras, tf = load()
        self.tf = tf
        self.spec = spec
        self.model = build_model(spec)
        adam = keras.optimizers.Adam(learning_rate=learning_rate)
        self._hyper = (float(learning_rate), float(adam.beta_1), float(adam.beta_2), float(adam.epsilon))
        self._lstms = [layer for layer in self.model.layers if isinstance(layer, keras.layers.LSTM)]
        self._dense = self.model.layers[-1]
        self._weights = [tf.Variable(value) for value in self._packed()]
        self._m = [tf.Variable(tf.zeros_like(w), trainable=False) for w in self._weights]
        self._v = [tf.Variable(tf.zeros_like(w), trainable=False) for w in self._weights]
        self._step = tf.Variable(0, dtype=tf.int64, trainable=False)
        # A variable, so that a learning-rate schedule changes it between epochs without a new trace.
        self._learning_rate = tf.Variable(float(learning_rate), dtype=tf.float32, trainable=False)
        self._epoch = tf.function(self._epoch_graph, autograph=False)

    def _packed(self) -> list:
        """The model's weights as the kernels take them: [w, b] per LSTM layer, then the dense layer's."""
        tf = self.tf
        packed = []
        for layer in self._lstms:
            cell = layer.cell
            packed += [tf.concat([cell.kernel.value, cell.recurrent_kernel.value], axis=0), cell.bias.value]
        return packed + [self._dense.kernel.value, self._dense.bias.value]

    def _unpack(self) -> None:
        """Write the trained weights back into the Keras model."""
        for layer, w, b in zip(self._lstms, self._weights[0::2], self._weights[1::2]):
            inputs = layer.cell.kernel.shape[0]
            layer.cell.kernel.assign(w[:inputs])
            layer.cell.recurrent_kernel.assign(w[inputs:])
            layer.cell.bias.assign(b)
        self._dense.kernel.assign(self._weights[-2])
        self._dense.bias.assign(self._weights[-1])

    def reset(self, weights: list[np.ndarray]) -> None:
        """Start afresh: set the weights, zero Adam's moments and step count, zero the LSTM states."""
        self.model.set_weights(weights)
        for moments in (*self._m, *self._v):
            moments.assign(self.tf.zeros_like(moments))
        self._step.assign(0)
        self._learning_rate.assign(self._hyper[0])
        reset_states(self.model)

    def set_learning_rate(self, value: float) -> None:
        """Use this learning rate from the next epoch on (a schedule's step)."""
        self._learning_rate.assign(float(value))

    def _update(self, layers, inputs, targets, row_scale, states, hyper):
        """One Adam update on a batch [time, rows, features]; returns its loss and the end states.

        row_scale holds 1 / (real rows of the batch) for real rows and 0 for padding: the loss is
        then the mean squared error over the real rows, as Keras computes it (one output).
        """
        tf = self.tf
        learning_rate, beta_1, beta_2, epsilon = hyper
        with tf.GradientTape() as tape:
            sequence, ends = inputs, []
            for index, (layer, (c0, h0)) in enumerate(zip(layers, states)):
                h, c = layer(sequence, c0, h0, self._weights[2 * index], self._weights[2 * index + 1])
                if self.spec.stateful:
                    ends.append((c[-1], h[-1]))
                sequence = h
            predictions = tf.nn.bias_add(tf.matmul(sequence[-1], self._weights[-2]), self._weights[-1])
            # Keras' mean squared (or absolute, or pinball) error: the mean over the outputs, then over the real rows.
            errors = loss_terms(tf, self.spec, targets, predictions)
            loss = tf.reduce_sum(errors * row_scale) / self.spec.outputs
        gradients = tape.gradient(loss, self._weights)
        step = tf.cast(self._step + 1, tf.float32)
        beta_1_power, beta_2_power = tf.pow(beta_1, step), tf.pow(beta_2, step)
        updates = [
            tf.raw_ops.ResourceApplyAdam(
                var=w.handle, m=m.handle, v=v.handle, beta1_power=beta_1_power, beta2_power=beta_2_power,
                lr=learning_rate, beta1=beta_1, beta2=beta_2, epsilon=epsilon, grad=g,
            )
            for w, m, v, g in zip(self._weights, self._m, self._v, gradients)
        ]
        with tf.control_dependencies(updates):
            updates.append(self._step.assign_add(1))
        with tf.control_dependencies(updates):  # the next batch reads the updated weights
            return tf.identity(loss), tf.nest.map_structure(tf.identity, tuple(ends) if ends else states)

    def _epoch_graph(self, x, y, order, samples):
        """One epoch: an update per batch of the first `samples` entries of `order`; returns the sample-weighted mean batch loss.

        x, y and order come padded to a capacity (lstmts.models.engines.base.capacity), so that
        refits on a growing window reuse one traced graph. A partial last batch is padded with
        zero-weight rows. A stateful model carries each layer's end state to the next batch
        (without gradient, as Keras does) and starts the epoch from zeros; a stateless one starts
        every batch from zeros.
        """
        FusedEngine.trace_count += 1
        tf = self.tf
        batch = self.spec.batch_size
        order, _, _ = pad_to_batches(tf, order, batch)
        batches = (samples + batch - 1) // batch
        real = tf.cast(tf.range(tf.shape(order)[0]) < samples, tf.float32)
        sequence = tf.transpose(x, [1, 0, 2])  # time-major, as BlockLSTMV2 takes it
        hyper = (self._learning_rate.read_value(), *(tf.constant(value, tf.float32) for value in self._hyper[1:]))
        layers = [_lstm_layer_op(tf, self.spec.time_steps, layer.cell.units) for layer in self._lstms]
        zeros = tuple((tf.zeros([batch, layer.cell.units]),) * 2 for layer in self._lstms)

        def body(i, total, states):
            batch_rows = tf.slice(order, [i * batch], [batch])
            batch_real = tf.slice(real, [i * batch], [batch])
            rows = tf.reduce_sum(batch_real)  # real rows of this batch
            start = states if self.spec.stateful else zeros
            loss, ends = self._update(layers, tf.gather(sequence, batch_rows, axis=1), tf.gather(y, batch_rows),
                                      tf.reshape(batch_real / rows, [batch, 1]), start, hyper)
            return i + 1, total + loss * rows, ends

        _, total, _ = tf.while_loop(
            lambda i, *_: i < batches, body, (tf.constant(0), tf.zeros((), tf.float32), zeros), parallel_iterations=1
        )
        return total / tf.cast(samples, tf.float32)

    def fit(self, inputs, targets, orders: np.ndarray, on_epoch=None, learning_rates=None) -> list[float]:
        """Train one epoch per row of `orders`; return the loss of each epoch.

        inputs may be a WindowSource (targets None); learning_rates: one per epoch (a schedule), or None.
        """
        feed = epoch_feed(self.tf, inputs, targets, orders)
        for variable, value in zip(self._weights, self._packed()):
            variable.assign(value)
        try:
            return run_epochs(lambda order: self._epoch(*feed(order)), orders, on_epoch,
                              before=scheduled(self, learning_rates))
        finally:
            self._unpack()

    def sync_model(self) -> None:
        """Write the weights trained so far into the Keras model (between epochs, to evaluate it)."""
        self._unpack()

    def predict(self, inputs: np.ndarray) -> np.ndarray:
        return predict(self.model, self.spec, inputs)
