#!/bin/bash
# kvkit get/put/delete, global options, help and exit statuses.
. "${srcdir:-.}/lib.sh"

test_version_shows_library_and_abi() {
    kv --version
    expect_status 0
    expect_out_has "libkvkit"
    expect_out_has "backend ABI 1."
}

test_help_lists_commands_and_exit_statuses() {
    kv --help
    expect_status 0
    for c in backends get put delete ls index export import copy check compact repair conformance; do
        expect_out_has "  $c "
    done
    expect_out_has "1 not found, 2 usage, 3 invalid input, 4 the store"
    expect_out_has "5 no such backend or it failed to load"
}

test_command_help_for_every_command() {
    for c in backends get put delete ls index export import copy check compact repair conformance; do
        kv "$c" --help
        expect_status 0
        expect_out_has "Usage: kvkit [-s STORE] [-P DIR] $c"
    done
}

test_usage_no_command() {
    kv
    expect_status 2
    expect_err_has "Usage: kvkit"
}

test_usage_unknown_command() {
    kv frobnicate
    expect_status 2
    expect_err_has 'unknown command "frobnicate"'
}

test_usage_wrong_arguments() {
    kv -s memory: get onlybucket
    expect_status 2
    expect_err_has "kvkit get: expected BUCKET KEY"
    kv -s memory: ls --bogus b
    expect_status 2
    expect_err_has "Try 'kvkit ls --help'"
}

test_put_get_roundtrip() {
    local s=$(new_store)
    kv -s "$s" put users u1 '{"name": "ann",  "age": 31}'
    expect_status 0
    expect_err_empty
    kv -s "$s" get users u1
    expect_status 0
    expect_out '{"name":"ann","age":31}'
}

test_put_from_stdin() {
    local s=$(new_store)
    printf '{"a": [1, 2]}\n' >"$TMP/doc.json"
    kv_in "$TMP/doc.json" -s "$s" put b k -
    expect_status 0
    kv_in "$TMP/doc.json" -s "$s" put b k2
    expect_status 0
    kv -s "$s" get b k2
    expect_out '{"a":[1,2]}'
}

test_get_pretty() {
    local s=$(new_store)
    kv -s "$s" put b k '{"a":1}'
    kv -s "$s" get --pretty b k
    expect_status 0
    expect_out "$(printf '{\n  "a": 1\n}')"
}

test_store_from_environment() {
    local s=$(new_store)
    KVKIT_STORE=$s kv put b k '{"env":true}'
    expect_status 0
    kv -s "$s" get b k
    expect_out '{"env":true}'
}

test_get_notfound_exit_1() {
    local s=$(new_store)
    kv -s "$s" get users nobody
    expect_status 1
    expect_err_has 'get "nobody" in bucket "users": not found'
}

test_put_invalid_json_exit_3() {
    kv -s memory: put b k '{"a":'
    expect_status 3
    expect_err_has "document is not valid JSON"
}

test_put_unindexable_field_exit_3() {
    kv -s memory: put --index flag b k '{"flag":{"x":1}}'
    expect_status 3
    expect_err_has 'field "flag" cannot be indexed'
}

test_put_bad_bucket_exit_2() {
    local long=$(printf 'b%.0s' $(seq 300))
    kv -s memory: put "$long" k '{}'
    expect_status 2
    expect_err_has 'kvkit put: bucket "bbbb'
    expect_err_has 'is 300 bytes, longer than the limit of 255'
}

test_delete_then_get() {
    local s=$(new_store)
    kv -s "$s" put b k '{}'
    kv -s "$s" delete b k
    expect_status 0
    kv -s "$s" get b k
    expect_status 1
    kv -s "$s" delete b k
    expect_status 0
}

test_unknown_backend_exit_5() {
    kv -s nosuch:x get b k
    expect_status 5
    expect_err_has 'no backend "nosuch"'
}

test_bad_backend_name_exit_2() {
    kv -s 'Bad/Name:x' get b k
    expect_status 2
    expect_err_has "kvkit: "
}

test_bad_store_option_exit_2() {
    kv -s 'memory:?color=red' get b k
    expect_status 2
    expect_err_has 'unknown option "color"'
}

test_compact_and_repair_not_supported() {
    kv -s memory: compact
    expect_status 4
    expect_err_has 'compact: memory: compact is not supported by this backend'
    kv -s memory: repair
    expect_status 4
    expect_err_has 'repair: memory: repair is not supported by this backend'
}

test_compact_and_repair_leveldb() {
    local db="$TMP/maint-db"
    kv -s "leveldb:$db" put b k '{"a":1}'
    expect_status 0
    kv -s "leveldb:$db" compact
    expect_status 0
    kv -s "leveldb:$db" repair
    expect_status 0
    kv -s "leveldb:$db" get b k
    expect_status 0
    expect_out_has '{"a":1}'
    kv -s "leveldb:$TMP/no-such-db" repair
    expect_status 1
    expect_err_has 'no database there'
}

test_plugin_dir_option_absolute_and_relative() {
    kv -P /nonexistent-dir backends --json
    expect_status 0
    expect_out_has '{"plugin_dir":"/nonexistent-dir","origin":"api"}'
    kv -P does-not-exist backends
    expect_status 2
    expect_err_has '-P "does-not-exist": no such directory'
    : >"$TMP/plain-file"
    kv -P "$TMP/plain-file" backends
    expect_status 2
    expect_err_has "-P \"$TMP/plain-file\": no such directory"
}

run_tests
