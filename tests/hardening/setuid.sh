#!/bin/sh
# A set-uid program ignores KVKIT_PLUGIN_PATH (libkvkit reads it with
# secure_getenv): a set-uid root copy of setuid_probe, run as user nobody
# with KVKIT_PLUGIN_PATH pointing at a directory holding the test plugin
# "minimal" (never installed, so only that directory can provide it), must
# not list that directory nor load minimal.so, and must say that it ignored
# the variable; the same copy without the set-uid bit, run the same way,
# must do both (the control).
#
# User nobody must be able to read everything it runs, whatever the modes
# of the build tree (a clone under /root is mode 0700): the probe, the
# libkvkit it opens (by path: a set-uid program ignores LD_LIBRARY_PATH)
# and the plugin are private copies in a root-owned mode-0755 temporary
# directory.  Needs root (to chown/chmod u+s and switch to nobody) and
# setpriv from util-linux; skipped (77) otherwise, saying which.
set -u
builddir=${HARDENING_BUILDDIR:-$(cd "$(dirname "$0")" && pwd)}
probe=$builddir/setuid_probe
plugdir=$(cd "$builddir/../plugins/.libs" 2>/dev/null && pwd) &&
    [ -f "$plugdir/minimal.so" ] || { echo "tests/plugins not built (make check there)"; exit 99; }
libdir=$(cd "$builddir/../../lib/.libs" 2>/dev/null && pwd) &&
    [ -f "$libdir/libkvkit.so" ] || { echo "lib/.libs/libkvkit.so not built"; exit 99; }

if [ "$(id -u)" -ne 0 ]; then echo "SKIP: not root (needs chown root, chmod u+s and a switch to user nobody)"; exit 77; fi
command -v setpriv >/dev/null 2>&1 || { echo "SKIP: no setpriv (util-linux)"; exit 77; }
id nobody >/dev/null 2>&1 || { echo "SKIP: no user nobody"; exit 77; }
[ -x "$probe" ] || { echo "setuid_probe not built"; exit 99; }

tmp=$(mktemp -d) || exit 99
trap 'rm -rf "$tmp"' EXIT
umask 022
chown root:root "$tmp" && chmod 755 "$tmp" || exit 99
cp "$probe" "$tmp/probe" && chown root:root "$tmp/probe" || exit 99
cp -L "$libdir/libkvkit.so" "$tmp/libkvkit.so" && chmod 644 "$tmp/libkvkit.so" || exit 99
mkdir -m 755 "$tmp/plugins" && cp "$plugdir/minimal.so" "$tmp/plugins/" &&
    chmod 755 "$tmp/plugins/minimal.so" || exit 99
plugdir=$tmp/plugins
nogroup=$(id -gn nobody)

run_as_nobody() {
    setpriv --reuid=nobody --regid="$nogroup" --clear-groups \
        env KVKIT_PLUGIN_PATH="$plugdir" "$tmp/probe" "$tmp/libkvkit.so" minimal
}

fail=0
chmod 0755 "$tmp/probe"
# everything nobody needs is in $tmp: a failure here is a failure, not a skip
control=$(run_as_nobody 2>&1) || { echo "FAIL: the control run failed: $control"; exit 1; }
echo "--- without set-uid:"; echo "$control"
echo "$control" | grep -qx "dir KVKIT_PLUGIN_PATH $plugdir" || {
    echo "FAIL: the control run does not see KVKIT_PLUGIN_PATH"; fail=1; }
echo "$control" | grep -qx "open minimal: OK" || {
    echo "FAIL: the control run cannot open minimal: from KVKIT_PLUGIN_PATH"; fail=1; }

chmod 4755 "$tmp/probe"
out=$(run_as_nobody 2>&1) || { echo "FAIL: the set-uid run failed: $out"; exit 1; }
echo "--- set-uid root, run as nobody:"; echo "$out"
echo "$out" | grep -q "^uid 65534 euid 0$" || {
    echo "FAIL: the probe did not run set-uid (nosuid mount?)"; exit 99; }
if echo "$out" | grep -q "^dir KVKIT_PLUGIN_PATH"; then
    echo "FAIL: a set-uid program searched KVKIT_PLUGIN_PATH"; fail=1
fi
echo "$out" | grep -qx "open minimal: NO_BACKEND" || {
    echo "FAIL: a set-uid program did not answer NO_BACKEND for minimal: (loaded it from KVKIT_PLUGIN_PATH?)"; fail=1; }
echo "$out" | grep -q "^ignored KVKIT_PLUGIN_PATH: .*set-uid" || {
    echo "FAIL: a set-uid program did not say it ignored KVKIT_PLUGIN_PATH"; fail=1; }
echo "$out" | grep -q "^error: .*KVKIT_PLUGIN_PATH.*set-uid" || {
    echo "FAIL: the NO_BACKEND message does not say KVKIT_PLUGIN_PATH was ignored"; fail=1; }
exit $fail
