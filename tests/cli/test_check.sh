#!/bin/bash
# kvkit check: finding and repairing index entries that disagree with documents.
# Broken entries are made with `put --entry`, which stores explicit entries.
. "${srcdir:-.}/lib.sh"

test_check_clean_bucket() {
    local s=$(new_store)
    "$KVKIT" -s "$s" put --index n,t b k1 '{"n":1,"t":["x","y"]}'
    "$KVKIT" -s "$s" put --index n,t b k2 '{"n":2}'
    kv -s "$s" check --index n,t b
    expect_status 0
    expect_out ""
    expect_err_has 'checked 2 documents in bucket "b": 0 problems'
}

test_check_missing_entry_found_and_repaired() {
    local s=$(new_store)
    "$KVKIT" -s "$s" put --index n b k1 '{"n":1}'
    "$KVKIT" -s "$s" put b k2 '{"n":2}'   # saved without its entry
    kv -s "$s" index b n 2
    expect_out ""
    kv -s "$s" check --index n b
    expect_status 3
    expect_out '{"bucket":"b","key":"k2","problem":"missing_entry","field":"n","value":2}'
    kv -s "$s" check --index n --repair b
    expect_status 0
    expect_out_has '"problem":"missing_entry"'
    expect_err_has "1 key re-saved, 0 problems left"
    kv -s "$s" index b n 2
    expect_out "k2"
    kv -s "$s" check --index n b
    expect_status 0
}

test_check_stale_entry_other_value() {
    local s=$(new_store)
    "$KVKIT" -s "$s" put --index n b k2 '{"n":7}'
    "$KVKIT" -s "$s" put --index n --entry n=7 b k3 '{"n":8}'
    kv -s "$s" check --index n b
    expect_status 3
    expect_out '{"bucket":"b","key":"k3","problem":"stale_entry","field":"n","value":7}'
    kv -s "$s" check --index n --repair b
    expect_status 0
    kv -s "$s" index b n 7
    expect_out "k2"
}

test_check_stale_entry_field_without_value() {
    local s=$(new_store)
    "$KVKIT" -s "$s" put --entry n=5 b k '{"m":1}'
    kv -s "$s" check --index n b
    expect_status 3
    expect_out '{"bucket":"b","key":"k","problem":"stale_entry","field":"n"}'
    kv -s "$s" check --index n --repair b
    expect_status 0
    kv -s "$s" index b n 5
    expect_out ""
}

test_check_string_values() {
    local s=$(new_store)
    "$KVKIT" -s "$s" put --index name b a '{"name":"ann"}'
    "$KVKIT" -s "$s" put --entry name=zed b z '{"name":"zoe"}'
    kv -s "$s" check --index name b
    expect_status 3
    expect_out_has '"key":"z","problem":"missing_entry","field":"name","value":"zoe"'
}

test_check_corrupt_document_reported() {
    local s=$(new_store)
    printf '{"key":"j","value":"not an object"}\n' >"$TMP/j.jsonl"
    "$KVKIT" -q -s "$s" import b <"$TMP/j.jsonl"
    kv -s "$s" check --index n b
    expect_status 3
    expect_out_has '"problem":"invalid_document"'
    expect_out_has "not a JSON object"
}

test_check_needs_schema_or_index() {
    kv -s memory: check b
    expect_status 2
    expect_err_has "expected --schema FILE or --index FIELDS"
}

test_check_empty_bucket() {
    kv -s memory: check --index n b
    expect_status 0
    expect_err_has "checked 0 documents"
}

# "a|b" + field "c" and "a" + field "b|c" once shared the remembered
# report key "a|b|c", so the second stale entry was never reported nor fixed.
test_check_stale_entries_with_pipe_in_key_and_field() {
    local s=$(new_store)
    "$KVKIT" -s "$s" put --entry c=5 b 'a|b' '{"x":1}'
    "$KVKIT" -s "$s" put --entry 'b|c=5' b a '{"x":1}'
    kv -s "$s" check --index 'c,b|c' b
    expect_status 3
    expect_out_has '{"bucket":"b","key":"a|b","problem":"stale_entry","field":"c"}'
    expect_out_has '{"bucket":"b","key":"a","problem":"stale_entry","field":"b|c"}'
    kv -s "$s" check --index 'c,b|c' --repair b
    expect_status 0
    kv -s "$s" index b 'b|c' 5
    expect_out ""
    kv -s "$s" index b c 5
    expect_out ""
}

run_tests
