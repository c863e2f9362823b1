"""Which engine trains an update faster: the fused kernels or XLA, by batch rows x time steps.

    python benchmarks/bench_engines.py            # about 2 minutes on 2 cores
    python benchmarks/bench_engines.py --shapes 32,16,52 32,32,52   # other (batch, units, time steps)

For each shape (batch size, units, time steps) it trains the same stateless network on random
windows with both engines, each first warmed with one epoch on the same arrays (so XLA's compile
is not counted), and prints milliseconds per update, their ratio, XLA's compile (its warm-up epoch
less its updates; with LSTMTS_CACHE=off, never from the disk cache), and which engine
`training.jit_compile=auto` takes (`lstmts.models.training.uses_xla`, for a run long enough to
compile). Every ratio is measured inside this one invocation; run it with nothing else running.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

SHAPES = [(32, 32, 48), (64, 64, 12), (256, 32, 12), (256, 64, 6), (64, 32, 48), (128, 64, 24), (256, 64, 12),
          (128, 32, 48), (256, 32, 24), (256, 64, 24), (512, 8, 24), (256, 16, 48), (256, 32, 48)]


def per_update_ms(shape: tuple[int, int, int], updates: int) -> tuple[float, float, float]:
    """Return (fused, XLA) milliseconds per update for one (batch, units, steps), after a warm-up epoch each,
    and the seconds XLA's warm-up epoch took beyond its updates (its trace and compile)."""
    from lstmts.models.network import ModelSpec
    from lstmts.models.training import train

    batch, units, steps = shape
    rng = np.random.default_rng(0)
    samples = batch * updates // 2
    inputs = rng.normal(size=(samples, steps, 1)).astype(np.float32)
    targets = rng.normal(size=(samples, 6)).astype(np.float32)
    spec = ModelSpec(units=(units,), time_steps=steps, features=1, stateful=False, batch_size=batch, outputs=6)
    times = []
    for jit_compile in (False, True):
        settings = dict(shuffle=True, seed=1, learning_rate=0.002, engine="fast", jit_compile=jit_compile)
        started = time.perf_counter()
        warm = train(spec, inputs, targets, epochs=1, **settings)
        first = time.perf_counter() - started
        trained = train(spec, inputs, targets, epochs=2, **settings)
        times.append(1000 * trained.seconds / trained.updates)
    return times[0], times[1], first - warm.updates * times[1] / 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--updates", type=int, default=80, help="updates timed per engine and shape")
    parser.add_argument("--shapes", nargs="*", default=None, metavar="BATCH,UNITS,STEPS",
                        help="the shapes to time instead of the default ones, e.g. 32,16,52")
    args = parser.parse_args()
    shapes = [tuple(int(v) for v in shape.split(",")) for shape in args.shapes] if args.shapes else SHAPES
    from lstmts.models.network import ModelSpec
    from lstmts.models.training import uses_xla

    print("| batch | units | time steps | rows x steps | fused ms/update | XLA ms/update | XLA / fused | XLA compile s"
          " | auto takes |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for shape in shapes:
        batch, units, steps = shape
        fused, xla, compile_seconds = per_update_ms(shape, args.updates)
        spec = ModelSpec(units=(units,), time_steps=steps, features=1, stateful=False, batch_size=batch, outputs=6)
        chosen = "XLA" if uses_xla("auto", 10**6, spec) else "fused"
        print(f"| {batch} | {units} | {steps} | {batch * steps} | {fused:.2f} | {xla:.2f} | {xla / fused:.2f} |"
              f" {compile_seconds:.1f} | {chosen} |", flush=True)


if __name__ == "__main__":
    main()
