"""Running the real `sharebot` command in-process, with its output captured."""

from __future__ import annotations

import io
import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

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
