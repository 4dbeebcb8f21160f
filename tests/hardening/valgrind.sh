#!/bin/sh
# Run the suite's C test programs under valgrind memcheck: zero errors and
# zero definitely-lost bytes, or this fails.  Usage:
#   tests/hardening/valgrind.sh BUILDDIR      (a plain, non-sanitizer build
#                                              where `make check` has run)
# The subset (the whole of tests/riak, tests/etcd, tests/cli and
# tests/leveldb are left out: they drive servers, child processes and
# SIGKILL, or - tests/leveldb/test_store - threads that retry and poll, which
# under valgrind's one-thread-at-a-time scheduler ran for over 7 minutes
# without finishing; LevelDB is covered by conformance-leveldb, test_alloc
# and test_stress):
#   tests/loader/test_loader, tests/loader/test_index,
#   tests/conformance/kvkit-conformance on memory: and on a leveldb: store,
#   tests/document/test_* (every program there),
#   tests/hardening/test_alloc, test_stress, test_plugin_perms and the
#   test_regress_* programs.
# Check's fork mode is turned off (CK_FORK=no) so leaks are seen; libtool
# wrappers run through `libtool --mode=execute`.  Each program gets
# VALGRIND_TIMEOUT seconds (default 900).  Logs: BUILDDIR/valgrind/.
set -u
b=${1:?usage: valgrind.sh BUILDDIR}
b=$(cd "$b" && pwd) || exit 2
out=$b/valgrind
rm -rf "$out" && mkdir -p "$out"
tmp=$(mktemp -d) || exit 2
trap 'rm -rf "$tmp"' EXIT

KVKIT_PLUGIN_PATH=$b/plugins/memory/.libs:$b/plugins/leveldb/.libs:$b/plugins/riak/.libs:$b/plugins/etcd/.libs
CK_FORK=no
CK_DEFAULT_TIMEOUT=1200
HARDENING_BUILDDIR=$b/tests/hardening
export KVKIT_PLUGIN_PATH CK_FORK CK_DEFAULT_TIMEOUT HARDENING_BUILDDIR

fail=0
total=0
run() { # name dir program [args]
    name=$1 dir=$2
    shift 2
    total=$((total + 1))
    start=$(date +%s)
    # --fair-sched: test programs whose threads poll a flag would otherwise
    # starve the others under valgrind's one-thread-at-a-time scheduler
    (cd "$b/$dir" && timeout "${VALGRIND_TIMEOUT:-900}" "$b/libtool" --mode=execute \
        valgrind --error-exitcode=1 --fair-sched=yes \
        --leak-check=full --errors-for-leak-kinds=definite --show-leak-kinds=definite \
        --num-callers=30 --log-file="$out/$name.vg" "$@" >"$out/$name.out" 2>&1)
    rc=$?
    errs=$(sed -n 's/.*ERROR SUMMARY: \([0-9]*\) errors.*/\1/p' "$out/$name.vg" | tail -n 1)
    lost=$(sed -n 's/.*definitely lost: \([0-9,]*\) bytes.*/\1/p' "$out/$name.vg" | tail -n 1)
    printf '%-28s exit %-3s errors %-4s definitely lost %-8s %3ss\n' "$name" "$rc" \
        "${errs:-?}" "${lost:-0}" $(($(date +%s) - start))
    if [ "$rc" -ne 0 ]; then
        fail=$((fail + 1))
        tail -n 40 "$out/$name.out"
        grep -A25 -E 'Invalid|uninitialised|definitely lost in' "$out/$name.vg" | head -n 80
    fi
}

run loader-test_loader tests/loader ./test_loader
run loader-test_index tests/loader ./test_index
run conformance-memory tests/conformance ./kvkit-conformance "memory:"
run conformance-leveldb tests/conformance ./kvkit-conformance \
    "leveldb:$tmp/conf?create_if_missing=true"
for p in "$b"/tests/document/test_*; do
    case $p in *.log|*.trs|*.o) continue ;; esac
    [ -x "$p" ] || continue
    n=$(basename "$p")
    run "document-$n" tests/document "./$n"
done
run hardening-test_alloc tests/hardening ./test_alloc
run hardening-test_stress tests/hardening ./test_stress
run hardening-test_plugin_perms tests/hardening ./test_plugin_perms
run hardening-test_regress_nomem tests/hardening ./test_regress_nomem
run hardening-test_regress_kvlayout tests/hardening ./test_regress_kvlayout

echo "valgrind: $total programs, $fail failing (logs in $out)"
[ "$fail" -eq 0 ]
