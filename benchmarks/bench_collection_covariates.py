"""Covariates in a collection: a global LSTM with promotions, region and calendar against the one without.

    python benchmarks/bench_collection_covariates.py --seeds 1 2 3

Writes the panel to data/examples/stores-monthly.csv (if missing) and prints, per seed, the test
sMAPE of the global LSTM without covariates and with them, beside comb's. The panel: 40 stores,
72 months each; a store's level (50-150), a yearly season whose size and phase depend on its
region (north, south: a static attribute), x1.35 in months with a promotion (a fifth of them, at
random, planned ahead: a known-future column), and 4 % noise. Without the promotion column no
model can know which months have one.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "data" / "examples" / "stores-monthly.csv"
STORES, MONTHS, PROMO_LIFT, PROMO_SHARE, NOISE = 40, 72, 0.35, 0.2, 0.04


def stores_panel(seed: int = 0) -> pd.DataFrame:
    """Return store, month, sales, promo (0/1, known ahead) and region (static) for every store and month."""
    rng = np.random.default_rng(seed)
    rows = []
    for store in range(STORES):
        region = "north" if store % 2 == 0 else "south"
        dates = pd.date_range("2018-01-01", periods=MONTHS, freq="MS")
        phase, size = (0.0, 0.25) if region == "north" else (np.pi, 0.10)
        season = 1 + size * np.sin(2 * np.pi * (dates.month.to_numpy() - 1) / 12 + phase)
        promo = (rng.random(MONTHS) < PROMO_SHARE).astype(int)
        level = rng.uniform(50, 150)
        sales = level * season * (1 + PROMO_LIFT * promo) * np.exp(rng.normal(0, NOISE, MONTHS))
        rows.append(pd.DataFrame({"store": f"store{store:02d}", "month": dates.strftime("%Y-%m-%d"),
                                  "sales": sales.round(2), "promo": promo, "region": region}))
    return pd.concat(rows, ignore_index=True)


COMMON = ["data=collection", f"data.path={EXAMPLE}", "data.id_column=store", "data.date_column=month",
          "data.value_column=sales", "data.horizon=6", "framing=timesteps", "framing.look_back=12",
          "model.units=32", "training.epochs=40", "training.batch_size=32", "intervals.levels=[]",
          "collection.baselines=[naive,seasonal_naive,theta,ets,arima,comb]"]
COVARIATES = ["data.covariates.future=[promo]", "data.covariates.static=[region]", "data.calendar=true"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    args = parser.parse_args()
    if not EXAMPLE.exists():
        stores_panel().to_csv(EXAMPLE, index=False)
    from hydra import compose, initialize_config_dir

    from lstmts.commands.run import register_resolvers
    from lstmts.config import conf_dir
    from lstmts.runs.collection_job import run_collection

    register_resolvers()
    print("seed  without  with covariates  comb  seconds (both)")
    with initialize_config_dir(config_dir=str(conf_dir()), version_base=None), tempfile.TemporaryDirectory() as work:
        for seed in args.seeds:
            scores, started = [], time.perf_counter()
            for name, extra in (("without", []), ("with", COVARIATES)):
                cfg = compose(config_name="config", overrides=[*COMMON, *extra, f"seed={seed}"])
                metrics = run_collection(cfg, Path(work) / f"{name}-{seed}")
                scores.append(metrics["test_smape"])
            comb = metrics["baselines"]["comb"]["test_smape"]
            print(f"{seed:4d}  {scores[0]:7.2f}  {scores[1]:15.2f}  {comb:5.2f}  {time.perf_counter() - started:6.1f}")
            print(json.dumps({"seed": seed, "without": scores[0], "with": scores[1], "comb": comb}), file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
