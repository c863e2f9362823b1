"""Prediction intervals by split conformal prediction: quantiles of held-out errors, per horizon.

The errors come from forecasts of a period the model was not scored on: the validation period
when there is one, else the training period (in-sample, so intervals are then somewhat too
narrow; the coverage on the test period, reported beside them, says by how much). For a series
modelled on the log scale the errors are relative (actual / forecast - 1), since they grow with
the level; otherwise they are absolute.
"""

from __future__ import annotations

import math

import numpy as np

LEVELS = (0.8, 0.95)


def level_key(level: float) -> str:
    """Return a level as the text used in files and metrics: 0.8 -> "80"."""
    return f"{level * 100:g}"


def needed(level: float) -> int:
    """Return the fewest errors whose conformal quantile at `level` exists: ceil((n + 1) level) <= n."""
    return int(math.ceil(level / (1.0 - level) - 1e-9))


def calibration_errors(paths: np.ndarray, origins: np.ndarray, values: np.ndarray, stop: int,
                       relative: bool) -> list[np.ndarray]:
    """Return, for each horizon h, the errors of the h-step forecasts whose target lies before `stop`."""
    errors = []
    for step in range(paths.shape[1]):
        targets = np.asarray(origins) + step
        inside = targets < stop
        actual, forecast = values[targets[inside]], paths[inside, step]
        errors.append(actual / forecast - 1 if relative else actual - forecast)
    return errors


def conformal_quantiles(errors: list[np.ndarray], levels=LEVELS) -> dict[str, list[float | None]]:
    """Return {level: [half-width per horizon]}: the ceil((n+1) level)-th smallest absolute error.

    A horizon with too few errors for a level gets None (no interval rather than a wrong one).
    """
    quantiles: dict[str, list[float | None]] = {}
    for level in levels:
        widths = []
        for horizon_errors in errors:
            absolute = np.sort(np.abs(horizon_errors[np.isfinite(horizon_errors)]))
            rank = math.ceil((len(absolute) + 1) * level)
            widths.append(float(absolute[rank - 1]) if 0 < rank <= len(absolute) else None)
        quantiles[level_key(level)] = widths
    return quantiles


def bounds(forecasts: np.ndarray, width: float | np.ndarray, relative: bool) -> tuple[np.ndarray, np.ndarray]:
    """Return (lower, upper) around the forecasts for a half-width (relative or absolute)."""
    forecasts = np.asarray(forecasts, dtype="float64")
    if relative:
        return forecasts * (1 - np.asarray(width)), forecasts * (1 + np.asarray(width))
    return forecasts - width, forecasts + width


def path_bounds(path: np.ndarray, widths: list[float | None], relative: bool) -> tuple[np.ndarray, np.ndarray]:
    """Return (lower, upper) along a forecast path; beyond the calibrated horizons the last width is used."""
    known = [w for w in widths if w is not None]
    if not known:
        nan = np.full(len(path), np.nan)
        return nan, nan
    steps = np.arange(len(path))
    filled = np.array([w if w is not None else np.nan for w in widths], dtype="float64")
    width = np.where(steps < len(filled), filled[np.minimum(steps, len(filled) - 1)], known[-1])
    return bounds(path, width, relative)


def coverage(actual: np.ndarray, lower: np.ndarray, upper: np.ndarray) -> float | None:
    """Return the share of actual values inside [lower, upper] (None with no interval to check)."""
    inside = np.isfinite(lower) & np.isfinite(upper)
    if not inside.any():
        return None
    actual = np.asarray(actual)[inside]
    return float(np.mean((actual >= lower[inside]) & (actual <= upper[inside])))
