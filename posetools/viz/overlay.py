"""The overlay video: every expert's skeleton, the SST-A aggregate on top, per frame.

:class:`OverlayScene` holds what the artifacts say about a video (indexed by original
frame index); :func:`draw_overlay_frame` draws one frame of it (pure: usable from a
notebook on any image); :func:`write_overlay` streams the source video through it
into an H.264 MP4 (yuv420p, even size, ``+faststart``: browsers and common players
open it) with :class:`Mp4Writer`.

What is drawn (legend in the top-right panel):

* each expert's tracked persons in its own color (config order), thin, with a
  ``name #id r<rank>`` label at the box (rank 0 = the main person);
* the aggregate (refined when ``aggregate.refine`` was on) in white over a dark
  outline, thicker; each joint's disc has the color of the expert SST-A selected it
  from; joints SST-A's gap filling or the refinement's gap repair wrote are hollow
  rings; joints the refinement rejected as outliers are red crosses at SST-A's
  position; the track is labeled ``track <id> rank <r>`` (``main`` for rank 0);
* a frame SST-A dropped (C < gamma) gets a red border and ``DROPPED C=.. < gamma=..``;
* the top-left panel: frame index, pts, and C of each track.

Frames with nobody, frames no stage processed (``frame_stride``, a manifest range)
and joints that are missing are drawn as they are: no pose is ever invented.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from ..errors import ConfigError, StoreError, WriteError
from ..io.artifacts.aggregate import AggregateArtifact
from ..io.artifacts.estimate import EstimateArtifact, ExpertPoses
from ..io.video import VideoReader
from ..skeletons import get_layout
from . import draw
from .images import write_png
from .selection import FrameSelection


@dataclass(frozen=True)
class OverlayScene:
    """The artifacts of one video, ready to draw frame by frame.

    Attributes:
        aggregate: The aggregate artifact (``T`` rows, ``P`` tracks, ``K`` joints).
        experts: Each expert's poses, config order (empty: estimate not drawn).
        rows: Original frame index -> aggregate row.
        expert_rows: Per expert, original frame index -> its row.
        ranks: Per expert, track id -> rank (-1: dropped by the main-person choice).
        reference: Index in ``experts`` of the aggregate's reference expert (or -1).
        dropped: ``(T, P) bool`` rows SST-A's selective filter discarded (C < gamma).
    """

    aggregate: AggregateArtifact
    experts: tuple[ExpertPoses, ...]
    rows: dict[int, int]
    expert_rows: tuple[dict[int, int], ...]
    ranks: tuple[dict[int, int], ...]
    reference: int
    dropped: np.ndarray

    @staticmethod
    def build(aggregate: AggregateArtifact, estimate: EstimateArtifact | None) -> OverlayScene:
        """Index the artifacts of one video by original frame index."""
        experts = () if estimate is None else estimate.experts
        names = [e.name for e in experts]
        ref = names.index(aggregate.reference_expert) if aggregate.reference_expert in names \
            else -1
        return OverlayScene(
            aggregate, tuple(experts),
            {int(f): t for t, f in enumerate(aggregate.frames.frame_index)},
            tuple({int(f): t for t, f in enumerate(e.frame_index)} for e in experts),
            tuple(dict(zip(e.tracks["id"].astype(int).tolist(),
                           e.tracks["rank"].astype(int).tolist(), strict=True))
                  for e in experts),
            ref, dropped_rows(aggregate))

    def expert_color(self, name: str) -> draw.Color:
        """The color of an expert of the aggregate (by its index in ``experts``)."""
        return draw.expert_color(list(self.aggregate.experts).index(name))

    def track_rank(self, track_id: int, slot: int) -> int:
        """Rank of an aggregate track (the reference expert's ranking, else the slot)."""
        if self.reference >= 0:
            return self.ranks[self.reference].get(int(track_id), slot)
        return slot


def dropped_rows(agg: AggregateArtifact) -> np.ndarray:
    """``(T, P) bool``: a track was there but SST-A discarded its pose (C < gamma).

    SST-A's own validity is ``refine.raw_valid`` when the artifact was refined (the
    refinement may make a short dropped hole valid again by gap repair).
    """
    ssta_valid = agg.valid if agg.refine is None else agg.refine.raw_valid
    return (agg.track_ids >= 0) & ~ssta_valid & (agg.confidence < agg.gamma)


@dataclass(frozen=True)
class _Style:
    s: float

    @property
    def text(self) -> float:
        """Text scale: never below 0.7 (about 8 px letters), so small videos stay readable."""
        return max(0.7, self.s)

    @property
    def thin(self) -> float:
        return max(1.0, 1.6 * self.s)

    @property
    def thick(self) -> float:
        return max(2.0, 4.0 * self.s)

    @property
    def joint(self) -> float:
        return max(3.5, 5.0 * self.s)


def draw_overlay_frame(image: np.ndarray, scene: OverlayScene, frame_index: int, pts: float,
                       *, copy: bool = True) -> np.ndarray:
    """Draw the experts, the aggregate and the panels of one frame.

    Args:
        image: ``(H, W, 3) uint8`` RGB frame (the rotated frame the artifacts refer to).
        scene: The video's artifacts.
        frame_index: Original index of the frame.
        pts: Its presentation time in seconds.
        copy: Draw on a copy (default) or in place.

    Returns:
        The drawn image.
    """
    img = draw.canvas(image, copy)
    st = _Style(draw.drawing_scale(*img.shape[:2]))
    info = [(f"frame {frame_index}   pts {pts:.3f} s", None)]
    row = scene.rows.get(int(frame_index))
    for m, exp in enumerate(scene.experts):
        er = scene.expert_rows[m].get(int(frame_index))
        if er is not None:
            _draw_expert(img, scene, m, exp, er, st)
    if row is None:
        info.append(("no pose row: frame not processed", None))
    else:
        info += _draw_aggregate(img, scene, row, st)
    draw.draw_panel(img, info, corner="top-left", scale=st.text, copy=False)
    draw.draw_panel(img, _legend(scene), corner="top-right", scale=0.8 * st.text, copy=False)
    return img


def _legend(scene: OverlayScene) -> list[tuple[str, draw.Color | None]]:
    agg = scene.aggregate
    out: list[tuple[str, draw.Color | None]] = [
        (n, draw.expert_color(i)) for i, n in enumerate(agg.experts)]
    out.append(("SST-A refined" if agg.refine is not None else "SST-A", draw.AGGREGATE_COLOR))
    out.append(("disc: selected expert", None))
    out.append(("ring: filled, x: rejected", None))
    return out


def _draw_expert(img: np.ndarray, scene: OverlayScene, m: int, exp: ExpertPoses, er: int,
                 st: _Style) -> None:
    color = scene.expert_color(exp.name) if exp.name in scene.aggregate.experts \
        else draw.expert_color(m)
    limbs = get_layout(exp.layout).limbs
    for p in np.flatnonzero(exp.track_ids[er] >= 0):
        kp, sc = exp.keypoints[er, p], exp.scores[er, p]
        draw.draw_skeleton(img, kp, sc, limbs, color, thickness=st.thin, radius=st.thin,
                           copy=False)
        box = exp.boxes[er, p]
        if not np.isfinite(box).all():
            box = draw.keypoint_box(kp, sc)
        if box is None:
            continue
        tid = int(exp.track_ids[er, p])
        rank = scene.ranks[m].get(tid, -1)
        text = f"{exp.name} #{tid} r{rank}"
        scale = 0.75 * st.text
        _, th, base = draw.text_size(text, scale)
        line = th + base + 2 * max(2, int(round(3 * scale)))
        # below the box, one line per expert (the aggregate's label goes above it); at the
        # image's bottom edge the experts' labels stack upwards instead of overlapping
        y = min(box[3] + line * (m + 1), img.shape[0] - base - line * (len(scene.experts) - 1 - m))
        draw.draw_label(img, text, (box[0], y), draw.contrast_color(color), scale=scale,
                        background=color, copy=False)


def _draw_aggregate(img: np.ndarray, scene: OverlayScene, t: int, st: _Style
                    ) -> list[tuple[str, draw.Color | None]]:
    agg, ref = scene.aggregate, scene.aggregate.refine
    limbs = get_layout(agg.layout).limbs
    lines: list[tuple[str, draw.Color | None]] = []
    for p in np.flatnonzero(agg.track_ids[t] >= 0):
        kp, sc = agg.keypoints[t, p], agg.scores[t, p]
        tid, rank = int(agg.track_ids[t, p]), scene.track_rank(agg.track_ids[t, p], int(p))
        name = f"SST-A track {tid} rank {rank}" + (" (main)" if rank == 0 else "")
        c = float(agg.confidence[t, p])
        draw.draw_skeleton(img, kp, sc, limbs, draw.AGGREGATE_COLOR, thickness=st.thick,
                           radius=0, outline=draw.OUTLINE_COLOR, copy=False)
        present = np.isfinite(kp).all(-1) & (sc > 0)
        filled = agg.filled[t, p] | (ref.filled[t, p] if ref is not None else False)
        src = agg.source_expert[t, p]
        sel = present & ~filled & (src >= 0)
        draw.draw_markers(img, kp[sel], [draw.expert_color(int(k)) for k in src[sel]],
                          kind="filled", radius=st.joint, outline=draw.OUTLINE_COLOR, copy=False)
        other = present & ~filled & (src < 0)
        draw.draw_markers(img, kp[other], draw.AGGREGATE_COLOR, kind="filled", radius=st.joint,
                          outline=draw.OUTLINE_COLOR, copy=False)
        draw.draw_markers(img, kp[present & filled], draw.AGGREGATE_COLOR, kind="ring",
                          radius=st.joint, thickness=max(1.0, st.thin), outline=draw.OUTLINE_COLOR,
                          copy=False)
        if ref is not None:
            rej = ref.rejected[t, p]
            draw.draw_markers(img, ref.raw_keypoints[t, p][rej], draw.ALERT_COLOR, kind="cross",
                              radius=1.2 * st.joint, thickness=max(1.0, st.thin),
                              outline=draw.OUTLINE_COLOR, copy=False)
        anchor = _track_anchor(scene, t, int(p), kp, sc)
        if scene.dropped[t, p]:
            repaired = bool(agg.valid[t, p])
            msg = f"DROPPED C={c:.2f} < gamma={agg.gamma:.2f}"
            if repaired:
                msg += ", refilled by refine"
            lines.append((f"{name}: {msg}", draw.ALERT_COLOR))
            draw.draw_border(img, draw.ALERT_COLOR, max(3, int(round(6 * st.s))), copy=False)
            if anchor is not None:
                draw.draw_label(img, msg, (anchor[0], anchor[1] + 20 * st.text),
                                draw.ALERT_COLOR, scale=0.8 * st.text, copy=False)
        else:
            lines.append((f"{name}: C={c:.2f}", None))
        if anchor is not None:
            draw.draw_label(img, name, anchor, draw.AGGREGATE_COLOR, scale=0.8 * st.text,
                            copy=False)
    if not lines:
        lines.append(("no SST-A track in this frame", None))
    return lines


def _track_anchor(scene: OverlayScene, t: int, p: int, kp: np.ndarray, sc: np.ndarray
                  ) -> tuple[float, float] | None:
    """Where a track's label goes: above its pose, else above the reference instance."""
    box = draw.keypoint_box(kp, sc)
    agg = scene.aggregate
    if box is None and agg.refine is not None:
        box = draw.keypoint_box(agg.refine.raw_keypoints[t, p], agg.refine.raw_scores[t, p])
    if box is None and scene.reference >= 0:
        exp = scene.experts[scene.reference]
        er = scene.expert_rows[scene.reference].get(int(agg.frames.frame_index[t]))
        inst = int(agg.matched[scene.reference, t, p]) if agg.matched.size else -1
        if er is not None and 0 <= inst < exp.keypoints.shape[1]:
            box = exp.boxes[er, inst]
            if not np.isfinite(box).all():
                box = draw.keypoint_box(exp.keypoints[er, inst], exp.scores[er, inst])
    if box is None:
        return None
    return float(box[0]), float(box[1]) - 8 * draw.drawing_scale(agg.frames.height,
                                                                 agg.frames.width)


class Mp4Writer:
    """An H.264 MP4 written frame by frame with PyAV (yuv420p, ``+faststart``).

    Odd frame sizes are padded by one pixel (yuv420p needs even sizes). Frames get
    consecutive timestamps at ``fps`` (constant frame rate).

    Args:
        path: Output file.
        width: Frame width.
        height: Frame height.
        fps: Frame rate of the output.
        crf: x264 quality (lower: better, larger).
    """

    def __init__(self, path: str | Path, width: int, height: int, fps: float, *,
                 crf: int = 20) -> None:
        self.path = Path(path)
        self.width, self.height = width + width % 2, height + height % 2
        self.frames = 0
        rate = Fraction(fps).limit_denominator(1001) if fps > 0 else Fraction(25)
        try:
            self._out = av.open(str(self.path), "w", format="mp4",
                                options={"movflags": "+faststart"})
        except (OSError, av.error.FFmpegError) as e:
            raise WriteError(f"cannot write {self.path}: {e}") from None
        s = self._out.add_stream("libx264", rate=rate)
        s.width, s.height, s.pix_fmt = self.width, self.height, "yuv420p"
        s.options = {"crf": str(crf), "preset": "veryfast"}
        s.codec_context.time_base = 1 / rate
        self._stream = s

    def write(self, image: np.ndarray) -> None:
        """Encode one ``(H, W, 3) uint8`` RGB frame of the size given at construction."""
        img = draw.pad_to_even(np.ascontiguousarray(image))
        if img.shape[:2] != (self.height, self.width):
            raise WriteError(f"{self.path}: frame {self.frames} is {img.shape[1]}x"
                             f"{img.shape[0]}, the video {self.width}x{self.height}")
        frame = av.VideoFrame.from_ndarray(img, format="rgb24")
        frame.pts = self.frames
        frame.time_base = self._stream.codec_context.time_base
        self._out.mux(self._stream.encode(frame))
        self.frames += 1

    def close(self) -> None:
        """Flush the encoder and finish the file."""
        self._out.mux(self._stream.encode(None))
        self._out.close()

    def __enter__(self) -> Mp4Writer:
        return self

    def __exit__(self, *exc) -> None:
        if exc[0] is None:
            self.close()
        else:
            self._out.close()


@dataclass(frozen=True)
class OverlayResult:
    """What :func:`write_overlay` wrote.

    Attributes:
        path: The MP4.
        frames: Frames in it.
        width: Its width (the source's, made even).
        height: Its height.
        poster: The PNG of one overlay frame, or ``None``.
    """

    path: Path
    frames: int
    width: int
    height: int
    poster: Path | None


def write_overlay(video: str | Path, scene: OverlayScene, dest: str | Path, *,
                  selection: FrameSelection | None = None, video_id: str | None = None,
                  poster: tuple[int, Path] | None = None,
                  progress: Callable[[int], None] | None = None) -> OverlayResult:
    """Stream ``video`` through :func:`draw_overlay_frame` into the MP4 ``dest``.

    The file appears under ``dest`` complete or not at all (temp name, rename).

    Args:
        video: The source video the artifacts were made from.
        scene: Its artifacts.
        dest: Output ``.mp4``.
        selection: Frames written (``None``: all); the output frame rate is the
            source's divided by ``selection.every``.
        video_id: Manifest id, for error messages.
        poster: ``(frame index, path)``: also write that overlay frame as a PNG.
        progress: Called with 1 after each written frame (e.g. ``tqdm.update``).

    Returns:
        What was written.

    Raises:
        StoreError: The video's frame size is not the artifacts'.
        InputVideoError: The video cannot be decoded.
        WriteError: The MP4 cannot be written.
    """
    dest = Path(dest)
    selection = selection or FrameSelection()
    reader = VideoReader(video, video_id=video_id)
    info, frames = reader.info, scene.aggregate.frames
    if (info.width, info.height) != (frames.width, frames.height):
        raise StoreError(f"{video}: frames are {info.width}x{info.height} but the artifacts "
                         f"were made from {frames.width}x{frames.height} frames (another video?)",
                         video_id=video_id)
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(f".{dest.name}.tmp-{os.getpid()}.mp4")
    poster_path = None
    try:
        with Mp4Writer(tmp, info.width, info.height, info.fps / selection.every) as out:
            for f in reader:
                if selection.done(f.index):
                    break
                if not selection.keeps(f.index):
                    continue
                img = draw_overlay_frame(f.image, scene, f.index, f.pts, copy=False)
                out.write(img)
                if poster is not None and f.index == poster[0]:
                    poster_path = write_png(poster[1], img)
                if progress is not None:
                    progress(1)
            n = out.frames
            if n == 0:
                raise ConfigError(f"{video}: no frame in {selection.describe()} (the video has "
                                  f"{info.decoded_frames} frames)", video_id=video_id)
        os.replace(tmp, dest)
    finally:
        tmp.unlink(missing_ok=True)
    return OverlayResult(dest, n, out.width, out.height, poster_path)


__all__ = ["OverlayScene", "OverlayResult", "Mp4Writer", "draw_overlay_frame", "dropped_rows",
           "write_overlay"]
