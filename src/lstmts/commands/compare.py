"""`lstmts compare`: run folders side by side, with their baselines, as a table, a CSV and a plot."""

from __future__ import annotations

import argparse
import datetime as dt
from pathlib import Path

import pandas as pd

from lstmts.errors import UserError
from lstmts.report import files
from lstmts.report.plots import plot_comparison
from lstmts.report.ranking import ranking_title
from lstmts.report.tables import check_columns, print_table, wide_console
from lstmts.runs.comparison import (add_p_vs_first, best_predictions, column_priority, comparison_frame, group_over,
                                    ranking_metric)
from lstmts.runs.records import display_columns, read_runs, require_runs
from lstmts.runs.shards import merge_shards


def compare(arguments: list[str], *, out_dir: Path, group: bool = False, over: tuple[str, ...] = ("seed",),
            top: int = 3, console=None, title: str | None = None, include_failed: bool = False,
            columns: list[str] | None = None) -> pd.DataFrame:
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
    records, shard_notes, merged = merge_shards(records)
    for note in shard_notes:
        console.print(f"not merged: {note}", style="yellow", highlight=False, soft_wrap=True)
    keys = display_columns(records)
    sort_by = ranking_metric(records)
    frame = comparison_frame(records, keys, sort_by)
    table = group_over(frame, keys, list(over), sort_by) if group else add_p_vs_first(frame)
    if columns is not None:
        check_columns(columns, table)
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise files.cannot_write(out_dir, error) from None
    files.write_csv(out_dir / "comparison.csv", table)
    for number, (path, series) in enumerate(merged.items(), start=1):
        target = out_dir / f"series-merged-{number}.csv"
        files.write_csv(target, series)
        console.print(f"{path.name}: {len(series)} series in {target}", highlight=False, soft_wrap=True)
    if any(r.ok for r in records):
        best, plot_notes = best_predictions(frame, top)
        for note in plot_notes:
            console.print(f"not plotted {note}", style="yellow", highlight=False, soft_wrap=True)
        plot_comparison(out_dir / "comparison.png", frame, keys, best)
    print_table(table, title or f"{len(records)} run(s), {ranking_title(sort_by)}", console,
                priority=column_priority(table, keys, sort_by), chosen=columns, config_keys=keys,
                csv_path=out_dir / "comparison.csv")
    console.print(f"wrote {out_dir / 'comparison.csv'} and {out_dir / 'comparison.png'}", highlight=False, soft_wrap=True)
    return table


def main(argv: list[str]) -> int:
    """`lstmts compare PATH... [--group-by] [--out DIR]`; returns the exit status."""
    parser = argparse.ArgumentParser(
        prog="lstmts compare",
        description="Compare run folders side by side (best validation RMSE first, or test RMSE when runs have"
                    " no validation period), with their baselines.",
    )
    parser.add_argument("paths", nargs="+", help="run folders, sweep folders or globs (quote globs or let the shell expand them)")
    parser.add_argument("--group-by", action="store_true",
                        help="aggregate runs that differ only in the seed (see --over) into mean ± std")
    parser.add_argument("--over", action="append", default=None, metavar="KEY",
                        help="config key(s) to average over with --group-by (default: seed)")
    parser.add_argument("--out", type=Path, default=None,
                        help="folder for comparison.csv and comparison.png (default: outputs/compare/DATE/TIME)")
    parser.add_argument("--columns", type=_column_list, default=None, metavar="A,B,...",
                        help="the table's columns, by their comparison.csv names (default: those that fit the terminal)")
    parser.add_argument("--top", type=int, default=3, help="how many of the best runs to draw over the series (default 3)")
    args = parser.parse_args(argv)
    out_dir = args.out or Path("outputs", "compare", dt.datetime.now().strftime("%Y-%m-%d"),
                               dt.datetime.now().strftime("%H-%M-%S"))
    compare(args.paths, out_dir=out_dir, group=args.group_by, over=tuple(args.over or ["seed"]), top=args.top,
            columns=args.columns)
    return 0


def _column_list(text: str) -> list[str]:
    return [name.strip() for name in text.split(",") if name.strip()]
