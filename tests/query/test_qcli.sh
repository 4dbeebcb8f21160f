#!/bin/sh
# kvkit query: results, --docs, --explain, paging by cursor, a cursor of
# another query refused, syntax and unbounded-sort errors (exit status 2).
set -u
K=${KVKIT:?}
S=memory:qcli
fail() { echo "FAIL: $*"; exit 1; }
expect() { [ "$1" = "$2" ] || fail "$3: got [$1], expected [$2]"; }
run() { # commands share the memory store through one script
    printf '%s\n' "$@" >"$T/script"
    "$K" -q -s "$S" script "$T/script"
}
T=$(mktemp -d) || exit 1
trap 'rm -rf "$T"' EXIT
P='put --index author,year,tags posts'
SEED="$P p1 '{\"author\":\"alice\",\"year\":2021,\"tags\":[\"c\",\"go\"]}'
$P p2 '{\"author\":\"bob\",\"year\":2019,\"tags\":[\"c\"]}'
$P p3 '{\"author\":\"alice\",\"year\":2018,\"tags\":[\"rust\"]}'
$P p4 '{\"author\":\"alice\",\"year\":2022,\"tags\":[\"c\"]}'"

out=$(run "$SEED" "query posts 'author = \"alice\" and tags = \"c\"'") || fail "zigzag query failed"
expect "$out" "$(printf 'p1\np4')" "zigzag"
out=$(run "$SEED" "query posts 'author = \"alice\" and year >= 2020 order by year desc limit 20'")
expect "$out" "$(printf 'p4\np1')" "order by desc limit"
out=$(run "$SEED" "query --docs posts 'not tags in (\"c\")'")
expect "$out" '{"key":"p3","value":{"author":"alice","year":2018,"tags":["rust"]}}' "--docs"
out=$(run "$SEED" "query --explain posts 'author = \"alice\" and tags = \"c\"'")
expect "$(echo "$out" | sed -n 3p)" \
    'phase 1: zigzag join in key order of (index "author" = "alice"; index "tags" = "c")' "explain"

# page 1 of 2, then the rest by cursor (in a second process)
Q="'author = \"alice\" order by year'"
run "$SEED" "query --page 2 posts $Q" >"$T/out" 2>"$T/err" || fail "paged query failed"
expect "$(cat "$T/out")" "$(printf 'p3\np1')" "first page"
C=$(sed -n 's/^kvkit: next page: --cursor //p' "$T/err")
[ -n "$C" ] || fail "no cursor on stderr: $(cat "$T/err")"
out=$(run "$SEED" "query --page 2 --cursor $C posts $Q" 2>"$T/err")
expect "$out" "p4" "second page"
run "$SEED" "query --cursor $C posts 'author = \"bob\"'" >/dev/null 2>"$T/err"
expect "$?" 2 "cursor of another query: status"
grep -q 'the cursor belongs to another query or bucket' "$T/err" || fail "cursor message: $(cat "$T/err")"

"$K" -s "$S" query posts 'a = 1 xor b = 2' 2>"$T/err"
expect "$?" 2 "syntax error: status"
expect "$(cat "$T/err")" 'kvkit: query: at byte 6 ("xor"): unknown keyword, expected "and", "or", "order by", "limit" or the end of the query' "syntax error"
"$K" -s "$S" query posts 'a = 1 order by year desc' 2>"$T/err"
expect "$?" 2 "unbounded sort: status"
grep -q 'add "limit N"' "$T/err" || fail "unbounded sort message: $(cat "$T/err")"
echo "ok"
