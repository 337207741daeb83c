"""Per-frame pose instances read from another tool's output: :class:`PoseRecords`.

The readers of :mod:`posetools.io.formats` that import keypoints (COCO results and
annotations, MMPose, OpenPose, AlphaPose, pyskl) all return this neutral, untracked
form: one row per detected person, with the *original frame index* of each row
made explicit. Also the helpers they share: frame numbers from names, layouts from
joint names or counts, the score mapping, JSON loading with clear errors.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ...errors import FormatError
from ...skeletons import LAYOUTS, get_layout

LAST_DIGITS = re.compile(r"(\d+)(?!.*\d)")
"""Default frame pattern: the last run of digits of a name."""

LAYOUT_BY_COUNT = {17: "coco17", 26: "halpe26", 133: "coco_wholebody133", 25: "openpose_body25",
                   18: "openpose_coco18", 33: "blazepose33"}
"""Layout assumed from the joint count when neither the file nor the config names one."""


@dataclass(frozen=True)
class PoseRecords:
    """One video's pose instances from another tool, one row per instance.

    Attributes:
        frame_index: ``(N,) int64`` original frame number of each instance.
        keypoints: ``(N, K, 2) float32`` source pixels, NaN for missing joints.
        scores: ``(N, K) float32`` in [0, 1], 0 for missing joints.
        instance_scores: ``(N,) float32`` in [0, 1].
        boxes: ``(N, 4) float32`` xyxy: the file's box, else the box of the present
            joints (NaN when none is present).
        frames: ``(F,) int64`` sorted frame numbers the file lists, including those
            with nobody (formats that omit empty frames list only the others).
        layout: Skeleton layout name of the keypoints.
        source: What was read (path and count).
        frame_rule: How frame numbers were obtained (recorded in summaries).
    """

    frame_index: np.ndarray
    keypoints: np.ndarray
    scores: np.ndarray
    instance_scores: np.ndarray
    boxes: np.ndarray
    frames: np.ndarray
    layout: str
    source: str
    frame_rule: str

    def __len__(self) -> int:
        return int(self.frame_index.shape[0])


@dataclass
class RecordBuilder:
    """Accumulates instances of one file, then builds :class:`PoseRecords`.

    Args:
        num_joints: ``K`` of every instance.
        source: Description of what is read, for messages.
    """

    num_joints: int
    source: str

    def __post_init__(self) -> None:
        self._rows: list[tuple[int, np.ndarray, np.ndarray, float | None, np.ndarray | None]] = []
        self._frames: set[int] = set()

    def frame(self, index: int) -> None:
        """Note that the file lists frame ``index`` (even with nobody in it)."""
        self._frames.add(int(index))

    def add(self, index: int, xy: np.ndarray, scores: np.ndarray, *,
            instance_score: float | None = None, box: Sequence[float] | None = None) -> None:
        """Add one person of frame ``index``.

        Args:
            index: Original frame number.
            xy: ``(K, 2)`` coordinates (anything for missing joints).
            scores: ``(K,)`` scores already mapped to [0, 1]; ``<= 0`` = missing.
            instance_score: The file's instance score in [0, 1], or ``None`` (then the
                mean of the present joints' scores).
            box: xyxy box from the file, or ``None``.
        """
        xy = np.asarray(xy, np.float64).reshape(-1, 2)
        sc = np.nan_to_num(np.asarray(scores, np.float64).reshape(-1), nan=0.0)
        if len(xy) != self.num_joints or len(sc) != self.num_joints:
            raise FormatError(f"{self.source}: frame {index}: a person has {len(xy)} joints "
                              f"and {len(sc)} scores, expected {self.num_joints}")
        self.frame(index)
        b = None if box is None else np.asarray(box, np.float64).reshape(4)
        self._rows.append((int(index), xy, sc, instance_score, b))

    def build(self, layout: str, frame_rule: str) -> PoseRecords:
        """The records, rows sorted by frame (stable), missing joints NaN / 0."""
        rows = sorted(self._rows, key=lambda r: r[0])
        n, k = len(rows), self.num_joints
        kp = np.full((n, k, 2), np.nan, np.float32)
        sc = np.zeros((n, k), np.float32)
        inst = np.zeros(n, np.float32)
        boxes = np.full((n, 4), np.nan, np.float32)
        for i, (_, xy, s, score, box) in enumerate(rows):
            ok = (s > 0) & np.isfinite(xy).all(axis=1)
            kp[i][ok] = xy[ok]
            sc[i][ok] = np.clip(s[ok], 0.0, 1.0)
            inst[i] = (float(np.clip(score, 0.0, 1.0)) if score is not None
                       else float(sc[i][ok].mean()) if ok.any() else 0.0)
            if box is not None and np.isfinite(box).all():
                boxes[i] = box
            elif ok.any():
                boxes[i] = np.concatenate([xy[ok].min(axis=0), xy[ok].max(axis=0)])
        fi = np.array([r[0] for r in rows], dtype=np.int64)
        return PoseRecords(fi, kp, sc, inst, boxes, np.array(sorted(self._frames), np.int64),
                           layout, self.source, frame_rule)


def frame_from_name(name: str, pattern: str | re.Pattern | None, offset: int,
                    where: str) -> int:
    """The frame number in a file or image name: ``int(group 1) + offset``.

    Args:
        name: The name (file name, image id...).
        pattern: Regular expression with one group, searched in ``name``;
            ``None``: :data:`LAST_DIGITS`.
        offset: Added to the number.
        where: For the error message.

    Raises:
        FormatError: The pattern does not match.
    """
    rx = LAST_DIGITS if pattern is None else re.compile(pattern)
    m = rx.search(name)
    if m is None:
        raise FormatError(f"{where}: no frame number in {name!r} "
                          f"(frame_pattern {rx.pattern!r} does not match)")
    return int(m.group(1)) + offset


def resolve_layout(num_joints: int, *, configured: str | None, joint_names: Sequence[str] = (),
                   default: str | None = None, where: str) -> str:
    """The layout of a file: configured, else from joint names, else from the joint count.

    Raises:
        FormatError: The configured layout has another joint count, or nothing fits.
    """
    if configured is not None:
        lay = get_layout(configured)
        if lay.num_joints != num_joints:
            raise FormatError(f"{where}: {num_joints} joints per person, but layout "
                              f"{configured!r} has {lay.num_joints}")
        return configured
    names = tuple(joint_names)
    for lay in LAYOUTS.values():
        if names and names == lay.joints:
            return lay.name
    if default is not None and get_layout(default).num_joints == num_joints:
        return default
    if num_joints in LAYOUT_BY_COUNT:
        return LAYOUT_BY_COUNT[num_joints]
    raise FormatError(f"{where}: {num_joints} joints per person match no known layout: set "
                      "the expert's layout")


def map_scores(raw: np.ndarray, scale: float) -> np.ndarray:
    """``clip(raw / scale, 0, 1)`` (NaN -> 0)."""
    return np.clip(np.nan_to_num(np.asarray(raw, np.float64), nan=0.0) / scale, 0.0, 1.0)


def load_json(path: Path, what: str) -> Any:
    """``json.load`` a file, with :class:`FormatError` naming it when missing or malformed."""
    if not path.is_file():
        raise FormatError(f"{what}: no such file: {path}")
    try:
        with open(path, encoding="utf-8") as fh:
            return json.load(fh)
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise FormatError(f"{what}: {path} is not valid JSON: {e}") from None


def require_list(obj: Any, what: str) -> list:
    """``obj`` if it is a list, else :class:`FormatError`."""
    if not isinstance(obj, list):
        raise FormatError(f"{what}: expected a JSON list, got {type(obj).__name__}")
    return obj


def flat_triples(values: Any, where: str) -> np.ndarray:
    """A flat ``[x, y, s, x, y, s, ...]`` list as ``(K, 3) float64``."""
    try:
        arr = np.asarray(values, dtype=np.float64).reshape(-1)
    except (TypeError, ValueError):
        raise FormatError(f"{where}: keypoints are not a flat list of numbers") from None
    if arr.size % 3:
        raise FormatError(f"{where}: keypoints length {arr.size} is not a multiple of 3")
    return arr.reshape(-1, 3)


__all__ = ["PoseRecords", "RecordBuilder", "frame_from_name", "resolve_layout", "map_scores",
           "load_json", "require_list", "flat_triples", "LAST_DIGITS", "LAYOUT_BY_COUNT"]
