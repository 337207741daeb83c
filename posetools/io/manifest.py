"""Dataset manifests: CSV or JSONL, validated as a whole before any work.

Columns (see ``data_manifests/README.md``):

============  ========  ==========================================================
column        required  meaning
============  ========  ==========================================================
video_id      yes       unique id that names every output file (rules below)
path          yes       video file, relative to ``--data-root`` or absolute
split         no        e.g. ``train`` / ``val`` / ``test``
label         no        class label: an integer (CSV: digits) or a class name
transcript    no        ordered action list: JSON list in JSONL; ``a|b|c`` in CSV
start         no        start time in seconds (inclusive)
end           no        end time in seconds (exclusive)
============  ========  ==========================================================

**Ids** match ``[A-Za-z0-9_-][A-Za-z0-9._-]*`` entirely and have at most
:data:`MAX_ID_LENGTH` characters: every file name derived from an id (the artifact,
its temp name ``.<id>.h5.tmp-<pid>-<hex>``, the traceback log) then fits the 255-byte
file-name limit of common filesystems, and an id can never look like a hidden, temp
or lock file (no leading dot).

Files are UTF-8 (a byte-order mark, as Excel writes, is accepted). JSONL values are
type-checked strictly: strings where strings are meant, finite numbers for
``start``/``end``, a list of strings for ``transcript``, an integer or a string for
``label``. In CSV every value is text: a ``label`` made of digits is the integer it
spells, anything else a class name. Every problem of the file is reported at once,
with its row (CSV, header excluded) or line (JSONL) number.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import ManifestError

COLUMNS = ("video_id", "path", "split", "label", "transcript", "start", "end")
REQUIRED = ("video_id", "path")
MAX_ID_LENGTH = 200
"""Longest video id: ``.<id>.h5.tmp-<pid>-<8 hex>`` must fit 255 bytes."""
ID_RE = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9._-]*")
_INT_RE = re.compile(r"[+-]?\d+")


@dataclass(frozen=True)
class ManifestEntry:
    """One validated manifest row.

    Attributes:
        video_id: Unique id; safe as a file name.
        path: Absolute, resolved path of the video.
        row: 1-based row number in the manifest (header excluded for CSV).
        split: Optional split name.
        label: Optional label: an ``int`` class id or a ``str`` class name.
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


def id_problem(vid: str) -> str | None:
    """Why ``vid`` is not a valid video id, or ``None``."""
    if not ID_RE.fullmatch(vid):
        return (f"video_id {vid!r} is not a safe file name ([A-Za-z0-9._-], not starting "
                "with '.')")
    if len(vid) > MAX_ID_LENGTH:
        return f"video_id is {len(vid)} characters long (at most {MAX_ID_LENGTH})"
    return None


def _text(path: Path, problems: list[str]) -> str | None:
    try:
        raw = path.read_bytes()
    except OSError as e:
        problems.append(f"cannot read the file: {e.strerror or e}")
        return None
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        problems.append(f"not UTF-8 text: byte 0x{raw[e.start]:02x} at offset {e.start} "
                        "(save the file as UTF-8)")
        return None


def _reject_constant(name: str):
    raise ValueError(f"{name} is not a finite number")


def _read_jsonl(text: str, problems: list[str]) -> list[tuple[int, dict[str, Any]]]:
    rows = []
    for i, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line, parse_constant=_reject_constant)
        except ValueError as e:
            problems.append(f"line {i}: invalid JSON: {e}")
            continue
        if not isinstance(obj, dict):
            problems.append(f"line {i}: expected a JSON object, got {type(obj).__name__}")
            continue
        rows.append((i, obj))
    return rows


def _read_csv(text: str, problems: list[str]) -> list[tuple[int, dict[str, Any]]]:
    reader = csv.DictReader(io.StringIO(text, newline=""))
    rows = []
    for i, r in enumerate(reader, 1):
        if None in r:
            problems.append(f"row {i}: more fields than header columns")
            continue
        rows.append((i, {k: v for k, v in r.items() if v not in ("", None)}))
    if reader.fieldnames is None:
        problems.append("empty file (no header)")
        return []
    unknown = [c for c in reader.fieldnames if c not in COLUMNS]
    if unknown:
        problems.append(f"header: unknown column(s) {unknown} (allowed: {', '.join(COLUMNS)})")
    return rows


class _RowChecker:
    """Typed access to one row's values, collecting problems (CSV text or JSONL values)."""

    def __init__(self, where: str, row: dict[str, Any], typed: bool,
                 problems: list[str]) -> None:
        self.where, self.row, self.typed, self.problems = where, row, typed, problems

    def bad(self, msg: str) -> None:
        self.problems.append(f"{self.where}: {msg}")

    def string(self, name: str) -> str | None:
        v = self.row.get(name)
        if v is None:
            return None
        if not isinstance(v, str):
            self.bad(f"{name} must be a string, got {type(v).__name__} {v!r}")
            return None
        return v

    def seconds(self, name: str) -> float | None:
        v = self.row.get(name)
        if v is None:
            return None
        if self.typed and (isinstance(v, bool) or not isinstance(v, (int, float))):
            self.bad(f"{name} must be a number, got {type(v).__name__} {v!r}")
            return None
        try:
            f = float(v)
        except (TypeError, ValueError):
            self.bad(f"{name}={v!r} is not a number")
            return None
        if not math.isfinite(f) or f < 0:
            self.bad(f"{name}={v!r} must be a finite number >= 0")
            return None
        return f

    def label(self) -> int | str | None:
        v = self.row.get("label")
        if v is None:
            return None
        if isinstance(v, bool) or not isinstance(v, (int, str)):
            self.bad(f"label must be an integer or a string, got {type(v).__name__} {v!r}")
            return None
        if isinstance(v, str) and not self.typed and _INT_RE.fullmatch(v.strip()):
            return int(v)
        return v

    def transcript(self) -> tuple[str, ...] | None:
        v = self.row.get("transcript")
        if v is None:
            return None
        if self.typed:
            if not isinstance(v, list) or not all(isinstance(t, str) for t in v):
                self.bad("transcript must be a JSON list of strings")
                return None
            return tuple(v)
        return tuple(t.strip() for t in str(v).split("|") if t.strip())


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
    kind = path.suffix.lower()
    if kind not in (".csv", ".jsonl"):
        raise ManifestError([f"unsupported manifest type {path.suffix!r}: use .csv or .jsonl"],
                            source=str(path))
    root = Path(data_root if data_root is not None else path.parent).resolve()
    problems: list[str] = []
    text = _text(path, problems)
    if text is None:
        raise ManifestError(problems, source=str(path))
    rows = (_read_jsonl if kind == ".jsonl" else _read_csv)(text, problems)
    if not rows and not problems:
        raise ManifestError(["manifest has no rows"], source=str(path))
    entries: list[ManifestEntry] = []
    seen: dict[str, int] = {}
    word = "line" if kind == ".jsonl" else "row"
    resolve = _Resolver()
    for i, r in rows:
        c = _RowChecker(f"{word} {i}", r, kind == ".jsonl", problems)
        unknown = sorted(set(r) - set(COLUMNS))
        if unknown and kind == ".jsonl":
            c.bad(f"unknown column(s) {unknown}")
        missing = [k for k in REQUIRED if r.get(k) in (None, "")]
        if missing:
            c.bad(f"missing required {', '.join(missing)}")
            continue
        vid, raw = c.string("video_id"), c.string("path")
        if vid is None or raw is None:
            continue
        why = id_problem(vid)
        if why:
            c.bad(why)
        elif vid in seen:
            c.bad(f"duplicate video_id {vid!r} (first at {word} {seen[vid]})")
        else:
            seen[vid] = i
        full = _resolve(raw, root, c, resolve)
        if check_files and full is not None and not os.path.isfile(full):
            c.bad(f"video file not found: {full}")
        start, end = c.seconds("start"), c.seconds("end")
        if start is not None and end is not None and end <= start:
            c.bad(f"end={end} must be > start={start}")
        entries.append(ManifestEntry(
            video_id=vid, path=full if full is not None else Path(raw), row=i,
            split=c.string("split"), label=c.label(), transcript=c.transcript(),
            start=start, end=end))
    if problems:
        raise ManifestError(problems, source=str(path))
    return entries


class _Resolver:
    """``Path.resolve`` for many files in few folders: each folder is resolved once.

    ``realpath(dir/name)`` is ``realpath(dir)/name`` unless ``name`` is itself a link
    (one ``lstat``); paths with ``..`` take the full resolution.
    """

    def __init__(self) -> None:
        self._dirs: dict[str, str] = {}

    def __call__(self, path: str) -> str:
        if ".." in Path(path).parts:
            return os.path.realpath(path)
        folder, name = os.path.split(os.path.abspath(path))
        real = self._dirs.get(folder)
        if real is None:
            real = self._dirs[folder] = os.path.realpath(folder)
        full = os.path.join(real, name)
        return os.path.realpath(full) if os.path.islink(full) else full


def _resolve(raw: str, root: Path, c: _RowChecker, resolve: _Resolver) -> Path | None:
    if "\x00" in raw:
        c.bad(f"path {raw!r} contains a NUL character")
        return None
    if os.path.isabs(raw):
        return Path(resolve(raw))
    full = resolve(os.path.join(root, raw))
    base = str(root)
    if not (full == base or full.startswith(base.rstrip(os.sep) + os.sep)):
        c.bad(f"path {raw!r} escapes the data root {root}")
    return Path(full)


def manifest_from_paths(paths: list[str | Path]) -> list[ManifestEntry]:
    """Build entries from bare video paths (video_id from the file stem), validated alike.

    Characters outside the id alphabet become ``_`` (also a leading ``.``) and long
    stems are cut to :data:`MAX_ID_LENGTH`.
    """
    problems, entries, seen = [], [], {}
    for i, p in enumerate(paths, 1):
        full = Path(p).resolve()
        vid = re.sub(r"[^A-Za-z0-9._-]", "_", full.stem)
        vid = (("_" + vid[1:]) if vid.startswith(".") else vid)[:MAX_ID_LENGTH] or f"video{i}"
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
        keep = set(only)
        entries = [e for e in entries if e.video_id in keep]
    if split is not None:
        entries = [e for e in entries if e.split == split]
    return entries


def relpath_or_abs(p: Path, root: Path) -> str:
    """Path relative to ``root`` when inside it, else absolute (for writing manifests)."""
    try:
        return os.path.relpath(p, root) if root in p.resolve().parents else str(p)
    except ValueError:
        return str(p)


__all__ = ["ManifestEntry", "load_manifest", "manifest_from_paths", "filter_entries",
           "id_problem", "MAX_ID_LENGTH", "COLUMNS"]
