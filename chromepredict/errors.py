"""The one exception type for user mistakes: the CLI prints its message on one line and exits 2."""


class UserError(Exception):
    """A problem with the user's input that they can fix; the message names the file and the fix."""
