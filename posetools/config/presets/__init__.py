"""The shipped pipelines: YAML files in this package, found with :mod:`importlib.resources`.

``posetools run default ...`` resolves ``default`` to ``default.yaml`` here; any
other argument must be a YAML file. ``posetools presets`` lists them and
``posetools presets NAME`` prints one (a starting point for your own).
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from ...errors import ConfigError


def _dir():
    return resources.files(__package__)


def list_presets() -> list[str]:
    """Names of the shipped presets."""
    return sorted(p.name[:-5] for p in _dir().iterdir() if p.name.endswith(".yaml"))


def preset_text(name: str) -> str:
    """The YAML text of preset ``name``.

    Raises:
        ConfigError: No such preset (lists them).
    """
    res = _dir() / f"{name}.yaml"
    if not res.is_file():
        raise ConfigError(f"no preset {name!r} (presets: {', '.join(list_presets())})")
    return res.read_text(encoding="utf-8")


def resolve_pipeline(arg: str | Path) -> Path:
    """``arg`` if it is a file, else the path of the preset it names.

    Raises:
        ConfigError: Neither exists (lists the presets).
    """
    p = Path(arg)
    if p.is_file():
        return p
    res = _dir() / f"{arg}.yaml"
    if isinstance(arg, str) and res.is_file():
        with resources.as_file(res) as path:  # a real file for installed packages
            return Path(path)
    raise ConfigError(
        f"pipeline {str(arg)!r}: no such file and no such preset "
        f"(presets: {', '.join(list_presets()) or 'none found'})"
    )
