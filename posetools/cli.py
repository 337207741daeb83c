"""Command-line interface of posetools.

Commands: ``run``, one per stage (``probe`` ... ``heatmaps``), ``status``, ``verify``,
``inspect``, ``check-manifest``, ``export pyskl|coco`` and ``quickstart``.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import click

from . import __version__
from .errors import PosetoolsError

STAGE_NAMES = ("probe", "detect", "estimate", "aggregate", "normalize", "heatmaps")


def _fail(e: Exception) -> None:
    click.secho(f"error: {e}", fg="red", err=True)
    sys.exit(2)


def _entries(manifest, videos, data_root, only, split):
    from .manifest import filter_entries, load_manifest, manifest_from_paths

    if bool(manifest) == bool(videos):
        raise click.UsageError("give exactly one of --manifest or --video")
    if manifest:
        entries = load_manifest(manifest, data_root=data_root)
    else:
        entries = manifest_from_paths(list(videos))
    return filter_entries(entries, tuple(only), split)


def _run_common(f):
    opts = [
        click.argument("pipeline"),
        click.option("--manifest", "-m", type=click.Path(dir_okay=False),
                     help="Dataset manifest (.csv or .jsonl)."),
        click.option("--video", "videos", multiple=True, type=click.Path(dir_okay=False),
                     help="A video file (repeatable) instead of a manifest; id = file stem."),
        click.option("--out", "-o", required=True, type=click.Path(file_okay=False),
                     help="Output folder."),
        click.option("--data-root", type=click.Path(file_okay=False),
                     help="Root for relative manifest paths (default: the manifest's folder)."),
        click.option("--workers", "-j", default=1, show_default=True, type=click.IntRange(1),
                     help="Parallel worker processes over videos."),
        click.option("--only", multiple=True, help="Process only this video_id (repeatable)."),
        click.option("--split", help="Process only manifest rows of this split."),
        click.option("--force", is_flag=True, help="Recompute even up-to-date outputs."),
        click.option("--allow-failures", is_flag=True,
                     help="Exit 0 even if some videos failed."),
        click.option("--no-progress", is_flag=True, help="Hide progress bars."),
        click.option("--executor", type=click.Choice(["local", "ray"]), default="local",
                     show_default=True,
                     help="local: this machine; ray: a Ray Data actor pool of --workers actors "
                          "(OUT and the videos must be on storage every node sees)."),
        click.option("--ray-address", help="Ray cluster address (default: RAY_ADDRESS or a "
                                           "local cluster)."),
    ]
    for o in reversed(opts):
        f = o(f)
    return f


def _execute(pipeline, manifest, videos, out, data_root, workers, only, split, force,
             allow_failures, no_progress, stages, executor="local", ray_address=None):
    from .pipeline import load_pipeline
    from .presets import resolve_pipeline
    from .runner import Runner, RunOptions, format_reports

    try:
        cfg = load_pipeline(resolve_pipeline(pipeline))
        entries = _entries(manifest, videos, data_root, only, split)
        if stages is None:
            stages = list(cfg.stages)
        t0 = time.perf_counter()
        runner = Runner(cfg, out, RunOptions(workers=workers, force=force,
                                             progress=not no_progress, executor=executor,
                                             ray_address=ray_address))
        reports = runner.run(entries, stages)
    except PosetoolsError as e:
        _fail(e)
    click.echo(format_reports(reports))
    n_failed = sum(len(r.failed) for r in reports)
    click.echo(f"{len(entries)} video(s), {time.perf_counter() - t0:.1f} s; outputs in {out}")
    if n_failed and not allow_failures:
        click.secho(f"{n_failed} failure(s); see `posetools status --out {out}`", fg="red",
                    err=True)
        sys.exit(1)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="posetools")
def main() -> None:
    """posetools: video datasets -> training-ready human-pose tensors."""


@main.command("run")
@_run_common
@click.option("--stages", help="Comma-separated subset of the pipeline's stages to run.")
def run_cmd(pipeline, manifest, videos, out, data_root, workers, only, split, force,
            allow_failures, no_progress, executor, ray_address, stages):
    """Run the pipeline's stages (PIPELINE: a YAML file or a preset name)."""
    sel = None
    if stages:
        sel = [s.strip() for s in stages.split(",") if s.strip()]
        bad = [s for s in sel if s not in STAGE_NAMES]
        if bad:
            raise click.BadParameter(f"unknown stage(s) {bad}; stages: {', '.join(STAGE_NAMES)}",
                                     param_hint="--stages")
        sel = [s for s in STAGE_NAMES if s in sel]
    _execute(pipeline, manifest, videos, out, data_root, workers, only, split, force,
             allow_failures, no_progress, sel, executor, ray_address)


def _stage_command(name: str):
    @_run_common
    def cmd(pipeline, manifest, videos, out, data_root, workers, only, split, force,
            allow_failures, no_progress, executor, ray_address):
        _execute(pipeline, manifest, videos, out, data_root, workers, only, split, force,
                 allow_failures, no_progress, [name], executor, ray_address)

    cmd.__doc__ = f"Run only the '{name}' stage of PIPELINE (its upstream must be committed)."
    return main.command(name)(cmd)


for _name in STAGE_NAMES:
    _stage_command(_name)


@main.command("status")
@click.option("--out", "-o", required=True, type=click.Path(file_okay=False, exists=True))
@click.option("--manifest", "-m", type=click.Path(dir_okay=False),
              help="Count against this manifest (ids without a row are pending).")
@click.option("--data-root", type=click.Path(file_okay=False))
@click.option("--failures/--no-failures", default=True, show_default=True,
              help="List failed and skipped videos with reasons.")
def status_cmd(out, manifest, data_root, failures):
    """Print the ledger summary table."""
    from .ledger import STATES, Ledger
    from .manifest import load_manifest

    try:
        ids = None
        if manifest:
            ids = [e.video_id for e in load_manifest(manifest, data_root=data_root,
                                                     check_files=False)]
        ledger = Ledger(out)
    except PosetoolsError as e:
        _fail(e)
    summ = ledger.summary(ids)
    if not summ:
        click.echo(f"no ledger entries in {out}")
        return
    click.echo(f"{'stage':<10}" + "".join(f"{s:>11}" for s in STATES) + f"{'total':>8}")
    order = [s for s in STAGE_NAMES if s in summ] + [s for s in summ if s not in STAGE_NAMES]
    for st in order:
        c = summ[st]
        click.echo(f"{st:<10}" + "".join(f"{c.get(s, 0):>11}" for s in STATES)
                   + f"{sum(c.values()):>8}")
    if failures:
        for r in ledger.rows():
            if ids is not None and r.video_id not in ids:
                continue
            if r.state == "failed":
                click.echo(f"FAILED  {r.stage}/{r.video_id}: {r.error_class}: "
                           f"{(r.message or '').splitlines()[0]}  (traceback: {r.traceback_path})")
            elif r.state == "skipped":
                click.echo(f"SKIPPED {r.stage}/{r.video_id}: {r.message}")


@main.command("verify")
@click.option("--out", "-o", required=True, type=click.Path(file_okay=False, exists=True))
@click.option("--rehash/--no-rehash", default=True, show_default=True,
              help="Rehash every input video fully and flag changed inputs.")
def verify_cmd(out, rehash):
    """Re-check every committed file: opens and reads it, fingerprint, file sha256, input hash."""
    from .hashing import file_sha256
    from .ledger import Ledger
    from .store import artifact_path, check_artifact

    ledger = Ledger(out)
    bad = 0
    rows = [r for r in ledger.rows() if r.state == "committed"]
    hashed: dict[str, str] = {}
    for r in rows:
        path = artifact_path(out, r.stage, r.video_id)
        problem = None
        if not path.is_file():
            problem = "file missing"
        else:
            try:
                check_artifact(path, r.fingerprint)
            except PosetoolsError as e:
                problem = e.message
            want = (r.detail or {}).get("artifact_sha256")
            if problem is None and want and file_sha256(path) != want:
                problem = "file content changed since commit (sha256 mismatch)"
        if problem is None and rehash and r.input_hash:
            src = (r.detail or {}).get("video_path")
            if src and Path(src).is_file():
                if src not in hashed:
                    hashed[src] = file_sha256(src)
                if hashed[src] != r.input_hash:
                    problem = f"input video changed since commit: {src}"
        if problem:
            bad += 1
            click.secho(f"BAD {r.stage}/{r.video_id}: {problem}", fg="red")
    click.echo(f"verified {len(rows)} committed artifact(s): {len(rows) - bad} ok, {bad} bad")
    if bad:
        sys.exit(1)


@main.command("inspect")
@click.argument("file", type=click.Path(dir_okay=False, exists=True))
def inspect_cmd(file):
    """Print a readable summary of an artifact FILE.h5."""
    from .inspect import describe

    try:
        click.echo(describe(file))
    except PosetoolsError as e:
        _fail(e)


@main.command("check-manifest")
@click.argument("manifest", type=click.Path(dir_okay=False))
@click.option("--data-root", type=click.Path(file_okay=False))
def check_manifest_cmd(manifest, data_root):
    """Validate MANIFEST and report every problem with its row number."""
    from .manifest import load_manifest

    try:
        entries = load_manifest(manifest, data_root=data_root)
    except PosetoolsError as e:
        _fail(e)
    click.echo(f"{manifest}: {len(entries)} video(s), ok")


@main.group("export")
def export_grp():
    """Export keypoints to other toolkits' formats."""


@export_grp.command("pyskl")
@click.argument("dest", type=click.Path(dir_okay=False))
@click.option("--out", "-o", required=True, type=click.Path(file_okay=False, exists=True))
@click.option("--manifest", "-m", required=True, type=click.Path(dir_okay=False),
              help="Manifest giving split and label of each video.")
@click.option("--data-root", type=click.Path(file_okay=False))
@click.option("--source", type=click.Choice(["aggregate", "normalize"]), default="aggregate",
              show_default=True, help="Stage whose keypoints are exported.")
def export_pyskl_cmd(dest, out, manifest, data_root, source):
    """Write the mmaction2 / pyskl annotation pickle DEST (PoseC3D, ST-GCN++)."""
    from .interop import export_pyskl
    from .manifest import load_manifest

    try:
        entries = load_manifest(manifest, data_root=data_root, check_files=False)
        summary = export_pyskl(out, entries, dest, source=source)
    except PosetoolsError as e:
        _fail(e)
    click.echo(f"wrote {summary['path']}: {summary['videos']} video(s)")
    if summary["skipped"]:
        click.echo(f"no '{source}' artifact (not exported): {', '.join(summary['skipped'])}")


@export_grp.command("coco")
@click.argument("dest_dir", type=click.Path(file_okay=False))
@click.option("--out", "-o", required=True, type=click.Path(file_okay=False, exists=True))
@click.option("--source", type=click.Choice(["aggregate", "normalize"]), default="aggregate",
              show_default=True)
def export_coco_cmd(dest_dir, out, source):
    """Write one COCO-style keypoint JSON per video into DEST_DIR."""
    from .interop import export_coco_json

    files = sorted((Path(out) / source).glob("*.h5"))
    try:
        for f in files:
            export_coco_json(f, Path(dest_dir) / f"{f.stem}.json")
    except PosetoolsError as e:
        _fail(e)
    click.echo(f"wrote {len(files)} JSON file(s) to {dest_dir}")


@main.command("quickstart")
@click.argument("out", type=click.Path(file_okay=False), default="posetools-quickstart")
@click.option("--pipeline", default="default", show_default=True)
@click.option("--workers", "-j", default=1, show_default=True, type=click.IntRange(1))
def quickstart_cmd(out, pipeline, workers):
    """Build a sample clip (no network) and run PIPELINE on it into OUT."""
    from .sample import make_sample_clip

    out_p = Path(out)
    data = out_p / "data"
    try:
        clip = data / "astronaut.mp4"
        if not clip.is_file():
            make_sample_clip(clip)
        man = data / "manifest.csv"
        man.write_text("video_id,path,split,label\nastronaut,astronaut.mp4,test,demo\n")
    except PosetoolsError as e:
        _fail(e)
    click.echo(f"sample clip: {clip}\nmanifest:    {man}")
    click.echo(f"same as: posetools run {pipeline} --manifest {man} --out {out_p}")
    _execute(pipeline, str(man), (), str(out_p), None, workers, (), None, False, False, False,
             None)
    click.echo(f"inspect a result: posetools inspect {out_p}/<stage>/astronaut.h5")


if __name__ == "__main__":  # pragma: no cover
    main()
