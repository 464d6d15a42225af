#!/usr/bin/env bash
# Make sure a Docker engine answers; start dockerd (and remember we did) if none does.
# Usage: engine.sh start STATE_DIR | engine.sh stop STATE_DIR
set -euo pipefail
action=$1 state=$2
docker=/usr/bin/docker
pidfile="$state/dockerd.pid"
mkdir -p "$state/log"
case "$action" in
  start)
    if $docker info >/dev/null 2>&1; then exit 0; fi
    if [ ! -x /usr/sbin/dockerd ]; then
      echo "hdss: no Docker engine answers and dockerd is not installed (apt-get install docker.io)." >&2
      exit 1
    fi
    echo "hdss: starting dockerd (log: $state/log/dockerd.log)"
    nohup /usr/sbin/dockerd >"$state/log/dockerd.log" 2>&1 &
    echo $! >"$pidfile"
    for _ in $(seq 1 60); do
      $docker info >/dev/null 2>&1 && exit 0
      kill -0 "$(cat "$pidfile")" 2>/dev/null || break
      sleep 1
    done
    echo "hdss: dockerd did not come up; see $state/log/dockerd.log:" >&2
    tail -n 20 "$state/log/dockerd.log" >&2
    exit 1
    ;;
  stop)
    [ -f "$pidfile" ] || exit 0
    pid=$(cat "$pidfile")
    if kill -0 "$pid" 2>/dev/null; then
      echo "hdss: stopping the dockerd that make up started (pid $pid)"
      kill "$pid"
      for _ in $(seq 1 30); do kill -0 "$pid" 2>/dev/null || break; sleep 1; done
    fi
    rm -f "$pidfile"
    ;;
  *) echo "usage: engine.sh start|stop STATE_DIR" >&2; exit 2 ;;
esac
