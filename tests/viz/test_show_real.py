"""`posetools show` on real runs: MP4 frame count and size equal the source's, PNG sizes."""

import shutil

import av
import h5py
import numpy as np
import pytest
from click.testing import CliRunner

from posetools.cli import main
from posetools.io.artifacts.aggregate import AggregateArtifact
from posetools.viz import draw
from posetools.viz.images import png_size
from posetools.viz.montage import montage_size
from posetools.viz.plots import NORMALIZED_SIZE, confidence_size
from posetools.viz.selection import FrameSelection
from posetools.viz.show import MONTAGE_FRAMES, still_frame


def _decode(path):
    """``(frames, width, height)`` of a video, decoded with PyAV."""
    with av.open(str(path)) as c:
        n, size = 0, None
        for f in c.decode(video=0):
            n, size = n + 1, (f.width, f.height)
    return n, *size


def _frame(path, index):
    with av.open(str(path)) as c:
        for i, f in enumerate(c.decode(video=0)):
            if i == index:
                return f.to_ndarray(format="rgb24")
    raise AssertionError(f"no frame {index} in {path}")


def _show(out, clips, *extra):
    ids = [c.rsplit(".", 1)[0] for c in clips]
    args = ["show", str(out), "--no-progress", *extra]
    for v in ids:
        args += ["--video", v]
    r = CliRunner().invoke(main, args)
    assert r.exit_code == 0, r.output
    return ids, r.output


@pytest.mark.parametrize("run", ["default_run", "yb_run"])
def test_every_output_of_every_video(run, request, videos_dir):
    out, clips = request.getfixturevalue(run)
    ids, output = _show(out, clips)
    dest = out / "show"
    for clip, vid in zip(clips, ids, strict=True):
        src = videos_dir / clip
        n, w, h = _decode(src)
        mp4 = dest / f"{vid}_overlay.mp4"
        assert f"wrote {mp4}" in output
        assert _decode(mp4) == (n, w, h), vid
        with av.open(str(mp4)) as c:
            assert c.streams.video[0].codec_context.name == "h264"
            assert c.streams.video[0].codec_context.pix_fmt == "yuv420p"
        assert png_size((dest / f"{vid}_confidence.png").read_bytes()) == confidence_size(1)
        assert png_size((dest / f"{vid}_normalized.png").read_bytes()) == NORMALIZED_SIZE
        assert png_size((dest / f"{vid}_heatmaps.png").read_bytes()) == \
            montage_size(min(MONTAGE_FRAMES, n), 17)
        _check_still(out, vid, src, dest / f"{vid}_overlay.png")


def _check_still(out, vid, src, still):
    """The still is an overlay frame: the aggregate's joints sit in their expert's color."""
    import cv2

    img = cv2.imread(str(still))[..., ::-1]
    with h5py.File(out / "aggregate" / f"{vid}.h5") as fh:
        agg = AggregateArtifact.read(fh)
    h, w = img.shape[:2]
    assert (w, h) == (agg.frames.width, agg.frames.height)
    index = still_frame(agg, FrameSelection())
    t = int(np.flatnonzero(agg.frames.frame_index == index)[0])
    assert agg.valid[t].any()
    assert np.abs(img.astype(int) - _frame(src, index).astype(int)).mean() < 12  # that frame
    hits = 0
    for k in np.flatnonzero(agg.scores[t, 0] > 0):
        x, y = agg.keypoints[t, 0, k]
        if not (0 <= x < w and 0 <= y < h):
            continue
        e = int(agg.source_expert[t, 0, k])
        want = draw.expert_color(e) if e >= 0 else draw.AGGREGATE_COLOR
        px = img[int(round(y)), int(round(x))].astype(int)
        hits += int(np.abs(px - want).max() <= 60)
    assert hits >= 3, (vid, t, hits)


def test_frames_and_every_select_original_indices(default_run):
    out, _ = default_run
    ids, _ = _show(out, ("demo_skeleton.mp4",), "--frames", "10:50", "--every", "3", "-o",
                   str(out / "sel"), "--stages", "overlay,confidence")
    n, w, h = _decode(out / "sel" / "demo_skeleton_overlay.mp4")
    assert (n, w, h) == (len(range(10, 50, 3)), 1920, 1080)
    assert not (out / "sel" / "demo_skeleton_heatmaps.png").exists()
    _show(out, ("demo_skeleton.mp4",), "--frames", "60:", "-o", str(out / "tail"), "--stages",
          "overlay")
    assert _decode(out / "tail" / "demo_skeleton_overlay.mp4")[0] == 72 - 60


def test_same_inputs_same_bytes(yb_run, tmp_path):
    out, _ = yb_run
    for d in ("a", "b"):
        _show(out, ("posetrack_000001.mp4",), "-o", str(tmp_path / d))
    names = sorted(p.name for p in (tmp_path / "a").iterdir())
    assert len(names) == 5
    for n in names:
        assert (tmp_path / "a" / n).read_bytes() == (tmp_path / "b" / n).read_bytes(), n


def test_a_deleted_artifact_is_a_one_line_error(default_run, tmp_path):
    out, _ = default_run
    copy = tmp_path / "out"
    shutil.copytree(out, copy, ignore=shutil.ignore_patterns("show", "sel", "tail"))
    (copy / "normalize" / "mmpose_demo.h5").unlink()
    r = CliRunner().invoke(main, ["show", str(copy), "--video", "mmpose_demo", "--no-progress",
                                  "--stages", "confidence,normalized"])
    assert r.exit_code == 1
    err = [ln for ln in r.output.splitlines() if ln.startswith("error:")]
    assert len(err) == 1 and "normalize" in err[0] and "missing" in err[0], r.output
    assert "mmpose_demo_confidence.png" in r.output  # what could be written was
    assert (copy / "show" / "mmpose_demo_confidence.png").is_file()
