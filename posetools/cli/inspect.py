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
        ledger = Ledger(out, readonly=True)
        summ = ledger.summary(ids)
        rows = ledger.problems() if failures else []
    except PosetoolsError as e:
        fail(e)
    if not summ:
        click.echo(f"no ledger entries in {out}")
        return
    click.echo(f"{'stage':<10}" + "".join(f"{s:>11}" for s in STATES) + f"{'total':>8}")
    order = [s for s in STAGE_ORDER if s in summ] + [s for s in summ if s not in STAGE_ORDER]
    for st in order:
        c = summ[st]
        click.echo(f"{st:<10}" + "".join(f"{c.get(s, 0):>11}" for s in STATES)
                   + f"{sum(c.values()):>8}")
    wanted = None if ids is None else set(ids)
    if failures:
        for r in rows:
            if wanted is not None and r.video_id not in wanted:
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
@click.option("--repair", is_flag=True,
              help="Mark every bad artifact pending, so the next run recomputes it.")
def verify_cmd(out, rehash, repair):
    """Re-check every committed file: opens and reads it, fingerprint, file sha256, input hash.

    Read-only (works on a read-only OUT) unless --repair is given.
    """
    from ..io.files import file_sha256
    from ..io.store import artifact_path, check_artifact
    from ..run.ledger import Ledger

    try:
        ledger = Ledger(out, readonly=not repair)
        rows = [r for r in ledger.rows() if r.state == "committed"]
    except PosetoolsError as e:
        fail(e)
    bad = []
    hashed: dict[str, str] = {}
    for r in rows:
        problem = _artifact_problem(artifact_path(out, r.stage, r.video_id), r, check_artifact,
                                    file_sha256)
        if problem is None and rehash and r.input_hash:
            src = (r.detail or {}).get("video_path")
            if src and Path(src).is_file():
                if src not in hashed:
                    hashed[src] = file_sha256(src)
                if hashed[src] != r.input_hash:
                    problem = f"input video changed since commit: {src}"
        if problem:
            bad.append(r)
            click.secho(f"BAD {r.stage}/{r.video_id}: {problem}", fg="red")
            if repair:
                try:
                    ledger.pending(r.stage, r.video_id, fingerprint=None,
                                   input_hash=r.input_hash, message=f"verify: {problem}")
                except PosetoolsError as e:
                    fail(e)
    click.echo(f"verified {len(rows)} committed artifact(s): {len(rows) - len(bad)} ok, "
               f"{len(bad)} bad")
    if bad and repair:
        click.echo(f"marked {len(bad)} artifact(s) pending: run the pipeline again to "
                   "recompute them")
    elif bad:
        click.echo("run `posetools verify --repair` then the pipeline again to recompute them")
        sys.exit(1)


def _artifact_problem(path: Path, row, check_artifact, file_sha256) -> str | None:
    """What is wrong with a committed artifact, or ``None``."""
    if not path.is_file():
        return "file missing"
    try:
        check_artifact(path, row.fingerprint)
    except PosetoolsError as e:
        return e.message
    want = (row.detail or {}).get("artifact_sha256")
    try:
        if want and file_sha256(path) != want:
            return "file content changed since commit (sha256 mismatch)"
    except OSError as e:
        return f"cannot read it: {e.strerror or e}"
    return None


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
