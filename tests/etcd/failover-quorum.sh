#!/bin/bash
# failover.sh, then a second member killed: with no quorum, saves must end
# outcome-unknown or failed (never OK), and each must be all or nothing.
# The outage comes in the last round of saves, so the documents it hits
# are not saved again and the check sees what the unknown saves left.
FAILOVER_QUORUM=1 FAILOVER_KILL_AT=1150 exec "${srcdir:-.}/failover.sh"
