"""What a run prints when it ends: one small rich table."""

from __future__ import annotations

from pathlib import Path

from rich.console import Console
from rich.table import Table


_BASELINE_LABELS = {
    "persistence": "persistence",
    "seasonal_naive": "seasonal naive",
    "holt_winters": "Holt-Winters",
    "sarima": "SARIMA on log",
}


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
    label = "LSTM"
    repeats = metrics.get("repeats")
    if repeats:
        label = f"LSTM ensemble of {len(repeats['seeds'])}"
        each = [f"{repeats[f'{split}_rmse_mean']:.2f} ± {repeats[f'{split}_rmse_std']:.2f}"
                for split in ("train", "validation", "test") if split != "validation" or validation]
        table.add_row(f"LSTM, each of {len(repeats['seeds'])} seeds", *each, "")
    middle = [_fmt(metrics.get("validation_rmse"))] if validation else []
    table.add_row(label, _fmt(metrics.get("train_rmse")), *middle, _fmt(metrics.get("test_rmse")), _fmt(metrics.get("test_mae")))
    for name, scores in metrics.get("baselines", {}).items():
        label = _BASELINE_LABELS.get(name, name.replace("_", " "))
        middle = [_fmt(scores.get("validation_rmse"))] if validation else []
        if "note" in scores:
            table.add_row(label, "", *middle, scores["note"], "")
        else:
            table.add_row(label, "", *middle, _fmt(scores.get("test_rmse")), _fmt(scores.get("test_mae")))
    console.print(table)
    samples = metrics.get("samples", {})
    scored = metrics.get("scored", {}).get("test", {})
    console.print(
        f"test: {samples.get('test')} targets, {scored.get('first')} .. {scored.get('last')};"
        f" {metrics.get('updates')} updates in {metrics.get('train_seconds', 0):.2f} s"
    )
    console.print(f"run folder: {out_dir}", soft_wrap=True, highlight=False)
