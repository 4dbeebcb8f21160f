#!/bin/bash
# --schema FILE on put, index, import, copy and check (the document layer).
. "${srcdir:-.}/lib.sh"

SCHEMA=$FIXTURES/users.json
"$KVKIT" -s memory: put --schema "$SCHEMA" users probe '{"name":"x"}' 2>"$TMP/probe"
if grep -q "no document layer" "$TMP/probe"; then
    echo "SKIP: this libkvkit has no document layer"
    exit 77
fi

test_put_valid_document() {
    local s=$(new_store)
    kv -s "$s" put --schema "$SCHEMA" users u1 '{"name":"ann","age":30,"role":"admin","zip":"01000"}'
    expect_status 0
    expect_err_empty
    kv -s "$s" index --schema "$SCHEMA" users name ann
    expect_out "u1"
}

test_get_json_form_with_schema() {
    local s=$(new_store)
    "$KVKIT" -s "$s" put --schema "$SCHEMA" users u1 '{"name":"ann","role":"user"}'
    kv -s "$s" get users u1
    expect_out '{"name":"ann","role":1}'
    kv -s "$s" get --schema "$SCHEMA" users u1
    expect_status 0
    expect_out '{"name":"ann","role":"user"}'
}

test_put_invalid_names_every_field() {
    kv -s memory: put --schema "$SCHEMA" users u1 '{"age":"old","role":"boss","color":"red"}'
    expect_status 3
    expect_err_has "name"
    expect_err_has "age"
    expect_err_has "role"
    expect_err_has "_extra_props"
}

test_index_kind_from_schema() {
    local s=$(new_store)
    "$KVKIT" -s "$s" put --schema "$SCHEMA" users u1 '{"name":"ann","zip":"1000"}'
    # zip is a string property: 1000 is queried as the string "1000"
    kv -s "$s" index --schema "$SCHEMA" users zip 1000
    expect_status 0
    expect_out "u1"
    kv -s "$s" index users zip 1000
    expect_out ""
}

test_index_not_indexed_exit_3() {
    kv -s memory: index --schema "$SCHEMA" users note hello
    expect_status 3
    expect_err_has '"note" is not indexed'
}

test_index_number_field_rejects_text() {
    kv -s memory: index --schema "$SCHEMA" users age abc
    expect_status 3
    expect_err_has '"abc" is not a number'
}

test_index_enum_by_value() {
    local s=$(new_store)
    "$KVKIT" -s "$s" put --schema "$SCHEMA" users u1 '{"name":"ann","role":"user"}'
    "$KVKIT" -s "$s" put --schema "$SCHEMA" users u2 '{"name":"bob","role":"admin"}'
    kv -s "$s" index --schema "$SCHEMA" users role user
    expect_status 0
    expect_out "u1"
}

test_import_json_form() {
    local s=$(new_store)
    printf '{"key":"u1","value":{"name":"ann","role":"admin"}}\n' >"$TMP/jf.jsonl"
    kv_in "$TMP/jf.jsonl" -s "$s" import --schema "$SCHEMA" users
    expect_status 3
    expect_err_has "role"
    kv_in "$TMP/jf.jsonl" -s "$s" import --schema "$SCHEMA" --json-form users
    expect_status 0
    kv -s "$s" get users u1
    expect_out '{"name":"ann","role":0}'
}

test_import_invalid_line_exit_3() {
    local s=$(new_store)
    kv_in "$FIXTURES/users-bad.jsonl" -s "$s" import --schema "$SCHEMA" users
    expect_status 3
    expect_err_has 'line 2: key "bad"'
    expect_err_has "age"
}

test_export_import_copy_check_with_schema() {
    local a=$(new_store) b=$(new_store)
    "$KVKIT" -s "$a" put --schema "$SCHEMA" users u1 '{"name":"ann","age":30,"role":"admin"}'
    "$KVKIT" -s "$a" put --schema "$SCHEMA" users u2 '{"name":"bob","age":40,"role":"user"}'
    "$KVKIT" -s "$a" export users >"$TMP/u.jsonl" 2>/dev/null
    kv_in "$TMP/u.jsonl" -s "$b" import --schema "$SCHEMA" users
    expect_status 0
    kv -s "$b" export users
    expect_out "$(cat "$TMP/u.jsonl")"
    local c=$(new_store)
    kv copy --schema "$SCHEMA" "$a" "$c"
    expect_status 0
    expect_err_has "copied 2 documents in 1 bucket"
    kv -s "$c" index --schema "$SCHEMA" users age 35 50
    expect_out "u2"
    kv -s "$c" check --schema "$SCHEMA" users
    expect_status 0
    "$KVKIT" -s "$c" put users u2 '{"name":"bob","age":40,"role":1}' # entries dropped
    kv -s "$c" check --schema "$SCHEMA" users
    expect_status 3
    expect_out_has '"key":"u2","problem":"missing_entry"'
    kv -s "$c" check --schema "$SCHEMA" --repair users
    expect_status 0
    kv -s "$c" index --schema "$SCHEMA" users age 40
    expect_out "u2"
}

run_tests
