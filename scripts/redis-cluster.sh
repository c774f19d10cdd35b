#!/usr/bin/env bash
# A throwaway 3-master Redis Cluster on loopback, for tests and local runs.
#
#   scripts/redis-cluster.sh start  [base_port]   # default 7101: nodes on 7101, 7102, 7103
#   scripts/redis-cluster.sh stop   [base_port]
#   scripts/redis-cluster.sh status [base_port]
#
# `start` prints progress on stderr and the node list (127.0.0.1:7101,127.0.0.1:7102,127.0.0.1:7103)
# as the only line on stdout, so `REDIS_CLUSTER_NODES=$(scripts/redis-cluster.sh start)` works.
# It is idempotent: on a healthy running cluster it only prints the nodes; a dir left by a crashed
# run is cleaned up first. No replicas, no persistence; each node also uses port+10000 (cluster bus).
# Data, logs, pid and nodes-<port>.conf files live in ${TMPDIR:-/tmp}/lms-redis-cluster-<base_port>.
set -euo pipefail

readonly HOST=127.0.0.1
readonly NODE_COUNT=3
readonly WAIT_SECONDS=${REDIS_CLUSTER_WAIT_SECONDS:-30}

usage() {
  echo "usage: $0 start|stop|status [base_port]" >&2
  exit 2
}

log() { echo "redis-cluster: $*" >&2; }

cmd=${1:-}
base=${2:-7101}
[[ -n $cmd ]] || usage
[[ $base =~ ^[0-9]+$ ]] || { log "base_port must be a number, got '$base'"; exit 2; }
# Each node needs port and port+10000 (its cluster bus).
if ((base < 1024 || base + NODE_COUNT - 1 + 10000 > 65535)); then
  log "base_port must be in 1024..$((65535 - 10000 - NODE_COUNT + 1))"
  exit 2
fi

readonly DIR="${TMPDIR:-/tmp}/lms-redis-cluster-${base}"
PORTS=()
for ((i = 0; i < NODE_COUNT; i++)); do PORTS+=($((base + i))); done
NODES=$(printf "${HOST}:%s," "${PORTS[@]}")
readonly NODES=${NODES%,}

cli() { # cli PORT ARGS...: redis-cli against one node, never hanging
  local port=$1
  shift
  timeout 5 redis-cli -h "$HOST" -p "$port" "$@" 2>/dev/null
}

# True when a node answers PING.
alive() { [[ $(cli "$1" ping || true) == PONG ]]; }

# True when the pid file names a live redis-server process.
pid_alive() {
  local pidfile=$DIR/redis-$1.pid pid
  [[ -f $pidfile ]] || return 1
  pid=$(<"$pidfile")
  [[ $pid =~ ^[0-9]+$ ]] && [[ -r /proc/$pid/cmdline ]] && tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q "redis-server.*:$1"
}

# True when every node is up, agrees the cluster is ok, knows all nodes and all slots are served.
healthy() {
  local port info
  for port in "${PORTS[@]}"; do
    info=$(cli "$port" cluster info | tr -d '\r') || return 1
    grep -qx 'cluster_state:ok' <<<"$info" || return 1
    grep -qx "cluster_known_nodes:${NODE_COUNT}" <<<"$info" || return 1
    grep -qx 'cluster_slots_ok:16384' <<<"$info" || return 1
  done
}

stop_nodes() {
  local port pid deadline
  for port in "${PORTS[@]}"; do
    if alive "$port"; then cli "$port" shutdown nosave >/dev/null || true; fi
  done
  # Wait for our processes to go; a node that did not answer SHUTDOWN is ended by its own pid.
  deadline=$((SECONDS + 10))
  for port in "${PORTS[@]}"; do
    while pid_alive "$port" && ((SECONDS < deadline)); do sleep 0.1; done
    if pid_alive "$port"; then
      pid=$(<"$DIR/redis-$port.pid")
      log "node $port did not shut down; sending SIGKILL to pid $pid"
      kill -9 "$pid" 2>/dev/null || true
    fi
  done
  rm -rf "$DIR"
}

start_nodes() {
  local port
  for port in "${PORTS[@]}"; do
    if alive "$port"; then
      log "port $port already answers PING but is not part of a healthy cluster from $DIR; refusing to touch it"
      exit 1
    fi
  done
  mkdir -p "$DIR"
  for port in "${PORTS[@]}"; do
    redis-server \
      --port "$port" --bind "$HOST" --protected-mode yes \
      --daemonize yes --dir "$DIR" \
      --pidfile "$DIR/redis-$port.pid" --logfile "$DIR/redis-$port.log" \
      --cluster-enabled yes --cluster-config-file "$DIR/nodes-$port.conf" --cluster-node-timeout 2000 \
      --save "" --appendonly no 9>&-  # the daemon must not inherit the lock
  done
  local deadline=$((SECONDS + WAIT_SECONDS))
  for port in "${PORTS[@]}"; do
    until alive "$port"; do
      if ((SECONDS >= deadline)); then
        log "node $port did not start; its log:"
        tail -n 20 "$DIR/redis-$port.log" >&2 || true
        stop_nodes
        exit 1
      fi
      sleep 0.05
    done
  done
  local args=()
  for port in "${PORTS[@]}"; do args+=("$HOST:$port"); done
  if ! redis-cli --cluster create "${args[@]}" --cluster-replicas 0 --cluster-yes >"$DIR/create.log" 2>&1; then
    log "redis-cli --cluster create failed:"
    cat "$DIR/create.log" >&2
    stop_nodes
    exit 1
  fi
  until healthy; do
    if ((SECONDS >= deadline)); then
      log "cluster not ok after ${WAIT_SECONDS}s:"
      for port in "${PORTS[@]}"; do cli "$port" cluster info | grep -E 'state|known|slots_ok' >&2 || true; done
      stop_nodes
      exit 1
    fi
    sleep 0.1
  done
}

# One start/stop at a time per base port (the lock file lives beside the dir, not in it).
if command -v flock >/dev/null; then
  exec 9>"${TMPDIR:-/tmp}/lms-redis-cluster-${base}.lock"
  flock -w 60 9 || { log "another start/stop holds the lock"; exit 1; }
fi

case $cmd in
  start)
    if healthy && [[ -d $DIR ]]; then
      log "already running in $DIR"
    else
      if [[ -d $DIR ]]; then
        log "cleaning up a stale cluster dir $DIR"
        stop_nodes
      fi
      started=${EPOCHREALTIME/[.,]/}
      start_nodes
      log "cluster ok in $(((${EPOCHREALTIME/[.,]/} - started) / 1000)) ms ($DIR)"
    fi
    echo "$NODES"
    ;;
  stop)
    stop_nodes
    log "stopped ($NODES)"
    ;;
  status)
    if healthy; then
      echo "up: $NODES"
    elif [[ -d $DIR ]]; then
      up=()
      for port in "${PORTS[@]}"; do if alive "$port"; then up+=("$port"); fi; done
      echo "degraded: $DIR exists, nodes answering: ${up[*]:-none}"
      exit 1
    else
      echo "down"
      exit 1
    fi
    ;;
  *) usage ;;
esac
