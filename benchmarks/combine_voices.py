"""Score other combinations of the automatic LSTM's voices from kept run folders, without training again.

Each automatic run writes voices.csv: the run's forecast of every validation and test target beside
the one-step forecasts of its networks (and second half) and of every baseline scored on validation.
`python benchmarks/bench_auto.py --inner --more 5 --keep DIR` keeps each run's voices.csv,
residuals.json and metrics.json in DIR/<number>-<series>/; this script then scores, on each run's
test period, combinations of those voices with the product's own `residuals.combine`, against the
baseline best on validation (the run's), and prints wins, how many lie within 1.10, and the median,
worst and geometric mean of the ratios:

    python benchmarks/combine_voices.py DIR [--moves 0.1 0.2 0.3 0.5 1] [--save ratios.csv]

It first checks that the run's own combination, computed from voices.csv, is the run's forecast.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import pandas as pd

from lstmts.search import residuals


def load(folder: Path) -> dict:
    """Return one kept run: its voices, its record (residuals.json) and its metrics."""
    record_path = folder / residuals.FILE
    return {"name": folder.name, "voices": pd.read_csv(folder / residuals.VOICES),
            "record": json.loads(record_path.read_text()) if record_path.exists() else None,
            "metrics": json.loads((folder / "metrics.json").read_text())}


def _columns(run: dict, split: str) -> tuple[pd.DataFrame, dict]:
    voices = run["voices"]
    return voices[voices["split"] == split], run["record"]


def leaders_mean(rows: pd.DataFrame, names: list[str]) -> np.ndarray | None:
    return rows[names].to_numpy(dtype=float).mean(axis=1) if len(names) >= 2 else None


def as_run(run: dict, split: str = "test") -> np.ndarray:
    """Return the run's own combination, computed from its voices as the run computes it."""
    rows, record = _columns(run, split)
    networks = rows["networks"].to_numpy(dtype=float)
    second = rows["second_half"].to_numpy(dtype=float) if "second_half" in rows else None
    if record is None:
        return residuals.combine(networks, second)
    return residuals.combine(networks, second, rows[record["baseline"]].to_numpy(dtype=float), record["combine"],
                             leaders_mean(rows, record["leaders"]), record["shrink"],
                             residuals.ordered_weights(record.get("weights")))


def moved(move: float, towards: str = "networks and leaders", count: int = 3):
    """Return a rule: the baseline best on validation moved `move` of the way towards the mean of the
    networks and the mean of the `count` baselines best on validation (`towards` "networks": the
    networks alone; "leaders": the leaders' mean alone)."""

    def rule(rows: pd.DataFrame, validation: pd.DataFrame, ranked: list[str]) -> np.ndarray:
        base = rows[ranked[0]].to_numpy(dtype=float)
        networks = rows["networks"].to_numpy(dtype=float)
        leading = leaders_mean(rows, ranked[:count])
        if towards == "leaders":
            return base + move * (leading - base)
        return residuals.combine(networks, None, base, "shrink", None if towards == "networks" else leading, move)

    return rule


def weighted(weight: float, move: float = 0.3):
    """Return a rule: f moved `move` of the way towards `weight` x the networks + (1 - weight) x the
    leaders' mean (the default is weight 0.5)."""

    def rule(rows: pd.DataFrame, validation: pd.DataFrame, ranked: list[str]) -> np.ndarray:
        base = rows[ranked[0]].to_numpy(dtype=float)
        others = weight * rows["networks"].to_numpy(dtype=float) + (1 - weight) * leaders_mean(rows, ranked[:3])
        return base + move * (others - base)

    return rule


def three_leaders(validation: pd.DataFrame, ranked: list[str]) -> tuple[list[str], np.ndarray]:
    """Return the leaders' voice as the product makes it: the 3 baselines best on validation, alike."""
    return ranked[:3], np.full(3, 1 / 3)


def leaders_within(limit: float):
    """Return a leaders' voice of those of the 3 best whose validation RMSE is at most `limit` times the
    best one's, alike (the best alone: the voice is the baseline)."""

    def choose(validation: pd.DataFrame, ranked: list[str]) -> tuple[list[str], np.ndarray]:
        best = _rmse(validation, ranked[0])
        names = [name for name in ranked[:3] if _rmse(validation, name) <= limit * best]
        return names, np.full(len(names), 1 / len(names))

    return choose


def leaders_by_inverse_mse(count: int):
    """Return a leaders' voice of the `count` best baselines weighted by their inverse validation MSE
    (Bates and Granger's weights)."""

    def choose(validation: pd.DataFrame, ranked: list[str]) -> tuple[list[str], np.ndarray]:
        names = ranked[:count]
        inverse = np.array([1 / _rmse(validation, name) ** 2 for name in names])
        return names, inverse / inverse.sum()

    return choose


def fitted(half: float, move: float = 0.3, leading=three_leaders):
    """Return a rule: the product's `fitted` combination of the baseline, the networks and the 3 leaders'
    mean: shrink's weights moved n / (n + half) of the way towards the weights fitted on the n
    validation targets (residuals.fitted_weights). `leading` makes the leaders' voice."""

    def voices(rows: pd.DataFrame, ranked: list[str], names: list[str], weights: np.ndarray) -> np.ndarray:
        return np.stack([rows[ranked[0]].to_numpy(dtype=float), rows["networks"].to_numpy(dtype=float),
                         rows[names].to_numpy(dtype=float) @ weights])

    def rule(rows: pd.DataFrame, validation: pd.DataFrame, ranked: list[str]) -> np.ndarray:
        names, shares = leading(validation, ranked)
        weights, _ = residuals.fitted_weights(voices(validation, ranked, names, shares),
                                              validation["actual"].to_numpy(dtype=float), move, half)
        test = voices(rows, ranked, names, shares)
        return residuals.combine(test[1], None, test[0], "fitted", test[2], move, weights)

    return rule


def median_of_three(rows: pd.DataFrame, validation: pd.DataFrame, ranked: list[str]) -> np.ndarray:
    base = rows[ranked[0]].to_numpy(dtype=float)
    return residuals.combine(rows["networks"].to_numpy(dtype=float), None, base, "median",
                             leaders_mean(rows, ranked[:3]))


def _rmse(rows: pd.DataFrame, column: str | np.ndarray) -> float:
    forecast = rows[column].to_numpy(dtype=float) if isinstance(column, str) else column
    return float(np.sqrt(np.mean((forecast - rows["actual"].to_numpy(dtype=float)) ** 2)))


def gated(limit: float):
    """Return a rule: the default move, but towards the leaders' mean alone where the networks' validation
    RMSE (their search models', which never trained on it) is above `limit` times the baseline's."""

    def rule(rows: pd.DataFrame, validation: pd.DataFrame, ranked: list[str]) -> np.ndarray:
        worse = _rmse(validation, "networks") > limit * _rmse(validation, ranked[0])
        return moved(0.3, "leaders" if worse else "networks and leaders")(rows, validation, ranked)

    return rule


def fitted_move(weight: float):
    """Return a rule: the move that minimises the squared validation error, t* = (e . d) / (d . d) with e
    the baseline's validation errors and d the others' mean less the baseline, taken `weight` of the way
    from 0.3 towards t* and held within [0.05, 0.6]."""

    def rule(rows: pd.DataFrame, validation: pd.DataFrame, ranked: list[str]) -> np.ndarray:
        base = validation[ranked[0]].to_numpy(dtype=float)
        others = (validation["networks"].to_numpy(dtype=float) + leaders_mean(validation, ranked[:3])) / 2
        errors, distance = validation["actual"].to_numpy(dtype=float) - base, others - base
        best = float(np.sum(errors * distance) / np.sum(distance * distance))
        return moved(float(np.clip(0.3 + weight * (best - 0.3), 0.05, 0.6)))(rows, validation, ranked)

    return rule


def rules(moves: list[float]) -> dict:
    """Return the combinations to score, by name: each takes the test rows and the validation rows of
    voices.csv and the names of the baselines scored on validation, best first."""
    chosen = {"the networks alone": lambda rows, validation, ranked: rows["networks"].to_numpy(dtype=float),
              "the mean of the 3 baselines best on validation":
                  lambda rows, validation, ranked: leaders_mean(rows, ranked[:3])}
    for move in moves:
        chosen[f"moved {move:g} towards the networks and the leaders' mean"] = moved(move)
    for count in (2, 4, 5, 99):
        which = f"the {count} best baselines" if count < 99 else "every baseline"
        chosen[f"moved 0.3 towards the networks and the mean of {which}"] = moved(0.3, count=count)
    for weight in (1 / 3, 2 / 3):
        chosen[f"moved 0.3 towards {weight:.2f} x the networks + {1 - weight:.2f} x the leaders' mean"] = weighted(weight)
    chosen["moved 0.3 towards the networks alone"] = moved(0.3, "networks")
    chosen["moved 0.3 towards the leaders' mean alone"] = moved(0.3, "leaders")
    chosen["the median of the networks, the baseline and the leaders' mean"] = median_of_three
    for half in (100, 250, 500, 1000):
        chosen[f"weights fitted on validation, counting half at {half} targets (fitted)"] = fitted(half)
    for move in (0.1, 0.2):
        chosen[f"fitted, half at 500, starting from shrink {move:g}"] = fitted(500, move)
    for limit in (1.05, 1.1, 1.2, 1.5):
        chosen[f"fitted, the leaders within {limit:g}x the best's validation RMSE"] = fitted(500, leading=leaders_within(limit))
    for count in (3, 4, 99):
        which = f"the {count} best baselines" if count < 99 else "every baseline"
        chosen[f"fitted, the leaders {which} by inverse validation MSE"] = fitted(500, leading=leaders_by_inverse_mse(count))
    for limit in (1.2, 1.5):
        chosen[f"0.3, towards the leaders alone where the networks' validation RMSE is above {limit:g}x"] = gated(limit)
    for weight in (0.25, 0.5):
        chosen[f"the move fitted on validation, taken {weight:g} of the way from 0.3"] = fitted_move(weight)
    return chosen


def ranked_baselines(run: dict) -> list[str]:
    """Return the baselines of voices.csv, best on validation first (the columns after the halves)."""
    halves = {"date", "actual", "split", "forecast", "networks", "second_half"}
    return [column for column in run["voices"].columns if column not in halves]


def ratio(run: dict, forecast: np.ndarray) -> float:
    rows, _ = _columns(run, "test")
    actual = rows["actual"].to_numpy(dtype=float)
    best = rows[ranked_baselines(run)[0]].to_numpy(dtype=float)
    return float(np.sqrt(np.mean((forecast - actual) ** 2)) / np.sqrt(np.mean((best - actual) ** 2)))


def summary(ratios: np.ndarray) -> dict:
    return {"wins": int((ratios < 1).sum()), "within 1.10": int((ratios <= 1.10).sum()),
            "below 0.95": int((ratios < 0.95).sum()), "median": float(np.median(ratios)),
            "worst": float(ratios.max()), "geo": float(np.exp(np.log(ratios).mean()))}


def leave_one_out(table: pd.DataFrame, moves: list[float]) -> np.ndarray:
    """Return each series' ratio with the move chosen on the other series (the most wins there, then
    the lowest geometric mean): whether a move's count comes from fitting it to these series."""
    columns = [f"moved {move:g} towards the networks and the leaders' mean" for move in moves]
    scored = []
    for position in range(len(table)):
        others = table.drop(index=table.index[position])
        best = min(columns, key=lambda c: (-(others[c] < 1).sum(), np.log(others[c]).mean()))
        scored.append(table[best].iloc[position])
    return np.array(scored)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path, help="the folder bench_auto.py --keep filled")
    parser.add_argument("--moves", type=float, nargs="*", default=[0.1, 0.2, 0.3, 0.4, 0.5, 0.7, 1.0])
    parser.add_argument("--save", type=Path, default=None, help="write every series' ratio under each combination to this CSV")
    args = parser.parse_args()
    runs = [load(folder) for folder in sorted(p for p in args.folder.iterdir() if (p / residuals.VOICES).exists())]
    if not runs:
        parser.error(f"{args.folder} holds no kept runs; fill it with bench_auto.py --keep {args.folder}")
    rows = []
    for run in runs:
        test, _ = _columns(run, "test")
        own = as_run(run)
        if not np.allclose(own, test["forecast"], rtol=1e-9, atol=0, equal_nan=True):
            raise SystemExit(f"{run['name']}: the run's combination computed from voices.csv is not its forecast")
        best = run["metrics"]["best_baseline"]
        if ranked_baselines(run)[0] != best["name"]:
            raise SystemExit(f"{run['name']}: voices.csv's first baseline is not the run's best on validation")
        ranked = ranked_baselines(run)
        row = {"series": run["name"], "the run's forecast": ratio(run, own)}
        validation, _ = _columns(run, "validation")
        row.update({name: ratio(run, rule(test, validation, ranked)) for name, rule in rules(args.moves).items()})
        rows.append(row)
    table = pd.DataFrame(rows)
    if args.save:
        table.to_csv(args.save, index=False)
    print(f"{len(runs)} runs; each run's own combination, computed from voices.csv, is its forecast")
    results = {name: summary(table[name].to_numpy()) for name in table.columns[1:]}
    results["the move chosen on the other series (leave one out)"] = summary(leave_one_out(table, args.moves))
    frame = pd.DataFrame.from_dict(results, orient="index")
    print(frame.to_string(formatters={c: "{:.3f}".format for c in ("median", "worst", "geo")}))


if __name__ == "__main__":
    main()
