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
    """Return the persistence and seasonal naive forecasts of the targets (those that exist)."""
    forecasts = {
        "persistence": naive_forecast(values, target_index, 1),
        "seasonal_naive": naive_forecast(values, target_index, season_length),
    }
    return {name: forecast for name, forecast in forecasts.items() if forecast is not None}
