import cv2
import numpy as np
import pytest

from posetools.errors import (
    CorruptVideoError,
    EmptyFileError,
    InputVideoError,
    NoFramesError,
    NotAVideoError,
    VideoNotFoundError,
)
from posetools.io.video import VideoReader, iter_batches, probe
from tests.conftest import ALL_VIDEOS
from tests.support.media import write_audio_only, write_clip


def _opencv_count(path):
    cap = cv2.VideoCapture(str(path))
    n = 0
    while cap.read()[0]:
        n += 1
    cap.release()
    return n


@pytest.mark.parametrize("name", ALL_VIDEOS)
def test_decoded_count_matches_opencv_and_stride_keeps_indices(videos_dir, name):
    path = videos_dir / name
    full = list(VideoReader(path, prefetch=0))
    assert len(full) == _opencv_count(path)
    assert [f.index for f in full] == list(range(len(full)))
    pts = np.array([f.pts for f in full])
    assert np.all(np.diff(pts) > 0), "pts must increase"
    strided = list(VideoReader(path, frame_stride=5))
    assert [f.index for f in strided] == list(range(0, len(full), 5))
    # strided frames are the very same pictures and timestamps as the full decode
    for f in strided:
        assert f.pts == full[f.index].pts
        assert np.array_equal(f.image, full[f.index].image)
    r = VideoReader(path)
    list(r)
    assert r.info.decoded_frames == len(full)
    assert not r.info.frame_count_mismatch


def test_frames_are_rgb_and_streamed(videos_dir):
    r = VideoReader(videos_dir / "mmaction2_test.mp4")
    it = iter(r)
    f = next(it)
    assert f.image.shape == (256, 340, 3) and f.image.dtype == np.uint8
    assert r.info.decoded_frames is None  # not at the end yet: streaming, not preloaded


def test_start_end_by_pts(videos_dir):
    path = videos_dir / "mmaction2_test.mp4"  # 30 fps, 300 frames
    frames = list(VideoReader(path, start=1.0, end=2.0, frame_stride=2))
    assert frames[0].pts >= 1.0 - 1e-6 and frames[-1].pts < 2.0
    assert frames[0].index == 30
    assert [f.index for f in frames] == list(range(30, 60, 2))


def test_pts_not_assumed_from_fps(tmp_path):
    # variable frame timing: pts are what the container says
    import av

    path = tmp_path / "vfr.mkv"
    with av.open(str(path), "w") as c:
        s = c.add_stream("libx264", rate=25)
        s.width, s.height, s.pix_fmt = 32, 32, "yuv420p"
        s.codec_context.time_base = s.time_base = __import__("fractions").Fraction(1, 1000)
        for i, t in enumerate([0, 40, 200, 240, 1000]):
            fr = av.VideoFrame.from_ndarray(np.full((32, 32, 3), i * 40, np.uint8), format="rgb24")
            fr.pts = t
            fr.time_base = s.time_base
            for pkt in s.encode(fr):
                c.mux(pkt)
        for pkt in s.encode():
            c.mux(pkt)
    pts = [round(f.pts, 3) for f in VideoReader(path)]
    assert pts == [0.0, 0.04, 0.2, 0.24, 1.0]


@pytest.mark.parametrize("rotation,expect_shape", [(0, (48, 64)), (90, (64, 48)),
                                                   (-90, (64, 48)), (180, (48, 64))])
def test_rotation_metadata_applied(tmp_path, rotation, expect_shape):
    path = write_clip(tmp_path / f"rot{rotation}.mp4", n=3, size=(64, 48), rotation=rotation)
    r = VideoReader(path)
    f = next(iter(r))
    assert f.image.shape[:2] == expect_shape
    assert r.info.rotation == (-rotation) % 360
    assert (r.info.height, r.info.width) == expect_shape
    # the green top-left marker moved where a player would show it
    green = np.argwhere((f.image[..., 1] > 200) & (f.image[..., 0] < 100))
    cy, cx = green.mean(0)
    h, w = expect_shape
    corner = {0: (0, 0), 180: (h, w), 90: (0, w), -90: (h, 0)}[rotation]
    # display-matrix +90 (counter-clockwise) is shown turned clockwise by 270 => corner moves
    if rotation == 90:
        corner = (h, 0)
    elif rotation == -90:
        corner = (0, w)
    assert abs(cy - corner[0]) < h / 3 and abs(cx - corner[1]) < w / 3


@pytest.mark.parametrize("pix_fmt,codec,size", [
    ("gray", "ffv1", (64, 48)),
    ("yuv420p10le", "libx264", (64, 48)),
    ("yuv444p", "libx264", (63, 47)),
])
def test_gray_10bit_odd_sizes(tmp_path, pix_fmt, codec, size):
    path = write_clip(tmp_path / f"c_{pix_fmt}.mkv", n=4, size=size, codec=codec, pix_fmt=pix_fmt)
    frames = list(VideoReader(path))
    assert len(frames) == 4
    assert frames[0].image.shape == (size[1], size[0], 3)
    assert frames[0].image.dtype == np.uint8
    assert probe(path).pix_fmt == pix_fmt


def test_bad_inputs_raise_specific_errors(tmp_path, videos_dir):
    empty = tmp_path / "empty.mp4"
    empty.write_bytes(b"")
    text = tmp_path / "notes.mp4"
    text.write_text("this is not a video\n" * 100)
    audio = write_audio_only(tmp_path / "audio.m4a")
    # zero frames: an AVI whose header and video stream are intact but whose 'movi' list is empty
    avi = write_clip(tmp_path / "ten.avi", n=10, codec="mpeg4").read_bytes()
    zero = tmp_path / "zero.avi"
    zero.write_bytes(avi[: avi.index(b"movi") + 4])
    data = (videos_dir / "demo_skeleton.mp4").read_bytes()
    trunc = tmp_path / "trunc.mp4"
    trunc.write_bytes(data[: len(data) // 2])
    cases = [
        (tmp_path / "missing.mp4", VideoNotFoundError),
        (empty, EmptyFileError),
        (text, NotAVideoError),
        (audio, NotAVideoError),
        (zero, NoFramesError),
    ]
    for path, cls in cases:
        with pytest.raises(cls) as ei:
            list(VideoReader(path, video_id="vid7"))
        assert ei.value.video_id == "vid7" and "vid7" in str(ei.value)
    with pytest.raises(InputVideoError) as ei:
        list(VideoReader(trunc, video_id="t"))
    assert isinstance(ei.value, (CorruptVideoError, NotAVideoError, NoFramesError))


def test_truncated_tail_is_detected(tmp_path):
    # an MP4 whose header (moov first) promises 60 frames but whose data is cut short
    good = write_clip(tmp_path / "good.mp4", n=60, size=(64, 48),
                      container_options={"movflags": "faststart"})
    data = good.read_bytes()
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(data[: int(len(data) * 0.9)])
    assert probe(cut).header_frames == 60
    with pytest.raises(CorruptVideoError, match="truncated: header says 60 frames") as ei:
        list(VideoReader(cut, video_id="cut"))
    assert 0 < ei.value.frame < 60


def test_iter_batches():
    assert [len(b) for b in iter_batches(iter(range(10)), 4)] == [4, 4, 2]
