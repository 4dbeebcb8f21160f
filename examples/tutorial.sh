#!/bin/sh
# Run the tutorial and compare its output with the committed expectation.
out=$(mktemp) || exit 99
trap 'rm -f "$out"' EXIT
./tutorial > "$out" || { echo "tutorial failed"; cat "$out"; exit 1; }
diff -u "$TUTORIAL_EXPECTED" "$out"
