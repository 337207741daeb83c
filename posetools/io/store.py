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
import datetime as _dt
import json
import os
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import h5py
import hdf5plugin  # noqa: F401  (registers the zstd/blosc filters for readers and writers)
import numpy as np

from .. import __version__
from ..errors import StoreError
from .files import fsync_dir

TMP_MARK = ".h5.tmp-"

PROVENANCE_ATTRS = ("stage", "stage_version", "fingerprint", "video_id", "posetools_version",
                    "params_json", "library_versions_json", "created_utc", "complete")
"""Root attributes the store writes on every artifact (in this order), after the stage's own."""


def artifact_path(out: str | Path, stage: str, video_id: str) -> Path:
    """Final path of a stage's artifact for one video."""
    return Path(out) / stage / f"{video_id}.h5"


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


@contextlib.contextmanager
def atomic_h5(
    final: str | Path,
    *,
    stage: str,
    stage_version: str,
    fingerprint: str,
    video_id: str,
    params: dict[str, Any],
) -> Iterator[h5py.File]:
    """Write an HDF5 artifact atomically.

    Yields an open, writable :class:`h5py.File` on a temp path. When the block
    exits normally the standard attributes are set, the file is closed, fsynced
    and renamed onto ``final``; on an exception the temp file is removed and
    nothing appears under ``final``.

    Args:
        final: Final artifact path (``OUT/<stage>/<video_id>.h5``).
        stage: Stage name.
        stage_version: Stage version string (part of the fingerprint).
        fingerprint: Fingerprint of this result (see :mod:`posetools.hashing`).
        video_id: Manifest id.
        params: Semantic parameters, stored as JSON.
    """
    final = Path(final)
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = final.parent / f".{final.stem}{TMP_MARK}{os.getpid()}-{secrets.token_hex(4)}"
    fh = h5py.File(tmp, "w", libver=("v110", "latest"))
    try:
        yield fh
        a = fh.attrs
        a["stage"] = stage
        a["stage_version"] = stage_version
        a["fingerprint"] = fingerprint
        a["video_id"] = video_id
        a["posetools_version"] = __version__
        a["params_json"] = json.dumps(params, sort_keys=True, default=str)
        a["library_versions_json"] = json.dumps(library_versions(), sort_keys=True)
        a["created_utc"] = _dt.datetime.now(_dt.timezone.utc).isoformat()
        a["complete"] = True
        fh.flush()
        fh.close()
        with open(tmp, "rb+") as raw:
            os.fsync(raw.fileno())
        os.replace(tmp, final)
        fsync_dir(final.parent)
    except BaseException:
        with contextlib.suppress(Exception):
            fh.close()
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        raise


def remove_stale_temps(out: str | Path) -> list[Path]:
    """Delete temp files left by crashed writers under ``out`` (call with the run lock held)."""
    removed = []
    root = Path(out)
    if not root.exists():
        return removed
    for p in root.glob(f"*/.*{TMP_MARK}*"):
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
