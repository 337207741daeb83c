"""The README quickstart and a whole default pipeline on real media, through the CLI."""

import pickle

import h5py
import hdf5plugin  # noqa: F401
import numpy as np
from click.testing import CliRunner

from posetools.cli import main
from posetools.run.ledger import Ledger


def test_quickstart_runs_the_default_pipeline(tmp_path):
    out = tmp_path / "qs"
    r = CliRunner().invoke(main, ["quickstart", str(out)])
    assert r.exit_code == 0, r.output
    states = {(x.stage, x.state) for x in Ledger(out).rows()}
    assert states == {(s, "committed") for s in
                      ("probe", "estimate", "aggregate", "normalize", "heatmaps")}
    with h5py.File(out / "heatmaps" / "astronaut.h5", "r") as fh:
        hm = fh["heatmaps"]
        assert hm.shape == (50, 17, 56, 56) and hm.dtype == np.float16
        assert float(hm[10].max()) > 0.5  # a real person was found and rendered
    with h5py.File(out / "aggregate" / "astronaut.h5", "r") as fh:
        assert fh["valid"][...].mean() > 0.9
    # a second quickstart has nothing to do
    r = CliRunner().invoke(main, ["quickstart", str(out)])
    assert r.exit_code == 0
    assert "heatmaps           0          1" in r.output


def test_rerun_one_stage_after_a_param_change(tmp_path, videos_dir):
    out = tmp_path / "out"
    base = ["--video", str(videos_dir / "demo_skeleton.mp4"), "-o", str(out), "--no-progress"]
    p = tmp_path / "p.yaml"
    p.write_text("stages: [probe, estimate, aggregate, normalize, heatmaps]\n"
                 "video: {frame_stride: 3}\n"
                 "estimate: {experts: [{name: bp, backend: mediapipe}]}\n")
    cli = CliRunner()
    r = cli.invoke(main, ["run", str(p), *base])
    assert r.exit_code == 0, r.output
    with h5py.File(out / "estimate" / "demo_skeleton.h5", "r") as fh:
        assert list(fh["frame_index"][...]) == list(range(0, 72, 3))
        n = fh["experts/bp/n_instances"][...]
        assert (n == 1).all()
    # change an aggregate parameter: estimate is up to date, everything downstream reruns
    p.write_text(p.read_text() + "aggregate: {gamma: 0.5}\n")
    r = cli.invoke(main, ["run", str(p), *base])
    assert r.exit_code == 0, r.output
    rows = {ln.split()[0]: ln.split()[1:3] for ln in r.output.splitlines()[1:6]}
    assert rows["estimate"] == ["0", "1"]
    assert rows["aggregate"] == ["1", "0"] and rows["heatmaps"] == ["1", "0"]
    # run one stage alone with --force
    r = cli.invoke(main, ["normalize", str(p), *base, "--force"])
    assert r.exit_code == 0 and r.output.splitlines()[1].split()[:2] == ["normalize", "1"]
    # exports
    r = cli.invoke(main, ["export", "pyskl", str(tmp_path / "a.pkl"), "-o", str(out), "-m",
                          str(_manifest(tmp_path, videos_dir))])
    assert r.exit_code == 0, r.output
    with open(tmp_path / "a.pkl", "rb") as fh:
        data = pickle.load(fh)  # our own file, just written
    (ann,) = data["annotations"]
    assert ann["frame_dir"] == "demo_skeleton" and ann["keypoint"].shape == (1, 24, 17, 2)
    assert ann["total_frames"] == 24
    r = cli.invoke(main, ["export", "coco", str(tmp_path / "coco"), "-o", str(out)])
    assert r.exit_code == 0 and (tmp_path / "coco" / "demo_skeleton.json").is_file()


def _manifest(tmp_path, videos_dir):
    m = tmp_path / "m.csv"
    m.write_text(f"video_id,path,split,label\ndemo_skeleton,{videos_dir / 'demo_skeleton.mp4'},"
                 "test,3\n")
    return m
