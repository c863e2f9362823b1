"""Choose the collection presets on validation: M1 and Tourism, yearly, quarterly and monthly (never M3).

    .venv/bin/python benchmarks/choose_collection_presets.py                 # every subset, every candidate
    .venv/bin/python benchmarks/choose_collection_presets.py --subsets m1/yearly tourism/yearly
    .venv/bin/python benchmarks/choose_collection_presets.py --final         # experiment=collection, validation and test
    .venv/bin/python benchmarks/choose_collection_presets.py --final --validation-only --origins 3 \
        --subsets m1/quarterly tourism/quarterly --set 'collection.presets.quarterly.collection.ensemble.losses=[mse,mae]'

Every candidate runs with `collection.validation=true`: each series' last horizon of training
values is its validation part, and the real test parts are never read. The script prints, per
subset, each candidate's validation sMAPE and MASE beside comb's (the mean of Theta, ETS and
ARIMA), one JSON line per run, so that the choice can be checked. `--final` runs the chosen
`experiment=collection` on validation and then on test, with every baseline, for the README.
`--origins N` scores validation at N rolling origins inside the training parts (the mean over
every series and origin): one origin is one horizon per series, and its choices proved noisy.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

SUBSETS = ["m1/yearly", "tourism/yearly", "m1/quarterly", "tourism/quarterly", "m1/monthly", "tourism/monthly"]

# Candidates per frequency: overrides on top of collection=global with framing=timesteps.
# intervals.levels=[]: no prediction intervals, which would train every run a second time.
BASE = ["framing=timesteps", "model=vanilla", "collection.normalise=window", "training.batch_size=256",
        "training.learning_rate=0.002", "intervals.levels=[]"]
CANDIDATES = {
    "lb1.5h u64 e20": ["+ens.look_backs=[1.5]", "model.units=64", "training.epochs=20"],
    "lb1.5h u64 e20 deseason": ["+ens.look_backs=[1.5]", "model.units=64", "training.epochs=20",
                                "collection.deseasonalise=true"],
    "ens lb[1,1.5,2] mse+mae x1 e20": ["+ens.look_backs=[1,1.5,2]", "+ens.losses=[mse,mae]", "model.units=64",
                                       "training.epochs=20"],
    "ens lb[1,1.5,2] mse+mae x1 e20 deseason": ["+ens.look_backs=[1,1.5,2]", "+ens.losses=[mse,mae]",
                                                "model.units=64", "training.epochs=20",
                                                "collection.deseasonalise=true"],
    # Round 2: more updates for the short yearly and quarterly collections (a batch of 256 gave a
    # few hundred updates in all).
    "ens lb[1,1.5,2] mse+mae b32 e40 u32": ["+ens.look_backs=[1,1.5,2]", "+ens.losses=[mse,mae]", "model.units=32",
                                            "training.epochs=40", "training.batch_size=32",
                                            "training.learning_rate=0.001"],
    "ens lb[1,1.5,2] mae x3 b32 e40 u32": ["+ens.look_backs=[1,1.5,2]", "+ens.losses=[mae]", "+ens.seeds=3",
                                           "model.units=32", "training.epochs=40", "training.batch_size=32",
                                           "training.learning_rate=0.001"],
    "ens lb[1,1.5,2] mse+mae b64 e30 u64": ["+ens.look_backs=[1,1.5,2]", "+ens.losses=[mse,mae]", "model.units=64",
                                            "training.epochs=30", "training.batch_size=64"],
    "ens lb[1,1.5,2] mse+mae b32 e40 u32 deseason": ["+ens.look_backs=[1,1.5,2]", "+ens.losses=[mse,mae]",
                                                    "model.units=32", "training.epochs=40", "training.batch_size=32",
                                                    "training.learning_rate=0.001", "collection.deseasonalise=true"],
    "ens lb[1.5,2,3] mae x2 e30": ["+ens.look_backs=[1.5,2,3]", "+ens.losses=[mae]", "+ens.seeds=2",
                                   "model.units=64", "training.epochs=30"],
    # Round 3: each series divided by its mean absolute step instead of its std (collection.scale),
    # so that the short yearly series (half of M1's have 7 training values on validation) take
    # changes of the size the long ones train the network on; and shorter look_backs.
    "ens lb[1,1.5,2] mse+mae x1 e20 steps": ["+ens.look_backs=[1,1.5,2]", "+ens.losses=[mse,mae]", "model.units=64",
                                             "training.epochs=20", "collection.scale=steps"],
    "ens lb[1,1.5,2] mse+mae x1 e20 deseason seasonal_steps": [
        "+ens.look_backs=[1,1.5,2]", "+ens.losses=[mse,mae]", "model.units=64", "training.epochs=20",
        "collection.deseasonalise=true", "collection.scale=seasonal_steps"],
    "ens lb[0.5,1,1.5] mse+mae x1 e20": ["+ens.look_backs=[0.5,1,1.5]", "+ens.losses=[mse,mae]", "model.units=64",
                                         "training.epochs=20"],
    "ens lb[0.5,1] mse+mae x2 e20 deseason": ["+ens.look_backs=[0.5,1]", "+ens.losses=[mse,mae]", "+ens.seeds=2",
                                              "model.units=64", "training.epochs=20", "collection.deseasonalise=true"],
}


def _overrides(subset: str, extra: list[str], validation: bool) -> list[str]:
    source, frequency = subset.split("/")
    ensemble: dict[str, str] = {}
    rest = []
    for item in extra:
        if item.startswith("+ens."):
            key, value = item[len("+ens."):].split("=", 1)
            ensemble[key] = value
        else:
            rest.append(item)
    if ensemble:
        inner = ", ".join(f"{k}: {v}" for k, v in ensemble.items())
        rest.append(f"collection.ensemble={{{inner}}}")
    return [f"data={source}", f"data.subset={frequency}", *rest,
            f"collection.validation={'true' if validation else 'false'}", "seed=1"]


def run_one(overrides: list[str], folder: Path) -> dict:
    from hydra import compose, initialize_config_dir

    from lstmts.commands.run import register_resolvers
    from lstmts.config import conf_dir
    from lstmts.runs.collection_job import run_collection

    register_resolvers()
    with initialize_config_dir(config_dir=str(conf_dir()), version_base="1.3"):
        cfg = compose(config_name="config", overrides=overrides)
    started = time.perf_counter()
    metrics = run_collection(cfg, folder)
    if metrics.get("status") != "ok":
        raise SystemExit(f"{overrides} failed: {metrics.get('error')}")
    metrics["wall_seconds"] = time.perf_counter() - started
    return metrics


def _row(subset: str, name: str, metrics: dict) -> dict:
    split = metrics["collection"]["split"]
    comb = metrics["baselines"].get("comb", {})
    return {"subset": subset, "candidate": name, "split": split, "series": metrics["collection"]["scored"],
            "lstm_smape": round(metrics[f"{split}_smape"], 3), "lstm_mase": round(metrics[f"{split}_mase"], 3),
            "comb_smape": round(comb.get(f"{split}_smape", float("nan")), 3),
            "comb_mase": round(comb.get(f"{split}_mase", float("nan")), 3),
            "padded": metrics.get("padded", 0), "seconds": round(metrics["wall_seconds"], 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subsets", nargs="*", default=SUBSETS)
    parser.add_argument("--candidates", nargs="*", default=list(CANDIDATES))
    parser.add_argument("--final", action="store_true")
    parser.add_argument("--origins", type=int, default=1,
                        help="validation origins per series (collection.cross_validation.origins; test keeps 1)")
    parser.add_argument("--set", nargs="*", default=[], metavar="OVERRIDE",
                        help="more overrides for --final's runs, e.g. a preset's losses")
    parser.add_argument("--validation-only", action="store_true", help="--final without the test runs")
    parser.add_argument("--seed", type=int, default=1, help="the runs' seed (a second seed shows the noise)")
    args = parser.parse_args()
    on_origins = [f"collection.cross_validation.origins={args.origins}"] if args.origins > 1 else []
    with tempfile.TemporaryDirectory() as scratch:
        for subset in args.subsets:
            if args.final:
                for validation in (True,) if args.validation_only else (True, False):
                    source, frequency = subset.split("/")
                    overrides = [f"data={source}", f"data.subset={frequency}", "experiment=collection",
                                 "intervals.levels=[]",
                                 f"collection.validation={'true' if validation else 'false'}", f"seed={args.seed}",
                                 *(on_origins if validation else []), *args.set]
                    metrics = run_one(overrides, Path(scratch) / f"{source}-{frequency}-{validation}")
                    row = _row(subset, "experiment=collection", metrics)
                    row["baselines"] = {name: round(s[f"{row['split']}_smape"], 3)
                                        for name, s in metrics["baselines"].items()}
                    row["baselines_mase"] = {name: round(s[f"{row['split']}_mase"], 3)
                                             for name, s in metrics["baselines"].items()}
                    row["share_beaten"] = {name: s.get("share_beaten_by_lstm")
                                           for name, s in metrics["baselines"].items()}
                    print(json.dumps(row), flush=True)
                continue
            for name in args.candidates:
                folder = Path(scratch) / f"{subset.replace('/', '-')}-{len(name)}-{abs(hash(name))}"
                metrics = run_one([*BASE, *_overrides(subset, CANDIDATES[name], True), *on_origins], folder)
                print(json.dumps(_row(subset, name, metrics)), flush=True)


if __name__ == "__main__":
    sys.exit(main())
