#!/bin/bash
# failover.sh, then a second member killed: with no quorum, saves must end
# outcome-unknown or failed (never OK), and each must be all or nothing.
FAILOVER_QUORUM=1 exec "${srcdir:-.}/failover.sh"
