#!/bin/bash
# The progress bar appears only when stderr is a terminal; the summary always.
. "${srcdir:-.}/lib.sh"

lines() {
    awk -v n="$1" 'BEGIN { for (i = 1; i <= n; i++)
        printf "{\"key\":\"k%06d\",\"value\":{\"n\":%d}}\n", i, i }' >"$2"
}

test_import_progress_on_terminal() {
    command -v script >/dev/null || { fail "script(1) missing (Debian package bsdutils)"; return; }
    local s=$(new_store)
    lines 5000 "$TMP/p.jsonl"
    # script(1) gives the command a pseudo-terminal: the bar is drawn with \r
    script -qec "'$KVKIT' -s '$s' import --index n data < '$TMP/p.jsonl'" /dev/null \
        >"$TMP/tty" 2>&1
    status=$?
    out=$(tr '\r' '\n' <"$TMP/tty")
    err=
    expect_status 0
    grep -q $'\r' "$TMP/tty" || fail "no carriage return: no progress bar drawn"
    expect_out_has "ETA"
    expect_out_has "%"
    expect_out_has "/s"
    expect_out_has 'imported 5000 documents into bucket "data"'
}

test_export_progress_on_terminal() {
    command -v script >/dev/null || { fail "script(1) missing (Debian package bsdutils)"; return; }
    local s=$(new_store)
    lines 300 "$TMP/e.jsonl"
    "$KVKIT" -q -s "$s" import data <"$TMP/e.jsonl"
    script -qec "'$KVKIT' -s '$s' export data > '$TMP/e.out'" /dev/null >"$TMP/tty" 2>&1
    grep -q $'\r' "$TMP/tty" || { out=$(cat "$TMP/tty"); fail "no progress bar on a terminal"; }
    cmp -s "$TMP/e.jsonl" "$TMP/e.out" || fail "export through a terminal changed the data"
}

test_no_progress_when_piped() {
    local s=$(new_store)
    lines 5000 "$TMP/n.jsonl"
    kv_in "$TMP/n.jsonl" -s "$s" import data
    expect_status 0
    case $err in *$'\r'*) fail "carriage return on a pipe" ;; esac
    case $err in *ETA*) fail "progress bar on a pipe" ;; esac
    [ "$(printf '%s\n' "$err" | wc -l)" = 1 ] || fail "more than the summary line"
    expect_err_has 'imported 5000 documents into bucket "data"'
}

test_quiet_on_terminal_draws_nothing() {
    command -v script >/dev/null || { fail "script(1) missing (Debian package bsdutils)"; return; }
    local s=$(new_store)
    lines 100 "$TMP/q.jsonl"
    script -qec "'$KVKIT' -q -s '$s' import data < '$TMP/q.jsonl'" /dev/null >"$TMP/tty" 2>&1
    out=$(cat "$TMP/tty")
    [ -z "$out" ] || fail "-q printed something on a terminal"
}

run_tests
