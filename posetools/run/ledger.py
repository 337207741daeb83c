"""The run ledger: each video's state per stage, in ``OUT/ledger.sqlite``.

States: ``committed`` (artifact on disk under its final name; fingerprint, size and
mtime recorded), ``failed`` (error class, message, traceback file), ``skipped`` (why
— e.g. the upstream stage failed) and ``pending`` (queued, interrupted, or marked for
recomputation by ``posetools verify --repair``). Only the runner writes the ledger;
workers return outcomes to it. ``status`` and ``verify`` open it read-only and never
create one.

For any manifest, ``committed + failed + skipped + pending == len(manifest)`` per
stage: ids without a row count as pending (see :meth:`Ledger.summary`).

Every write is one SQLite transaction (a crash or a full disk never leaves a half
row); a write that fails raises :class:`~posetools.errors.LedgerError` (or
:class:`~posetools.errors.DiskFullError`), which stops the run with one line.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import json
import sqlite3
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from ..errors import LedgerError, OutputFolderError, io_error

State = Literal["committed", "failed", "skipped", "pending"]
STATES: tuple[State, ...] = ("committed", "failed", "skipped", "pending")
_COLUMNS = ("stage", "video_id", "state", "fingerprint", "input_hash", "error_class",
            "message", "traceback_path", "detail", "updated_utc", "artifact_size",
            "artifact_mtime_ns")


@dataclass(frozen=True)
class LedgerRow:
    """One (stage, video) state.

    Attributes:
        artifact_size: Size in bytes of the committed file (``None`` if not committed).
        artifact_mtime_ns: Its mtime at commit (``None`` if not committed).
    """

    stage: str
    video_id: str
    state: State
    fingerprint: str | None = None
    input_hash: str | None = None
    error_class: str | None = None
    message: str | None = None
    traceback_path: str | None = None
    detail: dict[str, Any] | None = None
    updated_utc: str | None = None
    artifact_size: int | None = None
    artifact_mtime_ns: int | None = None


class Ledger:
    """SQLite-backed ledger under an output folder.

    Args:
        out: Output root; the database is ``out/ledger.sqlite`` (created when writable).
        readonly: Open an existing ledger without writing anything (``status``,
            ``verify``): works on a read-only folder.

    Raises:
        OutputFolderError: ``readonly`` and the folder has no ledger.
        LedgerError: The file is not a readable ledger.
    """

    def __init__(self, out: str | Path, *, readonly: bool = False) -> None:
        self.path = Path(out) / "ledger.sqlite"
        self.readonly = readonly
        try:
            if readonly:
                if not self.path.is_file():
                    raise OutputFolderError(f"{Path(out)}: no ledger.sqlite here (not a "
                                            "posetools output folder, or nothing ran yet)")
                self._db = _connect_readonly(self.path)
                self._columns = [r[1] for r in self._db.execute("PRAGMA table_info(state)")]
                if not self._columns:
                    raise sqlite3.DatabaseError("no 'state' table")
            else:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                self._db = sqlite3.connect(self.path, timeout=30)
                self._db.execute("PRAGMA journal_mode=DELETE")
                self._db.execute(
                    "CREATE TABLE IF NOT EXISTS state (stage TEXT, video_id TEXT, state TEXT,"
                    " fingerprint TEXT, input_hash TEXT, error_class TEXT, message TEXT,"
                    " traceback_path TEXT, detail TEXT, updated_utc TEXT,"
                    " PRIMARY KEY (stage, video_id))")
                have = {r[1] for r in self._db.execute("PRAGMA table_info(state)")}
                for col in ("artifact_size", "artifact_mtime_ns"):  # ledgers of 0.1.0
                    if col not in have:
                        self._db.execute(f"ALTER TABLE state ADD COLUMN {col} INTEGER")
                self._db.commit()
                self._columns = list(_COLUMNS)
        except OSError as e:
            raise io_error(e, f"creating {self.path}") from None
        except sqlite3.OperationalError as e:
            if "disk is full" in str(e) or "readonly" in str(e):
                raise io_error(e, f"opening {self.path}") from None
            raise LedgerError(f"{self.path}: cannot open the ledger: {e}") from None
        except sqlite3.DatabaseError as e:
            raise LedgerError(f"{self.path}: not a readable posetools ledger ({e}); "
                              "move it away to start over") from None
        self._in_batch = False

    # -- writing ------------------------------------------------------------------------

    def pending(self, stage: str, video_id: str, *, fingerprint: str | None,
                input_hash: str | None, message: str | None = None) -> None:
        """The video is planned for ``stage`` (or was interrupted / marked for repair)."""
        self._set(LedgerRow(stage, video_id, "pending", fingerprint, input_hash,
                            message=message))

    def commit(self, stage: str, video_id: str, *, fingerprint: str, input_hash: str | None,
               detail: dict[str, Any], size: int | None = None,
               mtime_ns: int | None = None) -> None:
        """The artifact is on disk under its final name with ``fingerprint``."""
        self._set(LedgerRow(stage, video_id, "committed", fingerprint, input_hash,
                            detail=detail, artifact_size=size, artifact_mtime_ns=mtime_ns))

    def fail(self, stage: str, video_id: str, *, error_class: str, message: str,
             traceback_path: str | None = None, fingerprint: str | None = None,
             input_hash: str | None = None) -> None:
        """The stage failed for the video (error class, one-line message, traceback file)."""
        self._set(LedgerRow(stage, video_id, "failed", fingerprint, input_hash, error_class,
                            message, traceback_path))

    def skip(self, stage: str, video_id: str, reason: str) -> None:
        """The stage did not run for the video, for ``reason`` (e.g. upstream failed)."""
        self._set(LedgerRow(stage, video_id, "skipped", message=reason))

    @contextlib.contextmanager
    def batch(self) -> Iterator[None]:
        """Group the writes of the block in one transaction (planning many videos)."""
        self._in_batch = True
        try:
            yield
            self._commit()
        except BaseException:
            with contextlib.suppress(sqlite3.Error):
                self._db.rollback()
            raise
        finally:
            self._in_batch = False

    def _set(self, row: LedgerRow) -> None:
        if self.readonly:
            raise LedgerError(f"{self.path}: opened read-only")
        values = (row.stage, row.video_id, row.state, row.fingerprint, row.input_hash,
                  row.error_class, row.message, row.traceback_path,
                  None if row.detail is None else json.dumps(row.detail, default=str),
                  _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
                  row.artifact_size, row.artifact_mtime_ns)
        try:
            self._db.execute(f"INSERT OR REPLACE INTO state ({', '.join(_COLUMNS)}) "
                             f"VALUES ({', '.join('?' * len(_COLUMNS))})", values)
        except sqlite3.Error as e:
            raise self._error(e) from None
        if not self._in_batch:
            self._commit()

    def _commit(self) -> None:
        try:
            self._db.commit()
        except sqlite3.Error as e:
            with contextlib.suppress(sqlite3.Error):
                self._db.rollback()
            raise self._error(e) from None

    def _error(self, e: sqlite3.Error) -> Exception:
        if "disk is full" in str(e) or "disk I/O" in str(e):
            return io_error(e, f"writing the ledger {self.path}")
        return LedgerError(f"{self.path}: cannot write the ledger: {e}")

    # -- reading ------------------------------------------------------------------------

    def get(self, stage: str, video_id: str) -> LedgerRow | None:
        """The row for (stage, video), or ``None``."""
        rows = self._select("WHERE stage=? AND video_id=?", (stage, video_id))
        return rows[0] if rows else None

    def rows(self, stage: str | None = None) -> list[LedgerRow]:
        """All rows, optionally of one stage, ordered by stage then video id."""
        where, args = ("WHERE stage=?", (stage,)) if stage is not None else ("", ())
        return self._select(f"{where} ORDER BY stage, video_id", args)

    def problems(self) -> list[LedgerRow]:
        """The failed and skipped rows, ordered by stage then video id."""
        return self._select("WHERE state IN ('failed', 'skipped') ORDER BY stage, video_id", ())

    def by_video(self, stage: str, *, light: bool = False,
                 video_ids: Sequence[str] | None = None) -> dict[str, LedgerRow]:
        """The rows of ``stage`` keyed by video id (for planning).

        Args:
            stage: The stage.
            light: Leave ``detail`` and ``traceback_path`` out (``None``): what planning
                reads, without decoding every row's JSON.
            video_ids: Only these videos (a few queries; for a small selection of a large
                ledger). ``None``: every row, in one query.
        """
        skip = ("detail", "traceback_path") if light else ()
        if video_ids is None:
            return {r.video_id: r for r in self._select("WHERE stage=?", (stage,), skip)}
        ids, out = list(video_ids), {}
        for i in range(0, len(ids), 500):  # SQLite's parameter limit
            part = ids[i:i + 500]
            marks = ",".join("?" * len(part))
            for r in self._select(f"WHERE stage=? AND video_id IN ({marks})", (stage, *part),
                                  skip):
                out[r.video_id] = r
        return out

    def _select(self, tail: str, args: tuple, skip: tuple[str, ...] = ()) -> list[LedgerRow]:
        cols = [c for c in _COLUMNS if c in self._columns and c not in skip]
        try:
            cur = self._db.execute(f"SELECT {', '.join(cols)} FROM state {tail}", args)
            return [LedgerRow(**_decoded(dict(zip(cols, r, strict=True)))) for r in cur]
        except sqlite3.DatabaseError as e:
            raise LedgerError(f"{self.path}: cannot read the ledger: {e}") from None

    def summary(self, video_ids: Iterable[str] | None = None) -> dict[str, Counter]:
        """Counts per stage and state; restricted to ``video_ids`` when given.

        With ``video_ids``, ids without a row for a stage that has any rows count as
        ``pending``, so the counts of each stage add up to ``len(video_ids)``. Linear
        in rows + ids.
        """
        per_stage: dict[str, dict[str, str]] = {}
        try:
            for stage, vid, state in self._db.execute("SELECT stage, video_id, state FROM state"):
                per_stage.setdefault(stage, {})[vid] = state
        except sqlite3.DatabaseError as e:
            raise LedgerError(f"{self.path}: cannot read the ledger: {e}") from None
        ids = None if video_ids is None else list(dict.fromkeys(video_ids))
        return {st: Counter(have.values()) if ids is None
                else Counter(have.get(v, "pending") for v in ids)
                for st, have in per_stage.items()}

    def close(self) -> None:
        """Close the database."""
        self._db.close()


def _decoded(d: dict[str, Any]) -> dict[str, Any]:
    if d.get("detail") is not None:
        d["detail"] = json.loads(d["detail"])
    return d


def _connect_readonly(path: Path) -> sqlite3.Connection:
    """Open without creating or changing anything; works on a read-only filesystem."""
    uri = path.resolve().as_uri()
    db = sqlite3.connect(f"{uri}?mode=ro", uri=True, timeout=30)
    try:
        db.execute("SELECT count(*) FROM sqlite_master").fetchone()
        return db
    except sqlite3.OperationalError:  # e.g. a WAL ledger of 0.1.0 on a read-only folder
        db.close()
        return sqlite3.connect(f"{uri}?immutable=1", uri=True)


__all__ = ["Ledger", "LedgerRow", "STATES", "State"]
