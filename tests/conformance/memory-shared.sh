#!/bin/sh
# The conformance suite on a named store shared by every open in the process.
KVKIT_CONFORMANCE_REQUIRE=snapshot exec ./kvkit-conformance "memory:conformance"
