"""``python -m recsys ...``: see ``recsys/cli/``."""
import os
import sys
import threading

from .cli import main


def leave(code: int) -> None:
    """Exit with ``code``; at once when TensorFlow is loaded and nothing else of ours still runs.

    The interpreter's teardown with TensorFlow loaded frees its objects one by one: ~1 s of CPU
    after every command that trained or searched. Every file a command writes is closed before it
    returns, so when no other (non-daemon) thread is left there is nothing the teardown would do.
    """
    sys.stdout.flush()
    sys.stderr.flush()
    if "tensorflow" in sys.modules and all(t.daemon or t is threading.main_thread() for t in threading.enumerate()):
        os._exit(code)
    sys.exit(code)


if __name__ == "__main__":  # not when a spawned worker process imports the parent's main module
    leave(main() or 0)
