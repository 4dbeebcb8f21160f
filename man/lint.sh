#!/bin/sh
# lint.sh PAGE... - every page must pass `mandoc -T lint -W warning` silently,
# and render with `man --warnings` silently at 80 columns (groff catches
# lines it cannot break).  A missing tool is a skip that names its package.
status=0
command -v mandoc >/dev/null 2>&1 || { echo "SKIP: mandoc not installed (Debian package mandoc)"; exit 77; }
command -v man >/dev/null 2>&1 || { echo "SKIP: man not installed (Debian package man-db)"; exit 77; }
command -v groff >/dev/null 2>&1 || { echo "SKIP: groff not installed (Debian package groff-base)"; exit 77; }
have_man=yes
[ $# -gt 0 ] || set -- ${MAN_PAGES:-}
for page in "$@"; do
    [ -f "$page" ] || page=${srcdir:-.}/$page
    out=$(mandoc -T lint -W warning "$page" 2>&1)
    if [ "$have_man" = yes ]; then
        out="$out$(MANWIDTH=80 man --warnings -E UTF-8 -l "$page" 2>&1 >/dev/null)"
    fi
    if [ -n "$out" ]; then
        echo "$out"
        status=1
    else
        echo "ok: $(basename "$page")"
    fi
done
exit $status
