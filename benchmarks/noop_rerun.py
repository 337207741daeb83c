"""No-op rerun cost (issue #14): planning a large dataset whose work is all done.

The ``default`` pipeline (probe, estimate with the embedded BlazePose, aggregate,
normalize, heatmaps) runs for real on one tiny clip. The dataset is then scaled to
``--n`` videos (default 10 000) the cheap way: every video is a hard link of that
clip (same bytes, so the same fingerprints), every artifact a hard link of the real
one (same size and mtime), and the ledger gets one committed row per (stage, video)
with the real video's fingerprint — a synthetic ledger, exactly what a finished run
over ``n`` such clips would leave.

Measured, each over ``--rounds`` rounds (lowest-highest; the machine is noisy):

* ``posetools run default`` on the 1-video manifest and on the n-video manifest,
  as a subprocess (interpreter start and imports included); the first n-video round
  also fills the input-hash cache (reported apart as "cold");
* the same in this process (``Runner.run``, no interpreter start), with the number of
  models built (must be 0: planning needs no model);
* the per-video planning cost, ``(t_n - t_1) / (n - 1)``, in the same run;
* ``posetools status`` on the n-video output.

Usage::

    python benchmarks/noop_rerun.py               # 10 000 videos
    python benchmarks/noop_rerun.py --n 2000 --rounds 5
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from posetools.config.presets import resolve_pipeline  # noqa: E402
from posetools.config.schema import load_pipeline  # noqa: E402
from posetools.experts.build import cached_detector, cached_expert  # noqa: E402
from posetools.io.manifest import load_manifest  # noqa: E402
from posetools.io.sample import make_sample_clip  # noqa: E402
from posetools.io.store import artifact_path  # noqa: E402
from posetools.run.ledger import Ledger  # noqa: E402
from posetools.run.runner import Runner, RunOptions  # noqa: E402


def _cli(*args: str) -> float:
    t0 = time.perf_counter()
    r = subprocess.run([sys.executable, "-m", "posetools.cli", *args], capture_output=True,
                       text=True)
    dt = time.perf_counter() - t0
    if r.returncode != 0:
        raise SystemExit(f"posetools {' '.join(args)} failed:\n{r.stdout}\n{r.stderr}")
    return dt


def build(root: Path, n: int) -> tuple[Path, Path, Path]:
    """A real 1-video run scaled to ``n`` videos by hard links and ledger rows."""
    clips = root / "clips"
    clips.mkdir(parents=True)
    clip = make_sample_clip(clips / "v00000.mp4")
    one = root / "one.csv"
    one.write_text(f"video_id,path\nv00000,{clip}\n")
    out = root / "out"
    _cli("run", "default", "-m", str(one), "-o", str(out), "--no-progress")
    cfg = load_pipeline(resolve_pipeline("default"))
    ids = [f"v{i:05d}" for i in range(n)]
    for vid in ids[1:]:
        os.link(clip, clips / f"{vid}.mp4")
    many = root / "many.csv"
    many.write_text("video_id,path\n" + "".join(f"{v},{clips / v}.mp4\n" for v in ids))
    led = Ledger(out)
    try:
        with led.batch():
            for stage in cfg.stages:
                ref = led.get(stage, ids[0])
                assert ref is not None and ref.state == "committed", (stage, ref)
                src = artifact_path(out, stage, ids[0])
                for vid in ids[1:]:
                    os.link(src, artifact_path(out, stage, vid))
                    led.commit(stage, vid, fingerprint=ref.fingerprint,
                               input_hash=ref.input_hash, detail=ref.detail,
                               size=ref.artifact_size, mtime_ns=ref.artifact_mtime_ns)
    finally:
        led.close()
    return one, many, out


def in_process(manifest: Path, out: Path) -> tuple[float, int]:
    """Wall time of ``Runner.run`` and the models it built."""
    cfg = load_pipeline(resolve_pipeline("default"))
    entries = load_manifest(manifest)
    cached_expert.cache_clear()
    cached_detector.cache_clear()
    t0 = time.perf_counter()
    reports = Runner(cfg, out, RunOptions(progress=False)).run(entries)
    dt = time.perf_counter() - t0
    assert all(len(r.up_to_date) == len(entries) for r in reports), \
        [(r.stage, len(r.up_to_date), r.failed[:1]) for r in reports]
    return dt, cached_expert.cache_info().currsize + cached_detector.cache_info().currsize


def _range(xs: list[float], unit: str = "s", scale: float = 1.0) -> str:
    return f"{min(xs) * scale:.3g}-{max(xs) * scale:.3g} {unit}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=10_000)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--keep", type=Path, help="build the dataset here and keep it")
    a = ap.parse_args()
    root = a.keep or Path(tempfile.mkdtemp(prefix="posetools-noop-"))
    try:
        t0 = time.perf_counter()
        one, many, out = build(root, a.n)
        print(f"built {a.n} videos x 5 stages (1 real run + links + ledger rows) in "
              f"{time.perf_counter() - t0:.1f} s under {root}")
        args = ("run", "default", "-o", str(out), "--no-progress", "-m")
        cold = _cli(*args, str(many))  # hashes the n inputs once (cache keyed by path)
        cli_1, cli_n, ip_1, ip_n, status = [], [], [], [], []
        built = 0
        for _ in range(a.rounds):
            cli_1.append(_cli(*args, str(one)))
            cli_n.append(_cli(*args, str(many)))
            t, b = in_process(one, out)
            ip_1.append(t)
            t, b2 = in_process(many, out)
            ip_n.append(t)
            built = max(built, b, b2)
            status.append(_cli("status", "-o", str(out), "-m", str(many)))
        per = [(n_ - o) / (a.n - 1) for n_, o in zip(ip_n, ip_1, strict=True)]
        print(f"\nno-op rerun of the default pipeline (5 stages), {a.rounds} rounds, "
              "lowest-highest:")
        print(f"  posetools run, 1 video          {_range(cli_1)}")
        print(f"  posetools run, {a.n} videos     {_range(cli_n)}   (cold hash cache: "
              f"{cold:.2f} s)")
        print(f"  Runner.run in-process, 1 video  {_range(ip_1)}")
        print(f"  Runner.run in-process, {a.n}    {_range(ip_n)}")
        print(f"  planning per video (5 stages)   {_range(per, 'ms', 1e3)}  "
              f"(= ({a.n} - 1 video) / {a.n - 1}, same run)")
        print(f"  posetools status, {a.n} videos  {_range(status)}")
        print(f"  models built by the no-op runs: {built}")
    finally:
        if a.keep is None:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
