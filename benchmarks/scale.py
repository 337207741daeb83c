"""Scaling on one machine (issue #14): 1 vs 2 worker processes, per-frame stage costs.

The ``default`` pipeline (embedded BlazePose) runs with ``--force`` over ``--copies``
copies of the five shared videos (hard links: distinct videos to the runner, same
bytes), once with 1 worker and once with 2, alternating, ``--rounds`` times. Printed:

* wall seconds and frames/s of each, lowest-highest over rounds, and the 2-vs-1
  speed-up measured in the same round (the machine is noisy);
* the CPU cost per frame of every stage (from the 1-worker rounds: stage wall time /
  frames), the numbers ``docs/scaling.md`` turns into a Kinetics-400 estimate.

Usage::

    python benchmarks/scale.py [--rounds 2] [--copies 2]
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from benchmarks.common import VIDEOS  # noqa: E402
from posetools.config.presets import resolve_pipeline  # noqa: E402
from posetools.config.schema import load_pipeline  # noqa: E402
from posetools.io.manifest import load_manifest  # noqa: E402
from posetools.run.runner import Runner, RunOptions  # noqa: E402


def dataset(root: Path, copies: int) -> Path:
    """A manifest of ``copies`` hard-linked copies of each shared video."""
    rows = []
    for src in sorted(VIDEOS.iterdir()):
        for c in range(copies):
            dst = root / f"{src.stem}-{c}{src.suffix}"
            os.link(src, dst)
            rows.append(f"{dst.stem},{dst.name}\n")
    m = root / "m.csv"
    m.write_text("video_id,path\n" + "".join(rows))
    return m


def run(manifest: Path, out: Path, workers: int) -> tuple[float, dict[str, tuple[int, float]]]:
    """Wall time of a forced run and ``stage -> (frames, wall s)``."""
    cfg = load_pipeline(resolve_pipeline("default"))
    t0 = time.perf_counter()
    reports = Runner(cfg, out, RunOptions(workers=workers, force=True, progress=False)).run(
        load_manifest(manifest))
    wall = time.perf_counter() - t0
    bad = [(r.stage, r.failed[:1]) for r in reports if r.failed]
    if bad:
        raise SystemExit(f"failures: {bad}")
    return wall, {r.stage: (r.frames, r.wall_s) for r in reports}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--copies", type=int, default=2)
    a = ap.parse_args()
    root = Path(tempfile.mkdtemp(prefix="posetools-scale-"))
    try:
        m = dataset(root, a.copies)
        run(m, root / "warm", 1)  # page cache, model files, first-run costs
        walls: dict[int, list[float]] = {1: [], 2: []}
        speedups, frames, per_stage = [], 0, {}
        for _ in range(a.rounds):
            w1, stages = run(m, root / "out1", 1)
            w2, _ = run(m, root / "out2", 2)
            walls[1].append(w1)
            walls[2].append(w2)
            speedups.append(w1 / w2)
            frames = stages["probe"][0]
            for s, (n, t) in stages.items():
                per_stage.setdefault(s, []).append(t / max(n, 1))
        print(f"default pipeline, {len(load_manifest(m))} videos, {frames} frames, "
              f"{os.cpu_count()} CPUs, {a.rounds} rounds (lowest-highest):")
        for w in (1, 2):
            fps = [frames / t for t in walls[w]]
            print(f"  {w} worker(s): {min(walls[w]):.1f}-{max(walls[w]):.1f} s, "
                  f"{min(fps):.1f}-{max(fps):.1f} frames/s")
        print(f"  speed-up 2 vs 1 (same round): {min(speedups):.2f}-{max(speedups):.2f}x")
        print("  per-frame cost, 1 worker (stage wall / frames):")
        for s, xs in per_stage.items():
            print(f"    {s:<10} {min(xs) * 1e3:.2f}-{max(xs) * 1e3:.2f} ms/frame")
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
