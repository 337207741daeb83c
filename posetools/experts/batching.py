"""Calling models on frame batches from a stage: chunking, output checks, error context."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import TypeVar

from ..errors import ExpertError, PosetoolsError

T = TypeVar("T")
R = TypeVar("R")


def chunks(items: Sequence[T], size: int) -> Iterator[Sequence[T]]:
    """Consecutive slices of ``items`` of at most ``size`` elements."""
    for i in range(0, len(items), size):
        yield items[i:i + size]


def call_model(
    fn: Callable[..., list[R]],
    *args,
    n: int,
    what: str,
    stage: str,
    video_id: str,
    frame: int | None,
) -> list[R]:
    """Run a model call and turn any failure into an :class:`ExpertError` with context.

    Args:
        fn: Bound ``detect`` / ``estimate`` method.
        *args: Its arguments.
        n: Number of frames in the batch; the result must have this length.
        what: Human-readable name of the model (``expert 'blazepose' (mediapipe:full)``).
        stage: Stage name for the error context.
        video_id: Video id for the error context.
        frame: First original frame index of the batch.

    Returns:
        The model's per-frame results.

    Raises:
        ExpertError: The call raised, or returned the wrong number of results.
        PosetoolsError: Typed errors raised by the backend keep their class (with context).
    """
    try:
        out = fn(*args)
    except PosetoolsError as e:
        raise e.with_context(video_id=video_id, frame=frame, stage=stage) from None
    except Exception as e:
        raise ExpertError(
            f"{what} failed: {type(e).__name__}: {e}", video_id=video_id, frame=frame, stage=stage
        ) from e
    if not isinstance(out, list) or len(out) != n:
        got = len(out) if isinstance(out, list) else type(out).__name__
        raise ExpertError(f"{what} returned {got} results for {n} frames",
                          video_id=video_id, frame=frame, stage=stage)
    return out


__all__ = ["chunks", "call_model"]
