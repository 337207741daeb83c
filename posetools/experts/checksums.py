"""Model checksums without building models: what a no-op rerun needs to plan.

A stage's fingerprint contains the checksum of the weights its models load. Building
a model only to checksum it costs seconds per run (more for mm models on a GPU), so
each backend also computes the checksum it reports from its weight files and config
alone. :func:`model_checksum` dispatches on the config's backend and imports only the
light helper of that backend (never mm*, torch or mediapipe themselves); a test
checks every backend's result against the checksum of the built model.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from pathlib import Path

from ..config.models import DetectorConfig, ExpertConfig
from ..errors import CheckpointError, ConfigError
from .install import missing_backend
from .weights import weights_sha256

FileHash = Callable[[Path], str]
"""sha256 of a file, e.g. a persistent cache keyed by path, size and mtime."""


def model_checksum(cfg: ExpertConfig | DetectorConfig, file_hash: FileHash | None = None) -> str:
    """The checksum the built model of ``cfg`` would report.

    Args:
        cfg: A detector or expert config.
        file_hash: sha256 of a weights file (default: :func:`weights_sha256`).

    Raises:
        PosetoolsError: The weights cannot be found (``CheckpointError``), the backend is
            not installed (``MissingBackendError``), or the config is invalid.
    """
    fh = file_hash or weights_sha256
    kind = "detector" if isinstance(cfg, DetectorConfig) else "expert"
    match cfg.backend:
        case "mediapipe":
            from .backends.mediapipe import weights_checksum

            return weights_checksum(cfg, fh)
        case "ultralytics":
            from .backends.ultralytics import weights_checksum

            return weights_checksum(cfg, fh)
        case "hog":
            from .backends.hog import weights_checksum

            return weights_checksum(cfg)
        case "mm":
            from .zoo import weights_checksum

            _require_installed("mm", "mmdet" if kind == "detector" else "mmpose")
            return weights_checksum(cfg.model, cfg.checkpoint, kind, fh)
        case "import":
            from .backends.imported import options_checksum

            return options_checksum(cfg)
        case "onnx":
            path = Path(cfg.model).expanduser()
            if not path.is_file():
                raise CheckpointError(f"ONNX model file not found: {path}")
            return fh(path)
    raise ConfigError(f"backend: unknown {cfg.backend!r}")


def _require_installed(backend: str, module: str) -> None:
    """Raise the backend's install hint unless ``module`` can be imported (not importing it)."""
    try:
        found = importlib.util.find_spec(module) is not None
    except (ValueError, ImportError):  # a module set to None in sys.modules: blocked
        found = False
    if not found:
        raise missing_backend(backend)


__all__ = ["model_checksum", "FileHash"]
