/*
 * skiplist.h - the memory backend's ordered map of byte keys, with the
 * versions that views read.
 *
 * Keys compare bytewise (a shorter prefix first).  Every batch commits as
 * one step under a new sequence number; a reader at sequence s sees the
 * map as of the commit numbered s (SL_SEQ_LIVE: the current state).  A
 * snapshot (sl_snap_open) pins the last commit: while one is open, nodes
 * keep the older versions and deletions it may read; closing the oldest
 * snapshot drops what no open one can see.  Without snapshots a node keeps
 * one version and a deleted key leaves at once.
 *
 * Locking is the caller's: sl_batch_commit and sl_snap_close need the map
 * to themselves; reads, positions, sl_batch_new/put/del and sl_snap_open
 * may run together (sl_snap_open orders concurrent openers itself).
 */
#ifndef KVKIT_MEMORY_SKIPLIST_H
#define KVKIT_MEMORY_SKIPLIST_H

#include <stddef.h>
#include <stdint.h>

#define SL_SEQ_LIVE UINT64_MAX /* reads of the current state */

typedef struct sl sl_t;
typedef struct sl_node sl_node_t;
typedef struct sl_batch sl_batch_t;
typedef struct sl_snap sl_snap_t;

/* A new empty map (NULL: out of memory); sl_free frees it, its nodes and
 * any snapshot still open.  NULL is allowed. */
sl_t *sl_new(void);
void sl_free(sl_t *l);

/* The value of k visible at seq, or NULL; borrowed until the next commit
 * or snapshot close. */
const unsigned char *sl_get(const sl_t *l, uint64_t seq, const unsigned char *k, size_t klen,
                            size_t *vlen);

/*** writes: a batch is built first (copying keys and values), so its
 * commit only links and cannot fail halfway ***/

sl_batch_t *sl_batch_new(sl_t *l); /* NULL: out of memory */
/* Add a put or a delete; 0, or -1 when out of memory (the batch is as
 * before). */
int sl_batch_put(sl_batch_t *b, const unsigned char *k, size_t klen, const void *v, size_t vlen);
int sl_batch_del(sl_batch_t *b, const unsigned char *k, size_t klen);
/* Apply the whole batch as one commit (once; it cannot fail).  The batch
 * stays the caller's, to free with sl_batch_free, committed or not. */
void sl_batch_commit(sl_batch_t *b);
void sl_batch_free(sl_batch_t *b);

/*** snapshots ***/

/* Pin the last commit (NULL: out of memory); sl_snap_seq is what to read
 * at (SL_SEQ_LIVE for a NULL snapshot). */
sl_snap_t *sl_snap_open(sl_t *l);
void sl_snap_close(sl_t *l, sl_snap_t *s);
uint64_t sl_snap_seq(const sl_snap_t *s);

/*** positions: the nodes with a value visible at seq, in key order ***/

/* The first such node with key >= k, or NULL. */
const sl_node_t *sl_seek(const sl_t *l, uint64_t seq, const unsigned char *k, size_t klen);
/* The one after n, or NULL. */
const sl_node_t *sl_next(const sl_node_t *n, uint64_t seq);
/* Its key, and its value at seq (n must be visible at seq); borrowed like
 * sl_get's. */
const unsigned char *sl_node_key(const sl_node_t *n, size_t *len);
const unsigned char *sl_node_value(const sl_node_t *n, uint64_t seq, size_t *len);

#endif /* KVKIT_MEMORY_SKIPLIST_H */
