"""posetools: video datasets to training-ready human-pose tensors."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("posetools")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0.0.0+src"

__all__ = ["__version__"]
