#!/bin/sh
# The conformance suite on a private in-process store.
exec ./kvkit-conformance "memory:"
