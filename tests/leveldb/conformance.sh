#!/bin/sh
# The backend conformance suite against LevelDB stores in fresh directories:
# once with the defaults, once with every option changed.
#
# Each run gets a directory of its own: kvkit-conformance opens the store
# once in its main process before Check forks the cases, and LevelDB's
# background compaction thread (started when a reopened database needs
# compaction) does not survive fork(), so a case's close would wait forever.
conformance=../conformance/kvkit-conformance
if [ ! -x "$conformance" ]; then
    echo "conformance.sh: $conformance not built" >&2
    exit 99
fi
tmp=$(mktemp -d "${TMPDIR:-/tmp}/kvkit-leveldb-conf-XXXXXX") || exit 99
trap 'rm -rf "$tmp"' EXIT INT TERM
KVKIT_CONFORMANCE_REQUIRE=snapshot
export KVKIT_CONFORMANCE_REQUIRE
"$conformance" "leveldb:$tmp/defaults" &&
"$conformance" \
    "leveldb:$tmp/options?sync=true&compression=none&bloom_bits=0&cache_mb=4&paranoid_checks=true"
