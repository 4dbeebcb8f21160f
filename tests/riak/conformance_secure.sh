#!/bin/sh
# The backend conformance suite against riak over https:// with Riak
# security: the emulator serves TLS, requires a client certificate and basic
# auth; the store verifies the server with cacert, presents cert/key and
# reads its password from a password_file.  Certificates: tests/certs.sh.
conformance=../conformance/kvkit-conformance
if [ ! -x "$conformance" ]; then
    echo "conformance_secure.sh: $conformance not built" >&2
    exit 99
fi
python=${PYTHON:-python3}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/kvkit-riak-tls-XXXXXX") || exit 99
pid=
trap '[ -n "$pid" ] && kill $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$tmp"' EXIT INT TERM
sh "${srcdir:-.}/../certs.sh" "$tmp/certs" || {
    echo "conformance_secure.sh: tests/certs.sh failed (is openssl installed?)" >&2
    exit 99
}
(umask 077 && echo 'conf-pw' > "$tmp/password")
c=$tmp/certs
# tombstones are reaped at once here: conformance.sh covers them
"$python" "${srcdir:-.}/riak_emulator.py" --host 127.0.0.1 --port 0 \
    --port-file "$tmp/port" --delete-mode immediate \
    --tls-cert "$c/server.pem" --tls-key "$c/server.key" --tls-client-ca "$c/ca.pem" \
    --user kvkit:conf-pw >/dev/null 2>"$tmp/emu.log" &
pid=$!
i=0
while [ ! -s "$tmp/port" ]; do
    i=$((i + 1))
    if [ $i -gt 100 ] || ! kill -0 $pid 2>/dev/null; then
        echo "conformance_secure.sh: the emulator did not start:" >&2
        cat "$tmp/emu.log" >&2
        exit 99
    fi
    sleep 0.1
done
port=$(cat "$tmp/port")
"$conformance" "riak:https://127.0.0.1:$port?cacert=$c/ca.pem&cert=$c/client.pem&key=$c/client.key&user=kvkit&password_file=$tmp/password&delete_mode=immediate"
