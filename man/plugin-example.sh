#!/bin/sh
# plugin-example.sh - the minimal plugin of kvkit-backend(7) must build as a
# shared object and pass the conformance suite.
# Environment: CC, CPPFLAGS, CFLAGS, CONFORMANCE (the kvkit-conformance
# program), KVKIT_PLUGIN_PATH, srcdir.
set -u
[ -x "${CONFORMANCE:-}" ] || { echo "SKIP: kvkit-conformance not built"; exit 77; }
tmp=$(mktemp -d "${TMPDIR:-/tmp}/kvkit-toy.XXXXXX") || exit 99
trap 'rm -rf "$tmp"' EXIT
sh "${srcdir:-.}/check-examples.sh" --extract kvkit-backend.7 >"$tmp/toy.c" || exit 1
# shellcheck disable=SC2086 # flag lists are meant to split
${CC:-cc} ${CPPFLAGS:-} ${CFLAGS:-} -shared -fPIC -Wl,-z,now -o "$tmp/toy.so" "$tmp/toy.c" ||
    { echo "FAIL: the example plugin does not build"; exit 1; }
KVKIT_PLUGIN_PATH=$tmp${KVKIT_PLUGIN_PATH:+:$KVKIT_PLUGIN_PATH} "$CONFORMANCE" toy:
