"""Stopping a run cleanly: the stop flag, signal handlers, and worker-process hygiene.

A run stops on SIGTERM (``docker stop``) or SIGINT (Ctrl-C):

* the parent's handler sets a :class:`StopFlag`; the runner submits nothing more and
  each executor asks its workers to stop;
* a worker checks its flag at every frame boundary (the stages' progress callback)
  and raises :class:`~posetools.errors.RunInterrupted`, so its temp file is removed
  and the video stays ``pending``;
* workers that do not stop within :data:`GRACE_S` are killed; the parent then removes
  temp files (it still holds the run lock) and exits 143 (SIGTERM) / 130 (SIGINT).

Pool workers never outlive the run: they ask the kernel to kill them when their parent
dies (``PR_SET_PDEATHSIG``, Linux) and a watcher thread exits them if their parent
changes (other systems), and they only commit while their run's token is current
(:class:`~posetools.run.outdir.OutputFolder`).
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator

from ..errors import RunInterrupted

GRACE_S = 4.0
"""Seconds workers get to stop at a frame boundary before they are killed."""

STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)


class StopFlag:
    """Set once a stop was requested; remembers which signal asked."""

    def __init__(self) -> None:
        self._event = threading.Event()
        self.signum: int | None = None

    def request(self, signum: int = signal.SIGTERM) -> None:
        """Ask the run to stop."""
        if self.signum is None:
            self.signum = signum
        self._event.set()

    def is_set(self) -> bool:
        """Whether a stop was requested."""
        return self._event.is_set()

    @property
    def exit_code(self) -> int:
        """The conventional exit code of the signal (128 + signum)."""
        return 128 + int(self.signum or signal.SIGTERM)

    @property
    def name(self) -> str:
        """``SIGTERM`` / ``SIGINT``."""
        return signal.Signals(self.signum or signal.SIGTERM).name


def checked_progress(progress: Callable[[int], None], stop: StopFlag) -> Callable[[int], None]:
    """``progress`` that raises :class:`RunInterrupted` once ``stop`` is set (frame boundary)."""

    def report(n: int) -> None:
        if stop.is_set():
            raise RunInterrupted(f"stopped by {stop.name}")
        progress(n)

    return report


@contextlib.contextmanager
def handle_stop_signals(stop: StopFlag) -> Iterator[None]:
    """Route SIGTERM and SIGINT to ``stop`` while the block runs (main thread only)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {s: signal.getsignal(s) for s in STOP_SIGNALS}
    for s in STOP_SIGNALS:
        signal.signal(s, lambda signum, frame: stop.request(signum))
    try:
        yield
    finally:
        for s, h in previous.items():
            signal.signal(s, h)


@contextlib.contextmanager
def stop_signals_blocked() -> Iterator[None]:
    """Block SIGTERM/SIGINT in this thread while the block runs (they stay pending).

    Processes started inside the block inherit the blocked mask, so a Ctrl-C while
    pool workers start up cannot interrupt their interpreter start-up; each worker
    installs its own handling (:func:`init_worker_process`) and unblocks.
    """
    old = signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)


_WORKER_STOP = StopFlag()


def worker_stop_flag() -> StopFlag:
    """The stop flag of this worker process (set by SIGTERM from the parent)."""
    return _WORKER_STOP


def init_worker_process(parent_pid: int) -> None:
    """Set up a pool worker: die with the parent, stop on SIGTERM, ignore SIGINT.

    SIGINT (Ctrl-C reaches the whole process group) is left to the parent, which tells
    the workers to stop with SIGTERM.
    """
    _die_with_parent()
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, lambda signum, frame: _WORKER_STOP.request(signum))
    signal.pthread_sigmask(signal.SIG_UNBLOCK, STOP_SIGNALS)

    def watch() -> None:
        while True:
            if os.getppid() != parent_pid:
                os._exit(1)
            time.sleep(1.0)

    threading.Thread(target=watch, name="posetools-parent-watch", daemon=True).start()


def _die_with_parent() -> None:
    if not sys.platform.startswith("linux"):
        return
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGKILL, 0, 0, 0)  # PR_SET_PDEATHSIG


__all__ = ["GRACE_S", "StopFlag", "checked_progress", "handle_stop_signals",
           "stop_signals_blocked", "init_worker_process", "worker_stop_flag"]
