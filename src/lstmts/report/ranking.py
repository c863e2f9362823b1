"""What a table or plot ranks runs by, and which baseline a run has to beat."""

from __future__ import annotations

from lstmts.evaluation.scoring import finite_number

BASELINE_LABELS = {
    "persistence": "persistence",
    "naive": "naive",
    "comb": "comb (Theta, ETS, ARIMA)",
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
    "mstl_ets": "MSTL + ETS (auto)",
    "mstl": "MSTL + ETS (auto)",  # a backtest's name for it
}

NO_VALIDATION_WARNING = ("ranked by test RMSE: choosing on it is choosing on the test set;"
                         " add a validation period with split.validation_fraction=0.25")


COLLECTION_NO_VALIDATION_WARNING = ("ranked by test sMAPE: choosing on it is choosing on the test set;"
                                    " score candidates with collection.validation=true")


def baseline_label(name: str) -> str:
    """Return a baseline's display name: Holt-Winters for holt_winters, theta for theta."""
    return BASELINE_LABELS.get(name, name.replace("_", " "))


def ranking_metric_of(metrics: list[dict]) -> str:
    """Return the metric runs are ranked by: validation when every run scored one, else test.

    RMSE for single series; sMAPE for collections (an RMSE averaged over series of different
    levels would be ruled by the largest series).
    """
    family = "smape" if metrics and all(m.get("kind") == "collection" for m in metrics) else "rmse"
    if metrics and all(finite_number(m.get(f"validation_{family}")) is not None for m in metrics):
        return f"validation_{family}"
    return f"test_{family}"


def ranking_title(metric: str) -> str:
    """Return the clause a ranked table's title ends with: what it ranks by, and the warning without validation."""
    if metric == "validation_rmse":
        return "best validation RMSE first (test RMSE beside it)"
    if metric == "validation_smape":
        return "best validation sMAPE first"
    if metric == "test_smape":
        return COLLECTION_NO_VALIDATION_WARNING
    return NO_VALIDATION_WARNING
