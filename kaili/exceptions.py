"""Refusals shared by the services of every app."""


class Conflict(Exception):
    """The record is not in a state that allows this step, or it changed while the caller
    was looking at it. Pages show the message; the API answers HTTP 409."""

    def __init__(self, message: str, code: str = "conflict"):
        super().__init__(message)
        self.message = message
        self.code = code

    def __str__(self):
        return str(self.message)
