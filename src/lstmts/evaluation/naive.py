"""The naive baselines: persistence and seasonal naive forecasts of the same targets as the LSTM."""

from __future__ import annotations

import numpy as np


def naive_forecast(values: np.ndarray, target_index: np.ndarray, lag: int) -> np.ndarray | None:
    """Return values[t - lag] for each target t, or None when some target has no value lag steps back."""
    target_index = np.asarray(target_index)
    if len(target_index) == 0 or target_index.min() - lag < 0:
        return None
    return np.asarray(values, dtype="float64")[target_index - lag]


def naive_baselines(values: np.ndarray, target_index: np.ndarray, season_length: int) -> dict[str, np.ndarray]:
    """Return the persistence and (with a season) seasonal naive forecasts of the targets (those that exist)."""
    forecasts = {"persistence": naive_forecast(values, target_index, 1)}
    if season_length > 1:
        forecasts["seasonal_naive"] = naive_forecast(values, target_index, season_length)
    return {name: forecast for name, forecast in forecasts.items() if forecast is not None}


def naive_paths(values: np.ndarray, origins: np.ndarray, steps: int, lag: int) -> np.ndarray:
    """Return [origins, steps]: from origin o (values before o known), the h-step forecast of o + h - 1.

    Lag 1 is persistence (the last known value at every horizon); lag m is the seasonal naive
    forecast, the same period of the last season known at the origin: values[o + h - 1 - m ceil(h / m)].
    """
    horizons = np.arange(1, steps + 1)
    back = lag * np.ceil(horizons / lag).astype(int)
    index = np.asarray(origins)[:, None] + horizons[None, :] - 1 - back[None, :]
    return np.asarray(values, dtype="float64")[index]
