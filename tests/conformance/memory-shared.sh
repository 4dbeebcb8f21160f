#!/bin/sh
# The conformance suite on a named store shared by every open in the process.
exec ./kvkit-conformance "memory:conformance"
