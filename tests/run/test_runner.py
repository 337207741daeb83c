import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import h5py
import pytest

from posetools.config import from_dict
from posetools.config.schema import PipelineConfig
from posetools.io.manifest import load_manifest
from posetools.io.store import TMP_MARK, artifact_path, check_artifact
from posetools.run.ledger import Ledger
from posetools.run.runner import Runner, RunOptions
from tests.support.media import write_audio_only, write_clip
from tests.support.processes import ledger_states, wait_for


def _cfg(**over) -> PipelineConfig:
    data = {"stages": ["probe"]}
    data.update(over)
    return from_dict(PipelineConfig, data)


def _manifest(tmp_path, rows):
    m = tmp_path / "m.csv"
    m.write_text("video_id,path\n" + "".join(f"{v},{p}\n" for v, p in rows))
    return load_manifest(m, data_root=tmp_path)


def _run(cfg, out, entries, **opts):
    (rep,) = Runner(cfg, out, RunOptions(progress=False, **opts)).run(entries)
    return rep


def test_bad_files_fail_and_the_batch_goes_on(tmp_path, videos_dir):
    good = write_clip(tmp_path / "good.mp4", n=12)
    (tmp_path / "empty.mp4").write_bytes(b"")
    (tmp_path / "text.mp4").write_text("hello\n" * 50)
    write_audio_only(tmp_path / "audio.m4a")
    data = (videos_dir / "mmaction2_test.mp4").read_bytes()
    (tmp_path / "trunc.mp4").write_bytes(data[: len(data) // 3])
    entries = _manifest(tmp_path, [("good", good.name), ("empty", "empty.mp4"),
                                   ("text", "text.mp4"), ("audio", "audio.m4a"),
                                   ("trunc", "trunc.mp4")])
    out = tmp_path / "out"
    rep = _run(_cfg(), out, entries)
    assert rep.committed == ["good"]
    failed = dict(rep.failed)
    assert set(failed) == {"empty", "text", "audio", "trunc"}
    led = Ledger(out)
    classes = {r.video_id: r.error_class for r in led.rows("probe") if r.state == "failed"}
    assert classes["empty"] == "EmptyFileError"
    assert classes["text"] == "NotAVideoError"
    assert classes["audio"] == "NotAVideoError"
    assert classes["trunc"] in {"CorruptVideoError", "NotAVideoError"}
    for r in led.rows("probe"):
        if r.state == "failed":
            assert r.video_id in r.message and "probe" in r.message
            assert Path(r.traceback_path).is_file()
    summ = led.summary([e.video_id for e in entries])["probe"]
    assert summ["committed"] + summ["failed"] + summ["skipped"] + summ["pending"] == 5
    assert not (out / "probe" / "empty.h5").exists()
    check_artifact(artifact_path(out, "probe", "good"))


def test_fingerprint_matrix(tmp_path):
    clip = write_clip(tmp_path / "a.mp4", n=20)
    clip2 = write_clip(tmp_path / "b.mp4", n=15)
    entries = _manifest(tmp_path, [("a", "a.mp4"), ("b", "b.mp4")])
    out = tmp_path / "out"
    assert sorted(_run(_cfg(), out, entries).committed) == ["a", "b"]
    fp0 = h5py.File(artifact_path(out, "probe", "a"), "r").attrs["fingerprint"]
    # same params, other runtime knobs: nothing to do
    assert sorted(_run(_cfg(), out, entries).up_to_date) == ["a", "b"]
    assert sorted(_run(_cfg(), out, entries, workers=2).up_to_date) == ["a", "b"]
    assert sorted(_run(_cfg(video={"prefetch": 0}), out, entries).up_to_date) == ["a", "b"]
    # semantic param changes recompute
    assert sorted(_run(_cfg(probe={"brightness": False}), out, entries).committed) == ["a", "b"]
    assert sorted(_run(_cfg(video={"frame_stride": 5}), out, entries).committed) == ["a", "b"]
    with h5py.File(artifact_path(out, "probe", "a"), "r") as fh:
        assert list(fh["frame_index"][...]) == [0, 5, 10, 15]
    # --force recomputes
    assert sorted(_run(_cfg(video={"frame_stride": 5}), out, entries, force=True).committed) \
        == ["a", "b"]
    # changed input content recomputes only that video
    write_clip(clip2, n=16)
    rep = _run(_cfg(video={"frame_stride": 5}), out, entries)
    assert rep.committed == ["b"] and rep.up_to_date == ["a"]
    # back to the first params: recompute, same fingerprint as the very first run
    _run(_cfg(), out, entries)
    assert h5py.File(artifact_path(out, "probe", "a"), "r").attrs["fingerprint"] == fp0
    assert clip.is_file()


def test_deleted_artifact_is_recomputed(tmp_path):
    write_clip(tmp_path / "a.mp4", n=5)
    entries = _manifest(tmp_path, [("a", "a.mp4")])
    out = tmp_path / "out"
    _run(_cfg(), out, entries)
    artifact_path(out, "probe", "a").unlink()
    assert _run(_cfg(), out, entries).committed == ["a"]


def test_second_run_on_same_out_is_refused(tmp_path):
    from filelock import FileLock

    from posetools.errors import PosetoolsError

    write_clip(tmp_path / "a.mp4", n=5)
    entries = _manifest(tmp_path, [("a", "a.mp4")])
    out = tmp_path / "out"
    out.mkdir()
    with FileLock(str(out / ".posetools.lock")):
        with pytest.raises(PosetoolsError, match="in use by another posetools run"):
            _run(_cfg(), out, entries)


# --------------------------------------------------------------------------- crash safety

def _children(pid: int) -> list[int]:
    kids = []
    for d in Path("/proc").iterdir():
        if not d.name.isdigit():
            continue
        try:
            stat = (d / "stat").read_text()
            cmd = (d / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        if ppid == pid and "spawn_main" in cmd:
            kids.append(int(d.name))
    return kids


def _crash_setup(tmp_path, videos_dir, n=4):
    src = videos_dir / "ntu_S001C001P001R001A001.avi"
    rows = []
    for i in range(n):
        shutil.copy(src, tmp_path / f"v{i}.avi")
        rows.append((f"v{i}", f"v{i}.avi"))
    m = tmp_path / "m.csv"
    m.write_text("video_id,path\n" + "".join(f"{v},{p}\n" for v, p in rows))
    p = tmp_path / "p.yaml"
    p.write_text("stages: [probe]\n")
    return m, p, [r[0] for r in rows]


def _cli(*args):
    return [sys.executable, "-m", "posetools.cli", *args]


def _wait_for_pending(out: Path, timeout=60.0) -> None:
    wait_for(lambda: "pending" in ledger_states(out, "probe").values(), timeout=timeout,
             what="the probe stage to start")


def _assert_final_files_complete(out: Path):
    for f in (out / "probe").glob("*.h5"):
        check_artifact(f)


def test_sigkill_of_a_worker_mid_write(tmp_path, videos_dir):
    m, p, ids = _crash_setup(tmp_path, videos_dir)
    out = tmp_path / "out"
    proc = subprocess.Popen(_cli("run", str(p), "-m", str(m), "-o", str(out), "-j", "2",
                                 "--no-progress"), stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    _wait_for_pending(out)
    kids = []
    t0 = time.time()
    while not kids and time.time() - t0 < 30:
        kids = _children(proc.pid)
    assert kids, "no worker process found"
    os.kill(kids[0], signal.SIGKILL)
    log, _ = proc.communicate(timeout=300)
    _assert_final_files_complete(out)
    led = Ledger(out)
    states = {r.video_id: r.state for r in led.rows("probe")}
    assert set(states) == set(ids)
    assert all(s in ("committed", "failed") for s in states.values()), log
    # the killed videos were retried in a fresh pool: everything ends committed
    assert all(s == "committed" for s in states.values()), log
    assert not list((out / "probe").glob(f"*{TMP_MARK}*"))


def test_manifest_segment_is_part_of_the_fingerprint(tmp_path):
    write_clip(tmp_path / "a.mp4", n=30)
    m = tmp_path / "m.csv"
    out = tmp_path / "out"
    m.write_text("video_id,path,start,end\na,a.mp4,0,0.5\n")
    assert _run(_cfg(), out, load_manifest(m)).committed == ["a"]
    assert _run(_cfg(), out, load_manifest(m)).up_to_date == ["a"]
    m.write_text("video_id,path,start,end\na,a.mp4,0,0.8\n")
    assert _run(_cfg(), out, load_manifest(m)).committed == ["a"]
    with h5py.File(artifact_path(out, "probe", "a"), "r") as fh:
        assert fh["frame_index"][-1] == 19  # 25 fps: pts < 0.8 s


def test_pool_workers_not_the_parent_load_the_models(tmp_path):
    from posetools.experts.build import cached_expert

    for i in range(2):
        write_clip(tmp_path / f"v{i}.mp4", n=4, size=(96, 64))
    entries = _manifest(tmp_path, [("v0", "v0.mp4"), ("v1", "v1.mp4")])
    cfg = _cfg(stages=["probe", "estimate"],
               estimate={"experts": [{"name": "bp", "backend": "mediapipe"}]})
    cached_expert.cache_clear()
    reports = Runner(cfg, tmp_path / "out", RunOptions(workers=2, progress=False)).run(entries)
    assert [sorted(r.committed) for r in reports] == [["v0", "v1"], ["v0", "v1"]]
    assert cached_expert.cache_info().currsize == 0
    # same fingerprints in this process, and a no-op rerun builds no model at all
    reports = Runner(cfg, tmp_path / "out", RunOptions(progress=False)).run(entries)
    assert [sorted(r.up_to_date) for r in reports] == [["v0", "v1"], ["v0", "v1"]]
    assert cached_expert.cache_info().currsize == 0


def test_pool_workers_take_the_listed_devices_in_turn():
    from posetools.run.executors import _Pool

    pool = _Pool(3, ("cpu", "cuda:1"))
    try:
        assert sorted(pool.devices.values()) == ["cpu", "cpu", "cuda:1"]
    finally:
        pool.shutdown()
    pool = _Pool(2)
    try:
        assert list(pool.devices.values()) == [None, None]  # the YAML's device, or auto
    finally:
        pool.shutdown()
