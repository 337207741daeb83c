"""What every command shares: one-line errors, manifest selection, the run options."""

from __future__ import annotations

import sys

import click

from ..errors import PosetoolsError


def fail(e: Exception) -> None:
    """Print ``error: ...`` in red on stderr and exit 2."""
    click.secho(f"error: {e}", fg="red", err=True)
    sys.exit(2)


def select_entries(manifest, videos, data_root, only, split):
    """The manifest entries a run processes.

    From ``--manifest`` or ``--video``, restricted by ``--only`` and ``--split``.
    """
    from ..io.manifest import filter_entries, load_manifest, manifest_from_paths

    if bool(manifest) == bool(videos):
        raise click.UsageError("give exactly one of --manifest or --video")
    if manifest:
        entries = load_manifest(manifest, data_root=data_root)
    else:
        entries = manifest_from_paths(list(videos))
    return filter_entries(entries, tuple(only), split)


__all__ = ["fail", "select_entries", "PosetoolsError"]
