"""What a table or plot ranks runs by, and which baseline a run has to beat."""

from __future__ import annotations

import math

BASELINE_LABELS = {
    "persistence": "persistence",
    "seasonal_naive": "seasonal naive",
    "holt_winters": "Holt-Winters",
    "sarima": "SARIMA",
}

NO_VALIDATION_WARNING = ("ranked by test RMSE: choosing on it is choosing on the test set;"
                         " add a validation period with split.validation_fraction=0.25")


def baseline_label(name: str) -> str:
    """Return a baseline's display name: Holt-Winters for holt_winters, theta for theta."""
    return BASELINE_LABELS.get(name, name.replace("_", " "))


def _number(value) -> float | None:
    if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
        return float(value)
    return None


def best_baseline(baselines: dict | None, metric: str) -> tuple[str, float] | None:
    """Return (name, score) of the baseline with the lowest `metric` (e.g. validation_rmse), or None.

    Any entry of metrics["baselines"] that has the metric counts; skipped ones (with a note) do not.
    """
    scored = [(score, name) for name, scores in (baselines or {}).items()
              if isinstance(scores, dict) and (score := _number(scores.get(metric))) is not None]
    if not scored:
        return None
    score, name = min(scored)
    return name, score


def ranking_metric_of(metrics: list[dict]) -> str:
    """Return validation_rmse when every run scored one, else test_rmse."""
    if metrics and all(_number(m.get("validation_rmse")) is not None for m in metrics):
        return "validation_rmse"
    return "test_rmse"


def ranking_title(metric: str) -> str:
    """Return the clause a ranked table's title ends with: what it ranks by, and the warning without validation."""
    if metric == "validation_rmse":
        return "best validation RMSE first (test RMSE beside it)"
    return NO_VALIDATION_WARNING
