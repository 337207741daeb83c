"""The Ray executor on a real local Ray cluster (2 CPUs): tasks, actors, crashes, identity."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from posetools.config import from_dict
from posetools.config.presets import resolve_pipeline
from posetools.config.schema import PipelineConfig, load_pipeline
from posetools.errors import DeviceError
from posetools.io.manifest import load_manifest
from posetools.io.store import artifact_path, check_artifact
from posetools.run.ledger import Ledger
from posetools.run.runner import Runner, RunOptions
from tests.support.media import write_clip

ray = pytest.importorskip("ray", reason="the [ray] extra is not installed")
psutil = pytest.importorskip("psutil")

ACTOR = "ray::MapWorker(Map(_StageActor))"
"""Process title of our stage actors (``.submit`` appended while one runs a video)."""


@pytest.fixture(scope="module")
def local_ray():
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield
    ray.shutdown()


@pytest.fixture
def clips(tmp_path, videos_dir) -> Path:
    """Two real clips cut to 1.6 s (40-48 frames) and an empty file."""
    (tmp_path / "bad.mp4").write_bytes(b"")
    m = tmp_path / "m.csv"
    m.write_text("video_id,path,end\n"
                 f"demo,{videos_dir / 'demo_skeleton.mp4'},1.6\n"
                 f"ntu,{videos_dir / 'ntu_S001C001P001R001A001.avi'},1.6\n"
                 "bad,bad.mp4,\n")
    return m


def _artifacts(out: Path) -> dict[str, bytes]:
    return {str(p.relative_to(out)): p.read_bytes() for p in sorted(out.glob("*/*.h5"))}


def _fingerprints(out: Path) -> dict:
    led = Ledger(out, readonly=True)
    try:
        return {(r.stage, r.video_id): (r.state, r.fingerprint, r.error_class)
                for s in ("probe", "estimate", "aggregate", "normalize", "heatmaps")
                for r in led.rows(s)}
    finally:
        led.close()


def test_probe_tasks_commit_and_record_failures(tmp_path, local_ray):
    for i in range(3):
        write_clip(tmp_path / f"v{i}.mp4", n=6 + i)
    (tmp_path / "bad.mp4").write_bytes(b"")
    m = tmp_path / "m.csv"
    m.write_text("video_id,path\n" + "".join(f"v{i},v{i}.mp4\n" for i in range(3))
                 + "bad,bad.mp4\n")
    entries = load_manifest(m)
    cfg = from_dict(PipelineConfig, {"stages": ["probe"]})
    out = tmp_path / "out"
    opts = RunOptions(workers=2, progress=False, executor="ray")
    (rep,) = Runner(cfg, out, opts).run(entries)
    assert sorted(rep.committed) == ["v0", "v1", "v2"]
    assert [v for v, _ in rep.failed] == ["bad"]
    rows = {r.video_id: r for r in Ledger(out).rows("probe")}
    assert rows["bad"].error_class == "EmptyFileError"
    assert rows["v2"].detail["frames"] == 8
    for i in range(3):
        check_artifact(artifact_path(out, "probe", f"v{i}"), rows[f"v{i}"].fingerprint)
    # same fingerprints as a local run: nothing to do
    (rep,) = Runner(cfg, out, RunOptions(progress=False)).run(entries)
    assert sorted(rep.up_to_date) == ["v0", "v1", "v2"]


def test_default_pipeline_on_ray_equals_the_local_run_byte_for_byte(tmp_path, clips,
                                                                      local_ray):
    cfg = load_pipeline(resolve_pipeline("default"))
    entries = load_manifest(clips)
    local, on_ray = tmp_path / "local", tmp_path / "ray"
    Runner(cfg, local, RunOptions(progress=False)).run(entries)
    reports = Runner(cfg, on_ray, RunOptions(workers=2, progress=False,
                                             executor="ray")).run(entries)
    assert [r.stage for r in reports] == list(cfg.stages)
    assert all(sorted(r.committed) == ["demo", "ntu"] for r in reports)
    a, b = _artifacts(local), _artifacts(on_ray)
    assert len(a) == 2 * len(cfg.stages) and a.keys() == b.keys()
    assert [k for k in a if a[k] != b[k]] == []
    assert _fingerprints(local) == _fingerprints(on_ray)
    assert _fingerprints(on_ray)[("probe", "bad")][::2] == ("failed", "EmptyFileError")


class _Killer(threading.Thread):
    """SIGKILLs the first stage actor seen running a video for ``after_s`` seconds."""

    def __init__(self, after_s: float = 1.0) -> None:
        super().__init__(daemon=True)
        self.after_s, self.killed, self.done = after_s, [], threading.Event()

    def run(self) -> None:
        busy: dict[int, float] = {}
        while not self.done.is_set() and not self.killed:
            for p in psutil.process_iter(["pid", "cmdline"]):
                title = " ".join(p.info["cmdline"] or [])
                if not title.startswith(ACTOR + ".submit"):
                    busy.pop(p.info["pid"], None)
                    continue
                t0 = busy.setdefault(p.info["pid"], time.monotonic())
                if time.monotonic() - t0 >= self.after_s:
                    p.kill()
                    self.killed.append(p.info["pid"])
                    return
            time.sleep(0.05)


def _estimate_with_a_kill(out: Path, clips: Path, retries: int):
    cfg = load_pipeline(resolve_pipeline("default"))
    entries = load_manifest(clips)
    Runner(cfg, out, RunOptions(progress=False)).run(entries, ["probe"])
    killer = _Killer()
    killer.start()
    try:
        (rep,) = Runner(cfg, out, RunOptions(workers=1, progress=False, executor="ray",
                                             max_retries_on_crash=retries)
                        ).run(entries, ["estimate"])
    finally:
        killer.done.set()
        killer.join()
    assert killer.killed, "no stage actor was seen running a video"
    return cfg, entries, rep


def test_an_actor_killed_mid_video_is_retried(tmp_path, clips, local_ray):
    cfg, entries, rep = _estimate_with_a_kill(tmp_path / "ray", clips, retries=1)
    assert sorted(rep.committed) == ["demo", "ntu"] and not rep.failed
    (ref,) = Runner(cfg, tmp_path / "local", RunOptions(progress=False)).run(
        entries, ["probe", "estimate"])[1:]
    a, b = _artifacts(tmp_path / "local"), _artifacts(tmp_path / "ray")
    assert a == b and len(a) == 4


def test_a_video_whose_retries_are_spent_fails_and_the_stage_goes_on(tmp_path, clips,
                                                                      local_ray):
    _, _, rep = _estimate_with_a_kill(tmp_path / "ray", clips, retries=0)
    assert len(rep.committed) == 1 and len(rep.failed) == 1
    vid, msg = rep.failed[0]
    assert "the Ray worker died while processing this video (1 attempts" in msg
    row = {r.video_id: r for r in Ledger(tmp_path / "ray").rows("estimate")}[vid]
    assert (row.state, row.error_class) == ("failed", "WorkerCrashedError")


def test_gpu_requests_the_cluster_cannot_meet_are_refused(tmp_path, clips, local_ray):
    cfg = load_pipeline(resolve_pipeline("yolo_blazepose"))
    entries = load_manifest(clips)
    Runner(cfg, tmp_path / "o", RunOptions(progress=False)).run(entries, ["probe"])
    with pytest.raises(DeviceError, match="the Ray cluster has 0 GPU"):
        Runner(cfg, tmp_path / "o", RunOptions(progress=False, executor="ray",
                                               gpus_per_worker=1)).run(entries, ["estimate"])
    with pytest.raises(DeviceError, match="needs --gpus-per-worker > 0"):
        Runner(cfg, tmp_path / "o", RunOptions(progress=False, executor="ray",
                                               device="cuda")).run(entries, ["estimate"])
