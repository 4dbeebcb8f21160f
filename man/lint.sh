#!/bin/sh
# lint.sh PAGE... - every page must pass `mandoc -T lint -W warning` silently.
status=0
command -v mandoc >/dev/null 2>&1 || { echo "mandoc not installed (Debian package mandoc)"; exit 77; }
[ $# -gt 0 ] || set -- ${MAN_PAGES:-}
for page in "$@"; do
    [ -f "$page" ] || page=${srcdir:-.}/$page
    out=$(mandoc -T lint -W warning "$page" 2>&1)
    if [ -n "$out" ]; then
        echo "$out"
        status=1
    else
        echo "ok: $(basename "$page")"
    fi
done
exit $status
