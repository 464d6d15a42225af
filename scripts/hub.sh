#!/usr/bin/env bash
# Start or stop the hub in the background. Usage: hub.sh start|stop
set -euo pipefail
cd "$(dirname "$0")/.."
py=.venv/bin/python
state=$($py -m hdss_hub.cli get hub.state_dir)
url=$($py -m hdss_hub.cli get hub.bind_url)
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
    if alive "$pidfile"; then
      pid=$(cat "$pidfile")
      echo "hdss: stopping the hub (pid $pid)"
      kill "$pid"
      for _ in $(seq 1 40); do kill -0 "$pid" 2>/dev/null || break; sleep 1; done
    fi
    # JupyterHub stops the proxy it started; a proxy left over by a killed hub goes too.
    if alive "$state/proxy.pid"; then kill "$(cat "$state/proxy.pid")" || true; fi
    prefix=$($py -m hdss_hub.cli get docker.prefix)
    ids=$(/usr/bin/docker ps -q --filter "name=^${prefix}-" 2>/dev/null || true)
    if [ -n "$ids" ]; then
      echo "hdss: stopping user servers (their home volumes stay)"
      /usr/bin/docker stop $ids >/dev/null
    fi
    ;;
  *) echo "usage: hub.sh start|stop" >&2; exit 2 ;;
esac
