#!/bin/bash
# The etcd backend's own Check suites against one fresh etcd member.
. "${srcdir:-.}/etcd-lib.sh"
etcd_skip_unless_installed
etcd_cluster 1 || exit 1
./test_etcd || exit 1
./test_ambiguous
