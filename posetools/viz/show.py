"""What ``posetools show`` writes for one video, from its committed artifacts and the video.

Outputs (``OUTPUTS``), each with the stages whose artifacts it reads (``NEEDS``):

==============  =====================  ================================================
output          artifacts              files (in the destination folder)
==============  =====================  ================================================
``overlay``     estimate, aggregate    ``<id>_overlay.mp4`` and one still, ``<id>_overlay.png``
``confidence``  aggregate              ``<id>_confidence.png``
``heatmaps``    heatmaps               ``<id>_heatmaps.png``
``normalized``  normalize              ``<id>_normalized.png``
==============  =====================  ================================================

Artifacts are read only through their layout classes (:mod:`posetools.io.artifacts`).
Which stages are committed is the caller's knowledge (the CLI asks the ledger);
:func:`missing_stages` says what an output still needs.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Collection, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import h5py
import numpy as np

from ..errors import ConfigError, NoFramesError, PosetoolsError, StoreError
from ..io.artifacts.aggregate import AggregateArtifact
from ..io.artifacts.estimate import EstimateArtifact
from ..io.artifacts.heatmaps import HeatmapsArtifact
from ..io.artifacts.normalize import NormalizeArtifact
from ..io.store import artifact_path
from ..io.video import VideoReader
from .images import write_png
from .montage import crop_frame, montage_png
from .overlay import OverlayScene, write_overlay
from .plots import confidence_png, normalized_png, sample_rows
from .selection import FrameSelection

OUTPUTS = ("overlay", "confidence", "heatmaps", "normalized")
"""What ``posetools show`` can write, in the order it writes them."""

NEEDS: dict[str, tuple[str, ...]] = {
    "overlay": ("estimate", "aggregate"),
    "confidence": ("aggregate",),
    "heatmaps": ("heatmaps",),
    "normalized": ("normalize",),
}
"""The stages whose committed artifacts each output reads."""

MONTAGE_FRAMES = 6
"""Frames sampled for the heatmap montage."""


def output_paths(dest: str | Path, video_id: str) -> dict[str, Path]:
    """Where each output of a video goes (``overlay_still``: the overlay's PNG still)."""
    d = Path(dest)
    return {"overlay": d / f"{video_id}_overlay.mp4",
            "overlay_still": d / f"{video_id}_overlay.png",
            "confidence": d / f"{video_id}_confidence.png",
            "heatmaps": d / f"{video_id}_heatmaps.png",
            "normalized": d / f"{video_id}_normalized.png"}


def missing_stages(outputs: Sequence[str], committed: Collection[str]) -> dict[str, list[str]]:
    """``{output: [stage, ...]}`` for each output whose artifacts are not all committed."""
    out = {}
    for o in outputs:
        lack = [s for s in NEEDS[o] if s not in committed]
        if lack:
            out[o] = lack
    return out


def available_outputs(committed: Collection[str]) -> list[str]:
    """The outputs every artifact of which is committed."""
    return [o for o in OUTPUTS if not missing_stages([o], committed)]


@dataclass
class ShowResult:
    """What :func:`show_video` wrote for one video.

    Attributes:
        video_id: The video.
        paths: Every file written, in order.
        overlay_frames: Frames in the overlay MP4 (0 when not written).
        overlay_size: ``(width, height)`` of the MP4.
        errors: Why the outputs that were not written were not.
    """

    video_id: str
    paths: list[Path] = field(default_factory=list)
    overlay_frames: int = 0
    overlay_size: tuple[int, int] = (0, 0)
    errors: list[PosetoolsError] = field(default_factory=list)


@contextlib.contextmanager
def _open(out: Path, stage: str, video_id: str) -> Iterator[h5py.File]:
    """The committed artifact of ``stage``, open for reading.

    Raises:
        StoreError: The file is missing or not a readable HDF5 file.
    """
    path = artifact_path(out, stage, video_id)
    if not path.is_file():
        raise StoreError(f"{path} is missing although the ledger says committed: run the "
                         f"pipeline again (`posetools {stage} PIPELINE ...` recomputes it)",
                         video_id=video_id, stage=stage)
    try:
        fh = h5py.File(path, "r")
    except OSError as e:
        raise StoreError(f"{path}: cannot read it ({e})", video_id=video_id,
                         stage=stage) from None
    with fh:
        yield fh


def _read(out: Path, stage: str, video_id: str, cls):
    with _open(out, stage, video_id) as fh:
        return cls.read(fh, video_id)


def _rows(frame_index: np.ndarray, selection: FrameSelection, video_id: str) -> np.ndarray:
    mask = selection.in_range(frame_index)
    if not mask.any():
        lo, hi = (int(frame_index[0]), int(frame_index[-1])) if len(frame_index) else (0, -1)
        raise ConfigError(f"no processed frame in {selection.describe()} (the artifacts hold "
                          f"frames {lo}..{hi})", video_id=video_id)
    return mask


def still_frame(agg: AggregateArtifact, selection: FrameSelection) -> int:
    """The overlay frame also saved as a PNG: the middle kept frame that has a pose."""
    fi = agg.frames.frame_index
    kept = selection.mask(fi)
    good = np.flatnonzero(kept & agg.valid.any(1))
    cand = good if len(good) else np.flatnonzero(kept)
    if not len(cand):
        return selection.first
    return int(fi[cand[len(cand) // 2]])


def decode_frame(video: str | Path, index: int, *, video_id: str | None = None) -> np.ndarray:
    """The ``(H, W, 3) uint8`` RGB frame of original index ``index`` (decoded up to it).

    Raises:
        NoFramesError: The video has no such frame.
    """
    for f in VideoReader(video, video_id=video_id, prefetch=0):
        if f.index == index:
            return f.image
        if f.index > index:
            break
    raise NoFramesError(f"{video}: no frame {index}", video_id=video_id)


def show_video(out: str | Path, video_id: str, video: str | Path | None,
               outputs: Sequence[str], dest: str | Path, *,
               selection: FrameSelection | None = None,
               progress: Callable[[int], Callable[[int], None]] | None = None) -> ShowResult:
    """Write the requested outputs of one video into ``dest``.

    Each output is written on its own: one that fails (an unreadable artifact, say)
    is recorded in ``errors`` and the others are still written.

    Args:
        out: The pipeline's output folder.
        video_id: The video.
        video: Its source file (needed by ``overlay`` and ``heatmaps``).
        outputs: Names from :data:`OUTPUTS`; their artifacts must be committed.
        dest: Destination folder (created).
        selection: ``--frames`` / ``--every`` (``None``: everything): the frames of
            the overlay, the range of the plots, the frames the montage and the pose
            grid sample from.
        progress: Called with the overlay's expected frame count; returns the
            per-frame callback (e.g. a tqdm bar's ``update``).

    Returns:
        What was written, and the errors (:class:`~posetools.errors.PosetoolsError`:
        no processed frame in the selection, an unreadable artifact, a missing or
        undecodable source video, a write error) of the outputs that were not.

    Raises:
        ConfigError: An unknown output.
    """
    out, dest = Path(out), Path(dest)
    selection = selection or FrameSelection()
    bad = [o for o in outputs if o not in OUTPUTS]
    if bad:
        raise ConfigError(f"unknown output(s) {bad}; outputs: {', '.join(OUTPUTS)}")
    paths = output_paths(dest, video_id)
    res = ShowResult(video_id)
    writers = {"overlay": _overlay, "confidence": _confidence, "heatmaps": _heatmaps,
               "normalized": _normalized}
    for name in (o for o in OUTPUTS if o in outputs):
        try:
            writers[name](res, out, video_id, video, selection, paths, progress)
        except PosetoolsError as e:
            res.errors.append(e.with_context(video_id=video_id))
    return res


def _overlay(res: ShowResult, out: Path, video_id: str, video: str | Path | None,
             selection: FrameSelection, paths: dict[str, Path], progress) -> None:
    agg = _read(out, "aggregate", video_id, AggregateArtifact)
    _rows(agg.frames.frame_index, selection, video_id)
    est = _read(out, "estimate", video_id, EstimateArtifact)
    if video is None:
        raise ConfigError("the overlay needs the source video: give the run's manifest (-m)",
                          video_id=video_id)
    n = agg.frames.decoded_frames if agg.frames.decoded_frames > 0 else agg.frames.header_frames
    tick = progress(selection.count(n)) if progress is not None else None
    ov = write_overlay(video, OverlayScene.build(agg, est), paths["overlay"],
                       selection=selection, video_id=video_id,
                       poster=(still_frame(agg, selection), paths["overlay_still"]),
                       progress=tick)
    res.paths.append(ov.path)
    if ov.poster is not None:
        res.paths.append(ov.poster)
    res.overlay_frames, res.overlay_size = ov.frames, (ov.width, ov.height)


def _confidence(res: ShowResult, out: Path, video_id: str, video: str | Path | None,
                selection: FrameSelection, paths: dict[str, Path], progress) -> None:
    agg = _read(out, "aggregate", video_id, AggregateArtifact)
    rows = _rows(agg.frames.frame_index, selection, video_id)
    res.paths.append(write_png(paths["confidence"],
                               confidence_png(agg, rows=rows, title=video_id)))


def _normalized(res: ShowResult, out: Path, video_id: str, video: str | Path | None,
                selection: FrameSelection, paths: dict[str, Path], progress) -> None:
    norm = _read(out, "normalize", video_id, NormalizeArtifact)
    fi = norm.aggregate.frames.frame_index
    kept = _rows(fi, selection, video_id) & selection.mask(fi)
    res.paths.append(write_png(paths["normalized"],
                               normalized_png(norm, rows=kept, title=video_id)))


def _heatmaps(res: ShowResult, out: Path, video_id: str, video: str | Path | None,
              selection: FrameSelection, paths: dict[str, Path], progress) -> None:
    with _open(out, "heatmaps", video_id) as fh:
        art = HeatmapsArtifact.read(fh, video_id)
        kept = _rows(art.frame_index, selection, video_id) & selection.mask(art.frame_index)
        if not kept.any():
            kept = selection.in_range(art.frame_index)
        cand = np.flatnonzero(kept & art.valid.any(1))
        rows = sample_rows(cand if len(cand) else np.flatnonzero(kept), MONTAGE_FRAMES)
        maps = HeatmapsArtifact.rows(fh, rows, maps=True)["heatmaps"]
    image, mid = None, len(rows) // 2
    if video is not None:
        row = int(rows[mid])
        image = crop_frame(decode_frame(video, int(art.frame_index[row]), video_id=video_id),
                           art, row)
    res.paths.append(write_png(paths["heatmaps"], montage_png(
        art, maps, rows, frame_image=image, frame_pos=mid, title=video_id)))


__all__ = ["OUTPUTS", "NEEDS", "MONTAGE_FRAMES", "ShowResult", "output_paths", "missing_stages",
           "available_outputs", "decode_frame", "still_frame", "show_video"]
