#!/usr/bin/env bash
# Several `sessionrec serve` processes over one Redis, behind nginx, in the foreground.
#
#   deploy/run-behind-nginx.sh --artifact DIR [--processes 2] [--listen 127.0.0.1:8080]
#       [--backend-port 8001] [--store redis://HOST:PORT/DB | --redis-port 6380]
#       [--redis-dir DIR] [--run-dir DIR] [--nginx-workers 1] [-- SERVE OPTIONS...]
#
# - Redis: without --store it starts redis-server on 127.0.0.1:--redis-port with
#   `appendonly yes` and `appendfsync always`, so an event is on disk before its request is
#   answered; its data lives in --redis-dir (default: redis/ in sessionrec's cache folder)
#   and survives this script.
# - The service: --processes copies of `sessionrec serve` on 127.0.0.1, on consecutive
#   ports from --backend-port, each with the options after `--` (e.g. --threads 1).
#   SESSIONREC_API_KEY and the other SESSIONREC_* variables reach every process.
# - nginx (Debian's /usr/sbin/nginx, unprivileged): listens on --listen and spreads
#   requests over the processes; its config comes from nginx.conf.template beside this
#   script, its pid file, logs and temp folders go to --run-dir (default: a temporary
#   folder, removed on exit; logs/ in it has every component's log).
#
# Ctrl-C or SIGTERM stops nginx, then the service processes, then Redis. Should any of
# them exit on its own, the others are stopped and the script exits 1. A set-up problem
# (nginx or redis-server missing, a bad option, a component that does not start) is one
# line on stderr and exit 2.
#
# Commands: $SESSIONREC (default: `sessionrec` on PATH, else .venv/bin/sessionrec of this
# repository), $NGINX (default /usr/sbin/nginx, else `nginx` on PATH), $REDIS_SERVER
# (default `redis-server` on PATH).

# Functions here run from traps and from `wait_until`, which shellcheck cannot follow.
# shellcheck disable=SC2317
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ME="run-behind-nginx.sh"
START_TIMEOUT_S="${START_TIMEOUT_S:-120}"
STOP_TIMEOUT_S=15

die() {
    echo "$ME: $*" >&2
    exit 2
}

usage() {
    # The comment at the top of this file, up to its first blank line.
    awk 'NR > 1 && !/^#/ { exit } NR > 1 { sub(/^# ?/, ""); print }' "${BASH_SOURCE[0]}"
    exit 0
}

# -- options ----------------------------------------------------------------------------
artifact=""
processes=2
listen="127.0.0.1:8080"
backend_port=8001
store=""
redis_port=6380
redis_dir="${SESSIONREC_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/sessionrec}/redis"
run_dir=""
nginx_workers=1
serve_options=()

while (($#)); do
    case "$1" in
        --artifact) artifact="${2:?--artifact needs a folder}"; shift 2 ;;
        --processes) processes="${2:?--processes needs a number}"; shift 2 ;;
        --listen) listen="${2:?--listen needs ADDRESS:PORT}"; shift 2 ;;
        --backend-port) backend_port="${2:?--backend-port needs a port}"; shift 2 ;;
        --store) store="${2:?--store needs a redis:// URL}"; shift 2 ;;
        --redis-port) redis_port="${2:?--redis-port needs a port}"; shift 2 ;;
        --redis-dir) redis_dir="${2:?--redis-dir needs a folder}"; shift 2 ;;
        --run-dir) run_dir="${2:?--run-dir needs a folder}"; shift 2 ;;
        --nginx-workers) nginx_workers="${2:?--nginx-workers needs a number}"; shift 2 ;;
        -h | --help) usage ;;
        --) shift; serve_options=("$@"); break ;;
        *) die "unknown option $1 (--help lists them)" ;;
    esac
done

[[ -n "$artifact" ]] || die "no artifact folder given: use --artifact DIR (from \`sessionrec train\`)"
[[ -d "$artifact" ]] || die "no such artifact folder: $artifact"
artifact="$(cd "$artifact" && pwd)"
for name in processes backend_port redis_port nginx_workers; do
    [[ "${!name}" =~ ^[1-9][0-9]*$ ]] || die "--${name//_/-} must be a positive whole number, got '${!name}'"
done
((backend_port + processes - 1 <= 65535)) || die "--backend-port $backend_port leaves no room for $processes processes"
[[ "$listen" =~ ^.+:[0-9]+$ ]] || die "--listen must be ADDRESS:PORT, got '$listen'"
if [[ -n "$store" && "$store" != redis://* && "$store" != rediss://* ]]; then
    die "--store must be a redis:// URL (processes share sessions through it), got '$store'"
fi

# -- the programs ------------------------------------------------------------------------
find_nginx() {
    if [[ -n "${NGINX:-}" ]]; then
        command -v "$NGINX" || true
    elif [[ -x /usr/sbin/nginx ]]; then
        echo /usr/sbin/nginx
    else
        command -v nginx || true
    fi
}
nginx_bin="$(find_nginx)"
[[ -n "$nginx_bin" ]] || die "nginx not found (${NGINX:-/usr/sbin/nginx}); install Debian's package: apt-get install nginx (\`make system-deps\` does)"

redis_bin=""
if [[ -z "$store" ]]; then
    redis_bin="$(command -v "${REDIS_SERVER:-redis-server}" || true)"
    [[ -n "$redis_bin" ]] || die "redis-server not found (${REDIS_SERVER:-redis-server}); install Debian's package: apt-get install redis-server (\`make system-deps\` does), or give --store redis://HOST:PORT/DB"
fi

sessionrec_bin="${SESSIONREC:-$(command -v sessionrec || echo "$(dirname "$HERE")/.venv/bin/sessionrec")}"
command -v "$sessionrec_bin" >/dev/null || die "sessionrec not found ($sessionrec_bin); \`make install\` builds .venv, or set SESSIONREC"

# -- stopping everything -----------------------------------------------------------------
redis_pid=""
nginx_pid=""
serve_pids=()
keep_run_dir=1

stop() {
    # SIGTERM to each pid, then wait; whoever is still there after STOP_TIMEOUT_S is killed.
    local pid watchdog
    for pid in "$@"; do
        kill -TERM "$pid" 2>/dev/null || true
    done
    for pid in "$@"; do
        (sleep "$STOP_TIMEOUT_S" && kill -KILL "$pid" 2>/dev/null) &
        watchdog=$!
        wait "$pid" 2>/dev/null || true
        kill "$watchdog" 2>/dev/null || true
        wait "$watchdog" 2>/dev/null || true
    done
}

cleanup() {
    trap - INT TERM EXIT
    # The proxy first (no new requests), then the service, then the store it writes to.
    [[ -z "$nginx_pid" ]] || stop "$nginx_pid"
    ((${#serve_pids[@]} == 0)) || stop "${serve_pids[@]}"
    [[ -z "$redis_pid" ]] || stop "$redis_pid"
    ((keep_run_dir)) || rm -rf "$run_dir"
}
trap 'cleanup; exit 130' INT
trap 'cleanup; exit 143' TERM
trap cleanup EXIT

if [[ -z "$run_dir" ]]; then
    run_dir="$(mktemp -d "${TMPDIR:-/tmp}/sessionrec-deploy.XXXXXX")"
    keep_run_dir=0
fi
mkdir -p "$run_dir/logs" "$run_dir/nginx-temp"
run_dir="$(cd "$run_dir" && pwd)"
# nginx run by root gives its workers to `nobody`, who must be able to reach the temp folders.
chmod 711 "$run_dir"

fail_start() {
    # One line saying what did not start, then the end of its log.
    local what="$1" log="$2"
    echo "$ME: $what did not start; the end of its log:" >&2
    tail -n 15 "$log" >&2 2>/dev/null || true
    exit 2
}

http_ready() {
    # 0 when GET http://HOST:PORT/readyz answers 200 (bash's /dev/tcp: no curl needed).
    local host="$1" port="$2"
    # shellcheck disable=SC2016  # expanded by the inner bash, from its arguments
    timeout 3 bash -c '
        exec 3<>"/dev/tcp/$0/$1" || exit 1
        printf "GET /readyz HTTP/1.0\r\nHost: %s\r\n\r\n" "$0" >&3
        IFS= read -r status <&3 && [[ "$status" == *" 200 "* ]]
    ' "$host" "$port" 2>/dev/null
}

redis_ready() {
    # shellcheck disable=SC2016  # expanded by the inner bash, from its arguments
    timeout 3 bash -c '
        exec 3<>"/dev/tcp/127.0.0.1/$0" || exit 1
        printf "PING\r\n" >&3
        IFS= read -r reply <&3 && [[ "$reply" == "+PONG"* ]]
    ' "$1" 2>/dev/null
}

wait_until() {
    # Poll "$@" until it succeeds; fail if process $pid exits or START_TIMEOUT_S passes.
    local what="$1" pid="$2" log="$3"
    shift 3
    local deadline=$((SECONDS + START_TIMEOUT_S))
    until "$@"; do
        kill -0 "$pid" 2>/dev/null || fail_start "$what" "$log"
        ((SECONDS < deadline)) || fail_start "$what (not ready within ${START_TIMEOUT_S} s)" "$log"
        sleep 0.2
    done
}

# -- Redis -------------------------------------------------------------------------------
if [[ -z "$store" ]]; then
    mkdir -p "$redis_dir"
    chmod 700 "$redis_dir"  # session token hashes and events
    # AOF with an fsync before every reply: no acknowledged write is lost, even when the
    # machine dies. RDB snapshots are off: the append-only file is the durable copy, and a
    # snapshot's fork would only add latency.
    "$redis_bin" --bind 127.0.0.1 --port "$redis_port" --dir "$redis_dir" \
        --appendonly yes --appendfsync always --save "" --daemonize no \
        --logfile "$run_dir/logs/redis.log" &
    redis_pid=$!
    wait_until "redis-server on 127.0.0.1:$redis_port" "$redis_pid" "$run_dir/logs/redis.log" \
        redis_ready "$redis_port"
    store="redis://127.0.0.1:$redis_port/0"
fi

# -- the service processes ---------------------------------------------------------------
backends=()
for ((i = 0; i < processes; i++)); do
    port=$((backend_port + i))
    "$sessionrec_bin" serve --artifact "$artifact" --store "$store" \
        --host 127.0.0.1 --port "$port" "${serve_options[@]}" \
        >"$run_dir/logs/serve-$port.log" 2>&1 &
    serve_pids+=($!)
    backends+=("$port")
done
for ((i = 0; i < processes; i++)); do
    port="${backends[i]}"
    wait_until "sessionrec serve on 127.0.0.1:$port" "${serve_pids[i]}" \
        "$run_dir/logs/serve-$port.log" http_ready 127.0.0.1 "$port"
done

# -- nginx -------------------------------------------------------------------------------
: >"$run_dir/upstream.conf"
for port in "${backends[@]}"; do
    echo "server 127.0.0.1:$port max_fails=1 fail_timeout=2s;" >>"$run_dir/upstream.conf"
done
sed -e "s|@RUN_DIR@|$run_dir|g" -e "s|@LISTEN@|$listen|g" \
    -e "s|@NGINX_WORKERS@|$nginx_workers|g" \
    "$HERE/nginx.conf.template" >"$run_dir/nginx.conf"
# -e: even the errors of start-up (before the config names its log) go to the run folder.
"$nginx_bin" -t -q -p "$run_dir" -c "$run_dir/nginx.conf" -e "$run_dir/logs/nginx-error.log" ||
    fail_start "nginx (its config)" "$run_dir/logs/nginx-error.log"
"$nginx_bin" -p "$run_dir" -c "$run_dir/nginx.conf" -e "$run_dir/logs/nginx-error.log" \
    -g "daemon off;" &
nginx_pid=$!
proxy_host="${listen%:*}"
proxy_port="${listen##*:}"
[[ "$proxy_host" != "*" && "$proxy_host" != "0.0.0.0" ]] || proxy_host=127.0.0.1
proxy_host="${proxy_host#[}"
proxy_host="${proxy_host%]}"
wait_until "nginx on $listen" "$nginx_pid" "$run_dir/logs/nginx-error.log" \
    http_ready "$proxy_host" "$proxy_port"

last=$((backend_port + processes - 1))
echo "sessionrec: $processes processes (127.0.0.1:$backend_port-$last) over $store" \
    "behind nginx on http://$listen; logs in $run_dir/logs; Ctrl-C stops"

# -- until one of them stops -------------------------------------------------------------
wait -n || true
for pid in "$nginx_pid" "${serve_pids[@]}" $redis_pid; do
    kill -0 "$pid" 2>/dev/null || echo "$ME: process $pid exited; stopping the others" >&2
done
exit 1
