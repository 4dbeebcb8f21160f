# lib.sh - helpers for the kvkit(1) end-to-end tests (sourced).
#
# Each test script defines functions named test_<command>_<case> and ends
# with `run_tests`.  A test calls `kv ARGS...` (runs the tool, capturing
# $out, $err and $status) and asserts with the expect_* helpers; the first
# failed assertion fails that test, the others still run.

KVKIT=${KVKIT:-../../tools/kvkit}
TMP=$(mktemp -d "${TMPDIR:-/tmp}/kvkit-cli.XXXXXX") || exit 99
trap 'rm -rf "$TMP"' EXIT
unset KVKIT_STORE
failed=0
current=

kv() {
    "$KVKIT" "$@" >"$TMP/out" 2>"$TMP/err"
    status=$?
    out=$(cat "$TMP/out")
    err=$(cat "$TMP/err")
}

# kv with stdin from a file: kv_in FILE ARGS...
kv_in() {
    local file=$1
    shift
    "$KVKIT" "$@" <"$file" >"$TMP/out" 2>"$TMP/err"
    status=$?
    out=$(cat "$TMP/out")
    err=$(cat "$TMP/err")
}

fail() {
    echo "FAIL $current: $*" >&2
    echo "  stdout: $out" >&2
    echo "  stderr: $err" >&2
    test_failed=1
}

expect_status() {
    [ "$status" = "$1" ] || fail "exit status $status, expected $1"
}

expect_out() {
    [ "$out" = "$1" ] || fail "stdout differs; expected: $1"
}

expect_out_has() {
    case $out in *"$1"*) ;; *) fail "stdout lacks: $1" ;; esac
}

expect_err_has() {
    case $err in *"$1"*) ;; *) fail "stderr lacks: $1" ;; esac
}

expect_err_empty() {
    [ -z "$err" ] || fail "stderr not empty"
}

# A fresh LevelDB store string (a new directory each call, also in $(...)).
new_store() {
    local d
    d=$(mktemp -d "$TMP/db.XXXXXX") || exit 99
    echo "leveldb:$d"
}

have_backend() {
    "$KVKIT" backends --json 2>/dev/null | grep -q "\"name\":\"$1\",[^}]*\"status\":\"OK\""
}

run_tests() {
    local t
    for t in $(declare -F | awk '{print $3}' | grep '^test_'); do
        current=$t
        test_failed=0
        "$t"
        if [ "$test_failed" = 0 ]; then
            echo "PASS $t"
        else
            failed=$((failed + 1))
        fi
    done
    [ "$failed" = 0 ] || { echo "$failed test(s) failed" >&2; exit 1; }
    exit 0
}
