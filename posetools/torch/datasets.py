"""Clip datasets over a posetools output folder, for PyTorch trainers.

* :class:`HeatmapClipDataset` reads clips of cached heatmaps from
  ``OUT/heatmaps/<vid>.h5``.
* :class:`KeypointClipDataset` reads clips of grid keypoints (from the same
  files, or from ``OUT/aggregate|normalize/<vid>.h5`` cropped on the fly with
  the heatmaps settings) to render on the GPU with
  :class:`~posetools.torch.render.GpuHeatmapRenderer`; both routes give the same
  tensors.

Clips follow mmaction2 ``UniformSampleFrames`` (``clip_len``, ``num_clips``,
deterministic ``test_mode``) or fixed sliding windows (``window``/``window_stride``,
padded and masked at the end). Labels and transcripts come from the manifest.

HDF5 and worker processes: files are opened lazily, in the process that reads
them, and never kept open across a fork (the open-file cache is keyed by pid and
dropped when the dataset is pickled for ``spawn`` workers); each file gets a
chunk cache sized to hold a few of its chunks. ``num_workers`` 0..N,
``pin_memory`` and the ``spawn`` start method all work; use
:func:`collate_clips` as the ``collate_fn`` (transcripts vary in length and
person counts may differ between videos).
"""

from __future__ import annotations

import os
from collections import OrderedDict
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

import h5py
import hdf5plugin  # noqa: F401  (registers the zstd filter in every worker)
import numpy as np

from ..config.schema import HeatmapsConfig
from ..errors import ConfigError, MissingBackendError, PosetoolsError, StoreError
from ..heatmaps import CompactCrop, CropBox, compute_compact_crop, compute_crop, joint_mask
from ..io.artifacts.aggregate import AggregateArtifact
from ..io.artifacts.frames import read_rows
from ..io.artifacts.heatmaps import HeatmapsArtifact
from ..io.labels import assign_label_ids, read_label_map
from ..io.manifest import ManifestEntry, load_manifest
from .sampling import fixed_windows, uniform_sample_frames

try:
    import torch
    from torch.utils.data import Dataset
except ImportError as e:  # pragma: no cover - exercised only without torch
    raise MissingBackendError(
        "posetools.torch needs PyTorch: pip install 'posetools[torch]'"
    ) from e

_CACHE_SLOTS = 10007  # prime, as HDF5 recommends for rdcc_nslots


class _ClipDataset(Dataset):
    """Shared machinery: manifest, artifact discovery, sampling, lazy HDF5 handles."""

    stage: str = "heatmaps"

    def __init__(
        self,
        root: str | Path,
        manifest: str | Path | Sequence[ManifestEntry] | None = None,
        *,
        split: str | None = None,
        data_root: str | Path | None = None,
        clip_len: int = 48,
        num_clips: int = 1,
        test_mode: bool = False,
        window: int | None = None,
        window_stride: int | None = None,
        seed: int = 255,
        label_names: Sequence[str] | None = None,
        label_map: str | Path | None = None,
        sorted_labels: bool = False,
        max_open_files: int = 64,
    ) -> None:
        if clip_len < 1 or num_clips < 1:
            raise ConfigError("clip_len, num_clips: must be >= 1")
        if window is not None and window < 1:
            raise ConfigError("window: must be >= 1")
        self.root = Path(root)
        self.clip_len, self.num_clips = int(clip_len), int(num_clips)
        self.test_mode, self.seed = bool(test_mode), int(seed)
        self.window = window
        self.window_stride = window_stride
        self.max_open_files = int(max_open_files)
        folder = self.root / self.stage
        if manifest is None:
            entries = None
            ids = sorted(p.stem for p in folder.glob("*.h5") if not p.name.startswith("."))
        else:
            entries = (load_manifest(manifest, data_root=data_root, check_files=False)
                       if isinstance(manifest, (str, Path)) else list(manifest))
            ids = [e.video_id for e in entries if split is None or e.split == split]
        by_id = {e.video_id: e for e in entries} if entries else {}
        if label_map is not None:
            if label_names is not None:
                raise ConfigError("label_map, label_names: give one of them")
            label_names = read_label_map(label_map)
        lab = assign_label_ids([e.label for e in entries or ()], names=label_names,
                               sort_strings=sorted_labels,
                               videos=[e.video_id for e in entries or ()])
        label_of = dict(zip([e.video_id for e in entries or ()], lab.ids, strict=True))
        self.label_names: list[str] | None = None if lab.names is None else list(lab.names)
        self.label_rule = lab.rule
        self.missing: list[str] = []
        self.empty: list[str] = []
        self.video_ids: list[str] = []
        self.paths: list[Path] = []
        self.labels: list[int] = []
        self.transcripts: list[tuple[str, ...]] = []
        self._frames: list[int] = []
        self._meta: list[dict[str, Any]] = []
        for vid in ids:
            path = folder / f"{vid}.h5"
            if not path.is_file():
                self.missing.append(vid)
                continue
            meta = self._scan(path)
            if meta["frames"] == 0:
                self.empty.append(vid)
                continue
            entry = by_id.get(vid)
            self.video_ids.append(vid)
            self.paths.append(path)
            self._frames.append(meta["frames"])
            self._meta.append(meta)
            self.labels.append(label_of.get(vid, -1))
            self.transcripts.append(tuple(entry.transcript or ()) if entry else ())
        if not self.video_ids:
            raise PosetoolsError(
                f"no usable {self.stage} artifacts under {folder}"
                + (f" for split {split!r}" if split else "")
                + (f" ({len(self.missing)} listed video(s) have none)" if self.missing else ""))
        if window is None:
            self._items = [(v, 0) for v in range(len(self.video_ids))]
        else:
            self._items = [(v, int(s)) for v in range(len(self.video_ids))
                           for s in fixed_windows(self._frames[v], window, window_stride)]
        self._files: OrderedDict[int, h5py.File] = OrderedDict()
        self._pid: int | None = None
        self._gen: np.random.Generator | None = None
        self._gen_seed: int | None = None

    # ----------------------------------------------------------------- files
    def _scan(self, path: Path) -> dict[str, Any]:
        """Read what ``__init__`` needs (then close: nothing stays open before a fork)."""
        try:
            with h5py.File(path, "r") as fh:
                return self._scan_file(fh)
        except (OSError, KeyError) as e:
            raise StoreError(f"{path}: cannot read artifact: {e}") from None

    def _scan_file(self, fh: h5py.File) -> dict[str, Any]:
        return {"frames": int(fh["frame_index"].shape[0]), "cache_bytes": 1 << 20}

    def _file(self, v: int) -> h5py.File:
        pid = os.getpid()
        if self._pid != pid:  # first use in this process (or inherited through fork)
            self._files = OrderedDict()
            self._pid = pid
        fh = self._files.get(v)
        if fh is None:
            while len(self._files) >= self.max_open_files:
                self._files.popitem(last=False)[1].close()
            fh = h5py.File(self.paths[v], "r", rdcc_nbytes=self._meta[v]["cache_bytes"],
                           rdcc_nslots=_CACHE_SLOTS, rdcc_w0=1.0)
            self._files[v] = fh
        else:
            self._files.move_to_end(v)
        return fh

    def close(self) -> None:
        """Close the HDF5 files this process opened."""
        if self._pid == os.getpid():
            for fh in self._files.values():
                fh.close()
        self._files = OrderedDict()

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state["_files"] = OrderedDict()
        state["_pid"] = None
        return state

    # -------------------------------------------------------------- sampling
    def _rng(self) -> np.random.Generator:
        seed = int(torch.initial_seed())  # differs per worker and per epoch in workers
        if self._gen is None or self._gen_seed != seed:
            self._gen = np.random.default_rng(seed)
            self._gen_seed = seed
        return self._gen

    def positions(self, index: int) -> tuple[np.ndarray, np.ndarray]:
        """Frame positions and mask of item ``index``: ``(num_clips, clip_len)`` each.

        Positions index the artifact's frame axis; masked (padding) entries
        point at the last frame and are zeroed in the returned tensors.
        """
        v, start = self._items[index]
        n_t = self._frames[v]
        if self.window is not None:
            pos = start + np.arange(self.window, dtype=np.int64)
            mask = pos < n_t
            return np.minimum(pos, n_t - 1)[None], mask[None]
        pos = uniform_sample_frames(n_t, self.clip_len, num_clips=self.num_clips,
                                    test_mode=self.test_mode, rng=self._rng(), seed=self.seed)
        return pos, np.ones(pos.shape, dtype=bool)

    def __len__(self) -> int:
        return len(self._items)

    def _base_item(self, index: int, fh: h5py.File, pos: np.ndarray,
                   mask: np.ndarray) -> dict[str, Any]:
        v = self._items[index][0]
        fi = read_rows(fh["frame_index"], pos.ravel()).reshape(pos.shape)
        return {
            "video_id": self.video_ids[v],
            "label": torch.tensor(self.labels[v], dtype=torch.int64),
            "transcript": self.transcripts[v],
            "frame_index": torch.from_numpy(np.where(mask, fi, -1).astype(np.int64)),
            "mask": torch.from_numpy(mask),
        }


def _zero_masked(arr: np.ndarray, mask: np.ndarray, fill) -> np.ndarray:
    if mask.all():
        return arr
    arr = arr.copy()
    arr[~mask] = fill
    return arr


class HeatmapClipDataset(_ClipDataset):
    """Clips of cached heatmaps from ``OUT/heatmaps/<vid>.h5``.

    Args:
        root: The output folder ``OUT``.
        manifest: Manifest path (or entries) for split, labels and transcripts;
            ``None`` uses every artifact, without labels.
        split: Keep only this manifest split.
        data_root: Passed to :func:`posetools.io.manifest.load_manifest`.
        clip_len: Frames per clip (``UniformSampleFrames``).
        num_clips: Clips per item.
        test_mode: Deterministic sampling.
        window: Use sliding windows of this many frames instead (one item each).
        window_stride: Step between windows (default ``window``).
        seed: Test-mode seed.
        label_names: Class names in id order (a class list in code).
        label_map: Label map file (one class name per line, line number = id);
            instead of ``label_names``. String labels need one of the two
            (:func:`posetools.io.labels.assign_label_ids`); integer labels are the ids.
        sorted_labels: Without a class list, number string labels in sorted
            string order (opt-in; :attr:`label_rule` then says so).
        max_open_files: Open HDF5 files kept per process.
        dtype: Heatmap tensor dtype returned (``float32`` or ``float16``).

    Items are dicts: ``heatmaps (num_clips, clip_len, C, S, S)``, ``frame_index
    (num_clips, clip_len) int64`` (original frame numbers, -1 for padding),
    ``mask (num_clips, clip_len) bool``, ``label`` (int64, -1 if none),
    ``transcript`` (tuple of str), ``video_id``. Window items have ``num_clips = 1``
    and ``clip_len = window``.

    Only videos whose artifact exists are used; the others are listed in
    :attr:`missing` (and zero-frame ones in :attr:`empty`).
    """

    stage = "heatmaps"

    def __init__(self, root, manifest=None, *, dtype: Literal["float32", "float16"] = "float32",
                 **kwargs) -> None:
        if dtype not in ("float32", "float16"):
            raise ConfigError(f"dtype: must be float32 or float16, got {dtype!r}")
        self.dtype = dtype
        super().__init__(root, manifest, **kwargs)
        first = self._meta[0]
        self.num_channels, self.size = first["channels"], first["size"]
        self.channel_names = first["channel_names"]

    def _scan_file(self, fh: h5py.File) -> dict[str, Any]:
        h = HeatmapsArtifact.read(fh)
        ds = fh["heatmaps"]
        chunk_bytes = int(np.prod(ds.chunks or ds.shape)) * ds.dtype.itemsize
        n_t, n_c, s, _ = h.shape
        return {"frames": n_t, "channels": n_c, "size": s,
                "channel_names": list(h.channel_names),
                "cache_bytes": max(1 << 20, 4 * chunk_bytes)}

    def __getitem__(self, index: int) -> dict[str, Any]:
        """One item (see the class docstring)."""
        v = self._items[index][0]
        fh = self._file(v)
        pos, mask = self.positions(index)
        heat = HeatmapsArtifact.rows(fh, pos.ravel(), maps=True)["heatmaps"]
        heat = heat.reshape(*pos.shape, *heat.shape[1:])
        heat = _zero_masked(heat, mask, 0).astype(self.dtype, copy=False)
        item = self._base_item(index, fh, pos, mask)
        item["heatmaps"] = torch.from_numpy(np.ascontiguousarray(heat))
        return item


class KeypointClipDataset(_ClipDataset):
    """Clips of grid keypoints, to render with :class:`~posetools.torch.render.GpuHeatmapRenderer`.

    Args:
        root: The output folder ``OUT``.
        manifest: As :class:`HeatmapClipDataset`.
        source: ``"heatmaps"`` reads the grid keypoints stored with the cache
            (identical to what was rendered); ``"aggregate"`` / ``"normalize"``
            read those stages' keypoints and crop them with ``config`` exactly as
            the heatmaps stage would (normalized coordinates have no frame size:
            a too-small box grows to ``min_crop_size``).
        config: A :class:`~posetools.config.schema.HeatmapsConfig` (for
            ``size``, ``style``, ``padding``, ``square``, ``min_crop_size``,
            ``min_score``); default settings when ``None``. Ignored for
            ``source="heatmaps"``. ``style: mmaction2`` crops with
            :func:`~posetools.heatmaps.compute_compact_crop` (needs frame pixels:
            ``source="aggregate"``).
        crop: ``"video"``: one crop box per video (what the heatmaps stage caches);
            ``"clip"``: a box per item over its sampled frames, as mmaction2's
            ``PoseCompact`` does after ``UniformSampleFrames`` (``source="aggregate"``).
        **kwargs: As :class:`HeatmapClipDataset` (``split``, ``clip_len``...).

    Items: ``keypoints (num_clips, clip_len, P, K, 2) float32`` (NaN missing),
    ``scores (num_clips, clip_len, P, K)``, ``valid (num_clips, clip_len, P) bool``,
    plus ``frame_index``, ``mask``, ``label``, ``transcript``, ``video_id``.
    """

    def __init__(self, root, manifest=None, *,
                 source: Literal["heatmaps", "aggregate", "normalize"] = "heatmaps",
                 config=None, crop: Literal["video", "clip"] = "video", **kwargs) -> None:
        if source not in ("heatmaps", "aggregate", "normalize"):
            raise ConfigError(f"source: must be heatmaps, aggregate or normalize, got {source!r}")
        if crop not in ("video", "clip"):
            raise ConfigError(f"crop: must be video or clip, got {crop!r}")
        if config is None:
            config = HeatmapsConfig()
        if source == "normalize" and config.style == "mmaction2":
            raise ConfigError("style mmaction2 crops frame pixels: use source aggregate (or "
                              "heatmaps); normalized coordinates have no frame")
        if crop == "clip" and source != "aggregate":
            raise ConfigError("crop clip: needs source aggregate")
        self.stage = source
        self.config = config
        self.crop = crop
        super().__init__(root, manifest, **kwargs)
        self.layout_name = self._meta[0]["layout"]
        self.size = self._meta[0]["size"]

    def _scan_file(self, fh: h5py.File) -> dict[str, Any]:
        if self.stage == "heatmaps":
            h = HeatmapsArtifact.read(fh)
            return {"frames": h.shape[0], "cache_bytes": 1 << 20, "layout": h.layout,
                    "size": h.size}
        a = AggregateArtifact.read(fh)  # also reads the aggregate part of normalize files
        frame = (a.frames.width, a.frames.height) if self.stage == "aggregate" else None
        return {"frames": a.frames.num_frames, "cache_bytes": 1 << 20, "layout": a.layout,
                "size": self.config.size, "frame_size": frame,
                "crop": self._crop(a.keypoints, a.scores, a.valid, frame)}

    def _crop(self, kp, sc, valid, frame) -> CompactCrop | CropBox:
        cfg = self.config
        if cfg.style == "mmaction2":
            return compute_compact_crop(kp, sc, valid, frame_size=frame, size=cfg.size,
                                        padding=cfg.padding, square=cfg.square,
                                        min_size=cfg.min_crop_size)
        return compute_crop(kp, sc, valid, frame_size=frame, padding=cfg.padding,
                            square=cfg.square, min_size=cfg.min_crop_size,
                            min_score=cfg.min_score)

    def _to_grid(self, v: int, kp, sc, valid) -> np.ndarray:
        """Crop ``(N, P, K, 2)`` rows onto the grid; NaN where a joint is not rendered."""
        cfg = self.config
        crop = (self._meta[v]["crop"] if self.crop == "video" else
                self._crop(kp, sc, valid, self._meta[v]["frame_size"]))
        if isinstance(crop, CompactCrop):
            grid = crop.to_grid(kp)
            drawn = joint_mask(kp, sc, valid, min_score=0.0) & ~(sc < np.float32(cfg.min_score))
        else:
            grid = crop.to_grid(kp, cfg.size)
            drawn = joint_mask(kp, sc, valid, min_score=cfg.min_score)
        grid[~drawn] = np.nan
        return grid

    def __getitem__(self, index: int) -> dict[str, Any]:
        """One item (see the class docstring)."""
        v = self._items[index][0]
        fh = self._file(v)
        pos, mask = self.positions(index)
        reader = HeatmapsArtifact if self.stage == "heatmaps" else AggregateArtifact
        rows = reader.rows(fh, pos.ravel())
        kp = rows["keypoints"].astype(np.float32)
        sc = rows["scores"].astype(np.float32)
        valid = rows["valid"].astype(bool)
        if self.stage != "heatmaps":
            kp = self._to_grid(v, kp, sc, valid)
        shape = pos.shape
        kp = _zero_masked(kp.reshape(*shape, *kp.shape[1:]), mask, np.nan)
        sc = _zero_masked(sc.reshape(*shape, *sc.shape[1:]), mask, 0)
        valid = _zero_masked(valid.reshape(*shape, *valid.shape[1:]), mask, False)
        item = self._base_item(index, fh, pos, mask)
        item["keypoints"] = torch.from_numpy(np.ascontiguousarray(kp))
        item["scores"] = torch.from_numpy(np.ascontiguousarray(sc))
        item["valid"] = torch.from_numpy(np.ascontiguousarray(valid))
        return item


_PAD = {"keypoints": float("nan"), "scores": 0.0, "valid": False}


def collate_clips(batch: list[dict[str, Any]]) -> dict[str, Any]:
    """``collate_fn`` for the clip datasets.

    Tensors are stacked (the person axis of ``keypoints``/``scores``/``valid`` is
    padded to the largest in the batch with NaN / 0 / False); ``video_id`` and
    ``transcript`` become lists.
    """
    out: dict[str, Any] = {}
    for key in batch[0]:
        vals = [b[key] for b in batch]
        if isinstance(vals[0], torch.Tensor):
            if key in _PAD:
                axis = 2  # (num_clips, clip_len, P, ...)
                n_p = max(v.shape[axis] for v in vals)
                vals = [_pad_axis(v, axis, n_p, _PAD[key]) for v in vals]
            out[key] = torch.stack(vals)
        else:
            out[key] = list(vals)
    return out


def _pad_axis(t: torch.Tensor, axis: int, n: int, fill) -> torch.Tensor:
    if t.shape[axis] == n:
        return t
    shape = list(t.shape)
    shape[axis] = n - t.shape[axis]
    return torch.cat([t, torch.full(shape, fill, dtype=t.dtype)], dim=axis)
