#!/bin/bash
# failover.sh with the writer talking to a follower when the leader dies.
FAILOVER_VIA=follower exec "${srcdir:-.}/failover.sh"
