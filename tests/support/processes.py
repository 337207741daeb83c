"""Run the real ``posetools`` command in subprocesses, and look at what it leaves behind."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from posetools.io.store import check_artifact
from posetools.run.ledger import STATES, Ledger

SHORT_CLIPS = ("mmpose_demo.mp4", "posetrack_000001.mp4", "mmaction2_test.mp4")
"""Three real shared clips: 5, 5 and 300 frames (the default pipeline runs in ~20 s)."""


def cli(*args: str) -> list[str]:
    """The ``posetools`` command line, run by this interpreter."""
    return [sys.executable, "-m", "posetools.cli", *args]


def write_manifest(tmp: Path, videos_dir: Path, clips=SHORT_CLIPS) -> Path:
    """A CSV manifest of ``clips`` (ids a, b, c...), the videos copied next to it."""
    rows = []
    for i, name in enumerate(clips):
        vid = chr(ord("a") + i)
        dst = tmp / f"{vid}{Path(name).suffix}"
        shutil.copy(videos_dir / name, dst)
        rows.append(f"{vid},{dst.name}\n")
    m = tmp / "m.csv"
    m.write_text("video_id,path\n" + "".join(rows))
    return m


def wait_for(pred: Callable[[], bool], timeout: float = 120.0, what: str = "condition") -> None:
    """Poll ``pred`` until it holds (raises after ``timeout`` seconds)."""
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        if pred():
            return
        time.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what}")


def ledger_states(out: Path, stage: str) -> dict[str, str]:
    """``{video_id: state}`` of a stage (empty while there is no ledger)."""
    if not (out / "ledger.sqlite").is_file():
        return {}
    try:
        led = Ledger(out, readonly=True)
    except Exception:  # noqa: BLE001 - being created right now
        return {}
    try:
        return {r.video_id: r.state for r in led.rows(stage)}
    except Exception:  # noqa: BLE001
        return {}
    finally:
        led.close()


def children(pid: int) -> list[int]:
    """Pids whose parent is ``pid`` (Linux ``/proc``)."""
    out = []
    for d in Path("/proc").iterdir():
        if not d.name.isdigit():
            continue
        try:
            ppid = int((d / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        if ppid == pid:
            out.append(int(d.name))
    return out


def alive(pid: int) -> bool:
    """Whether a process exists and is not a zombie."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


def kill_group(proc: subprocess.Popen, sig: int = signal.SIGKILL) -> None:
    """Signal the whole process group of ``proc`` (started with ``start_new_session``)."""
    try:
        os.killpg(proc.pid, sig)
    except ProcessLookupError:
        pass


def temp_files(out: Path) -> list[Path]:
    """Every temp file a writer left under ``out``."""
    return [p for p in out.rglob(".*") if ".tmp-" in p.name]


def assert_consistent(out: Path) -> dict[str, dict[str, str]]:
    """Every file under a final name is complete; every ledger row is a known state and
    every committed row's file exists with the recorded fingerprint.

    Returns:
        ``{stage: {video_id: state}}``.
    """
    for f in out.glob("*/*.h5"):
        check_artifact(f)  # complete, readable to the last dataset
    led = Ledger(out, readonly=True)
    try:
        states: dict[str, dict[str, str]] = {}
        for r in led.rows():
            assert r.state in STATES
            states.setdefault(r.stage, {})[r.video_id] = r.state
            if r.state == "committed":
                check_artifact(out / r.stage / f"{r.video_id}.h5", r.fingerprint)
    finally:
        led.close()
    return states
