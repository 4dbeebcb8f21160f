#!/bin/sh
# check-examples.sh PAGE... - compile the EXAMPLE code of each man page.
#
# Code sits in a .Bd -literal block between the roff comments
#   .\" EXAMPLE-BEGIN
#   .\" EXAMPLE-END
# (several per page allowed).  Each block is turned back from roff into C
# (\e -> \, \& dropped, \- -> -) and compiled with -fsyntax-only against the
# source tree's headers.  Environment: CC, CPPFLAGS (include directories and
# jansson's flags), srcdir.
#
# check-examples.sh --extract PAGE  prints the page's first example instead.
set -u
extract() { # extract PAGE DIR: write DIR/NAME.N.c for each example
    awk -v dir="$2" -v name="$(basename "$1")" '
        /^\.\\" EXAMPLE-BEGIN/ { n++; file = dir "/" name "." n ".c"; inside = 1; next }
        /^\.\\" EXAMPLE-END/   { inside = 0; close(file); next }
        inside && /^\.(Bd|Ed)/ { next }
        inside {
            line = $0
            gsub(/\\e/, "\001", line)     # protect escaped backslashes
            gsub(/\\&/, "", line)
            gsub(/\\-/, "-", line)
            gsub(/\001/, "\\", line)
            print line > file
        }' "$1"
}
CC=${CC:-cc}
CPPFLAGS=${CPPFLAGS:-}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/kvkit-man.XXXXXX") || exit 99
trap 'rm -rf "$tmp"' EXIT
if [ "${1:-}" = --extract ]; then
    page=$2
    [ -f "$page" ] || page=${srcdir:-.}/$page
    extract "$page" "$tmp"
    cat "$tmp/$(basename "$page").1.c"
    exit
fi
status=0
total=0
[ $# -gt 0 ] || set -- ${EXAMPLE_PAGES:-}
for page in "$@"; do
    [ -f "$page" ] || page=${srcdir:-.}/$page
    name=$(basename "$page")
    extract "$page" "$tmp"
    found=0
    for c in "$tmp/$name".*.c; do
        [ -f "$c" ] || continue
        found=1
        total=$((total + 1))
        if $CC -std=gnu11 -fsyntax-only -Wall -Wextra -Werror $CPPFLAGS -x c "$c" \
            2>"$tmp/log"; then
            echo "ok: $name example $(basename "$c" .c | sed 's/.*\.//')"
        else
            echo "FAIL: $name example $(basename "$c" .c | sed 's/.*\.//')"
            sed 's/^/    /' "$tmp/log"
            status=1
        fi
    done
    if [ "$found" = 0 ]; then
        echo "FAIL: $name has no EXAMPLE-BEGIN/EXAMPLE-END block"
        status=1
    fi
done
echo "$total example(s) compiled"
exit $status
