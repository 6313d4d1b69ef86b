"""Folders that are complete or absent, whatever kills the process, and their leftovers.

The run store and the data cache write a result into a hidden ``.tmp-*`` folder next to its
final place and then *rename* it into place. A rename within one file system is atomic: other
processes see either no folder or the whole folder, and a ``kill -9`` at any moment leaves at
worst a hidden ``.tmp-*`` folder, which listings ignore. Replaced or deleted folders are first
renamed to a hidden ``.del-*`` name and removed afterwards, for the same reason.

``clean_leftovers`` removes hidden leftovers of killed processes once they are old enough
(an hour by default) that no live writer can still be using them.
"""
from __future__ import annotations

import os
import shutil
import tempfile
import time
import uuid
from contextlib import contextmanager
from pathlib import Path

LEFTOVER_PREFIXES = (".tmp-", ".del-")
MAX_AGE = 3600.0


def fsync_tree(path: Path) -> None:
    """Flush every file and folder under ``path`` to disk (so a power cut cannot truncate them)."""
    for p in sorted(Path(path).rglob("*"), reverse=True) + [Path(path)]:
        try:
            fd = os.open(p, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
        except OSError:
            pass


@contextmanager
def staging(parent: Path, prefix: str = ".tmp-"):
    """A hidden folder in ``parent`` to write a result into; flushed to disk when the block ends.

    If the block raises, the folder is discarded and the error goes on. Renaming it into
    place is the caller's step: what to do when something is already there differs (the
    data cache replaces an old copy, the run store keeps a run saved meanwhile).
    """
    tmp = Path(tempfile.mkdtemp(prefix=prefix, dir=parent))
    try:
        yield tmp
        fsync_tree(tmp)
    except BaseException:
        discard(tmp)
        raise


def discard(path: Path) -> None:
    """Remove a folder: first rename it to a hidden ``.del-*`` name (atomic), then delete it."""
    path = Path(path)
    trash = path.with_name(f".del-{path.name.lstrip('.')}-{os.getpid()}-{uuid.uuid4().hex[:6]}")
    try:
        os.rename(path, trash)
    except OSError:
        return  # already gone (another process got there first)
    shutil.rmtree(trash, ignore_errors=True)


def clean_leftovers(folder: Path, max_age: float = MAX_AGE, now: float | None = None) -> list[str]:
    """Remove ``.tmp-*`` / ``.del-*`` folders older than ``max_age`` seconds; return their names.

    Safe with concurrent writers: a writer's folder is younger than ``max_age`` (writing a
    run or a cache takes seconds), and two cleaners never both delete: only the one whose
    rename succeeds does.
    """
    folder, now = Path(folder), time.time() if now is None else now
    removed = []
    try:
        entries = list(folder.iterdir())
    except OSError:
        return removed
    for p in entries:
        if not p.name.startswith(LEFTOVER_PREFIXES):
            continue
        try:
            if now - p.lstat().st_mtime < max_age:
                continue
        except OSError:
            continue
        if p.is_dir() and not p.is_symlink():
            discard(p)
        else:
            try:
                p.unlink()
            except OSError:
                continue
        removed.append(p.name)
    return removed
