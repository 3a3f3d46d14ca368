"""sharebot.lazy_import: a package imported with some modules' annotations left unevaluated, and their cache.

Each case runs in a fresh interpreter over a small package whose module annotates with a name that does not
exist: imported plainly it fails, so a passing import shows the annotations were not evaluated.
"""

from __future__ import annotations

import marshal
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from sharebot.lazy_import import cache_path

GENERATED = textwrap.dedent("""
    VALUE = "{value}"

    def call(params: models.Nowhere.Params, limit: int = 3) -> "models.Nowhere.Response":
        return (params, limit)
""")
IMPORT = textwrap.dedent("""
    import sys
    from sharebot.lazy_import import import_deferring_annotations
    package = import_deferring_annotations("lazypkg", {"lazypkg.generated"})
    assert not any(type(finder).__module__ == "sharebot.lazy_import" for finder in sys.meta_path)
    generated = package.generated
    print(generated.VALUE, generated.call.__annotations__["params"], generated.call("p"))
""")


def make_package(root: Path, value: str = "first") -> Path:
    package = root / "lazypkg"
    package.mkdir(exist_ok=True)
    (package / "__init__.py").write_text("from lazypkg import generated\n")
    source = package / "generated.py"
    source.write_text(GENERATED.format(value=value))
    return source


def run(root: Path, code: str = IMPORT, **env: str) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    environ["PYTHONPATH"] = os.pathsep.join([str(root), environ.get("PYTHONPATH", "")])
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env={**environ, **env})


def test_a_plain_import_evaluates_the_annotations(tmp_path: Path) -> None:
    make_package(tmp_path)
    done = run(tmp_path, "import lazypkg")
    assert done.returncode != 0 and "NameError: name 'models' is not defined" in done.stderr


def test_the_modules_named_keep_their_annotations_as_strings_and_their_code(tmp_path: Path) -> None:
    source = make_package(tmp_path)
    done = run(tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["first", "models.Nowhere.Params", "('p',", "3)"]
    assert cache_path(source).name == f"generated.{sys.implementation.cache_tag}.opt-pep563.pyc"
    assert cache_path(source).exists()
    assert not any(path.name.startswith(".") for path in cache_path(source).parent.iterdir())  # no temp left


def test_the_cache_is_used_while_the_source_is_unchanged_and_redone_when_it_changes(tmp_path: Path) -> None:
    source = make_package(tmp_path)
    assert run(tmp_path).returncode == 0
    cache = cache_path(source)
    # Swap the cached code for other code behind the same header: a run that prints it read the cache.
    other = compile('VALUE = "cached"\ndef call(params: "x", limit: int = 3): return (params, limit)\n',
                    str(source), "exec")
    cache.write_bytes(cache.read_bytes()[:16] + marshal.dumps(other))
    assert run(tmp_path).stdout.split()[0] == "cached"
    source.write_text(GENERATED.format(value="second, longer"))  # another size: the cache is stale
    done = run(tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split()[:2] == ["second,", "longer"]
    assert run(tmp_path).stdout.split()[:2] == ["second,", "longer"]  # and the new cache is good


@pytest.mark.parametrize("damage", [b"", b"junk", "header only", "header and half"])
def test_a_damaged_cache_is_compiled_again(tmp_path: Path, damage: bytes | str) -> None:
    source = make_package(tmp_path)
    assert run(tmp_path).returncode == 0
    cache = cache_path(source)
    whole = cache.read_bytes()
    cache.write_bytes({"header only": whole[:16], "header and half": whole[: len(whole) // 2]}.get(
        damage, damage) if isinstance(damage, str) else damage)
    done = run(tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split()[0] == "first"
    assert cache.read_bytes() == whole


def test_no_cache_is_written_when_python_writes_no_bytecode(tmp_path: Path) -> None:
    source = make_package(tmp_path)
    done = run(tmp_path, PYTHONDONTWRITEBYTECODE="1")
    assert done.returncode == 0, done.stderr
    assert not cache_path(source).exists()


def test_a_cache_that_cannot_be_written_still_imports(tmp_path: Path) -> None:
    source = make_package(tmp_path)
    (source.parent / "__pycache__").write_text("a file where the cache folder would be: unwritable, even for root")
    for _ in range(2):
        done = run(tmp_path)
        assert done.returncode == 0, done.stderr
        assert done.stdout.split()[0] == "first"
    assert sorted(path.name for path in source.parent.iterdir()) == ["__init__.py", "__pycache__", "generated.py"]


def test_a_package_imported_already_is_returned_as_it_is(tmp_path: Path) -> None:
    make_package(tmp_path)
    (tmp_path / "lazypkg" / "generated.py").write_text('VALUE = "plain"\n')
    code = ("import lazypkg\nfrom sharebot.lazy_import import import_deferring_annotations\n"
            "assert import_deferring_annotations('lazypkg', {'lazypkg.generated'}) is lazypkg\n")
    done = run(tmp_path, code)
    assert done.returncode == 0, done.stderr


def test_each_optimisation_level_has_its_own_cache(tmp_path: Path) -> None:
    source = make_package(tmp_path)
    (source.parent / "generated.py").write_text(GENERATED.format(value="first") + "\nassert False, 'kept'\n")
    optimised = run(tmp_path, PYTHONOPTIMIZE="1")
    assert optimised.returncode == 0, optimised.stderr  # the assert is compiled away under -O
    plain = run(tmp_path)
    assert plain.returncode != 0 and "AssertionError: kept" in plain.stderr  # not the -O code from the cache
    names = sorted(p.name for p in (source.parent / "__pycache__").iterdir() if "pep563" in p.name)
    assert names == [f"generated.{sys.implementation.cache_tag}.opt-pep563.pyc",
                     f"generated.{sys.implementation.cache_tag}.opt-pep563o1.pyc"]


def test_code_from_the_cache_names_the_source_where_it_is_now(tmp_path: Path) -> None:
    first = tmp_path / "one"
    first.mkdir()
    make_package(first)
    assert run(first).returncode == 0
    moved = tmp_path / "two"
    first.rename(moved)  # a venv copied elsewhere: the cache comes along, mtime and size unchanged
    code = IMPORT + "print(package.generated.call.__code__.co_filename)\n"
    done = run(moved, code)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[-1] == str(moved / "lazypkg" / "generated.py")
