"""Clip datasets over an output folder: shapes, determinism, both routes, DataLoader workers."""

from __future__ import annotations

import pickle

import h5py
import numpy as np
import pytest

torch = pytest.importorskip("torch")

from torch.utils.data import DataLoader  # noqa: E402

from posetools.config.schema import HeatmapsConfig  # noqa: E402
from posetools.errors import PosetoolsError  # noqa: E402
from posetools.torch.datasets import HeatmapClipDataset, KeypointClipDataset, collate_clips  # noqa: E402
from posetools.torch.render import GpuHeatmapRenderer  # noqa: E402
from posetools.torch.sampling import fixed_windows  # noqa: E402
from tests.support.heatmap_fixtures import run_heatmaps_stage, walking_sequence, write_aggregate  # noqa: E402

VIDEOS = {"a": (60, 2), "b": (20, 1), "c": (5, 1)}  # id: (frames, persons)
MANIFEST = """video_id,path,split,label,transcript
a,a.mp4,train,wave,raise|wave|lower
b,b.mp4,train,walk,walk
c,c.mp4,val,wave,
d,d.mp4,train,walk,walk
"""


LABELS = ["walk", "wave"]  # the class list: string labels have ids only through one


def build_out(root, config=None):
    for i, (vid, (n, p)) in enumerate(VIDEOS.items()):
        kp, sc, valid = walking_sequence(n, persons=p, seed=i)
        write_aggregate(root / "aggregate" / f"{vid}.h5", kp, sc, valid)
        run_heatmaps_stage(root, vid, config)
    (root / "manifest.csv").write_text(MANIFEST)
    return root


@pytest.fixture(scope="module")
def out(tmp_path_factory):
    return build_out(tmp_path_factory.mktemp("out"))


@pytest.fixture(scope="module")
def out32(tmp_path_factory):
    return build_out(tmp_path_factory.mktemp("out32"), HeatmapsConfig(dtype="float32", limbs=True))


def test_items_shapes_labels_and_missing(out):
    ds = HeatmapClipDataset(out, out / "manifest.csv", label_names=LABELS,
                            split="train", clip_len=8, num_clips=2,
                            test_mode=True)
    assert ds.video_ids == ["a", "b"] and ds.missing == ["d"]
    assert ds.label_names == ["walk", "wave"] and ds.label_rule == "label map"
    assert len(ds) == 2 and ds.num_channels == 17 and ds.size == 56
    item = ds[0]
    assert item["heatmaps"].shape == (2, 8, 17, 56, 56) and item["heatmaps"].dtype == torch.float32
    assert item["label"].item() == 1 and item["transcript"] == ("raise", "wave", "lower")
    assert item["video_id"] == "a" and item["mask"].all()
    assert item["frame_index"].shape == (2, 8)
    assert ((item["frame_index"] % 2) == 0).all()  # original numbers (stride 2 upstream)
    val = HeatmapClipDataset(out, out / "manifest.csv", label_names=LABELS, split="val", clip_len=8)
    assert val.video_ids == ["c"] and val[0]["transcript"] == ()
    everything = HeatmapClipDataset(out, clip_len=4)  # no manifest: all artifacts, no labels
    assert everything.video_ids == ["a", "b", "c"] and everything[2]["label"].item() == -1


def test_items_are_the_stored_frames(out):
    ds = HeatmapClipDataset(out, out / "manifest.csv", label_names=LABELS,
                            clip_len=12, num_clips=1, test_mode=True)
    for i, vid in enumerate(ds.video_ids):
        item = ds[i]
        pos, _ = ds.positions(i)
        with h5py.File(out / "heatmaps" / f"{vid}.h5", "r") as fh:
            direct = fh["heatmaps"][...][pos[0]].astype(np.float32)
            fi = fh["frame_index"][...][pos[0]]
        np.testing.assert_array_equal(item["heatmaps"][0].numpy(), direct)
        np.testing.assert_array_equal(item["frame_index"][0].numpy(), fi)


def test_test_mode_is_deterministic_and_train_mode_is_not(out):
    kw = dict(clip_len=10, num_clips=3)
    a = HeatmapClipDataset(out, out / "manifest.csv", label_names=LABELS, test_mode=True, **kw)
    b = HeatmapClipDataset(out, out / "manifest.csv", label_names=LABELS, test_mode=True, **kw)
    for i in range(len(a)):
        assert torch.equal(a[i]["frame_index"], a[i]["frame_index"])
        assert torch.equal(a[i]["heatmaps"], b[i]["heatmaps"])
    train = HeatmapClipDataset(out, out / "manifest.csv", label_names=LABELS, **kw)
    draws = {tuple(train[0]["frame_index"].ravel().tolist()) for _ in range(6)}
    assert len(draws) > 1
    short = train[2]["frame_index"]  # video c has 5 frames < clip_len: it loops
    assert short.shape == (3, 10) and set(short.ravel().tolist()) <= set(range(0, 10, 2))


def test_fixed_windows_pad_and_mask(out):
    ds = HeatmapClipDataset(out, out / "manifest.csv", label_names=LABELS,
                            window=16, window_stride=8)
    frames = {"a": 60, "b": 20, "c": 5}
    assert len(ds) == sum(len(fixed_windows(n, 16, 8)) for n in frames.values())
    last_a = max(i for i, (v, _) in enumerate(ds._items) if ds.video_ids[v] == "a")
    item = ds[last_a]
    assert item["heatmaps"].shape == (1, 16, 17, 56, 56)
    n_real = int(item["mask"].sum())
    assert 0 < n_real < 16 and (item["frame_index"][0, n_real:] == -1).all()
    assert not item["heatmaps"][0, n_real:].any()
    assert item["frame_index"][0, n_real - 1].item() == 59 * 2  # the video's last frame


def test_keypoint_route_renders_the_same_tensors(out, out32):
    for root, tol, limbs in ((out, 1e-3, False), (out32, 1e-6, True)):
        heat = HeatmapClipDataset(root, root / "manifest.csv", label_names=LABELS,
                                  clip_len=8, num_clips=2,
                                  test_mode=True)
        kps = KeypointClipDataset(root, root / "manifest.csv", label_names=LABELS,
                                  clip_len=8, num_clips=2,
                                  test_mode=True)
        renderer = GpuHeatmapRenderer.from_artifact(root / "heatmaps" / "a.h5", device="cpu")
        assert renderer.limbs == limbs and renderer.channel_names == heat.channel_names
        for i in range(len(heat)):
            h, k = heat[i], kps[i]
            assert torch.equal(h["frame_index"], k["frame_index"])
            assert k["keypoints"].shape[:2] == (2, 8) and k["keypoints"].shape[-2:] == (17, 2)
            drawn = renderer(k["keypoints"], k["scores"], k["valid"])
            assert (drawn - h["heatmaps"]).abs().max().item() <= tol


def test_keypoints_from_aggregate_match_the_cache(out):
    cfg = HeatmapsConfig()
    a = KeypointClipDataset(out, out / "manifest.csv", label_names=LABELS,
                            source="aggregate", config=cfg,
                            clip_len=6, test_mode=True)
    b = KeypointClipDataset(out, out / "manifest.csv", label_names=LABELS,
                            source="heatmaps", clip_len=6,
                            test_mode=True)
    for i in range(len(a)):
        x, y = a[i], b[i]
        torch.testing.assert_close(x["keypoints"], y["keypoints"], equal_nan=True)
        assert torch.equal(x["scores"], y["scores"]) and torch.equal(x["valid"], y["valid"])
    with pytest.raises(ValueError, match="source"):
        KeypointClipDataset(out, source="estimate")


def test_collate_pads_persons_and_pickles(out):
    ds = KeypointClipDataset(out, out / "manifest.csv", label_names=LABELS,
                             clip_len=4, test_mode=True)
    batch = collate_clips([ds[0], ds[1]])  # a has 2 person slots, b has 1
    assert batch["keypoints"].shape == (2, 1, 4, 2, 17, 2)
    assert torch.isnan(batch["keypoints"][1, :, :, 1]).all()
    assert not batch["valid"][1, :, :, 1].any()
    assert batch["video_id"] == ["a", "b"] and batch["transcript"][1] == ("walk",)
    clone = pickle.loads(pickle.dumps(ds))  # open handles are not pickled
    assert torch.equal(clone[0]["scores"], ds[0]["scores"])
    ds.close()


@pytest.mark.filterwarnings("ignore:'pin_memory' argument is set as true")
def test_dataloader_workers_read_the_same_bytes(out):
    ds = HeatmapClipDataset(out, out / "manifest.csv", label_names=LABELS,
                            clip_len=8, num_clips=1, test_mode=True,
                            dtype="float16")
    direct = [ds[i] for i in range(len(ds))]  # opens files in the parent before forking
    for kw in (dict(num_workers=0), dict(num_workers=2, pin_memory=True)):
        loader = DataLoader(ds, batch_size=1, collate_fn=collate_clips, **kw)
        for i, batch in enumerate(loader):
            assert batch["heatmaps"].dtype == torch.float16
            assert torch.equal(batch["heatmaps"][0], direct[i]["heatmaps"])
            assert batch["video_id"] == [direct[i]["video_id"]]


def test_dataloader_with_spawn_workers(out):
    ds = KeypointClipDataset(out, out / "manifest.csv", label_names=LABELS,
                             clip_len=8, test_mode=True)
    ds[0]
    loader = DataLoader(ds, batch_size=2, num_workers=2, multiprocessing_context="spawn",
                        collate_fn=collate_clips)
    got = {}
    for batch in loader:
        got.update(zip(batch["video_id"], batch["keypoints"], strict=True))
    for i, vid in enumerate(ds.video_ids):
        k = ds[i]["keypoints"]
        torch.testing.assert_close(got[vid][:, :, :k.shape[2]], k, equal_nan=True)


def test_no_artifacts_is_an_error(tmp_path):
    (tmp_path / "manifest.csv").write_text("video_id,path\nx,x.mp4\n")
    with pytest.raises(PosetoolsError, match="no usable heatmaps artifacts"):
        HeatmapClipDataset(tmp_path, tmp_path / "manifest.csv")
