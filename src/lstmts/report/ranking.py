"""What a table or plot ranks runs by, and which baseline a run has to beat."""

from __future__ import annotations

from lstmts.evaluation.scoring import finite_number

BASELINE_LABELS = {
    "persistence": "persistence",
    "seasonal_naive": "seasonal naive",
    "holt_winters": "Holt-Winters",
    "sarima": "SARIMA",
    "holt": "Holt, damped trend",
    "arima": "ARIMA",
    "theta": "Theta",
    "ets": "ETS (auto)",
    "stl_holt": "STL + damped Holt",
    "stl_arima": "STL + ARIMA",
    "stl_ets": "STL + ETS (auto)",
}

NO_VALIDATION_WARNING = ("ranked by test RMSE: choosing on it is choosing on the test set;"
                         " add a validation period with split.validation_fraction=0.25")


def baseline_label(name: str) -> str:
    """Return a baseline's display name: Holt-Winters for holt_winters, theta for theta."""
    return BASELINE_LABELS.get(name, name.replace("_", " "))


def ranking_metric_of(metrics: list[dict]) -> str:
    """Return validation_rmse when every run scored one, else test_rmse."""
    if metrics and all(finite_number(m.get("validation_rmse")) is not None for m in metrics):
        return "validation_rmse"
    return "test_rmse"


def ranking_title(metric: str) -> str:
    """Return the clause a ranked table's title ends with: what it ranks by, and the warning without validation."""
    if metric == "validation_rmse":
        return "best validation RMSE first (test RMSE beside it)"
    return NO_VALIDATION_WARNING
