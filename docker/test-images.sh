#!/usr/bin/env bash
# Build the posetools images and check the CPU image end to end (CI runs this through
# tests/docker/test_images.py; users can run it to check an image they built):
#
#   bash docker/test-images.sh [--gpu] [--no-build] [--keep]
#
#   1. build  docker/Dockerfile.cpu (and, with --gpu, docker/Dockerfile) and time it;
#   2. `posetools quickstart` in a container (no network), output on a mounted folder, and
#      `posetools show` of its result (overlay video and figures);
#   3. the default pipeline over mounted clips (read-only), output on a mounted folder,
#      `posetools verify` clean, every file owned by the calling user (not root);
#   4. `docker stop` of a running job (for each --workers in STOP_WORKERS): the container
#      exits within the default 10 s grace period with posetools' SIGTERM exit code 143, no
#      temp file is left, the ledger is consistent (committed rows <-> files, interrupted
#      videos pending, nothing failed), and a rerun in a new container completes with
#      `posetools verify` clean;
#   5. with --gpu: the GPU image's CUDA builds (torch, onnxruntime-gpu and its CUDA libraries
#      resolvable) and the quickstart in it (on the CPU: no GPU is needed for this check).
#
# Environment (all optional):
#   DOCKER         docker client with BuildKit (default: the first of $DOCKER, /usr/bin/docker,
#                  docker whose `build` has --secret)
#   IMAGE_CPU      tag of the CPU image (default posetools:cpu); IMAGE_GPU (posetools:gpu)
#   VIDEOS         folder of clips (default: $POSETOOLS_SHARED/data/videos or
#                  ../shared/data/videos beside the repository)
#   CA_BUNDLE      CA bundle for pip in the build, passed as the BuildKit secret `ca`
#                  (default: PIP_CERT, else the cert of `pip config list`; none if neither)
#   BUILD_NETWORK  `docker build --network` (default host: also works with a daemon started
#                  with --bridge=none)
#   BUILD_ARGS_CPU / BUILD_ARGS_GPU   extra `docker build` arguments (GPU default:
#                  --build-arg MMCV=skip unless docker/wheels/ holds an mmcv wheel)
#   RUN_USER       uid:gid the containers run as (default: the caller; 4242:4242 when the
#                  caller is root, so that the ownership check means something)
#   STOP_WORKERS   --workers values of the stop test (default "1 2")
#   WORK           scratch folder (default: a new folder under $TMPDIR, removed unless --keep)
set -euo pipefail
cd "$(dirname "$0")/.." || exit 2
REPO="$PWD"

GPU=0 BUILD=1 KEEP=0
for a in "$@"; do
  case "$a" in
    --gpu) GPU=1 ;;
    --no-build) BUILD=0 ;;
    --keep) KEEP=1 ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "unknown argument: $a" >&2; exit 2 ;;
  esac
done

IMAGE_CPU="${IMAGE_CPU:-posetools:cpu}"
IMAGE_GPU="${IMAGE_GPU:-posetools:gpu}"
BUILD_NETWORK="${BUILD_NETWORK:-host}"
STOP_WORKERS="${STOP_WORKERS:-1 2}"
SHARED="${POSETOOLS_SHARED:-$REPO/../shared}"
VIDEOS="$(realpath -m "${VIDEOS:-$SHARED/data/videos}")"
GRACE_S=10   # docker stop's default

FAILS=()
say() { printf '[test-images] %s\n' "$*"; }
ok() { say "PASS $*"; }
bad() { say "FAIL $*"; FAILS+=("$*"); }
die() { say "ERROR $*"; exit 2; }
now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }

# --- docker client and daemon ------------------------------------------------------------
# (grep without -q reads all of the help: no SIGPIPE for docker under pipefail)
has_buildkit() { DOCKER_BUILDKIT=1 "$1" build --help 2>/dev/null | grep -- '--secret' >/dev/null; }
if [[ -z "${DOCKER:-}" ]]; then
  for c in /usr/bin/docker "$(command -v docker || true)"; do
    if [[ -n "$c" && -x "$c" ]] && has_buildkit "$c"; then DOCKER="$c"; break; fi
  done
fi
[[ -n "${DOCKER:-}" ]] || die "no docker client with BuildKit (Debian: apt-get install docker.io; or install the buildx plugin)"
has_buildkit "$DOCKER" || die "$DOCKER: \`docker build\` has no --secret (BuildKit missing: install buildx, or use docker.io's client)"
export DOCKER_BUILDKIT=1
"$DOCKER" info >/dev/null 2>&1 || die "no Docker daemon answers ($DOCKER info failed); as root: bash docker/dockerd.sh start"
say "docker client: $DOCKER ($("$DOCKER" version --format '{{.Client.Version}}' 2>/dev/null)), daemon $("$DOCKER" version --format '{{.Server.Version}}' 2>/dev/null)"

[[ -d "$VIDEOS" ]] || die "no clips at $VIDEOS (set VIDEOS)"
mapfile -t CLIPS < <(find "$VIDEOS" -maxdepth 1 -type f \( -name '*.mp4' -o -name '*.avi' \) -printf '%s %f\n' | sort -n | cut -d' ' -f2-)
(( ${#CLIPS[@]} >= 3 )) || die "need at least 3 clips in $VIDEOS, found ${#CLIPS[@]}"

if [[ -n "${RUN_USER:-}" ]]; then :
elif [[ "$(id -u)" == 0 ]]; then RUN_USER=4242:4242
else RUN_USER="$(id -u):$(id -g)"; fi
RUN_UID="${RUN_USER%%:*}"

if [[ -z "${WORK:-}" ]]; then
  WORK="$(mktemp -d "${TMPDIR:-/tmp}/posetools-test-images.XXXXXX")"
else
  mkdir -p "$WORK"
fi
[[ "$(id -u)" == 0 ]] && chown "$RUN_USER" "$WORK"
CONTAINERS=()
cleanup() {
  local c
  for c in "${CONTAINERS[@]}"; do "$DOCKER" rm -f -v "$c" >/dev/null 2>&1 || true; done
  if [[ "$KEEP" == 1 ]]; then say "kept $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT

# Containers: the caller's uid, no network (the default pipeline needs none), clips read-only.
RUN=("$DOCKER" run --network none --user "$RUN_USER" -v "$VIDEOS:/data:ro" -v "$WORK:/out")
video_args() { local f; for f in "$@"; do printf -- '--video\n/data/%s\n' "$f"; done; }
owned_by_caller() {  # $1: folder; prints files not owned by RUN_UID
  find "$1" ! -uid "$RUN_UID" -print | head -n 5 || true
}

# --- 1. build ----------------------------------------------------------------------------
if [[ -z "${CA_BUNDLE:-}" ]]; then
  CA_BUNDLE="${PIP_CERT:-}"
  if [[ -z "$CA_BUNDLE" ]] && command -v python3 >/dev/null; then
    CA_BUNDLE="$(python3 -m pip config list 2>/dev/null | sed -n "s/^[^=]*\.cert='\(.*\)'$/\1/p" | head -n1 || true)"
  fi
fi
SECRET=()
if [[ -n "$CA_BUNDLE" ]]; then
  [[ -f "$CA_BUNDLE" ]] || die "CA_BUNDLE=$CA_BUNDLE: no such file"
  SECRET=(--secret "id=ca,src=$CA_BUNDLE")
fi

build() {  # $1 tag, $2 Dockerfile, rest: extra args
  local tag="$1" file="$2" t0 log old_id
  shift 2
  log="$WORK/build-${tag//[:\/]/_}.log"
  say "building $tag from $file ${SECRET[*]:+(pip CA: $CA_BUNDLE)} $*"
  t0="$(now)"
  old_id="$("$DOCKER" image inspect -f '{{.Id}}' "$tag" 2>/dev/null || true)"
  if "$DOCKER" build --network "$BUILD_NETWORK" --progress plain "${SECRET[@]}" "$@" \
       -f "$file" -t "$tag" . >"$log" 2>&1; then
    ok "build $tag in $(elapsed "$t0") s ($("$DOCKER" image inspect -f '{{.Size}}' "$tag" | awk '{printf "%.2f GB", $1 / 1e9}'))"
    grep -F '[install-image check]' "$log" | sed 's/^#[0-9]* [0-9.]* /    /' | tail -n1 || true
    # the image this build replaced, if nothing else uses it (no dangling 2 GB per rebuild)
    if [[ -n "$old_id" && "$old_id" != "$("$DOCKER" image inspect -f '{{.Id}}' "$tag")" ]]; then
      "$DOCKER" rmi "$old_id" >/dev/null 2>&1 || true
    fi
  else
    tail -n 40 "$log"
    bad "build $tag (log above; $(elapsed "$t0") s)"
    return 1
  fi
}

if [[ "$BUILD" == 1 ]]; then
  "$DOCKER" image inspect debian:bookworm-slim >/dev/null 2>&1 \
    || die "base image debian:bookworm-slim missing: docker pull debian:bookworm-slim, or (root) bash docker/make-base-image.sh"
  # shellcheck disable=SC2086
  build "$IMAGE_CPU" docker/Dockerfile.cpu ${BUILD_ARGS_CPU:-} || exit 1
  if [[ "$GPU" == 1 ]]; then
    if [[ -z "${BUILD_ARGS_GPU+x}" ]]; then
      BUILD_ARGS_GPU="--build-arg MMCV=skip"
      compgen -G 'docker/wheels/mmcv-2.1.0-cp311-*.whl' >/dev/null && BUILD_ARGS_GPU=""
    fi
    # shellcheck disable=SC2086
    build "$IMAGE_GPU" docker/Dockerfile $BUILD_ARGS_GPU || true  # recorded by bad()
  fi
else
  "$DOCKER" image inspect "$IMAGE_CPU" >/dev/null 2>&1 || die "--no-build: no image $IMAGE_CPU"
fi

# --- 2. quickstart -----------------------------------------------------------------------
t0="$(now)"
if out="$("${RUN[@]}" --rm "$IMAGE_CPU" quickstart /out/quickstart 2>&1)" \
   && [[ -f "$WORK/quickstart/heatmaps/astronaut.h5" ]]; then
  ok "quickstart in a container ($(elapsed "$t0") s)"
else
  tail -n 20 <<<"$out"; bad "quickstart in a container"
fi
# `posetools show` (the [viz] extra: matplotlib figures, an H.264 overlay through PyAV).
t0="$(now)"
shown=(astronaut_overlay.mp4 astronaut_overlay.png astronaut_confidence.png astronaut_heatmaps.png astronaut_normalized.png)
if out="$("${RUN[@]}" --rm "$IMAGE_CPU" show /out/quickstart --video astronaut -o /out/quickstart/show --no-progress 2>&1)"; then
  missing=()
  for f in "${shown[@]}"; do [[ -s "$WORK/quickstart/show/$f" ]] || missing+=("$f"); done
  if (( ${#missing[@]} == 0 )); then ok "show: ${#shown[@]} outputs of the quickstart ($(elapsed "$t0") s)"
  else tail -n 20 <<<"$out"; bad "show wrote no ${missing[*]}"; fi
else
  tail -n 20 <<<"$out"; bad "show on the quickstart"
fi
left="$(owned_by_caller "$WORK/quickstart")"
if [[ -z "$left" ]]; then ok "quickstart and show files owned by $RUN_USER"; else bad "files not owned by $RUN_USER: $left"; fi

# --- 3. default pipeline over mounted clips ----------------------------------------------
ledger_check() {  # $1: OUT inside the container, $2: "stopped" or "complete"; prints a summary
  "${RUN[@]}" -i --rm --entrypoint python "$IMAGE_CPU" - "$1" "$2" <<'EOF'
import sqlite3, sys
from pathlib import Path
out, mode = Path(sys.argv[1]), sys.argv[2]
db = sqlite3.connect(out / "ledger.sqlite")
rows = db.execute("SELECT stage, video_id, state FROM state").fetchall()
problems, counts = [], {}
for stage, vid, state in rows:
    counts.setdefault(stage, {}).setdefault(state, 0)
    counts[stage][state] += 1
    exists = (out / stage / f"{vid}.h5").is_file()
    if state == "committed" and not exists:
        problems.append(f"{stage}/{vid}: committed but no artifact")
    if state != "committed" and exists:
        problems.append(f"{stage}/{vid}: {state} but an artifact exists")
    if state in ("failed", "skipped"):  # good clips: an interruption leaves them pending
        problems.append(f"{stage}/{vid}: {state}")
    if mode == "complete" and state != "committed":
        problems.append(f"{stage}/{vid}: {state} after a complete run")
known = {(s, v) for s, v, _ in rows}
for f in out.glob("*/*.h5"):
    if not f.name.startswith(".") and (f.parent.name, f.stem) not in known:
        problems.append(f"{f.parent.name}/{f.name}: artifact without a ledger row")
if mode == "stopped" and counts.get("estimate", {}).get("committed", 0) == len(
        {v for s, v, _ in rows if s == "estimate"}):
    problems.append("every video was committed: the job was not interrupted")
print("ledger:", {s: dict(c) for s, c in sorted(counts.items())})
for p in problems:
    print("problem:", p)
sys.exit(1 if problems else 0)
EOF
}

PIPE_CLIPS=("${CLIPS[@]:0:2}")  # the two smallest
t0="$(now)"
mapfile -t vargs < <(video_args "${PIPE_CLIPS[@]}")
if out="$("${RUN[@]}" --rm "$IMAGE_CPU" run default "${vargs[@]}" --out /out/pipeline --no-progress 2>&1)"; then
  ok "default pipeline on ${PIPE_CLIPS[*]} (mounted read-only) in $(elapsed "$t0") s"
  grep -E '^(stage|probe|estimate|aggregate|normalize|heatmaps) ' <<<"$out" | sed 's/^/    /' || true
else
  tail -n 20 <<<"$out"; bad "default pipeline on mounted clips"
fi
if out="$("${RUN[@]}" --rm "$IMAGE_CPU" verify --out /out/pipeline 2>&1)"; then
  ok "verify: $(tail -n1 <<<"$out")"
else
  echo "$out"; bad "verify after the pipeline"
fi
if out="$(ledger_check /out/pipeline complete)"; then ok "$out"; else echo "$out"; bad "ledger after the pipeline"; fi
left="$(owned_by_caller "$WORK/pipeline")"
if [[ -z "$left" ]]; then ok "pipeline files owned by $RUN_USER (uid $RUN_UID, not root)"
else bad "files not owned by $RUN_USER: $left"; fi

# --- 4. docker stop of a running job, then a rerun --------------------------------------
stop_test() {  # $1: --workers
  local w="$1" name="posetools-test-stop-$$-$1" job="/out/stop-w$1" dir="$WORK/stop-w$1" t0 ts rc dt tmp out
  mapfile -t vargs < <(video_args "${CLIPS[@]}")
  CONTAINERS+=("$name")
  "${RUN[@]}" -d --name "$name" "$IMAGE_CPU" run default "${vargs[@]}" --out "$job" \
    --workers "$w" --no-progress >/dev/null || { bad "[workers=$w] could not start the job"; return; }
  # Stop once the first estimate artifact is committed: the job is then inside the longest
  # stage with the other videos still to do (not a fixed sleep).
  t0="$(now)"
  until compgen -G "$dir/estimate/[!.]*.h5" >/dev/null; do
    if [[ "$("$DOCKER" inspect -f '{{.State.Running}}' "$name")" != true ]]; then
      "$DOCKER" logs --tail 20 "$name" 2>&1; bad "[workers=$w] job ended before it could be stopped"; return
    fi
    if (( $(date +%s) - ${t0%.*} > 300 )); then bad "[workers=$w] no estimate artifact after 300 s"; return; fi
    sleep 0.2
  done
  [[ "$("$DOCKER" inspect -f '{{.State.Running}}' "$name")" == true ]] \
    || { bad "[workers=$w] job ended before it could be stopped (give it more clips)"; return; }
  ts="$(now)"
  "$DOCKER" stop "$name" >/dev/null   # SIGTERM, SIGKILL after $GRACE_S s
  dt="$(elapsed "$ts")"
  rc="$("$DOCKER" inspect -f '{{.State.ExitCode}}' "$name")"
  say "[workers=$w] stopped after $(awk -v a="$t0" -v b="$ts" 'BEGIN{printf "%.1f", b-a}') s of work: exit code $rc, $dt s to exit; last log lines:"
  "$DOCKER" logs --tail 3 "$name" 2>&1 | grep -v 'inference_feedback_manager' | sed 's/^/    | /' || true
  if [[ "$rc" == 143 ]] && awk -v d="$dt" -v g="$GRACE_S" 'BEGIN { exit !(d < g) }'; then
    ok "[workers=$w] docker stop: exit code 143 in $dt s (< ${GRACE_S} s grace)"
  else
    bad "[workers=$w] docker stop: exit code $rc in $dt s (want 143 within ${GRACE_S} s; 137 = SIGKILL after the grace period)"
  fi
  if "$DOCKER" logs "$name" 2>&1 | grep -q '^Traceback'; then
    bad "[workers=$w] a traceback in the log of the stopped job"
  fi
  tmp="$(find "$dir" -name '*.tmp-*' -printf '%P ' | head -c 300 || true)"
  if [[ -z "$tmp" ]]; then ok "[workers=$w] no temp file left"; else bad "[workers=$w] temp file(s) left: $tmp"; fi
  if out="$(ledger_check "$job" stopped)"; then ok "[workers=$w] ledger consistent: $out"
  else printf '%s\n' "$out" | sed 's/^/    /'; bad "[workers=$w] ledger inconsistent after docker stop"; fi
  "$DOCKER" rm -v "$name" >/dev/null
  # Rerun in a new container: completes, verify clean.
  t0="$(now)"
  if out="$("${RUN[@]}" --rm "$IMAGE_CPU" run default "${vargs[@]}" --out "$job" --workers "$w" --no-progress 2>&1)"; then
    ok "[workers=$w] rerun completed in $(elapsed "$t0") s"
    grep -E '^estimate ' <<<"$out" | sed 's/^/    /' || true
  else
    tail -n 20 <<<"$out"; bad "[workers=$w] rerun after docker stop"
  fi
  if out="$("${RUN[@]}" --rm "$IMAGE_CPU" verify --out "$job" 2>&1)"; then ok "[workers=$w] verify after rerun: $(tail -n1 <<<"$out")"
  else echo "$out"; bad "[workers=$w] verify after rerun"; fi
  if out="$(ledger_check "$job" complete)"; then ok "[workers=$w] $out"; else echo "$out"; bad "[workers=$w] ledger after rerun"; fi
  left="$(owned_by_caller "$dir")"
  [[ -z "$left" ]] || bad "[workers=$w] files not owned by $RUN_USER: $left"
}
for w in $STOP_WORKERS; do stop_test "$w"; done

# --- 5. GPU image ------------------------------------------------------------------------
if [[ "$GPU" == 1 ]] && "$DOCKER" image inspect "$IMAGE_GPU" >/dev/null 2>&1; then
  if out="$("$DOCKER" run -i --rm --network none --entrypoint python "$IMAGE_GPU" - 2>&1 <<'EOF'
import glob, os, subprocess, sys
import torch, onnxruntime as ort
print("torch", torch.__version__, "CUDA", torch.version.cuda, "| onnxruntime", ort.__version__,
      ort.get_available_providers())
assert torch.version.cuda and "CUDAExecutionProvider" in ort.get_available_providers()
# Every library of ORT's CUDA provider resolves (libcuda.so.1 comes from the driver at run time).
lib = glob.glob(os.path.join(os.path.dirname(ort.__file__), "capi", "libonnxruntime_providers_cuda.so"))[0]
missing = [l.split()[0] for l in subprocess.run(["ldd", lib], capture_output=True, text=True).stdout.splitlines()
           if "not found" in l and not l.strip().startswith("libcuda.so")]
print("unresolved CUDA-provider libraries:", missing or "none")
sys.exit(1 if missing else 0)
EOF
)"; then ok "GPU image: $(tr '\n' ' ' <<<"$out")"; else echo "$out"; bad "GPU image CUDA builds"; fi
  t0="$(now)"
  if out="$("$DOCKER" run --rm --network none --user "$RUN_USER" -v "$WORK:/out" "$IMAGE_GPU" quickstart /out/quickstart-gpu 2>&1)"; then
    ok "quickstart in the GPU image (CPU fallback, no GPU here) in $(elapsed "$t0") s"
  else tail -n 20 <<<"$out"; bad "quickstart in the GPU image"; fi
fi

say "images:"
"$DOCKER" images --format '    {{.Repository}}:{{.Tag}}  {{.Size}}' | grep -E 'posetools|debian' || true
if (( ${#FAILS[@]} )); then
  say "${#FAILS[@]} check(s) failed:"; printf '    %s\n' "${FAILS[@]}"; exit 1
fi
say "all checks passed"
