"""`lstmts compare`: run folders side by side, with their baselines, as a table, a CSV and a plot."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import pandas as pd

from lstmts import report
from lstmts.errors import UserError
from lstmts.runs import RunRecord, column_value, display_columns, read_runs, require_runs

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


_HEADERS = {
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
        table.add_column(_HEADERS.get(column, column), justify="left" if left else "right", no_wrap=True,
                         max_width=32 if column == "run" else None, overflow="ellipsis")
    # Rows as objects: iterrows() would turn whole numbers into floats in a mixed frame.
    for _, row in frame.astype(object).iterrows():
        cells = [Path(str(row[c])).name if c == "run" else _format(row[c], row.get(f"{c}_std")) for c in columns]
        table.add_row(*cells)
    console.print(table)
    if "error" in frame:
        for _, row in frame[frame["error"].notna()].iterrows():
            console.print(f"{Path(str(row['run'])).name}: {row['status']}: {row['error']}", highlight=False, soft_wrap=True)


def _run_label(row: pd.Series, keys: list[str]) -> str:
    """Return "key=value ..." of a run's differing config values, or its folder name without them."""
    parts = [f"{key.split('.')[-1]}={row[key]}" for key in keys if key in row and pd.notna(row[key])]
    return " ".join(parts) or Path(str(row["run"])).name


def plot_comparison(path: Path, frame: pd.DataFrame, records: list[RunRecord], keys: list[str], top: int = 3) -> None:
    """Test RMSE per run with the baselines as reference lines, and the best runs' test predictions."""
    plt = report.pyplot()
    ok = frame[frame["status"] == "ok"] if "status" in frame else frame
    figure, (left, right) = plt.subplots(1, 2, figsize=(13, 4.8), gridspec_kw={"width_ratios": [1, 1.4]})
    labels = [_run_label(row, keys) for _, row in ok.iterrows()]
    left.barh(range(len(ok)), ok["test_rmse"], color="tab:blue")
    left.set_yticks(range(len(ok)), labels, fontsize=7)
    left.invert_yaxis()
    left.set_xlabel("test RMSE (original units)")
    markers = ["|", "x", "+", "1", "2"]
    baseline_columns = [c for c in ok.columns if c.endswith("_test_rmse") and not c.startswith("test_")]
    for marker, column in zip(markers, baseline_columns):
        values = ok[column]
        name = _HEADERS.get(column, column.removesuffix("_test_rmse").replace("_", " "))
        if values.nunique(dropna=True) == 1:
            left.axvline(values.iloc[0], color="0.3", linestyle=":", linewidth=1)
            left.text(values.iloc[0], -0.6, f" {name}", rotation=90, fontsize=7, va="bottom", ha="right", color="0.3")
        else:
            # Runs scored on different targets: each run against its own baseline.
            left.scatter(values, range(len(ok)), marker=marker, color="0.2", s=40, zorder=3,
                         label=f"{name}, on each run's targets")
    if left.get_legend_handles_labels()[0]:
        left.legend(fontsize=7, frameon=False, loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=2)
    left.set_title("test RMSE per run (best first)")
    by_path = {str(r.path): r for r in records}
    actual_drawn = False
    for (_, row), label in list(zip(ok.iterrows(), labels))[:top]:
        run = row["run"]
        predictions_file = Path(run) / "predictions.csv"
        if not predictions_file.exists():
            continue
        predictions = pd.read_csv(predictions_file, parse_dates=["date"])
        if not actual_drawn:
            right.plot(predictions["date"], predictions["actual"], color="0.2", linewidth=1.4, label="actual")
            actual_drawn = True
        test = predictions[predictions["split"] == "test"]
        rmse = by_path[run].metrics.get("test_rmse")
        right.plot(test["date"], test["prediction"], linewidth=1.1, label=f"{label} ({rmse:.1f})")
    right.set_title(f"test predictions of the best {min(top, len(ok))} run(s)")
    right.legend(fontsize=7, frameon=False, loc="upper left")
    right.grid(alpha=0.3)
    right.tick_params(axis="x", labelrotation=30)
    report.save_figure(figure, path)


def compare(arguments: list[str], *, out_dir: Path, group: bool = False, over: tuple[str, ...] = ("seed",),
            top: int = 3, console=None, title: str | None = None, include_failed: bool = False) -> pd.DataFrame:
    """Compare the runs the arguments name; write comparison.csv/png into out_dir; return the table."""
    console = console or wide_console()
    records, notes = read_runs(arguments)
    for note in notes:
        console.print(f"skipped {note}", style="yellow", highlight=False, soft_wrap=True)
    if not include_failed:
        for record in records:
            if not record.ok:
                reason = record.problem or f"status {record.status}: {record.metrics.get('error') or ''}".rstrip(": ")
                console.print(f"skipped {record.path}: {reason}", style="yellow", highlight=False, soft_wrap=True)
        found = len(records)
        records = [r for r in records if r.ok]
        if found and not records:
            raise UserError(f"none of the {found} run folder(s) in {' '.join(arguments)} finished with status ok;"
                            f" rerun them, or point at finished runs")
    require_runs(records, arguments)
    keys = display_columns(records)
    sort_by = ranking_metric(records)
    frame = comparison_frame(records, keys, sort_by)
    table = group_over(frame, keys, list(over), sort_by) if group else frame
    out_dir.mkdir(parents=True, exist_ok=True)
    report.write_csv(out_dir / "comparison.csv", table)
    if any(r.ok for r in records):
        plot_comparison(out_dir / "comparison.png", frame, records, keys, top=top)
    print_table(table, title or f"{len(records)} run(s), best {sort_by.replace('_rmse', '')} RMSE first", console)
    console.print(f"wrote {out_dir / 'comparison.csv'} and {out_dir / 'comparison.png'}", highlight=False, soft_wrap=True)
    return table


def main(argv: list[str]) -> int:
    """`lstmts compare PATH... [--group-by] [--out DIR]`; returns the exit status."""
    parser = argparse.ArgumentParser(
        prog="lstmts compare",
        description="Compare run folders side by side (sorted by test RMSE), with their baselines.",
    )
    parser.add_argument("paths", nargs="+", help="run folders, sweep folders or globs (quote globs or let the shell expand them)")
    parser.add_argument("--group-by", action="store_true",
                        help="aggregate runs that differ only in the seed (see --over) into mean ± std")
    parser.add_argument("--over", action="append", default=None, metavar="KEY",
                        help="config key(s) to average over with --group-by (default: seed)")
    parser.add_argument("--out", type=Path, default=Path("."), help="folder for comparison.csv and comparison.png (default: .)")
    parser.add_argument("--top", type=int, default=3, help="how many of the best runs to draw over the series (default 3)")
    args = parser.parse_args(argv)
    compare(args.paths, out_dir=args.out, group=args.group_by, over=tuple(args.over or ["seed"]), top=args.top)
    return 0
