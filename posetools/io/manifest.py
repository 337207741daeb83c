"""Dataset manifests: CSV or JSONL, validated as a whole before any work.

Columns (see ``data_manifests/README.md``):

============  ========  ==========================================================
column        required  meaning
============  ========  ==========================================================
video_id      yes       unique, ``[A-Za-z0-9._-]+``, not ``.``/``..``; names outputs
path          yes       video file, relative to ``--data-root`` or absolute
split         no        e.g. ``train`` / ``val`` / ``test``
label         no        class label (int or string)
transcript    no        ordered action list: JSON list in JSONL; ``a|b|c`` in CSV
start         no        start time in seconds (inclusive)
end           no        end time in seconds (exclusive)
============  ========  ==========================================================
"""

from __future__ import annotations

import csv
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import ManifestError

COLUMNS = ("video_id", "path", "split", "label", "transcript", "start", "end")
REQUIRED = ("video_id", "path")
ID_RE = re.compile(r"^[A-Za-z0-9._-]+$")


@dataclass(frozen=True)
class ManifestEntry:
    """One validated manifest row.

    Attributes:
        video_id: Unique id; safe as a file name.
        path: Absolute, resolved path of the video.
        row: 1-based row number in the manifest (header excluded for CSV).
        split: Optional split name.
        label: Optional label (as given).
        transcript: Ordered action names, or ``None``.
        start: Optional start time in seconds.
        end: Optional end time in seconds.
    """

    video_id: str
    path: Path
    row: int
    split: str | None = None
    label: str | int | None = None
    transcript: tuple[str, ...] | None = None
    start: float | None = None
    end: float | None = None


def _read_rows(path: Path) -> list[tuple[int, dict[str, Any]]]:
    if path.suffix.lower() == ".jsonl":
        rows = []
        with open(path, encoding="utf-8") as fh:
            for i, line in enumerate(fh, 1):
                if not line.strip():
                    continue
                try:
                    obj = json.loads(line)
                except json.JSONDecodeError as e:
                    raise ManifestError(
                        [f"line {i}: invalid JSON: {e}"], source=str(path)
                    ) from None
                if not isinstance(obj, dict):
                    raise ManifestError([f"line {i}: expected a JSON object"], source=str(path))
                rows.append((i, obj))
        return rows
    if path.suffix.lower() == ".csv":
        with open(path, encoding="utf-8", newline="") as fh:
            reader = csv.DictReader(fh)
            rows = []
            for i, r in enumerate(reader, 1):
                if None in r:
                    raise ManifestError(
                        [f"row {i}: more fields than header columns"], source=str(path)
                    )
                rows.append((i, {k: v for k, v in r.items() if v not in ("", None)}))
            if reader.fieldnames is None:
                raise ManifestError(["empty file (no header)"], source=str(path))
            unknown = [c for c in reader.fieldnames if c not in COLUMNS]
            if unknown:
                raise ManifestError(
                    [f"header: unknown column(s) {unknown} (allowed: {', '.join(COLUMNS)})"],
                    source=str(path),
                )
            return rows
    raise ManifestError([f"unsupported manifest type {path.suffix!r}: use .csv or .jsonl"],
                        source=str(path))


def _float(v: Any, name: str, where: str, problems: list[str]) -> float | None:
    if v is None:
        return None
    try:
        f = float(v)
    except (TypeError, ValueError):
        problems.append(f"{where}: {name}={v!r} is not a number")
        return None
    if not f >= 0:
        problems.append(f"{where}: {name}={v!r} must be >= 0")
        return None
    return f


def load_manifest(
    path: str | Path, *, data_root: str | Path | None = None, check_files: bool = True
) -> list[ManifestEntry]:
    """Read and validate a manifest; report every problem at once.

    Args:
        path: ``.csv`` or ``.jsonl`` file.
        data_root: Folder relative paths are resolved against (default: the
            manifest's folder). Relative paths may not escape it.
        check_files: Check that every video file exists.

    Returns:
        Entries in manifest order.

    Raises:
        ManifestError: With the list of all problems and their row numbers.
    """
    path = Path(path)
    if not path.is_file():
        raise ManifestError([f"no such file: {path}"], source=str(path))
    root = Path(data_root if data_root is not None else path.parent).resolve()
    problems: list[str] = []
    entries: list[ManifestEntry] = []
    seen: dict[str, int] = {}
    rows = _read_rows(path)
    if not rows:
        raise ManifestError(["manifest has no rows"], source=str(path))
    for i, r in rows:
        where = f"row {i}"
        unknown = sorted(set(r) - set(COLUMNS))
        if unknown:
            problems.append(f"{where}: unknown column(s) {unknown}")
        missing = [c for c in REQUIRED if r.get(c) in (None, "")]
        if missing:
            problems.append(f"{where}: missing required {', '.join(missing)}")
            continue
        vid = str(r["video_id"])
        if not ID_RE.match(vid) or vid in (".", ".."):
            problems.append(
                f"{where}: video_id {vid!r} is not a safe file name "
                "([A-Za-z0-9._-]+, not '.' or '..')"
            )
        elif vid in seen:
            problems.append(f"{where}: duplicate video_id {vid!r} (first at row {seen[vid]})")
        else:
            seen[vid] = i
        raw = str(r["path"])
        p = Path(raw)
        if p.is_absolute():
            full = p.resolve()
        else:
            full = (root / p).resolve()
            if not (full == root or root in full.parents):
                problems.append(f"{where}: path {raw!r} escapes the data root {root}")
        if check_files and not full.is_file():
            problems.append(f"{where}: video file not found: {full}")
        start = _float(r.get("start"), "start", where, problems)
        end = _float(r.get("end"), "end", where, problems)
        if start is not None and end is not None and end <= start:
            problems.append(f"{where}: end={end} must be > start={start}")
        tr = r.get("transcript")
        transcript = None
        if tr is not None:
            if isinstance(tr, list):
                transcript = tuple(str(t) for t in tr)
            elif isinstance(tr, str):
                transcript = tuple(t.strip() for t in tr.split("|") if t.strip())
            else:
                problems.append(f"{where}: transcript must be a list or 'a|b|c' string")
        label = r.get("label")
        if label is not None and not isinstance(label, (str, int)):
            problems.append(f"{where}: label must be a string or an integer")
        split = r.get("split")
        entries.append(
            ManifestEntry(
                video_id=vid,
                path=full,
                row=i,
                split=None if split is None else str(split),
                label=label,
                transcript=transcript,
                start=start,
                end=end,
            )
        )
    if problems:
        raise ManifestError(problems, source=str(path))
    return entries


def manifest_from_paths(paths: list[str | Path]) -> list[ManifestEntry]:
    """Build entries from bare video paths (video_id = file stem), validated the same way."""
    problems, entries, seen = [], [], {}
    for i, p in enumerate(paths, 1):
        full = Path(p).resolve()
        vid = re.sub(r"[^A-Za-z0-9._-]", "_", full.stem) or f"video{i}"
        if vid in seen:
            problems.append(f"arg {i}: duplicate video_id {vid!r} (first at arg {seen[vid]})")
        seen[vid] = i
        if not full.is_file():
            problems.append(f"arg {i}: video file not found: {full}")
        entries.append(ManifestEntry(video_id=vid, path=full, row=i))
    if problems:
        raise ManifestError(problems, source="command line")
    return entries


def filter_entries(
    entries: list[ManifestEntry], only: tuple[str, ...] = (), split: str | None = None
) -> list[ManifestEntry]:
    """Restrict to ``only`` ids (error if one is unknown) and/or a split."""
    if only:
        known = {e.video_id for e in entries}
        bad = [v for v in only if v not in known]
        if bad:
            raise ManifestError([f"--only: unknown video_id {v!r}" for v in bad])
        entries = [e for e in entries if e.video_id in set(only)]
    if split is not None:
        entries = [e for e in entries if e.split == split]
    return entries


def relpath_or_abs(p: Path, root: Path) -> str:
    """Path relative to ``root`` when inside it, else absolute (for writing manifests)."""
    try:
        return os.path.relpath(p, root) if root in p.resolve().parents else str(p)
    except ValueError:
        return str(p)
