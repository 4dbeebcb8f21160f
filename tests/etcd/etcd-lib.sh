# shellcheck shell=bash
# etcd-lib.sh - start and stop throw-away etcd members for the tests.
# Sourced by the test scripts.  Members listen on free loopback ports, keep
# their data in a temporary directory and use fast election timings; they
# are stopped by PID on exit, whatever happened (trap).
#
#   etcd_cluster N      start N members; sets ETCD_EPS (comma-separated
#                       client URLs), ETCD_EP1..N, ETCD_DIR
#   etcd_kill I SIG     signal member I and wait for it to be gone
#   etcd_restart I      start member I again on its data dir
#   etcd_leader         print the index (1..N) of the current leader
#   etcd_cleanup        stop everything (installed as the EXIT trap)

ETCD_N=0
ETCD_DIR=
ETCD_FLAGS="--heartbeat-interval 10 --election-timeout 100 --logger zap --log-level error"
# For a TLS cluster, before etcd_cluster: ETCD_SCHEME=https, ETCD_TLS_FLAGS
# (etcd's --cert-file ... flags) and ETCD_CURL_TLS (curl's --cacert ...).
ETCD_SCHEME=${ETCD_SCHEME:-http}
ETCD_TLS_FLAGS=${ETCD_TLS_FLAGS:-}
ETCD_CURL_TLS=${ETCD_CURL_TLS:-}

etcd_skip_unless_installed() {
    if ! command -v etcd >/dev/null 2>&1; then
        echo "SKIP: etcd is not installed (Debian package etcd-server)"
        exit 77
    fi
    if ! command -v curl >/dev/null 2>&1; then
        echo "SKIP: curl is not installed"
        exit 77
    fi
}

# A free loopback TCP port: a random one below Linux's ephemeral range
# (32768+, where outgoing connections take theirs) that nobody listens on
# (bash's /dev/tcp connect fails) and not handed out before in this run.
ETCD_PORTS_USED=" "
etcd_free_port() {
    local p
    while :; do
        p=$((12000 + (RANDOM * 32768 + RANDOM) % 20000))
        case "$ETCD_PORTS_USED" in *" $p "*) continue ;; esac
        if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
            ETCD_PORTS_USED="$ETCD_PORTS_USED$p "
            echo "$p"
            return 0
        fi
    done
}

etcd_cleanup() {
    local i pid
    for i in $(seq 1 "$ETCD_N"); do
        pid=$(cat "$ETCD_DIR/m$i.pid" 2>/dev/null) || continue
        kill -KILL "$pid" 2>/dev/null
        wait "$pid" 2>/dev/null
    done
    if [ -n "$ETCD_DIR" ] && [ -z "$KEEP_ETCD_DIR" ]; then
        rm -rf "$ETCD_DIR"
    fi
}

etcd_start_member() {
    local i=$1
    # shellcheck disable=SC2086
    etcd --name "m$i" --data-dir "$ETCD_DIR/m$i" \
        --listen-client-urls "$ETCD_SCHEME://127.0.0.1:$(cat "$ETCD_DIR/m$i.cport")" \
        --advertise-client-urls "$ETCD_SCHEME://127.0.0.1:$(cat "$ETCD_DIR/m$i.cport")" \
        --listen-peer-urls "http://127.0.0.1:$(cat "$ETCD_DIR/m$i.pport")" \
        --initial-advertise-peer-urls "http://127.0.0.1:$(cat "$ETCD_DIR/m$i.pport")" \
        --initial-cluster "$(cat "$ETCD_DIR/ic")" --initial-cluster-state new \
        --initial-cluster-token "kvkit-test-$$" $ETCD_FLAGS $ETCD_TLS_FLAGS \
        >>"$ETCD_DIR/m$i.log" 2>&1 &
    echo $! >"$ETCD_DIR/m$i.pid"
}

# Wait (at most 15 s) until member I answers {"health":"true"}.
etcd_wait_healthy() {
    local i=$1 url t=0
    url="$ETCD_SCHEME://127.0.0.1:$(cat "$ETCD_DIR/m$i.cport")/health"
    # shellcheck disable=SC2086
    while [ "$(curl -s -m 1 $ETCD_CURL_TLS "$url")" != '{"health":"true"}' ]; do
        t=$((t + 1))
        if [ $t -gt 300 ] || ! kill -0 "$(cat "$ETCD_DIR/m$i.pid")" 2>/dev/null; then
            echo "etcd member m$i did not become healthy; its log:" >&2
            cat "$ETCD_DIR/m$i.log" >&2
            return 1
        fi
        sleep 0.05
    done
}

# Start N members; a port taken meanwhile by someone else makes a member
# die at start-up, so try again with fresh ports (three times).
etcd_cluster() {
    local try
    trap etcd_cleanup EXIT
    trap 'exit 1' INT TERM
    for try in 1 2 3; do
        etcd_cluster_once "$1" && return 0
        echo "etcd cluster start-up failed (attempt $try)" >&2
        etcd_cleanup
    done
    return 1
}

etcd_cluster_once() {
    local n=$1 i ic=""
    ETCD_N=$n
    ETCD_DIR=$(mktemp -d "${TMPDIR:-/tmp}/kvkit-etcd.XXXXXX")
    ETCD_EPS=""
    for i in $(seq 1 "$n"); do
        etcd_free_port >"$ETCD_DIR/m$i.cport"
        etcd_free_port >"$ETCD_DIR/m$i.pport"
        ic="$ic${ic:+,}m$i=http://127.0.0.1:$(cat "$ETCD_DIR/m$i.pport")"
        eval "ETCD_EP$i=$ETCD_SCHEME://127.0.0.1:$(cat "$ETCD_DIR/m$i.cport")"
        ETCD_EPS="$ETCD_EPS${ETCD_EPS:+,}$ETCD_SCHEME://127.0.0.1:$(cat "$ETCD_DIR/m$i.cport")"
    done
    echo "$ic" >"$ETCD_DIR/ic"
    for i in $(seq 1 "$n"); do
        etcd_start_member "$i"
    done
    for i in $(seq 1 "$n"); do
        etcd_wait_healthy "$i" || return 1
    done
    export ETCD_EPS
}

etcd_kill() {
    local i=$1 sig=$2 pid
    pid=$(cat "$ETCD_DIR/m$i.pid")
    kill "-$sig" "$pid"
    wait "$pid" 2>/dev/null
    return 0
}

etcd_restart() {
    etcd_start_member "$1"
    etcd_wait_healthy "$1"
}

# GET-style JSON call to member I: etcd_post I PATH BODY
etcd_post() {
    # shellcheck disable=SC2086
    curl -s -m 2 $ETCD_CURL_TLS "$ETCD_SCHEME://127.0.0.1:$(cat "$ETCD_DIR/m$1.cport")$2" -d "$3"
}

etcd_leader() {
    local i status me leader
    for i in $(seq 1 "$ETCD_N"); do
        status=$(etcd_post "$i" /v3/maintenance/status '{}') || continue
        me=$(printf '%s' "$status" | sed -n 's/.*"member_id":"\([0-9]*\)".*/\1/p')
        leader=$(printf '%s' "$status" | sed -n 's/.*"leader":"\([0-9]*\)".*/\1/p')
        if [ -n "$me" ] && [ "$me" = "$leader" ]; then
            echo "$i"
            return 0
        fi
    done
    return 1
}

# The store revision member I has applied (local, no quorum needed).
etcd_revision() {
    etcd_post "$1" /v3/maintenance/status '{}' | sed -n 's/.*"revision":"\([0-9]*\)".*/\1/p'
}
