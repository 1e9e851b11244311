"""Errors the command line reports to the user as one or two lines (exit code 2)."""


class UserError(Exception):
    """A problem with the user's input, not a bug: a message and an optional hint."""

    def __init__(self, message: str, hint: str | None = None):
        super().__init__(message)
        self.message = message
        self.hint = hint


class Fault(UserError):
    """A fault the server or the operating system reported that no later case survives (the server
    gone, a full disk, out of memory or threads): the run stops at once with its cause in one line."""
