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
# small pages so paging is exercised, then the defaults
"$conformance" "riak:http://127.0.0.1:$port?max_results=7&timeout_ms=20000" &&
"$conformance" "riak:http://127.0.0.1:$port"
