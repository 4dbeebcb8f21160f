#!/bin/bash
# Failover on a 3-member cluster: while a writer saves and re-saves 500
# documents through a store listing all three endpoints, the leader is
# killed with SIGKILL.  Afterwards etcd_failover verify checks every
# acknowledged save, the index entries and each outcome-unknown save,
# reading through the restarted member alone once it has caught up.
# Variants (see failover-follower.sh, failover-quorum.sh): FAILOVER_VIA,
# FAILOVER_QUORUM, FAILOVER_KILL_AT (saves before the kill, default 300).
. "${srcdir:-.}/etcd-lib.sh"
etcd_skip_unless_installed
etcd_cluster 3 || exit 1

leader_now() {
    local l
    for _ in $(seq 1 100); do
        l=$(etcd_leader) && { echo "$l"; return 0; }
        sleep 0.02
    done
    return 1
}

# FAILOVER_VIA=leader (default): the store's first endpoint is the leader,
# so the writer loses its connection and moves on.  FAILOVER_VIA=follower:
# the first endpoint is a follower that forwards to the leader, so a write
# in flight hangs until the client's timeout.
leader=$(leader_now) || { echo "no leader found"; exit 1; }
eps=""
for i in 1 2 3; do
    var="ETCD_EP$i"
    if [ "$i" = "$leader" ]; then
        if [ "${FAILOVER_VIA:-leader}" = leader ]; then
            eps="${!var}${eps:+,}$eps"
        else
            eps="$eps${eps:+,}${!var}"
        fi
    elif [ "${FAILOVER_VIA:-leader}" = leader ]; then
        eps="$eps${eps:+,}${!var}"
    else
        eps="${!var}${eps:+,}$eps"
    fi
done
echo "writer endpoints: $eps (leader m$leader)"

log="$ETCD_DIR/writes.log"
: >"$log"
./etcd_failover write "$eps" "$log" &
writer=$!
trap 'kill -KILL "$writer" 2>/dev/null; wait "$writer" 2>/dev/null; etcd_cleanup' EXIT

lines() { wc -l <"$log"; }
while [ "$(lines)" -lt "${FAILOVER_KILL_AT:-300}" ]; do
    if ! kill -0 "$writer" 2>/dev/null; then
        echo "writer ended early"
        exit 1
    fi
    sleep 0.02
done
leader=$(leader_now) || { echo "no leader found"; exit 1; }
killed_at=$(lines)
echo "killing leader m$leader (pid $(cat "$ETCD_DIR/m$leader.pid")) after $killed_at saves"
etcd_kill "$leader" KILL

if [ -n "$FAILOVER_QUORUM" ]; then
    # FAILOVER_QUORUM=1: kill a second member, so no quorum is left; saves
    # now end outcome-unknown (or fail) until both come back
    other=$(( leader % 3 + 1 ))
    echo "killing m$other too: no quorum"
    etcd_kill "$other" KILL
    for _ in $(seq 1 600); do
        grep -q -v ' OK$' "$log" && break
        sleep 0.05
    done
    echo "after $(lines) saves: $(grep -c -v ' OK$' "$log") not acknowledged; restarting m$other"
    etcd_restart "$other" || exit 1
fi

if ! wait "$writer"; then
    echo "writer failed"
    exit 1
fi
echo "restarting m$leader"
etcd_restart "$leader" || exit 1

# the restarted member catches up: same applied revision as the others
want=""
for _ in $(seq 1 200); do
    revs=""
    for i in 1 2 3; do revs="$revs $(etcd_revision "$i")"; done
    set -- $revs
    if [ "$#" -eq 3 ] && [ "$1" = "$2" ] && [ "$2" = "$3" ]; then
        want=$1
        break
    fi
    sleep 0.05
done
if [ -z "$want" ]; then
    echo "members did not converge: revisions$revs"
    exit 1
fi
echo "all members at revision $want"

ep_var="ETCD_EP$leader"
./etcd_failover verify "${!ep_var}" "$log" "$killed_at"
