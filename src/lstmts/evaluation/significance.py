"""Whether one forecast's lower test error is more than chance: the Diebold-Mariano test.

A ratio of 0.99 on 6 test targets and one of 0.99 on 500 say different things. The test compares
the squared errors of two forecasts of the same targets, target by target: d[t] = e1[t]² - e2[t]².
Its statistic is the mean of d over its standard error, with the long-run variance of d (its
autocovariances up to lag horizon - 1, which h-step errors share, each weighted 1), and Harvey,
Leybourne and Newbold's small-sample correction, read on a t distribution with n - 1 degrees of
freedom.

The variance is the few lines below rather than statsmodels' HAC estimator (OLS on a constant with
cov_type="HAC", kernel "uniform", maxlags horizon - 1, which tests/test_significance.py checks it
equals): importing statsmodels' regression and scipy.stats in a run's process took the default run's
score phase from 0.11 s to 0.62 s.
"""

from __future__ import annotations

import math

import numpy as np


def long_run_variance(values: np.ndarray, lags: int) -> float:
    """Return the variance of the mean of `values`: (γ0 + 2 Σ_{j=1..lags} γj) / n, each γj the lag-j
    autocovariance with divisor n."""
    n = len(values)
    centred = values - values.mean()
    autocovariances = [float(centred[j:] @ centred[:n - j]) / n for j in range(min(lags, n - 1) + 1)]
    return (autocovariances[0] + 2 * sum(autocovariances[1:])) / n


def diebold_mariano(actual, first, second, horizon: int = 1) -> dict | None:
    """Return the test of `first` against `second` as forecasts of `actual` at `horizon` steps ahead:
    {"statistic" (negative where `first` has the lower squared errors), "p_value" (two-sided),
    "targets"}, or None where it cannot be computed: fewer than 3 targets that all three have, the
    same squared errors throughout, or a long-run variance that is not positive."""
    from scipy.special import stdtr

    actual, first, second = (np.asarray(a, dtype="float64") for a in (actual, first, second))
    every = np.isfinite(actual) & np.isfinite(first) & np.isfinite(second)
    difference = (actual[every] - first[every]) ** 2 - (actual[every] - second[every]) ** 2
    n = len(difference)
    if n < 3 or np.ptp(difference) == 0:
        return None
    variance = long_run_variance(difference, horizon - 1)
    if not variance > 0:
        return None
    correction = math.sqrt((n + 1 - 2 * horizon + horizon * (horizon - 1) / n) / n)
    statistic = correction * float(difference.mean()) / math.sqrt(variance)
    return {"statistic": statistic, "p_value": float(2 * stdtr(n - 1, -abs(statistic))), "targets": n}


def p_by_horizon(lstm: np.ndarray, baseline: np.ndarray, origins: np.ndarray, values: np.ndarray,
                 horizons=None) -> dict[str, float]:
    """Return {horizon: the Diebold-Mariano p-value of the LSTM's forecasts against the baseline's at that
    horizon}, over the origins whose target is inside the series (horizons it cannot test left out):
    every step of the [origins, steps] paths, or those in `horizons`.

    Errors h steps ahead from origins k steps apart share ceil(h / k) - 1 autocovariances: the test's
    horizon is ceil(h / k)."""
    origins, values = np.asarray(origins), np.asarray(values)
    spacing = int(np.min(np.diff(origins))) if len(origins) > 1 else 1
    steps = range(lstm.shape[1]) if horizons is None else [int(h) - 1 for h in horizons if int(h) <= lstm.shape[1]]
    tested = {}
    for step in steps:
        targets = origins + step
        inside = targets < len(values)
        test = diebold_mariano(values[targets[inside]], lstm[inside, step], baseline[inside, step],
                               horizon=-(-(step + 1) // spacing))
        if test:
            tested[str(step + 1)] = test["p_value"]
    return tested
