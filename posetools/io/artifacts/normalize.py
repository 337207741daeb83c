"""``normalize/<video_id>.h5``: the aggregate artifact with normalized keypoints.

Everything of the aggregate artifact (datasets, the ``raw/`` and ``refine/`` groups of
a refined aggregate, and attributes) is carried over, with ``keypoints`` replaced by
normalized coordinates, ``valid`` by ``valid AND normalizable``, plus the per-skeleton
transform ``center (T, P, 2)``, ``scale (T, P)``, ``angle (T, P)`` and the attribute
``normalize_json``. The unchanged datasets and groups are copied from the upstream file
with HDF5's object copy.
"""

from __future__ import annotations

from dataclasses import dataclass

import h5py
import numpy as np

from ...errors import StoreError
from ..store import is_provenance, text
from .aggregate import AggregateArtifact

CARRIED = ("frame_index", "pts", "scores", "source_expert", "confidence", "filled", "track_ids",
           "matched", "expert_ran", "joint_names", "raw", "refine")
"""Aggregate datasets and groups carried over unchanged (in copy order; ``raw/`` and
``refine/`` exist when the aggregate was refined: ``raw/keypoints`` stays in pixels)."""


@dataclass(frozen=True)
class NormalizeArtifact:
    """Normalized skeletons and the transform that produced them.

    Attributes:
        aggregate: The aggregate fields, with ``keypoints`` normalized (NaN where
            missing or not normalizable) and ``valid`` = aggregate valid AND normalized.
        center: ``(T, P, 2) float32`` pixels (NaN if not normalized).
        scale: ``(T, P) float32`` pixels (NaN if not normalized).
        angle: ``(T, P) float32`` radians in (-pi, pi] (NaN if not normalized).
        normalize_json: JSON of the options.
    """

    aggregate: AggregateArtifact
    center: np.ndarray
    scale: np.ndarray
    angle: np.ndarray
    normalize_json: str

    @staticmethod
    def write_from(out: h5py.File, upstream: h5py.File, *, keypoints: np.ndarray,
                   center: np.ndarray, scale: np.ndarray, angle: np.ndarray,
                   valid: np.ndarray, normalize_json: str) -> None:
        """Write the layout: the upstream aggregate file's content plus the new arrays.

        Args:
            out: The (temp) artifact being written.
            upstream: The open aggregate artifact.
            keypoints: ``(T, P, K, 2) float32`` normalized coordinates.
            center: ``(T, P, 2) float32``.
            scale: ``(T, P) float32``.
            angle: ``(T, P) float32``.
            valid: ``(T, P) bool``.
            normalize_json: JSON of the options.
        """
        for name in CARRIED:
            if name in upstream:
                upstream.copy(upstream[name], out, name=name)
        for a, v in upstream.attrs.items():
            if not is_provenance(a):  # the store sets this artifact's own provenance
                out.attrs[a] = v
        out.create_dataset("keypoints", data=keypoints)
        out.create_dataset("center", data=center)
        out.create_dataset("scale", data=scale)
        out.create_dataset("angle", data=angle)
        out.create_dataset("valid", data=valid)
        out.attrs["normalize_json"] = normalize_json

    @staticmethod
    def read(fh: h5py.File, video_id: str | None = None) -> NormalizeArtifact:
        """Read a normalize artifact.

        Raises:
            StoreError: It does not follow the layout.
        """
        agg = AggregateArtifact.read(fh, video_id)
        try:
            return NormalizeArtifact(agg, fh["center"][...], fh["scale"][...], fh["angle"][...],
                                     text(fh.attrs["normalize_json"]))
        except KeyError as e:
            raise StoreError(f"normalize artifact is malformed: missing {e}",
                             video_id=video_id) from None


__all__ = ["NormalizeArtifact", "CARRIED"]
