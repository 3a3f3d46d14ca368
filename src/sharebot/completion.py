"""Shell completion for the `sharebot` command: a script generated from its argparse parser by shtab, so it
follows every command and option as they are defined. shtab loads only here (`sharebot completion`)."""

from __future__ import annotations

import argparse

SHELLS = ("bash", "zsh", "tcsh")  # what shtab writes


def script(parser: argparse.ArgumentParser, shell: str) -> str:
    """The completion script for `shell`; source it, or put it where the shell loads completions from."""
    if shell not in SHELLS:
        raise ValueError(f"no completion for {shell!r}; one of {', '.join(SHELLS)}")
    import shtab

    return str(shtab.complete(parser, shell=shell, root_prefix="sharebot"))
