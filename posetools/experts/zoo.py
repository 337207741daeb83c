"""Model zoo of the OpenMMLab backend and the local checkpoint cache.

This module knows *where* models come from; it never imports ``mm*`` packages
(only :mod:`posetools.experts.backends.mm` does), so the table, the cache and the
checksum logic work and are testable without the OpenMMLab stack.

* :data:`ZOO` maps a short model name (``rtmpose-m``, ``hrnet-w32``, ``rtmdet-tiny``...)
  to the config bundled inside the installed ``mmpose`` / ``mmdet`` package and to the
  released checkpoint URL taken from that package's metafiles (the two RTMDet person
  detectors come from mmpose's own default-detector table and its RTMPose project page).
* Checkpoints are verified against the hash prefix OpenMMLab puts in its file names
  (the first 8 hex digits of the file's sha256) or a full sha256 when the table has one.
  A file that fails its checksum is refused, never loaded.
* The cache lives in ``$POSETOOLS_HOME/checkpoints`` (default ``~/.cache/posetools``).
  Downloads go to a temporary file in that folder, are verified, then renamed into
  place, so a cache entry is either complete and verified or absent.
* Without network (or with ``POSETOOLS_OFFLINE=1``) a missing checkpoint raises a
  :class:`~posetools.errors.CheckpointError` naming the URL and the exact file path
  a user can fill by hand.
* ``checkpoint: random-init`` (:data:`RANDOM_INIT`) builds a model with seeded random
  weights. It exists **for tests and speed benchmarks only** and must be asked for
  explicitly; posetools never falls back to it.
"""

from __future__ import annotations

import importlib.util
import os
import re
import tempfile
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from ..errors import CheckpointError, MissingBackendError
from .install import MM_INSTALL_HINT
from .weights import weights_sha256

RANDOM_INIT = "random-init"
"""Checkpoint value that asks for seeded random weights (tests / benchmarks only)."""

_DL = "https://download.openmmlab.com"


@dataclass(frozen=True)
class ZooEntry:
    """One model of the zoo.

    Attributes:
        name: Short name used in pipeline YAML (``model: rtmpose-m``).
        kind: ``detector`` or ``expert``.
        package: Installed package that bundles the config (``mmpose`` or ``mmdet``).
        config: Config path relative to the package's ``.mim`` folder.
        url: Released checkpoint URL.
        hash_prefix: Leading hex digits of the checkpoint's sha256, as in the
            OpenMMLab file name; ``None`` where the file name carries none.
        sha256: Full sha256 when known (takes precedence over ``hash_prefix``).
        layout: Keypoint layout name of an expert (``coco17``, ``coco_wholebody133``).
    """

    name: str
    kind: Literal["detector", "expert"]
    package: Literal["mmpose", "mmdet"]
    config: str
    url: str
    hash_prefix: str | None
    sha256: str | None = None
    layout: str | None = None

    @property
    def filename(self) -> str:
        """File name of the checkpoint in the cache (the URL's last component)."""
        return self.url.rsplit("/", 1)[-1]


def _det(name: str, package: str, config: str, url: str, prefix: str | None) -> ZooEntry:
    return ZooEntry(name, "detector", package, config, url, prefix)  # type: ignore[arg-type]


def _pose(name: str, config: str, url: str, prefix: str | None, layout: str) -> ZooEntry:
    return ZooEntry(name, "expert", "mmpose", config, url, prefix, layout=layout)


_BODY = "configs/body_2d_keypoint"
_WB = "configs/wholebody_2d_keypoint"
_RTMV1 = f"{_DL}/mmpose/v1/projects/rtmposev1"
_HM = f"{_DL}/mmpose/v1/body_2d_keypoint/topdown_heatmap/coco"

_ENTRIES = (
    # --- person detectors -------------------------------------------------------------
    _det("rtmdet-nano", "mmpose", "demo/mmdetection_cfg/rtmdet_nano_320-8xb32_coco-person.py",
         f"{_DL}/mmpose/v1/projects/rtmpose/rtmdet_nano_8xb32-100e_coco-obj365-person-05d8511e.pth",
         "05d8511e"),
    _det("rtmdet-tiny", "mmdet", "configs/rtmdet/rtmdet_tiny_8xb32-300e_coco.py",
         f"{_DL}/mmdetection/v3.0/rtmdet/rtmdet_tiny_8xb32-300e_coco/"
         "rtmdet_tiny_8xb32-300e_coco_20220902_112414-78e30dcc.pth", "78e30dcc"),
    _det("rtmdet-m", "mmpose", "demo/mmdetection_cfg/rtmdet_m_640-8xb32_coco-person.py",
         f"{_RTMV1}/rtmdet_m_8xb32-100e_coco-obj365-person-235e8209.pth", "235e8209"),
    # mmaction2's default person detector for skeleton extraction.
    _det("faster-rcnn-r50", "mmdet", "configs/faster_rcnn/faster-rcnn_r50_fpn_2x_coco.py",
         f"{_DL}/mmdetection/v2.0/faster_rcnn/faster_rcnn_r50_fpn_2x_coco/"
         "faster_rcnn_r50_fpn_2x_coco_bbox_mAP-0.384_20200504_210434-a5d8aa15.pth", "a5d8aa15"),
    # --- RTMPose Body-17 (Body8-trained, COCO-17 output) --------------------------------
    *(
        _pose(f"rtmpose-{s}", f"{_BODY}/rtmpose/body8/rtmpose-{s}_8xb256-420e_body8-256x192.py",
              f"{_RTMV1}/rtmpose-{s}_simcc-body7_pt-body7_420e-256x192-{h}_20230504.pth", h,
              "coco17")
        for s, h in (("t", "026a1439"), ("s", "acd4a1ef"), ("m", "e48f03d0"), ("l", "4dba18fc"))
    ),
    *(
        _pose(f"rtmpose-{s}-384x288",
              f"{_BODY}/rtmpose/body8/rtmpose-{s}_8xb256-420e_body8-384x288.py",
              f"{_RTMV1}/rtmpose-{s}_simcc-body7_pt-body7_420e-384x288-{h}_20230504.pth", h,
              "coco17")
        for s, h in (("m", "65e718c4"), ("l", "3f5a1437"))
    ),
    # --- WholeBody-133 -----------------------------------------------------------------
    _pose("rtmpose-m-wholebody",
          f"{_WB}/rtmpose/coco-wholebody/rtmpose-m_8xb64-270e_coco-wholebody-256x192.py",
          f"{_RTMV1}/rtmpose-m_simcc-coco-wholebody_pt-aic-coco_270e-256x192-cd5e845c_20230123.pth",
          "cd5e845c", "coco_wholebody133"),
    _pose("rtmpose-l-wholebody",
          f"{_WB}/rtmpose/coco-wholebody/rtmpose-l_8xb64-270e_coco-wholebody-256x192.py",
          f"{_RTMV1}/rtmpose-l_simcc-coco-wholebody_pt-aic-coco_270e-256x192-6f206314_20230124.pth",
          "6f206314", "coco_wholebody133"),
    _pose("rtmpose-l-wholebody-384x288",
          f"{_WB}/rtmpose/coco-wholebody/rtmpose-l_8xb32-270e_coco-wholebody-384x288.py",
          f"{_RTMV1}/rtmpose-l_simcc-coco-wholebody_pt-aic-coco_270e-384x288-eaeb96c8_20230125.pth",
          "eaeb96c8", "coco_wholebody133"),
    # RTMW-m / -l 256x192 release files carry no hash in their names.
    _pose("rtmw-m", f"{_WB}/rtmpose/cocktail14/rtmw-m_8xb1024-270e_cocktail14-256x192.py",
          f"{_DL}/mmpose/v1/projects/rtmw/rtmw-dw-l-m_simcc-cocktail14_270e-256x192-20231122.pth",
          None, "coco_wholebody133"),
    _pose("rtmw-l", f"{_WB}/rtmpose/cocktail14/rtmw-l_8xb1024-270e_cocktail14-256x192.py",
          f"{_DL}/mmpose/v1/projects/rtmw/rtmw-dw-x-l_simcc-cocktail14_270e-256x192-20231122.pth",
          None, "coco_wholebody133"),
    _pose("rtmw-x", f"{_WB}/rtmpose/cocktail14/rtmw-x_8xb704-270e_cocktail14-256x192.py",
          f"{_DL}/mmpose/v1/projects/rtmw/"
          "rtmw-x_simcc-cocktail14_pt-ucoco_270e-256x192-13a2546d_20231208.pth",
          "13a2546d", "coco_wholebody133"),
    _pose("rtmw-l-384x288", f"{_WB}/rtmpose/cocktail14/rtmw-l_8xb320-270e_cocktail14-384x288.py",
          f"{_DL}/mmpose/v1/projects/rtmw/rtmw-dw-x-l_simcc-cocktail14_270e-384x288-20231122.pth",
          None, "coco_wholebody133"),
    _pose("rtmw-x-384x288", f"{_WB}/rtmpose/cocktail14/rtmw-x_8xb320-270e_cocktail14-384x288.py",
          f"{_DL}/mmpose/v1/projects/rtmw/"
          "rtmw-x_simcc-cocktail14_pt-ucoco_270e-384x288-f840f204_20231122.pth",
          "f840f204", "coco_wholebody133"),
    # --- HRNet (heatmap, COCO-17) --------------------------------------------------------
    _pose("hrnet-w32", f"{_BODY}/topdown_heatmap/coco/td-hm_hrnet-w32_8xb64-210e_coco-256x192.py",
          f"{_HM}/td-hm_hrnet-w32_8xb64-210e_coco-256x192-81c58e40_20220909.pth", "81c58e40",
          "coco17"),
    _pose("hrnet-w32-384x288",
          f"{_BODY}/topdown_heatmap/coco/td-hm_hrnet-w32_8xb64-210e_coco-384x288.py",
          f"{_HM}/td-hm_hrnet-w32_8xb64-210e_coco-384x288-ca5956af_20220909.pth", "ca5956af",
          "coco17"),
    _pose("hrnet-w48", f"{_BODY}/topdown_heatmap/coco/td-hm_hrnet-w48_8xb32-210e_coco-256x192.py",
          f"{_HM}/td-hm_hrnet-w48_8xb32-210e_coco-256x192-0e67c616_20220913.pth", "0e67c616",
          "coco17"),
    _pose("hrnet-w48-384x288",
          f"{_BODY}/topdown_heatmap/coco/td-hm_hrnet-w48_8xb32-210e_coco-384x288.py",
          f"{_HM}/td-hm_hrnet-w48_8xb32-210e_coco-384x288-c161b7de_20220915.pth", "c161b7de",
          "coco17"),
    # --- RTMO one-stage (Body7-trained, COCO-17 output) ----------------------------------
    *(
        _pose(f"rtmo-{s}", f"{_BODY}/rtmo/body7/rtmo-{s}_{b}-600e_body7-640x640.py",
              f"{_DL}/mmpose/v1/projects/rtmo/rtmo-{s}_{b}-600e_body7-640x640-{h}_20231211.pth",
              h, "coco17")
        for s, b, h in (("s", "8xb32", "dac2bf74"), ("m", "16xb16", "39e78cc4"),
                        ("l", "16xb16", "b37118ce"))
    ),
)

ZOO: dict[str, ZooEntry] = {e.name: e for e in _ENTRIES}
"""Short model name -> :class:`ZooEntry`."""


def posetools_home() -> Path:
    """Root of posetools' local data: ``$POSETOOLS_HOME`` or ``~/.cache/posetools``."""
    env = os.environ.get("POSETOOLS_HOME")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "posetools"


def checkpoint_dir() -> Path:
    """Folder of cached checkpoints (``<home>/checkpoints``)."""
    return posetools_home() / "checkpoints"


def package_root(package: str) -> Path:
    """Folder with the bundled configs of an installed OpenMMLab package (its ``.mim``).

    Finds the package without importing it.

    Raises:
        MissingBackendError: The package is not installed.
    """
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise MissingBackendError(f"{package} not found; {MM_INSTALL_HINT}")
    return Path(next(iter(spec.submodule_search_locations))) / ".mim"


def resolve_config(model: str, kind: Literal["detector", "expert"]) -> tuple[Path, ZooEntry | None]:
    """Turn a short model name or a config path into a config file.

    Args:
        model: A :data:`ZOO` name or a path to an OpenMMLab ``.py`` config.
        kind: What the caller builds; a zoo name of the other kind is an error.

    Returns:
        ``(config_path, entry)``; ``entry`` is ``None`` for a config path.

    Raises:
        CheckpointError: Unknown name, or the config file does not exist.
        MissingBackendError: The package bundling the config is not installed.
    """
    entry = ZOO.get(model)
    if entry is not None:
        if entry.kind != kind:
            raise CheckpointError(f"model {model!r} is a {entry.kind}, not a {kind}")
        path = package_root(entry.package) / entry.config
        if not path.is_file():
            raise CheckpointError(
                f"config of {model!r} not found at {path} (is {entry.package} the pinned version?)"
            )
        return path, entry
    path = Path(model).expanduser()
    if model.endswith(".py") and path.is_file():
        return path.resolve(), None
    names = ", ".join(n for n, e in ZOO.items() if e.kind == kind)
    raise CheckpointError(
        f"model {model!r}: neither a known {kind} ({names}) nor an existing .py config path"
    )


def verify_checkpoint(path: Path, entry: ZooEntry) -> str:
    """Check a file against the zoo entry's sha256 or hash prefix.

    Returns:
        The file's full sha256.

    Raises:
        CheckpointError: The checksum does not match.
    """
    digest = weights_sha256(path)
    want = entry.sha256 or entry.hash_prefix
    if want is not None and not digest.startswith(want.lower()):
        raise CheckpointError(
            f"checkpoint {path} fails its checksum for {entry.name!r}: sha256 {digest[:16]}... "
            f"does not start with {want}; delete the file and download it again from {entry.url}"
        )
    return digest


def _offline() -> bool:
    return os.environ.get("POSETOOLS_OFFLINE", "").lower() in ("1", "true", "yes")


def download_checkpoint(entry: ZooEntry, dest: Path, *, timeout: float = 60.0) -> Path:
    """Download ``entry.url`` to ``dest``: temp file in the same folder, verify, rename.

    Raises:
        CheckpointError: No network, HTTP error, or the downloaded file fails its checksum
            (the partial / bad file is removed; ``dest`` is never left half-written).
    """
    hint = (
        f"download {entry.url} by hand and save it as {dest} "
        f"(set POSETOOLS_HOME to move the cache)"
    )
    if _offline():
        raise CheckpointError(f"checkpoint for {entry.name!r} is not cached and "
                              f"POSETOOLS_OFFLINE is set: {hint}")
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=dest.name + ".", suffix=".part", dir=dest.parent)
    tmp = Path(tmp_name)
    try:
        try:
            with os.fdopen(fd, "wb") as out:
                with urllib.request.urlopen(entry.url, timeout=timeout) as r:
                    for block in iter(lambda: r.read(1 << 20), b""):
                        out.write(block)
        except (urllib.error.URLError, OSError, TimeoutError) as e:
            raise CheckpointError(
                f"cannot download the checkpoint for {entry.name!r} ({e}): {hint}"
            ) from e
        verify_checkpoint(tmp, entry)
        os.replace(tmp, dest)
    finally:
        tmp.unlink(missing_ok=True)
    return dest


def resolve_checkpoint(checkpoint: str | None, entry: ZooEntry | None) -> Path | str:
    """Find (or fetch) the weights a config asks for.

    Args:
        checkpoint: ``None`` for the zoo default, a local file path (always accepted,
            not checksum-verified: fine-tuned weights are fine), or :data:`RANDOM_INIT`.
        entry: The zoo entry of the model, ``None`` for a config given by path.

    Returns:
        A verified local path, or :data:`RANDOM_INIT`.

    Raises:
        CheckpointError: Missing file, unknown default, failed checksum, or no network.
    """
    if checkpoint == RANDOM_INIT:
        return RANDOM_INIT
    if checkpoint is not None:
        path = Path(checkpoint).expanduser()
        if not path.is_file():
            raise CheckpointError(f"checkpoint file not found: {path}")
        return path.resolve()
    if entry is None:
        raise CheckpointError(
            "a model given by config path needs `checkpoint:` (a local .pth file)"
        )
    from filelock import FileLock

    dest = checkpoint_dir() / entry.filename
    dest.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(dest) + ".lock"):
        if not dest.is_file():
            download_checkpoint(entry, dest)
        verify_checkpoint(dest, entry)
    return dest


def checkpoint_checksum(path: Path | str, file_hash: Callable[[Path], str] | None = None) -> str:
    """Checksum recorded for weights: the file's sha256, or ``random-init`` for random weights."""
    if path == RANDOM_INIT:
        return RANDOM_INIT
    return (file_hash or weights_sha256)(Path(path))


def weights_checksum(model: str, checkpoint: str | None, kind: Literal["detector", "expert"],
                     file_hash: Callable[[Path], str] | None = None) -> str:
    """The checksum the mm backend reports for a model, without importing mm* or building.

    Resolves the config and the checkpoint exactly as the backend does (a zoo default
    may be downloaded into the cache, as building would).
    """
    default = "rtmdet-tiny" if kind == "detector" else "rtmpose-m"
    _, entry = resolve_config(model or default, kind)
    return checkpoint_checksum(resolve_checkpoint(checkpoint, entry), file_hash)


_HASH_IN_NAME = re.compile(r"-([0-9a-f]{8})(?:_\d{8}(?:_\d{6})?)?\.pth$")


def hash_prefix_in_filename(name: str) -> str | None:
    """The 8-hex-digit hash prefix of an OpenMMLab checkpoint file name, if any.

    A trailing date (``-20231122.pth``) is not a hash and gives ``None``.
    """
    m = _HASH_IN_NAME.search(name)
    if m is None or m.group(1).isdigit():
        return None
    return m.group(1)


def load_state_dict(path: Path) -> dict:
    """Load a checkpoint's ``state_dict`` with ``torch.load(weights_only=True)``.

    OpenMMLab checkpoints keep numpy arrays in ``meta`` (dataset metainfo); the plain
    numpy array / dtype / scalar reconstructors are allowed for that, nothing else.
    A leading ``module.`` (DataParallel) is stripped from the keys.

    Raises:
        CheckpointError: The file is not a loadable checkpoint or needs other globals.
    """
    import numpy as np
    import torch

    multiarray = np._core.multiarray if hasattr(np, "_core") else np.core.multiarray
    allowed: list = [np.ndarray, np.dtype, multiarray._reconstruct, multiarray.scalar]
    # Files written under numpy 1.x name the same functions numpy.core.multiarray.*.
    allowed += [(multiarray._reconstruct, "numpy.core.multiarray._reconstruct"),
                (multiarray.scalar, "numpy.core.multiarray.scalar")]
    allowed += [getattr(np.dtypes, n) for n in dir(np.dtypes) if n.endswith("DType")]
    try:
        with torch.serialization.safe_globals(allowed):
            ckpt = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # noqa: BLE001 - torch raises several types here
        raise CheckpointError(f"cannot load checkpoint {path} with weights_only=True: {e}") from e
    sd = ckpt.get("state_dict", ckpt) if isinstance(ckpt, dict) else None
    if not isinstance(sd, dict) or not all(isinstance(v, torch.Tensor) for v in sd.values()):
        raise CheckpointError(f"checkpoint {path} holds no state_dict of tensors")
    return {k.removeprefix("module."): v for k, v in sd.items()}
