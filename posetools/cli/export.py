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
@click.option("--label-map", type=click.Path(dir_okay=False, exists=True),
              help="Class names, one per line; line number (from 0) = label id. Required "
                   "for string labels.")
@click.option("--sorted-labels", is_flag=True,
              help="Without --label-map: number string labels in sorted string order.")
def export_pyskl_cmd(dest, out, manifest, data_root, source, label_map, sorted_labels):
    """Write the mmaction2 / pyskl annotation pickle DEST (PoseC3D, ST-GCN++).

    Integer labels are the class ids; string labels need --label-map (or the explicit
    --sorted-labels). mmaction2's PoseDataset needs split= (see docs/interop.md).
    """
    import numpy as np

    from ..io.formats.pyskl import export_pyskl
    from ..io.labels import read_label_map
    from ..io.manifest import load_manifest

    try:
        entries = load_manifest(manifest, data_root=data_root, check_files=False)
        names = read_label_map(label_map) if label_map else None
        summary = export_pyskl(out, entries, dest, source=source, label_names=names,
                               sort_labels=sorted_labels)
    except PosetoolsError as e:
        fail(e)
    click.echo(f"wrote {summary['path']}: {summary['videos']} video(s)")
    names = summary["label_names"]
    if summary["label_rule"] == "sorted strings (opt-in)":
        click.echo(f"labels numbered in sorted string order (--sorted-labels): "
                   f"{', '.join(f'{i}={n}' for i, n in enumerate(names))}")
    elif names is not None:
        click.echo(f"labels from {label_map}: {len(names)} classes")
    if summary["skipped"]:
        click.echo(f"no '{source}' artifact (not exported): {', '.join(summary['skipped'])}")
    if int(np.__version__.split(".")[0]) >= 2:
        click.echo("note: mmaction2 1.2.0's PoseCompact uses np.Inf, removed in numpy 2: set "
                   "`np.Inf = np.inf` before training PoseC3D (docs/interop.md)")


@export_grp.command("coco")
@click.argument("dest")
@click.option("--out", "-o", required=True, type=click.Path(file_okay=False, exists=True))
@click.option("--source", type=click.Choice(["aggregate", "normalize"]), default="aggregate",
              show_default=True)
@click.option("--merge", is_flag=True, help="Write every video into the one file DEST.")
def export_coco_cmd(dest, out, source, merge):
    """Write COCO keypoint JSON: one file per video into the folder DEST (or one merged file).

    Image and annotation ids are unique across the videos of one export; each image
    records its video_id and frame_index.
    """
    from ..io.formats.coco import export_coco

    files = sorted(p for p in (Path(out) / source).glob("*.h5") if not p.name.startswith("."))
    try:
        summary = export_coco(files, dest, merge=merge)
    except PosetoolsError as e:
        fail(e)
    where = dest if merge else f"{len(summary['files'])} JSON file(s) in {dest}"
    click.echo(f"wrote {where}: {summary['videos']} video(s), {summary['images']} images, "
               f"{summary['annotations']} annotations")
