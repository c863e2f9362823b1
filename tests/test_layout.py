"""Tests of the package layout: imports point down only, never in a circle, never into tensorflow.python.

Read with `ast` from the source files, so the whole package is checked, imports inside
functions included, without importing (or running) any of it.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "lstmts"

# Each step of the data flow, top to bottom; a module may import its own step or any step below.
LAYERS = [
    {"cli"},
    {"commands"},
    {"search"},
    {"runs"},
    {"report", "evaluation"},
    {"models"},
    {"data"},
    {"config", "backend", "errors"},
]


def module_name(path: Path, package: Path = PACKAGE) -> str:
    parts = list(path.relative_to(package.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports_of(path: Path) -> set[str]:
    """Return every module that `path` imports anywhere in its body (absolute names)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            assert node.level == 0, f"{path}: use absolute imports (from lstmts.x import y)"
            found.add(node.module)
            # `from lstmts.report import files` imports the module lstmts.report.files.
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


def import_graph(package: Path = PACKAGE) -> dict[str, set[str]]:
    """Return {module: the package's own modules it imports} for every module under `package`."""
    paths = {module_name(p, package): p for p in package.rglob("*.py")}
    return {name: {m for m in imports_of(path) if m in paths and m != name} for name, path in paths.items()}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Return the import circles of `graph`, each as a path that ends where it began."""
    found, state = [], {}

    def visit(node: str, stack: list[str]) -> None:
        state[node] = "open"
        for target in sorted(graph.get(node, ())):
            if state.get(target) == "open":
                found.append(stack[stack.index(target):] + [target])
            elif target not in state:
                visit(target, stack + [target])
        state[node] = "done"

    for node in sorted(graph):
        if node not in state:
            visit(node, [node])
    return found


def layer(module: str) -> int:
    step = module.split(".")[1] if "." in module else module
    for rank, steps in enumerate(LAYERS):
        if step in steps:
            return rank
    raise AssertionError(f"{module} belongs to no step of LAYERS; add its folder there")


def test_no_import_circles():
    assert cycles(import_graph()) == []


def test_imports_point_down_the_data_flow():
    upward = [f"{source} -> {target}" for source, targets in import_graph().items() for target in targets
              if source.count(".") and target.count(".") and layer(target) < layer(source)]
    assert upward == []


def test_no_private_tensorflow_import():
    private = [f"{module_name(p)} imports {m}" for p in PACKAGE.rglob("*.py") for m in imports_of(p)
               if m == "tensorflow.python" or m.startswith("tensorflow.python.")]
    assert private == []


def test_every_module_has_a_step():
    for module in import_graph():
        if module != "lstmts":
            layer(module)


def test_the_checks_catch_a_circle_an_upward_import_and_a_private_import(tmp_path):
    package = tmp_path / "lstmts"
    (package / "data").mkdir(parents=True)
    (package / "runs").mkdir()
    (package / "__init__.py").write_text("")
    (package / "data" / "__init__.py").write_text("")
    (package / "runs" / "__init__.py").write_text("")
    (package / "data" / "series.py").write_text("from lstmts.runs import runner\n")
    (package / "runs" / "runner.py").write_text("def f():\n    from lstmts.data.series import x\n")
    (package / "data" / "kernels.py").write_text("from tensorflow.python.ops import gen_rnn_ops\n")
    graph = import_graph(package)
    assert cycles(graph) == [["lstmts.data.series", "lstmts.runs.runner", "lstmts.data.series"]]
    assert layer("lstmts.runs.runner") < layer("lstmts.data.series")
    assert "tensorflow.python.ops" in imports_of(package / "data" / "kernels.py")


@pytest.mark.parametrize("kernel", ["BlockLSTMV2", "BlockLSTMGradV2", "ResourceApplyAdam"])
def test_the_fused_kernels_are_public_raw_ops(kernel):
    # The fused engine's kernels: a TensorFlow upgrade that drops one fails here, by name.
    from lstmts.backend import load

    _, tf = load()
    assert callable(getattr(tf.raw_ops, kernel))
