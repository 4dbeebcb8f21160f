/*
 * keyfilter.h - a growing Bloom filter of byte keys: "certainly absent" or
 * "maybe present", never a wrong "absent".  kvlayout keeps one per store
 * over the keys that have a manifest, so that the save of a new key skips
 * the read of its (absent) manifest.  Compiled into each plugin that uses
 * it; pure (no engine, no I/O): kvlayout stores and loads the pages.
 *
 * The filter is a list of levels; level j has KVL_FILTER_BASE_BLOCKS << j
 * blocks of 64 bytes, and takes keys until it holds about one key per
 * KVL_FILTER_BITS_PER_KEY bits; then a level twice as large is added.  A
 * key sets KVL_FILTER_PROBES bits of one block of the level it goes to
 * (one cache line per level read), and a lookup asks every level, so the
 * false-positive rate is the sum of the levels' (about 0.2% each: 1.2% for
 * a million keys in 7 levels; with 12 bits and 7 probes it was 3.2%, and
 * each false positive costs a read).  Memory: about 2 bytes per key, in
 * pages of KVL_FILTER_PAGE bytes, each of which knows whether it changed
 * since it was last stored.  Changing the geometry or the hash changes the
 * stored format: bump the version in kvlfilter.c's magic.
 */
#ifndef KVKIT_KEYFILTER_H
#define KVKIT_KEYFILTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define KVL_FILTER_BASE_BLOCKS 256 /* level 0: 16 KiB */
#define KVL_FILTER_BITS_PER_KEY 16
#define KVL_FILTER_PROBES 9
#define KVL_FILTER_PAGE 4096
#define KVL_FILTER_MAX_LEVELS 24

typedef struct kvl_filter_level {
    unsigned char *bits;  /* n_blocks * 64 bytes */
    size_t n_blocks;
    uint64_t n_keys;
    unsigned char *dirty; /* one flag per page: changed since stored */
} kvl_filter_level_t;

typedef struct kvl_filter {
    kvl_filter_level_t level[KVL_FILTER_MAX_LEVELS];
    size_t n_levels;
} kvl_filter_t;

/* The hash every other call takes. */
uint64_t kvl_filter_hash(const void *key, size_t len);

/* false: certainly absent; true: maybe present. */
bool kvl_filter_maybe(const kvl_filter_t *f, uint64_t h);

/* Add a key (its hash); 0, or -1 when out of memory (the filter is then
 * unchanged and must not be trusted to hold the key). */
int kvl_filter_add(kvl_filter_t *f, uint64_t h);

/* Add an empty level of the next size (loading); 0 or -1 (out of memory). */
int kvl_filter_grow(kvl_filter_t *f);

/* Pages of level j: bytes (n_blocks * 64) / KVL_FILTER_PAGE. */
size_t kvl_filter_pages(const kvl_filter_t *f, size_t j);

void kvl_filter_free(kvl_filter_t *f);

#endif /* KVKIT_KEYFILTER_H */
