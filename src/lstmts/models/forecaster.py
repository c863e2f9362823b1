"""Multi-step forecasts: recursive (each forecast becomes history for the next step) or direct (H at once).

With covariates, every step's window takes the known-future covariates at that step's target
time; past-only covariates are known up to the origin only, so a forecast that would need them
later (a recursive step after the first, or a direct model's second call) raises ValueError:
config validation refuses such a configuration first.

Used twice: for the paths that `lstmts.evaluation.horizons` scores from every origin of the test period, and by
`lstmts forecast` to forecast beyond the end of the data from a saved run.
"""

from __future__ import annotations

import numpy as np

from lstmts.data.framing import covariate_lags, shape_inputs
from lstmts.data.transforms import Pipeline
from lstmts.models.network import forward, reset_states


class Forecaster:
    """A trained model with the transforms and framing it was trained with."""

    def __init__(self, model, pipeline: Pipeline, look_back: int, lags_as: str, stateful: bool, batch_size: int,
                 covariates=None):
        self.model = model
        self.pipeline = pipeline
        self.look_back = look_back
        self.lags_as = lags_as
        self.stateful = stateful
        self.batch_size = batch_size
        self.covariates = covariates  # lstmts.data.covariates.Scaled, by series position; None without
        self._forward = forward(model)

    @property
    def history_needed(self) -> int:
        """Return how many past values one forecast needs: the window plus the differencing lags."""
        return self.look_back + self.pipeline.warmup

    def windows(self, tails: np.ndarray, targets: np.ndarray | None = None) -> np.ndarray:
        """Return model inputs [rows, time steps, features] forecasting the value after each tail row.

        `targets` are the series positions forecast (needed with covariates): row k's tail ends
        at targets[k] - 1.
        """
        lags = self.pipeline.transform(tails)[:, -self.look_back:]
        if self.covariates is None:
            return shape_inputs(lags, self.lags_as).astype(np.float32)
        past, future = covariate_lags(self._covariates_until(int(np.max(targets)) + 1), np.asarray(targets),
                                      self.look_back)
        return shape_inputs(lags, self.lags_as, past, future).astype(np.float32)

    def _covariates_until(self, positions: int):
        """Return the covariates with their rows padded with NaN up to `positions` (unknown values stay unknown)."""
        from dataclasses import replace

        def padded(rows: np.ndarray) -> np.ndarray:
            if len(rows) >= positions:
                return rows
            return np.concatenate([rows, np.full((positions - len(rows), rows.shape[1]), np.nan)])

        return replace(self.covariates, past=padded(self.covariates.past), future=padded(self.covariates.future))

    def _outputs(self, windows: np.ndarray) -> np.ndarray:
        """Return the model's outputs [rows, outputs] (transformed scale) for each window."""
        if not self.stateful:
            return np.asarray(self._forward(windows)).reshape(len(windows), -1)
        outputs = []
        for window in windows:  # one window per call, in order: the LSTM state carries across
            batch = np.repeat(window[None], self.batch_size, axis=0)
            outputs.append(np.asarray(self._forward(batch))[0].reshape(-1))
        return np.asarray(outputs)

    def _tails(self, values: np.ndarray, origins: np.ndarray) -> np.ndarray:
        needed = self.history_needed
        return np.stack([values[origin - needed:origin] for origin in origins])

    def _state(self) -> list:
        return [[s.numpy() for s in layer.states] for layer in self.model.layers if getattr(layer, "stateful", False)]

    def _set_state(self, saved: list) -> None:
        layers = [layer for layer in self.model.layers if getattr(layer, "stateful", False)]
        for layer, states in zip(layers, saved):
            for variable, value in zip(layer.states, states):
                variable.assign(value)

    def _roll(self, tails: np.ndarray, steps: int, origins: np.ndarray) -> np.ndarray:
        """Return [rows, steps] forecasts after each tail (tail k ends at origins[k] - 1), in original units.

        A one-output model is called once per step, its forecast becoming history (recursive).
        A model with H outputs (the direct strategy) gives H steps per call; each is mapped back
        to original units in order, so that an inverse difference can use the steps before it.
        """
        paths = np.empty((len(tails), steps))
        step = 0
        while step < steps:
            if step and self.covariates is not None and self.covariates.has_past:
                raise ValueError("past-only covariates are unknown after the origin: forecast at most as many steps"
                                 " as the network outputs at once")
            outputs = self._outputs(self.windows(tails, origins + step))
            for column in range(min(outputs.shape[1], steps - step)):
                paths[:, step] = self.pipeline.inverse(outputs[:, column], tails.shape[1], tails)
                tails = np.concatenate([tails[:, 1:], paths[:, step:step + 1]], axis=1)
                step += 1
        return paths

    def paths(self, values: np.ndarray, origins: np.ndarray, steps: int) -> np.ndarray:
        """Return [origins, steps]: from each origin o, forecasts of o, o+1, ... using values[:o] only.

        A stateful model starts from a zero state at the first origin and carries its state over
        the true windows between origins, as it did when predicting the test period.
        """
        values = np.asarray(values, dtype="float64")
        origins = np.asarray(origins, dtype=int)
        tails = self._tails(values, origins)
        if not self.stateful:
            return self._roll(tails, steps, origins)  # every origin at once, one model call per step
        reset_states(self.model)
        paths = np.empty((len(tails), steps))
        for row, tail in enumerate(tails):
            saved = self._state()
            paths[row] = self._roll(tail[None], steps, origins[row:row + 1])[0]
            self._set_state(saved)
            self._outputs(self.windows(tail[None], origins[row:row + 1]))  # advance over the true window
        return paths

    def beyond(self, values: np.ndarray, steps: int, first_target: int) -> np.ndarray:
        """Return `steps` forecasts after the end of `values`.

        A stateful model first runs over the true windows of targets first_target..len(values)-1.
        """
        values = np.asarray(values, dtype="float64")
        if self.stateful:
            reset_states(self.model)
            targets = np.arange(first_target, len(values))
            self._outputs(self.windows(self._tails(values, targets), targets))
        end = np.array([len(values)])
        return self._roll(self._tails(values, end), steps, end)[0]
