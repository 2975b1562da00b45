"""The one exception type for user mistakes (the CLI prints its message on one line and exits 2; the
Python API raises it), and the warning category of results that are probably wrong."""


class UserError(ValueError):
    """A problem with the input that its user can fix; the message, one line, names the file and the
    fix. A :class:`ValueError`, as scikit-learn's and pandas' input errors are."""


class ChromepredictWarning(UserWarning):
    """A result that is probably wrong (a build mismatch, tracks unlike a model's training data,
    scores on a model's own training genes…); the message names the file or gene and what to do."""


def require_file(path, what: str, fix: str) -> None:
    """Raise a UserError unless ``path`` is a regular file (following links): a missing path, a
    folder and a device, pipe or socket each get their own words, then ``fix``."""
    import os
    import stat

    try:
        mode = os.stat(path).st_mode
    except OSError:
        raise UserError(f"{path}: {what} not found; {fix}") from None
    if stat.S_ISDIR(mode):
        raise UserError(f"{path}: is a folder, not a {what}; {fix}")
    if not stat.S_ISREG(mode):
        raise UserError(
            f"{path}: is a device, pipe or socket, not a regular file (chromepredict reads a {what} more "
            f"than once); {fix}"
        )
