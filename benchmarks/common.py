"""What the benchmarks share: a throwaway ``$RECSYS_HOME`` (the app's, or the test suite's), the load average, the
closing verdict."""
from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path


def fresh_home(prefix: str, data: str | None) -> Path:
    """A new temporary ``$RECSYS_HOME`` holding a copy of the parsed data cache ``data`` if it is a folder
    (without one, the app downloads the data)."""
    home = Path(tempfile.mkdtemp(prefix=prefix))
    if data and Path(data).is_dir():
        shutil.copytree(data, home / "data", ignore=shutil.ignore_patterns("*.tmp*", ".tmp-*"))
    return home


def suite_home(prefix: str) -> Path:
    """Run as the test suite does: one thread per TensorFlow and BLAS pool (set before NumPy or TensorFlow load),
    and ``$RECSYS_HOME`` a new temporary folder seeded with the suite's parsed ML-100k (``tests/data_cache.py``,
    fetched once per machine). ``tests`` is imported from the first checkout on ``sys.path``."""
    for name in ("TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ.setdefault(name, "1")
    home = Path(tempfile.mkdtemp(prefix=prefix))
    os.environ["RECSYS_HOME"] = str(home)
    from tests import data_cache

    data_cache.seed(home)
    return home


def load_average() -> str:
    """The 1, 5 and 15 minute load averages, as printed beside every measurement."""
    return " ".join(f"{x:.1f}" for x in os.getloadavg())


def verdict(failures: list, ok: str) -> int:
    """Print the load average after the measurement, then the problems (the first 30) or ``ok``; the exit status."""
    print(f"load average after: {load_average()}")
    if failures:
        print(f"\nFAILED: {len(failures)} problem(s)")
        for f in failures[:30]:
            print("  -", f)
        return 1
    print(f"\n{ok}")
    return 0
