#!/usr/bin/env bash
# Regenerate docker/constraints.txt: resolve, without installing, the union of everything
# the images install (posetools' core deps and its onnx, sample, viz, ray and mm extras, torch,
# onnxruntime-gpu with its CUDA extras, build tools) against PyPI, and pin what pip picks.
#
#   bash docker/lock.sh            # Python 3.11 on Linux x86_64 (the images' platform)
#
# Env: PYTHON (default python3), INDEX_URL (default https://pypi.org/simple). The host's
# pip configuration is ignored (PIP_CONFIG_FILE=/dev/null) so that local wheel folders or
# mirrors cannot leak versions PyPI does not have; PIP_CERT is kept for TLS proxies.
# Then rebuild the images and run docker/test-images.sh.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON="${PYTHON:-python3}"
INDEX_URL="${INDEX_URL:-https://pypi.org/simple}"
# Pins of the "top" of the tree; everything below them follows from the resolution.
TOP=("torch==2.14.1" "torchvision==0.29.1" "onnxruntime-gpu[cuda,cudnn]==1.31.1" "cython"
     "setuptools<81" "pip" "wheel")
# Installed with --no-deps (their metadata pulls chumpy and opencv-python; docker/README.md).
NO_DEPS=("mmcv==2.1.0" "mmdet==3.3.0" "mmengine==0.10.7" "mmpose==1.3.2" "xtcocotools==1.14.3")

"$PYTHON" -c 'import sys, platform; assert sys.version_info[:2] == (3, 11) and platform.machine() == "x86_64", "lock on CPython 3.11 / x86_64"'
report="$(mktemp)"
trap 'rm -f "$report"' EXIT
env -u PIP_FIND_LINKS -u PIP_EXTRA_INDEX_URL -u PIP_INDEX_URL -u PIP_CONSTRAINT \
  PIP_CONFIG_FILE=/dev/null "$PYTHON" -m pip install -q --dry-run --ignore-installed \
  --report "$report" --index-url "$INDEX_URL" ".[onnx,sample,viz,ray,mm]" "${TOP[@]}"

{
  sed -n '1,/^# Linux x86_64/p' docker/constraints.txt
  "$PYTHON" - "$report" <<'EOF'
import json, sys
rows = json.load(open(sys.argv[1]))["install"]
for r in sorted(rows, key=lambda r: r["metadata"]["name"].lower()):
    if r["metadata"]["name"] != "posetools":
        print(f'{r["metadata"]["name"]}=={r["metadata"]["version"]}')
EOF
  echo "# Installed with --no-deps by install-image.sh (see docker/README.md for why)."
  printf '%s\n' "${NO_DEPS[@]}"
} >docker/constraints.txt.new
mv docker/constraints.txt.new docker/constraints.txt
echo "wrote docker/constraints.txt ($(grep -c '==' docker/constraints.txt) pins)"
