#!/usr/bin/env bash
# Start or stop the hub in the background. Usage: hub.sh start|stop
set -euo pipefail
cd "$(dirname "$0")/.."
py=.venv/bin/python
{ read -r state; read -r url; read -r prefix; } < <($py -m hdss_hub.cli get hub.state_dir hub.bind_url docker.prefix)
[ -n "$prefix" ] || exit 1  # the settings are wrong: the line above said why
pidfile="$state/jupyterhub.pid"
log="$state/log/jupyterhub.log"
mkdir -p "$state/log"
alive() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

case "${1:-}" in
  start)
    if alive "$pidfile"; then
      echo "hdss: the hub is already running (pid $(cat "$pidfile")) at $url"
      exit 0
    fi
    echo "hdss: starting the hub (log: $log)"
    nohup .venv/bin/jupyterhub -f jupyterhub_config.py >>"$log" 2>&1 &
    hubpid=$!
    for _ in $(seq 1 90); do
      if curl -fs -o /dev/null "$url/hub/api/"; then
        echo
        echo "The sandbox hub is up at $url"
        $py -m hdss_hub.cli login-help
        exit 0
      fi
      if ! kill -0 "$hubpid" 2>/dev/null; then
        echo "hdss: the hub stopped while starting:" >&2
        grep -E "^hdss:|Error|error" "$log" | tail -n 5 >&2 || tail -n 20 "$log" >&2
        exit 1
      fi
      sleep 1
    done
    echo "hdss: the hub did not answer at $url within 90 s; see $log" >&2
    kill "$hubpid" 2>/dev/null || true
    exit 1
    ;;
  stop)
    # Order: the hub first. Its own cleanup stops its services (each exits within a second of
    # the hub's SIGINT) and then the proxy it started. The proxy is never killed while the hub
    # runs: the hub's health check would start it again.
    if alive "$pidfile"; then
      pid=$(cat "$pidfile")
      echo "hdss: stopping the hub (pid $pid)"
      children=$(pgrep -P "$pid" || true)  # its proxy and services, should it hang
      kill "$pid"
      for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
      if kill -0 "$pid" 2>/dev/null; then
        echo "hdss: the hub did not stop within 20 s; killing it, its proxy and services" >&2
        kill -KILL "$pid" 2>/dev/null || true
        for child in $children; do kill -TERM "$child" 2>/dev/null || true; done
      fi
    fi
    # A proxy left over by a killed hub goes too (no hub is left to start it again).
    if alive "$state/proxy.pid"; then kill "$(cat "$state/proxy.pid")" || true; fi
    # User servers last (the hub leaves them running so that a hub restart does not stop
    # them): stopped, then removed as the spawner would; their home volumes stay.
    ids=$(/usr/bin/docker ps -q --filter "name=^${prefix}-" 2>/dev/null || true)
    if [ -n "$ids" ]; then
      echo "hdss: stopping user servers (their home volumes stay)"
      /usr/bin/docker stop $ids >/dev/null
    fi
    ids=$(/usr/bin/docker ps -aq --filter "name=^${prefix}-" 2>/dev/null || true)
    if [ -n "$ids" ]; then /usr/bin/docker rm $ids >/dev/null; fi
    ;;
  *) echo "usage: hub.sh start|stop" >&2; exit 2 ;;
esac
