#!/bin/sh
# The backend conformance suite against a LevelDB store in a fresh directory.
conformance=../conformance/kvkit-conformance
if [ ! -x "$conformance" ]; then
    echo "conformance.sh: $conformance not built" >&2
    exit 99
fi
tmp=$(mktemp -d "${TMPDIR:-/tmp}/kvkit-leveldb-conf-XXXXXX") || exit 99
trap 'rm -rf "$tmp"' EXIT INT TERM
"$conformance" "leveldb:$tmp/db"
status=$?
# and once more with every option changed from its default, on a reopened store
[ $status -eq 0 ] && "$conformance" \
    "leveldb:$tmp/db?sync=true&compression=none&bloom_bits=0&cache_mb=4&paranoid_checks=true"
