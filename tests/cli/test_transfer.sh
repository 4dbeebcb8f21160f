#!/bin/bash
# kvkit export, import and copy: round trips, batches, errors.
. "${srcdir:-.}/lib.sh"

make_lines() { # make_lines N FILE
    awk -v n="$1" 'BEGIN { for (i = 1; i <= n; i++)
        printf "{\"key\":\"k%05d\",\"value\":{\"n\":%d,\"s\":\"v%d\",\"l\":[%d,\"x\"]}}\n", i, i, i % 7, i }' >"$2"
}

test_export_import_roundtrip() {
    local a=$(new_store) b=$(new_store)
    make_lines 2500 "$TMP/in.jsonl"
    kv_in "$TMP/in.jsonl" -s "$a" import --index n,s,l --batch 300 data
    expect_status 0
    expect_err_has 'imported 2500 documents into bucket "data"'
    kv -s "$a" export data
    expect_status 0
    expect_err_has 'exported 2500 documents from bucket "data"'
    [ "$out" = "$(cat "$TMP/in.jsonl")" ] || fail "export differs from the imported lines"
    "$KVKIT" -s "$a" export data >"$TMP/exp.jsonl" 2>/dev/null
    kv_in "$TMP/exp.jsonl" -s "$b" import --index n,s,l data
    expect_status 0
    kv -s "$b" export data
    [ "$out" = "$(cat "$TMP/in.jsonl")" ] || fail "second round trip differs"
    kv -s "$b" index data s v3
    expect_out "$("$KVKIT" -s "$a" index data s v3)"
    kv -s "$b" index data n 100 104
    expect_out "$(printf 'k00100\nk00101\nk00102\nk00103\nk00104')"
}

test_import_quiet_has_no_summary() {
    local a=$(new_store)
    make_lines 3 "$TMP/q.jsonl"
    kv_in "$TMP/q.jsonl" -q -s "$a" import data
    expect_status 0
    expect_err_empty
}

test_import_bad_line_exit_3_names_line() {
    local a=$(new_store)
    printf '{"key":"a","value":{}}\n\n{"key":"b","value":{}\n' >"$TMP/bad.jsonl"
    kv_in "$TMP/bad.jsonl" -s "$a" import data
    expect_status 3
    expect_err_has "line 3 is not valid JSON"
    printf '{"value":{}}\n' >"$TMP/nokey.jsonl"
    kv_in "$TMP/nokey.jsonl" -s "$a" import data
    expect_status 3
    expect_err_has 'line 1: expected {"key": STRING, "value": DOCUMENT}'
}

# A key the store refuses is a bad line like any other: exit 3, its number.
test_import_bad_key_exit_3_names_line() {
    local a=$(new_store) long=$(printf 'k%.0s' $(seq 1025))
    printf '{"key":"a","value":{}}\n{"key":"","value":{}}\n' >"$TMP/empty.jsonl"
    kv_in "$TMP/empty.jsonl" -s "$a" import data
    expect_status 3
    expect_err_has 'line 2: empty key'
    printf '{"key":"a","value":{}}\n\n{"key":"%s","value":{}}\n' "$long" >"$TMP/long.jsonl"
    kv_in "$TMP/long.jsonl" -s "$a" import data
    expect_status 3
    expect_err_has 'line 3: key "kkkk'
    expect_err_has 'is 1025 bytes, longer than the limit of 1024'
    kv -s "$a" ls data
    expect_out ""
}

# Lines in stored form take import's fast path (tools/jsonline.c), others
# jansson's: both store the same bytes and the same index entries (check
# recomputes them through jansson), strings with escapes, reals and lists
# included; a bad value on a fast line gets jansson's message.
test_import_fast_and_slow_lines_agree() {
    local a=$(new_store)
    cat >"$TMP/mixed.jsonl" <<'EOF'
{"key":"f1","value":{"s":"plain","n":7,"r":2.5,"l":["x",3,null],"e":"caf\u00e9"}}
{"key":"f2","value":{"s":"q\"uo\\te\n","n":-12,"r":1e20,"l":[],"o":{"s":"nested"}}}
{"key":"f3","value":{"s":null,"n":123456789012345678}}
 { "value" : {"s": "spaced", "n": 1}, "key" : "s1" }
{"key":"s2","value":{"s":"esc\u0041ped","n":-0,"r":0.1,"l":["\u00e9"]}}
{"key":"s3","value":{"s":"café","n":1E2}}
EOF
    kv_in "$TMP/mixed.jsonl" -s "$a" import --index s,n,r,l data
    expect_status 0
    expect_err_has 'imported 6 documents into bucket "data"'
    kv -s "$a" export data
    expect_out "$(cat <<'EOF'
{"key":"f1","value":{"s":"plain","n":7,"r":2.5,"l":["x",3,null],"e":"café"}}
{"key":"f2","value":{"s":"q\"uo\\te\n","n":-12,"r":1e20,"l":[],"o":{"s":"nested"}}}
{"key":"f3","value":{"s":null,"n":123456789012345678}}
{"key":"s1","value":{"s":"spaced","n":1}}
{"key":"s2","value":{"s":"escAped","n":0,"r":0.10000000000000001,"l":["é"]}}
{"key":"s3","value":{"s":"café","n":100.0}}
EOF
)"
    kv -s "$a" check --index s,n,r,l data
    expect_status 0
    expect_err_has "0 problems"
    kv -s "$a" index data n 123456789012345678
    expect_out "f3"
    kv -s "$a" index data l x
    expect_out "f1"
    kv -s "$a" index data r 1e20
    expect_out "f2"
    printf '{"key":"b","value":{"s":{"no":1}}}\n' >"$TMP/badfast.jsonl"
    kv_in "$TMP/badfast.jsonl" -s "$a" import --index s data
    expect_status 3
    expect_err_has 'line 1: key "b": field "s" cannot be indexed'
}

test_import_bad_batch_usage() {
    kv -s memory: import --batch 0 data
    expect_status 2
    expect_err_has "--batch: expected a number from 1 to 1000000"
}

test_copy_leveldb_to_leveldb_identical() {
    local a=$(new_store) b=$(new_store)
    make_lines 700 "$TMP/c.jsonl"
    "$KVKIT" -q -s "$a" import --index n,s,l data <"$TMP/c.jsonl"
    "$KVKIT" -q -s "$a" put --index n,s,l other x '{"n":1,"s":"v1"}'
    kv -s "$a" copy --index n,s,l "$a" "$b" data other
    expect_status 0
    expect_err_has "copied 701 documents in 2 buckets"
    for bucket in data other; do
        [ "$("$KVKIT" -s "$a" export $bucket 2>/dev/null)" = \
          "$("$KVKIT" -s "$b" export $bucket 2>/dev/null)" ] || fail "bucket $bucket differs"
    done
    for q in "s v1" "n 10 20" "l x" "l 5"; do
        [ "$("$KVKIT" -s "$a" index data $q)" = "$("$KVKIT" -s "$b" index data $q)" ] ||
            fail "index query '$q' differs after copy"
    done
    kv -s "$b" index other s v1
    expect_out "x"
}

test_copy_to_memory_counts() {
    local a=$(new_store)
    make_lines 10 "$TMP/m.jsonl"
    "$KVKIT" -q -s "$a" import data <"$TMP/m.jsonl"
    kv copy --no-index "$a" memory: data
    expect_status 0
    expect_err_has "copied 10 documents in 1 bucket"
}

test_copy_requires_index_choice() {
    kv copy memory: memory: data
    expect_status 2
    expect_err_has "give exactly one of --schema, --index or --no-index"
}

test_copy_requires_buckets() {
    kv copy --no-index memory: memory:
    expect_status 2
    expect_err_has "name the buckets to copy"
}

test_copy_bad_source_exit_5() {
    kv copy --no-index nosuch:x memory: data
    expect_status 5
    expect_err_has 'no backend "nosuch"'
}

run_tests
