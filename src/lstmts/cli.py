"""The `lstmts` command: dispatch to a subcommand (`compare`, `forecast`) or to Hydra runs and sweeps.

Nothing here imports TensorFlow: `lstmts --help` and `lstmts compare --help` stay fast.
"""

from __future__ import annotations

import atexit
import gc
import logging
import os
import signal
import sys
import threading

from lstmts.errors import UserError, fail, stop_reason

SUBCOMMANDS = ("compare", "forecast")


def main() -> None:
    """Entry point of the `lstmts` console script."""
    try:
        _main(sys.argv[1:])
    except BrokenPipeError:
        # Output piped into `head` and the like: stop quietly, as other command-line tools do.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        raise SystemExit(1) from None
    except SystemExit as stop:
        _exit(stop.code)
    except KeyboardInterrupt as stop:
        # A stop that came between jobs (while Hydra composed the next one): the runs that
        # finished are in their folders and the sweep's summary is written.
        name, code = stop_reason(stop)
        print(f"lstmts: interrupted by {name}", file=sys.stderr)
        _exit(code)
    _exit(0)


def _exit(code: int | str | None) -> None:
    """End the process with `code`, skipping the interpreter's teardown once TensorFlow is loaded.

    Unloading TensorFlow's few thousand modules and native libraries takes about a second, longer
    than a whole tutorial-sized training run. Everything a run writes is closed by now; the exit
    handlers still run, logs and streams are flushed, and then the process ends at once. With
    another non-daemon thread still alive (a launcher's worker pool), Python's own exit waits
    for it as usual.
    """
    others = [t for t in threading.enumerate() if t is not threading.main_thread() and not t.daemon]
    if "tensorflow" not in sys.modules or others:
        raise SystemExit(code)
    # The work is done and its status decided: a stop that arrives while the streams are flushed
    # (a SIGINT or SIGTERM sent just as the process ends) must not turn into an unhandled
    # interruption and a different exit status.
    if threading.current_thread() is threading.main_thread():
        for number in (signal.SIGINT, signal.SIGTERM):
            signal.signal(number, signal.SIG_IGN)
    if isinstance(code, str):
        print(code, file=sys.stderr)
        code = 1
    atexit._run_exitfuncs()  # what Python's own exit would run first (multiprocessing, logging, ...)
    logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass  # a closed pipe: nothing more can be said on it
    os._exit(code or 0)


def _main(argv: list[str]) -> None:
    if argv and argv[0] in SUBCOMMANDS:
        if argv[0] == "compare":
            from lstmts.commands.compare import main as command
        else:
            from lstmts.commands.forecast import main as command
        try:
            sys.exit(command(argv[1:]))
        except UserError as error:
            fail(str(error))
    # Start-up (Hydra, its composition, lstmts' modules) makes long-lived objects only: the cyclic
    # collector, which would walk them again and again, pauses until the job starts
    # (commands.run._task turns it back on). About 0.2 s of a tutorial-sized run.
    gc.disable()
    from lstmts.commands.run import main as run

    run()


if __name__ == "__main__":
    main()
