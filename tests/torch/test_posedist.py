"""Pose distances and negative sets (torch) agree with the numpy reference."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from posetools import posedist as npd  # noqa: E402
from posetools.errors import ShapeError  # noqa: E402
from posetools.torch import posedist as tpd  # noqa: E402


def random_poses(seed: int, t: int, k: int = 6) -> np.ndarray:
    rng = np.random.default_rng(seed)
    p = rng.normal(size=(t, k, 2)).astype(np.float32)
    p[rng.random((t, k)) < 0.2] = np.nan
    p[0] = np.nan  # a frame without any joint
    return p


@pytest.mark.parametrize("block,col_block", [(1024, 8192), (3, 5), (1, 1)])
def test_matches_numpy(block, col_block):
    p = random_poses(0, 37)
    want = npd.pose_distance_matrix(p)
    got = tpd.pose_distance_matrix(torch.from_numpy(p), block=block, col_block=col_block)
    assert got.dtype == torch.float32 and got.shape == (37, 37)
    g = got.numpy()
    assert (np.isinf(g) == np.isinf(want)).all()
    fin = np.isfinite(want)
    np.testing.assert_allclose(g[fin], want[fin], rtol=1e-6, atol=1e-6)
    np.testing.assert_array_equal(g, g.T)
    assert (np.diag(g) == 0).all()


def test_negative_mask_matches_numpy_and_vanilla():
    p = random_poses(1, 25)
    tp = torch.from_numpy(p)
    for delta in (0.0, 0.8, 1.5):
        rows = [0, 3, 24]
        np.testing.assert_array_equal(
            tpd.negative_mask(tp, delta, rows=rows, block=2).numpy(),
            npd.negative_mask(p, delta, rows=rows))
    assert torch.equal(tpd.negative_mask(tp, 0.0), ~torch.eye(25, dtype=torch.bool))


def test_valid_mask_rows_and_errors():
    p = random_poses(2, 10)
    valid = np.random.default_rng(2).random(p.shape[:2]) < 0.7
    want = npd.pose_distance_matrix(p, valid, rows=np.arange(10) % 2 == 0)
    got = tpd.pose_distance_matrix(torch.from_numpy(p), torch.from_numpy(valid),
                                   rows=torch.arange(10) % 2 == 0)
    np.testing.assert_allclose(got.numpy(), want, rtol=1e-6, atol=1e-6)
    blocks = list(tpd.iter_pose_distance_blocks(torch.from_numpy(p), block=4))
    assert [b[0].tolist() for b in blocks] == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]
    with pytest.raises(ShapeError):
        tpd.pose_distance_matrix(torch.zeros(3, 4))
    with pytest.raises(ValueError):
        tpd.negative_mask(torch.zeros(3, 4, 2), -0.1)
