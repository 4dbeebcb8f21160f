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
"$conf" "etcd:$ETCD_EPS"
