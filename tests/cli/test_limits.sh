#!/bin/bash
# What the tool reads whole is capped: --max-input BYTES (default 64 MiB)
# for a document on stdin, an import line and a script line; the library's
# limit (64 MiB) for a --schema file.  Endless input (/dev/zero) stops at
# the cap with an error naming the input and the limit, exit 3.
. "${srcdir:-.}/lib.sh"

# The commands fed endless input must end by themselves; running them
# through `timeout` only keeps a regression from hanging the suite.
printf '#!/bin/sh\nexec timeout 120 "%s" "$@"\n' "$KVKIT" >"$TMP/kvkit-timeout"
chmod +x "$TMP/kvkit-timeout"
T=$TMP/kvkit-timeout

test_put_stdin_over_max_input_exit_3() {
    printf '{"a":"%s"}' "$(printf 'x%.0s' $(seq 200))" >"$TMP/doc.json"
    kv_in "$TMP/doc.json" --max-input 100 -s memory: put b k -
    expect_status 3
    expect_err_has 'put: standard input is larger than the input limit of 100 bytes (--max-input)'
    kv_in "$TMP/doc.json" --max-input 1000 -s memory: put b k -
    expect_status 0
}

test_put_stdin_dev_zero_stops_at_default_limit() {
    KVKIT=$T kv_in /dev/zero -s memory: put b k -
    expect_status 3
    expect_err_has 'standard input is larger than the input limit of 67108864 bytes'
}

test_schema_dev_zero_stops_at_library_limit() {
    KVKIT=$T kv -s memory: put --schema /dev/zero b k '{}'
    expect_status 3
    expect_err_has 'schema file "/dev/zero" is larger than the limit of 67108864 bytes'
}

test_import_line_over_max_input_names_line() {
    printf '{"key":"a","value":{}}\n{"key":"b","value":{"s":"%s"}}\n' \
        "$(printf 'y%.0s' $(seq 100))" >"$TMP/in.jsonl"
    kv_in "$TMP/in.jsonl" --max-input 64 -s memory: import data
    expect_status 3
    expect_err_has 'import: standard input, line 2 is longer than the input limit of 64 bytes (--max-input)'
    kv_in "$TMP/in.jsonl" --max-input 200 -s memory: import data
    expect_status 0
}

test_import_dev_zero_stops_at_default_limit() {
    KVKIT=$T kv_in /dev/zero -s memory: import data
    expect_status 3
    expect_err_has 'line 1 is longer than the input limit of 67108864 bytes'
}

test_script_line_over_max_input_names_line() {
    printf 'put b k {}\nput b k2 {"s":"%s"}\n' "$(printf 'z%.0s' $(seq 100))" >"$TMP/s.kv"
    kv --max-input 50 -s memory: script "$TMP/s.kv"
    expect_status 3
    expect_err_has "script \"$TMP/s.kv\", line 2 is longer than the input limit of 50 bytes (--max-input)"
    KVKIT=$T kv -s memory: script /dev/zero
    expect_status 3
    expect_err_has 'script "/dev/zero", line 1 is longer than the input limit of 67108864 bytes'
}

test_max_input_bad_value_usage() {
    for v in 0 -1 12x '' 99999999999999999999999; do
        kv --max-input "$v" -s memory: get b k
        expect_status 2
        expect_err_has "--max-input: expected a number of bytes"
    done
}

run_tests
