"""Recursive multi-step forecasts: each forecast becomes history for the next step.

Used twice: to score horizons 1..12 from every origin of the test period, and by
`lstmts forecast` to forecast beyond the end of the data from a saved run.
"""

from __future__ import annotations

import numpy as np

from lstmts.framing import shape_inputs
from lstmts.model import reset_states
from lstmts.transforms import Pipeline


class Forecaster:
    """A trained model with the transforms and framing it was trained with."""

    def __init__(self, model, pipeline: Pipeline, look_back: int, lags_as: str, stateful: bool, batch_size: int):
        self.model = model
        self.pipeline = pipeline
        self.look_back = look_back
        self.lags_as = lags_as
        self.stateful = stateful
        self.batch_size = batch_size
        from lstmts.backend import load

        _, tf = load()
        # One traced forward pass instead of an eager Keras call per window: a stateful path
        # makes hundreds of single-window calls.
        self._forward = tf.function(lambda x: model(x, training=False))

    def window(self, history: np.ndarray) -> np.ndarray:
        """Return the model input [time steps, features] that forecasts the value after `history`."""
        lags = self.pipeline.transform(history)[-self.look_back:]
        return shape_inputs(lags[None, :], self.lags_as)[0].astype(np.float32)

    def _outputs(self, windows: np.ndarray) -> np.ndarray:
        if not self.stateful:
            return np.asarray(self._forward(windows)).reshape(-1)
        outputs = []
        for window in windows:  # one window per call, in order: the LSTM state carries across
            batch = np.repeat(window[None], self.batch_size, axis=0)
            outputs.append(float(np.asarray(self._forward(batch)).reshape(-1)[0]))
        return np.asarray(outputs)

    def _next_values(self, histories: list[np.ndarray]) -> np.ndarray:
        outputs = self._outputs(np.stack([self.window(h) for h in histories]))
        return np.array([
            self.pipeline.inverse(np.array([out]), np.array([len(h)]), h)[0] for out, h in zip(outputs, histories)
        ])

    def _state(self) -> list:
        return [[s.numpy() for s in layer.states] for layer in self.model.layers if getattr(layer, "stateful", False)]

    def _set_state(self, saved: list) -> None:
        layers = [layer for layer in self.model.layers if getattr(layer, "stateful", False)]
        for layer, states in zip(layers, saved):
            for variable, value in zip(layer.states, states):
                variable.assign(value)

    def paths(self, values: np.ndarray, origins: np.ndarray, steps: int) -> np.ndarray:
        """Return [origins, steps]: from each origin o, forecasts of o, o+1, ... using values[:o] only.

        A stateful model starts from a zero state at the first origin and carries its state over
        the true windows between origins, as it did when predicting the test period.
        """
        values = np.asarray(values, dtype="float64")
        origins = np.asarray(origins, dtype=int)
        paths = np.empty((len(origins), steps))
        if not self.stateful:
            histories = [values[:o] for o in origins]
            for step in range(steps):
                paths[:, step] = self._next_values(histories)
                histories = [np.append(h, v) for h, v in zip(histories, paths[:, step])]
            return paths
        reset_states(self.model)
        for row, origin in enumerate(origins):
            saved = self._state()
            history = values[:origin]
            for step in range(steps):
                paths[row, step] = self._next_values([history])[0]
                history = np.append(history, paths[row, step])
            self._set_state(saved)
            self._outputs(self.window(values[:origin])[None])  # advance over the true window
        return paths

    def warm_up(self, values: np.ndarray, first_target: int) -> None:
        """Run a stateful model over the true windows of targets first_target..len(values)-1."""
        if not self.stateful:
            return
        reset_states(self.model)
        windows = np.stack([self.window(values[:t]) for t in range(first_target, len(values))])
        self._outputs(windows)

    def beyond(self, values: np.ndarray, steps: int, first_target: int) -> np.ndarray:
        """Return `steps` forecasts after the end of `values`."""
        values = np.asarray(values, dtype="float64")
        if not self.stateful:
            return self.paths(values, np.array([len(values)]), steps)[0]
        self.warm_up(values, first_target)
        history, forecasts = values, []
        for _ in range(steps):
            forecasts.append(self._next_values([history])[0])
            history = np.append(history, forecasts[-1])
        return np.asarray(forecasts)


def horizon_scores(paths: np.ndarray, origins: np.ndarray, values: np.ndarray, scored: np.ndarray,
                   horizons=(1, 3, 6, 12)) -> dict:
    """Return {horizon: RMSE} of the h-step forecasts whose target index is among `scored`."""
    scored_set = set(int(i) for i in scored)
    result = {}
    for horizon in horizons:
        if horizon > paths.shape[1]:
            continue
        pairs = [(paths[row, horizon - 1], values[o + horizon - 1]) for row, o in enumerate(origins)
                 if int(o + horizon - 1) in scored_set]
        if pairs:
            forecast, actual = np.array(pairs).T
            result[str(horizon)] = {"rmse": float(np.sqrt(np.mean((forecast - actual) ** 2))), "count": len(pairs)}
    return result
