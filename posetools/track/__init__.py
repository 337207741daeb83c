"""Person tracks: association across frames, main-person selection, packing (pure numpy).

1. :func:`associate_tracks` gives every instance a track id (:mod:`.associate`);
2. :func:`rank_tracks` / :func:`select_main_tracks` keep the main persons (:mod:`.select`);
3. :func:`pack_by_track` pads per-frame instances into ``(T, P, ...)`` arrays, and
   :func:`track_and_pack` runs the chain for one expert (:mod:`.pack`).

Options: :class:`~posetools.config.algorithms.TrackConfig`.
"""

from .associate import associate_tracks
from .pack import DEFAULT_FILLS, pack_by_track, track_and_pack
from .select import TrackSelection, TrackSummary, rank_tracks, select_main_tracks

__all__ = ["associate_tracks", "rank_tracks", "select_main_tracks", "pack_by_track",
           "track_and_pack", "TrackSummary", "TrackSelection", "DEFAULT_FILLS"]
