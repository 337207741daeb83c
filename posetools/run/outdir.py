"""The output folder of a run: one run at a time, and only that run commits into it.

:class:`OutputFolder` creates ``OUT`` (or says in one line why it cannot), takes the
run lock ``OUT/.posetools.lock`` (a second run on the same folder is refused) and
writes a fresh run token to ``OUT/.posetools/run.token``. A worker commits an
artifact only while the token it was given is still the current one
(:func:`token_is_current`), so a worker that outlived its run — or a Ray actor of a
driver that is gone — can never overwrite what a later run committed.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from pathlib import Path

from filelock import FileLock, Timeout

from ..errors import OutputFolderError, PosetoolsError, io_error
from ..io.files import atomic_write
from ..io.store import remove_stale_temps

TOKEN_FILE = Path(".posetools") / "run.token"


def token_is_current(out: Path, token: str) -> bool:
    """Whether ``token`` is the token of the run that holds ``out`` now."""
    try:
        return (out / TOKEN_FILE).read_text(encoding="ascii").strip() == token
    except OSError:
        return False


def open_output(out: str | Path) -> Path:
    """``out`` as an existing, writable folder (created if missing).

    Raises:
        OutputFolderError: It is a file, lies under a file, or cannot be written.
    """
    path = Path(out)
    try:
        path.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise OutputFolderError(f"{path}: exists and is not a folder") from None
    except NotADirectoryError:
        raise OutputFolderError(f"{path}: a parent of it is a file, not a folder") from None
    except OSError as e:
        raise OutputFolderError(f"{path}: cannot create the output folder: "
                                f"{e.strerror or e}") from None
    path = path.resolve()
    if not os.access(path, os.W_OK | os.X_OK):
        raise OutputFolderError(f"{path}: the output folder is not writable")
    return path


class OutputFolder:
    """``OUT`` held by one run: lock, run token, stale temp files removed.

    Use as a context manager; the lock and the token are released on exit.

    Args:
        out: The output folder.

    Raises:
        OutputFolderError: The folder cannot be used (see :func:`open_output`).
        PosetoolsError: Another run holds the folder.
    """

    def __init__(self, out: str | Path) -> None:
        self.path = open_output(out)
        self.token = secrets.token_hex(16)
        self._lock = FileLock(str(self.path / ".posetools.lock"))

    def __enter__(self) -> OutputFolder:
        try:
            self._lock.acquire(timeout=0)
        except Timeout:
            raise PosetoolsError(f"{self.path} is in use by another posetools run "
                                 f"(lock {self._lock.lock_file})") from None
        except OSError as e:
            raise OutputFolderError(f"{self.path}: cannot take the run lock: "
                                    f"{e.strerror or e}") from None
        try:
            atomic_write(self.path / TOKEN_FILE, self.token)
        except OSError as e:
            self._lock.release()
            raise io_error(e, f"writing the run token in {self.path}") from None
        self.clean()
        return self

    def clean(self) -> list[Path]:
        """Delete temp files left by writers that are gone (we hold the lock)."""
        return remove_stale_temps(self.path)

    def __exit__(self, *exc) -> None:
        with contextlib.suppress(OSError):
            self.clean()
        with contextlib.suppress(OSError):
            (self.path / TOKEN_FILE).unlink()
        self._lock.release()


__all__ = ["OutputFolder", "open_output", "token_is_current", "TOKEN_FILE"]
