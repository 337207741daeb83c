"""``posetools export-onnx``: a file the ONNX backend runs, one-line errors."""

from __future__ import annotations

import numpy as np
import pytest
from click.testing import CliRunner

from posetools.cli import main


def test_export_onnx_random_init_runs_in_the_onnx_backend(tmp_path):
    pytest.importorskip("mmpose", reason="OpenMMLab stack not installed")
    pytest.importorskip("onnx")
    pytest.importorskip("onnxruntime")
    from posetools.config.models import ExpertConfig
    from posetools.experts.build import build_expert
    from posetools.experts.types import Detections

    out = tmp_path / "sub" / "rtmpose-t.onnx"
    r = CliRunner().invoke(main, ["export-onnx", "rtmpose-t", "--checkpoint", "random-init",
                                  "-o", str(out), "--no-flip-test"])
    assert r.exit_code == 0, r.output
    assert "rtmpose-t (simcc), opset 17, outputs simcc_x, simcc_y, input 192x256 RGB" in r.output
    assert "onnx.checker ok" in r.output and "weights random-init" in r.output
    e = build_expert(ExpertConfig(name="x", backend="onnx", model=str(out), top_down=True))
    assert e.model_id == "rtmpose-t" and e.layout.name == "coco17"
    img = np.zeros((120, 160, 3), np.uint8)
    poses = e.estimate([img], [Detections(np.array([[10, 10, 90, 110]], np.float32),
                                          np.ones(1, np.float32))])
    assert poses[0].keypoints.shape == (1, 17, 2)


@pytest.mark.parametrize(("args", "message"), [
    (["nope"], "error: export-onnx: 'nope' is no zoo name: give --kind detector|expert"),
    (["faster-rcnn-r50"], "error: export-onnx: FasterRCNN detectors are not supported"),
    (["/no/such/config.py", "--kind", "expert"], "error: "),
])
def test_export_onnx_errors_are_one_line(tmp_path, args, message):
    if "faster" in args[0]:
        pytest.importorskip("mmdet", reason="OpenMMLab stack not installed")
    pytest.importorskip("torch")
    r = CliRunner().invoke(main, ["export-onnx", *args, "-o", str(tmp_path / "x.onnx")])
    assert r.exit_code == 2, r.output
    lines = r.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(message), r.output
    assert not (tmp_path / "x.onnx").exists()
