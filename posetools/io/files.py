"""Plain-file helpers: content hashes and atomic writes.

:func:`file_sha256` is the one sha256-of-a-file in posetools (the model checksums of
the experts, the input hashes of the runner and ``posetools verify`` all use it).
:func:`atomic_write` writes a small file (an export, a log) so that it appears
complete under its final name or not at all.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
from pathlib import Path

_CHUNK = 1 << 20


def file_sha256(path: str | Path) -> str:
    """Full sha256 of a file's bytes (hex), read in 1 MiB blocks.

    Raises:
        OSError: The file cannot be read.
    """
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(_CHUNK):
            h.update(chunk)
    return h.hexdigest()


def fsync_dir(path: str | Path) -> None:
    """Fsync a directory, so that a rename inside it is durable."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def atomic_write(path: str | Path, data: bytes | str, *, encoding: str = "utf-8") -> Path:
    """Write ``data`` to ``path`` through a temp file in the same folder, fsync, rename.

    Args:
        path: Final path (its folder is created).
        data: Bytes, or text encoded with ``encoding``.
        encoding: Text encoding.

    Returns:
        ``path`` as a :class:`Path`.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    raw = data.encode(encoding) if isinstance(data, str) else data
    try:
        with open(tmp, "wb") as fh:
            fh.write(raw)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        raise
    fsync_dir(path.parent)
    return path


__all__ = ["file_sha256", "fsync_dir", "atomic_write"]
