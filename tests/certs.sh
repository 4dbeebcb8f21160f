#!/bin/sh
# certs.sh DIR - make throw-away TLS certificates for the network backend
# tests (etcd, the Riak emulator) with the openssl command.  Writes into DIR:
#   ca.pem ca.key          a test certificate authority
#   server.pem server.key  a server certificate for 127.0.0.1 and localhost
#   client.pem client.key  a client certificate (CN kvkit-client) for mutual TLS
#   wronghost.pem wronghost.key  signed by ca.pem, but for host "wrong.invalid"
#   other-ca.pem other-ca.key    another authority, which signed nothing above
# Every certificate is valid for 2 days; keys are unencrypted EC P-256.
# Idempotent: an existing DIR/ca.pem is kept.
set -eu
dir=${1:?usage: certs.sh DIR}
mkdir -p "$dir"
cd "$dir"
[ -f ca.pem ] && [ -f server.pem ] && [ -f client.pem ] && exit 0
umask 077

key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null; }

authority() { # NAME CN
    key "$1.key"
    openssl req -x509 -new -key "$1.key" -days 2 -subj "/CN=$2" -out "$1.pem" \
        -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign"
}

leaf() { # NAME CN SAN EXTENDED_USAGE
    key "$1.key"
    openssl req -new -key "$1.key" -subj "/CN=$2" -out "$1.csr"
    printf 'basicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=%s\n%s\n' \
        "$4" "$3" > "$1.ext"
    openssl x509 -req -in "$1.csr" -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 \
        -extfile "$1.ext" -out "$1.pem" 2>/dev/null
    rm -f "$1.csr" "$1.ext"
}

authority ca "kvkit test CA"
authority other-ca "kvkit other test CA"
leaf server "127.0.0.1" "subjectAltName=IP:127.0.0.1,DNS:localhost" "serverAuth,clientAuth"
leaf client "kvkit-client" "subjectAltName=DNS:kvkit-client" "clientAuth"
leaf wronghost "wrong.invalid" "subjectAltName=DNS:wrong.invalid" "serverAuth"
# readable by the test's own servers only
chmod 600 ./*.key
