"""The Ray executor on a real local Ray cluster (Ray Data actor pool)."""

import pytest

from posetools.config import from_dict
from posetools.config.schema import PipelineConfig
from posetools.io.manifest import load_manifest
from posetools.io.store import artifact_path, check_artifact
from posetools.run.ledger import Ledger
from posetools.run.runner import Runner, RunOptions
from tests.support.media import write_clip

ray = pytest.importorskip("ray", reason="the [ray] extra is not installed")


@pytest.fixture(scope="module")
def local_ray():
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield
    ray.shutdown()


def test_ray_executor_commits_and_records_failures(tmp_path, local_ray):
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
