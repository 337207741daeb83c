"""The ``posetools`` command.

Commands: ``run``, one per stage (``probe`` ... ``heatmaps``), ``status``, ``verify``,
``inspect``, ``check-manifest``, ``presets``, ``export pyskl|coco``, ``quickstart`` and
``show``.
Every expected failure prints one ``error: ...`` line and exits non-zero.
"""

from __future__ import annotations

import click

from .. import __version__
from .export import export_grp
from .inspect import check_manifest_cmd, inspect_cmd, presets_cmd, status_cmd, verify_cmd
from .run import STAGE_COMMANDS, quickstart_cmd, run_cmd
from .show import show_cmd


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="posetools")
def main() -> None:
    """posetools: video datasets -> training-ready human-pose tensors."""


for _cmd in (run_cmd, *STAGE_COMMANDS, status_cmd, verify_cmd, inspect_cmd, check_manifest_cmd,
             presets_cmd, export_grp, quickstart_cmd):
    main.add_command(_cmd)
main.add_command(show_cmd)

__all__ = ["main"]
