import numpy as np
import pytest

from posetools.errors import ConfigError
from posetools.viz.selection import FrameSelection


def test_parse_forms():
    assert FrameSelection.parse(None) == FrameSelection()
    assert FrameSelection.parse("10:50", 3) == FrameSelection(10, 50, 3)
    assert FrameSelection.parse(" 5: ") == FrameSelection(5, None)
    assert FrameSelection.parse(":7") == FrameSelection(None, 7)
    assert FrameSelection.parse("4") == FrameSelection(4, 5)
    for bad in ("a:b", "1:2:3", "-1:4", "9:3", "5:5"):
        with pytest.raises(ConfigError):
            FrameSelection.parse(bad)
    with pytest.raises(ConfigError):
        FrameSelection(every=0)


def test_mask_count_keeps_done():
    fi = np.arange(20)
    sel = FrameSelection(4, 15, 5)
    assert np.flatnonzero(sel.mask(fi)).tolist() == [4, 9, 14]
    assert np.flatnonzero(sel.in_range(fi)).tolist() == list(range(4, 15))
    assert sel.count(20) == 3 and sel.count(10) == 2 and sel.count(3) == 0
    assert sel.keeps(9) and not sel.keeps(10) and not sel.keeps(19)
    assert sel.done(15) and not sel.done(14) and not FrameSelection().done(10**9)
    assert FrameSelection().count(72) == 72 and FrameSelection(every=4).count(72) == 18
    # thinning counts from the range's start, on original indices (strided artifacts)
    assert np.flatnonzero(FrameSelection(1, None, 2).mask(np.array([0, 3, 5, 6]))).tolist() \
        == [1, 2]
    assert sel.describe() == "frames 4:15, every 5" and FrameSelection().describe() == ""
