"""Where the app keeps what it computes: ``$RECSYS_HOME`` (default ``~/.cache/recsys``).

``data/`` holds parsed datasets and the downloaded wheel, ``runs/`` trained runs.
"""
import os
from pathlib import Path

from .errors import UserError


def _folder(path: Path) -> Path:
    """``path`` as an existing folder (created if missing); ``UserError`` if something else is in the way."""
    try:
        path.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise UserError(f"{path} is a file, not a folder: move it away, or set RECSYS_HOME to another folder") from None
    except OSError as e:
        raise UserError(f"cannot create the folder {path} ({e.strerror}): set RECSYS_HOME to a writable folder") from None
    return path


def home() -> Path:
    """The root folder for caches and runs, created on first use."""
    return _folder(Path(os.environ.get("RECSYS_HOME") or Path.home() / ".cache" / "recsys").expanduser())


def data_dir() -> Path:
    return _folder(home() / "data")


def runs_dir() -> Path:
    return _folder(home() / "runs")
