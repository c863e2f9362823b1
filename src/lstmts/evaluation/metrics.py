"""Metrics in original units: RMSE, MAE and MASE, as plain functions of actual and predicted values."""

from __future__ import annotations

import numpy as np


def rmse(actual: np.ndarray, predicted: np.ndarray) -> float:
    """Return the root mean squared error."""
    errors = np.asarray(actual, dtype="float64") - np.asarray(predicted, dtype="float64")
    return float(np.sqrt(np.mean(errors**2)))


def mae(actual: np.ndarray, predicted: np.ndarray) -> float:
    """Return the mean absolute error."""
    return float(np.mean(np.abs(np.asarray(actual, dtype="float64") - np.asarray(predicted, dtype="float64"))))


def seasonal_scale(values: np.ndarray, period_end: int, season_length: int) -> float | None:
    """Return the in-sample MAE of the seasonal naive forecast on values[:period_end] (MASE's denominator)."""
    history = np.asarray(values[:period_end], dtype="float64")
    if len(history) <= season_length:
        return None
    scale = float(np.mean(np.abs(history[season_length:] - history[:-season_length])))
    return scale or None


def mase(actual, predicted, scale: float | None) -> float | None:
    """Return the mean absolute scaled error, or None when the scale is unknown."""
    return None if scale is None else mae(actual, predicted) / scale


def score(actual: np.ndarray, predicted: np.ndarray, scale: float | None = None) -> dict:
    """Return rmse, mae and (given a scale) mase of one forecast on one set of targets."""
    return {"rmse": rmse(actual, predicted), "mae": mae(actual, predicted), "mase": mase(actual, predicted, scale)}

