"""Plant one small bug at a time in lstmts' core modules and check that their fast tests catch it.

    .venv/bin/python tools/mutate.py                      # every core module (about 30 minutes on one core)
    .venv/bin/python tools/mutate.py --module framing     # one module
    .venv/bin/python tools/mutate.py --module naive --limit 10 --list

Each mutant is one edit of the module's syntax tree: a comparison turned round (< to <=, == to
!=), an arithmetic operator swapped (+ and -, * and /, // and /), an integer constant off by one,
a `+ 1` or `- 1` dropped, a unary minus dropped, `and`/`or` swapped, a `not` dropped, min/max
swapped, or the first two arguments of a call swapped. Messages (f-strings, raise statements,
log calls) and docstrings are left alone: a wrong word is not the bug this looks for.

The source tree is copied to a temporary folder and the mutant written there; the tests run with
that copy first on sys.path, so the checkout is never changed, even when this is killed. Each test
run is a fork of this process, which has imported numpy, pandas, pytest and the like once. A mutant
is killed when its test subset fails (or runs past the timeout); the survivors are listed with
file:line and the edit, to be killed by a new test or explained as equivalent in tools/MUTATION.md.
"""

from __future__ import annotations

import argparse
import ast
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# Module → (source file, the fast tests that should catch its bugs (pytest arguments), functions to
# mutate or None for all).
# The runner is mutated where it decides what is fitted, framed, forecast and scored; its file and
# folder handling (locks, atomic writes, logging) is tested by test_run_folders and test_faults, which
# take minutes, not seconds.
MODULES = {
    "framing": ("src/lstmts/data/framing.py", ["tests/test_framing.py", "tests/test_properties.py"], None),
    "transforms": ("src/lstmts/data/transforms.py", ["tests/test_transforms.py", "tests/test_properties.py",
                                                     "tests/test_forecaster.py", "tests/test_leakage.py",
                                                     "-k", "not classical and not trained"], None),
    "metrics": ("src/lstmts/evaluation/metrics.py", ["tests/test_evaluation.py"], None),
    "naive": ("src/lstmts/evaluation/naive.py", ["tests/test_evaluation.py", "tests/test_horizons.py"], None),
    "horizons": ("src/lstmts/evaluation/horizons.py", ["tests/test_horizons.py"], None),
    "scoring": ("src/lstmts/evaluation/scoring.py", ["tests/test_evaluation.py", "tests/test_horizons.py",
                                                     "tests/test_ranking.py"], None),
    "forecaster": ("src/lstmts/models/forecaster.py", ["tests/test_forecaster.py"], None),
    # Training is mutated where it decides the sample order, the update count, the engine and the
    # predictions; its tests train tiny models with the fused kernels and Keras' fit (no XLA compile).
    "training": ("src/lstmts/models/training.py",
                 ["tests/test_training.py", "tests/test_engines.py", "-k",
                  "orders or updates_per_epoch or jit_compile_auto or fused_seconds or (test_engines and not xla and"
                  " (batch4-partial or shuffles or (stateless_prediction and 3-) or partial_last_batch"
                  " or validation_losses or keras_fit))"],
                 ["sample_orders", "updates_per_epoch", "fused_seconds", "uses_xla", "train", "_with_validation"]),
    "runner": ("src/lstmts/runs/runner.py", ["tests/test_leakage.py", "tests/test_runner_steps.py",
                                             "tests/test_refit.py", "-k", "not classical and not trained"],
               ["prepare", "model_outputs", "_training_end", "_calibration_origins", "refit", "forecast"]),
    "comparison": ("src/lstmts/runs/comparison.py", ["tests/test_ranking.py"],
                   ["comparison_frame", "group_over", "ranking_metric", "_metric_row"]),
    "ranking": ("src/lstmts/report/ranking.py", ["tests/test_ranking.py"], ["ranking_metric_of"]),
    # Collections: competition scoring and baselines, and the collection runner's scaling, windows and
    # global model (its tests that run whole collections take minutes: not run per mutant).
    "competition": ("src/lstmts/evaluation/competition.py",
                    ["tests/test_collection.py", "-k", "smape or mase or seasonal_naive_repeats or summary"
                     " or naive_baselines"],
                    ["smape", "mase_scale", "mase", "rmse", "scores", "naive", "seasonal_naive", "summarise"]),
    # Intervals: the conformal arithmetic (the tests that run a whole experiment are left out per mutant).
    "intervals": ("src/lstmts/evaluation/intervals.py",
                  ["tests/test_intervals.py", "-k", "not a_run_reports and not calibrated_on_targets"], None),
    "shards": ("src/lstmts/runs/shards.py", ["tests/test_shards.py"], ["merged_metrics", "merge_shards", "_shard_key"]),
    # Resume: what keeps a finished run (its config, seed and data file's bytes).
    "resume": ("src/lstmts/runs/runner.py", ["tests/test_runner.py", "tests/test_collection.py", "-k", "resume"],
               ["config_fingerprint", "finished_run", "data_sha256"]),
    "collection": ("src/lstmts/runs/collection.py",
                   ["tests/test_collection.py", "-k", "scale or windows or too_short or global_model_trains"
                    " or global_ensemble"],
                   ["fit", "forward", "inverse", "windows", "origin_input", "too_short", "_shape", "_forecast_global"]),
}

_COMPARE_SWAPS = {ast.Lt: ast.LtE, ast.LtE: ast.Lt, ast.Gt: ast.GtE, ast.GtE: ast.Gt, ast.Eq: ast.NotEq,
                  ast.NotEq: ast.Eq, ast.Is: ast.IsNot, ast.IsNot: ast.Is, ast.In: ast.NotIn, ast.NotIn: ast.In}
_BINOP_SWAPS = {ast.Add: ast.Sub, ast.Sub: ast.Add, ast.Mult: ast.Div, ast.Div: ast.Mult, ast.FloorDiv: ast.Div,
                ast.Mod: ast.FloorDiv, ast.Pow: ast.Mult}

# Swapping these calls' arguments only makes a TypeError that any test sees, or (min, max) changes nothing.
_NOT_SWAPPED = {"getattr", "setattr", "hasattr", "isinstance", "issubclass", "min", "max"}


@dataclass(frozen=True)
class Mutant:
    node: int  # position of the node in ast.walk order
    kind: str
    line: int
    what: str


def _quiet_nodes(tree: ast.AST) -> set[int]:
    """Return the ids of nodes inside f-strings, raise statements, log calls, reshape's arguments and indent=.

    reshape(-1, 1) off by one either fails at once or, as reshape(-2, 1), means the same to NumPy.
    """
    quiet: set[int] = set()
    for node in ast.walk(tree):
        is_log = (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                  and isinstance(node.func.value, ast.Name) and node.func.value.id in ("log", "logging"))
        if isinstance(node, (ast.JoinedStr, ast.Raise)) or is_log:
            quiet.update(id(child) for child in ast.walk(node))
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "reshape":
            for argument in node.args:
                quiet.update(id(child) for child in ast.walk(argument) if isinstance(child, ast.Constant))
        if isinstance(node, ast.keyword) and node.arg == "indent":  # JSON's layout, not its content
            quiet.add(id(node.value))
    return quiet


def _in_functions(tree: ast.AST, names: list[str] | None) -> set[int] | None:
    if names is None:
        return None
    inside: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name in names:
            for statement in node.body:
                inside.update(id(child) for child in ast.walk(statement))
    return inside


def _mutations(node: ast.AST) -> list[tuple[str, str]]:
    """Return (kind, description) of every mutation of this very node."""
    found = []
    if isinstance(node, ast.Compare) and len(node.ops) == 1 and type(node.ops[0]) in _COMPARE_SWAPS:
        found.append(("compare", f"{type(node.ops[0]).__name__} -> {_COMPARE_SWAPS[type(node.ops[0])].__name__}"))
    if isinstance(node, ast.BinOp):
        if type(node.op) in _BINOP_SWAPS:
            found.append(("binop", f"{type(node.op).__name__} -> {_BINOP_SWAPS[type(node.op)].__name__}"))
        if isinstance(node.op, (ast.Add, ast.Sub)) and isinstance(node.right, ast.Constant) and node.right.value == 1:
            found.append(("drop_one", f"drop {'+' if isinstance(node.op, ast.Add) else '-'} 1"))
    # Limits such as 1_000_000 or 5000 are not off by one in any way that matters.
    if isinstance(node, ast.Constant) and type(node.value) is int and abs(node.value) < 100:
        found.append(("plus_one", f"{node.value} -> {node.value + 1}"))
        if node.value > 0:
            found.append(("minus_one", f"{node.value} -> {node.value - 1}"))
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub) and not isinstance(node.operand, ast.Constant):
        found.append(("drop_minus", "drop unary -"))
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
        found.append(("drop_not", "drop not"))
    if isinstance(node, ast.BoolOp):
        found.append(("boolop", f"{type(node.op).__name__} -> {'Or' if isinstance(node.op, ast.And) else 'And'}"))
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in ("min", "max"):
        found.append(("minmax", f"{node.func.id} -> {'max' if node.func.id == 'min' else 'min'}"))
    if (isinstance(node, ast.Call) and len(node.args) >= 2 and not any(isinstance(a, ast.Starred) for a in node.args[:2])
            and not (isinstance(node.func, ast.Name) and node.func.id in _NOT_SWAPPED)):
        if ast.dump(node.args[0]) != ast.dump(node.args[1]):
            found.append(("swap_args", "swap the first two arguments"))
    return found


def _apply(node: ast.AST, kind: str) -> None:
    if kind == "compare":
        node.ops = [_COMPARE_SWAPS[type(node.ops[0])]()]
    elif kind == "binop":
        node.op = _BINOP_SWAPS[type(node.op)]()
    elif kind == "plus_one":
        node.value += 1
    elif kind == "minus_one":
        node.value -= 1
    elif kind == "boolop":
        node.op = ast.Or() if isinstance(node.op, ast.And) else ast.And()
    elif kind == "minmax":
        node.func.id = "max" if node.func.id == "min" else "min"
    elif kind == "swap_args":
        node.args[0], node.args[1] = node.args[1], node.args[0]
    else:
        raise ValueError(kind)


class _Replace(ast.NodeTransformer):
    """Replace one node by its operand: `x + 1` by x, `-x` by x, `not x` by x."""

    def __init__(self, target: ast.AST) -> None:
        self.target = target

    def visit(self, node):
        if node is self.target:
            return node.left if isinstance(node, ast.BinOp) else node.operand
        return super().visit(node)


def list_mutants(source: str, functions: list[str] | None) -> list[Mutant]:
    """Return every mutant of a module's source, in source order."""
    tree = ast.parse(source)
    quiet = _quiet_nodes(tree)
    inside = _in_functions(tree, functions)
    docstrings = {id(n.body[0].value) for n in ast.walk(tree)
                  if isinstance(n, (ast.Module, ast.FunctionDef, ast.ClassDef, ast.AsyncFunctionDef))
                  and n.body and isinstance(n.body[0], ast.Expr) and isinstance(n.body[0].value, ast.Constant)}
    mutants = []
    for position, node in enumerate(ast.walk(tree)):
        if id(node) in quiet or id(node) in docstrings or (inside is not None and id(node) not in inside):
            continue
        for kind, what in _mutations(node):
            mutants.append(Mutant(position, kind, getattr(node, "lineno", 0), what))
    return sorted(mutants, key=lambda m: (m.line, m.node, m.kind))


def mutated_source(source: str, mutant: Mutant) -> str:
    """Return the module's source with one mutant applied."""
    tree = ast.parse(source)
    node = next(n for position, n in enumerate(ast.walk(tree)) if position == mutant.node)
    if mutant.kind in ("drop_one", "drop_minus", "drop_not"):
        tree = _Replace(node).visit(tree)
    else:
        _apply(node, mutant.kind)
    return ast.unparse(ast.fix_missing_locations(tree))


# Imported once by this process so that each mutant's forked test run starts in a fraction of a second;
# lstmts itself (and TensorFlow) is imported by every child afresh, from the mutated copy.
_PRELOADED = ("numpy", "pandas", "scipy.stats", "sklearn.preprocessing", "omegaconf", "hydra", "yaml", "rich",
              "pytest", "hypothesis", "_pytest.python", "matplotlib")


def _preload(copy: Path) -> None:
    import importlib

    sys.dont_write_bytecode = True  # a mutant of the same size in the same second must not run old bytecode
    os.environ["PYTHONDONTWRITEBYTECODE"] = "1"
    os.environ["LSTMTS_MUTATION_COPY"] = str(copy)
    sys.path.insert(0, str(copy / "src"))
    for name in _PRELOADED:
        try:
            importlib.import_module(name)
        except ImportError:
            pass


def _pytest(copy: Path, tests: list[str], timeout: float) -> tuple[bool, float]:
    """Run the tests against the copy in a forked child; return (passed, seconds)."""
    start = time.perf_counter()
    child = os.fork()
    if child == 0:  # the child: run pytest quietly and leave with its status
        os.chdir(ROOT)
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 1)
        os.dup2(devnull, 2)
        status = 3
        try:
            import pytest

            status = int(pytest.main(["-q", "-x", "-p", "no:cacheprovider", "--no-header", "-o", "addopts=", *tests]))
        finally:
            os._exit(status)
    deadline = start + timeout
    while True:
        done, status = os.waitpid(child, os.WNOHANG)
        if done:
            return os.waitstatus_to_exitcode(status) == 0, time.perf_counter() - start
        if time.perf_counter() > deadline:
            os.kill(child, 9)
            os.waitpid(child, 0)
            return False, time.perf_counter() - start
        time.sleep(0.05)


def _check_copy_is_imported(copy: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(copy / "src")}
    found = subprocess.run([sys.executable, "-c", "import lstmts; print(lstmts.__file__)"], env=env,
                           capture_output=True, text=True, check=True).stdout.strip()
    # The forked children import lstmts through sys.path, as this child did through PYTHONPATH.
    if not found.startswith(str(copy)):
        sys.exit(f"mutate: the tests would import lstmts from {found}, not from the mutated copy in {copy}")


def run_module(name: str, copy: Path, limit: int | None, only_list: bool) -> tuple[int, int, list[str]]:
    """Mutate one module; return (killed, total, survivor lines)."""
    path, tests, functions = MODULES[name]
    source = (ROOT / path).read_text()
    mutants = list_mutants(source, functions)
    if limit is not None:
        mutants = mutants[:limit]
    if only_list:
        for mutant in mutants:
            print(f"{path}:{mutant.line}: {mutant.what}")
        return 0, len(mutants), []
    target = copy / path
    passed, seconds = _pytest(copy, tests, timeout=900)
    if not passed:
        sys.exit(f"mutate: the tests of {name} fail without any mutation: {' '.join(tests)}")
    timeout = max(30.0, 4 * seconds)
    killed, survivors = 0, []
    print(f"{name}: {len(mutants)} mutants, tests take {seconds:.1f} s", flush=True)
    try:
        for number, mutant in enumerate(mutants, 1):
            target.write_text(mutated_source(source, mutant))
            passed, _ = _pytest(copy, tests, timeout)
            if passed:
                survivors.append(f"{path}:{mutant.line}: {mutant.what}")
                print(f"  [{number}/{len(mutants)}] SURVIVED {path}:{mutant.line}: {mutant.what}", flush=True)
            else:
                killed += 1
    finally:
        target.write_text(source)
    print(f"{name}: killed {killed}/{len(mutants)}", flush=True)
    return killed, len(mutants), survivors


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--module", action="append", choices=sorted(MODULES),
                        help="a core module to mutate (repeatable; default: all of them)")
    parser.add_argument("--limit", type=int, default=None, help="at most this many mutants per module")
    parser.add_argument("--list", action="store_true", help="list the mutants without running any test")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="lstmts-mutate-") as folder:
        copy = Path(folder)
        for part in ("src", "conf", "data"):
            if (ROOT / part).exists():
                shutil.copytree(ROOT / part, copy / part, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
        _check_copy_is_imported(copy)
        _preload(copy)
        totals = [0, 0]
        all_survivors = []
        start = time.perf_counter()
        for name in args.module or list(MODULES):
            killed, total, survivors = run_module(name, copy, args.limit, args.list)
            totals[0] += killed
            totals[1] += total
            all_survivors += survivors
    if args.list:
        print(f"{totals[1]} mutants")
        return 0
    share = 100 * totals[0] / totals[1] if totals[1] else 100.0
    print(f"\nkilled {totals[0]}/{totals[1]} ({share:.1f} %) in {(time.perf_counter() - start) / 60:.1f} min")
    for line in all_survivors:
        print(f"survived: {line}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
