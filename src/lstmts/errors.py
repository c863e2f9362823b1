"""The one exception type that means "the user can fix this": shown as one line, no traceback."""


class UserError(Exception):
    """A problem with the input or the config; the message names it and says how to fix it."""


class TrainingDiverged(UserError):
    """The loss became NaN or infinite."""
