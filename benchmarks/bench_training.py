"""Training-speed benchmark: lstmts' fast engine against the tutorial's Keras loop.

    python benchmarks/bench_training.py                 # everything (about 10 minutes on 2 cores)
    python benchmarks/bench_training.py --repeats 1 --skip-scaling --skip-process   # quick look
    python benchmarks/bench_training.py --skip-presets --skip-scaling --plain-lstmts /tmp/plain/.venv/bin/lstmts
        # the whole process only, also with an install made by the README's first command (no extras)

Three tables, every ratio measured inside this one invocation:
1. per tutorial preset at 100 epochs: training seconds of the tutorial-style loop (Keras fit,
   one call per epoch for stateful models) and of lstmts' engine, run alternately, their ratio,
   the update counts and both test RMSEs;
2. the whole `lstmts experiment=tutorial_regression` process, with and without XLA
   (training.jit_compile), against the tutorial as a plain script (benchmarks/tutorial_script.py):
   wall seconds and peak memory (the first lstmts run starts from empty caches);
3. scaling of lstmts' engine on a synthetic seasonal series of 144, 1,440 and 14,400 points with
   batch sizes 1 and 32: updates per second, seconds, peak memory (one process per case).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
PRESETS = ["tutorial_regression", "tutorial_window", "tutorial_timesteps", "tutorial_stateful",
           "tutorial_stacked_stateful"]


def _compose(overrides: list[str]):
    from hydra import compose, initialize_config_dir

    from lstmts.commands.run import register_resolvers as _register_resolvers
    from lstmts.config import conf_dir

    _register_resolvers()
    with initialize_config_dir(config_dir=str(conf_dir()), version_base="1.3"):
        return compose("config", overrides=overrides)


ENGINES = {"keras": {"engine": "keras"}, "fused": {"engine": "fast", "jit_compile": False},
           "xla": {"engine": "fast", "jit_compile": True}}


def _train_once(cfg, prepared, engine: str) -> dict:
    from lstmts.evaluation import metrics as evaluation
    from lstmts.config import layer_units
    from lstmts.models.network import ModelSpec
    from lstmts.models.training import train

    windows = prepared.windows["train"]
    _, time_steps, features = windows.inputs.shape
    spec = ModelSpec(tuple(layer_units(cfg.model)), time_steps, features, bool(cfg.model.stateful),
                     cfg.training.batch_size)
    trained = train(spec, windows.inputs, windows.targets, epochs=cfg.training.epochs,
                    shuffle=cfg.training.shuffle, seed=cfg.seed, learning_rate=cfg.training.learning_rate,
                    **ENGINES[engine])
    test = prepared.windows["test"]
    predictions = prepared.pipeline.inverse(trained.predict(test.inputs), test.target_index, prepared.series.values)
    return {"seconds": trained.seconds, "updates": trained.updates, "spec": spec,
            "test_rmse": evaluation.rmse(prepared.series.values[test.target_index], predictions)}


def bench_presets(repeats: int, epochs: int) -> None:
    from lstmts.runs.runner import prepare
    from lstmts.models.training import uses_xla

    print(f"\n## Training time per preset ({epochs} epochs, {repeats} alternating run(s) each; median)\n")
    print("| preset | updates (tutorial / lstmts) | tutorial loop s | lstmts fused s (first run) | speed-up |"
          " lstmts XLA s (first run) | speed-up | jit_compile=auto takes | test RMSE tutorial loop / fused / XLA |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for preset in PRESETS:
        cfg = _compose([f"experiment={preset}", f"training.epochs={epochs}"])
        prepared = prepare(cfg)
        runs: dict[str, list[dict]] = {name: [] for name in ENGINES}
        for repeat in range(repeats):
            order = list(ENGINES) if repeat % 2 == 0 else list(reversed(ENGINES))
            for engine in order:
                runs[engine].append(_train_once(cfg, prepared, engine))
        seconds = {name: statistics.median(r["seconds"] for r in runs[name]) for name in ENGINES}
        rmse = {name: statistics.median(r["test_rmse"] for r in runs[name]) for name in ENGINES}
        print(f"| {preset} | {runs['keras'][0]['updates']:,} / {runs['fused'][0]['updates']:,} | {seconds['keras']:.2f} | "
              f"{seconds['fused']:.3f} ({runs['fused'][0]['seconds']:.2f}) | {seconds['keras'] / seconds['fused']:.1f}x | "
              f"{seconds['xla']:.3f} ({runs['xla'][0]['seconds']:.2f}) | {seconds['keras'] / seconds['xla']:.1f}x | "
              f"{'XLA' if uses_xla('auto', runs['xla'][0]['updates'], runs['xla'][0]['spec']) else 'fused'} | "
              f"{rmse['keras']:.2f} / {rmse['fused']:.2f} / {rmse['xla']:.2f} |", flush=True)


def _timed_process(command: list[str], env: dict) -> tuple[float, float, str]:
    """Return (wall seconds, peak RSS MiB, stdout) of one child process.

    Linux carries a parent's peak RSS over into a forked child's ru_maxrss, so this runs before
    this process imports TensorFlow (see main), while it is still small.
    """
    start = time.perf_counter()
    child = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env, cwd=ROOT,
                             text=True)
    output = child.stdout.read()
    _, status, usage = os.wait4(child.pid, 0)
    seconds = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(f"{command} failed")
    return seconds, usage.ru_maxrss / 1024, output


def bench_process(repeats: int, plain_lstmts: str | None = None) -> None:
    lstmts = str(Path(sys.executable).with_name("lstmts"))
    print(f"\n## Whole process, tutorial regression, 100 epochs ({repeats} alternating runs each)\n")
    with tempfile.TemporaryDirectory() as scratch:
        # Fresh caches: the first lstmts run compiles its XLA graph (when it uses XLA) and fits the
        # classical baselines; later runs load both.
        env = dict(os.environ, LSTMTS_CACHE=os.path.join(scratch, "cache"),
                   LSTMTS_XLA_CACHE=os.path.join(scratch, "cache", "xla"))
        commands = {
            "tutorial script": [sys.executable, "benchmarks/tutorial_script.py", "--plot", os.path.join(scratch, "t.png")],
            "lstmts": [lstmts, "experiment=tutorial_regression"],
            "lstmts training.jit_compile=true": [lstmts, "experiment=tutorial_regression", "training.jit_compile=true"],
        }
        if plain_lstmts:  # the README's first command's install: no extras (no tensorboard, statsforecast, ...)
            plain_python = str(Path(plain_lstmts).with_name("python"))
            commands["tutorial script, install without extras"] = [
                plain_python, "benchmarks/tutorial_script.py", "--plot", os.path.join(scratch, "t.png")]
            commands["lstmts, install without extras"] = [plain_lstmts, "experiment=tutorial_regression"]
        phases: dict[str, list[dict]] = {name: [] for name in commands}
        results: dict[str, list[tuple[float, float]]] = {name: [] for name in commands}
        for repeat in range(repeats):
            names = list(commands) if repeat % 2 == 0 else list(reversed(commands))
            for name in names:
                command = commands[name]
                if not name.startswith("tutorial script"):
                    command = [*command, f"hydra.run.dir={scratch}/run-{list(commands).index(name)}-{repeat}"]
                seconds, peak, _ = _timed_process(command, env)
                results[name].append((seconds, peak))
                if not name.startswith("tutorial script"):
                    run_dir = Path(command[-1].split("=", 1)[1])
                    phases[name].append(json.loads((run_dir / "metrics.json").read_text())["phases"])
    print("| command | wall s, median (each run) | peak memory MiB: first run, median, max |")
    print("| --- | --- | --- |")
    for name, runs in results.items():
        each = ", ".join(f"{s:.1f}" for s, _ in runs)
        peaks = [p for _, p in runs]
        print(f"| {name} | {statistics.median(s for s, _ in runs):.2f} ({each}) |"
              f" {peaks[0]:.0f}, {statistics.median(peaks):.0f}, {max(peaks):.0f} |")
    for name in commands:
        if name.startswith("tutorial script"):
            continue
        # Each install against the tutorial script run by the same install's Python.
        reference_name = "tutorial script, install without extras" if "without extras" in name else "tutorial script"
        reference = results[reference_name]
        ratio = statistics.median(s for s, _ in reference) / statistics.median(s for s, _ in results[name])
        memory = statistics.median(p for _, p in results[name]) / statistics.median(p for _, p in reference)
        print(f"\nwhole-process speed-up, {name}: {ratio:.2f}x; peak memory {memory:.3f}x the {reference_name}'s")
    print("(lstmts' first run starts from empty caches: it fits the classical baselines and, with XLA, compiles;"
          " later runs load both)")
    print("\nphases of the lstmts runs (metrics.json), median seconds:\n")
    names = [n for n in phases if phases[n]]
    keys = list(phases[names[0]][0])
    print("| command | " + " | ".join(keys) + " |")
    print("| --- | " + " | ".join("---" for _ in keys) + " |")
    for name in names:
        print(f"| {name} | " + " | ".join(f"{statistics.median(p[k] for p in phases[name]):.3f}" for k in keys) + " |")


def synthetic_series(length: int, seed: int = 0) -> np.ndarray:
    """Return a positive seasonal series with trend and noise (period 12)."""
    rng = np.random.default_rng(seed)
    t = np.arange(length)
    return 100 + 0.05 * t + 20 * np.sin(2 * np.pi * t / 12) + rng.normal(0, 3, length)


def _peak_mib() -> float:
    """Return this process's own peak RSS (VmHWM: unlike ru_maxrss, not inherited from the parent)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def scaling_case(length: int, batch_size: int, epochs: int, jit_compile: bool) -> dict:
    from lstmts.data.framing import make_windows, plan_periods
    from lstmts.models.network import ModelSpec
    from lstmts.models.training import train
    from lstmts.data.transforms import Pipeline

    values = synthetic_series(length)
    periods = plan_periods(length, 3, 0.67, drop_last=False, test_windows_inside_split=False)
    scaled = Pipeline(["minmax"]).fit(values[: periods.split]).transform(values)
    windows = make_windows(scaled, periods.train, 3, "timesteps")
    spec = ModelSpec((4,), 3, 1, False, batch_size)
    stamps = []
    trained = train(spec, windows.inputs, windows.targets, epochs=epochs, shuffle=True, seed=7, learning_rate=0.001,
                    jit_compile=jit_compile, on_epoch=lambda epoch, loss: stamps.append(time.perf_counter()))
    first_epoch = trained.seconds - (stamps[-1] - stamps[0])
    steady = (trained.updates - trained.updates // epochs) / (stamps[-1] - stamps[0])
    return {"points": length, "batch_size": batch_size, "epochs": epochs, "updates": trained.updates,
            "seconds": trained.seconds, "first_epoch_seconds": first_epoch, "steady_updates_per_second": steady,
            "peak_mib": _peak_mib()}


def bench_scaling(epochs: int) -> None:
    print(f"\n## Scaling of lstmts' engines (synthetic seasonal series, LSTM(4), look_back 3, {epochs} epochs, "
          f"one process per case; the first epoch includes tracing and, for XLA, the cold compile)\n")
    print("| points | batch size | updates | engine | seconds | of which first epoch | updates / s after it |"
          " peak memory MiB |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    with tempfile.TemporaryDirectory() as scratch:
        env = dict(os.environ, LSTMTS_XLA_CACHE=os.path.join(scratch, "xla"))
        for length in (144, 1_440, 14_400):
            for batch_size in (1, 32):
                for engine, jit_compile in (("fused", 0), ("XLA", 1)):
                    command = [sys.executable, __file__, "--scaling-case", str(length), str(batch_size), str(epochs),
                               str(jit_compile)]
                    _, _, output = _timed_process(command, env)
                    case = json.loads(output.strip().splitlines()[-1])
                    print(f"| {length:,} | {batch_size} | {case['updates']:,} | {engine} | {case['seconds']:.2f} | "
                          f"{case['first_epoch_seconds']:.2f} | {case['steady_updates_per_second']:,.0f} | "
                          f"{case['peak_mib']:.0f} |", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=100)
    parser.add_argument("--scaling-epochs", type=int, default=20)
    parser.add_argument("--skip-presets", action="store_true")
    parser.add_argument("--skip-process", action="store_true")
    parser.add_argument("--skip-scaling", action="store_true")
    parser.add_argument("--scaling-case", nargs=4, type=int, help=argparse.SUPPRESS)
    parser.add_argument("--plain-lstmts", default=None,
                        help="the lstmts command of a second install without extras, timed beside the others")
    args = parser.parse_args()
    os.environ.setdefault("LSTMTS_XLA_CACHE", "off")
    if args.scaling_case:
        length, batch_size, epochs, jit_compile = args.scaling_case
        print(json.dumps(scaling_case(length, batch_size, epochs, bool(jit_compile))))
        return
    print(f"# lstmts training benchmark ({os.cpu_count()} CPUs)")
    # Child processes first, while this process is small: see _timed_process.
    if not args.skip_process:
        bench_process(args.repeats, args.plain_lstmts)
    if not args.skip_scaling:
        bench_scaling(args.scaling_epochs)
    if not args.skip_presets:
        from lstmts.backend import load

        _, tf = load()
        print(f"\n(in-process part: TensorFlow {tf.__version__})")
        bench_presets(args.repeats, args.epochs)


if __name__ == "__main__":
    main()
