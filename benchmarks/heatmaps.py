"""Heatmap stage benchmarks (ratios against baselines measured in the same run).

1. Rendering: posetools' vectorized separable renderer vs a per-joint Python
   loop with GeneratePoseTarget semantics (``tests/support/heatmap_reference.py``) on the
   same keypoints: speed ratio (target >= 10x) and max |difference| (<= 1e-3).
   Also reports the max difference to mmaction2's exact rectangular windows.
2. Cache size: zstd float16 HDF5 vs raw float32 (and float16) arrays.
3. Reading: DataLoader clips/s from the zstd cache vs the same arrays in an
   uncompressed ``.npy`` memmap (target >= 0.5x while >= 20x smaller).
4. Keypoint route: rendering clips from cached keypoints vs reading cached
   heatmaps. Only the CPU is measured here unless CUDA is present.

Run: ``python benchmarks/heatmaps.py [--quick]``.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import h5py
import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from posetools.config.schema import HeatmapsConfig  # noqa: E402
from posetools.heatmaps import compute_crop, render_heatmaps  # noqa: E402
from posetools.skeletons import COCO17  # noqa: E402
from tests.support.heatmap_fixtures import (  # noqa: E402
    run_heatmaps_stage,
    walking_sequence,
    write_aggregate,
)
from tests.support.heatmap_reference import reference_heatmaps  # noqa: E402


def best(fn, repeat=3):
    times = []
    out = None
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return min(times), out


def bench_render(frames: int, repeat: int) -> None:
    print(f"\n== 1. rendering: {frames} frames, 2 persons, COCO-17, crop to the grid ==")
    kp, sc, valid = walking_sequence(frames, persons=2, seed=0)
    for size, sigma, limbs in ((56, 0.6, False), (56, 0.6, True), (112, 1.2, False),
                               (30, 1.0, True)):
        grid = compute_crop(kp, sc, valid, frame_size=(640, 480)).to_grid(kp, size)
        kw = dict(size=size, sigma=sigma, limbs=COCO17.limbs if limbs else (), valid=valid)
        t_fast, fast = best(lambda kw=kw, grid=grid: render_heatmaps(grid, sc, **kw), repeat)
        t_loop, ref = best(lambda kw=kw, grid=grid: reference_heatmaps(grid, sc, **kw), 1)
        mm = reference_heatmaps(grid, sc, cutoff="mmaction2", **kw)
        t_mem, _ = best(lambda shape=fast.shape: _touch(np.zeros(shape, np.float32)), repeat)
        name = f"S={size} sigma={sigma} {'joints+limbs' if limbs else 'joints'} (C={fast.shape[1]})"
        print(f"{name:36s} separable {t_fast * 1e3:7.1f} ms  loop {t_loop * 1e3:8.1f} ms  "
              f"ratio {t_loop / t_fast:5.1f}x  max|diff| {np.abs(fast - ref).max():.2e}  "
              f"(vs mmaction2 windows {np.abs(fast - mm).max():.3f}; "
              f"allocating the {fast.nbytes / 1e6:.0f} MB output alone: {t_mem * 1e3:.1f} ms)")


def _touch(arr: np.ndarray) -> np.ndarray:
    arr.reshape(-1)[::1024] = 0  # one write per 4 KiB page: the page-fault floor
    return arr


def build_out(root: Path, videos: int, frames: int, config: HeatmapsConfig) -> list[str]:
    ids = []
    for v in range(videos):
        vid = f"v{v:02d}"
        kp, sc, valid = walking_sequence(frames, persons=2, seed=v)
        write_aggregate(root / "aggregate" / f"{vid}.h5", kp, sc, valid)
        run_heatmaps_stage(root, vid, config)
        ids.append(vid)
    return ids


def bench_cache(root: Path, frames: int) -> None:
    print(f"\n== 2. cache size: one {frames}-frame video, 2 persons ==")
    kp, sc, valid = walking_sequence(frames, persons=2, seed=0)
    write_aggregate(root / "aggregate" / "size.h5", kp, sc, valid)
    for cfg in (HeatmapsConfig(), HeatmapsConfig(limbs=True), HeatmapsConfig(chunk_frames=1),
                HeatmapsConfig(chunk_frames=16), HeatmapsConfig(size=112, sigma=1.2),
                HeatmapsConfig(size=30, sigma=1.0, limbs=True)):
        t0 = time.perf_counter()
        path, summary = run_heatmaps_stage(root, "size", cfg)
        dt = time.perf_counter() - t0
        with h5py.File(path, "r") as fh:
            ds = fh["heatmaps"]
            stored = ds.id.get_storage_size()
            raw32 = ds.size * 4
        print(f"S={cfg.size:3d} C={summary['channels']:2d} chunk={cfg.chunk_frames:2d}: "
              f"stored {stored / 1e6:6.2f} MB, raw float32 {raw32 / 1e6:7.1f} MB -> "
              f"{raw32 / stored:6.1f}x (vs float16 {raw32 / 2 / stored:6.1f}x); "
              f"stage {dt:.2f} s ({frames / dt:.0f} frames/s)")


class NpyClips:
    """Baseline: the same heatmaps as uncompressed .npy memmaps, same clip sampling."""

    def __init__(self, paths, clip_len):
        self.paths, self.clip_len = paths, clip_len
        self.arrays = None

    def __len__(self):
        return len(self.paths)

    def __getitem__(self, i):
        import torch

        from posetools.torch.sampling import uniform_sample_frames

        if self.arrays is None:
            self.arrays = [np.load(p, mmap_mode="r") for p in self.paths]
        arr = self.arrays[i]
        pos = uniform_sample_frames(arr.shape[0], self.clip_len)
        return {"heatmaps": torch.from_numpy(np.ascontiguousarray(arr[pos]).astype(np.float32))}


def clips_per_s(ds, workers: int, epochs: int) -> float:
    from torch.utils.data import DataLoader

    from posetools.torch.datasets import collate_clips

    loader = DataLoader(ds, batch_size=4, shuffle=True, num_workers=workers,
                        collate_fn=collate_clips,
                        persistent_workers=workers > 0)
    for _ in loader:  # warm-up (page cache, worker start)
        pass
    t = time.perf_counter()
    n = 0
    for _ in range(epochs):
        for batch in loader:
            n += batch["heatmaps"].shape[0]
    return n / (time.perf_counter() - t)


def bench_read(root: Path, videos: int, frames: int, epochs: int) -> None:
    import torch

    from posetools.torch.datasets import HeatmapClipDataset, KeypointClipDataset
    from posetools.torch.render import GpuHeatmapRenderer

    torch.set_num_threads(1)
    print(f"\n== 3. DataLoader: {videos} videos x {frames} frames, clip_len 48, batch 4 ==")
    ids = build_out(root, videos, frames, HeatmapsConfig())
    npy = []
    total_npy = total_h5 = 0
    for vid in ids:
        with h5py.File(root / "heatmaps" / f"{vid}.h5", "r") as fh:
            arr = fh["heatmaps"][...]
            total_h5 += fh["heatmaps"].id.get_storage_size()
        p = root / "npy" / f"{vid}.npy"
        p.parent.mkdir(exist_ok=True)
        np.save(p, arr)
        total_npy += p.stat().st_size
        npy.append(p)
    print(f"zstd cache {total_h5 / 1e6:.2f} MB vs .npy float16 {total_npy / 1e6:.1f} MB "
          f"({total_npy / total_h5:.0f}x smaller; {2 * total_npy / total_h5:.0f}x vs float32)")
    h5ds = HeatmapClipDataset(root, clip_len=48)
    base = NpyClips(npy, 48)
    for workers in (0, 2):
        a = clips_per_s(h5ds, workers, epochs)
        b = clips_per_s(base, workers, epochs)
        print(f"num_workers={workers}: zstd HDF5 {a:7.1f} clips/s, npy memmap {b:7.1f} clips/s "
              f"-> ratio {a / b:.2f}x")

    print("\n== 4. keypoint route: render clips from cached keypoints vs read cached heatmaps ==")
    devices = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    kds = KeypointClipDataset(root, clip_len=48)
    renderer = {d: GpuHeatmapRenderer.from_artifact(root / "heatmaps" / f"{ids[0]}.h5", device=d)
                for d in devices}
    batches = []
    for i in range(0, len(kds), 4):
        items = [kds[j] for j in range(i, min(i + 4, len(kds)))]
        batches.append({k: torch.stack([it[k] for it in items])
                        for k in ("keypoints", "scores", "valid")})
    read_rate = clips_per_s(h5ds, 0, epochs)
    for d in devices:
        def render_all(d=d):
            for b in batches:
                out = renderer[d](b["keypoints"], b["scores"], b["valid"])
            if d == "cuda":
                torch.cuda.synchronize()
            return out
        render_all()
        t, _ = best(render_all, epochs)
        rate = len(kds) / t
        print(f"render on {d}: {rate:7.1f} clips/s vs reading cached heatmaps {read_rate:7.1f} "
              f"clips/s -> ratio {rate / read_rate:.2f}x")
    if "cuda" not in devices:
        print("GPU comparison not measured: no CUDA device in this run (CPU only).")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="smaller sizes (smoke run)")
    args = ap.parse_args()
    frames = 60 if args.quick else 300
    bench_render(frames, repeat=2 if args.quick else 5)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        bench_cache(root / "size", frames)
        bench_read(root / "read", videos=4 if args.quick else 8, frames=frames,
                   epochs=1 if args.quick else 5)


if __name__ == "__main__":
    main()
