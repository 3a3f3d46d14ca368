"""Running the real `sharebot` command in-process, with its output captured."""

from __future__ import annotations

import io
import os
from dataclasses import dataclass
from typing import Mapping

from sharebot.cli import main


@dataclass(frozen=True)
class Result:
    exit_code: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


def sharebot(*args: str, env: Mapping[str, str] | None = None) -> Result:
    """`env` is laid over the process environment, as a shell's `VAR=value sharebot …` would."""
    out, err = io.StringIO(), io.StringIO()
    code = main(list(args), environ={**os.environ, **(env or {})}, stdout=out, stderr=err)
    return Result(code, out.getvalue(), err.getvalue())
