"""The run ledger: each video's state per stage, in ``OUT/ledger.sqlite``.

States: ``committed`` (artifact on disk under its final name, fingerprint
recorded), ``failed`` (error class, message, traceback file), ``skipped`` (why —
e.g. the upstream stage failed) and ``pending`` (queued or interrupted). Only the
parent process writes the ledger; workers return results to it.

For any manifest, ``committed + failed + skipped + pending == len(manifest)`` per
stage: ids without a row count as pending (see :meth:`Ledger.summary`).
"""

from __future__ import annotations

import datetime as _dt
import json
import sqlite3
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

State = Literal["committed", "failed", "skipped", "pending"]
STATES: tuple[State, ...] = ("committed", "failed", "skipped", "pending")


@dataclass(frozen=True)
class LedgerRow:
    """One (stage, video) state."""

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


class Ledger:
    """SQLite-backed ledger under an output folder.

    Args:
        out: Output root; the database is ``out/ledger.sqlite``.
    """

    def __init__(self, out: str | Path) -> None:
        out = Path(out)
        out.mkdir(parents=True, exist_ok=True)
        self.path = out / "ledger.sqlite"
        self._db = sqlite3.connect(self.path, timeout=30)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS state (stage TEXT, video_id TEXT, state TEXT,"
            " fingerprint TEXT, input_hash TEXT, error_class TEXT, message TEXT,"
            " traceback_path TEXT, detail TEXT, updated_utc TEXT,"
            " PRIMARY KEY (stage, video_id))"
        )
        self._db.commit()

    def pending(self, stage: str, video_id: str, *, fingerprint: str,
                input_hash: str | None) -> None:
        """The video is planned for ``stage`` (or was interrupted there)."""
        self._set(LedgerRow(stage, video_id, "pending", fingerprint, input_hash))

    def commit(self, stage: str, video_id: str, *, fingerprint: str, input_hash: str | None,
               detail: dict[str, Any]) -> None:
        """The artifact is on disk under its final name with ``fingerprint``."""
        self._set(LedgerRow(stage, video_id, "committed", fingerprint, input_hash,
                            detail=detail))

    def fail(self, stage: str, video_id: str, *, error_class: str, message: str,
             traceback_path: str | None = None, fingerprint: str | None = None,
             input_hash: str | None = None) -> None:
        """The stage failed for the video (error class, one-line message, traceback file)."""
        self._set(LedgerRow(stage, video_id, "failed", fingerprint, input_hash, error_class,
                            message, traceback_path))

    def skip(self, stage: str, video_id: str, reason: str) -> None:
        """The stage did not run for the video, for ``reason`` (e.g. upstream failed)."""
        self._set(LedgerRow(stage, video_id, "skipped", message=reason))

    def _set(self, row: LedgerRow) -> None:
        """Record a row (replacing the previous one for this stage and video)."""
        self._db.execute(
            "INSERT OR REPLACE INTO state VALUES (?,?,?,?,?,?,?,?,?,?)",
            (row.stage, row.video_id, row.state, row.fingerprint, row.input_hash,
             row.error_class, row.message, row.traceback_path,
             None if row.detail is None else json.dumps(row.detail, default=str),
             _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")),
        )
        self._db.commit()

    def get(self, stage: str, video_id: str) -> LedgerRow | None:
        """The row for (stage, video), or ``None``."""
        r = self._db.execute(
            "SELECT * FROM state WHERE stage=? AND video_id=?", (stage, video_id)
        ).fetchone()
        return None if r is None else _row(r)

    def rows(self, stage: str | None = None) -> list[LedgerRow]:
        """All rows, optionally of one stage, ordered by stage then video id."""
        q = "SELECT * FROM state"
        args: tuple = ()
        if stage is not None:
            q += " WHERE stage=?"
            args = (stage,)
        return [_row(r) for r in self._db.execute(q + " ORDER BY stage, video_id", args)]

    def summary(self, video_ids: Iterable[str] | None = None) -> dict[str, Counter]:
        """Counts per stage and state; restricted to ``video_ids`` when given.

        With ``video_ids``, ids without a row for a stage that has any rows count
        as ``pending``, so the counts of each stage add up to ``len(video_ids)``.
        """
        out: dict[str, Counter] = {}
        rows = self.rows()
        ids = None if video_ids is None else list(dict.fromkeys(video_ids))
        stages = list(dict.fromkeys(r.stage for r in rows))
        for st in stages:
            have = {r.video_id: r.state for r in rows if r.stage == st}
            if ids is None:
                out[st] = Counter(have.values())
            else:
                out[st] = Counter(have.get(v, "pending") for v in ids)
        return out

    def close(self) -> None:
        """Close the database."""
        self._db.close()


def _row(r: tuple) -> LedgerRow:
    return LedgerRow(
        stage=r[0],
        video_id=r[1],
        state=r[2],
        fingerprint=r[3],
        input_hash=r[4],
        error_class=r[5],
        message=r[6],
        traceback_path=r[7],
        detail=None if r[8] is None else json.loads(r[8]),
        updated_utc=r[9],
    )
