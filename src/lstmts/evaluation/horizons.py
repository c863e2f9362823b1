"""Scores by horizon: how far ahead a forecast path was made, and how good it was at each step."""

from __future__ import annotations

import numpy as np


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
