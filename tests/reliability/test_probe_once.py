"""A broken video fails once per run: the stages after probe skip it with probe's reason."""

from __future__ import annotations

import subprocess

from posetools.run.ledger import Ledger
from tests.support.media import write_clip
from tests.support.processes import cli


def test_a_broken_video_is_decoded_and_failed_once(tmp_path, videos_dir):
    write_clip(tmp_path / "good.mp4", n=6, size=(160, 120))
    data = (videos_dir / "mmaction2_test.mp4").read_bytes()
    (tmp_path / "bad.mp4").write_bytes(data[: len(data) // 3])
    m = tmp_path / "m.csv"
    m.write_text("video_id,path\ngood,good.mp4\nbad,bad.mp4\n")
    out = tmp_path / "out"
    r = subprocess.run(cli("run", "default", "-m", str(m), "-o", str(out), "--no-progress"),
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 1, r.stdout + r.stderr
    led = Ledger(out, readonly=True)
    rows = {(x.stage, x.video_id): x for x in led.rows()}
    assert rows["probe", "bad"].state == "failed"
    est = rows["estimate", "bad"]
    assert est.state == "skipped" and est.message.startswith("probe failed on this video")
    assert rows["estimate", "good"].state == "committed"
    assert r.stdout.count("FAILED") == 1  # only probe failed; nothing decoded it again
    # once the file is fixed, the next run decodes it again
    (tmp_path / "bad.mp4").write_bytes(data)
    r = subprocess.run(cli("run", "default", "-m", str(m), "-o", str(out), "--no-progress"),
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stdout + r.stderr
