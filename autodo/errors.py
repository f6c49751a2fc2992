"""The one error type a user sees: a bad value, said in one line."""


class UserError(Exception):
    """A problem with the user's input or files: reported in one line, no traceback."""


def joined(error):
    """An error's whole message on one line (Hydra's config errors say what to do on a second line)."""
    return " ".join(line.strip() for line in str(error).strip().splitlines())


def one_line(error):
    """A user error's message; any other error's type and the first line of its message."""
    lines = str(error).strip().splitlines()
    text = lines[0] if lines else ""
    return text if isinstance(error, UserError) else f"{type(error).__name__}: {text}"
