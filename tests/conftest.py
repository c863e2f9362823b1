"""Shared fixtures: configs composed in-process, a quietly loaded Keras, a private XLA cache."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir

from lstmts.commands.run import register_resolvers as _register_resolvers
from lstmts.config import conf_dir

# A loaded machine is slow, not broken: every wait on a subprocess is its time on an idle machine
# times this factor (LSTMTS_TEST_TIMEOUT_SCALE, default 5). The basic sweep takes 29 s idle and over
# 240 s on two cores shared with other suites; a timeout only has to catch a command that hangs.
TIMEOUT_SCALE = float(os.environ.get("LSTMTS_TEST_TIMEOUT_SCALE", "5"))


def scaled(seconds: float) -> float:
    """Return a timeout of `seconds` on an idle machine, scaled for this one (LSTMTS_TEST_TIMEOUT_SCALE)."""
    return seconds * TIMEOUT_SCALE


@pytest.fixture(scope="session", autouse=True)
def private_caches(tmp_path_factory) -> dict[str, Path]:
    """Point lstmts' caches (compiled XLA programs, classical baselines) at folders of this session.

    Returns {environment variable: folder}; nothing is read from or written to ~/.cache.
    """
    with pytest.MonkeyPatch.context() as patch:
        folders = {}
        for variable, name in (("LSTMTS_XLA_CACHE", "xla-cache"), ("LSTMTS_CACHE", "lstmts-cache")):
            folders[variable] = tmp_path_factory.mktemp(name)
            patch.setenv(variable, str(folders[variable]))
        yield folders


@pytest.fixture(scope="session")
def compose_config():
    """Return a function that composes the lstmts config with Hydra overrides, as the CLI would."""
    _register_resolvers()

    def _compose(*overrides: str):
        with initialize_config_dir(config_dir=str(conf_dir()), version_base="1.3"):
            return compose(config_name="config", overrides=list(overrides))

    return _compose


@pytest.fixture(scope="session")
def airline_copy():
    """Return a function that writes the airline CSV to folder/name, its passengers changed by `change`
    (a function of the values) when given, and returns the path."""
    import pandas as pd

    from lstmts.config import airline_csv

    def _copy(folder: Path, name: str, change=None) -> Path:
        frame = pd.read_csv(airline_csv())
        if change is not None:
            frame["Passengers"] = change(frame["Passengers"].to_numpy(dtype=float))
        path = folder / name
        frame.to_csv(path, index=False)
        return path

    return _copy


@pytest.fixture(scope="session")
def keras():
    """Return keras, imported the way lstmts imports it (quiet, one thread)."""
    from lstmts.backend import load

    keras, _ = load()
    return keras


# Set by lstmts.backend.load() in the pytest process, or by a developer's shell: the command must
# start without them to show what a user gets.
_NOT_INHERITED = ("TF_CPP_MIN_LOG_LEVEL", "TF_XLA_FLAGS", "KERAS_BACKEND", "COLUMNS", "LINES", "HYDRA_FULL_ERROR")


class Cli:
    """The installed `lstmts` command, run in subprocesses with this session's private caches."""

    timeout = scaled(240)

    def __init__(self, env: dict) -> None:
        self.env = env
        beside_python = Path(sys.executable).parent / "lstmts"
        found = str(beside_python) if beside_python.exists() else shutil.which("lstmts")
        assert found, "the lstmts console script is not installed"
        self.command = found

    def start(self, args: list[str], cwd: Path) -> subprocess.Popen:
        return subprocess.Popen([self.command, *map(str, args)], env=self.env, cwd=cwd,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    def finish(self, process: subprocess.Popen) -> subprocess.CompletedProcess:
        stdout, stderr = process.communicate(timeout=self.timeout)
        return subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr)

    def run(self, args: list[str], cwd: Path) -> subprocess.CompletedProcess:
        return self.finish(self.start(args, cwd))

    @staticmethod
    @contextlib.contextmanager
    def ended(process: subprocess.Popen):
        """Run a block with `process`; whatever happens in it, the process is not left running."""
        try:
            yield process
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()

    @staticmethod
    def error_line(result: subprocess.CompletedProcess) -> str:
        """Return the one `lstmts: error:` line of a failed command, checking that it is all it said on stderr."""
        assert result.returncode != 0, result.stdout
        assert "Traceback" not in result.stdout + result.stderr, result.stderr
        lines = [line for line in result.stderr.splitlines() if line.strip()]
        assert len(lines) == 1, result.stderr
        assert lines[0].startswith("lstmts: error: "), result.stderr
        return lines[0]


@pytest.fixture(scope="session")
def lstmts_cli(private_caches) -> Cli:
    """Return a runner of the installed `lstmts` command whose caches are this session's tmp folders."""
    env = {k: v for k, v in os.environ.items() if k not in _NOT_INHERITED}
    env.update({variable: str(folder) for variable, folder in private_caches.items()})
    return Cli(env)


# --- helpers shared by several test modules ---------------------------------------------------

def children(pid: int) -> set[int]:
    """Return the pids of a process's children (Linux's /proc), or none once it is gone."""
    try:
        return {int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()}
    except OSError:
        return set()


def gone(pid: int) -> bool:
    """Return True when the process has ended (or is a zombie waiting to be reaped)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return True
    return state in ("Z", "X")


class StubState:
    """A scalar LSTM state variable of a stub model: numpy() and assign(), as a Keras variable has."""

    def __init__(self) -> None:
        import numpy as np

        self.value = np.zeros(())

    def numpy(self):
        return self.value.copy()

    def assign(self, value) -> None:
        import numpy as np

        self.value = np.array(value, dtype="float64")
