"""Invertible transforms of a series (log, differencing, scaling), fitted on a chosen period.

Each transform has `fit(values)`, `transform(values)` and `inverse(outputs, target_index, inputs)`.
`inverse` maps model outputs located at `target_index` back to the transform's input scale;
differencing needs the true input values one lag earlier, which `inputs` supplies.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field

import numpy as np

from lstmts.errors import UserError


class _Elementwise:
    lag = 0

    def fit(self, values: np.ndarray) -> _Elementwise:
        return self

    def inverse(self, outputs: np.ndarray, target_index: np.ndarray, inputs: np.ndarray) -> np.ndarray:
        return self.inverse_values(outputs)

    def state(self) -> dict:
        return {}

    def load_state(self, state: dict) -> None:
        pass


class Log(_Elementwise):
    """Natural log; the series must be strictly positive."""

    spec = "log"

    @staticmethod
    def _check(values: np.ndarray) -> None:
        if np.nanmin(values) <= 0:
            raise UserError(
                f"transform 'log' needs a strictly positive series, but it has {np.nanmin(values):g};"
                f" remove log from protocol.transforms"
            )

    def fit(self, values: np.ndarray) -> Log:
        self._check(values)
        return self

    def transform(self, values: np.ndarray) -> np.ndarray:
        # Checked on every series transformed, not only the fitting period.
        self._check(values)
        return np.log(values)

    def inverse_values(self, outputs: np.ndarray) -> np.ndarray:
        return np.exp(outputs)


class _Scaler(_Elementwise):
    """An affine scaling fitted on the finite values: outputs = values * scale_ + offset (per fitted attributes).

    The arithmetic and the fitted attributes are scikit-learn's (MinMaxScaler, StandardScaler; the
    tests check both against it, value for value), so a transforms.json written by either reads
    back in the other. scikit-learn itself is not imported for it: its import (scipy.stats
    included) took 0.75-1.1 s of a 5-6 s tutorial run, for two lines of arithmetic.
    """

    fitted_attributes: tuple[str, ...]

    def __init__(self) -> None:
        self.fitted: dict[str, float] | None = None

    def fit(self, values: np.ndarray) -> _Scaler:
        finite = np.asarray(values, dtype="float64")
        self.fitted = self._fit(finite[np.isfinite(finite)])
        return self

    def state(self) -> dict:
        return {name: [self.fitted[name]] for name in self.fitted_attributes}

    def load_state(self, state: dict) -> None:
        self.fitted = {name: float(np.asarray(state[name], dtype="float64").reshape(-1)[0])
                       for name in self.fitted_attributes}


def _nonzero(scale: float, constant: bool) -> float:
    # scikit-learn's _handle_zeros_in_scale: a feature that does not vary is left unscaled.
    return 1.0 if constant else scale


class MinMax(_Scaler):
    """Min-max scaling to [0, 1], as scikit-learn's MinMaxScaler."""

    spec = "minmax"
    fitted_attributes = ("min_", "scale_", "data_min_", "data_max_", "data_range_")

    @staticmethod
    def _fit(values: np.ndarray) -> dict[str, float]:
        low, high = np.min(values), np.max(values)
        span = high - low
        scale = 1.0 / _nonzero(span, span < 10 * np.finfo(np.float64).eps)
        return {"min_": float(0.0 - low * scale), "scale_": float(scale), "data_min_": float(low),
                "data_max_": float(high), "data_range_": float(span)}

    def transform(self, values: np.ndarray) -> np.ndarray:
        out = np.array(values, dtype="float64")
        out *= self.fitted["scale_"]
        out += self.fitted["min_"]
        return out

    def inverse_values(self, outputs: np.ndarray) -> np.ndarray:
        out = np.array(outputs, dtype="float64")
        out -= self.fitted["min_"]
        out /= self.fitted["scale_"]
        return out


class Standard(_Scaler):
    """Zero mean, unit variance, as scikit-learn's StandardScaler."""

    spec = "standard"
    fitted_attributes = ("mean_", "scale_", "var_")

    @staticmethod
    def _fit(values: np.ndarray) -> dict[str, float]:
        # scikit-learn's two-pass sums over a column, in its order of operations: equal to the last bit.
        column, count = values.reshape(-1, 1), len(values)
        mean = np.sum(column, axis=0)[0] / count
        centred = column - mean
        var = (np.sum(centred ** 2, axis=0)[0] - np.sum(centred, axis=0)[0] ** 2 / count) / count
        eps = np.finfo(np.float64).eps
        constant = var <= count * eps * var + (count * mean * eps) ** 2
        return {"mean_": float(mean), "scale_": float(_nonzero(np.sqrt(var), constant)), "var_": float(var)}

    def transform(self, values: np.ndarray) -> np.ndarray:
        out = np.array(values, dtype="float64")
        out -= self.fitted["mean_"]
        out /= self.fitted["scale_"]
        return out

    def inverse_values(self, outputs: np.ndarray) -> np.ndarray:
        out = np.array(outputs, dtype="float64")
        out *= self.fitted["scale_"]
        out += self.fitted["mean_"]
        return out


class Difference:
    """x[t] - x[t - lag]; the first `lag` values have no difference and become NaN."""

    def __init__(self, lag: int) -> None:
        self.lag = lag
        self.spec = f"diff{lag}"

    def fit(self, values: np.ndarray) -> Difference:
        return self

    def transform(self, values: np.ndarray) -> np.ndarray:
        # Along the last axis, so that a batch of equal-length histories transforms at once.
        values = np.asarray(values, dtype="float64")
        out = np.full(values.shape, np.nan)
        out[..., self.lag:] = values[..., self.lag:] - values[..., :-self.lag]
        return out

    def inverse(self, outputs: np.ndarray, target_index, inputs: np.ndarray) -> np.ndarray:
        return np.asarray(outputs) + inputs[..., np.asarray(target_index) - self.lag]

    def state(self) -> dict:
        return {}

    def load_state(self, state: dict) -> None:
        pass


class Level:
    """x[t] minus the mean of the `lag` values before it (a local level, as ES-RNN divides by its level).

    Nothing is fitted: each value is taken relative to the mean of the values just before it, so
    the transform reads no value after the one it maps, the level follows a trend wherever it
    goes (no forecast is held to the training range), and with `lag` a season the level carries
    no seasonal swing. The first `lag` values have no level and become NaN.
    """

    def __init__(self, lag: int) -> None:
        self.lag = lag
        self.spec = f"level{lag}"

    def fit(self, values: np.ndarray) -> Level:
        return self

    def _levels(self, values: np.ndarray) -> np.ndarray:
        """Return, at each position t >= lag, the mean of values[t - lag:t] (NaN before), along the last axis."""
        values = np.asarray(values, dtype="float64")
        sums = np.cumsum(values, axis=-1)
        zero = np.zeros(values.shape[:-1] + (1,))
        sums = np.concatenate([zero, sums], axis=-1)  # sums[..., t] = values[..., :t].sum()
        out = np.full(values.shape, np.nan)
        out[..., self.lag:] = (sums[..., self.lag:-1] - sums[..., :-self.lag - 1]) / self.lag
        return out

    def transform(self, values: np.ndarray) -> np.ndarray:
        return np.asarray(values, dtype="float64") - self._levels(values)

    def inverse(self, outputs: np.ndarray, target_index, inputs: np.ndarray) -> np.ndarray:
        inputs = np.asarray(inputs, dtype="float64")
        index = np.asarray(target_index)
        if index.ndim == 0 and int(index) >= inputs.shape[-1]:
            # The value after the inputs (a forecast step): the mean of their last `lag`.
            level = inputs[..., int(index) - self.lag:int(index)].mean(axis=-1)
        else:
            level = self._levels(inputs)[..., index]
        return np.asarray(outputs) + level

    def state(self) -> dict:
        return {}

    def load_state(self, state: dict) -> None:
        pass


class Autoregression:
    """x[t] less a linear forecast from the `lag` values before it: what a ridge AR(lag) leaves.

    The coefficients are fitted (least squares with a small ridge penalty, on the values scaled
    to unit variance) on the fitting period only, and never move after; the forecast at t reads
    only the values before t. The network then models what the linear model leaves, the hybrid
    of a statistical model and a network in the ES-RNN spirit: its inverse adds the linear
    forecast back. The first `lag` values have no forecast and become NaN.
    """

    RIDGE = 1.0  # the penalty on the coefficients of the unit-variance lags, against the residual sum of squares

    def __init__(self, lag: int) -> None:
        self.lag = lag
        self.spec = f"ar{lag}"
        self.coef: np.ndarray | None = None  # coef[i] weighs the value i + 1 steps back
        self.mean = 0.0

    def fit(self, values: np.ndarray) -> Autoregression:
        values = np.asarray(values, dtype="float64")
        finite = values[np.isfinite(values)]
        self.mean = float(np.mean(finite)) if len(finite) else 0.0
        scale = float(np.std(finite)) if len(finite) > 1 else 0.0
        centred = values - self.mean
        rows = [t for t in range(self.lag, len(values)) if np.isfinite(centred[t - self.lag:t + 1]).all()]
        if not rows or scale <= 0:
            self.coef = np.zeros(self.lag)
            return self
        lags = np.stack([centred[t - self.lag:t][::-1] for t in rows]) / scale
        targets = centred[rows] / scale
        gram = lags.T @ lags + self.RIDGE * np.eye(self.lag)
        self.coef = np.linalg.solve(gram, lags.T @ targets)
        return self

    def _forecast_at(self, values: np.ndarray, index) -> np.ndarray:
        """Return the linear forecast of values[..., index] from the `lag` values before it."""
        centred = np.asarray(values, dtype="float64") - self.mean
        index = np.asarray(index)
        total = np.zeros(np.broadcast_shapes(centred.shape[:-1], index.shape) if index.ndim == 0
                         else centred[..., index].shape)
        for back, weight in enumerate(self.coef, start=1):
            positions = index - back
            term = np.where(positions >= 0, centred[..., np.maximum(positions, 0)], np.nan)
            total = total + weight * term
        return self.mean + total

    def transform(self, values: np.ndarray) -> np.ndarray:
        values = np.asarray(values, dtype="float64")
        return values - self._forecast_at(values, np.arange(values.shape[-1]))

    def inverse(self, outputs: np.ndarray, target_index, inputs: np.ndarray) -> np.ndarray:
        return np.asarray(outputs) + self._forecast_at(inputs, target_index)

    def state(self) -> dict:
        return {"coef": [float(c) for c in self.coef], "mean": self.mean}

    def load_state(self, state: dict) -> None:
        self.coef = np.asarray(state["coef"], dtype="float64").reshape(-1)
        self.mean = float(state["mean"])


def make_transform(spec: str):
    """Return a fresh transform for a spec: log, minmax, standard, diff1, diff12, diff<k>, level<k>, ar<k>."""
    simple = {"log": Log, "minmax": MinMax, "standard": Standard}
    if spec in simple:
        return simple[spec]()
    match = re.fullmatch(r"(diff|level|ar)(\d+)", str(spec))
    if match and int(match.group(2)) >= 1:
        return {"diff": Difference, "level": Level, "ar": Autoregression}[match.group(1)](int(match.group(2)))
    raise UserError(
        f"protocol.transforms has an unknown transform {spec!r}; use any of log, diff1, diff12 (diff<lag>),"
        f" level12 (level<lag>), ar13 (ar<lags>), minmax, standard"
    )


@dataclass
class Pipeline:
    """Transforms applied in order; fitted on one period, applied to the whole series."""

    specs: list[str]
    steps: list = field(default_factory=list)

    def __post_init__(self) -> None:
        self.steps = [make_transform(spec) for spec in self.specs]

    @property
    def warmup(self) -> int:
        """Number of leading values that have no transformed value (the sum of differencing lags)."""
        return sum(step.lag for step in self.steps)

    def fit(self, values: np.ndarray) -> Pipeline:
        """Fit every step on `values` (the fitting period), each on the previous step's output."""
        current = np.asarray(values, dtype="float64")
        for step in self.steps:
            step.fit(current)
            current = step.transform(current)
        return self

    def stages(self, values: np.ndarray) -> list[np.ndarray]:
        """Return the series before each step and, last, the fully transformed series."""
        current = np.asarray(values, dtype="float64")
        stages = [current]
        for step in self.steps:
            current = step.transform(current)
            stages.append(current)
        return stages

    def transform(self, values: np.ndarray) -> np.ndarray:
        return self.stages(values)[-1]

    def inverse(self, outputs: np.ndarray, target_index, values: np.ndarray) -> np.ndarray:
        """Map outputs at `target_index` back to original units, using the true `values` as history.

        `values` may also be a batch [rows, time] of histories with one scalar `target_index`.
        """
        stages = self.stages(values)
        current = np.asarray(outputs, dtype="float64")
        for position in reversed(range(len(self.steps))):
            current = self.steps[position].inverse(current, target_index, stages[position])
        return current

    def to_json(self) -> str:
        return json.dumps({"steps": [{"spec": s.spec, "state": s.state()} for s in self.steps]}, indent=2)

    @classmethod
    def from_json(cls, text: str) -> Pipeline:
        data = json.loads(text)
        pipeline = cls([step["spec"] for step in data["steps"]])
        for step, saved in zip(pipeline.steps, data["steps"]):
            step.load_state(saved["state"])
        return pipeline
