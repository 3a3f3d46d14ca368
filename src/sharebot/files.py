"""Files written whole or not at all: the text goes to a temporary file beside the target, made `mode` whatever
the umask says, flushed to disk, then renamed over the target in one step. A reader sees the old file or the
new one, never half of one; a failure leaves no temporary file behind."""

from __future__ import annotations

import os
import threading
from pathlib import Path


def temporary_beside(target: Path, text: str | bytes, mode: int) -> Path:
    """`text` (UTF-8 if a str) in a new private temporary file in `target`'s folder (named per process and
    thread, so two writers of one target never share it); the caller renames or links it into place."""
    tmp = target.with_name(f".{target.name}.{os.getpid()}-{threading.get_ident()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    try:
        os.fchmod(fd, mode)  # a leftover file, or the umask, may have given it other permissions
        with os.fdopen(fd, "wb") as out:
            out.write(text.encode("utf-8") if isinstance(text, str) else text)
            out.flush()
            os.fsync(out.fileno())
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return tmp


def write_whole(target: Path, text: str | bytes, *, mode: int = 0o600) -> Path:
    """Replace `target` with `text` in one step; returns `target`."""
    tmp = temporary_beside(target, text, mode)
    try:
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return target
