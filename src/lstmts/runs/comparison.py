"""Run folders side by side: one row per run with the config values that differ, metrics and baselines."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from lstmts.runs.records import RunRecord, column_value

def _metric_row(record: RunRecord) -> dict:
    metrics = record.metrics
    row = {
        "train_rmse": metrics.get("train_rmse"),
        "validation_rmse": metrics.get("validation_rmse"),
        "test_rmse": metrics.get("test_rmse"),
        "test_mase": metrics.get("test_mase"),
        "ratio_to_persistence": metrics.get("test_rmse_ratio_to_persistence"),
        "train_seconds": metrics.get("train_seconds"),
    }
    repeats = metrics.get("repeats")
    if repeats:
        # The run's own test_rmse is its ensemble's; this is the mean (and std) of its models.
        row["test_rmse_of_each_model"] = repeats.get("test_rmse_mean")
        row["test_rmse_of_each_model_std"] = repeats.get("test_rmse_std")
    for name, scores in (metrics.get("baselines") or {}).items():
        if isinstance(scores, dict) and "test_rmse" in scores:
            row[f"{name}_test_rmse"] = scores["test_rmse"]
    return row


def _value(value):
    if isinstance(value, (list, dict)):
        return json.dumps(value)
    return value


def ranking_metric(records: list[RunRecord]) -> str:
    """Return the metric to rank by: validation RMSE when every finished run has one, else test RMSE.

    A search is judged on its validation period; ranking it by test RMSE would invite choosing on test.
    """
    finished = [r for r in records if r.ok]
    if finished and all(r.metrics.get("validation_rmse") is not None for r in finished):
        return "validation_rmse"
    return "test_rmse"


def comparison_frame(records: list[RunRecord], config_keys: list[str], sort_by: str = "test_rmse") -> pd.DataFrame:
    """Return one row per run: the differing config values, status, metrics and baselines; best first."""
    rows = []
    for record in records:
        row = {"run": str(record.path), "status": record.status}
        row.update({key: _value(column_value(record, key)) for key in config_keys})
        if record.problem is None:
            row.update(_metric_row(record))
        if record.status != "ok":
            row["error"] = record.problem or record.metrics.get("error")
        rows.append(row)
    frame = pd.DataFrame(rows)
    if sort_by in frame:
        frame = frame.sort_values(sort_by, na_position="last", kind="stable").reset_index(drop=True)
    return frame.dropna(axis="columns", how="all")


def group_over(frame: pd.DataFrame, config_keys: list[str], over: list[str], sort_by: str = "test_rmse") -> pd.DataFrame:
    """Aggregate runs that differ only in the `over` keys (the seed) into mean and std per metric."""
    keys = [k for k in config_keys if k not in over]
    numeric = [c for c in frame.columns if c not in keys + over + ["run", "status", "error"]
               and not c.endswith("_std") and pd.api.types.is_numeric_dtype(frame[c])]
    grouped = frame.groupby(keys, dropna=False, sort=False) if keys else frame.groupby(lambda _: 0)
    rows = []
    for group_key, group in grouped:
        row = dict(zip(keys, group_key if isinstance(group_key, tuple) else (group_key,))) if keys else {}
        row["runs"] = len(group)
        for column in numeric:
            row[column] = group[column].mean()
            row[f"{column}_std"] = group[column].std(ddof=1) if len(group) > 1 else np.nan
        rows.append(row)
    result = pd.DataFrame(rows)
    return result.sort_values(sort_by, kind="stable").reset_index(drop=True) if sort_by in result else result


def best_predictions(frame: pd.DataFrame, top: int = 3) -> list[tuple[pd.Series, pd.DataFrame]]:
    """Return (row, predictions.csv) for each of the first `top` finished runs of `frame` that has predictions."""
    ok = frame[frame["status"] == "ok"] if "status" in frame else frame
    best = []
    for _, row in ok.head(top).iterrows():
        predictions_file = Path(str(row["run"])) / "predictions.csv"
        if predictions_file.exists():
            best.append((row, pd.read_csv(predictions_file, parse_dates=["date"])))
    return best
