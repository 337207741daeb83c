"""Figures of ``posetools show`` (matplotlib, headless Agg): confidence and normalized poses.

matplotlib is imported lazily, only when a figure is made (the ``[viz]`` extra); a
missing matplotlib is a :class:`~posetools.errors.MissingBackendError` with the
install hint. Figures are built on a plain :class:`matplotlib.figure.Figure` with an
Agg canvas (never pyplot: no global state, no display needed) at a fixed pixel size,
and saved without the software / date metadata, so that the same inputs give the
same PNG bytes with the same matplotlib.

* :func:`confidence_png` — SST-A's confidence C over time per track, gamma, dropped
  frames shaded, and below it one strip per track: which expert SST-A selected for
  each joint (colors of :data:`posetools.viz.draw.EXPERT_COLORS`), filled, repaired
  and rejected joints;
* :func:`normalized_png` — a grid of normalized skeletons sampled over time (unit
  circle = RMS scale 1, head up), and the center / scale / angle over time.
"""

from __future__ import annotations

import io
from typing import Any

import numpy as np

from ..errors import MissingBackendError
from ..io.artifacts.aggregate import AggregateArtifact
from ..io.artifacts.normalize import NormalizeArtifact
from ..skeletons import get_layout
from .draw import ALERT_COLOR, expert_color
from .overlay import dropped_rows

DPI = 100
CONFIDENCE_WIDTH = 1400
MAX_STRIPS = 3
"""Tracks (slots) shown in the confidence figure; further slots are named in its title."""

NORMALIZED_SIZE = (1600, 960)
NORMALIZED_PANELS = (3, 8)
"""Rows x columns of skeletons in the normalized-pose figure."""

_TRACK_COLORS = ("black", "tab:brown", "tab:olive", "tab:gray")
_MISSING, _SSTA_FILLED, _REPAIRED = (1.0, 1.0, 1.0), (0.25, 0.25, 0.25), (0.65, 0.65, 0.65)


def figure(width: int, height: int) -> Any:
    """A headless matplotlib ``Figure`` of ``width x height`` pixels (Agg canvas).

    Raises:
        MissingBackendError: matplotlib is not installed.
    """
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError:
        raise MissingBackendError(
            "matplotlib is needed for the figures of posetools show: "
            "pip install 'posetools[viz]'") from None
    fig = Figure(figsize=(width / DPI, height / DPI), dpi=DPI)
    FigureCanvasAgg(fig)
    return fig


def png_bytes(fig: Any) -> bytes:
    """The figure as PNG bytes (fixed size, no metadata: reproducible)."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI, metadata={"Software": None})
    return buf.getvalue()


_TITLE_PX, _TOP_PX, _GAP_PX, _STRIP_PX, _STRIP_GAP_PX, _BOTTOM_PX = 50, 230, 25, 185, 20, 50


def confidence_size(n_tracks: int) -> tuple[int, int]:
    """``(width, height)`` in pixels of :func:`confidence_png` for ``n_tracks`` tracks.

    ``n_tracks`` is clipped to ``[1, MAX_STRIPS]``.
    """
    n = min(max(n_tracks, 1), MAX_STRIPS)
    return CONFIDENCE_WIDTH, (_TITLE_PX + _TOP_PX + _GAP_PX + n * (_STRIP_PX + _STRIP_GAP_PX)
                              - _STRIP_GAP_PX + _BOTTOM_PX)


def px_axes(fig: Any, w: int, h: int, left: int, top: int, width: int, height: int,
             **kw: Any) -> Any:
    """Axes placed in pixels from the figure's top-left corner."""
    return fig.add_axes((left / w, 1 - (top + height) / h, width / w, height / h), **kw)


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """``[(first, last)]`` of the runs of True in a 1-D mask (inclusive indices)."""
    m = np.concatenate([[False], np.asarray(mask, bool), [False]])
    d = np.flatnonzero(np.diff(m.astype(np.int8)))
    return [(int(a), int(b) - 1) for a, b in zip(d[::2], d[1::2], strict=True)]


def _rgb(c: tuple[int, int, int]) -> tuple[float, float, float]:
    return c[0] / 255, c[1] / 255, c[2] / 255


def selection_strip(agg: AggregateArtifact, slot: int, rows: np.ndarray) -> np.ndarray:
    """``(K, R, 3) float`` colors of SST-A's per-joint choice for one track.

    Expert colors where SST-A selected a joint; dark grey where SST-A's gap filling
    wrote it, light grey where the refinement repaired it, red where the
    refinement rejected it (and did not repair it), white where it is missing.

    Args:
        agg: The aggregate artifact.
        slot: Track slot ``p``.
        rows: ``(R,)`` row positions.
    """
    src = agg.source_expert[rows, slot].T  # (K, R)
    present = np.isfinite(agg.keypoints[rows, slot]).all(-1).T & (agg.scores[rows, slot].T > 0)
    out = np.empty((*src.shape, 3), np.float64)
    out[...] = _MISSING
    for m in range(len(agg.experts)):
        out[src == m] = _rgb(expert_color(m))
    ref = agg.refine
    if ref is not None:
        out[ref.rejected[rows, slot].T & ~present] = _rgb(ALERT_COLOR)
        out[ref.filled[rows, slot].T & present] = _REPAIRED
    out[agg.filled[rows, slot].T] = _SSTA_FILLED
    return out


def confidence_png(agg: AggregateArtifact, *, rows: np.ndarray | None = None,
                   title: str = "") -> bytes:
    """C over time per track, gamma, dropped frames, and SST-A's choice per joint.

    Args:
        agg: The aggregate artifact.
        rows: ``(T,) bool`` rows to plot (default all; the x axis is the original
            frame index).
        title: Figure title (e.g. the video id).

    Returns:
        PNG bytes of :func:`confidence_size` pixels.
    """
    t_all = agg.frames.num_frames
    pos = np.flatnonzero(np.ones(t_all, bool) if rows is None else rows)
    present = agg.track_ids[pos] >= 0  # (R, P)
    slots = [int(p) for p in np.flatnonzero(present.any(0))] or [0]
    shown = slots[:MAX_STRIPS]
    w, h = confidence_size(len(shown))
    fig = figure(w, h)
    fi = agg.frames.frame_index[pos].astype(np.float64)
    dropped = dropped_rows(agg)[pos]
    lo, hi = (fi[0] - 0.5, fi[-1] + 0.5) if len(fi) else (0.0, 1.0)
    left, width = 150, 980
    ax = px_axes(fig, w, h, left, _TITLE_PX, width, _TOP_PX)
    for p in shown:
        c = np.where(present[:, p], agg.confidence[pos, p], np.nan)
        ax.plot(fi, c, marker="." if len(fi) < 60 else None, lw=1.4,
                color=_TRACK_COLORS[p % len(_TRACK_COLORS)], label=f"C, slot {p}")
    ax.axhline(agg.gamma, color=_rgb(ALERT_COLOR), ls="--", lw=1.2,
               label=f"γ = {agg.gamma:.2f}")
    repaired = dropped & agg.valid[pos]
    for mask, color, label in ((dropped.any(1) & ~repaired.any(1), _rgb(ALERT_COLOR),
                                "dropped: C < γ"),
                               (repaired.any(1), (1.0, 0.6, 0.1), "dropped, refilled by refine"),
                               (~present.any(1), (0.6, 0.6, 0.6), "nobody")):
        for i, (a, b) in enumerate(_runs(mask)):
            ax.axvspan(fi[a] - 0.5, fi[b] + 0.5, color=color, alpha=0.25, lw=0,
                       label=label if i == 0 else None)
    ax.set_xlim(lo, hi)
    ax.set_ylim(0, 1.05)
    ax.set_ylabel("SST-A confidence C")
    ax.grid(alpha=0.3)
    ax.tick_params(labelbottom=False)
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, frameon=False)
    more = f" (slots {', '.join(map(str, slots[MAX_STRIPS:]))} not shown)" \
        if len(slots) > MAX_STRIPS else ""
    fig.suptitle(f"{title}  SST-A confidence and per-joint selection  "
                 f"[{', '.join(agg.experts)}]{more}", fontsize=11, y=1 - 14 / h, va="top")
    names = list(agg.joint_names)
    for i, p in enumerate(shown):
        top = _TITLE_PX + _TOP_PX + _GAP_PX + i * (_STRIP_PX + _STRIP_GAP_PX)
        sx = px_axes(fig, w, h, left, top, width, _STRIP_PX, sharex=ax)
        sx.imshow(selection_strip(agg, p, pos), aspect="auto", interpolation="nearest",
                  extent=(lo, hi, len(names) - 0.5, -0.5))
        sx.set_yticks(range(len(names)))
        sx.set_yticklabels(names, fontsize=max(3.5, min(7.0, 120 / max(len(names), 1))))
        sx.set_ylabel(f"slot {p}", fontsize=9)
        if i == len(shown) - 1:
            sx.set_xlabel("frame (original index)")
        else:
            sx.tick_params(labelbottom=False)
        if i == 0:
            _strip_legend(sx, agg)
    return png_bytes(fig)


def _strip_legend(ax: Any, agg: AggregateArtifact) -> None:
    from matplotlib.patches import Patch

    items = [Patch(color=_rgb(expert_color(m)), label=n) for m, n in enumerate(agg.experts)]
    items.append(Patch(facecolor=_SSTA_FILLED, label="filled by SST-A"))
    if agg.refine is not None:
        items += [Patch(facecolor=_REPAIRED, label="repaired by refine"),
                  Patch(facecolor=_rgb(ALERT_COLOR), label="rejected by refine")]
    items.append(Patch(facecolor=_MISSING, edgecolor="0.5", label="missing"))
    ax.legend(handles=items, loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8,
              frameon=False, title="selected joint", title_fontsize=8)


def sample_rows(candidates: np.ndarray, n: int) -> np.ndarray:
    """Up to ``n`` row positions spread evenly over ``candidates`` (sorted, unique)."""
    c = np.asarray(candidates, np.int64)
    if len(c) <= n:
        return c
    return c[np.unique(np.round(np.linspace(0, len(c) - 1, n)).astype(np.int64))]


def normalized_png(norm: NormalizeArtifact, *, rows: np.ndarray | None = None,
                   title: str = "") -> bytes:
    """A grid of normalized skeletons over time, then center, scale and angle over time.

    Each panel shows the normalized pose of one sampled frame (every valid track; the
    main one black) on the same axes: the origin is the center (cross), the dashed
    circle has radius 1 (RMS scale), y points down as in the image, so a head above
    the center means the rotation put it up.

    Args:
        norm: The normalize artifact.
        rows: ``(T,) bool`` rows to sample from and plot (default all).
        title: Figure title.

    Returns:
        PNG bytes of :data:`NORMALIZED_SIZE` pixels.
    """
    agg = norm.aggregate
    t_all = agg.frames.num_frames
    pos = np.flatnonzero(np.ones(t_all, bool) if rows is None else rows)
    nr, nc = NORMALIZED_PANELS
    valid_pos = pos[agg.valid[pos].any(1)]
    picked = sample_rows(valid_pos if len(valid_pos) else pos, nr * nc)
    w, h = NORMALIZED_SIZE
    fig = figure(w, h)
    kp = agg.keypoints
    sel = kp[picked][agg.valid[picked]] if len(picked) else np.zeros((0, 1, 2))
    lim = float(np.clip(np.nanmax(np.abs(sel)) if np.isfinite(sel).any() else 2.0, 1.5, 5.0))
    lim *= 1.1
    limbs = get_layout(agg.layout).limbs
    panel_h = 205
    for i in range(nr * nc):
        r, c = divmod(i, nc)
        ax = fig.add_axes(((10 + c * (w - 20) / nc + 6) / w, 1 - (50 + (r + 1) * panel_h) / h,
                           ((w - 20) / nc - 12) / w, (panel_h - 30) / h))
        ax.set_xticks([])
        ax.set_yticks([])
        if i >= len(picked):
            ax.set_axis_off()
            continue
        t = int(picked[i])
        _pose_panel(ax, norm, t, limbs, lim)
    fig.suptitle(f"{title}  normalized skeletons: center +, dashed circle = scale 1, head up, "
                 f"subject's left limbs blue, right orange (axes ±{lim:.1f}; the first valid "
                 "track, others grey)", fontsize=11, y=1 - 12 / h, va="top")
    fi = agg.frames.frame_index[pos]
    main = norm.center[pos, 0], norm.scale[pos, 0], norm.angle[pos, 0]
    series = ((("center x", main[0][:, 0]), ("center y", main[0][:, 1])), "center (px)"), \
        ((("scale", main[1]),), "scale (px)"), ((("angle", np.degrees(main[2])),), "angle (°)")
    for j, (curves, label) in enumerate(series):
        ax = fig.add_axes(((70 + j * w / 3) / w, 45 / h, (w / 3 - 110) / w, 190 / h))
        for k, (name, y) in enumerate(curves):
            ax.plot(fi, y, lw=1.2, color=("black", "tab:blue")[k], label=name,
                    marker="." if len(fi) < 60 else None)
        if len(fi):
            ax.set_xlim(fi[0] - 0.5, fi[-1] + 0.5)
        ax.set_xlabel("frame (original index), track slot 0", fontsize=8)
        ax.set_ylabel(label, fontsize=9)
        ax.tick_params(labelsize=8)
        ax.grid(alpha=0.3)
        if len(curves) > 1:
            ax.legend(fontsize=7, frameon=False)
    return png_bytes(fig)


def _pose_panel(ax: Any, norm: NormalizeArtifact, t: int, limbs, lim: float) -> None:
    agg = norm.aggregate
    fi = int(agg.frames.frame_index[t])
    ax.add_patch(_circle())
    ax.axhline(0, color="0.8", lw=0.6)
    ax.axvline(0, color="0.8", lw=0.6)
    drawn = False
    side = _limb_sides(agg.joint_names, limbs)
    for p in np.flatnonzero(agg.valid[t]):
        kp = agg.keypoints[t, p]
        ok = np.isfinite(kp).all(-1)
        main = p == np.flatnonzero(agg.valid[t])[0]
        for (a, b), sd in zip(limbs, side, strict=True):
            if ok[a] and ok[b]:
                col = _SIDE_COLORS[sd] if main else "0.6"
                ax.plot(kp[[a, b], 0], kp[[a, b], 1], color=col, lw=1.3)
        ax.plot(kp[ok, 0], kp[ok, 1], ".", color="black" if main else "0.6", ms=3)
        drawn = True
    ax.plot([0], [0], "+", color=_rgb(ALERT_COLOR), ms=8, mew=1.2)
    ax.set_xlim(-lim, lim)
    ax.set_ylim(lim, -lim)  # y down, as in the image
    ax.set_aspect("equal")
    if drawn:
        ang, sc = float(norm.angle[t, 0]), float(norm.scale[t, 0])
        sub = f"θ={np.degrees(ang):.0f}° s={sc:.0f}px" if np.isfinite(sc) else ""
        ax.set_title(f"frame {fi}  {sub}", fontsize=7.5, pad=2)
    else:
        ax.set_title(f"frame {fi}", fontsize=7.5, pad=2)
        ax.text(0, 0, "not normalized", ha="center", va="center", fontsize=8, color="0.4")


_SIDE_COLORS = {"left": "tab:blue", "right": "tab:orange", "center": "black"}


def _limb_sides(joints: tuple[str, ...], limbs) -> list[str]:
    """``left`` / ``right`` for limbs whose two joints are on that side, else ``center``."""
    out = []
    for a, b in limbs:
        sa, sb = joints[a].split("_")[0], joints[b].split("_")[0]
        out.append(sa if sa == sb and sa in ("left", "right") else "center")
    return out


def _circle() -> Any:
    from matplotlib.patches import Circle

    return Circle((0, 0), 1.0, fill=False, ls="--", lw=0.8, color="0.55")


__all__ = ["DPI", "CONFIDENCE_WIDTH", "MAX_STRIPS", "NORMALIZED_SIZE", "NORMALIZED_PANELS",
           "figure", "png_bytes", "px_axes", "confidence_size", "confidence_png", "selection_strip",
           "sample_rows", "normalized_png"]
