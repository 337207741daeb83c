"""``posetools export pyskl|coco``: keypoints for other toolkits."""

from __future__ import annotations

from pathlib import Path

import click

from .common import PosetoolsError, fail


@click.group("export")
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
    from ..io.formats.pyskl import export_pyskl
    from ..io.manifest import load_manifest

    try:
        entries = load_manifest(manifest, data_root=data_root, check_files=False)
        summary = export_pyskl(out, entries, dest, source=source)
    except PosetoolsError as e:
        fail(e)
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
    from ..io.formats.coco import export_coco_json

    files = sorted((Path(out) / source).glob("*.h5"))
    try:
        for f in files:
            export_coco_json(f, Path(dest_dir) / f"{f.stem}.json")
    except PosetoolsError as e:
        fail(e)
    click.echo(f"wrote {len(files)} JSON file(s) to {dest_dir}")
