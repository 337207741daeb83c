"""One exception hierarchy for posetools.

Every error can carry the video id, the frame index and the stage it happened in;
``str(err)`` puts them in front of the message so a ledger line or a log line is
self-explanatory::

    [stage=estimate video=P01_cam2 frame=120] expert 'blazepose' failed: ...
"""

from __future__ import annotations

import errno


class PosetoolsError(Exception):
    """Base class of every error raised by posetools.

    Args:
        message: Human-readable description.
        video_id: Manifest id of the video concerned, if any.
        frame: Original frame index concerned, if any.
        stage: Pipeline stage concerned, if any.
    """

    def __init__(
        self,
        message: str,
        *,
        video_id: str | None = None,
        frame: int | None = None,
        stage: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.video_id = video_id
        self.frame = frame
        self.stage = stage

    def with_context(
        self, *, video_id: str | None = None, frame: int | None = None, stage: str | None = None
    ) -> PosetoolsError:
        """Fill in context fields that are still unset and return ``self``."""
        if self.video_id is None:
            self.video_id = video_id
        if self.frame is None:
            self.frame = frame
        if self.stage is None:
            self.stage = stage
        return self

    def __str__(self) -> str:
        ctx = [
            f"{k}={v}"
            for k, v in (("stage", self.stage), ("video", self.video_id), ("frame", self.frame))
            if v is not None
        ]
        return f"[{' '.join(ctx)}] {self.message}" if ctx else self.message

    def __reduce__(self):  # keep context across process-pool pickling
        return (
            _rebuild,
            (type(self), self.message, self.video_id, self.frame, self.stage),
        )


def _rebuild(cls, message, video_id, frame, stage):
    err = cls.__new__(cls)
    PosetoolsError.__init__(err, message, video_id=video_id, frame=frame, stage=stage)
    return err


class ConfigError(PosetoolsError, ValueError):
    """A pipeline YAML or a config value is invalid; the message names its path."""


class DeviceError(ConfigError):
    """A device was asked for that this machine or backend cannot give (e.g. CUDA absent)."""


class ManifestError(PosetoolsError, ValueError):
    """A manifest failed validation.

    Attributes:
        problems: Every problem found, one string each, with its row number.
    """

    def __init__(self, problems: list[str], *, source: str = "manifest") -> None:
        self.problems = list(problems)
        lines = "\n".join(f"  - {p}" for p in self.problems)
        super().__init__(f"{source}: {len(self.problems)} problem(s):\n{lines}")


class InputVideoError(PosetoolsError):
    """A video cannot be used as input. Subclasses say why."""


class VideoNotFoundError(InputVideoError):
    """The file does not exist."""


class EmptyFileError(InputVideoError):
    """The file has zero bytes."""


class NotAVideoError(InputVideoError):
    """The file is not a container FFmpeg can open, or has no video stream (audio-only)."""


class NoFramesError(InputVideoError):
    """The container opened but no frame could be decoded in the requested range."""


class CorruptVideoError(InputVideoError):
    """Decoding failed part-way (truncated or damaged stream)."""


class ShapeError(PosetoolsError, ValueError):
    """An array does not have the documented shape or dtype."""


class StageError(PosetoolsError):
    """A stage failed for one video (wraps the cause)."""


class MissingUpstreamError(StageError):
    """A stage's input artifact from an upstream stage is missing or not committed."""


class ExpertError(StageError):
    """A detector or pose expert failed on a video."""


class MissingBackendError(PosetoolsError, ImportError):
    """An optional backend is not installed; the message carries the install hint."""


class CheckpointError(PosetoolsError):
    """A model checkpoint is missing, cannot be downloaded, or fails its checksum."""


class FormatError(PosetoolsError, ValueError):
    """A file another tool wrote (or should have written) is missing or not in its format."""


class StoreError(PosetoolsError):
    """An artifact file is corrupt, incomplete or has an unexpected layout."""


class WriteError(StoreError):
    """Writing an output file failed (an I/O error of the output folder's filesystem)."""


class DiskFullError(WriteError):
    """The output filesystem is full (or over quota): free space and run again."""


class OutputFolderError(PosetoolsError):
    """The output folder cannot be used.

    It is not a folder, not writable, or not a posetools output (no ledger) where one
    is required.
    """


class RunInterrupted(PosetoolsError):
    """The run was asked to stop (SIGTERM, SIGINT); the video in progress stays pending."""


class WorkerCrashedError(PosetoolsError):
    """The worker process died while processing the video (killed, OOM, segfault)."""


class LedgerError(PosetoolsError):
    """The run ledger cannot be read or written (corrupt file, full disk, read-only)."""


def io_error(err: Exception, what: str) -> WriteError:
    """The :class:`WriteError` (or :class:`DiskFullError`) for an I/O failure while ``what``.

    h5py and sqlite report a full disk in their own words; both are recognized.
    """
    text = str(err)
    full = (getattr(err, "errno", None) in (errno.ENOSPC, errno.EDQUOT)
            or "No space left on device" in text or "errno = 28" in text
            or "disk is full" in text or "Disk quota exceeded" in text)
    if full:
        return DiskFullError(f"no space left on the output device while {what}: free space "
                             "and run again (finished videos are kept)")
    reason = getattr(err, "strerror", None) or (text.splitlines() or [type(err).__name__])[0]
    return WriteError(f"I/O error while {what}: {reason}")


def check_shape(name: str, arr, shape: tuple, *, stage: str | None = None) -> None:
    """Raise :class:`ShapeError` unless ``arr.shape`` matches ``shape``.

    Args:
        name: Argument name used in the message.
        arr: Array-like with a ``shape`` attribute.
        shape: Expected shape; ``None`` or a string entry matches any size
            (strings name the dimension in the message, e.g. ``("T", "K", 2)``).
        stage: Optional stage for the error context.
    """
    got = tuple(arr.shape)
    ok = len(got) == len(shape) and all(
        e is None or isinstance(e, str) or e == g for e, g in zip(shape, got, strict=True)
    )
    if not ok:
        want = "(" + ", ".join("*" if e is None else str(e) for e in shape) + ")"
        raise ShapeError(f"{name}: expected shape {want}, got {got}", stage=stage)
