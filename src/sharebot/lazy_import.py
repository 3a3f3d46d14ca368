"""Importing a package whose generated modules evaluate annotations that load far more than they use.

atproto's client builds every method of its two generated namespace modules (`sync_ns`, `async_ns`, 0.6 MB each)
with annotations such as `models.AppBskyFeedGetTimeline.Params`. Evaluated when the `def` runs, each one loads
a model module and builds its pydantic classes: 390 modules and 660 classes, 0.6-1 s of the command's time,
for a post that needs a dozen. The models package itself is lazy (it loads a model on first attribute access).

`import_deferring_annotations` imports such modules compiled as if they began with
`from __future__ import annotations` (PEP 563, https://peps.python.org/pep-0563/): their annotations stay
strings, nothing reads them at run time, and a model loads when a call first uses it. The code is the
library's own, byte for byte; only when annotations are evaluated changes.

The compiled code is cached beside the library's own bytecode, as `<module>.<tag>.opt-pep563.pyc`, checked
against the source's modification time and size like Python's own cache; without a writable `__pycache__`
(or with `PYTHONDONTWRITEBYTECODE`) the modules are compiled on every import instead.
"""

from __future__ import annotations
import __future__

import _imp
import importlib
import importlib.abc
import importlib.machinery
import importlib.util
import marshal
import sys
import threading
from collections.abc import Collection, Sequence
from pathlib import Path
from types import CodeType, ModuleType

from sharebot.files import write_whole

CACHE_OPTIMIZATION = "pep563"  # the `opt-` part of the cache file's name: never Python's own file
_LOCK = threading.Lock()


def _header(source: Path) -> bytes:
    """A timestamp-based .pyc header (PEP 552): magic, flags 0, the source's mtime and size."""
    stat = source.stat()
    return (importlib.util.MAGIC_NUMBER + (0).to_bytes(4, "little")
            + (int(stat.st_mtime) & 0xFFFFFFFF).to_bytes(4, "little")
            + (stat.st_size & 0xFFFFFFFF).to_bytes(4, "little"))


def cache_path(source: Path) -> Path:
    # `compile` follows -O / -OO (asserts, docstrings), so each level has a file of its own, as Python's do.
    level = sys.flags.optimize
    optimization = CACHE_OPTIMIZATION + (f"o{level}" if level else "")
    return Path(importlib.util.cache_from_source(str(source), optimization=optimization))


class _DeferredAnnotationsLoader(importlib.machinery.SourceFileLoader):
    def get_code(self, fullname: str) -> CodeType:
        source = Path(self.get_filename(fullname))
        header = _header(source)
        cache = cache_path(source)
        try:
            data = cache.read_bytes()
            if data[:16] == header:
                cached = marshal.loads(memoryview(data)[16:])
                if isinstance(cached, CodeType):
                    # A venv copied elsewhere: tracebacks name the source where it is now, as Python's loader does.
                    fix_filename = getattr(_imp, "_fix_co_filename", None)  # CPython's, private
                    if fix_filename is not None:
                        fix_filename(cached, str(source))
                    return cached
        except (OSError, EOFError, ValueError, TypeError):
            pass  # no cache, or a damaged one: compile
        code: CodeType = compile(source.read_bytes(), str(source), "exec",
                                 flags=__future__.annotations.compiler_flag, dont_inherit=True)
        if not sys.dont_write_bytecode:
            _write_cache(cache, header + marshal.dumps(code))
        return code


def _write_cache(cache: Path, data: bytes) -> None:
    try:
        cache.parent.mkdir(exist_ok=True)
        write_whole(cache, data, mode=0o644)  # a reader sees no file or a whole one
    except OSError:
        pass  # a read-only install: compiling each time still works


class _Finder(importlib.abc.MetaPathFinder):
    def __init__(self, names: Collection[str]) -> None:
        self.names = frozenset(names)

    def find_spec(self, fullname: str, path: Sequence[str] | None,
                  target: ModuleType | None = None) -> importlib.machinery.ModuleSpec | None:
        if fullname not in self.names:
            return None
        spec = importlib.machinery.PathFinder.find_spec(fullname, path)
        if spec is None or not isinstance(spec.loader, importlib.machinery.SourceFileLoader) or not spec.origin:
            return spec  # no source to compile (bytecode-only install): the normal import
        spec.loader = _DeferredAnnotationsLoader(fullname, spec.origin)
        return spec


def import_deferring_annotations(package: str, modules: Collection[str]) -> ModuleType:
    """Import `package`, compiling `modules` (full dotted names) with postponed annotations.

    Imported already (by this function or by anyone else), the package is returned as it is. The finder is
    on `sys.meta_path` only during this call.
    """
    with _LOCK:
        if package in sys.modules:  # the import system waits if another thread is still importing it
            return importlib.import_module(package)
        finder = _Finder(modules)
        sys.meta_path.insert(0, finder)
        try:
            return importlib.import_module(package)
        finally:
            sys.meta_path.remove(finder)
