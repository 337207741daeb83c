"""Resolve a pipeline argument: a YAML path, or the name of a preset in ``pipelines/``.

Presets are looked up in the source tree's ``pipelines/`` (editable installs) and in
``<prefix>/share/posetools/pipelines`` (where a wheel installs them).
"""

from __future__ import annotations

import sys
from pathlib import Path

from .errors import ConfigError

_SOURCE_DIR = Path(__file__).resolve().parents[1] / "pipelines"
_INSTALLED_DIR = Path(sys.prefix) / "share" / "posetools" / "pipelines"
PRESET_DIR = _SOURCE_DIR if _SOURCE_DIR.is_dir() else _INSTALLED_DIR


def list_presets() -> list[str]:
    """Names of the shipped presets (``pipelines/*.yaml``)."""
    return sorted(p.stem for p in PRESET_DIR.glob("*.yaml")) if PRESET_DIR.is_dir() else []


def resolve_pipeline(arg: str | Path) -> Path:
    """``arg`` if it is a file, else ``pipelines/<arg>.yaml``.

    Raises:
        ConfigError: Neither exists (lists the presets).
    """
    p = Path(arg)
    if p.is_file():
        return p
    cand = PRESET_DIR / f"{arg}.yaml"
    if cand.is_file():
        return cand
    raise ConfigError(
        f"pipeline {str(arg)!r}: no such file and no such preset "
        f"(presets: {', '.join(list_presets()) or 'none found'} in {PRESET_DIR})"
    )
