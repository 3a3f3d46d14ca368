"""The exit status of every command, in one place (README.md, "Exit status", has the same table).

A script or cron job reads what happened from it: 0 all went through (or there was nothing to do), 3 the
command ran but something did not go through, 4 it ran but an outcome is not known yet. When a run has
both failures and outcomes in doubt, 3 wins: something certainly needs fixing.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import IntEnum


class Exit(IntEnum):
    OK = 0  # everything went through, or there was nothing to do
    ERROR = 1  # the command could not run: bad config or input (one line on stderr names it)
    USAGE = 2  # the command line itself is wrong, or a needed confirmation was not given
    FAILED = 3  # it ran, but some posts failed or some accounts cannot post
    UNSETTLED = 4  # it ran, but some outcomes are unknown or wait for a person
    INTERRUPTED = 130  # stopped by Ctrl-C
    PIPE = 141  # standard output closed early (`| head`): 128 + SIGPIPE, as a shell reports such a command


def worst(codes: Iterable[Exit]) -> Exit:
    """The status for a run whose parts ended with these: FAILED over UNSETTLED over OK."""
    found = set(codes)
    for code in (Exit.FAILED, Exit.UNSETTLED):
        if code in found:
            return code
    return Exit.OK
