#!/bin/sh
# The conformance suite on a private in-process store.
KVKIT_CONFORMANCE_REQUIRE=snapshot exec ./kvkit-conformance "memory:"
