/*
 * kvlayout.h - documents, index entries and manifests in one ordered
 * keyspace, for backends built on an ordered byte-key engine (memory,
 * LevelDB).  Compiled into each such plugin; not part of libkvkit.
 *
 * Key layout (lp(x) = one length byte, then x; bucket and field are at most
 * 255 bytes):
 *   'd' lp(bucket) key                      -> document bytes
 *   'm' lp(bucket) key                      -> manifest: the key's index entries
 *   'i' lp(bucket) lp(field) sortable key   -> predecessor: 0x00, or 0x01 and the
 *                                              sortable bytes of the key's previous
 *                                              (smaller) value of the same field
 *   'r'                                     -> the store's revision ceiling (8 bytes BE):
 *                                              no revision above it was handed out
 *   'f' [level page]                        -> the manifest filter, stored (kvlfilter.c)
 * A manifest is the document's revision (8 bytes BE) followed by its index
 * entries, [flen][field][sortable] each, in (field, sortable) order.  Every
 * save takes the next store-wide revision, so a revision is never reused,
 * even across delete and re-create (no ABA for save-if-unchanged).
 * The sortable encoding is prefix-free, so `sortable key` splits without a
 * separator.  Storing each entry's predecessor lets a range scan return a
 * key exactly once, at its first value >= lo, in constant memory: an entry
 * whose predecessor is also >= lo is skipped.
 *
 * Every save/delete is one engine batch holding the document, the index
 * entries it gains and loses (worked out from the stored manifest by
 * manifest.c's diff, which etcd shares) and the new manifest; a write batch
 * reads the manifests it wrote itself through overlay.c.  Callers hold their engine's write lock around a save or
 * delete, so the manifest read and the batch commit are one step.
 */
#ifndef KVKIT_KVLAYOUT_H
#define KVKIT_KVLAYOUT_H

#include <kvkit/backend.h>

#include "bytes.h"
#include "keyfilter.h"

#include <pthread.h>

/* The engine: an ordered map of byte strings with atomic batches and
 * forward iterators.  Every function returns a kvkit_status_t where it
 * returns int, and fills err (naming the engine) on failure. */
typedef struct kvl_ops {
    /* Point read.  KVKIT_OK with *v malloc'd, or KVKIT_NOTFOUND. */
    int (*get)(void *eng, const unsigned char *k, size_t klen, char **v,
               size_t *vlen, kvkit_error_t *err);
    void *(*batch_new)(void *eng);
    int (*batch_put)(void *batch, const unsigned char *k, size_t klen,
                     const void *v, size_t vlen);
    int (*batch_del)(void *batch, const unsigned char *k, size_t klen);
    /* Apply atomically; the batch is still freed by batch_free. */
    int (*batch_commit)(void *eng, void *batch, kvkit_error_t *err);
    void (*batch_free)(void *batch);
    /* Pin the engine's current state (a snapshot) and release it.  Writes
     * committed after snap_new are not seen through it.  snap_new returns
     * NULL only when out of memory. */
    void *(*snap_new)(void *eng);
    void (*snap_free)(void *eng, void *snap);
    /* Iterators see one consistent state of the engine: `snap`'s when not
     * NULL, else the state when the iterator was made. */
    void *(*iter_new)(void *eng, void *snap);
    void (*iter_seek)(void *it, const unsigned char *k, size_t klen);
    int (*iter_valid)(void *it);
    void (*iter_next)(void *it);
    const unsigned char *(*iter_key)(void *it, size_t *len);
    const unsigned char *(*iter_value)(void *it, size_t *len);
    int (*iter_status)(void *it, kvkit_error_t *err);
    /* Point read in the iterator's state (KVKIT_OK / KVKIT_NOTFOUND; *v malloc'd). */
    int (*iter_get)(void *it, const unsigned char *k, size_t klen, char **v,
                    size_t *vlen, kvkit_error_t *err);
    void (*iter_free)(void *it);
} kvl_ops_t;

/* How a store keeps the manifest filter (kvlfilter.c): the set of keys
 * that have a manifest, so that saving a new key reads no manifest. */
enum {
    KVL_FILTER_NONE,      /* no filter: every write reads the manifest */
    KVL_FILTER_EPHEMERAL, /* a store that starts empty and dies with the process */
    KVL_FILTER_STORED     /* kept in the store between opens ('f' keys) */
};

/* One per store; the plugin keeps it and passes it to every call. */
typedef struct kvl {
    const kvl_ops_t *ops;
    void *eng;
    const char *name;  /* backend name, for messages */
    uint64_t revision; /* last revision handed out; guarded by the write lock */
    uint64_t ceiling;  /* revisions up to here are reserved by the stored 'r' */
    /* The store's locks, for the shared backend operations (kvlbackend.h):
     * readers share rwlock and writers hold it (memory); or writers hold
     * write_mutex and readers take nothing (LevelDB: reads are snapshots).
     * NULL: not used. */
    pthread_rwlock_t *rwlock;
    pthread_mutex_t *write_mutex;
    int filter_mode; /* KVL_FILTER_*, set before kvl_open */
    /* writers' state, guarded by the write lock */
    int filter_state;        /* kvlfilter.c */
    kvl_filter_t filter;
    uint64_t filter_ceiling; /* the ceiling the stored filter was saved at */
    kvl_buf_t wkey;          /* scratch for the keys a write builds */
    kvl_buf_t wmanifest;     /* scratch for the manifest a save builds */
} kvl_t;

/* Load the revision counter (call once after opening the engine). */
int kvl_open(kvl_t *l, kvkit_error_t *err);
/* Store what must outlive the handle (the manifest filter, when stored)
 * and free what kvl_open and the writes allocated.  Call once, before
 * closing the engine, with no operation running. */
void kvl_close(kvl_t *l);

/* The backend operations, on top of the engine.  Writers (save, delete,
 * write_batch, save_if) must hold the store's write lock.  Readers take
 * `snap`: a snapshot from ops->snap_new to read in (a backend's view), or
 * NULL for the current state. */
int kvl_get(const kvl_t *l, void *snap, const char *bucket, const char *key, char **value,
            size_t *value_len, kvkit_error_t *err);
int kvl_get_rev(const kvl_t *l, const char *bucket, const char *key, char **value,
                size_t *value_len, uint64_t *revision, kvkit_error_t *err);
int kvl_save_if(kvl_t *l, const char *bucket, const char *key, const char *value,
                size_t value_len, const kvkit_index_entry_t *entries, size_t n_entries,
                uint64_t expected, uint64_t *new_revision, kvkit_error_t *err);
int kvl_save(kvl_t *l, const char *bucket, const char *key,
             const char *value, size_t value_len,
             const kvkit_index_entry_t *entries, size_t n_entries,
             kvkit_error_t *err);
int kvl_delete(kvl_t *l, const char *bucket, const char *key,
               kvkit_error_t *err);
int kvl_write_batch(kvl_t *l, const kvkit_backend_write_t *writes,
                    size_t n_writes, kvkit_error_t *err);
int kvl_index_lookup(const kvl_t *l, void *snap, const char *bucket, const char *field,
                     const kvkit_index_value_t *lo, const kvkit_index_value_t *hi,
                     const kvkit_index_position_t *after,
                     kvkit_backend_key_fn key_fn, kvkit_backend_doc_fn doc_fn,
                     void *ctx, kvkit_error_t *err);
int kvl_list_keys(const kvl_t *l, void *snap, const char *bucket, const char *lo,
                  const char *hi, kvkit_backend_key_fn fn, void *ctx,
                  kvkit_error_t *err);

/* Index cursors (the ABI's index_cursor_*, backend_types.h): the entries
 * kvl_index_lookup streams, stepped through and sought in.  bucket, field,
 * lo and hi are borrowed until kvl_icur_close.  The cursor reads `snap`
 * (NULL: the engine's iterator's own state; memory's is the live map, so
 * readers there give each cursor a snapshot).  Callers hold the read lock
 * around each call, as around any read. */
typedef struct kvl_icur kvl_icur_t;
int kvl_icur_open(const kvl_t *l, void *snap, const char *bucket, const char *field,
                  const kvkit_index_value_t *lo, const kvkit_index_value_t *hi,
                  kvl_icur_t **out, kvkit_error_t *err);
int kvl_icur_next(kvl_icur_t *c, const kvkit_index_position_t *at, kvkit_index_position_t *hits,
                  size_t max, size_t *n, kvkit_error_t *err);
void kvl_icur_close(kvl_icur_t *c);

/*** key encoding, exposed for checks, repair tools and fuzzing ***/

#define KVL_DOC 'd'
#define KVL_MANIFEST 'm'
#define KVL_INDEX 'i'
#define KVL_REVISION 'r' /* the whole key is this one byte */
#define KVL_FILTER 'f'   /* 'f' (the header) or 'f' level page(4 BE) */

/* A decoded layout key; pointers point into the key. */
typedef struct kvl_key {
    char type; /* KVL_DOC, KVL_MANIFEST, KVL_INDEX; KVL_REVISION and KVL_FILTER
                  (nothing else is set) */
    const char *bucket;
    size_t bucket_len;
    const char *field; /* KVL_INDEX */
    size_t field_len;
    const unsigned char *sortable; /* KVL_INDEX */
    size_t sortable_len;
    const char *key;
    size_t key_len;
} kvl_key_t;

/* Decode k[0..klen); KVKIT_OK or KVKIT_CORRUPT (never reads out of bounds). */
int kvl_key_decode(const unsigned char *k, size_t klen, kvl_key_t *out);

#endif /* KVKIT_KVLAYOUT_H */
