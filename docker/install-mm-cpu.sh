#!/usr/bin/env bash
# Install posetools' OpenMMLab backend (CPU) into the active Python environment.
#
#   bash docker/install-mm-cpu.sh [PATH_TO_MMCV_WHEEL]
#
# Why not just `pip install mmpose`: its metadata pulls chumpy (does not build, unused at
# run time) and opencv-python (a second cv2 beside opencv-contrib-python); the xtcocotools
# wheel fails under numpy 2; mmcv has no PyPI wheel and mmdet 3.3.0 needs mmcv < 2.2.0.
# So: the real runtime deps come from posetools' [mm] extra, the OpenMMLab packages are
# installed with --no-deps, xtcocotools is built from source against the installed numpy,
# and mmcv comes from a wheel built for the installed torch (MMCV_WHEEL, default: the CPU
# mmcv 2.1.0 wheel in ../shared/wheels, built for torch 2.14.1 + torchvision 0.29.1).
set -euo pipefail
cd "$(dirname "$0")/.."

MMCV_WHEEL="${1:-${MMCV_WHEEL:-../shared/wheels/mmcv-2.1.0-cp311-cp311-linux_x86_64.whl}}"
# The torch the mmcv wheel was compiled against (C++ ABI: no other version loads it).
TORCH_PINS="${TORCH_PINS:-torch==2.14.1 torchvision==0.29.1}"

if [[ ! -f "$MMCV_WHEEL" ]]; then
  echo "mmcv wheel not found: $MMCV_WHEEL (pass its path as the first argument)" >&2
  exit 2
fi

PIP=(python -m pip install -q --disable-pip-version-check)
# shellcheck disable=SC2086
"${PIP[@]}" $TORCH_PINS -e ".[mm]"
"${PIP[@]}" cython  # build-only dependency of xtcocotools (with numpy and setuptools)
"${PIP[@]}" --no-deps --no-binary xtcocotools --no-build-isolation "xtcocotools==1.14.3"
"${PIP[@]}" --no-deps "$MMCV_WHEEL" "mmengine==0.10.7" "mmdet==3.3.0" "mmpose==1.3.2"

python - <<'EOF'
import importlib.metadata as md
import warnings

warnings.simplefilter("ignore")
import mmcv.ops  # noqa: F401  (mmpose needs the full mmcv)
import mmdet.apis  # noqa: F401
import mmpose.apis  # noqa: F401
import xtcocotools.coco  # noqa: F401

from posetools.experts.backends import mm  # noqa: F401

cv = sorted(d.metadata["Name"] for d in md.distributions() if "opencv" in d.metadata["Name"].lower())
assert len(cv) == 1, f"exactly one OpenCV distribution expected, found {cv}"
print("mm stack OK:", {p: md.version(p) for p in ("torch", "mmcv", "mmengine", "mmdet", "mmpose")},
      "opencv:", cv[0])
EOF
