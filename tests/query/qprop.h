/*
 * qprop.h - the property test of compound queries, shared by tests/query
 * and the conformance suite (kvkit-conformance).
 */
#ifndef KVKIT_QPROP_H
#define KVKIT_QPROP_H

#include <kvkit/kvkit.h>

#define QPROP_MAX_DOCS 600

/* Save docs_n (at most QPROP_MAX_DOCS) random documents in `bucket` of s
 * (indexes on a, b and c; d unindexed), then check queries_n random queries
 * against the brute-force filter, with Check assertions naming `backend`,
 * the seed and the query on failure. */
void qprop_run(kvkit_store_t *s, const char *bucket, const char *backend, unsigned seed,
               int docs_n, int queries_n);

#endif /* KVKIT_QPROP_H */
