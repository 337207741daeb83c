"""SST-A: Selective Spatio-Temporal Aggregation of several pose experts (pure numpy).

* :func:`ssta_aggregate` — one person track (:mod:`.ssta`, where the rules are
  documented; selection recursion in :mod:`.select`, confidence in
  :mod:`.confidence`, gap filling in :mod:`.fill`);
* :func:`ssta_aggregate_video` — a multi-person video, tracks from the reference
  expert, other experts matched to them (:mod:`.video`, :mod:`.match`);
* :func:`track_restarts` — where a slot's track id changes (the one definition).

Options: :class:`~posetools.config.algorithms.SSTAConfig`.
"""

from .match import instance_similarity, match_instances_to_reference
from .ssta import SSTAResult, ssta_aggregate
from .video import (
    VideoAggregate,
    choose_reference,
    place_on_frames,
    ssta_aggregate_video,
    track_restarts,
)

__all__ = ["ssta_aggregate", "SSTAResult", "ssta_aggregate_video", "VideoAggregate",
           "choose_reference", "match_instances_to_reference", "instance_similarity",
           "place_on_frames", "track_restarts"]
