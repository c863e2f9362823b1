"""Run folders side by side: one row per run with the config values that differ, metrics and baselines."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from lstmts.evaluation.scoring import choose_best_baseline, finite_number
from lstmts.evaluation.significance import diebold_mariano
from lstmts.report.ranking import baseline_label, ranking_metric_of
from lstmts.runs.records import RunRecord, column_value


_PREDICTION_COLUMNS = ("date", "split", "actual", "prediction")


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
    if metrics.get("kind") == "collection":
        about = metrics.get("collection") or {}
        row.update({f"{split}_{metric}": metrics.get(f"{split}_{metric}")
                    for split in ("validation", "test") for metric in ("smape", "mase")})
        row.update(series=about.get("scored"), skipped=about.get("skipped"), scope=about.get("scope"))
    baselines = metrics.get("baselines") or {}
    # Each run's own baseline to beat, as its own table named it, whatever the table is ranked by.
    best = choose_best_baseline(metrics)
    if best is not None:
        row["best_baseline"] = baseline_label(best["name"])
        row["best_baseline_chosen_on"] = best["chosen_on"]
        row[f"best_baseline_{best['metric']}"] = best["score"]
        row["ratio_to_best_baseline"] = best["ratio"]
        test = (metrics.get("best_baseline") or {}).get("diebold_mariano") if best["compared_on"] == "test" else None
        if isinstance(test, dict) and finite_number(test.get("p_value")) is not None:
            row["p_vs_best_baseline"] = test["p_value"]
    repeats = metrics.get("repeats")
    if repeats:
        # The run's own test_rmse is its ensemble's; this is the mean (and std) of its models.
        row["test_rmse_of_each_model"] = repeats.get("test_rmse_mean")
        row["test_rmse_of_each_model_std"] = repeats.get("test_rmse_std")
    for split in ("validation", "test"):
        for metric in ("rmse", "smape"):
            for name, scores in baselines.items():
                if isinstance(scores, dict) and scores.get(f"{split}_{metric}") is not None:
                    row[f"{name}_{split}_{metric}"] = scores[f"{split}_{metric}"]
    # The test RMSE at each horizon beyond one step, the run's and each baseline's from the same origins.
    row.update(_beyond_one_step("test_rmse", metrics.get("test_rmse_by_horizon")))
    for name, scores in baselines.items():
        if isinstance(scores, dict):
            row.update(_beyond_one_step(f"{name}_test_rmse", scores.get("test_rmse_by_horizon")))
    return row


def _beyond_one_step(prefix: str, by_horizon) -> dict:
    """Return {prefix_h<h>: RMSE} for each horizon h above 1 of a test_rmse_by_horizon (one step is test_rmse)."""
    if not isinstance(by_horizon, dict):
        return {}
    return {f"{prefix}_h{horizon}": value for horizon, value in by_horizon.items() if str(horizon) != "1"}


def _value(value):
    if isinstance(value, (list, dict)):
        return json.dumps(value)
    return value


def ranking_metric(records: list[RunRecord]) -> str:
    """Return the metric to rank by: validation RMSE when every finished run has one, else test RMSE.

    A search is judged on its validation period; ranking it by test RMSE would invite choosing on test.
    """
    return ranking_metric_of([r.metrics for r in records if r.ok])


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


def p_vs_first(frame: pd.DataFrame) -> pd.Series | None:
    """Return, for each run of the ranked `frame`, the Diebold-Mariano p-value of its one-step test forecasts
    against those of the first finished run (the table's best), on the test targets both forecast; NaN for
    the first itself, for a run without readable predictions, and for one whose actual values differ from
    the first's on those targets (another series). None where the first has no readable predictions or no
    other run has."""
    ok = frame[frame["status"] == "ok"] if "status" in frame else frame
    tests = {}
    for index, run in ok["run"].items():
        try:
            predictions = read_predictions(Path(str(run)) / "predictions.csv")
        except (OSError, ValueError):
            if not tests:
                return None  # the first: nothing to compare with
            continue
        tests[index] = predictions[predictions["split"] == "test"].set_index("date")[["actual", "prediction"]]
    if len(tests) < 2:
        return None
    first_index, first = next(iter(tests.items()))
    p_values = pd.Series(np.nan, index=frame.index)
    for index, test in tests.items():
        if index == first_index:
            continue
        both = first.join(test, how="inner", lsuffix="_first")
        if len(both) and np.allclose(both["actual_first"], both["actual"], rtol=1e-9, atol=0.0):
            result = diebold_mariano(both["actual"], both["prediction"], both["prediction_first"])
            p_values[index] = result["p_value"] if result else np.nan
    return p_values


def add_p_vs_first(frame: pd.DataFrame) -> pd.DataFrame:
    """Return the ranked `frame` with a p_vs_first column (see p_vs_first) where two runs can be compared."""
    p_values = p_vs_first(frame) if "run" in frame and len(frame) > 1 else None
    if p_values is not None and p_values.notna().any():
        frame = frame.assign(p_vs_first=p_values)
    return frame


def group_over(frame: pd.DataFrame, config_keys: list[str], over: list[str], sort_by: str = "test_rmse") -> pd.DataFrame:
    """Aggregate runs that differ only in the `over` keys (the seed) into mean and std per metric.

    p-values (one run against another) are not averaged: a group has none."""
    keys = [k for k in config_keys if k not in over]
    numeric = [c for c in frame.columns if c not in keys + over + ["run", "status", "error", "best_baseline"]
               and not c.endswith("_std") and not c.startswith("p_vs_") and pd.api.types.is_numeric_dtype(frame[c])]
    grouped = frame.groupby(keys, dropna=False, sort=False) if keys else frame.groupby(lambda _: 0)
    rows = []
    for group_key, group in grouped:
        row = dict(zip(keys, group_key if isinstance(group_key, tuple) else (group_key,))) if keys else {}
        row["runs"] = len(group)
        if "run" in group:
            row["run_folders"] = ";".join(map(str, group["run"]))
        for column in numeric:
            row[column] = group[column].mean()
            row[f"{column}_std"] = group[column].std(ddof=1) if len(group) > 1 else np.nan
        rows.append(row)
    result = pd.DataFrame(rows)
    return result.sort_values(sort_by, kind="stable").reset_index(drop=True) if sort_by in result else result


def read_predictions(path: Path) -> pd.DataFrame:
    """Return a run's predictions.csv with its dates parsed; raise ValueError saying what is wrong with it."""
    try:
        frame = pd.read_csv(path)
    except pd.errors.EmptyDataError:
        raise ValueError("it is empty") from None
    missing = [column for column in _PREDICTION_COLUMNS if column not in frame]
    if missing:
        raise ValueError(f"it has no {', '.join(missing)} column")
    # A series without dates has positions in its date column: numbers, kept as they are (read_csv's
    # parse_dates would turn them into text).
    if not pd.api.types.is_numeric_dtype(frame["date"]):
        dates = pd.to_datetime(frame["date"], format="ISO8601", errors="coerce")
        if dates.isna().any():
            raise ValueError("its date column holds neither dates nor positions")
        frame["date"] = dates
    for column in ("actual", "prediction"):
        if not pd.api.types.is_numeric_dtype(frame[column]):
            raise ValueError(f"its {column} column holds text, not numbers")
    return frame


def best_predictions(frame: pd.DataFrame, top: int = 3) -> tuple[list[tuple[pd.Series, pd.DataFrame]], list[str]]:
    """Return ((row, predictions.csv) for each of the first `top` finished runs of `frame` that has readable
    predictions, one note per predictions.csv that cannot be read).

    A damaged predictions.csv costs only the run's line in the plot: its scores are in metrics.json.
    """
    ok = frame[frame["status"] == "ok"] if "status" in frame else frame
    best, notes = [], []
    for _, row in ok.head(top).iterrows():
        predictions_file = Path(str(row["run"])) / "predictions.csv"
        if not predictions_file.exists():
            continue
        try:
            best.append((row, read_predictions(predictions_file)))
        except (OSError, ValueError) as error:
            notes.append(f"{predictions_file}: {error}; rerun the run to plot its forecast")
    return best, notes


# The columns a table shows first when the terminal is too narrow for all of them.
_FIRST = ["test_rmse", "test_smape", "best_baseline", "ratio_to_best_baseline", "p_vs_best_baseline", "p_vs_first",
          "status"]


def column_priority(frame: pd.DataFrame, config_keys: list[str], sort_by: str) -> list[str]:
    """Return the frame's columns, most important first.

    Run, ranking metric, test RMSE, best baseline (and where it was chosen, when that differs between
    runs), ratio, status (unless every run is ok), the config
    values that differ, then everything else (kept in the CSV when the terminal is too narrow).
    """
    first = ["run", "runs", sort_by, *_FIRST, *config_keys]
    if "best_baseline_chosen_on" in frame and frame["best_baseline_chosen_on"].nunique() > 1:
        # A table that mixes runs with and without validation says, per row, where each baseline was chosen.
        first.insert(first.index("best_baseline") + 1, "best_baseline_chosen_on")
    ordered = [c for c in dict.fromkeys(first) if c in frame]
    rest = [c for c in frame.columns if c not in ordered]
    if "status" in frame and (frame["status"] == "ok").all():
        ordered.remove("status")  # every run finished: a column of "ok" says nothing
    return ordered + rest
