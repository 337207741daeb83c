"""The heatmap montage: channels x sampled frames of a heatmap cache, and its crop box.

:func:`tile_maps` lays ``(F, C, S, S)`` maps out as one array (frames down,
channels across, wrapped into blocks of at most :data:`MAX_COLUMNS` channels);
:func:`crop_frame` draws the heatmap crop box and the rendered keypoints (mapped
back to source pixels) on a source frame, padded so that a box reaching outside the
frame is seen whole; :func:`montage_png` puts both in one figure with the channel
names (joints, then ``a-b`` limbs) and the frame indices.
"""

from __future__ import annotations

import math

import numpy as np

from ..heatmaps import CropBox
from ..io.artifacts.heatmaps import HeatmapsArtifact
from ..skeletons import get_layout
from . import draw
from .plots import figure, png_bytes, px_axes

MAX_COLUMNS = 20
"""Most channels side by side; more are wrapped into further blocks."""

MONTAGE_WIDTH = 1600
_TOP_PX = 440
_BLOCK_EXTRA_PX = 120
_CROP_COLOR: draw.Color = (255, 210, 0)
_PAD_COLOR = (90, 90, 90)


def blocks(num_channels: int) -> list[range]:
    """Channel ranges of the montage's blocks: ``ceil(C / MAX_COLUMNS)`` even blocks."""
    n = max(1, math.ceil(num_channels / MAX_COLUMNS))
    per = math.ceil(num_channels / n) if num_channels else 1
    return [range(i, min(i + per, num_channels)) for i in range(0, max(num_channels, 1), per)]


def _layout(num_frames: int, num_channels: int) -> tuple[list[range], int, list[int]]:
    bl = blocks(num_channels + 1)  # tile 0 of each row: the max over the channels
    cols = max(len(b) for b in bl)
    tile = (MONTAGE_WIDTH - 260) / max(cols, 1)
    heights = [int(round(num_frames * tile)) + _BLOCK_EXTRA_PX for _ in bl]
    return bl, cols, heights


def montage_size(num_frames: int, num_channels: int) -> tuple[int, int]:
    """``(width, height)`` in pixels of :func:`montage_png` for ``F`` frames, ``C`` channels.

    The montage has ``C + 1`` tiles per frame: the maximum over the channels first.
    """
    _, _, heights = _layout(num_frames, num_channels)
    return MONTAGE_WIDTH, _TOP_PX + sum(heights)


def tile_maps(maps: np.ndarray, channels: range | None = None, gap: int = 1) -> np.ndarray:
    """``(F, C, S, S)`` maps as one ``(F*S + (F-1)*gap, c*S + (c-1)*gap) float32`` array.

    Row block ``f`` is frame ``f``, column block ``j`` is channel ``channels[j]``;
    the ``gap`` pixels between tiles are NaN (drawn as background).
    """
    m = np.asarray(maps, np.float32)
    f, c_all, s, _ = m.shape
    ch = range(c_all) if channels is None else channels
    out = np.full((f * s + (f - 1) * gap, len(ch) * s + (len(ch) - 1) * gap), np.nan,
                  np.float32)
    for i in range(f):
        for j, c in enumerate(ch):
            y, x = i * (s + gap), j * (s + gap)
            out[y:y + s, x:x + s] = m[i, c]
    return out


def crop_frame(image: np.ndarray, art: HeatmapsArtifact, row: int) -> np.ndarray:
    """A source frame with the heatmap crop box and row ``row``'s rendered keypoints.

    The frame is padded (grey) to the union of itself and the crop box, so a box
    reaching outside the frame is drawn whole. Keypoints are the cache's grid
    keypoints mapped back to source pixels (what was rendered), drawn as a skeleton.

    Args:
        image: ``(H, W, 3) uint8`` RGB source frame of row ``row``.
        art: The heatmaps artifact.
        row: Row of ``art``.

    Returns:
        ``(H', W', 3) uint8`` the padded, drawn frame.
    """
    box = CropBox.from_array(art.crop_box)
    h, w = image.shape[:2]
    x0, y0 = min(0, int(math.floor(box.x0))), min(0, int(math.floor(box.y0)))
    x1, y1 = max(w, int(math.ceil(box.x1))), max(h, int(math.ceil(box.y1)))
    canvas = np.empty((y1 - y0, x1 - x0, 3), np.uint8)
    canvas[...] = _PAD_COLOR
    canvas[-y0:-y0 + h, -x0:-x0 + w] = image
    off = np.array([-x0, -y0], np.float64)
    s = draw.drawing_scale(*canvas.shape[:2])
    limbs = get_layout(art.layout).limbs
    src = box.to_source(art.keypoints[row], art.size) + off  # (P, K, 2)
    for p in np.flatnonzero(art.valid[row]):
        draw.draw_skeleton(canvas, src[p], art.scores[row, p], limbs, draw.AGGREGATE_COLOR,
                           thickness=max(2.0, 6 * s), radius=max(2.0, 7 * s),
                           outline=draw.OUTLINE_COLOR, copy=False)
    draw.draw_box(canvas, box.as_array() + np.tile(off, 2), _CROP_COLOR,
                  thickness=max(2.0, 6 * s), copy=False)
    return canvas


def montage_png(art: HeatmapsArtifact, maps: np.ndarray, rows: np.ndarray, *,
                frame_image: np.ndarray | None = None, frame_pos: int | None = None,
                title: str = "") -> bytes:
    """One figure: the crop box on a source frame, its heatmaps, channels x sampled frames.

    Args:
        art: The heatmaps artifact (channel names, crop, settings).
        maps: ``(F, C, S, S)`` the maps of rows ``rows``.
        rows: ``(F,)`` their rows in ``art``.
        frame_image: The :func:`crop_frame` image of row ``rows[frame_pos]``, or ``None``.
        frame_pos: Which sample the top of the figure enlarges (default the middle one).
        title: Figure title.

    Returns:
        PNG bytes of :func:`montage_size` pixels.
    """
    from matplotlib.colors import PowerNorm

    f, c = maps.shape[:2]
    bl, cols, heights = _layout(f, c)
    w, h = montage_size(f, c)
    fig = figure(w, h)
    fig.suptitle(f"{title}  heatmaps: {c} channels x {f} sampled frames (first tile: the "
                 "maximum over the channels)", fontsize=11, x=20 / w, y=1 - 10 / h, ha="left",
                 va="top")
    mid = len(rows) // 2 if frame_pos is None else frame_pos
    vmax = max(1.0, float(np.nanmax(maps)) if maps.size else 1.0)
    norm = PowerNorm(0.5, vmin=0.0, vmax=vmax)
    img_ax = px_axes(fig, w, h, 20, 60, 700, _TOP_PX - 100)
    img_ax.set_axis_off()
    if frame_image is not None and f:
        img_ax.imshow(frame_image, interpolation="antialiased")
        img_ax.set_title("crop box (yellow) and the rendered keypoints, frame "
                         f"{int(art.frame_index[rows[mid]])}", fontsize=9)
    big = px_axes(fig, w, h, 760, 60, _TOP_PX - 100, _TOP_PX - 100)
    big.set_xticks([])
    big.set_yticks([])
    if f and c:
        big.imshow(maps[mid].max(0), cmap="magma", norm=norm, interpolation="nearest")
        big.set_title(f"max over the channels, frame {int(art.frame_index[rows[mid]])} "
                      f"({art.size}x{art.size} grid)", fontsize=9)
    b = art.crop_box
    info = [f"layout {art.layout}", f"grid {art.size}x{art.size}, sigma {art.sigma:g}",
            f"{c} channels: {art.keypoints.shape[2] if art.render_joints else 0} joints"
            f" + {len(art.limbs) if art.render_limbs else 0} limbs",
            f"crop x {b[0]:.0f}..{b[2]:.0f}", f"     y {b[1]:.0f}..{b[3]:.0f} (source px)",
            f"frame {art.width}x{art.height}", f"padding {art.padding:g}, square {art.square}",
            f"use_score {art.use_score}", f"stored {art.dtype}",
            f"max in the samples {float(np.nanmax(maps)) if maps.size else 0:.3f}",
            "frames " + ", ".join(str(int(art.frame_index[r])) for r in rows)]
    fig.text(1150 / w, 1 - 70 / h, "\n".join(info), fontsize=9.5, va="top", family="monospace")
    tiles = np.concatenate([maps.max(1, keepdims=True), maps], 1) if c else maps
    names = ["max", *art.channel_names]
    y_top = h - _TOP_PX
    image = None
    for block, bh in zip(bl, heights, strict=True):
        ax_h = bh - _BLOCK_EXTRA_PX
        ax = fig.add_axes((130 / w, (y_top - bh + 15) / h, (cols * (w - 260) / cols) / w
                           * len(block) / cols, ax_h / h))
        s = maps.shape[-1]
        image = ax.imshow(np.ma.masked_invalid(tile_maps(tiles, block)), cmap="magma", norm=norm,
                          interpolation="nearest")
        ax.set_xticks([j * (s + 1) + (s - 1) / 2 for j in range(len(block))])
        ax.set_xticklabels([names[k] for k in block], rotation=55, ha="left",
                           fontsize=7.5, rotation_mode="anchor")
        ax.xaxis.tick_top()
        ax.set_yticks([i * (s + 1) + (s - 1) / 2 for i in range(f)])
        ax.set_yticklabels([f"frame {int(art.frame_index[r])}" for r in rows], fontsize=8)
        ax.set_facecolor("white")
        for side in ax.spines.values():
            side.set_visible(False)
        y_top -= bh
    if image is not None:
        cax = fig.add_axes(((w - 110) / w, (h - _TOP_PX - heights[0] + 15) / h, 12 / w,
                            (heights[0] - _BLOCK_EXTRA_PX) / h))
        bar = fig.colorbar(image, cax=cax)
        bar.ax.tick_params(labelsize=8)
        bar.set_label("value (square-root color scale)", fontsize=8)
    return png_bytes(fig)


__all__ = ["MAX_COLUMNS", "MONTAGE_WIDTH", "blocks", "montage_size", "tile_maps", "crop_frame",
           "montage_png"]
