"""Importing TensorFlow and Keras quietly, once, with settings that suit tiny networks."""

from __future__ import annotations

import contextlib
import gc
import os
import sys
import time

from lstmts.errors import UserError

_LOADED = None
_LOAD_SECONDS = 0.0


def load_seconds() -> float:
    """Return how long importing TensorFlow and Keras took in this process (0 before it is loaded)."""
    return _LOAD_SECONDS


@contextlib.contextmanager
def _stderr_silenced(enabled: bool):
    """Send file descriptor 2 to /dev/null: TensorFlow's C++ start-up lines bypass Python logging."""
    if not enabled:
        yield
        return
    sys.stderr.flush()
    saved = os.dup(2)
    with open(os.devnull, "w") as devnull:
        os.dup2(devnull.fileno(), 2)
    try:
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


@contextlib.contextmanager
def gc_paused():
    """Import a large library without Python's cyclic garbage collector walking it.

    Importing TensorFlow, Keras and scikit-learn creates a few million objects that live as long
    as the process. While they load, the collector would walk them again and again; afterwards,
    every full collection would walk them once more (together about 0.8 s of a 4.5 s tutorial
    run here). So the collector pauses during the import, and the objects are then moved out of
    its sight (`gc.freeze`); objects made later are collected as usual.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        if was_enabled:
            gc.enable()


def cache_dir(name: str) -> str | None:
    """Return the lstmts cache folder `name`, or None when caching is off.

    LSTMTS_CACHE names the root ("off" disables every cache); the default is
    $XDG_CACHE_HOME/lstmts (~/.cache/lstmts).
    """
    root = os.environ.get("LSTMTS_CACHE")
    if root is not None and root.lower() in ("", "off", "0", "none"):
        return None
    if root is None:
        base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
        root = os.path.join(base, "lstmts")
    return os.path.join(root, name)


def xla_cache_dir() -> str | None:
    """Return the folder for XLA's persistent compilation cache, or None when disabled.

    LSTMTS_XLA_CACHE names the folder ("off" disables it); otherwise cache_dir("xla").
    """
    chosen = os.environ.get("LSTMTS_XLA_CACHE")
    if chosen is not None:
        return None if chosen.lower() in ("", "off", "0", "none") else chosen
    return cache_dir("xla")


def _enable_xla_cache() -> None:
    # A later process with the same graph loads the compiled epoch loop instead of compiling it
    # again (about half a second per run). TensorFlow reads TF_XLA_FLAGS once, at import.
    folder = xla_cache_dir()
    if folder is None or "tf_xla_persistent_cache_directory" in os.environ.get("TF_XLA_FLAGS", ""):
        return
    try:
        os.makedirs(folder, exist_ok=True)
    except OSError:
        return  # an unwritable cache only costs time
    flags = os.environ.get("TF_XLA_FLAGS", "")
    os.environ["TF_XLA_FLAGS"] = f"{flags} --tf_xla_persistent_cache_directory={folder}".strip()


def tf_threads() -> int:
    """Return the threads of each TensorFlow pool: LSTMTS_TF_THREADS, 1 by default, 0 for TensorFlow's own choice."""
    text = os.environ.get("LSTMTS_TF_THREADS", "1")
    try:
        threads = int(text)
    except ValueError:
        threads = -1
    if threads < 0:
        raise UserError(f"LSTMTS_TF_THREADS={text!r} is impossible; use a whole number of threads per TensorFlow pool,"
                        f" e.g. LSTMTS_TF_THREADS=4, 0 for TensorFlow's own choice, or unset it for 1")
    return threads


# Keras imports these at its own import, each inside `try: ... except ImportError`, for features
# lstmts never calls (image galleries, scikit-learn wrappers). Together with what they pull in
# (scipy.stats) they were 1.1-1.5 s of TensorFlow's 4.5 s import here. lstmts loads pyplot on a
# second thread while the network trains (report.plots.prefetch) and needs no scikit-learn.
KERAS_OPTIONAL = ("matplotlib.pyplot", "sklearn")


@contextlib.contextmanager
def _kept_out(names: tuple[str, ...]):
    """Make `import name` fail inside the block for each name not imported yet (as if not installed).

    Only the block is affected: afterwards the names import as usual, and a module that was already
    imported stays untouched.
    """
    blocked = [name for name in names if name not in sys.modules]
    for name in blocked:
        sys.modules[name] = None  # the import system's "not importable" marker
    try:
        yield
    finally:
        for name in blocked:
            if sys.modules.get(name, 0) is None:
                del sys.modules[name]


def load(show_tf_log: bool = False):
    """Return (keras, tensorflow), importing them on first use.

    TensorFlow's log lines are hidden unless show_tf_log. Both thread pools are set to one
    thread: for networks of a few hundred weights, thread hand-offs cost more than they save
    (set LSTMTS_TF_THREADS to change it; 0 lets TensorFlow choose).
    """
    global _LOADED, _LOAD_SECONDS
    if _LOADED is not None:
        return _LOADED
    started = time.perf_counter()
    threads = tf_threads()  # before the import: a mistyped value costs no wait
    if not show_tf_log:
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    _enable_xla_cache()
    with _stderr_silenced(not show_tf_log), gc_paused(), _kept_out(KERAS_OPTIONAL):
        import tensorflow as tf
        import keras
    try:
        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(threads)
    except RuntimeError:
        pass  # TensorFlow was already initialised by the caller; keep its settings.
    if not show_tf_log:
        tf.get_logger().setLevel("ERROR")
    _LOADED = (keras, tf)
    _LOAD_SECONDS = time.perf_counter() - started
    return _LOADED
