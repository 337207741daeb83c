"""Human-readable summaries of artifact files (``posetools inspect``)."""

from __future__ import annotations

import json
from pathlib import Path

import h5py
import hdf5plugin  # noqa: F401  (filters for compressed datasets)
import numpy as np

from ..errors import StoreError
from .store import is_provenance, text

_SHOW_ATTRS = ("stage", "stage_version", "video_id", "fingerprint", "posetools_version",
               "created_utc", "complete")
"""Provenance attributes shown at the top, in this order (the JSON ones are shown apart)."""


def _fmt_attr(v) -> str:
    s = str(v.tolist()) if isinstance(v, np.ndarray) else text(v)
    return s if len(s) <= 100 else s[:97] + "..."


def describe(path: str | Path) -> str:
    """Summarize an artifact: standard attrs, params, other attrs and every dataset.

    Raises:
        StoreError: The file cannot be opened as HDF5.
    """
    try:
        fh = h5py.File(path, "r")
    except OSError as e:
        raise StoreError(f"{path}: not a readable HDF5 file: {e}") from None
    lines = [f"{path}"]
    with fh:
        a = fh.attrs
        for k in _SHOW_ATTRS:
            if k in a:
                lines.append(f"  {k:<18} {_fmt_attr(a[k])}")
        if "params_json" in a:
            params = json.loads(a["params_json"])
            lines.append("  params:")
            for k, v in params.items():
                lines.append(f"    {k}: {_fmt_attr(json.dumps(v))}")
        other = [k for k in a if not is_provenance(k)]
        if other:
            lines.append("  attrs:")
            for k in other:
                lines.append(f"    {k}: {_fmt_attr(a[k])}")
        lines.append("  datasets:")

        def visit(name, obj):
            depth = name.count("/")
            pad = "    " + "  " * depth
            if isinstance(obj, h5py.Group):
                lines.append(f"{pad}{name.split('/')[-1]}/")
                for k, v in obj.attrs.items():
                    lines.append(f"{pad}  @{k}: {_fmt_attr(v)}")
                return
            info = f"{pad}{name.split('/')[-1]:<16} {str(obj.shape):<22} {obj.dtype}"
            if obj.compression or obj._filters:
                info += f"  filters={list(obj._filters)}"
            if obj.dtype.kind == "f" and 0 < obj.size <= 50_000_000:
                data = obj[...]
                finite = np.isfinite(data)
                if finite.any():
                    info += (f"  min={np.nanmin(data):.3g} max={np.nanmax(data):.3g}"
                             f" nan={int((~finite).sum())}")
                else:
                    info += "  all NaN"
            elif obj.dtype.kind in "iub" and 0 < obj.size <= 50_000_000:
                data = obj[...]
                info += f"  min={data.min()} max={data.max()}"
            lines.append(info)

        fh.visititems(visit)
    return "\n".join(lines)
