"""The exception that means "the user can fix this", and the one-line exit every command uses for it."""

from __future__ import annotations

import sys


class UserError(Exception):
    """A problem with the input or the config; the message names it and says how to fix it."""


class TrainingDiverged(UserError):
    """The loss became NaN or infinite."""


def fail(message: str, code: int = 2) -> None:
    """Print one error line to stderr and exit with `code`."""
    print(f"lstmts: error: {message}", file=sys.stderr)
    raise SystemExit(code)
