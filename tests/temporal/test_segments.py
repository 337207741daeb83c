"""Segments: sample period, splitting at long holes (rows and time) and at restarts."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from posetools.temporal.segments import (
    missing_samples,
    piece_ids,
    sample_grid,
    sample_period,
    segment_bounds,
)


def test_sample_period_uniform_stride_and_uneven():
    assert sample_period(np.arange(10) / 30) == pytest.approx(1 / 30)
    assert sample_period(np.arange(0, 50, 5) / 30) == pytest.approx(5 / 30)  # stride 5
    pts = np.array([0, 0.04, 0.08, 0.3, 0.34, 0.38])  # one stall
    assert sample_period(pts) == pytest.approx(0.04)
    with pytest.raises(ValueError, match="pts"):
        sample_period(np.array([1.0]))
    with pytest.raises(ValueError, match="pts"):
        sample_period(np.zeros(4))


def test_piece_ids():
    restart = np.array([0, 0, 0, 0, 1, 0, 0, 0, 1, 0], bool)
    assert piece_ids(restart).tolist() == [0, 0, 0, 0, 1, 1, 1, 1, 2, 2]
    both = piece_ids(np.stack([restart, ~restart], axis=1))
    assert both[:, 0].tolist() == piece_ids(restart).tolist() and both[-1, 1] == 8


def test_missing_samples_counts_rows_and_time():
    pts = np.array([0.0, 0.1, 0.2, 0.6, 0.7])  # a 0.4 s stall between rows 2 and 3
    assert missing_samples(np.array([0, 2, 3, 4]), pts, 0.1).tolist() == [1, 3, 0]


def test_segment_bounds_split_at_long_holes():
    present = np.ones(20, bool)
    present[3:5] = False    # hole of 2
    present[9:13] = False   # hole of 4
    pts = np.arange(20) / 25
    assert segment_bounds(present, pts, 1 / 25, 3) == [(0, 9), (13, 20)]
    assert segment_bounds(present, pts, 1 / 25, 4) == [(0, 20)]
    assert segment_bounds(present, pts, 1 / 25, 0) == [(0, 3), (5, 9), (13, 20)]
    assert segment_bounds(np.zeros(5, bool), pts[:5], 1 / 25, 3) == []


def test_segment_bounds_leading_trailing_missing_excluded():
    present = np.array([0, 0, 1, 1, 0, 1, 0, 0], bool)
    assert segment_bounds(present, np.arange(8.0), 1.0, 2) == [(2, 6)]


def test_segment_bounds_split_at_restart_even_without_hole():
    present = np.ones(10, bool)
    restart = np.zeros(10, bool)
    restart[6] = True
    assert segment_bounds(present, np.arange(10.0), 1.0, 5, restart) == [(0, 6), (6, 10)]
    present[5:7] = False  # a restart inside a hole splits too (the hole is not bridged)
    assert segment_bounds(present, np.arange(10.0), 1.0, 5, restart) == [(0, 5), (7, 10)]


def test_segment_bounds_time_holes():
    pts = np.array([0.0, 1, 2, 3, 9, 10, 11])  # 5 samples missing in time between rows 3, 4
    present = np.ones(7, bool)
    assert segment_bounds(present, pts, 1.0, 4) == [(0, 4), (4, 7)]
    assert segment_bounds(present, pts, 1.0, 5) == [(0, 7)]


def test_sample_grid():
    assert sample_grid(np.array([0.0, 0.1, 0.2, 0.5, 0.6]), 0.1).tolist() == [0, 1, 2, 5, 6]
    # rows closer than a period still advance by one position
    assert sample_grid(np.array([0.0, 0.01, 0.1]), 0.1).tolist() == [0, 1, 2]


@settings(max_examples=60, derandomize=True, deadline=None)
@given(st.lists(st.booleans(), min_size=1, max_size=60), st.integers(0, 6),
       st.lists(st.integers(0, 59), max_size=4))
def test_segment_invariants(mask, max_gap, restart_rows):
    present = np.array(mask)
    t = present.size
    restart = np.zeros(t, bool)
    restart[[r for r in restart_rows if r < t]] = True
    bounds = segment_bounds(present, np.arange(t) / 30.0, 1 / 30, max_gap, restart)
    covered = np.zeros(t, bool)
    for a, b in bounds:
        covered[a:b] = True
    assert covered[present].all()  # every present row is in a segment
    pieces = piece_ids(restart)
    for a, b in bounds:
        assert present[a] and present[b - 1]  # segments start and end on present rows
        assert len(set(pieces[a:b][present[a:b]])) == 1  # never across a restart
        idx = a + np.flatnonzero(present[a:b])
        assert (np.diff(idx) - 1 <= max_gap).all()
    for (_, b0), (a1, _) in zip(bounds[:-1], bounds[1:], strict=True):
        last, first = b0 - 1, a1
        assert first - last - 1 > max_gap or pieces[first] != pieces[last]
