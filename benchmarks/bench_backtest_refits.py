"""Wall and CPU seconds of the 48 LSTM refits of `lstmts experiment=airline_best evaluation=backtest`, alone.

    LSTMTS_XLA_CACHE=$(mktemp -d) python benchmarks/bench_backtest_refits.py now

Prints the label given, the seconds and the one-step RMSE over the 48 origins (which a change of
speed must leave as it was). The baselines are not fitted: their time is the backtest's own.
"""
import sys, time
import numpy as np
from hydra import compose, initialize_config_dir
from lstmts.commands.run import register_resolvers
from lstmts.config import conf_dir, airline_csv
from lstmts.data.series import load_series
from lstmts.runs import backtest
from lstmts.backend import load
register_resolvers()
with initialize_config_dir(config_dir=str(conf_dir()), version_base="1.3"):
    cfg = compose(config_name="config", overrides=["experiment=airline_best", "evaluation=backtest"])
series = load_series(cfg.data, airline_csv())
load()
wall, cpu = time.perf_counter(), time.process_time()
paths, secs = backtest.lstm_paths(cfg, series, np.arange(96, 144), 12)
print(sys.argv[1], "wall", round(time.perf_counter() - wall, 1), "cpu", round(time.process_time() - cpu, 1),
      "h1 rmse", round(float(np.sqrt(np.mean((series.values[96:144] - paths[:, 0]) ** 2))), 2), flush=True)
