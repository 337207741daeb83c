"""Content hashes of input videos and stage fingerprints.

Hashing every video on every run is too slow for a dataset, so content hashes
are remembered in ``OUT/.posetools/hashes.sqlite`` keyed by
``(absolute path, size, mtime_ns)``: a file is rehashed only when one of them
changes (``posetools verify`` rehashes everything). The table is read once per run.

A stage fingerprint is ``sha256`` over the canonical JSON of::

    {input: content hash or None, stage, stage_version, params (semantic only),
     model: model checksum, upstream: {stage: fingerprint}}

Runtime knobs (workers, batch size, device, paths) never enter it.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import sqlite3
from pathlib import Path
from typing import Any

from ..io.files import file_sha256


class HashCache:
    """Persistent ``(path, size, mtime) -> sha256`` cache (single-process use).

    A cache only: if its database cannot be written (full disk) or read (damaged),
    hashes are computed again and the run goes on.

    Args:
        db_path: SQLite file; its folder is created.
    """

    def __init__(self, db_path: str | Path) -> None:
        self.db_path = Path(db_path)
        self._db: sqlite3.Connection | None = None
        self._memo: dict[str, tuple[int, int, str]] | None = None
        try:
            self.db_path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(self.db_path)
            self._db.execute(
                "CREATE TABLE IF NOT EXISTS hashes (path TEXT PRIMARY KEY, size INTEGER,"
                " mtime_ns INTEGER, sha256 TEXT)"
            )
            self._db.commit()
        except (OSError, sqlite3.Error):
            self._db = None

    def get(self, path: str | Path, *, rehash: bool = False) -> str:
        """Content hash of ``path``, computed only when size/mtime changed or ``rehash``.

        Raises:
            OSError: The file cannot be read.
        """
        p = os.path.abspath(path)
        st = os.stat(p)
        if not rehash:
            known = self._known().get(p)
            if known is not None and known[:2] == (st.st_size, st.st_mtime_ns):
                return known[2]
        digest = file_sha256(p)
        self._known()[p] = (st.st_size, st.st_mtime_ns, digest)
        if self._db is not None:
            try:
                self._db.execute("INSERT OR REPLACE INTO hashes VALUES (?,?,?,?)",
                                 (p, st.st_size, st.st_mtime_ns, digest))
                self._db.commit()
            except sqlite3.Error:
                with contextlib.suppress(sqlite3.Error):
                    self._db.rollback()
        return digest

    def _known(self) -> dict[str, tuple[int, int, str]]:
        """The whole table, read once (one query instead of one per file)."""
        if self._memo is None:
            self._memo = {}
            if self._db is not None:
                try:
                    for p, size, mtime, sha in self._db.execute("SELECT * FROM hashes"):
                        self._memo[p] = (size, mtime, sha)
                except sqlite3.Error:
                    pass
        return self._memo

    def digest(self, paths: list[Path]) -> str:
        """One sha256 over the contents of files and folders (every file below a folder).

        A path that does not exist counts as ``missing`` (the stage reports the error).
        """
        h = hashlib.sha256()
        for root in paths:
            root = Path(root)
            files = sorted(p for p in root.rglob("*") if p.is_file()) if root.is_dir() \
                else [root]
            h.update(f"{root}\n".encode())
            for f in files:
                try:
                    h.update(f"{f.relative_to(root)}={self.get(f)}\n".encode())
                except OSError:
                    h.update(f"{f.name}=missing\n".encode())
        return h.hexdigest()

    def close(self) -> None:
        """Close the database."""
        if self._db is not None:
            self._db.close()


def canonical_json(obj: Any) -> str:
    """Deterministic JSON (sorted keys, no spaces, floats by repr)."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), default=str)


class Fingerprinter:
    """:func:`fingerprint` for the many videos of one stage, serializing once what they share.

    The stage, its version, params and model checksum are the same for every video.

    Gives exactly :func:`fingerprint`'s digests (a test checks it).
    """

    def __init__(self, *, stage: str, stage_version: str, params: dict[str, Any],
                 model_checksum: str = "") -> None:
        # canonical_json of the payload, whose keys sort as: input, model, params, stage,
        # stage_version, upstream
        self._middle = (f',"model":{canonical_json(model_checksum)}'
                        f',"params":{canonical_json(params)}'
                        f',"stage":{canonical_json(stage)}'
                        f',"stage_version":{canonical_json(stage_version)},"upstream":')

    def __call__(self, input_hash: str | None = None,
                 upstream: dict[str, str] | None = None) -> str:
        """The fingerprint of one video's result."""
        text = (f'{{"input":{canonical_json(input_hash)}{self._middle}'
                f'{canonical_json(dict(sorted((upstream or {}).items())))}}}')
        return hashlib.sha256(text.encode()).hexdigest()


def fingerprint(
    *,
    stage: str,
    stage_version: str,
    params: dict[str, Any],
    input_hash: str | None = None,
    model_checksum: str = "",
    upstream: dict[str, str] | None = None,
) -> str:
    """Fingerprint of a stage result for one video (sha256 hex).

    Args:
        stage: Stage name.
        stage_version: Stage version.
        params: Semantic parameters only.
        input_hash: Content hash of the video if the stage reads it.
        model_checksum: Checksum(s) of the weights used.
        upstream: Fingerprints of the upstream artifacts read, by stage name.
    """
    payload = {
        "stage": stage,
        "stage_version": stage_version,
        "params": params,
        "input": input_hash,
        "model": model_checksum,
        "upstream": dict(sorted((upstream or {}).items())),
    }
    return hashlib.sha256(canonical_json(payload).encode()).hexdigest()
