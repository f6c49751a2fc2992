"""The one error type a user sees: a bad value, said in one line."""


class UserError(Exception):
    """A problem with the user's input or files: reported in one line, no traceback."""
