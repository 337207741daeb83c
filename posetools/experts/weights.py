"""Checksums of model weight files, computed once per process and file version."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Iterable
from functools import lru_cache
from pathlib import Path

from ..errors import CheckpointError
from ..io.files import file_sha256


@lru_cache(maxsize=64)
def _cached(path: str, size: int, mtime_ns: int) -> str:
    return file_sha256(path)


def weights_sha256(path: str | Path) -> str:
    """sha256 hex digest of a weights file, cached on (path, size, mtime).

    Raises:
        CheckpointError: The file does not exist.
    """
    p = str(Path(path).resolve())
    try:
        st = os.stat(p)
    except OSError:
        raise CheckpointError(f"model file not found: {p}") from None
    return _cached(p, st.st_size, st.st_mtime_ns)


def files_sha256(paths: Iterable[str | Path],
                 file_hash: Callable[[Path], str] | None = None) -> str:
    """One sha256 over several weight files (digest of their ordered digests).

    Args:
        paths: The files, in a fixed order.
        file_hash: sha256 of one file (default :func:`weights_sha256`; the runner passes
            its persistent hash cache).
    """
    h = hashlib.sha256()
    for p in paths:
        h.update((file_hash or weights_sha256)(Path(p)).encode())
    return h.hexdigest()


__all__ = ["weights_sha256", "files_sha256"]
