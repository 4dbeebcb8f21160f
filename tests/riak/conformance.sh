#!/bin/sh
# The backend conformance suite against riak: on the Riak emulator.
conformance=../conformance/kvkit-conformance
if [ ! -x "$conformance" ]; then
    echo "conformance.sh: $conformance not built" >&2
    exit 99
fi
python=${PYTHON:-python3}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/kvkit-riak-conf-XXXXXX") || exit 99
"$python" "${srcdir:-.}/riak_emulator.py" --host 127.0.0.1 --port 0 \
    --port-file "$tmp/port" >/dev/null 2>"$tmp/emu.log" &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$tmp"' EXIT INT TERM
i=0
while [ ! -s "$tmp/port" ]; do
    i=$((i + 1))
    if [ $i -gt 100 ] || ! kill -0 $pid 2>/dev/null; then
        echo "conformance.sh: the emulator did not start:" >&2
        cat "$tmp/emu.log" >&2
        exit 99
    fi
    sleep 0.1
done
port=$(cat "$tmp/port")
# 1. tombstones on (the emulator's default: Riak's delete_mode of 3000 ms,
#    so deleted keys stay in $bucket/$key answers) and small pages, so the
#    plugin's tombstone checks and paging are exercised
"$conformance" "riak:http://127.0.0.1:$port?max_results=7&timeout_ms=20000" || exit 1
# 2. the defaults against a cluster that reaps at once (delete_mode
#    immediate on both sides: listings are trusted, no per-key check)
curl_config() { # JSON: PUT /_emu/config with python's standard library
    "$python" -c 'import sys, urllib.request as u
u.urlopen(u.Request(sys.argv[1], sys.argv[2].encode(), method="PUT"))' \
        "http://127.0.0.1:$port/_emu/config" "$1"
}
curl_config '{"delete_mode": "immediate"}' || exit 99
"$conformance" "riak:http://127.0.0.1:$port?delete_mode=immediate"
