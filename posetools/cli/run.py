"""``posetools run``, one command per stage, and ``posetools quickstart``."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import click

from ..config.schema import STAGE_ORDER
from .common import PosetoolsError, fail, select_entries


def _run_options(f):
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
        click.option("--workers", "-j", type=click.IntRange(1),
                     help="Parallel worker processes (or Ray actors) over videos "
                          "[default: 1, or one per --devices entry]."),
        click.option("--only", multiple=True, help="Process only this video_id (repeatable)."),
        click.option("--split", help="Process only manifest rows of this split."),
        click.option("--force", is_flag=True, help="Recompute even up-to-date outputs."),
        click.option("--allow-failures", is_flag=True,
                     help="Exit 0 even if some videos failed."),
        click.option("--no-progress", is_flag=True, help="Hide progress bars."),
        click.option("--device", default="auto", show_default=True,
                     help="Device of every model whose YAML sets none: cpu, cuda, cuda:N or "
                          "auto (a GPU where the backend can use one). Never in fingerprints."),
        click.option("--devices",
                     help="One device per worker process, taken in turn "
                          "(e.g. cuda:0,cuda:1; sets --workers when that is not given)."),
        click.option("--executor", type=click.Choice(["local", "ray"]), default="local",
                     show_default=True,
                     help="local: this machine; ray: a Ray cluster, --workers actors "
                          "(OUT and the videos must be on storage every node sees)."),
        click.option("--ray-address", help="Ray cluster address, e.g. auto or "
                                           "ray://head:10001 (default: RAY_ADDRESS or a new "
                                           "local cluster)."),
        click.option("--gpus-per-worker", default=0.0, show_default=True,
                     type=click.FloatRange(0, None),
                     help="Ray: GPUs per actor of the detect/estimate stages (0.5 = two "
                          "actors share a GPU)."),
        click.option("--cpus-per-worker", default=1.0, show_default=True,
                     type=click.FloatRange(0, None, min_open=True),
                     help="Ray: CPUs per actor or task."),
    ]
    for o in reversed(opts):
        f = o(f)
    return f


def _options(kw: dict):
    """The :class:`~posetools.run.work.RunOptions` of the CLI options in ``kw``."""
    from ..run.devices import parse_devices
    from ..run.work import RunOptions

    devices = parse_devices(kw["devices"]) if kw.get("devices") else ()
    workers = kw.get("workers") or max(1, len(devices))
    return RunOptions(workers=workers, force=kw.get("force", False),
                      progress=not kw.get("no_progress", False),
                      executor=kw.get("executor", "local"), ray_address=kw.get("ray_address"),
                      device=kw.get("device", "auto"), devices=devices,
                      gpus_per_worker=kw.get("gpus_per_worker", 0.0),
                      cpus_per_worker=kw.get("cpus_per_worker", 1.0))


def _cpu_only_note(cfg, stages, options) -> None:
    """One line per model a GPU was asked for that runs on the CPU (its backend has no GPU)."""
    from ..experts.devices import CPU_ONLY_BACKENDS
    from ..run.devices import models_of

    wanted = [d for d in options.worker_devices if d.startswith("cuda")]
    if not wanted:
        return
    for m in models_of(cfg, stages):
        if m.device is None and m.backend in CPU_ONLY_BACKENDS:
            what = f"expert '{m.name}'" if hasattr(m, "name") else "detector"
            click.echo(f"note: the {m.backend} {what} runs on the CPU ({m.backend} has no "
                       f"GPU path); the other models use {', '.join(wanted)}", err=True)


def execute(pipeline: str, stages: list[str] | None, *, manifest=None, videos=(), out,
            data_root=None, only=(), split=None, allow_failures=False, **kw) -> None:
    """Load the pipeline and the manifest, run ``stages``, print the report, exit.

    ``kw`` holds the runtime options of :func:`_run_options` (workers, devices, Ray...).
    SIGTERM / SIGINT stop the run cleanly (see :mod:`posetools.run.stop`): the exit code
    is then 143 / 130 and one line says what was kept.
    """
    from ..run.stop import StopFlag, handle_stop_signals

    stop = StopFlag()
    t0 = time.perf_counter()
    with handle_stop_signals(stop):  # first: a Ctrl-C while the rest imports stops cleanly
        from ..config.presets import resolve_pipeline
        from ..config.schema import load_pipeline
        from ..run.runner import Runner, format_reports

        try:
            options = _options(kw)
            cfg = load_pipeline(resolve_pipeline(pipeline))
            entries = select_entries(manifest, videos, data_root, only, split)
            if stages is None:
                stages = list(cfg.stages)
            _cpu_only_note(cfg, stages, options)
            reports = Runner(cfg, out, options, stop).run(entries, stages)
        except PosetoolsError as e:
            fail(e)
    click.echo(format_reports(reports))
    if stop.is_set():
        left = sum(len(r.interrupted) + len(r.not_started) for r in reports)
        kept = sum(len(r.committed) for r in reports)
        click.secho(f"stopped by {stop.name}: {kept} artifact(s) committed in this run are "
                    f"kept, {left} video(s) left pending; run the same command again to "
                    "continue", fg="yellow", err=True)
        sys.exit(stop.exit_code)
    n_failed = sum(len(r.failed) for r in reports)
    click.echo(f"{len(entries)} video(s), {time.perf_counter() - t0:.1f} s; outputs in {out}")
    if n_failed and not allow_failures:
        click.secho(f"{n_failed} failure(s); see `posetools status --out {out}`", fg="red",
                    err=True)
        sys.exit(1)


@click.command("run")
@_run_options
@click.option("--stages", help="Comma-separated subset of the pipeline's stages to run.")
def run_cmd(pipeline, stages, **kw):
    """Run the pipeline's stages (PIPELINE: a YAML file or a preset name)."""
    sel = None
    if stages:
        sel = [s.strip() for s in stages.split(",") if s.strip()]
        bad = [s for s in sel if s not in STAGE_ORDER]
        if bad:
            raise click.BadParameter(f"unknown stage(s) {bad}; stages: {', '.join(STAGE_ORDER)}",
                                     param_hint="--stages")
        sel = [s for s in STAGE_ORDER if s in sel]
    execute(pipeline, sel, **kw)


def _stage_command(name: str) -> click.Command:
    @_run_options
    def cmd(pipeline, **kw):
        execute(pipeline, [name], **kw)

    cmd.__doc__ = f"Run only the '{name}' stage of PIPELINE (its upstream must be committed)."
    return click.command(name)(cmd)


STAGE_COMMANDS = tuple(_stage_command(n) for n in STAGE_ORDER)
"""``posetools probe``, ``posetools detect``, ... (one per stage)."""


@click.command("quickstart")
@click.argument("out", type=click.Path(file_okay=False), default="posetools-quickstart")
@click.option("--pipeline", default="default", show_default=True)
@click.option("--workers", "-j", default=1, show_default=True, type=click.IntRange(1))
def quickstart_cmd(out, pipeline, workers):
    """Build a sample clip (no network) and run PIPELINE on it into OUT."""
    from ..io.sample import make_sample_clip

    out_p = Path(out)
    data = out_p / "data"
    try:
        clip = data / "astronaut.mp4"
        if not clip.is_file():
            make_sample_clip(clip)
        man = data / "manifest.csv"
        man.write_text("video_id,path,split,label\nastronaut,astronaut.mp4,test,demo\n")
    except PosetoolsError as e:
        fail(e)
    click.echo(f"sample clip: {clip}\nmanifest:    {man}")
    click.echo(f"same as: posetools run {pipeline} --manifest {man} --out {out_p}")
    execute(pipeline, None, manifest=str(man), out=str(out_p), workers=workers)
    click.echo(f"inspect a result: posetools inspect {out_p}/<stage>/astronaut.h5")
