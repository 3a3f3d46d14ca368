"""The project's own promises about itself: the README's module table is the package, one version string,
a licence that matches the metadata."""

from __future__ import annotations

import re
import tomllib
from importlib.metadata import version
from pathlib import Path

import sharebot
from sharebot.adapters.base import AdapterContext

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "src" / "sharebot"


def _table_names() -> set[str]:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    table = readme[readme.index("| module | what it does |"):]
    table = table[: table.index("\n\n")]
    return {name for row in table.splitlines()[2:] for name in re.findall(r"`([\w/]+(?:\.py)?)`", row.split("|")[1])}


def _package_names() -> set[str]:
    modules = {p.name for p in PACKAGE.glob("*.py") if p.name not in ("__init__.py", "__main__.py")}
    packages = {f"{p.name}/" for p in PACKAGE.iterdir() if (p / "__init__.py").is_file()}
    return modules | packages


def test_readme_module_table_matches_the_package():
    listed, present = _table_names(), _package_names()
    assert not present - listed, f"in src/sharebot but not in README's module table: {sorted(present - listed)}"
    assert not listed - present, f"in README's module table but not in src/sharebot: {sorted(listed - present)}"


def test_one_version_string():
    assert version("sharebot") == sharebot.__version__
    assert sharebot.__version__ in AdapterContext(state_dir=Path(".")).user_agent
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert "version" not in pyproject["project"] and "version" in pyproject["project"]["dynamic"]
    for path in PACKAGE.rglob("*.py"):  # no second copy of the version anywhere in the code
        assert not re.search(r"sharebot/\d", path.read_text(encoding="utf-8")), path


def test_licence_file_matches_the_metadata():
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert pyproject["project"]["license"] == {"file": "LICENSE"}
    assert (ROOT / "LICENSE").read_text(encoding="utf-8").startswith("MIT License")
    assert (PACKAGE / "py.typed").is_file()
