"""SIGTERM / SIGINT stop a run cleanly; workers never outlive the run or commit after it."""

from __future__ import annotations

import signal
import subprocess
import time
from pathlib import Path

import h5py
import numpy as np

from posetools.config import from_dict
from posetools.config.schema import PipelineConfig
from posetools.io.manifest import ManifestEntry
from posetools.io.store import artifact_path
from posetools.run.work import WorkItem
from posetools.run.worker import process_one
from posetools.stages.base import VideoJob
from tests.support.media import write_clip
from tests.support.processes import (
    alive,
    assert_consistent,
    children,
    cli,
    kill_group,
    ledger_states,
    temp_files,
    wait_for,
    write_manifest,
)


def _start(m, out, *extra):
    return subprocess.Popen(cli("run", "default", "-m", str(m), "-o", str(out), "--no-progress",
                                *extra),
                            start_new_session=True, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def _in_estimate(proc, out) -> bool:
    return proc.poll() is not None or "pending" in ledger_states(out, "estimate").values()


def _pool_workers(pid: int) -> list[int]:
    """Children of ``pid`` that are multiprocessing spawn workers (being started or running)."""
    out = []
    for c in children(pid):
        try:
            cmd = Path(f"/proc/{c}/cmdline").read_bytes()
        except OSError:
            continue
        if b"spawn_main" in cmd:
            out.append(c)
    return out


def _rerun_completes(m, out) -> None:
    r = subprocess.run(cli("run", "default", "-m", str(m), "-o", str(out), "--no-progress"),
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
    states = assert_consistent(out)
    assert all(set(s.values()) == {"committed"} for s in states.values()), states
    v = subprocess.run(cli("verify", "-o", str(out)), capture_output=True, text=True,
                       timeout=300)
    assert v.returncode == 0 and " 0 bad" in v.stdout, v.stdout + v.stderr


def test_sigterm_with_two_workers_stops_within_seconds(tmp_path, videos_dir):
    m = write_manifest(tmp_path, videos_dir)
    out = tmp_path / "out"
    proc = _start(m, out, "-j", "2")
    wait_for(lambda: _in_estimate(proc, out), what="the estimate stage")
    workers = children(proc.pid)
    assert proc.poll() is None and workers, "the run should be busy with two workers"
    t0 = time.monotonic()
    proc.send_signal(signal.SIGTERM)  # the parent only, as docker stop / tini do
    _, err = proc.communicate(timeout=30)
    took = time.monotonic() - t0
    assert proc.returncode == 143, err[-2000:]
    assert took < 8.0, f"took {took:.1f} s to stop"
    assert "stopped by SIGTERM" in err and "Traceback" not in err
    wait_for(lambda: not any(alive(w) for w in workers), timeout=5, what="workers to exit")
    assert temp_files(out) == []
    states = assert_consistent(out)
    assert "pending" in states["estimate"].values()
    _rerun_completes(m, out)


def test_sigint_inline_stops_at_a_frame_boundary(tmp_path, videos_dir):
    m = write_manifest(tmp_path, videos_dir)
    out = tmp_path / "out"
    proc = _start(m, out)
    wait_for(lambda: _in_estimate(proc, out), what="the estimate stage")
    time.sleep(0.5)
    kill_group(proc, signal.SIGINT)  # Ctrl-C reaches the whole foreground group
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, err[-2000:]
    assert "stopped by SIGINT" in err and "Traceback" not in err
    assert temp_files(out) == []
    assert_consistent(out)
    _rerun_completes(m, out)


def test_ctrl_c_while_pool_workers_start_gives_no_traceback(tmp_path, videos_dir):
    m = write_manifest(tmp_path, videos_dir)
    out = tmp_path / "out"
    proc = _start(m, out, "-j", "2")
    wait_for(lambda: proc.poll() is not None or _pool_workers(proc.pid), what="workers to spawn")
    kill_group(proc, signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err[-2000:]
    assert "Traceback" not in err and "KeyboardInterrupt" not in err
    assert temp_files(out) == []


def test_workers_die_with_their_parent(tmp_path, videos_dir):
    m = write_manifest(tmp_path, videos_dir)
    out = tmp_path / "out"
    proc = _start(m, out, "-j", "2")
    wait_for(lambda: _in_estimate(proc, out), what="the estimate stage")
    workers = children(proc.pid)
    assert workers
    proc.kill()  # SIGKILL of the parent alone: no handler runs
    proc.communicate(timeout=30)
    wait_for(lambda: not any(alive(w) for w in workers), timeout=10,
             what="orphaned workers to exit")
    assert_consistent(out)
    _rerun_completes(m, out)


def test_a_worker_of_an_ended_run_does_not_commit(tmp_path):
    clip = write_clip(tmp_path / "a.mp4", n=4)
    out = tmp_path / "out"
    job = VideoJob(ManifestEntry("a", clip, 1), clip, out)
    cfg = from_dict(PipelineConfig, {"stages": ["probe"]})
    stale = WorkItem(job, "f" * 64, None, run_token="not-the-current-token")
    res = process_one("probe", cfg, stale, {}, lambda n: None)
    assert res.interrupted and not res.ok and "not committing" in res.message
    final = artifact_path(out, "probe", "a")
    assert not final.exists() and temp_files(out) == []
    ok = process_one("probe", cfg, WorkItem(job, "f" * 64, None), {}, lambda n: None)
    assert ok.ok
    with h5py.File(final) as fh:
        assert np.array_equal(fh["frame_index"][...], np.arange(4))
