/*
 * kvlfilter.h - kvlayout's manifest filter: which keys of a store have a
 * manifest (a keyfilter.h Bloom filter), so that the save of a new key
 * skips the read of its absent manifest - on LevelDB a read that visits
 * every level of the tree, and the largest part of a new key's save.
 * Used by kvlayout.c only, by writers, under the store's write lock.
 *
 * Exactness rests on one invariant: every key that has a manifest is in
 * the filter (a key whose manifest went stays in it: a false positive
 * costs a read, never a wrong answer).  A manifest write adds its key
 * before the batch commits; a filter that cannot take a key (out of
 * memory) is switched off for the handle and never stored.
 *
 * KVL_FILTER_STORED: kvl_close writes the pages that changed and a header,
 * in one batch:
 *   'f'                        -> "KVF" 2, the revision ceiling when
 *                                 saved (8 BE), the level count (1 byte),
 *                                 each level's key count (8 BE)
 *   'f' level(1) page(4 BE)    -> KVL_FILTER_PAGE bytes of the level
 * A stored filter is trusted only if its ceiling is the store's 'r'.  A
 * handle starts at the stored ceiling, so the first save of every session
 * raises 'r': a save the filter never saw (a crash before close, a kvkit
 * without filters writing the store) leaves a different 'r', and the
 * filter is rebuilt by one scan of the manifests - lazily, by the first
 * write that needs it, so read-only sessions never pay.  Repair deletes
 * the header (it may keep a manifest and lose the 'r' written with it).
 */
#ifndef KVKIT_KVLFILTER_H
#define KVKIT_KVLFILTER_H

#include "kvlayout.h"

/* 1 when the manifest stored under key mkey certainly does not exist (a
 * writer may skip reading it); 0 when it may.  The first call of a handle
 * loads or builds the filter.  *hash receives the key's hash for
 * kvl_filter_note. */
int kvl_filter_absent(kvl_t *l, const unsigned char *mkey, size_t len, uint64_t *hash);

/* A manifest is being written for a key that had none (hash from
 * kvl_filter_absent). */
void kvl_filter_note(kvl_t *l, uint64_t hash);

/* Store the filter if it changed (KVL_FILTER_STORED) and free it. */
void kvl_filter_close(kvl_t *l);

#endif /* KVKIT_KVLFILTER_H */
