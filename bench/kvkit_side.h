/*
 * kvkit_side.h - the kvkit side of the store benchmarks: the documents of
 * docs.h through kvkit_store_*, bucket "user", indexed on bd_fields.
 * Every function exits with a message on an error.
 */
#ifndef KVKIT_BENCH_KVKIT_SIDE_H
#define KVKIT_BENCH_KVKIT_SIDE_H

#include <kvkit/kvkit.h>

#include "docs.h"

/* Save document doc under key (batch NULL), or queue it into batch; set is
 * scratch space for its index entries. */
void ks_save(kvkit_store_t *store, kvkit_batch_t *batch, kvkit_index_set_t *set, const char *key,
             const json_t *doc);

/* Get and parse the documents bd_pick(i, n) for i in [from, to); returns
 * how many (a bu_side_t run, with n bound by the caller). */
size_t ks_get_random(kvkit_store_t *store, size_t n, size_t from, size_t to);

#endif
