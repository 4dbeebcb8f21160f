#!/bin/bash
# The backend conformance suite against one fresh etcd member.
. "${srcdir:-.}/etcd-lib.sh"
etcd_skip_unless_installed
conf=${KVKIT_CONFORMANCE:-../conformance/kvkit-conformance}
if [ ! -x "$conf" ]; then
    echo "SKIP: $conf not built"
    exit 77
fi
etcd_cluster 1 || exit 1
# etcd reads an iteration at one revision: hold it to the view cases
KVKIT_CONFORMANCE_REQUIRE=snapshot
export KVKIT_CONFORMANCE_REQUIRE
"$conf" "etcd:$ETCD_EPS"
