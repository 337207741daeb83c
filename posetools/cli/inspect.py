"""Looking at outputs: ``status``, ``verify``, ``inspect``, ``check-manifest``, ``presets``."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from ..config.schema import STAGE_ORDER
from .common import PosetoolsError, fail


@click.command("status")
@click.option("--out", "-o", required=True, type=click.Path(file_okay=False, exists=True))
@click.option("--manifest", "-m", type=click.Path(dir_okay=False),
              help="Count against this manifest (ids without a row are pending).")
@click.option("--data-root", type=click.Path(file_okay=False))
@click.option("--failures/--no-failures", default=True, show_default=True,
              help="List failed and skipped videos with reasons.")
def status_cmd(out, manifest, data_root, failures):
    """Print the ledger summary table."""
    from ..io.manifest import load_manifest
    from ..run.ledger import STATES, Ledger

    try:
        ids = None
        if manifest:
            ids = [e.video_id for e in load_manifest(manifest, data_root=data_root,
                                                     check_files=False)]
        ledger = Ledger(out)
    except PosetoolsError as e:
        fail(e)
    summ = ledger.summary(ids)
    if not summ:
        click.echo(f"no ledger entries in {out}")
        return
    click.echo(f"{'stage':<10}" + "".join(f"{s:>11}" for s in STATES) + f"{'total':>8}")
    order = [s for s in STAGE_ORDER if s in summ] + [s for s in summ if s not in STAGE_ORDER]
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


@click.command("verify")
@click.option("--out", "-o", required=True, type=click.Path(file_okay=False, exists=True))
@click.option("--rehash/--no-rehash", default=True, show_default=True,
              help="Rehash every input video fully and flag changed inputs.")
def verify_cmd(out, rehash):
    """Re-check every committed file: opens and reads it, fingerprint, file sha256, input hash."""
    from ..io.files import file_sha256
    from ..io.store import artifact_path, check_artifact
    from ..run.ledger import Ledger

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


@click.command("inspect")
@click.argument("file", type=click.Path(dir_okay=False, exists=True))
def inspect_cmd(file):
    """Print a readable summary of an artifact FILE.h5."""
    from ..io.describe import describe

    try:
        click.echo(describe(file))
    except PosetoolsError as e:
        fail(e)


@click.command("check-manifest")
@click.argument("manifest", type=click.Path(dir_okay=False))
@click.option("--data-root", type=click.Path(file_okay=False))
def check_manifest_cmd(manifest, data_root):
    """Validate MANIFEST and report every problem with its row number."""
    from ..io.manifest import load_manifest

    try:
        entries = load_manifest(manifest, data_root=data_root)
    except PosetoolsError as e:
        fail(e)
    click.echo(f"{manifest}: {len(entries)} video(s), ok")


@click.command("presets")
@click.argument("name", required=False)
def presets_cmd(name):
    """List the shipped pipelines, or print preset NAME (a starting point for your own)."""
    from ..config.presets import list_presets, preset_text

    if name is None:
        click.echo("\n".join(list_presets()))
        return
    try:
        click.echo(preset_text(name), nl=False)
    except PosetoolsError as e:
        fail(e)
