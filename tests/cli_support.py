"""Running the real `sharebot` command in-process, with its output captured."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sharebot.cli import main


@dataclass(frozen=True)
class Result:
    exit_code: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


def sharebot(*args: str, env: Mapping[str, str] | None = None, now: datetime | None = None) -> Result:
    """`env` is laid over the process environment, as a shell's `VAR=value sharebot …` would; `now` fixes the
    command's clock (without it the command reads the real one)."""
    out, err = io.StringIO(), io.StringIO()
    clock = {"clock": lambda: now} if now is not None else {}
    code = main(list(args), environ={**os.environ, **(env or {})}, stdout=out, stderr=err, **clock)
    return Result(code, out.getvalue(), err.getvalue())


def in_room(room: Any, *args: str, env: Mapping[str, str] | None = None) -> Result:
    """`sharebot` on a test newsroom's config and clock (`standins.Newsroom`), its environment under `env`."""
    return sharebot("--config", str(room.config), *args, env={**room.env(), **(env or {})}, now=room.clock())


# What a command that posts nothing must not load: the network SDKs and what only posting uses.
NETWORK_MODULES = ("atproto", "atproto_client", "tweepy", "mastodon", "httpx", "requests", "PIL")


@dataclass(frozen=True)
class FreshRun:
    codes: list[int]  # each command's exit status
    stdout: list[str]  # each command's output
    loaded: list[str]  # which of the modules watched it imported, in the order given
    stderr: str


# Runs the commands given as JSON, each through `main` with its output kept apart, then says what was imported.
_FRESH = """
import io, json, sys
from sharebot.cli import main
commands, watch = json.loads(sys.argv[1]), json.loads(sys.argv[2])
codes, outs = [], []
for argv in commands:
    out = io.StringIO()
    codes.append(main(argv, stdout=out))
    outs.append(out.getvalue())
print(json.dumps({"codes": codes, "stdout": outs, "loaded": [m for m in watch if m in sys.modules]}))
"""


def fresh_process(commands: Sequence[Sequence[str]], watch: Iterable[str], *, env: Mapping[str, str],
                  cwd: Path | str | None = None, timeout: float = 120) -> FreshRun:
    """`commands` (sharebot's arguments, each) run one after another in a new interpreter with `env` as its whole
    environment: what a user's fresh process imports, which the tests' own process cannot show."""
    proc = subprocess.run([sys.executable, "-c", _FRESH, json.dumps([list(c) for c in commands]),
                           json.dumps(list(watch))], capture_output=True, text=True, env=dict(env), cwd=cwd,
                          timeout=timeout)
    assert proc.returncode == 0, proc.stderr
    found = json.loads(proc.stdout.splitlines()[-1])
    return FreshRun(found["codes"], found["stdout"], found["loaded"], proc.stderr)
