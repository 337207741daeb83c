#!/usr/bin/env bash
# Start / stop a Docker daemon for the image tests (CI, sandboxes without systemd).
#
#   bash docker/dockerd.sh start    # no-op when a daemon already answers
#   bash docker/dockerd.sh stop     # stops only a daemon that `start` started
#   bash docker/dockerd.sh status
#
# `start` runs `dockerd $DOCKERD_FLAGS` as root in the background. The default flags,
# --iptables=false --bridge=none, suit sandboxes and CI runners without netfilter or bridge
# permissions: containers then have no default bridge network, so run them with
# `--network none` (posetools needs no network) or `--network host`, and build with
# `docker build --network host`. On a normal host use its own Docker service instead.
# Env: DOCKER (client, default docker), DOCKERD (the daemon binary), DOCKERD_FLAGS, DOCKERD_LOG
# (default /var/log/posetools-dockerd.log), DOCKERD_PIDFILE (default /run/posetools-dockerd.pid).
set -euo pipefail

DOCKER="${DOCKER:-docker}"
[[ "$DOCKER" == docker && -x /usr/bin/docker ]] && DOCKER=/usr/bin/docker
DOCKERD_FLAGS="${DOCKERD_FLAGS:---iptables=false --bridge=none}"
DOCKERD_LOG="${DOCKERD_LOG:-/var/log/posetools-dockerd.log}"
PIDFILE="${DOCKERD_PIDFILE:-/run/posetools-dockerd.pid}"
DOCKERD="${DOCKERD:-$(command -v dockerd || echo /usr/sbin/dockerd)}"

answers() { "$DOCKER" info >/dev/null 2>&1; }
ours() { [[ -s "$PIDFILE" ]] && kill -0 "$(cat "$PIDFILE")" 2>/dev/null; }

case "${1:-}" in
  start)
    if answers; then echo "dockerd.sh: a Docker daemon already answers; not starting one"; exit 0; fi
    [[ "$(id -u)" == 0 ]] || { echo "dockerd.sh: no daemon answers and not root: cannot start one" >&2; exit 3; }
    [[ -x "$DOCKERD" ]] || { echo "dockerd.sh: dockerd not installed (apt-get install docker.io)" >&2; exit 3; }
    # shellcheck disable=SC2086
    nohup "$DOCKERD" $DOCKERD_FLAGS --pidfile "$PIDFILE" >>"$DOCKERD_LOG" 2>&1 </dev/null &
    for _ in $(seq 1 60); do
      if answers; then echo "dockerd.sh: started dockerd (pid $(cat "$PIDFILE" 2>/dev/null || echo ?), log $DOCKERD_LOG)"; exit 0; fi
      kill -0 $! 2>/dev/null || break
      sleep 1
    done
    echo "dockerd.sh: dockerd did not come up; last log lines:" >&2
    tail -n 20 "$DOCKERD_LOG" >&2
    exit 3
    ;;
  stop)
    if ! ours; then echo "dockerd.sh: no daemon started by dockerd.sh is running"; exit 0; fi
    pid="$(cat "$PIDFILE")"
    kill -TERM "$pid"
    for _ in $(seq 1 30); do kill -0 "$pid" 2>/dev/null || { echo "dockerd.sh: stopped dockerd (pid $pid)"; exit 0; }; sleep 1; done
    echo "dockerd.sh: dockerd (pid $pid) still running after 30 s" >&2
    exit 1
    ;;
  status)
    if answers; then
      echo "dockerd.sh: a daemon answers$(ours && echo " (started by dockerd.sh, pid $(cat "$PIDFILE"))")"
    else
      echo "dockerd.sh: no daemon answers"; exit 1
    fi
    ;;
  *) echo "usage: dockerd.sh start|stop|status" >&2; exit 2 ;;
esac
