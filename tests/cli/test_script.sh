#!/bin/bash
# kvkit script: several commands in one process; memory stores shared
# between them, so documents can round-trip memory <-> LevelDB.
. "${srcdir:-.}/lib.sh"

make_lines() { # make_lines N FILE
    awk -v n="$1" 'BEGIN { for (i = 1; i <= n; i++)
        printf "{\"key\":\"k%04d\",\"value\":{\"n\":%d,\"s\":\"v%d\",\"l\":[%d,\"x\"]}}\n", i, i, i % 5, i % 3 }' >"$2"
}

test_script_memory_leveldb_roundtrip_identical() {
    local a=$(new_store) b=$(new_store)
    make_lines 500 "$TMP/in.jsonl"
    "$KVKIT" -q -s "$a" import --index n,s,l data <"$TMP/in.jsonl"
    cat >"$TMP/rt.kv" <<SCRIPT
copy --index n,s,l $a memory:m data
-s memory:m check --index n,s,l data
copy --index n,s,l memory:m $b data
SCRIPT
    kv -q script "$TMP/rt.kv"
    expect_status 0
    [ "$("$KVKIT" -s "$a" export data 2>/dev/null)" = "$(cat "$TMP/in.jsonl")" ] ||
        fail "source changed"
    [ "$("$KVKIT" -s "$b" export data 2>/dev/null)" = "$(cat "$TMP/in.jsonl")" ] ||
        fail "documents differ after leveldb -> memory -> leveldb"
    for q in "s v3" "n 10 20" "l x" "l 2" "n 499 600" "\$key k0100 k0105"; do
        [ "$("$KVKIT" -s "$a" index data $q)" = "$("$KVKIT" -s "$b" index data $q)" ] ||
            fail "index query '$q' differs after the round trip"
    done
}

test_script_memory_store_shared_between_lines() {
    cat >"$TMP/m.kv" <<'SCRIPT'
# comments and blank lines are skipped

put --index n b k1 '{"n": 1, "t": "two words"}'
put --index n b k2 "{\"n\": 2}"
get b k1
index b n 1 2
SCRIPT
    kv -s memory:shared script "$TMP/m.kv"
    expect_status 0
    expect_out "$(printf '{"n":1,"t":"two words"}\nk1\nk2')"
}

test_script_memory_store_inside_one_line_is_private() {
    printf 'put b k {}\n-s memory: get b k\n' >"$TMP/p.kv"
    kv -s memory: script "$TMP/p.kv"
    expect_status 1
    expect_err_has 'stopped at line 2 (exit status 1)'
}

test_script_stops_at_first_failure() {
    printf 'put b k {}\nget b missing\nput b never {}\n' >"$TMP/f.kv"
    kv -s memory:f script "$TMP/f.kv"
    expect_status 1
    expect_err_has 'get "missing" in bucket "b": not found'
    expect_err_has 'stopped at line 2'
}

test_script_unterminated_quote_exit_2() {
    printf "put b k '{}\n" >"$TMP/q.kv"
    kv -s memory: script "$TMP/q.kv"
    expect_status 2
    expect_err_has 'line 1: unterminated quote'
}

test_script_refuses_nested_script() {
    printf 'script other.kv\n' >"$TMP/n.kv"
    kv -s memory: script "$TMP/n.kv"
    expect_status 2
    expect_err_has '"script" cannot run inside a script'
}

test_script_missing_file_exit_4() {
    kv script "$TMP/none.kv"
    expect_status 4
    expect_err_has 'cannot open'
}

run_tests
