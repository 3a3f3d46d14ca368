"""Finding and reading the platforms' own conformance data in ../shared/conformance (read-only).

Looked up from `SHAREBOT_SHARED_DIR` if set, else next to the repository. Cases are read at collection
time; if the folder is absent, each parametrised test is collected as one skipped case that says why.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import pytest
import yaml


def shared_dir() -> Path | None:
    candidates = []
    if os.environ.get("SHAREBOT_SHARED_DIR"):
        candidates.append(Path(os.environ["SHAREBOT_SHARED_DIR"]))
    candidates.append(Path(__file__).resolve().parents[2] / "shared")
    return next((c for c in candidates if (c / "conformance").is_dir()), None)


def conformance_path(*parts: str) -> Path | None:
    base = shared_dir()
    path = base.joinpath("conformance", *parts) if base else None
    return path if path and path.is_file() else None


def missing_reason(*parts: str) -> str:
    return (f"conformance file {'/'.join(parts)} not found: set SHAREBOT_SHARED_DIR or put shared/ "
            f"next to the repository")


def load(*parts: str) -> Any:
    path = conformance_path(*parts)
    if path is None:
        pytest.skip(missing_reason(*parts))
    text = path.read_text(encoding="utf-8")
    return yaml.safe_load(text) if path.suffix in (".yml", ".yaml") else json.loads(text)


def slug(text: str, limit: int = 60) -> str:
    """A readable test id from a case description."""
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:limit] or "case"


def params(parts: tuple[str, ...], select: Callable[[Any], Iterable[tuple[str, tuple[Any, ...]]]]) -> list[Any]:
    """pytest params built by `select(data)` as (id, values); one skipped param if the file is absent."""
    path = conformance_path(*parts)
    if path is None:
        return [pytest.param(None, id="missing-data", marks=pytest.mark.skip(reason=missing_reason(*parts)))]
    data = load(*parts)
    seen: dict[str, int] = {}
    out = []
    for case_id, values in select(data):
        seen[case_id] = seen.get(case_id, 0) + 1
        unique = case_id if seen[case_id] == 1 else f"{case_id}-{seen[case_id]}"
        out.append(pytest.param(values, id=unique))
    return out
