#!/bin/sh
# libkvkit exports only public kvkit_[a-z]* names; plugins only their ops.
set -u
lib=$(ls ../../lib/.libs/libkvkit.so.* 2>/dev/null | head -n 1)
[ -n "$lib" ] || { echo "exports: libkvkit.so not built"; exit 1; }
bad=$(nm -D --defined-only "$lib" | awk '{print $3}' | grep -v '^kvkit_[a-z]')
if [ -n "$bad" ]; then
    echo "exports: libkvkit exports non-public symbols:"; echo "$bad"; exit 1
fi
n=$(nm -D --defined-only "$lib" | awk '{print $3}' | grep -c '^kvkit_[a-z]')
[ "$n" -gt 20 ] || { echo "exports: only $n public symbols (expected the API)"; exit 1; }
plugin=../../plugins/memory/.libs/memory.so
bad=$(nm -D --defined-only "$plugin" | awk '{print $3}' | grep -v '^memory_LTX_kvkit_backend_')
if [ -n "$bad" ]; then
    echo "exports: memory.so exports more than its ops:"; echo "$bad"; exit 1
fi
echo "exports: $n public symbols, nothing else"
