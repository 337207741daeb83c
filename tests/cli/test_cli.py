import pytest
from click.testing import CliRunner

from posetools.cli import main
from tests.support.media import write_clip


def _setup(tmp_path):
    write_clip(tmp_path / "a.mp4", n=8)
    (tmp_path / "bad.mp4").write_bytes(b"")
    m = tmp_path / "m.csv"
    m.write_text("video_id,path,split\na,a.mp4,train\nbad,bad.mp4,test\n")
    p = tmp_path / "p.yaml"
    p.write_text("stages: [probe]\n")
    return m, p


def test_run_status_verify_inspect(tmp_path):
    m, p = _setup(tmp_path)
    out = tmp_path / "out"
    cli = CliRunner()
    r = cli.invoke(main, ["run", str(p), "-m", str(m), "-o", str(out), "--no-progress"])
    assert r.exit_code == 1, r.output
    assert "FAILED  probe/bad" in r.output and "EmptyFileError" not in r.output.split("FAILED")[0]
    r = cli.invoke(main, ["run", str(p), "-m", str(m), "-o", str(out), "--no-progress",
                          "--allow-failures"])
    assert r.exit_code == 0, r.output
    r = cli.invoke(main, ["probe", str(p), "-m", str(m), "-o", str(out), "--no-progress",
                          "--split", "train"])
    assert r.exit_code == 0 and "probe" in r.output
    r = cli.invoke(main, ["status", "-o", str(out), "-m", str(m)])
    assert r.exit_code == 0
    line = [ln for ln in r.output.splitlines() if ln.startswith("probe")][0]
    assert line.split()[1:] == ["1", "1", "0", "0", "2"]
    assert "EmptyFileError" in r.output
    r = cli.invoke(main, ["verify", "-o", str(out)])
    assert r.exit_code == 0 and "1 ok, 0 bad" in r.output, r.output
    r = cli.invoke(main, ["inspect", str(out / "probe" / "a.h5")])
    assert r.exit_code == 0 and "frame_index" in r.output and "fingerprint" in r.output
    # corrupt the committed file: verify reports it
    f = out / "probe" / "a.h5"
    data = bytearray(f.read_bytes())
    data[100:4000] = b"\0" * 3900
    f.write_bytes(bytes(data))
    r = cli.invoke(main, ["verify", "-o", str(out)])
    assert r.exit_code == 1 and "BAD probe/a" in r.output


def test_verify_catches_a_valid_but_altered_file(tmp_path):
    import h5py

    m, p = _setup(tmp_path)
    out = tmp_path / "out"
    cli = CliRunner()
    cli.invoke(main, ["run", str(p), "-m", str(m), "-o", str(out), "--no-progress", "--only", "a"])
    with h5py.File(out / "probe" / "a.h5", "r+") as fh:  # still a perfectly readable file
        fh["pts"][0] = 123.0
    r = cli.invoke(main, ["verify", "-o", str(out)])
    assert r.exit_code == 1 and "sha256 mismatch" in r.output


def test_verify_flags_changed_input(tmp_path):
    m, p = _setup(tmp_path)
    out = tmp_path / "out"
    cli = CliRunner()
    cli.invoke(main, ["run", str(p), "-m", str(m), "-o", str(out), "--no-progress",
                      "--only", "a"])
    write_clip(tmp_path / "a.mp4", n=9)
    r = cli.invoke(main, ["verify", "-o", str(out)])
    assert r.exit_code == 1 and "input video changed" in r.output


def test_usage_errors(tmp_path):
    m, p = _setup(tmp_path)
    cli = CliRunner()
    r = cli.invoke(main, ["run", str(p), "-m", str(m), "-o", str(tmp_path / "o"),
                          "--stages", "probe,bogus"])
    assert r.exit_code == 2 and "unknown stage" in r.output
    r = cli.invoke(main, ["run", str(p), "-o", str(tmp_path / "o")])
    assert r.exit_code == 2 and "exactly one of --manifest or --video" in r.output
    bad = tmp_path / "bad.csv"
    bad.write_text("video_id,path\n../x,a.mp4\ny,nope.mp4\n")
    r = cli.invoke(main, ["check-manifest", str(bad)])
    assert r.exit_code == 2
    assert "row 1" in r.output and "row 2" in r.output
    r = cli.invoke(main, ["run", "no-such-preset", "-m", str(m), "-o", str(tmp_path / "o")])
    assert r.exit_code == 2 and "no such preset" in r.output
    r = cli.invoke(main, ["inspect", str(m)])
    assert r.exit_code == 2 and "not a readable HDF5" in r.output


def test_device_errors_are_one_line_before_anything_runs(tmp_path):
    torch = pytest.importorskip("torch")
    m, _ = _setup(tmp_path)
    p = tmp_path / "mm.yaml"
    p.write_text("stages: [probe, detect]\ndetect:\n  detector: {backend: mm}\n")
    cli = CliRunner()
    r = cli.invoke(main, ["run", str(p), "-m", str(m), "-o", str(tmp_path / "o"),
                          "--devices", "cuda:0,gpu"])
    assert r.exit_code == 2 and "--devices: 'gpu' is not one of" in r.output
    if torch.cuda.is_available():
        return
    r = cli.invoke(main, ["run", str(p), "-m", str(m), "-o", str(tmp_path / "o"),
                          "--device", "cuda", "--no-progress"])
    assert r.exit_code == 2, r.output
    assert "device: 'cuda' requested for the mm backend" in r.output
    assert not (tmp_path / "o").exists()  # refused before the probe stage ran


def test_presets_lists_and_prints():
    cli = CliRunner()
    r = cli.invoke(main, ["presets"])
    assert r.exit_code == 0 and "default" in r.output.split() and "yolo_blazepose" in r.output
    r = cli.invoke(main, ["presets", "default"])
    assert r.exit_code == 0 and "stages: [probe, estimate" in r.output
    r = cli.invoke(main, ["presets", "nope"])
    assert r.exit_code == 2 and "error: no preset 'nope'" in r.output
