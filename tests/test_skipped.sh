#!/bin/sh
# skipped.sh names every skipped test with its reason, says so when none
# was skipped, and fails the run under KVKIT_FAIL_ON_SKIP.
here=$(cd "${srcdir:-$(dirname "$0")}" && pwd)
tmp=$(mktemp -d "${TMPDIR:-/tmp}/kvkit-skipped-XXXXXX") || exit 99
trap 'rm -rf "$tmp"' EXIT INT TERM
fail() { echo "FAIL: $*"; exit 1; }

mkdir -p "$tmp/a" "$tmp/b"
printf ':test-result: PASS\n' > "$tmp/a/ok.trs"
printf 'all good\n' > "$tmp/a/ok.log"
out=$(KVKIT_FAIL_ON_SKIP= sh "$here/skipped.sh" "$tmp") || fail "exit $? with nothing skipped"
[ "$out" = "make check: no test was skipped" ] || fail "said: $out"
out=$(KVKIT_FAIL_ON_SKIP=1 sh "$here/skipped.sh" "$tmp") || fail "KVKIT_FAIL_ON_SKIP failed a run with no skip"

printf ':test-result: SKIP\n' > "$tmp/b/etcd.sh.trs"
printf 'starting\nSKIP: curl is not installed\n' > "$tmp/b/etcd.sh.log"
printf ':test-result: SKIP\n' > "$tmp/a/quiet.trs"
printf 'first\nlast words\n\n' > "$tmp/a/quiet.log"
out=$(KVKIT_FAIL_ON_SKIP= sh "$here/skipped.sh" "$tmp") || fail "a skip failed the run without KVKIT_FAIL_ON_SKIP"
echo "$out" | grep -q "2 test(s) SKIPPED" || fail "no count: $out"
echo "$out" | grep -q "b/etcd.sh: SKIP: curl is not installed" || fail "no reason: $out"
echo "$out" | grep -q "a/quiet: last words" || fail "no last line: $out"
echo "$out" | grep -q "/ok:" && fail "listed a passing test: $out"
if KVKIT_FAIL_ON_SKIP=1 sh "$here/skipped.sh" "$tmp" >/dev/null 2>&1; then
    fail "KVKIT_FAIL_ON_SKIP=1 did not fail a run with skips"
fi
echo "PASS: skipped.sh"
