#!/usr/bin/env bash
# Make the base image `debian:bookworm-slim` locally, without Docker Hub.
#
#   sudo bash docker/make-base-image.sh            # needs root (debootstrap) and a daemon
#
# For machines that cannot pull from Docker Hub (air-gapped clusters, CI runners behind a
# registry mirror you do not have): a minimal Debian bookworm root file system is made with
# `debootstrap --variant=minbase` from the Debian mirror apt already uses, cached as a
# tarball, and `docker import`-ed under the tag the Dockerfiles build FROM. Where Docker Hub
# answers, `docker pull debian:bookworm-slim` does the same job and this script is not needed.
#
# Environment (all optional):
#   DOCKER                 docker client (default: `docker`)
#   BASE_IMAGE             tag to create (default: debian:bookworm-slim)
#   BASE_TARBALL           cache of the root file system (default:
#                          /var/cache/posetools-docker/debian-bookworm-minbase.tar); reused
#                          when present, so CI pays debootstrap once per machine
#   DEBIAN_MIRROR          mirror URL (default: the first bookworm URI in the apt sources)
#   DEBIAN_SECURITY_MIRROR security mirror (default: from the apt sources, if any)
#   FORCE=1                rebuild the tarball and re-import even if the image exists
set -euo pipefail

DOCKER="${DOCKER:-docker}"
BASE_IMAGE="${BASE_IMAGE:-debian:bookworm-slim}"
BASE_TARBALL="${BASE_TARBALL:-/var/cache/posetools-docker/debian-bookworm-minbase.tar}"
SUITE=bookworm

log() { printf '[make-base-image] %s\n' "$*" >&2; }

if [[ "${FORCE:-0}" != 1 ]] && $DOCKER image inspect "$BASE_IMAGE" >/dev/null 2>&1; then
  log "$BASE_IMAGE already present"
  exit 0
fi

# apt's URIs, in order: one-line sources.list entries and deb822 *.sources files.
apt_uris() {
  local f
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
    [[ -f "$f" ]] && awk '$1 == "deb" { for (i = 2; i <= NF; i++) if ($i ~ /^[a-z]+:\/\//) { print $i; break } }' "$f"
  done
  for f in /etc/apt/sources.list.d/*.sources; do
    [[ -f "$f" ]] && awk 'tolower($1) == "uris:" { for (i = 2; i <= NF; i++) print $i }' "$f"
  done
  return 0
}

if [[ -z "${DEBIAN_MIRROR:-}" ]]; then
  DEBIAN_MIRROR="$(apt_uris | grep -E '/debian/?$' | head -n1 || true)"
  DEBIAN_MIRROR="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
fi
if [[ -z "${DEBIAN_SECURITY_MIRROR:-}" ]]; then
  DEBIAN_SECURITY_MIRROR="$(apt_uris | grep -E '/debian-security/?$' | head -n1 || true)"
fi

if [[ "${FORCE:-0}" == 1 || ! -s "$BASE_TARBALL" ]]; then
  if [[ "$(id -u)" != 0 ]]; then
    log "debootstrap needs root (or give BASE_TARBALL=<an existing tarball>)"
    exit 2
  fi
  command -v debootstrap >/dev/null || { log "debootstrap not installed (apt-get install debootstrap)"; exit 2; }
  root="$(mktemp -d /var/tmp/posetools-rootfs.XXXXXX)"
  trap 'rm -rf "$root"' EXIT
  log "debootstrap --variant=minbase $SUITE from $DEBIAN_MIRROR (about a minute)"
  debootstrap --variant=minbase "$SUITE" "$root" "$DEBIAN_MIRROR" >"$root.log" 2>&1 || {
    tail -n 30 "$root.log" >&2; rm -f "$root.log"; exit 1; }
  rm -f "$root.log"
  # Same sources as the host's apt (Debian's own images also carry -updates and -security).
  {
    echo "deb $DEBIAN_MIRROR $SUITE main"
    echo "deb $DEBIAN_MIRROR $SUITE-updates main"
    [[ -n "$DEBIAN_SECURITY_MIRROR" ]] && echo "deb $DEBIAN_SECURITY_MIRROR $SUITE-security main"
  } >"$root/etc/apt/sources.list"
  # Slim like the official *-slim images: no docs, man pages or translations from apt-get.
  cat >"$root/etc/dpkg/dpkg.cfg.d/docker-slim" <<'EOF'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/info/*
path-exclude /usr/share/locale/*
path-include /usr/share/locale/locale.alias
EOF
  printf 'APT::Install-Recommends "false";\nAPT::Install-Suggests "false";\n' \
    >"$root/etc/apt/apt.conf.d/docker-no-recommends"
  rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/*.bin "$root"/var/cache/apt/archives/*.deb
  mkdir -p "$(dirname "$BASE_TARBALL")"
  tar --numeric-owner -C "$root" -cf "$BASE_TARBALL.tmp" .
  mv "$BASE_TARBALL.tmp" "$BASE_TARBALL"
  log "cached root file system: $BASE_TARBALL ($(du -h "$BASE_TARBALL" | cut -f1))"
fi

$DOCKER import --change 'CMD ["bash"]' --message "debootstrap --variant=minbase $SUITE" \
  "$BASE_TARBALL" "$BASE_IMAGE" >/dev/null
log "imported $BASE_IMAGE from $BASE_TARBALL"
