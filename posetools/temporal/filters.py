"""Smoothing filters for one segment of samples (axis 0), parameters in seconds / Hz.

Every filter takes the sample period ``dt`` measured from the real ``pts``, so the
same settings mean the same at 25 fps, at 30 fps and with a frame stride of 5.
Segments hold no NaN (the caller cuts each series into segments, :mod:`.segments`);
a segment shorter than ``min_samples`` is returned unchanged.

* :func:`butterworth`: zero-phase low-pass, :func:`scipy.signal.butter` (SOS) run
  forward and backward by :func:`scipy.signal.sosfiltfilt`. ``order`` is the order of
  the zero-phase response (the designed filter has ``order / 2``, the Sports2D
  convention); the amplitude gain at ``cutoff_hz`` is 0.5. Ends: odd extension
  (:func:`odd_extend`) by ``max(scipy's default, 3 fs / cutoff)`` samples, so a
  straight line passes unchanged at the ends too. A cutoff at or above the Nyquist
  frequency ``1 / (2 dt)`` leaves the samples unchanged (nothing above it is
  representable, e.g. 5 Hz at 6 samples/s).
* :func:`savgol`: :func:`scipy.signal.savgol_filter` with the window in seconds
  (rounded to an odd number of samples, shrunk to fit a short segment; a window not
  longer than ``polyorder`` is the identity); ends by polynomial fit (``interp``).
* :func:`gaussian`: :func:`scipy.ndimage.gaussian_filter1d` with sigma in seconds;
  ends by odd extension.
* :func:`one_euro`: the causal One-Euro filter (Casiez et al., CHI 2012), an
  exponential smoother whose cutoff rises with the filtered speed, with the real time
  step of every sample (no grid needed). Written from the paper's equations: the
  ``OneEuroFilter`` package filters one scalar per call, while here the speed is the
  norm of a joint's 2-D velocity in person sizes per second.

:func:`on_grid` runs an even-spacing filter on a segment whose rows have holes in time
(a variable-frame-rate stall): linearly interpolated samples fill the missing grid
positions and the result is read back at the rows.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from functools import lru_cache

import numpy as np

from .segments import sample_grid

MIN_SAMPLES = 3
"""Default shortest segment a filter changes (two samples carry no curvature)."""


@lru_cache(maxsize=64)
def butter_sos(order: int, cutoff_hz: float, fs: float) -> np.ndarray:
    """Second-order sections of the half-order low-pass :func:`butterworth` runs twice.

    Args:
        order: Zero-phase order (even, >= 2).
        cutoff_hz: Cutoff in Hz (below ``fs / 2``).
        fs: Sampling rate in Hz.

    Returns:
        ``(sections, 6) float64``.

    Raises:
        ValueError: ``order`` is odd or < 2.
    """
    if order < 2 or order % 2:
        raise ValueError("order: must be an even integer >= 2")
    from scipy.signal import butter  # scipy loads in ~1 s: only where a filter runs

    return butter(order // 2, cutoff_hz, btype="low", fs=fs, output="sos")


def odd_extend(x: np.ndarray, h: int) -> np.ndarray:
    """``x`` extended by ``h`` samples at both ends by point reflection about the end samples.

    Short segments are reflected repeatedly, so a straight line stays a straight line
    for any ``h`` (and a constant a constant).

    Args:
        x: ``(n, ...)`` samples, ``n >= 2``.
        h: Samples added at each end.

    Returns:
        ``(n + 2 h, ...)``.
    """
    ext, done = x, 0
    while done < h:
        step = min(h - done, ext.shape[0] - 1)
        ext = np.concatenate([2 * ext[:1] - ext[step:0:-1], ext,
                              2 * ext[-1:] - ext[-2:-step - 2:-1]], axis=0)
        done += step
    return ext


def butterworth(x: np.ndarray, dt: float, cutoff_hz: float = 5.0, order: int = 4,
                min_samples: int = MIN_SAMPLES) -> np.ndarray:
    """Zero-phase Butterworth low-pass along axis 0.

    Args:
        x: ``(n, ...)`` evenly spaced samples.
        dt: Sample period in seconds.
        cutoff_hz: Cutoff (gain 0.5) in Hz.
        order: Zero-phase order (even).
        min_samples: Shorter segments are returned unchanged.

    Returns:
        ``(n, ...) float64``.
    """
    x = np.asarray(x, np.float64)
    n = x.shape[0]
    fs = 1.0 / dt
    if n < max(min_samples, 2) or cutoff_hz >= 0.5 * fs:
        return x.copy()
    sos = butter_sos(order, float(cutoff_hz), float(fs))
    h = max(3 * (2 * sos.shape[0] + 1), int(math.ceil(3.0 * fs / cutoff_hz)))
    from scipy.signal import sosfiltfilt

    y = sosfiltfilt(sos, odd_extend(x, h), axis=0, padtype=None)
    return y[h:h + n]


def savgol_window(window_s: float, dt: float, n: int) -> int:
    """Odd window length in samples for ``window_s`` seconds, at most ``n``."""
    w = max(1, int(round(window_s / dt)))
    w += 1 - w % 2
    if w > n:
        w = n - (1 - n % 2)
    return w


def savgol(x: np.ndarray, dt: float, window_s: float = 0.3, polyorder: int = 2,
           min_samples: int = MIN_SAMPLES) -> np.ndarray:
    """Savitzky-Golay smoothing along axis 0.

    Args:
        x: ``(n, ...)`` evenly spaced samples.
        dt: Sample period in seconds.
        window_s: Window length in seconds.
        polyorder: Degree of the local polynomial.
        min_samples: Shorter segments are returned unchanged.

    Returns:
        ``(n, ...) float64``.
    """
    x = np.asarray(x, np.float64)
    n = x.shape[0]
    w = savgol_window(window_s, dt, n)
    if n < min_samples or w <= polyorder or w < 3:
        return x.copy()
    from scipy.signal import savgol_filter

    return savgol_filter(x, w, polyorder, axis=0, mode="interp")


def gaussian(x: np.ndarray, dt: float, sigma_s: float = 0.04, truncate: float = 4.0,
             min_samples: int = MIN_SAMPLES) -> np.ndarray:
    """Gaussian smoothing along axis 0 with sigma in seconds.

    Args:
        x: ``(n, ...)`` evenly spaced samples.
        dt: Sample period in seconds.
        sigma_s: Standard deviation of the kernel in seconds.
        truncate: Kernel radius in sigmas.
        min_samples: Shorter segments are returned unchanged.

    Returns:
        ``(n, ...) float64``.
    """
    x = np.asarray(x, np.float64)
    n = x.shape[0]
    s = sigma_s / dt
    if n < min_samples or s < 1e-3:
        return x.copy()
    h = int(truncate * s + 0.5)
    from scipy.ndimage import gaussian_filter1d

    y = gaussian_filter1d(odd_extend(x, h), s, axis=0, mode="nearest", truncate=truncate)
    return y[h:h + n]


def _alpha(cutoff: np.ndarray | float, te: float) -> np.ndarray | float:
    """Smoothing factor of a first-order low-pass of cutoff ``cutoff`` Hz over ``te`` s."""
    r = 2.0 * math.pi * cutoff * te
    return r / (r + 1.0)


def one_euro(x: np.ndarray, t: np.ndarray, min_cutoff: float = 1.0, beta: float = 0.0,
             d_cutoff: float = 1.0, scale: float = 1.0) -> np.ndarray:
    """Causal One-Euro filter along axis 0 with the real time of every sample.

    ``y[i] = y[i-1] + a(fc_i, te_i) (x[i] - y[i-1])`` with ``a(fc, te) = r / (r + 1)``,
    ``r = 2 pi fc te``, ``te_i = t[i] - t[i-1]``; ``fc_i = min_cutoff + beta * s_i``
    where ``s_i`` is the norm over the last axis of the derivative
    ``(x[i] - x[i-1]) / te_i`` smoothed with cutoff ``d_cutoff``, divided by
    ``scale``. The first sample passes through.

    Args:
        x: ``(n, ..., D)`` samples; the speed is the norm over the last axis (a 1-D
            ``x`` is one scalar series).
        t: ``(n,) float64`` times in seconds, strictly increasing.
        min_cutoff: Cutoff at rest, Hz.
        beta: Cutoff increase per unit of ``speed / scale``.
        d_cutoff: Cutoff of the derivative's smoother, Hz.
        scale: Units of ``x`` per speed unit (e.g. the person size in pixels).

    Returns:
        ``(n, ..., D) float64``.
    """
    x = np.asarray(x, np.float64)
    one_d = x.ndim == 1
    if one_d:
        x = x[:, None]
    t = np.asarray(t, np.float64)
    out = np.empty_like(x)
    if x.shape[0]:
        out[0] = prev_hat = x[0]
        prev_raw = x[0]
        dx_hat = np.zeros_like(x[0])
        for i in range(1, x.shape[0]):
            te = t[i] - t[i - 1]
            dx_hat = dx_hat + _alpha(d_cutoff, te) * ((x[i] - prev_raw) / te - dx_hat)
            fc = min_cutoff + beta * np.linalg.norm(dx_hat, axis=-1, keepdims=True) / scale
            prev_hat = prev_hat + _alpha(fc, te) * (x[i] - prev_hat)
            out[i] = prev_hat
            prev_raw = x[i]
    return out[:, 0] if one_d else out


def on_grid(fn: Callable[[np.ndarray], np.ndarray], x: np.ndarray, t: np.ndarray,
            dt: float) -> np.ndarray:
    """Run an even-spacing filter on rows that may have holes in time.

    Args:
        fn: Filter of an ``(L, ...)`` evenly spaced array.
        x: ``(n, ...)`` values of a segment's rows (no NaN).
        t: ``(n,) float64`` their times.
        dt: Grid step (the sample period).

    Returns:
        ``(n, ...) float64``: ``fn`` of the gridded series (holes in time linearly
        interpolated) read back at the rows.
    """
    x = np.asarray(x, np.float64)
    g = sample_grid(t, dt)
    if g[-1] == x.shape[0] - 1:
        return fn(x)
    flat = x.reshape(x.shape[0], -1)
    pos = np.arange(g[-1] + 1)
    full = np.stack([np.interp(pos, g, flat[:, c]) for c in range(flat.shape[1])], axis=1)
    return fn(full.reshape(pos.size, *x.shape[1:]))[g]
