"""`posetools show` errors: one line each, naming the stage to run (no models needed)."""

import h5py
from click.testing import CliRunner

from posetools.cli import main
from posetools.viz.images import png_size
from posetools.viz.plots import confidence_size
from tests.support.artifacts import write_artifact
from tests.support.media import write_clip
from tests.viz.scenes import H, W, scene_artifacts


def _probe_only(tmp_path):
    write_clip(tmp_path / "a.mp4", n=6, size=(W, H))
    (tmp_path / "bad.mp4").write_bytes(b"")
    m = tmp_path / "m.csv"
    m.write_text("video_id,path,split\na,a.mp4,train\nbad,bad.mp4,test\n")
    p = tmp_path / "p.yaml"
    p.write_text("stages: [probe]\n")
    out = tmp_path / "out"
    r = CliRunner().invoke(main, ["run", str(p), "-m", str(m), "-o", str(out), "--no-progress",
                                  "--allow-failures"])
    assert r.exit_code == 0, r.output
    return out, m


def _errors(r):
    return [ln for ln in r.output.splitlines() if ln.startswith("error:")]


def test_missing_artifacts_name_the_stage_to_run(tmp_path):
    out, m = _probe_only(tmp_path)
    cli = CliRunner()
    r = cli.invoke(main, ["show", str(out), "--video", "a"])
    assert r.exit_code == 2 and len(_errors(r)) == 1
    assert "nothing to show" in r.output and "posetools run" in r.output
    r = cli.invoke(main, ["show", str(out), "--video", "a", "--stages", "confidence,overlay"])
    errs = _errors(r)
    assert r.exit_code == 2 and len(errs) == 2, r.output
    assert "overlay needs the 'estimate' artifact" in errs[0] and "(never run)" in errs[0]
    assert "posetools estimate PIPELINE" in errs[0] and "--only a" in errs[0]
    assert "confidence needs the 'aggregate' artifact" in errs[1]
    r = cli.invoke(main, ["show", str(out), "-m", str(m), "--only", "bad", "--stages",
                          "heatmaps"])
    assert r.exit_code == 2 and "'heatmaps' artifact" in r.output
    assert not (out / "show").exists()  # nothing is written when a requested input is missing
    r = cli.invoke(main, ["show", str(out), "--video", "zzz"])
    assert r.exit_code == 2 and "nothing was run for this video" in r.output and "a, bad" in \
        r.output


def test_usage_errors(tmp_path):
    out, _ = _probe_only(tmp_path)
    cli = CliRunner()
    r = cli.invoke(main, ["show", str(out), "--video", "a", "--stages", "overlay,plots"])
    assert r.exit_code == 2 and "unknown output(s) ['plots']" in r.output
    r = cli.invoke(main, ["show", str(out), "--video", "a", "--frames", "9:3"])
    assert r.exit_code == 2 and "empty range" in r.output
    r = cli.invoke(main, ["show", str(out)])
    assert r.exit_code == 2 and "--video ID" in r.output
    r = cli.invoke(main, ["show", str(tmp_path), "--video", "a"])
    assert r.exit_code == 2 and "no ledger.sqlite" in r.output


def test_show_reads_committed_artifacts_with_a_manifest(tmp_path):
    """The synthetic artifacts committed in a real ledger: overlay and confidence."""
    out, m = _probe_only(tmp_path)
    agg, est = scene_artifacts()
    # a tiny second run records estimate and aggregate as committed for video a
    write_artifact(out / "estimate" / "a.h5", est)
    write_artifact(out / "aggregate" / "a.h5", agg)
    from posetools.run.ledger import Ledger

    led = Ledger(out)
    for st in ("estimate", "aggregate"):
        led.commit(st, "a", fingerprint="x", input_hash=None, detail={})
    led.close()
    with h5py.File(out / "aggregate" / "a.h5") as fh:
        assert fh["keypoints"].shape == (5, 1, 17, 2)
    r = CliRunner().invoke(main, ["show", str(out), "-m", str(m), "--only", "a", "-o",
                                  str(tmp_path / "v"), "--no-progress"])
    assert r.exit_code == 0, r.output
    assert "a: overlay 6 frames, 320x240" in r.output  # every frame of the clip (5 processed)
    assert png_size((tmp_path / "v" / "a_confidence.png").read_bytes()) == confidence_size(1)
    assert not (tmp_path / "v" / "a_heatmaps.png").exists()  # not committed: not requested
    # the source video as recorded by the ledger (probe's row), or given as a file path
    r = CliRunner().invoke(main, ["show", str(out), "--video", "a", "-o", str(tmp_path / "w"),
                                  "--stages", "overlay", "--frames", "2:", "--no-progress"])
    assert r.exit_code == 0 and "a: overlay 4 frames" in r.output, r.output
    r = CliRunner().invoke(main, ["show", str(out), "--video", str(tmp_path / "a.mp4"), "-o",
                                  str(tmp_path / "w"), "--stages", "confidence"])
    assert r.exit_code == 0 and f"wrote {tmp_path / 'w' / 'a_confidence.png'}" in r.output
