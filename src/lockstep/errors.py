"""Errors that end a run with a message for the user, never a traceback."""


class FatalError(Exception):
    """Raised by a controller when lockstep cannot go on; the message says why and what to do."""
