/*
 * handwritten.h - the baseline of the LevelDB benchmarks: the program a
 * user would write with LevelDB's C API and jansson instead of kvkit, for
 * the documents of docs.h.
 *
 * Layout (its own, simpler than kvkit's):
 *   'd' "user" 0 key                    -> document
 *   'x' field 0 value 0 key             -> "" (integers: 8 sign-flipped BE bytes)
 *   'l' "user" 0 key                    -> the key's index keys (exact form only),
 *                                          each as 2 bytes BE length + key
 * Two ways to save, both one WriteBatch:
 *   blind - document + its 5 index keys, nothing read: what a user writes
 *           first (stale index keys stay behind when a value changes);
 *   exact - the same work as kvkit: read the key's index list, delete the
 *           entries it no longer has, put the document, the new entries
 *           and the new list.
 * Same LevelDB options as the kvkit plugin's defaults: bloom 10 bits,
 * snappy, no sync unless asked.
 */
#ifndef KVKIT_BENCH_HANDWRITTEN_H
#define KVKIT_BENCH_HANDWRITTEN_H

#include <kvkit/kvkit.h>

#include <jansson.h>
#include <stddef.h>

#include "docs.h"

typedef struct hw hw_t;

/* Open (create) the database at path; sync: every write synced. */
hw_t *hw_open(const char *path, int sync);
void hw_close(hw_t *h);
/* Compact the whole database. */
void hw_compact(hw_t *h);

/* Save document doc under key; exits on an error. */
void hw_save_blind(hw_t *h, const char *key, const json_t *doc);
void hw_save_exact(hw_t *h, const char *key, const json_t *doc);
/* The exact layout's writes for a new key, without reading its index list:
 * blind plus the list (the least an exact store of this layout writes). */
void hw_save_listed(hw_t *h, const char *key, const json_t *doc);

/* The document under key, parsed (new reference); exits when absent. */
json_t *hw_get(hw_t *h, const char *key);

/* Keys (docs 0) or documents (docs 1) whose `field` equals the string
 * value; fn gets each key, or each key and its document's text.  Returns
 * the number found. */
typedef void (*hw_found_fn)(void *ctx, const char *key, size_t key_len, const char *doc,
                            size_t doc_len);
size_t hw_lookup(hw_t *h, const char *field, const char *value, int docs, hw_found_fn fn,
                 void *ctx);

/*** runners for bu_side_t (ctx: the hw_t), documents [from, to) ***/

size_t hw_run_save_blind(void *h, size_t from, size_t to);
size_t hw_run_save_exact(void *h, size_t from, size_t to);
size_t hw_run_save_listed(void *h, size_t from, size_t to);
/* All in one blind WriteBatch. */
size_t hw_run_save_batch(void *h, size_t from, size_t to);

/*** the three stores of a LevelDB comparison ***/

typedef struct hw_stores {
    char dir[256], kv_path[512], uri[576];
    int kept; /* dir is BENCH_STORES: not removed */
    hw_t *blind, *exact;
    kvkit_store_t *kv; /* "leveldb:" store at kv_path */
} hw_stores_t;

/* Open the three in a new temporary directory named after `name`, or in
 * $BENCH_STORES (made if missing, kept at close): stores filled once
 * natively can then be measured under callgrind, whose fill of 1M
 * documents would take hours. */
void hw_stores_open(hw_stores_t *s, const char *name);
/* How many documents ids [0, n) the stores hold, as recorded by
 * hw_stores_set_filled in a kept directory (0 for a new one). */
size_t hw_stores_filled(const hw_stores_t *s);
void hw_stores_set_filled(const hw_stores_t *s, size_t n);
/* Compact all three fully; the kvkit store is closed and reopened (libkvkit
 * has no compact call), so s->kv changes. */
void hw_stores_compact(hw_stores_t *s);
/* Close them and remove the directory. */
void hw_stores_close(hw_stores_t *s);

#endif
