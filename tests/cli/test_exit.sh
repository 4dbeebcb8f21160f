#!/bin/bash
# Exit statuses, one class each (kvkit(1), EXIT STATUS): scripts must tell
# "not found" (1) from a bad command line (2), bad input (3), a store or
# server that failed or refused (4) and a store string naming no usable
# backend (5).
. "${srcdir:-.}/lib.sh"

test_exit_missing_key_1() {
    kv -s memory: get b nosuchkey
    expect_status 1
    expect_err_has 'get "nosuchkey" in bucket "b": not found'
}

test_exit_unknown_backend_5() {
    kv -s nosuch:x get b k
    expect_status 5
    expect_err_has 'no backend "nosuch"'
}

test_exit_broken_plugin_5() {
    mkdir "$TMP/plugins"
    printf 'not a shared object\n' >"$TMP/plugins/junk.so"
    kv -P "$TMP/plugins" -s junk: get b k
    expect_status 5
    expect_err_has 'junk'
}

test_exit_bad_command_line_2() {
    kv -s memory: get --bogus b k
    expect_status 2
    kv -s memory: get b
    expect_status 2
    expect_err_has 'kvkit get: expected BUCKET KEY'
    kv --bogus get b k
    expect_status 2
}

test_exit_malformed_store_string_2() {
    kv -s nocolon get b k
    expect_status 2
    expect_err_has 'expected NAME:LOCATION'
    kv -s 'Bad/Name:x' get b k
    expect_status 2
    kv -s 'memory:?color=red' get b k
    expect_status 2
    expect_err_has 'unknown option "color"'
    kv -s nocolon repair
    expect_status 2
    expect_err_has 'expected NAME:LOCATION'
    if have_backend riak; then
        kv -s riak:ftp://example.com get b k
        expect_status 2
        expect_err_has 'riak: location must be an http:// or https:// URL'
    fi
}

test_exit_bad_bucket_or_key_argument_2() {
    local long=$(printf 'k%.0s' $(seq 1025))
    kv -s memory: get b ''
    expect_status 2
    expect_err_has 'kvkit get: empty key'
    kv -s memory: put b "$long" '{}'
    expect_status 2
    expect_err_has 'is 1025 bytes, longer than the limit of 1024'
    kv -s memory: delete '' k
    expect_status 2
    expect_err_has 'kvkit delete: empty bucket'
    kv -s memory: ls ''
    expect_status 2
    kv -s memory: export ''
    expect_status 2
    kv -s memory: index b '' 1
    expect_status 2
    expect_err_has 'invalid index field name ""'
    kv -s memory: put --entry '$x=1' b k '{}'
    expect_status 2
    expect_err_has 'kvkit put: --entry'
}

test_exit_key_range_query_takes_strings() {
    kv -s memory: index b '$key' 1 2
    expect_status 0
    expect_out ""
}

test_exit_schema_argument_2() {
    printf '{"User":{"bucket":"users","properties":{"name":{"type":"string"}}},' >"$TMP/two.json"
    printf '"Post":{"bucket":"posts","properties":{}}}' >>"$TMP/two.json"
    kv -s memory: put --schema "$TMP/two.json" other k '{}'
    expect_status 2
    expect_err_has "no schema for bucket \"other\""
    printf '{"User":{"properties":{"n":{"type":"nosuchtype"}}}}' >"$TMP/bad.json"
    kv -s memory: put --schema "$TMP/bad.json" User k '{}'
    expect_status 2
    expect_err_has 'nosuchtype'
    kv -s memory: put --schema "$TMP/no-such-file.json" User k '{}'
    expect_status 4
    expect_err_has 'No such file or directory'
}

test_exit_invalid_input_3() {
    kv -s memory: put b k '{"a":'
    expect_status 3
    expect_err_has 'document is not valid JSON'
}

test_exit_backend_refuses_4() {
    kv -s memory: compact
    expect_status 4
    expect_err_has 'compact is not supported by this backend'
}

# A Riak HTTP 400 is the server refusing the request (the plugin reports it
# as KVKIT_INVALID): 4, not the tool's own usage status 2.
test_exit_riak_http_400_4() {
    have_backend riak || { fail "the riak plugin is not built"; return; }
    local python=${PYTHON:-python3} emu="${srcdir:-.}/../riak/riak_emulator.py"
    "$python" "$emu" --host 127.0.0.1 --port 0 --port-file "$TMP/port" >/dev/null 2>"$TMP/emu.log" &
    local pid=$! i=0
    while [ ! -s "$TMP/port" ] && [ $i -lt 100 ] && kill -0 $pid 2>/dev/null; do
        sleep 0.1
        i=$((i + 1))
    done
    if [ ! -s "$TMP/port" ]; then
        fail "the Riak emulator did not start: $(cat "$TMP/emu.log")"
        kill $pid 2>/dev/null
        wait $pid 2>/dev/null
        return
    fi
    local url=http://127.0.0.1:$(cat "$TMP/port")
    kv -s "riak:$url" put b k '{"a":1}'
    expect_status 0
    kv -s "riak:$url" get b nosuchkey
    expect_status 1
    "$python" -c 'import sys, urllib.request
rule = b"{\"kind\": \"status\", \"status\": 400, \"body\": \"bad request\\n\", \"method\": \"GET\", \"path\": \"/\", \"times\": -1}"
urllib.request.urlopen(urllib.request.Request(sys.argv[1] + "/_emu/faults", data=rule, method="POST"))' "$url"
    kv -s "riak:$url" get b k
    expect_status 4
    expect_err_has 'HTTP 400'
    kill $pid 2>/dev/null
    wait $pid 2>/dev/null
}

run_tests
