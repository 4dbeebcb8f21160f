#!/bin/bash
# kvkit backends and kvkit conformance.
. "${srcdir:-.}/lib.sh"

test_backends_lists_memory_and_search_path() {
    kv backends
    expect_status 0
    expect_out_has "memory "
    expect_out_has "ABI 1."
    expect_out_has "Plugin search path, in order"
    expect_out_has "(KVKIT_PLUGIN_PATH)"
    expect_out_has "(default)"
}

test_backends_json_lines() {
    kv backends --json
    expect_status 0
    expect_out_has '"name":"memory"'
    expect_out_has '"status":"OK"'
    expect_out_has '"origin":"default"'
    printf '%s\n' "$out" | while read -r line; do
        case $line in '{'*'}') ;; *) echo "not a JSON object line: $line" >&2; exit 1 ;; esac
    done || fail "a line is not a JSON object"
}

test_backends_reports_broken_plugin() {
    mkdir -p "$TMP/plugins"
    printf 'not an ELF file' >"$TMP/plugins/broken.so"
    kv -P "$TMP/plugins" backends --json
    expect_status 0
    expect_out_has '"name":"broken"'
    expect_out_has "\"file\":\"$TMP/plugins/broken.so\""
    expect_out_has '"status":"PLUGIN_LOAD"'
    kv -P "$TMP/plugins" backends
    expect_out_has "broken     BROKEN"
    expect_out_has "1. $TMP/plugins  (api)"
}

test_conformance_passes_store_and_status() {
    cat >"$TMP/fake-conformance" <<'FAKE'
#!/bin/sh
echo "args: $*"
echo "path: $KVKIT_PLUGIN_PATH"
exit 5
FAKE
    chmod +x "$TMP/fake-conformance"
    mkdir -p "$TMP/pdir"
    KVKIT_CONFORMANCE=$TMP/fake-conformance kv -P "$TMP/pdir" conformance memory: --verbose
    expect_status 5
    expect_out_has "args: memory: --verbose"
    expect_out_has "path: $TMP/pdir:"
}

test_conformance_missing_program() {
    KVKIT_CONFORMANCE=$TMP/nonexistent kv conformance memory:
    expect_status 4
    expect_err_has "kvkit-conformance not found"
}

test_conformance_needs_store() {
    kv conformance
    expect_status 2
    expect_err_has "expected STORE"
}

test_conformance_real_suite_on_memory() {
    [ -x "$REAL_CONFORMANCE" ] || { echo "SKIP: kvkit-conformance not built"; return; }
    KVKIT_CONFORMANCE=$REAL_CONFORMANCE kv conformance memory:
    expect_status 0
    # without the variable: found in-tree from the uninstalled tools/.libs/kvkit
    (unset KVKIT_CONFORMANCE; kv conformance memory: && [ "$status" = 0 ]) ||
        fail "in-tree kvkit-conformance not found or failed"
}

run_tests
