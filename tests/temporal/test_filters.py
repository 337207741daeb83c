"""Filters on synthetic signals with known answers.

Constants (and, for the zero-phase filters, straight lines) are unchanged; a sinusoid
below the cutoff passes with the analytic gain and no phase lag; white noise shrinks by
the analytic factor; the cutoff is in Hz whatever the sampling rate (frame stride).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.signal import savgol_coeffs, sosfreqz

from posetools.temporal.filters import (
    butter_sos,
    butterworth,
    gaussian,
    on_grid,
    one_euro,
    savgol,
    savgol_window,
)

RNG_SEED = 1234


def fit_sine(y, t, f):
    """Amplitude and phase (rad) of the ``f`` Hz component of ``y`` (least squares)."""
    a = np.stack([np.sin(2 * np.pi * f * t), np.cos(2 * np.pi * f * t), np.ones_like(t)], 1)
    (s, c, _), *_ = np.linalg.lstsq(a, y, rcond=None)
    return math.hypot(s, c), math.atan2(c, s)


ZERO_PHASE = {
    "butterworth": lambda x, dt: butterworth(x, dt, 6.0, 4),
    "savgol": lambda x, dt: savgol(x, dt, 0.3, 2),
    "gaussian": lambda x, dt: gaussian(x, dt, 0.04),
}


@pytest.mark.parametrize("name", [*ZERO_PHASE, "one_euro"])
@pytest.mark.parametrize("n", [1, 2, 3, 5, 17, 200])
def test_constant_unchanged(name, n):
    x = np.full((n, 3, 2), 123.25)
    dt = 1 / 30
    y = (one_euro(x, np.arange(n) * dt, 1.0, 0.7, scale=100.0) if name == "one_euro"
         else ZERO_PHASE[name](x, dt))
    np.testing.assert_allclose(y, x, rtol=0, atol=1e-9)


@pytest.mark.parametrize("name", list(ZERO_PHASE))
@pytest.mark.parametrize("n", [3, 5, 9, 40, 300])
def test_straight_line_unchanged_by_zero_phase_filters(name, n):
    t = np.arange(n) / 25
    x = np.stack([40 * t + 3, -15 * t], axis=1)
    np.testing.assert_allclose(ZERO_PHASE[name](x, 1 / 25), x, atol=1e-4)


def test_butterworth_sinusoid_below_cutoff_passes_without_lag():
    dt = 1 / 30
    t = np.arange(600) * dt
    for f in (0.5, 1.0, 2.0, 3.0):
        y = butterworth(np.sin(2 * np.pi * f * t), dt, 6.0, 4)
        amp, ph = fit_sine(y[60:-60], t[60:-60], f)  # away from the ends
        # |H|^2 of the bilinear 2nd-order design, run twice (frequency pre-warped)
        expected = 1 / (1 + (math.tan(math.pi * f / 30) / math.tan(math.pi * 6 / 30)) ** 4)
        _, h = sosfreqz(butter_sos(4, 6.0, 30.0), worN=[f], fs=30.0)
        assert abs(h[0]) ** 2 == pytest.approx(expected, rel=1e-9)
        assert amp == pytest.approx(abs(h[0]) ** 2, rel=2e-3)
        assert amp > 0.99 if f <= 2 else amp > 0.95  # < 1% loss up to fc/3, < 5% at fc/2
        assert abs(ph) < 1e-3  # zero phase


def test_butterworth_gain_half_at_cutoff_any_rate():
    """Stride awareness: 2 Hz cutoff at 30 fps and at every 5th frame (6 fps)."""
    f = 2.0
    for fs in (30.0, 6.0):
        t = np.arange(int(40 * fs)) / fs
        y = butterworth(np.sin(2 * np.pi * f * t + 0.3), 1 / fs, f, 4)
        k = int(4 * fs)
        amp, _ = fit_sine(y[k:-k], t[k:-k], f)
        assert amp == pytest.approx(0.5, abs=0.01)


def test_butterworth_at_or_above_nyquist_is_identity():
    x = np.random.default_rng(RNG_SEED).normal(size=(50, 2))
    np.testing.assert_array_equal(butterworth(x, 1 / 5, 6.0), x)  # 5 fps: Nyquist 2.5 Hz


def test_white_noise_reduction_butterworth():
    dt = 1 / 30
    x = np.random.default_rng(RNG_SEED).normal(size=(40000, 2))
    y = butterworth(x, dt, 6.0, 4)
    _, h = sosfreqz(butter_sos(4, 6.0, 30.0), worN=1 << 14, fs=30.0)
    expected = math.sqrt(np.mean(np.abs(h) ** 4))  # zero-phase gain |H|^2, power |H|^4
    assert y[100:-100].std() / x.std() == pytest.approx(expected, rel=0.03)


@pytest.mark.parametrize("sigma_samples", [1.5, 3.0, 6.0])
def test_white_noise_reduction_gaussian(sigma_samples):
    dt = 1 / 30
    x = np.random.default_rng(RNG_SEED).normal(size=(40000, 2))
    y = gaussian(x, dt, sigma_samples * dt)
    expected = 1 / math.sqrt(2 * math.sqrt(math.pi) * sigma_samples)
    assert y[100:-100].std() / x.std() == pytest.approx(expected, rel=0.03)


def test_white_noise_reduction_savgol():
    dt = 1 / 30
    x = np.random.default_rng(RNG_SEED).normal(size=(40000, 2))
    y = savgol(x, dt, 0.3, 2)
    w = savgol_window(0.3, dt, x.shape[0])
    assert w == 9
    expected = math.sqrt((savgol_coeffs(w, 2) ** 2).sum())
    assert y[100:-100].std() / x.std() == pytest.approx(expected, rel=0.03)


def test_savgol_passes_low_frequency_and_keeps_quadratics():
    dt = 1 / 30
    t = np.arange(300) * dt
    amp, ph = fit_sine(savgol(np.sin(2 * np.pi * t), dt, 0.3, 2)[20:-20], t[20:-20], 1.0)
    assert amp > 0.99 and abs(ph) < 1e-6
    q = 3 * t**2 - t + 2
    np.testing.assert_allclose(savgol(q, dt, 0.3, 2), q, atol=1e-8)


def test_gaussian_sinusoid_gain_matches_analytic():
    dt = 1 / 30
    t = np.arange(900) * dt
    sigma = 0.05
    for f in (0.5, 1.0, 2.0):
        y = gaussian(np.sin(2 * np.pi * f * t), dt, sigma)
        amp, ph = fit_sine(y[60:-60], t[60:-60], f)
        assert amp == pytest.approx(math.exp(-2 * (math.pi * f * sigma) ** 2), rel=2e-3)
        assert abs(ph) < 1e-6


def test_one_euro_beta0_is_first_order_lowpass():
    dt = 1 / 30
    fc = 2.0
    r = 2 * math.pi * fc * dt
    alpha = r / (r + 1)
    x = np.random.default_rng(RNG_SEED).normal(size=40000)
    y = one_euro(x, np.arange(x.size) * dt, min_cutoff=fc, beta=0.0)
    assert y[100:].std() == pytest.approx(math.sqrt(alpha / (2 - alpha)), rel=0.03)
    # a ramp of slope v lags by v / (2 pi fc) seconds' worth of motion, exactly
    t = np.arange(300) * dt
    v = 50.0
    y = one_euro(v * t, t, min_cutoff=fc, beta=0.0)
    assert (v * t - y)[-1] == pytest.approx(v / (2 * math.pi * fc), rel=1e-6)


def test_one_euro_beta_cuts_lag_of_fast_motion():
    dt = 1 / 30
    t = np.arange(300) * dt
    x = np.stack([200 * t, 0 * t], axis=1)  # 2 person sizes/s for scale 100
    slow = one_euro(x, t, 1.0, 0.0, scale=100.0)
    fast = one_euro(x, t, 1.0, 2.0, scale=100.0)
    assert np.abs(x - fast)[-1, 0] < 0.25 * np.abs(x - slow)[-1, 0]


def test_one_euro_uses_real_time_steps():
    """Same continuous ramp sampled at 30 fps and every 5th frame: same lag in time."""
    v, fc = 30.0, 1.0
    t30 = np.arange(300) / 30
    t6 = t30[::5]
    lag30 = (v * t30 - one_euro(v * t30, t30, fc))[-1]
    lag6 = (v * t6 - one_euro(v * t6, t6, fc))[-1]
    assert lag30 == pytest.approx(v / (2 * math.pi * fc), rel=1e-3)
    assert lag6 == pytest.approx(lag30, rel=1e-3)


@pytest.mark.parametrize("name", list(ZERO_PHASE))
def test_on_grid_time_hole(name):
    """Rows with a stall in time: the filter sees an even grid, a line stays a line."""
    t = np.r_[np.arange(30), np.arange(36, 70)] / 30
    x = np.stack([25 * t, 4 - 3 * t], axis=1)
    y = on_grid(lambda v: ZERO_PHASE[name](v, 1 / 30), x, t, 1 / 30)
    np.testing.assert_allclose(y, x, atol=1e-6)
    s = np.sin(2 * np.pi * 0.5 * t)
    full_t = np.arange(70) / 30
    ref = ZERO_PHASE[name](np.sin(2 * np.pi * 0.5 * full_t), 1 / 30)
    keep = np.r_[np.arange(30), np.arange(36, 70)]
    got = on_grid(lambda v: ZERO_PHASE[name](v, 1 / 30), s, t, 1 / 30)
    np.testing.assert_allclose(got, ref[keep], atol=1e-2)


def test_short_segments_left_unchanged():
    x = np.array([[0.0, 1.0], [5.0, -3.0]])
    for fn in ZERO_PHASE.values():
        np.testing.assert_array_equal(fn(x, 1 / 30), x)
    x5 = np.random.default_rng(RNG_SEED).normal(size=(5, 2))
    for fn in ZERO_PHASE.values():
        y = fn(x5, 1 / 30)
        assert np.isfinite(y).all() and np.abs(np.diff(y, 2, axis=0)).sum() < np.abs(
            np.diff(x5, 2, axis=0)).sum()


def test_butter_sos_rejects_odd_order():
    with pytest.raises(ValueError, match="order"):
        butter_sos(3, 6.0, 30.0)
