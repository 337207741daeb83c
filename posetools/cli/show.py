"""``posetools show``: overlay videos, confidence plots, heatmap montages of a finished run."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from .common import PosetoolsError, fail

_STAGE_HINT = "posetools {stage} PIPELINE -m MANIFEST -o {out} --only {vid}"


def _outputs(stages: str | None) -> list[str] | None:
    from ..viz.show import OUTPUTS

    if not stages:
        return None
    sel = [s.strip() for s in stages.split(",") if s.strip()]
    bad = [s for s in sel if s not in OUTPUTS]
    if bad:
        raise click.BadParameter(f"unknown output(s) {bad}; outputs: {', '.join(OUTPUTS)}",
                                 param_hint="--stages")
    return [o for o in OUTPUTS if o in sel]


def _videos(video_ids, manifest, data_root, only, split, ledger_rows):
    """``[(video_id, source path or None)]`` from ``--video`` or the manifest."""
    from ..io.manifest import filter_entries, load_manifest

    if bool(manifest) == bool(video_ids):
        raise click.UsageError("give --video ID (repeatable) or --manifest (with --only ID)")
    if manifest:
        entries = filter_entries(load_manifest(manifest, data_root=data_root, check_files=False),
                                 tuple(only), split)
        return [(e.video_id, Path(e.path)) for e in entries]
    recorded: dict[str, Path] = {}
    for r in ledger_rows:  # the source video each committed stage recorded
        src = (r.detail or {}).get("video_path") if r.state == "committed" else None
        if src and (r.video_id not in recorded or r.stage == "estimate"):
            recorded[r.video_id] = Path(src)
    out_list = []
    for v in video_ids:
        p = Path(v)
        vid = p.stem if p.suffix and p.is_file() else v  # `--video clip.mp4` as for `run`
        out_list.append((vid, p if vid != v else recorded.get(vid)))
    return out_list


def _state_note(row) -> str:
    if row is None:
        return "never run"
    if row.state == "failed":
        return f"failed: {(row.message or '').splitlines()[0] if row.message else row.state}"
    if row.state == "skipped":
        return f"skipped: {row.message}"
    return row.state


def _plan(videos, ledger_rows, wanted, out: Path):
    """``[(video_id, source, outputs)]`` to write, and one problem line per missing input."""
    from ..viz.show import NEEDS, available_outputs, missing_stages

    by_video: dict[str, dict] = {}
    for r in ledger_rows:
        by_video.setdefault(r.video_id, {})[r.stage] = r
    plans, problems = [], []
    for vid, src in videos:
        have = by_video.get(vid, {})
        if not have:
            known = ", ".join(sorted(by_video)[:8]) or "none"
            problems.append(f"[video={vid}] nothing was run for this video in {out} "
                            f"(videos there: {known})")
            continue
        committed = {s for s, r in have.items() if r.state == "committed"}
        todo = wanted or available_outputs(committed)
        if not todo:
            needed = " / ".join(sorted({s for n in NEEDS.values() for s in n}))
            problems.append(f"[video={vid}] nothing to show: no committed {needed} artifact; "
                            f"run the pipeline first (`posetools run PIPELINE -m MANIFEST -o "
                            f"{out}`)")
            continue
        for o, lack in missing_stages(todo, committed).items():
            st = lack[0]
            problems.append(f"[video={vid}] {o} needs the '{st}' artifact, which is not "
                            f"committed ({_state_note(have.get(st))}): run `"
                            + _STAGE_HINT.format(stage=st, out=out, vid=vid) + "` first")
        if src is None and ("overlay" in todo or "heatmaps" in todo):
            problems.append(f"[video={vid}] the source video is unknown: give the run's "
                            "manifest with -m")
        plans.append((vid, src, todo))
    return plans, problems


@click.command("show")
@click.argument("out", type=click.Path(file_okay=False, exists=True))
@click.option("--video", "video_ids", multiple=True,
              help="Video id to show (repeatable); a video file path means its stem.")
@click.option("--manifest", "-m", type=click.Path(dir_okay=False),
              help="Manifest of the run: the source videos (with --only / --split to choose).")
@click.option("--data-root", type=click.Path(file_okay=False),
              help="Root for relative manifest paths (default: the manifest's folder).")
@click.option("--only", multiple=True, help="With --manifest: only this video_id (repeatable).")
@click.option("--split", help="With --manifest: only rows of this split.")
@click.option("--stages", help="Comma-separated outputs: overlay, confidence, heatmaps, "
                               "normalized (default: each whose artifacts are committed).")
@click.option("--dest", "-o", type=click.Path(file_okay=False),
              help="Folder for the outputs (default: OUT/show).")
@click.option("--frames", help="a:b original frame indices, b exclusive (either may be left "
                               "out): the overlay's frames and the plots' range.")
@click.option("--every", default=1, show_default=True, type=click.IntRange(1),
              help="Keep every N-th frame of the range (overlay, sampled panels).")
@click.option("--no-progress", is_flag=True, help="Hide the progress bar.")
def show_cmd(out, video_ids, manifest, data_root, only, split, stages, dest, frames, every,
             no_progress):
    """See what the pipeline did for videos of OUT: overlay MP4, confidence plot, heatmaps.

    Reads only committed artifacts (the ledger says which) and the source video.
    """
    from tqdm import tqdm

    from ..run.ledger import Ledger
    from ..viz.selection import FrameSelection
    from ..viz.show import show_video

    out_p = Path(out)
    wanted = _outputs(stages)
    try:
        selection = FrameSelection.parse(frames, every)
        ledger = Ledger(out_p, readonly=True)
        rows = ledger.rows()
        ledger.close()
        videos = _videos(video_ids, manifest, data_root, only, split, rows)
    except PosetoolsError as e:
        fail(e)
    if not videos:
        fail(PosetoolsError("no video selected"))
    plans, problems = _plan(videos, rows, wanted, out_p)
    if problems:
        for p in problems:
            click.secho(f"error: {p}", fg="red", err=True)
        sys.exit(2)
    dest_p = Path(dest) if dest else out_p / "show"
    written, n_failed = [], 0
    for vid, src, todo in plans:
        bars = []

        def progress(total: int, vid=vid, bars=bars):
            bar = tqdm(total=total, desc=f"{vid} overlay", unit="fr", disable=no_progress,
                       leave=False)
            bars.append(bar)
            return bar.update

        try:
            res = show_video(out_p, vid, src, todo, dest_p, selection=selection,
                             progress=progress)
        except PosetoolsError as e:
            click.secho(f"error: {e.with_context(video_id=vid)}", fg="red", err=True)
            n_failed += 1
            continue
        finally:
            for b in bars:
                b.close()
        written += res.paths
        for e in res.errors:
            click.secho(f"error: {e}", fg="red", err=True)
        n_failed += bool(res.errors)
        if res.overlay_frames:
            w, h = res.overlay_size
            click.echo(f"{vid}: overlay {res.overlay_frames} frames, {w}x{h}")
    for p in written:
        click.echo(f"wrote {p}")
    if n_failed:
        sys.exit(1)


__all__ = ["show_cmd"]
