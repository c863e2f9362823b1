"""The exception that means "the user can fix this", the one-line exit every command uses for it, and stops by signal."""

from __future__ import annotations

import contextlib
import logging
import re
import signal
import sys
import threading
import warnings


class UserError(Exception):
    """A problem with the input or the config; the message names it and says how to fix it."""


def override(key: str, value) -> str:
    """Return the override that sets `key` to the text `value` (or a list of texts), quoted for a shell and Hydra.

    Hydra reads data.column=1949 as a number and true or null as such, and refuses , ; and letters
    such as ö unquoted: in Hydra's quotes ('1949') each is text, and the shell passes those quotes
    on when they are inside its own double quotes: data.column="'1949'".
    """
    if value is None:
        return f"{key}=null"
    written = f"[{','.join(map(_hydra_text, value))}]" if isinstance(value, (list, tuple)) else _hydra_text(value)
    for special in ("\\", '"', "$", "`"):
        written = written.replace(special, "\\" + special)
    return f'{key}="{written}"'


def plain_override(key: str, value) -> str:
    """Return key=value as one types it: plain for a name of letters, digits and _ (sales, co2), else override's quoting."""
    text = "" if value is None else str(value)
    if value is not None and re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", text) and text.lower() not in ("null", "true", "false"):
        return f"{key}={text}"
    return override(key, value)


def overrides_text(settings: dict) -> str:
    """Return settings {key: value} as one types them, plain_override's way, joined by commas."""
    return ", ".join(plain_override(key, value) for key, value in settings.items())


def _hydra_text(value) -> str:
    text = str(value)
    return f'"{text}"' if "'" in text and '"' not in text else "'" + text.replace("'", "\\'") + "'"


class TrainingDiverged(UserError):
    """The loss became NaN or infinite."""


class Interrupted(KeyboardInterrupt):
    """SIGTERM or SIGHUP arrived: handled exactly like Ctrl-C, with the signal's name and exit status."""

    def __init__(self, number: int) -> None:
        super().__init__(signal.Signals(number).name)
        self.signal = signal.Signals(number).name
        self.exit_code = 128 + number


def stop_reason(stop: KeyboardInterrupt) -> tuple[str, int]:
    """Return (the signal's name, the exit status) of an interruption: SIGINT and 130 for Ctrl-C."""
    if isinstance(stop, Interrupted):
        return stop.signal, stop.exit_code
    return "SIGINT", 130


# The stop signals that arrived in this process, in order.
_received: list[int] = []


def _raise_interrupted(number: int, frame) -> None:
    _received.append(number)
    raise Interrupted(number)


def _raise_keyboard_interrupt(number: int, frame) -> None:
    _received.append(number)  # otherwise as Python's own SIGINT handler
    raise KeyboardInterrupt


def stop_received() -> tuple[str, int] | None:
    """Return (name, exit status) of the last stop signal this process received, or None.

    A signal that lands inside a library (Hydra composing a sweep's next job) can surface as
    another error there; the command still ends as interrupted.
    """
    if not _received:
        return None
    number = _received[-1]
    return signal.Signals(number).name, 128 + number


def raise_stop_if_swallowed() -> None:
    """Raise the stop whose handler ran but whose exception never reached the run.

    A library may swallow the KeyboardInterrupt (a bare `except:` around an import, an exception
    in a finalizer); the run would then train to its end as if nothing came. The epoch loop and
    each phase call this, so the stop still ends the run a moment later, as the signal asked.
    """
    if not _received:
        return
    number = _received[-1]
    if number == signal.SIGINT:
        raise KeyboardInterrupt
    raise Interrupted(number)


def stop_on_signals() -> None:
    """Make SIGTERM (a batch system's time limit, `kill`) and SIGHUP (a closed terminal) raise Interrupted.

    Only where they still have their default action (a launcher may have its own handler) and only
    in the main thread, where Python runs signal handlers.
    """
    if threading.current_thread() is not threading.main_thread():
        return
    for number in (signal.SIGTERM, signal.SIGHUP):
        if signal.getsignal(number) is signal.SIG_DFL:
            signal.signal(number, _raise_interrupted)
    if signal.getsignal(signal.SIGINT) is signal.default_int_handler:
        signal.signal(signal.SIGINT, _raise_keyboard_interrupt)


def fail(message: str, code: int = 2) -> None:
    """Print one error line to stderr and exit with `code`."""
    print(f"lstmts: error: {message}", file=sys.stderr)
    raise SystemExit(code)


@contextlib.contextmanager
def warnings_to_log(source: str):
    """Send the warnings raised inside to the run's log (lstmts.log), each text once, instead of the console.

    For other libraries' advice (statsforecast's "Having 3 or more differencing operations ...",
    statsmodels' convergence notes): the baselines' scores say how good their fits are. Logged at
    INFO, which a process without a log handler drops (a WARNING would reach stderr there).
    """
    log = logging.getLogger("lstmts")

    def show(message, category, filename, lineno, file=None, line=None) -> None:
        log.info("%s warned: %s: %s", source, category.__name__, message)

    with warnings.catch_warnings():
        warnings.simplefilter("once")
        warnings.showwarning = show
        yield
