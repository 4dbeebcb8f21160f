#!/bin/bash
# kvkit ls and index: ranges, value parsing, --docs, --json.
. "${srcdir:-.}/lib.sh"

S=$(new_store)
seed() {
    [ -e "$TMP/seeded" ] && return
    "$KVKIT" -s "$S" put --index name,age,tags,zip users u1 \
        '{"name":"ann","age":31,"tags":["a","b"],"zip":"01000"}' &&
    "$KVKIT" -s "$S" put --index name,age,tags,zip users u2 \
        '{"name":"bob","age":-4,"tags":["b"],"zip":1000}' &&
    "$KVKIT" -s "$S" put --index name,age,tags,zip users u3 \
        '{"name":"cy","age":2.5,"tags":[],"zip":"99"}' &&
    "$KVKIT" -s "$S" put other u1 '{"elsewhere":true}' && touch "$TMP/seeded"
}

test_ls_all_keys_in_order() {
    seed
    kv -s "$S" ls users
    expect_status 0
    expect_out "$(printf 'u1\nu2\nu3')"
}

test_ls_range_inclusive() {
    seed
    kv -s "$S" ls users u2
    expect_out "$(printf 'u2\nu3')"
    kv -s "$S" ls users u1 u2
    expect_out "$(printf 'u1\nu2')"
}

test_ls_empty_bucket() {
    seed
    kv -s "$S" ls nothing
    expect_status 0
    expect_out ""
}

test_ls_docs_json_lines() {
    seed
    kv -s "$S" ls --docs other
    expect_status 0
    expect_out '{"key":"u1","value":{"elsewhere":true}}'
}

test_ls_json_keys() {
    seed
    kv -s "$S" ls --json users u3
    expect_out '"u3"'
}

test_index_exact_string() {
    seed
    kv -s "$S" index users name bob
    expect_status 0
    expect_out "u2"
}

test_index_list_element() {
    seed
    kv -s "$S" index users tags b
    expect_out "$(printf 'u1\nu2')"
}

test_index_number_range_with_negative() {
    seed
    kv -s "$S" index users age -- -10 3
    expect_status 0
    expect_out "$(printf 'u2\nu3')"
}

test_index_value_parsed_as_number() {
    seed
    # "1000" is a number: finds the numeric zip only
    kv -s "$S" index users zip 1000
    expect_out "u2"
    kv -s "$S" index users zip 01000
    expect_out "u1"
}

test_index_string_forced() {
    seed
    kv -s "$S" index --string users zip 99
    expect_out "u3"
    kv -s "$S" index users zip 99
    expect_out ""
}

test_index_mixed_bounds_usage() {
    seed
    kv -s "$S" index users age 1 z
    expect_status 2
    expect_err_has "VALUE and END must both be numbers or both strings"
}

test_index_docs() {
    seed
    kv -s "$S" index --docs users name cy
    expect_out '{"key":"u3","value":{"name":"cy","age":2.5,"tags":[],"zip":"99"}}'
}

test_index_pseudo_fields() {
    seed
    kv -s "$S" index users '$key' u2 u3
    expect_out "$(printf 'u2\nu3')"
    kv -s "$S" index users '$bucket'
    expect_out "$(printf 'u1\nu2\nu3')"
}

test_index_no_match_is_ok() {
    seed
    kv -s "$S" index users name zoe
    expect_status 0
    expect_out ""
}

run_tests
