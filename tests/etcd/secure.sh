#!/bin/bash
# One etcd member with client-certificate TLS, RBAC users and short-lived
# simple tokens; the conformance suite through https as a user whose role
# may only touch kvkit's prefix, then test_secure's cases against it.
. "${srcdir:-.}/etcd-lib.sh"
etcd_skip_unless_installed
for tool in openssl etcdctl; do
    if ! command -v $tool >/dev/null 2>&1; then
        echo "SKIP: $tool is not installed"
        exit 77
    fi
done
conf=${KVKIT_CONFORMANCE:-../conformance/kvkit-conformance}
if [ ! -x "$conf" ]; then
    echo "SKIP: $conf not built"
    exit 77
fi
TTL=2
CERTS=$(mktemp -d "${TMPDIR:-/tmp}/kvkit-etcd-certs.XXXXXX")
SERVER_PID=
secure_cleanup() {
    [ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null && wait "$SERVER_PID" 2>/dev/null
    etcd_cleanup
    rm -rf "$CERTS"
}
trap secure_cleanup EXIT
sh "${srcdir:-.}/../certs.sh" "$CERTS" || exit 1
# etcd 3.4's gateway answers 400 "CommonName of client sending a request
# against gateway will be ignored" to a client certificate with a CN once
# authentication is on: the client certificate kvkit presents has none.
(
    cd "$CERTS" || exit 1
    openssl req -new -key client.key -subj "/O=kvkit test client" -out nocn.csr &&
        printf 'basicConstraints=CA:FALSE\nkeyUsage=digitalSignature\nextendedKeyUsage=clientAuth\n' \
            >nocn.ext &&
        openssl x509 -req -in nocn.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 \
            -extfile nocn.ext -out client-nocn.pem 2>/dev/null
) || exit 1

ETCD_SCHEME=https
ETCD_TLS_FLAGS="--cert-file $CERTS/server.pem --key-file $CERTS/server.key --client-cert-auth
 --trusted-ca-file $CERTS/ca.pem --auth-token simple --auth-token-ttl $TTL"
ETCD_CURL_TLS="--cacert $CERTS/ca.pem --cert $CERTS/client-nocn.pem --key $CERTS/client.key"
etcd_cluster 1 || exit 1
trap secure_cleanup EXIT

ctl() {
    etcdctl --endpoints "$ETCD_EPS" --cacert "$CERTS/ca.pem" --cert "$CERTS/client.pem" \
        --key "$CERTS/client.key" "$@" >/dev/null
}
ctl user add root:root-pw-not-used-by-kvkit &&
    ctl user grant-role root root &&
    ctl role add kvkit-rw &&
    ctl role grant-permission kvkit-rw --prefix=true readwrite kvkit/ &&
    ctl user add kvkit:s3cret-Pw &&
    ctl user grant-role kvkit kvkit-rw &&
    ctl auth enable || exit 1

# a TLS server whose certificate (signed by the right CA) names another host
port=$(etcd_free_port)
openssl s_server -quiet -accept "127.0.0.1:$port" -cert "$CERTS/wronghost.pem" \
    -key "$CERTS/wronghost.key" -www </dev/null >/dev/null 2>&1 &
SERVER_PID=$!

umask 077
printf 's3cret-Pw\n' >"$CERTS/kvkit.pw"
store="etcd:$ETCD_EPS?cacert=$CERTS/ca.pem&cert=$CERTS/client-nocn.pem&key=$CERTS/client.key"
store="$store&user=kvkit&password_file=$CERTS/kvkit.pw"
echo "conformance: $store"
KVKIT_CONFORMANCE_REQUIRE=snapshot "$conf" "$store" || exit 1

KVKIT_TEST_CERTS=$CERTS KVKIT_TEST_WRONGHOST="https://127.0.0.1:$port" KVKIT_TEST_TOKEN_TTL=$TTL \
    ./test_secure
