"""Fixtures shared across test files: the repo layout and the bundled example configuration."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE_CONFIG = ROOT / "config" / "sharebot.toml"
EXAMPLE_CONTENT = ROOT / "examples" / "site" / "content"
SEED_SLUG = "putin-xi-videogespraech-partnerschaft"


def shared_dir() -> Path | None:
    """`../shared` beside the repo (as CI lays it out), or $SHAREBOT_SHARED_DIR."""
    for candidate in (os.environ.get("SHAREBOT_SHARED_DIR"), ROOT.parent / "shared"):
        if candidate and Path(candidate).is_dir():
            return Path(candidate)
    return None


@pytest.fixture
def example_settings(tmp_path: Path):
    from sharebot.config import load_settings

    # an empty .env path: tests never pick up a developer's real .env
    return load_settings(EXAMPLE_CONFIG, {}, dotenv_path=tmp_path / "none.env")
