/*
 * kvkit/backend_types.h - the types of the backend ABI.
 *
 * Limits, the descriptor, the data that crosses the boundary, one function
 * type per operation and the one list of operations.  Shared by
 * <kvkit/backend.h> (plugins: these types, the rules of the boundary and
 * header-only helpers) and <kvkit/kvkit.h> (applications: a store's
 * descriptor, backends registered in-process); include one of those.
 * Declarations only: no function, no dependency beyond <stddef.h>,
 * <stdint.h> and <kvkit/status.h>.  The rules every type here follows
 * (ownership, strings, errors, threads) open backend.h.
 */
#ifndef KVKIT_BACKEND_TYPES_H
#define KVKIT_BACKEND_TYPES_H

#include <stddef.h>
#include <stdint.h>

#include <kvkit/status.h>

#ifdef __cplusplus
extern "C" {
#endif

/*** versions and limits ***/

#define KVKIT_BACKEND_ABI_MAJOR 1 /* changed only by an incompatible change */
#define KVKIT_BACKEND_ABI_MINOR 3 /* bumped when an optional operation is added */

#define KVKIT_KEY_MAX 1024   /* bytes in a document key */
#define KVKIT_BUCKET_MAX 255 /* bytes in a bucket name */
#define KVKIT_FIELD_MAX 255  /* bytes in an index field name */

/*** the descriptor ***/

/* Descriptor flags. */
#define KVKIT_BACKEND_THREAD_SAFE (1u << 0) /* handles may be used from many threads */
#define KVKIT_BACKEND_RESIDENT (1u << 1)    /* never unload the .so (atexit handlers...) */
#define KVKIT_BACKEND_ORDERED (1u << 2)     /* list_keys/index_lookup return sorted results */
#define KVKIT_BACKEND_ATOMIC (1u << 3)      /* a save/delete changes doc + index atomically */
#define KVKIT_BACKEND_DURABLE (1u << 4)     /* data outlives the process */
#define KVKIT_BACKEND_ATOMIC_BATCH (1u << 5) /* write_batch applies all or nothing */
#define KVKIT_BACKEND_SNAPSHOT (1u << 6)     /* ABI 1.2: exports the view_* operations:
                                                iterations read one view of the store */

/* Exported (const, static storage) as KVKIT_BACKEND_SYMBOL(kvkit_backend_descriptor).
 * libkvkit refuses the plugin unless abi_major equals its own and abi_minor
 * is not greater; name must equal the file's NAME.  The struct only grows at
 * the end; struct_size lets libkvkit know which fields exist. */
typedef struct kvkit_backend_descriptor {
    uint32_t abi_major;      /* KVKIT_BACKEND_ABI_MAJOR */
    uint32_t abi_minor;      /* KVKIT_BACKEND_ABI_MINOR */
    uint32_t struct_size;    /* sizeof(kvkit_backend_descriptor_t) */
    uint32_t flags;          /* KVKIT_BACKEND_* */
    const char *name;        /* must equal the file name's NAME */
    const char *version;     /* the plugin's own version, free text */
    const char *description; /* one line */
    void *reserved[8];       /* zero */
} kvkit_backend_descriptor_t;

/*** data crossing the boundary ***/

/* One store option from "NAME:LOCATION?key=value&..." (percent-decoded).
 * A backend rejects option keys it does not know with KVKIT_BAD_OPTION,
 * naming the key. */
typedef struct kvkit_backend_option {
    const char *key;
    const char *value;
} kvkit_backend_option_t;

/* Kinds of index value. */
typedef enum kvkit_index_kind {
    KVKIT_INDEX_INTEGER = 1,
    KVKIT_INDEX_REAL = 2,
    KVKIT_INDEX_STRING = 3
} kvkit_index_kind_t;

/* An index value, typed and in sortable form.  The sortable bytes are what
 * ordered engines store and compare (memcmp order == value order; all
 * numbers, integer or real, in one numeric order, before all strings).  The
 * encoding is prefix-free: no sortable value is a proper prefix of another,
 * so an engine may append the document key directly after it and still
 * split the two with kvkit_sortable_length().  Typed fields are for engines
 * with their own index types (Riak: _int, _bin). */
typedef struct kvkit_index_value {
    int kind;                       /* kvkit_index_kind_t */
    int64_t integer;                /* KVKIT_INDEX_INTEGER */
    double real;                    /* KVKIT_INDEX_REAL */
    const char *string;             /* KVKIT_INDEX_STRING (may hold NUL bytes) */
    size_t string_len;
    const unsigned char *sortable;  /* always set */
    size_t sortable_len;
} kvkit_index_value_t;

/* One index entry of a document.  libkvkit passes a document's entries
 * sorted by (field, sortable) with duplicates removed, so the values of one
 * field are adjacent and ascending. */
typedef struct kvkit_index_entry {
    const char *field;
    kvkit_index_value_t value;
} kvkit_index_entry_t;

/* Where a paged index scan resumes: strictly after (sortable, key). */
typedef struct kvkit_index_position {
    const unsigned char *sortable;
    size_t sortable_len;
    const char *key;
    size_t key_len;
} kvkit_index_position_t;

/* Result callbacks.  Return 0 to go on, non-zero to stop; stopping is not an
 * error (the operation returns KVKIT_OK).  Pointers are valid only during
 * the call.  `sortable` is the index value the key matched at (the first of
 * its values that lies in the range); libkvkit uses it to resume. */
typedef int (*kvkit_backend_key_fn)(void *ctx, const char *key, size_t key_len,
                                    const unsigned char *sortable, size_t sortable_len);
typedef int (*kvkit_backend_doc_fn)(void *ctx, const char *key, size_t key_len,
                                    const char *value, size_t value_len,
                                    const unsigned char *sortable, size_t sortable_len);

/* One document of a batch save. */
typedef struct kvkit_backend_write {
    const char *bucket;
    const char *key;
    const char *value; /* NULL: delete the key */
    size_t value_len;
    const kvkit_index_entry_t *entries;
    size_t n_entries;
} kvkit_backend_write_t;

/*** operations ***/

/* Each operation has a function type kvkit_backend_OP_f, written here with
 * its contract, and a pointer type kvkit_backend_OP_fn, generated from
 * KVKIT_BACKEND_OPS below; its exported symbol is kvkit_backend_OP.
 * Declare each one you implement with KVKIT_BACKEND_DECLARE(OP); (backend.h)
 * so the compiler checks your definition against the ABI. */

/* Required.  Open the store at `location` (the text after "NAME:", may be
 * empty).  *handle receives the backend's own state. */
typedef int kvkit_backend_open_f(const char *location,
        const kvkit_backend_option_t *options,
        size_t n_options, void **handle,
        kvkit_error_t *err);

/* Required.  Release everything the handle holds. */
typedef void kvkit_backend_close_f(void *handle);

/* Required.  On KVKIT_OK, *value is malloc'd (libkvkit frees it with free)
 * and *value_len its length; KVKIT_NOTFOUND when absent. */
typedef int kvkit_backend_get_f(void *handle, const char *bucket,
        const char *key, char **value,
        size_t *value_len, kvkit_error_t *err);

/* Required.  Store the value and make `entries` the key's complete set of
 * index entries: entries the key had before and does not list now are
 * removed.  Worked out from what the engine has stored, not from the
 * caller's memory. */
typedef int kvkit_backend_save_f(void *handle, const char *bucket,
        const char *key, const char *value,
        size_t value_len,
        const kvkit_index_entry_t *entries,
        size_t n_entries, kvkit_error_t *err);

/* Required.  Remove the key and all its index entries; an absent key is
 * success. */
typedef int kvkit_backend_delete_f(void *handle, const char *bucket,
        const char *key, kvkit_error_t *err);

/* Optional.  Stream each distinct key of `bucket` that has an entry for
 * `field` with lo <= value <= hi (sortable order; lo and hi are always of
 * the same class, number or string).  Each key once, at the first of its
 * values >= lo, and in (sortable, key) order.  With `after` non-NULL, start
 * strictly after that position: libkvkit pages through large results this
 * way, so a backend must honour it. */
typedef int kvkit_backend_index_lookup_f(void *handle, const char *bucket,
        const char *field,
        const kvkit_index_value_t *lo,
        const kvkit_index_value_t *hi,
        const kvkit_index_position_t *after,
        kvkit_backend_key_fn fn, void *ctx,
        kvkit_error_t *err);

/* Optional.  Stream the keys of `bucket` with lo <= key <= hi (bytewise; a
 * NULL bound is open) in ascending bytewise order (libkvkit resumes a
 * listing from the last key it saw). */
typedef int kvkit_backend_list_keys_f(void *handle, const char *bucket,
        const char *lo, const char *hi,
        kvkit_backend_key_fn fn, void *ctx,
        kvkit_error_t *err);

/* Optional, fused: index_lookup that hands over each document with its key,
 * read consistently with the index. */
typedef int kvkit_backend_index_docs_f(void *handle, const char *bucket,
        const char *field,
        const kvkit_index_value_t *lo,
        const kvkit_index_value_t *hi,
        const kvkit_index_position_t *after,
        kvkit_backend_doc_fn fn, void *ctx,
        kvkit_error_t *err);

/* Optional: several saves/deletes applied as one (atomically where the
 * engine can; see KVKIT_BACKEND_ATOMIC). */
typedef int kvkit_backend_write_batch_f(void *handle,
        const kvkit_backend_write_t *writes,
        size_t n_writes, kvkit_error_t *err);

/* Optional: get with the document's revision.  A revision is a number
 * that is never 0 for a stored document and changes on every save of it
 * (never reused, even across delete and re-create).  *revision is set on
 * KVKIT_OK. */
typedef int kvkit_backend_get_rev_f(void *handle, const char *bucket,
        const char *key, char **value, size_t *value_len,
        uint64_t *revision, kvkit_error_t *err);

/* Optional: save-if-unchanged.  Exactly like save, but only when the
 * stored revision of the key is still `expected` (0: the key must be
 * absent), checked and applied atomically; otherwise KVKIT_CONFLICT and
 * nothing changes.  On KVKIT_OK, *new_revision is the saved revision.
 * A backend that cannot make the check atomic must not export this. */
typedef int kvkit_backend_save_if_f(void *handle, const char *bucket,
        const char *key, const char *value, size_t value_len,
        const kvkit_index_entry_t *entries, size_t n_entries,
        uint64_t expected, uint64_t *new_revision, kvkit_error_t *err);

/* Optional (ABI 1.1): every live sibling value of a key that concurrent
 * writes left in conflict (engines without conflict prevention: Riak with
 * allow_mult).  fn is called once per sibling (return non-zero to stop);
 * KVKIT_NOTFOUND when the key is absent; a key without siblings reports its
 * one value.  A save of the key that follows must replace every sibling
 * reported (the engine carries whatever causal context it needs). */
typedef int (*kvkit_backend_value_fn)(void *ctx, const char *value, size_t value_len);
typedef int kvkit_backend_get_siblings_f(void *handle, const char *bucket,
        const char *key, kvkit_backend_value_fn fn, void *ctx, kvkit_error_t *err);

/* Optional (ABI 1.1): compact the engine's files for an open store
 * (reclaim space of deleted and overwritten data).  Safe while other
 * threads use the store. */
typedef int kvkit_backend_compact_f(void *handle, kvkit_error_t *err);

/* Optional (ABI 1.1): repair the store at `location` with the engine's own
 * recovery (no handle: a damaged store may not open).  The store must not
 * be open anywhere: return KVKIT_LOCKED when it is.  Data in damaged parts
 * may be lost; say what the engine salvages in your documentation. */
typedef int kvkit_backend_repair_f(const char *location,
        const kvkit_backend_option_t *options, size_t n_options, kvkit_error_t *err);

/* Optional (ABI 1.2), all or none: read views.  An iteration in libkvkit
 * reads one view of the store, the store as it was when the iteration
 * began, across all of its pages, however long it runs and whatever is
 * written meanwhile (a loop that re-saves what it reads sees each key
 * once).  A backend that can give that declares KVKIT_BACKEND_SNAPSHOT and
 * exports view_open, view_close, view_get, and view_OP for each of
 * index_lookup, list_keys and index_docs that it exports; libkvkit refuses
 * a plugin that declares the flag without them.  A backend without the flag
 * is iterated page by page on the live store: say in its documentation what
 * an iteration then guarantees.
 *
 * view_open pins the store's current state in *view (LevelDB: a snapshot;
 * etcd: a revision); view_close releases it (never fails; libkvkit closes
 * every view it opens, before closing the store).  The view_OP operations
 * have OP's signature and contract, with the view in place of the handle,
 * and read the pinned state.  Views may be used by one thread at a time
 * (libkvkit never shares one); writes through the store handle are allowed
 * while views are open and are not seen by them.  A view the engine can no
 * longer serve (history compacted away) answers KVKIT_CONFLICT, saying so. */
typedef int kvkit_backend_view_open_f(void *handle, void **view, kvkit_error_t *err);
typedef void kvkit_backend_view_close_f(void *handle, void *view);
typedef kvkit_backend_get_f kvkit_backend_view_get_f;
typedef kvkit_backend_index_lookup_f kvkit_backend_view_index_lookup_f;
typedef kvkit_backend_list_keys_f kvkit_backend_view_list_keys_f;
typedef kvkit_backend_index_docs_f kvkit_backend_view_index_docs_f;

/* Optional (ABI 1.3), all three or none: index cursors, an index_lookup
 * the caller steps through and seeks in, for zigzag joins, merges and
 * scans over the index.  libkvkit uses them only when index_cursor_open,
 * _next and _close are all exported; otherwise it pages with index_lookup.
 *
 * index_cursor_open makes *cursor run over the entries index_lookup(bucket,
 * field, lo, hi) would stream, in the same (sortable, key) order and with
 * the same rule (each key once, at the first of its values >= lo), reading
 * `view` (from view_open; a backend with KVKIT_BACKEND_SNAPSHOT must accept
 * one) or, with view NULL, the store as it is when the cursor opens.
 * bucket, field, lo and hi are borrowed until index_cursor_close: libkvkit
 * keeps them alive and unchanged.  A cursor is used by one thread at a
 * time; libkvkit closes it before closing its view or the store.
 *
 * index_cursor_next moves the cursor on and reads up to `max` (>= 1)
 * entries: with `at` NULL from the entry after the last one read (the
 * first, on a new cursor); with `at` from the first entry at or after that
 * position.  libkvkit seeks only forward (never before the last entry
 * read) and may seek to a position outside [lo, hi].  On KVKIT_OK, hits[0
 * .. *n) are the entries' positions, 1 <= *n <= max: the matched sortable
 * value and the key, each key followed by a NUL byte (not counted in
 * key_len), pointing into the cursor, valid until its next call.  Fewer
 * than max is not the end (a backend may stop at its own page);
 * KVKIT_NOTFOUND with *n = 0 is: no entry is left (a later call answers
 * the same).  libkvkit asks for one entry where it
 * seeks (a zigzag join) and for pages where it reads on (scans).
 * index_cursor_close releases the cursor (never fails; NULL allowed). */
typedef int kvkit_backend_index_cursor_open_f(void *handle, void *view, const char *bucket,
        const char *field, const kvkit_index_value_t *lo, const kvkit_index_value_t *hi,
        void **cursor, kvkit_error_t *err);
typedef int kvkit_backend_index_cursor_next_f(void *cursor, const kvkit_index_position_t *at,
        kvkit_index_position_t *hits, size_t max, size_t *n, kvkit_error_t *err);
typedef void kvkit_backend_index_cursor_close_f(void *cursor);

/*** the list of operations ***/

/* X(op, field, need, abi_minor) - the one list of operations, in the order
 * of kvkit_backend_ops_t's members (kvkit.h).  It generates the pointer
 * types kvkit_backend_OP_fn below, those members, and libkvkit's binding
 * table (which symbols it looks up, which it requires, and what
 * kvkit_store_supports answers).
 *   op         the name: kvkit_backend_OP_f, symbol kvkit_backend_OP;
 *   field      its member of kvkit_backend_ops_t ("del": delete is a C++
 *              keyword);
 *   need       required:  a plugin without it is refused;
 *              optional:  without it libkvkit answers KVKIT_NOT_SUPPORTED;
 *              snapshot:  bound only for a descriptor with
 *                         KVKIT_BACKEND_SNAPSHOT, and then required;
 *              view:      view_OP, bound only with KVKIT_BACKEND_SNAPSHOT,
 *                         and then required when OP is bound;
 *   abi_minor  the ABI minor version that added it.
 * Operations are appended, never reordered or removed; a new one is
 * optional and comes with the next KVKIT_BACKEND_ABI_MINOR (kvkit-backend(7),
 * "Adding an operation"). */
#define KVKIT_BACKEND_OPS(X)                                                   \
    X(open, open, required, 0)                                                 \
    X(close, close, required, 0)                                               \
    X(get, get, required, 0)                                                   \
    X(save, save, required, 0)                                                 \
    X(delete, del, required, 0)                                                \
    X(index_lookup, index_lookup, optional, 0)                                 \
    X(list_keys, list_keys, optional, 0)                                       \
    X(index_docs, index_docs, optional, 0)                                     \
    X(write_batch, write_batch, optional, 0)                                   \
    X(get_rev, get_rev, optional, 0)                                           \
    X(save_if, save_if, optional, 0)                                           \
    X(get_siblings, get_siblings, optional, 1)                                 \
    X(compact, compact, optional, 1)                                           \
    X(repair, repair, optional, 1)                                             \
    X(view_open, view_open, snapshot, 2)                                       \
    X(view_close, view_close, snapshot, 2)                                     \
    X(view_get, view_get, view, 2)                                             \
    X(view_index_lookup, view_index_lookup, view, 2)                           \
    X(view_list_keys, view_list_keys, view, 2)                                 \
    X(view_index_docs, view_index_docs, view, 2)                               \
    X(index_cursor_open, index_cursor_open, optional, 3)                       \
    X(index_cursor_next, index_cursor_next, optional, 3)                       \
    X(index_cursor_close, index_cursor_close, optional, 3)

#define KVKIT_BACKEND_OP_FN_(op, field, need, abi_minor)                       \
    typedef kvkit_backend_##op##_f *kvkit_backend_##op##_fn;
KVKIT_BACKEND_OPS(KVKIT_BACKEND_OP_FN_)
#undef KVKIT_BACKEND_OP_FN_

#ifdef __cplusplus
}
#endif

#endif /* KVKIT_BACKEND_TYPES_H */
