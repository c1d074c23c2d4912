"""The one base class of every failure that is the user's to fix.

An error of this kind (bad input, no network, a broken project, a component that did not start) carries
a message that says what went wrong and what to do; `tickit` prints that message and exits non-zero,
never a traceback. Anything else reaching the CLI is a bug, and keeps its traceback.
"""

from __future__ import annotations


class TickitError(Exception):
    """An expected failure: the message is for the user and says what to do next."""


class SettingsError(TickitError, ValueError):
    """A setting (flag or environment variable) has a value that cannot work; the message names it."""
