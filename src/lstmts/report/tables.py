"""Tables on the console: the one a run prints when it ends, and comparisons of many runs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from rich.console import Console
from rich.table import Table


_BASELINE_LABELS = {
    "persistence": "persistence",
    "seasonal_naive": "seasonal naive",
    "holt_winters": "Holt-Winters",
    "sarima": "SARIMA on log",
    "holt": "Holt, damped trend",
    "arima": "ARIMA",
    "theta": "Theta",
    "ets": "ETS (auto)",
    "stl_holt": "STL + damped Holt",
    "stl_arima": "STL + ARIMA",
    "stl_ets": "STL + ETS (auto)",
}


def baseline_label(name: str) -> str:
    """Return a baseline's name as people write it."""
    return _BASELINE_LABELS.get(name, name.replace("_", " "))


def _fmt(value) -> str:
    return "-" if value is None else f"{value:.2f}"


def print_summary(metrics: dict, out_dir: Path, console: Console | None = None) -> None:
    """Print train/test RMSE, the baselines on the same targets and the run folder."""
    console = console or Console()
    table = Table(title=None, show_header=True, header_style="bold")
    table.add_column("forecaster")
    table.add_column("train RMSE", justify="right")
    validation = metrics.get("validation_rmse") is not None
    if validation:
        table.add_column("validation RMSE", justify="right")
    table.add_column("test RMSE", justify="right")
    table.add_column("test MAE", justify="right")
    table.add_column("test MASE", justify="right")
    label = "LSTM"
    repeats = metrics.get("repeats")
    if repeats:
        label = f"LSTM ensemble of {len(repeats['seeds'])}"
        each = [f"{repeats[f'{split}_rmse_mean']:.2f} ± {repeats[f'{split}_rmse_std']:.2f}"
                for split in ("train", "validation", "test") if split != "validation" or validation]
        table.add_row(f"LSTM, each of {len(repeats['seeds'])} seeds", *each, "", "")
    middle = [_fmt(metrics.get("validation_rmse"))] if validation else []
    table.add_row(label, _fmt(metrics.get("train_rmse")), *middle, _fmt(metrics.get("test_rmse")), _fmt(metrics.get("test_mae")),
                  _fmt(metrics.get("test_mase")))
    for name, scores in metrics.get("baselines", {}).items():
        label = baseline_label(name)
        middle = [_fmt(scores.get("validation_rmse"))] if validation else []
        if "note" in scores:
            table.add_row(label, "", *middle, scores["note"], "", "")
        else:
            table.add_row(label, "", *middle, _fmt(scores.get("test_rmse")), _fmt(scores.get("test_mae")),
                          _fmt(scores.get("test_mase")))
    console.print(table)
    best = metrics.get("best_baseline")
    if best:
        ratio = metrics.get("test_rmse_ratio_to_best_baseline")
        verdict = "" if ratio is None else f"; LSTM ÷ it: {ratio:.3f} ({'beats it' if ratio < 1 else 'does not beat it'})"
        console.print(f"best baseline (on {best['chosen_on']}): {baseline_label(best['name'])}, test RMSE"
                      f" {best['test_rmse']:.2f}{verdict}", highlight=False)
    if metrics.get("frequency"):
        console.print(f"data: {metrics['frequency']}, season {metrics.get('season_length')};"
                      f" protocol {metrics.get('protocol')}", highlight=False)
    samples = metrics.get("samples", {})
    scored = metrics.get("scored", {}).get("test", {})
    console.print(
        f"test: {samples.get('test')} targets, {scored.get('first')} .. {scored.get('last')};"
        f" {metrics.get('updates')} updates in {metrics.get('train_seconds', 0):.2f} s"
    )
    console.print(f"run folder: {out_dir}", soft_wrap=True, highlight=False)


HEADERS = {
    "train_rmse": "train RMSE",
    "validation_rmse": "valid. RMSE",
    "test_rmse": "test RMSE",
    "test_mase": "test MASE",
    "ratio_to_persistence": "÷ persistence",
    "train_seconds": "train s",
    "test_rmse_of_each_model": "each model",
    "persistence_test_rmse": "persistence",
    "seasonal_naive_test_rmse": "seasonal naive",
    "holt_winters_test_rmse": "Holt-Winters",
    "sarima_test_rmse": "SARIMA",
}


def wide_console(stderr: bool = False):
    """Return a rich Console; when output is not a terminal, wide enough not to fold numbers."""
    import sys

    from rich.console import Console

    stream = sys.stderr if stderr else sys.stdout
    return Console(stderr=stderr) if stream.isatty() else Console(stderr=stderr, width=220)


def _format(value, std=None) -> str:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return "-"
    if isinstance(value, (float, np.floating)):
        text = f"{value:.2f}" if abs(value) >= 0.1 else f"{value:.3f}"
        if std is not None and not np.isnan(std) and std >= 0.005:
            text += f" ± {std:.2f}"
        return text
    return str(value)


def print_table(frame: pd.DataFrame, title: str, console=None) -> None:
    """Print the comparison as a rich table (std folded into its mean); errors go below it."""
    from rich.table import Table

    console = console or wide_console()
    table = Table(title=title, header_style="bold")
    columns = [c for c in frame.columns if not c.endswith("_std") and c != "error"]
    for column in columns:
        left = column in ("run", "status")
        table.add_column(HEADERS.get(column, column), justify="left" if left else "right", no_wrap=True,
                         max_width=32 if column == "run" else None, overflow="ellipsis")
    # Rows as objects: iterrows() would turn whole numbers into floats in a mixed frame.
    for _, row in frame.astype(object).iterrows():
        cells = [Path(str(row[c])).name if c == "run" else _format(row[c], row.get(f"{c}_std")) for c in columns]
        table.add_row(*cells)
    console.print(table)
    if "error" in frame:
        for _, row in frame[frame["error"].notna()].iterrows():
            console.print(f"{Path(str(row['run'])).name}: {row['status']}: {row['error']}", highlight=False, soft_wrap=True)
