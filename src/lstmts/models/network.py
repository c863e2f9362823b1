"""Building the Keras network from the model config."""

from __future__ import annotations

from dataclasses import dataclass

from lstmts.backend import load

# Unrolling short sequences gives the same maths with far fewer graph ops per update.
_UNROLL_MAX_TIME_STEPS = 64


@dataclass(frozen=True)
class ModelSpec:
    """Everything that fixes a network's architecture and input shape."""

    units: tuple[int, ...]
    time_steps: int
    features: int
    stateful: bool
    batch_size: int
    outputs: int = 1  # values forecast at once: 1, or the horizon of the direct strategy
    # What training minimises: mse (mean squared error, as the tutorial) or mae (mean absolute
    # error) on the scaled values; smape or mase on the series' own values (fast engine only: the
    # targets carry what gives them back, engines.base.loss_columns).
    loss: str = "mse"
    # Quantile outputs: the network forecasts each of these quantiles (outputs = steps x quantiles,
    # quantile-major) and training minimises their pinball loss instead of `loss`.
    quantiles: tuple[float, ...] = ()

    @property
    def input_shape(self) -> tuple[int, int]:
        return (self.time_steps, self.features)


def build_model(spec: ModelSpec):
    """Return an uncompiled keras.Model: LSTM layers (units each) then Dense(outputs)."""
    keras, _ = load()
    if spec.stateful:
        # A stateful LSTM keeps one state per batch row, so Keras needs the batch size fixed.
        inputs = keras.Input(batch_shape=(spec.batch_size, *spec.input_shape), name="window")
    else:
        inputs = keras.Input(shape=spec.input_shape, name="window")
    hidden = inputs
    unroll = spec.time_steps <= _UNROLL_MAX_TIME_STEPS
    for position, units in enumerate(spec.units):
        hidden = keras.layers.LSTM(
            units,
            stateful=spec.stateful,
            return_sequences=position < len(spec.units) - 1,
            unroll=unroll,
            name=f"lstm_{position + 1}",
        )(hidden)
    outputs = keras.layers.Dense(spec.outputs, name="forecast")(hidden)
    return keras.Model(inputs, outputs, name="lstmts")


_TRACED: dict[tuple[int, str], tuple] = {}


def _traced(model, kind: str, make):
    """Return the traced function `kind` of `model`, made once per model object."""
    key = (id(model), kind)
    if key not in _TRACED or _TRACED[key][0] is not model:
        _TRACED[key] = (model, make(load()[1]))
    return _TRACED[key][1]


def forward(model):
    """Return a traced inference pass of `model`, one per model object (a sweep reuses its models).

    Traced once for any number of rows: one eager Keras call costs about as much as the trace,
    and predictions, test paths and stateful windows make many calls.
    """
    def make(tf):
        rows = model.inputs[0].shape[0]  # fixed for a stateful model, None otherwise
        signature = [tf.TensorSpec((rows, *model.inputs[0].shape[1:]), tf.float32)]
        return tf.function(lambda x: model(x, training=False), input_signature=signature)

    return _traced(model, "forward", make)


def forward_batches(model):
    """Return a traced pass over [batches, rows, ...] in order, the LSTM state carrying across batches."""
    def make(tf):
        def run(batches):
            count = tf.shape(batches)[0]
            outputs = tf.TensorArray(tf.float32, size=count)
            for i in tf.range(count):
                outputs = outputs.write(i, model(batches[i], training=False))
            return outputs.stack()

        signature = [tf.TensorSpec((None, *model.inputs[0].shape), tf.float32)]
        return tf.function(run, input_signature=signature)

    return _traced(model, "batches", make)


def reset_states(model) -> None:
    """Set the state of every stateful LSTM layer of `model` back to zeros."""
    for layer in model.layers:
        if getattr(layer, "stateful", False):
            layer.reset_state()
