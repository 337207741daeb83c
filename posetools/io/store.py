"""Crash-safe artifact store: one HDF5 file per (stage, video).

Layout: ``OUT/<stage>/<video_id>.h5``. A file is written under a temporary name
in the same folder (``.<video_id>.h5.tmp-<pid>-<rand>``), flushed and fsynced,
then :func:`os.replace`-d onto its final name and the folder is fsynced. A file
under a final name is therefore always complete; a crash leaves at most a temp
file, which the next run deletes (runs hold ``OUT/.lock``).

Every artifact carries the root attributes :data:`PROVENANCE_ATTRS` (see
``docs/formats.md``). This module also owns the small HDF5 conventions every
artifact layout uses: strings (:func:`write_strings`, :func:`read_strings`,
:func:`text`).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import secrets
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import h5py
import hdf5plugin  # noqa: F401  (registers the zstd/blosc filters for readers and writers)
import numpy as np

from .. import __version__
from ..errors import RunInterrupted, StoreError, io_error
from .files import fsync_dir

TMP_MARK = ".h5.tmp-"

PROVENANCE_ATTRS = ("stage", "stage_version", "fingerprint", "video_id", "posetools_version",
                    "params_json", "library_versions_json", "complete")
"""Root attributes the store writes on every artifact (in this order), after the stage's own.

No wall-clock time is stored in an artifact (identical inputs give identical bytes);
when a video was committed is in the ledger. ``created_utc``, written by posetools
0.1.0, is still recognized as provenance when reading old files."""



def is_provenance(attr: str) -> bool:
    """Whether a root attribute is the store's (current or from older versions)."""
    return attr in PROVENANCE_ATTRS or attr == "created_utc"


def artifact_file(out: str | Path, stage: str, video_id: str) -> str:
    """Final path of a stage's artifact for one video, as a string (cheap: for planning)."""
    return os.path.join(out, stage, f"{video_id}.h5")


def artifact_path(out: str | Path, stage: str, video_id: str) -> Path:
    """Final path of a stage's artifact for one video."""
    return Path(artifact_file(out, stage, video_id))


def library_versions() -> dict[str, str]:
    """Versions of the libraries that shape artifact contents (cheap, no heavy imports)."""
    from importlib.metadata import PackageNotFoundError, version

    out = {"posetools": __version__, "numpy": np.__version__, "h5py": h5py.__version__}
    for name in ("av", "mediapipe", "opencv-contrib-python", "torch", "mmpose", "mmdet",
                 "onnxruntime", "ultralytics"):
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            pass
    return out


@dataclass(frozen=True)
class Committed:
    """What :func:`atomic_h5` put under the final name.

    Attributes:
        sha256: Content hash of the file (what ``posetools verify`` checks).
        size: File size in bytes (what the next run checks cheaply).
        mtime_ns: Modification time of the file in ns (likewise).
    """

    sha256: str
    size: int
    mtime_ns: int


class AtomicH5:
    """The open artifact of an :func:`atomic_h5` block; :attr:`committed` is set on success."""

    def __init__(self, fh: h5py.File) -> None:
        self.file = fh
        self.committed: Committed | None = None


@contextlib.contextmanager
def atomic_h5(
    final: str | Path,
    *,
    stage: str,
    stage_version: str,
    fingerprint: str,
    video_id: str,
    params: dict[str, Any],
    may_commit: Callable[[], bool] | None = None,
) -> Iterator[AtomicH5]:
    """Write an HDF5 artifact atomically.

    The artifact is assembled **in memory** (HDF5's core driver): HDF5 itself never
    writes to the output filesystem, so a full disk cannot leave it in a broken state.
    When the block exits normally the provenance attributes are set, the file image is
    written to a temp file next to ``final`` with plain I/O, fsynced, renamed onto
    ``final`` and the folder fsynced. On any error the temp file is removed and
    nothing appears under ``final``; an ``OSError`` becomes a
    :class:`~posetools.errors.WriteError` (:class:`~posetools.errors.DiskFullError`
    when the disk is full).

    Args:
        final: Final artifact path (``OUT/<stage>/<video_id>.h5``).
        stage: Stage name.
        stage_version: Stage version string (part of the fingerprint).
        fingerprint: Fingerprint of this result (see :mod:`posetools.run.hashing`).
        video_id: Manifest id.
        params: Semantic parameters, stored as JSON.
        may_commit: Asked right before the rename; when it returns False (the run that
            started this write has ended) nothing is committed and
            :class:`~posetools.errors.RunInterrupted` is raised.

    Yields:
        An :class:`AtomicH5` whose ``file`` is the writable artifact; after the block,
        its ``committed`` describes the file on disk.
    """
    final = Path(final)
    name = f".{final.stem}{TMP_MARK}{os.getpid()}-{secrets.token_hex(4)}"
    fh = h5py.File(name, "w", libver=("v110", "latest"), driver="core", backing_store=False)
    handle = AtomicH5(fh)
    try:
        yield handle
        a = fh.attrs
        a["stage"] = stage
        a["stage_version"] = stage_version
        a["fingerprint"] = fingerprint
        a["video_id"] = video_id
        a["posetools_version"] = __version__
        a["params_json"] = json.dumps(params, sort_keys=True, default=str)
        a["library_versions_json"] = json.dumps(library_versions(), sort_keys=True)
        a["complete"] = True
        fh.flush()
        image = fh.id.get_file_image()
    finally:
        with contextlib.suppress(Exception):
            fh.close()
    handle.committed = _commit_image(final, name, image, may_commit)


def _commit_image(final: Path, tmp_name: str, image: bytes,
                  may_commit: Callable[[], bool] | None) -> Committed:
    tmp = final.parent / tmp_name
    try:
        final.parent.mkdir(parents=True, exist_ok=True)
        with open(tmp, "wb") as raw:
            raw.write(image)
            raw.flush()
            os.fsync(raw.fileno())
        if may_commit is not None and not may_commit():
            raise RunInterrupted(f"{final.name}: the run that started this write has ended; "
                                 "not committing")
        os.replace(tmp, final)
        fsync_dir(final.parent)
        st = os.stat(final)
    except OSError as e:
        raise io_error(e, f"writing {final}") from None
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
    return Committed(hashlib.sha256(image).hexdigest(), st.st_size, st.st_mtime_ns)


_STALE = (f"*/.*{TMP_MARK}*", "logs/*/.*.tmp-*", ".posetools/.*.tmp-*")
"""Where writers that died can leave temp files: artifacts, logs, run bookkeeping."""


def remove_stale_temps(out: str | Path) -> list[Path]:
    """Delete temp files left by crashed writers under ``out`` (call with the run lock held)."""
    removed = []
    root = Path(out)
    if not root.exists():
        return removed
    for pattern in _STALE:
        for p in root.glob(pattern):
            with contextlib.suppress(FileNotFoundError):
                p.unlink()
                removed.append(p)
    return removed


def read_attrs(path: str | Path) -> dict[str, Any]:
    """Root attributes of an artifact, decoded; raises :class:`StoreError` if unreadable."""
    try:
        with h5py.File(path, "r") as fh:
            return {k: _plain(v) for k, v in fh.attrs.items()}
    except (OSError, KeyError) as e:
        raise StoreError(f"{path}: cannot open artifact: {e}") from None


def text(v: Any) -> str:
    """An HDF5 string attribute or element as ``str`` (h5py gives ``bytes`` or ``str``)."""
    return v.decode() if isinstance(v, bytes) else str(v)


def _plain(v: Any) -> Any:
    if isinstance(v, bytes):
        return text(v)
    if isinstance(v, np.generic):
        return v.item()
    return v


def check_artifact(path: str | Path, expected_fingerprint: str | None = None) -> None:
    """Open an artifact fully and check it is complete and self-consistent.

    Reads every dataset (so HDF5 checksums / decompression are exercised), checks
    the ``complete`` flag and, when given, the fingerprint.

    Raises:
        StoreError: If anything is wrong.
    """
    try:
        with h5py.File(path, "r") as fh:
            if not bool(fh.attrs.get("complete", False)):
                raise StoreError(f"{path}: not marked complete")
            fp = _plain(fh.attrs.get("fingerprint", ""))
            if expected_fingerprint is not None and fp != expected_fingerprint:
                raise StoreError(
                    f"{path}: fingerprint {fp[:12]} != ledger {expected_fingerprint[:12]}"
                )

            def visit(name, obj):
                if isinstance(obj, h5py.Dataset) and obj.size:
                    obj[...]

            fh.visititems(visit)
    except StoreError:
        raise
    except Exception as e:  # h5py raises OSError/RuntimeError/ValueError on corruption
        raise StoreError(f"{path}: corrupt: {type(e).__name__}: {e}") from None


def write_strings(group: h5py.Group, name: str, values: list[str]) -> None:
    """Store a list of strings as a variable-length UTF-8 dataset."""
    group.create_dataset(name, data=np.array(values, dtype=object), dtype=h5py.string_dtype())


def read_strings(group: h5py.Group, name: str) -> list[str]:
    """Inverse of :func:`write_strings`."""
    return [text(v) for v in group[name][...]]
