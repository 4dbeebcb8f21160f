/*
 * kvkit/kvkit.h - JSON documents with schemas on pluggable key-value stores.
 *
 * Rules that hold for every function here:
 *  - Handles are opaque.  `_open/_close` hold engine resources,
 *    `_create/_destroy` are plain objects; every close/destroy accepts NULL.
 *  - Every fallible call returns a kvkit_status_t (KVKIT_OK == 0) and takes
 *    `kvkit_error_t *err` last; NULL is allowed.  The first error wins: a
 *    report that already holds an error is not overwritten (clear it with
 *    kvkit_error_clear to reuse it).
 *  - KVKIT_NOTFOUND is an outcome, not a failure.
 *  - Strings are UTF-8 and NUL-terminated and are borrowed for the call
 *    unless the comment says otherwise.
 *  - json_t arguments follow jansson: plain names borrow, `_new` steals.
 *
 * Thread safety: stores may be shared between threads (libkvkit serializes
 * calls to backends that are not thread-safe); other objects belong to one
 * thread at a time.
 */
#ifndef KVKIT_H
#define KVKIT_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include <kvkit/backend_types.h>
#include <kvkit/status.h>
#include <kvkit/version.h> /* KVKIT_VERSION */

#ifdef __cplusplus
extern "C" {
#endif

/*** errors ***/

/* Static message for a status code ("not found" ...); never NULL. */
const char *kvkit_strerror(int code);

/* The code's name without prefix ("NOTFOUND" ...); never NULL. */
const char *kvkit_status_name(int code);

/* Reset a report to KVKIT_OK with empty texts.  NULL is allowed. */
void kvkit_error_clear(kvkit_error_t *err);

/* Library version string (KVKIT_VERSION of the built library). */
const char *kvkit_version(void);

/*** memory ***/

typedef void *(*kvkit_malloc_fn)(size_t size);
typedef void *(*kvkit_realloc_fn)(void *ptr, size_t size);
typedef void (*kvkit_free_fn)(void *ptr);

/* Route libkvkit's own allocations through these functions (NULL restores
 * malloc/realloc/free).  Call it before any other kvkit function and never
 * while objects allocated by the previous functions are alive; not
 * thread-safe.  Memory that a function documents as "free with free(3)"
 * (backend results, kvkit_index_encode) is not affected.  jansson has its
 * own hook, json_set_alloc_funcs. */
void kvkit_set_alloc_funcs(kvkit_malloc_fn malloc_fn, kvkit_realloc_fn realloc_fn,
                           kvkit_free_fn free_fn);

/*** plugin directories and backends ***/

/* Add a directory searched before KVKIT_PLUGIN_PATH and the compiled-in one
 * (directories added later are searched after those added earlier).  `dir`
 * must be absolute (else KVKIT_INVALID); it is copied.  A directory that
 * exists and breaks the plugin-path rule of kvkit-backend(7) (it, a
 * directory above it or a link on the way is writable by group or others
 * without the sticky bit, or owned by someone other than root or the
 * effective user) is refused with KVKIT_PLUGIN_LOAD.  Process-wide. */
int kvkit_plugin_dir_add(const char *dir, kvkit_error_t *err);

/* Forget every directory added with kvkit_plugin_dir_add. */
void kvkit_plugin_dirs_clear(void);

/* The compiled-in plugin directory. */
const char *kvkit_plugin_dir_default(void);

/* Register a backend in-process (no .so): `ops` is a table of function
 * pointers, borrowed until kvkit_backend_unregister (keep it static).  The
 * descriptor's name is the backend name; it takes precedence over plugin
 * files of the same name. */
typedef struct kvkit_backend_ops {
    const kvkit_backend_descriptor_t *descriptor; /* required */
    /* One member per line of KVKIT_BACKEND_OPS (backend_types.h), in its
     * order, named by its field column: open, close, get, save, del
     * (required), index_lookup, list_keys, index_docs, write_batch, get_rev,
     * save_if, get_siblings, compact, repair (optional), view_open,
     * view_close, view_get, view_index_lookup, view_list_keys,
     * view_index_docs (with KVKIT_BACKEND_SNAPSHOT, ABI 1.2), ... */
#define KVKIT_BACKEND_OPS_MEMBER_(op, field, need, abi_minor) kvkit_backend_##op##_fn field;
    KVKIT_BACKEND_OPS(KVKIT_BACKEND_OPS_MEMBER_)
#undef KVKIT_BACKEND_OPS_MEMBER_
    /* zero: room for new operations.  25 slots for operations in all, so
     * each one added takes a reserved one and the size never changes. */
#define KVKIT_BACKEND_OPS_ONE_(op, field, need, abi_minor) +1
    void *reserved[25 - (0 KVKIT_BACKEND_OPS(KVKIT_BACKEND_OPS_ONE_))];
#undef KVKIT_BACKEND_OPS_ONE_
} kvkit_backend_ops_t;

int kvkit_backend_register(const kvkit_backend_ops_t *ops, kvkit_error_t *err);
int kvkit_backend_unregister(const char *name, kvkit_error_t *err);

/* One backend as found by kvkit_backends_list. */
typedef struct kvkit_backend_info {
    const char *name;        /* backend name */
    const char *path;        /* the file, or "(built-in)" */
    const char *version;     /* NULL when it failed to load */
    const char *description; /* NULL when it failed to load */
    unsigned abi_major, abi_minor;
    int status;              /* KVKIT_OK, or why it cannot be used */
    const char *error;       /* message when status != KVKIT_OK, else "" */
    int shadowed;            /* 1 when an earlier directory has the same name */
} kvkit_backend_info_t;

/* Call fn once per backend file found in every plugin directory (in search
 * order) and per registered backend.  Each plugin is loaded to read its
 * descriptor and unloaded again.  Pointers are valid during the call only.
 * fn returns non-zero to stop. */
typedef int (*kvkit_backend_info_fn)(void *ctx, const kvkit_backend_info_t *info);
int kvkit_backends_list(kvkit_backend_info_fn fn, void *ctx, kvkit_error_t *err);

/* Call fn with each plugin directory in search order ("api",
 * "KVKIT_PLUGIN_PATH" or "default" in `origin`).  Unsafe directories are
 * included (a plugin found there is refused); see below. */
typedef int (*kvkit_plugin_dir_fn)(void *ctx, const char *dir, const char *origin);
void kvkit_plugin_dirs_each(kvkit_plugin_dir_fn fn, void *ctx);

/* Call fn with each plugin-path entry that cannot provide plugins, and why:
 * empty or relative KVKIT_PLUGIN_PATH entries ("empty entry", "not an
 * absolute path"), the whole variable in a set-uid or set-gid program
 * (`entry` is its value), and each searched directory that breaks the
 * plugin-path rule ("unsafe: ..." naming the offending path).  Strings are
 * valid during the call only; fn returns non-zero to stop. */
typedef int (*kvkit_plugin_ignored_fn)(void *ctx, const char *entry, const char *origin,
                                       const char *why);
void kvkit_plugin_dirs_ignored(kvkit_plugin_ignored_fn fn, void *ctx);

/*** stores ***/

typedef struct kvkit_store kvkit_store_t;

/* Open the store named by "NAME:LOCATION[?key=value&...]" (option keys and
 * values percent-decoded).  NAME is checked ([a-z0-9_]{1,64}) before any
 * file is touched.  Returns NULL with *err filled on failure.  Close with
 * kvkit_store_close. */
kvkit_store_t *kvkit_store_open(const char *uri, kvkit_error_t *err);

/* Close the store; unloads the plugin when no other store uses it.  NULL ok. */
void kvkit_store_close(kvkit_store_t *store);

/* The backend's name and descriptor (borrowed, valid while the store is open). */
const char *kvkit_store_backend(const kvkit_store_t *store);
const kvkit_backend_descriptor_t *kvkit_store_descriptor(const kvkit_store_t *store);

/* 1 if the backend implements the optional operation `op` (an `optional`
 * line of KVKIT_BACKEND_OPS: "index_lookup", "list_keys", "index_docs",
 * "write_batch", "get_rev", "save_if", "get_siblings", "compact",
 * "repair"), else 0.  "snapshot": 1 if its iterations read one view of the
 * store (KVKIT_BACKEND_SNAPSHOT). */
int kvkit_store_supports(const kvkit_store_t *store, const char *op);

/*** maintenance ***/

/* Compact the store's files (KVKIT_NOT_SUPPORTED when the backend cannot). */
int kvkit_store_compact(kvkit_store_t *store, kvkit_error_t *err);

/* Repair the store named by `uri` with its engine's recovery, without
 * opening it (a damaged store may not open).  The store must not be open in
 * any process (KVKIT_LOCKED).  KVKIT_NOT_SUPPORTED when the backend has no
 * repair.  Data in damaged parts may be lost: see the backend's manual. */
int kvkit_repair(const char *uri, kvkit_error_t *err);

/*** index values ***/

/* A set of index entries for one document: field -> scalar values. */
typedef struct kvkit_index_set kvkit_index_set_t;

kvkit_index_set_t *kvkit_index_set_create(void);
void kvkit_index_set_destroy(kvkit_index_set_t *set);
void kvkit_index_set_clear(kvkit_index_set_t *set);
size_t kvkit_index_set_size(const kvkit_index_set_t *set);

/* Add `value` (borrowed) under `field`: an integer, a real, a string, or an
 * array of those (one entry per element).  null in an array is skipped;
 * other kinds are KVKIT_INVALID naming the field. */
int kvkit_index_set_add(kvkit_index_set_t *set, const char *field,
                        const json_t *value, kvkit_error_t *err);

/* The sortable encoding of one scalar (integer, real or string).  On success
 * *out is allocated with malloc and must be freed with free. */
int kvkit_index_encode(const json_t *value, unsigned char **out, size_t *out_len,
                       kvkit_error_t *err);

/* Decode sortable bytes back to a new JSON scalar (reference owned by the
 * caller).  Numbers come back as integers when they are whole and fit an
 * int64 (3.0 and 3 encode alike, since they compare equal), else as reals. */
int kvkit_index_decode(const unsigned char *in, size_t len, json_t **out,
                       kvkit_error_t *err);

/*** raw store operations (bytes; the document layer builds on these) ***/

/* On KVKIT_OK, *value (malloc'd, NUL-terminated for convenience; free with
 * free) and *value_len.  KVKIT_NOTFOUND when absent. */
int kvkit_store_get(kvkit_store_t *store, const char *bucket, const char *key,
                    char **value, size_t *value_len, kvkit_error_t *err);

/* Store value under bucket/key with exactly the index entries in `index`
 * (NULL: none) - entries the key had before are replaced. */
int kvkit_store_save(kvkit_store_t *store, const char *bucket, const char *key,
                     const char *value, size_t value_len,
                     const kvkit_index_set_t *index, kvkit_error_t *err);

/* Delete bucket/key and its index entries; an absent key is KVKIT_OK. */
int kvkit_store_delete(kvkit_store_t *store, const char *bucket,
                       const char *key, kvkit_error_t *err);

/* Result callback: return 0 to continue, non-zero to stop early.  It may
 * run while the backend holds a lock on the store, so it must not write to
 * the same store (a deadlock on some backends); for read-modify-write loops
 * use the iterators below, which hold no lock between results. */
typedef int (*kvkit_key_fn)(void *ctx, const char *key, size_t key_len);
typedef int (*kvkit_doc_fn)(void *ctx, const char *key, size_t key_len,
                            const char *value, size_t value_len);

/* Keys whose `field` has a value v with lo <= v <= hi (hi NULL: v == lo).
 * Bounds are JSON scalars of the same class (numbers, integer or real, in
 * one order; or strings).  Pseudo-fields: "$key" (lo/hi are key strings),
 * "$bucket" (every key; bounds ignored).  Each key at most once. */
int kvkit_store_index_keys(kvkit_store_t *store, const char *bucket,
                           const char *field, const json_t *lo,
                           const json_t *hi, kvkit_key_fn fn, void *ctx,
                           kvkit_error_t *err);

/* The same, handing over each document (fused backend op when available,
 * else one get per key; keys deleted meanwhile are skipped). */
int kvkit_store_index_docs(kvkit_store_t *store, const char *bucket,
                           const char *field, const json_t *lo,
                           const json_t *hi, kvkit_doc_fn fn, void *ctx,
                           kvkit_error_t *err);

/* Keys of the bucket with lo <= key <= hi (NULL bounds are open). */
int kvkit_store_list_keys(kvkit_store_t *store, const char *bucket,
                          const char *lo, const char *hi, kvkit_key_fn fn,
                          void *ctx, kvkit_error_t *err);

/*** siblings (engines without conflict prevention, such as Riak) ***/

/* One of the values a key holds after concurrent writes. */
typedef struct kvkit_sibling {
    const char *value;
    size_t value_len;
} kvkit_sibling_t;

/* Merge the n (>= 1) siblings of bucket/key into one value.  On KVKIT_OK,
 * *merged is allocated with malloc (libkvkit frees it, or hands it to the
 * caller of the get) and `index` - empty, owned by libkvkit - holds the
 * merged document's index entries.  Any other status leaves the siblings in
 * place and is returned by the get, with the message the resolver put in
 * err.  Siblings are borrowed for the call. */
typedef int (*kvkit_resolve_fn)(void *ctx, const char *bucket, const char *key,
                                const kvkit_sibling_t *siblings, size_t n, char **merged,
                                size_t *merged_len, kvkit_index_set_t *index,
                                kvkit_error_t *err);

/* Set (fn NULL: remove) the store's resolver.  With one set, a get or
 * get-of-documents that meets siblings reads them all, calls fn, saves the
 * merged value with its index entries (replacing the siblings) and returns
 * it; without one, it fails with KVKIT_CONFLICT naming the siblings.  Set
 * it before sharing the store between threads.  A backend without
 * get_siblings never reports siblings, so the resolver is simply unused. */
void kvkit_store_set_resolver(kvkit_store_t *store, kvkit_resolve_fn fn, void *ctx);

/*** save-if-unchanged (optimistic concurrency) ***/

/* kvkit_store_get that also reports the document's revision (never 0 for a
 * stored document; changes on every save).  KVKIT_NOT_SUPPORTED when the
 * backend has no revisions. */
int kvkit_store_get_rev(kvkit_store_t *store, const char *bucket, const char *key,
                        char **value, size_t *value_len, uint64_t *revision,
                        kvkit_error_t *err);

/* kvkit_store_save that succeeds only if the stored revision is still
 * `expected` (0: the key must not exist); else KVKIT_CONFLICT and nothing
 * changes.  *new_revision (may be NULL) receives the new revision.
 * KVKIT_NOT_SUPPORTED when the backend cannot check atomically. */
int kvkit_store_save_if(kvkit_store_t *store, const char *bucket, const char *key,
                        const char *value, size_t value_len,
                        const kvkit_index_set_t *index, uint64_t expected,
                        uint64_t *new_revision, kvkit_error_t *err);

/*** streaming iterator (constant memory; LevelDB shape) ***/

typedef struct kvkit_iter kvkit_iter_t;

/* Iterate keys (and, with want_docs, documents) of an index query with the
 * same arguments as kvkit_store_index_keys.  Never NULL unless out of
 * memory; errors surface through kvkit_iter_status. */
kvkit_iter_t *kvkit_store_index_iter(kvkit_store_t *store, const char *bucket,
                                     const char *field, const json_t *lo,
                                     const json_t *hi, int want_docs);

/* Iterate keys of the bucket in [lo, hi] (NULL bounds open). */
kvkit_iter_t *kvkit_store_keys_iter(kvkit_store_t *store, const char *bucket,
                                    const char *lo, const char *hi, int want_docs);

int kvkit_iter_valid(const kvkit_iter_t *it);
void kvkit_iter_next(kvkit_iter_t *it);
/* Borrowed until the next kvkit_iter_next / _destroy. */
const char *kvkit_iter_key(const kvkit_iter_t *it, size_t *len);
const char *kvkit_iter_value(const kvkit_iter_t *it, size_t *len);
/* KVKIT_OK after a clean end; otherwise the error, also copied into err. */
int kvkit_iter_status(const kvkit_iter_t *it, kvkit_error_t *err);
void kvkit_iter_destroy(kvkit_iter_t *it);

/*** batches ***/

typedef struct kvkit_batch kvkit_batch_t;

kvkit_batch_t *kvkit_batch_create(void);
void kvkit_batch_destroy(kvkit_batch_t *batch);
/* Queue a save (value and index are copied) or a delete. */
int kvkit_batch_save(kvkit_batch_t *batch, const char *bucket, const char *key,
                     const char *value, size_t value_len,
                     const kvkit_index_set_t *index, kvkit_error_t *err);
/* Queue a save without copying: bucket, key, value and index are borrowed
 * and must stay valid and unchanged (no add, clear or destroy of the index
 * set) until kvkit_batch_destroy.  The batch never frees them, whether the
 * write succeeds or fails. */
int kvkit_batch_save_borrowed(kvkit_batch_t *batch, const char *bucket,
                              const char *key, const char *value,
                              size_t value_len, const kvkit_index_set_t *index,
                              kvkit_error_t *err);
int kvkit_batch_delete(kvkit_batch_t *batch, const char *bucket,
                       const char *key, kvkit_error_t *err);
size_t kvkit_batch_size(const kvkit_batch_t *batch);
/* Apply the batch: one backend write_batch when supported, else each write
 * in order, stopping at the first error.  All or nothing only on backends
 * whose descriptor has KVKIT_BACKEND_ATOMIC_BATCH (memory, LevelDB); on
 * others each document still changes together with its index entries
 * (KVKIT_BACKEND_ATOMIC) but a failure may leave part of the batch applied
 * (etcd splits batches larger than its transaction limits).  The batch is
 * left as it was (clear it by destroying). */
int kvkit_store_write(kvkit_store_t *store, const kvkit_batch_t *batch,
                      kvkit_error_t *err);

#ifdef __cplusplus
}
#endif

#include <kvkit/document.h>

#endif /* KVKIT_H */
