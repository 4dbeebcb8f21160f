/*
 * kvkit/backend.h - the ABI between libkvkit and a backend plugin.
 *
 * This is the only header a backend needs.  A backend is a shared object
 * named NAME.so (NAME matches [a-z0-9_]{1,64}) in a plugin directory.  It
 * does not link libkvkit and sees no jansson type: everything crossing this
 * boundary is plain C data.
 *
 * Rules of the boundary:
 *
 *  - Symbols.  A plugin exports one data symbol, the descriptor, and one
 *    function symbol per operation, all named below.  Spell them with
 *    libtool's module prefix (NAME_LTX_kvkit_backend_open ...) so several
 *    plugins can be preloaded into one binary; KVKIT_BACKEND_SYMBOL() does it.
 *    Plain spellings are accepted as well.
 *  - Required operations: open, close, get, save, delete.  Everything else is
 *    optional: a missing one makes libkvkit answer KVKIT_NOT_SUPPORTED.  New
 *    operations are only ever added as optional ones, with a minor ABI bump.
 *  - Strings (location, option keys and values, bucket, key, field) are UTF-8
 *    and NUL-terminated; they are borrowed for the duration of the call only.
 *    libkvkit has already checked that bucket and key are 1..KVKIT_BUCKET_MAX
 *    and 1..KVKIT_KEY_MAX bytes and contain no NUL, and that field names do
 *    not start with '$' (pseudo-fields are handled in libkvkit).
 *  - Values are opaque bytes (pointer + length).  A value returned to
 *    libkvkit (get) is allocated with malloc(3) and freed by libkvkit with
 *    free(3).  Everything libkvkit passes in is borrowed.
 *  - Errors: every fallible operation returns a kvkit_status_t and, on
 *    failure, fills *err (never NULL when libkvkit calls) - use
 *    kvkit_backend_error() below.  KVKIT_NOTFOUND from get is an outcome and
 *    needs no message.  libkvkit shows the text prefixed with the backend
 *    name and ": " ("memory: put \"k\": ..."), so a message need not name
 *    its backend; one that starts with the name followed by ':' or ' '
 *    ("hashlog /path: ...") is shown as is, never named twice.
 *  - Threads: a backend whose descriptor carries KVKIT_BACKEND_THREAD_SAFE
 *    may be called concurrently on one handle; otherwise libkvkit serializes
 *    calls per store.
 */
#ifndef KVKIT_BACKEND_H
#define KVKIT_BACKEND_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <kvkit/status.h>

#ifdef __cplusplus
extern "C" {
#endif

/*** versions and limits ***/

#define KVKIT_BACKEND_ABI_MAJOR 1 /* changed only by an incompatible change */
#define KVKIT_BACKEND_ABI_MINOR 2 /* bumped when an optional operation is added */

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

/* Each operation has a function type kvkit_backend_OP_f and a pointer type
 * kvkit_backend_OP_fn; its exported symbol is kvkit_backend_OP.  Declare
 * each one you implement with KVKIT_BACKEND_DECLARE(OP); so the compiler
 * checks your definition against the ABI. */

/* Required.  Open the store at `location` (the text after "NAME:", may be
 * empty).  *handle receives the backend's own state. */
typedef int kvkit_backend_open_f(const char *location,
        const kvkit_backend_option_t *options,
        size_t n_options, void **handle,
        kvkit_error_t *err);
typedef kvkit_backend_open_f *kvkit_backend_open_fn;

/* Required.  Release everything the handle holds. */
typedef void kvkit_backend_close_f(void *handle);
typedef kvkit_backend_close_f *kvkit_backend_close_fn;

/* Required.  On KVKIT_OK, *value is malloc'd (libkvkit frees it with free)
 * and *value_len its length; KVKIT_NOTFOUND when absent. */
typedef int kvkit_backend_get_f(void *handle, const char *bucket,
        const char *key, char **value,
        size_t *value_len, kvkit_error_t *err);
typedef kvkit_backend_get_f *kvkit_backend_get_fn;

/* Required.  Store the value and make `entries` the key's complete set of
 * index entries: entries the key had before and does not list now are
 * removed.  Worked out from what the engine has stored, not from the
 * caller's memory. */
typedef int kvkit_backend_save_f(void *handle, const char *bucket,
        const char *key, const char *value,
        size_t value_len,
        const kvkit_index_entry_t *entries,
        size_t n_entries, kvkit_error_t *err);
typedef kvkit_backend_save_f *kvkit_backend_save_fn;

/* Required.  Remove the key and all its index entries; an absent key is
 * success. */
typedef int kvkit_backend_delete_f(void *handle, const char *bucket,
        const char *key, kvkit_error_t *err);
typedef kvkit_backend_delete_f *kvkit_backend_delete_fn;

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
typedef kvkit_backend_index_lookup_f *kvkit_backend_index_lookup_fn;

/* Optional.  Stream the keys of `bucket` with lo <= key <= hi (bytewise; a
 * NULL bound is open) in ascending bytewise order (libkvkit resumes a
 * listing from the last key it saw). */
typedef int kvkit_backend_list_keys_f(void *handle, const char *bucket,
        const char *lo, const char *hi,
        kvkit_backend_key_fn fn, void *ctx,
        kvkit_error_t *err);
typedef kvkit_backend_list_keys_f *kvkit_backend_list_keys_fn;

/* Optional, fused: index_lookup that hands over each document with its key,
 * read consistently with the index. */
typedef int kvkit_backend_index_docs_f(void *handle, const char *bucket,
        const char *field,
        const kvkit_index_value_t *lo,
        const kvkit_index_value_t *hi,
        const kvkit_index_position_t *after,
        kvkit_backend_doc_fn fn, void *ctx,
        kvkit_error_t *err);
typedef kvkit_backend_index_docs_f *kvkit_backend_index_docs_fn;

/* Optional: several saves/deletes applied as one (atomically where the
 * engine can; see KVKIT_BACKEND_ATOMIC). */
typedef int kvkit_backend_write_batch_f(void *handle,
        const kvkit_backend_write_t *writes,
        size_t n_writes, kvkit_error_t *err);
typedef kvkit_backend_write_batch_f *kvkit_backend_write_batch_fn;

/* Optional: get with the document's revision.  A revision is a number
 * that is never 0 for a stored document and changes on every save of it
 * (never reused, even across delete and re-create).  *revision is set on
 * KVKIT_OK. */
typedef int kvkit_backend_get_rev_f(void *handle, const char *bucket,
        const char *key, char **value, size_t *value_len,
        uint64_t *revision, kvkit_error_t *err);
typedef kvkit_backend_get_rev_f *kvkit_backend_get_rev_fn;

/* Optional: save-if-unchanged.  Exactly like save, but only when the
 * stored revision of the key is still `expected` (0: the key must be
 * absent), checked and applied atomically; otherwise KVKIT_CONFLICT and
 * nothing changes.  On KVKIT_OK, *new_revision is the saved revision.
 * A backend that cannot make the check atomic must not export this. */
typedef int kvkit_backend_save_if_f(void *handle, const char *bucket,
        const char *key, const char *value, size_t value_len,
        const kvkit_index_entry_t *entries, size_t n_entries,
        uint64_t expected, uint64_t *new_revision, kvkit_error_t *err);
typedef kvkit_backend_save_if_f *kvkit_backend_save_if_fn;

/* Optional (ABI 1.1): every live sibling value of a key that concurrent
 * writes left in conflict (engines without conflict prevention: Riak with
 * allow_mult).  fn is called once per sibling (return non-zero to stop);
 * KVKIT_NOTFOUND when the key is absent; a key without siblings reports its
 * one value.  A save of the key that follows must replace every sibling
 * reported (the engine carries whatever causal context it needs). */
typedef int (*kvkit_backend_value_fn)(void *ctx, const char *value, size_t value_len);
typedef int kvkit_backend_get_siblings_f(void *handle, const char *bucket,
        const char *key, kvkit_backend_value_fn fn, void *ctx, kvkit_error_t *err);
typedef kvkit_backend_get_siblings_f *kvkit_backend_get_siblings_fn;

/* Optional (ABI 1.1): compact the engine's files for an open store
 * (reclaim space of deleted and overwritten data).  Safe while other
 * threads use the store. */
typedef int kvkit_backend_compact_f(void *handle, kvkit_error_t *err);
typedef kvkit_backend_compact_f *kvkit_backend_compact_fn;

/* Optional (ABI 1.1): repair the store at `location` with the engine's own
 * recovery (no handle: a damaged store may not open).  The store must not
 * be open anywhere: return KVKIT_LOCKED when it is.  Data in damaged parts
 * may be lost; say what the engine salvages in your documentation. */
typedef int kvkit_backend_repair_f(const char *location,
        const kvkit_backend_option_t *options, size_t n_options, kvkit_error_t *err);
typedef kvkit_backend_repair_f *kvkit_backend_repair_fn;

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
typedef kvkit_backend_view_open_f *kvkit_backend_view_open_fn;
typedef void kvkit_backend_view_close_f(void *handle, void *view);
typedef kvkit_backend_view_close_f *kvkit_backend_view_close_fn;
typedef kvkit_backend_get_f kvkit_backend_view_get_f;
typedef kvkit_backend_view_get_f *kvkit_backend_view_get_fn;
typedef kvkit_backend_index_lookup_f kvkit_backend_view_index_lookup_f;
typedef kvkit_backend_view_index_lookup_f *kvkit_backend_view_index_lookup_fn;
typedef kvkit_backend_list_keys_f kvkit_backend_view_list_keys_f;
typedef kvkit_backend_view_list_keys_f *kvkit_backend_view_list_keys_fn;
typedef kvkit_backend_index_docs_f kvkit_backend_view_index_docs_f;
typedef kvkit_backend_view_index_docs_f *kvkit_backend_view_index_docs_fn;

/*** helpers for plugin authors (header-only: no libkvkit symbol needed) ***/

/* Symbol spelling: in NAME.c, `#define KVKIT_BACKEND_NAME NAME` before
 * including this header and write KVKIT_BACKEND_SYMBOL(kvkit_backend_get):
 * it expands to NAME_LTX_kvkit_backend_get (plain kvkit_backend_get when
 * KVKIT_BACKEND_NAME is not defined). */
#define KVKIT_BACKEND_CONCAT2_(a, b) a##_LTX_##b
#define KVKIT_BACKEND_CONCAT_(a, b) KVKIT_BACKEND_CONCAT2_(a, b)
#ifdef KVKIT_BACKEND_NAME
#define KVKIT_BACKEND_SYMBOL(sym) KVKIT_BACKEND_CONCAT_(KVKIT_BACKEND_NAME, sym)
#else
#define KVKIT_BACKEND_SYMBOL(sym) sym
#endif

/* KVKIT_BACKEND_DECLARE(get);  declares the exported kvkit_backend_get with
 * the ABI's signature (kvkit_backend_get_f). */
#define KVKIT_BACKEND_DECLARE(op)                                              \
    kvkit_backend_##op##_f KVKIT_BACKEND_SYMBOL(kvkit_backend_##op)

/* Fill an error report: code, subject and a printf-formatted message.  The
 * first error wins: a report that already holds an error is kept.  Returns
 * `code`, so `return kvkit_backend_error(err, KVKIT_IO, key, "...")` reads
 * naturally. */
#if defined(__GNUC__)
__attribute__((format(printf, 4, 5)))
#endif
static inline int kvkit_backend_error(kvkit_error_t *err, int code,
                                      const char *subject, const char *fmt, ...)
{
    if (err == NULL || err->code != KVKIT_OK)
        return code;
    err->code = code;
    snprintf(err->subject, sizeof err->subject, "%s", subject ? subject : "");
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->text, sizeof err->text, fmt, ap);
    va_end(ap);
    return code;
}

/* Sortable encoding tags. */
#define KVKIT_SORTABLE_NUMBER 0x10
#define KVKIT_SORTABLE_STRING 0x20
#define KVKIT_SORTABLE_NUMBER_LEN 17 /* tag + 8-byte double + 8-byte correction */

/* Length of the sortable value at the start of p[0..n), or 0 when the bytes
 * do not start with a complete, well-formed sortable value. */
static inline size_t kvkit_sortable_length(const unsigned char *p, size_t n)
{
    if (n == 0)
        return 0;
    if (p[0] == KVKIT_SORTABLE_NUMBER)
        return n >= KVKIT_SORTABLE_NUMBER_LEN ? KVKIT_SORTABLE_NUMBER_LEN : 0;
    if (p[0] != KVKIT_SORTABLE_STRING)
        return 0;
    for (size_t i = 1; i + 1 < n; i++) {
        if (p[i] != 0x00)
            continue;
        if (p[i + 1] == 0x01)
            return i + 2;
        if (p[i + 1] != 0xFF)
            return 0;
        i++;
    }
    return 0;
}

/* Parse an option value as a boolean (true/false, yes/no, on/off, 1/0).
 * Returns 0 and sets *out, or fills err with KVKIT_BAD_OPTION naming the key. */
static inline int kvkit_backend_option_bool(const kvkit_backend_option_t *opt,
                                            int *out, kvkit_error_t *err)
{
    static const char *const yes[] = {"true", "yes", "on", "1"};
    static const char *const no[] = {"false", "no", "off", "0"};
    for (size_t i = 0; i < 4; i++) {
        if (strcmp(opt->value, yes[i]) == 0) {
            *out = 1;
            return KVKIT_OK;
        }
        if (strcmp(opt->value, no[i]) == 0) {
            *out = 0;
            return KVKIT_OK;
        }
    }
    return kvkit_backend_error(err, KVKIT_BAD_OPTION, opt->key,
                               "option \"%s\": expected true or false, got \"%s\"",
                               opt->key, opt->value);
}

/* Parse an option value as an unsigned integer in [min, max]. */
static inline int kvkit_backend_option_uint(const kvkit_backend_option_t *opt,
                                            uint64_t min, uint64_t max,
                                            uint64_t *out, kvkit_error_t *err)
{
    const char *s = opt->value;
    uint64_t v = 0;
    if (*s == '\0')
        goto bad;
    for (; *s; s++) {
        if (*s < '0' || *s > '9' || v > (UINT64_MAX - 9) / 10)
            goto bad;
        v = v * 10 + (uint64_t)(*s - '0');
    }
    if (v < min || v > max)
        goto bad;
    *out = v;
    return KVKIT_OK;
bad:
    return kvkit_backend_error(err, KVKIT_BAD_OPTION, opt->key,
                               "option \"%s\": expected a whole number from %llu to %llu, got \"%s\"",
                               opt->key, (unsigned long long)min,
                               (unsigned long long)max, opt->value);
}

#ifdef __cplusplus
}
#endif

#endif /* KVKIT_BACKEND_H */
