/*
 * kvkit_private.h - internals shared across libkvkit's files (kvkit__*).
 * Nothing here is exported from the shared library.
 */
#ifndef KVKIT_PRIVATE_H
#define KVKIT_PRIVATE_H

#include "config.h"

#include <pthread.h>
#include <stdbool.h>

#include <kvkit/backend.h> /* kvkit_backend_error, the sortable helpers */
#include <kvkit/kvkit.h>
#include <kvkit/query.h>

/*** errors (error.c) ***/

/* Same contract as kvkit_backend_error: first error wins, returns code. */
#define kvkit__error kvkit_backend_error

/* Copy a backend-filled report into the caller's, prefixing the backend's
 * name ("memory: ...") and supplying a default text when the plugin left
 * it empty.  Returns code. */
int kvkit__error_from_backend(kvkit_error_t *err, const kvkit_error_t *berr,
                              int code, const char *backend, const char *op,
                              const char *subject);

/* Pass on the report of a call made with a record of its own (a probe whose
 * KVKIT_NOTFOUND is an outcome, so that err stays untouched on KVKIT_OK):
 * `from`'s subject and text under `code`, first error wins.  Returns code. */
int kvkit__error_copy(kvkit_error_t *err, const kvkit_error_t *from, int code);

/*** allocation (alloc.c): every libkvkit allocation goes through these ***/

void *kvkit__malloc(size_t size);
void *kvkit__calloc(size_t n, size_t size);
void *kvkit__realloc(void *ptr, size_t size);
void kvkit__free(void *ptr);
char *kvkit__strdup(const char *s);
char *kvkit__strndup(const char *s, size_t n);

/*** UTF-8 (utf8.c) ***/

/* Whether s[0..n) is well-formed UTF-8 (no overlong forms, surrogates or
 * code points past U+10FFFF): the one check for every name a backend sees. */
bool kvkit__utf8_valid(const unsigned char *s, size_t n);

/*** store strings (uri.c) ***/

#define KVKIT_NAME_MAX 64

typedef struct kvkit__uri {
    char *name;
    char *location;
    kvkit_backend_option_t *options;
    size_t n_options;
} kvkit__uri_t;

/* Check a backend name: [a-z0-9_]{1,64}.  KVKIT_BAD_NAME naming it. */
int kvkit__name_check(const char *name, size_t len, kvkit_error_t *err);
int kvkit__uri_parse(const char *uri, kvkit__uri_t *out, kvkit_error_t *err);
void kvkit__uri_free(kvkit__uri_t *uri);

/*** backends (loader.c) ***/

typedef struct kvkit__backend {
    char *name;
    char *path;                 /* file, or NULL for a registered backend */
    void *dl;                   /* lt_dlhandle, NULL when registered */
    const kvkit_backend_descriptor_t *desc;
    kvkit_backend_ops_t ops;
    unsigned refs;
    struct kvkit__backend *next;
} kvkit__backend_t;

/* Find, load and bind backend `name` (or take a reference on the loaded
 * one).  Released with kvkit__backend_release. */
int kvkit__backend_acquire(const char *name, kvkit__backend_t **out,
                           kvkit_error_t *err);
void kvkit__backend_release(kvkit__backend_t *backend);
/* kvkit_store_supports: whether `op` names an optional operation (or
 * "snapshot": the view operations) that the backend binds. */
bool kvkit__backend_supports(const kvkit__backend_t *backend, const char *op);

/*** index values (index.c) ***/

/* Fill `out` (typed value + sortable bytes written to buf, which must hold
 * KVKIT_SORTABLE_NUMBER_LEN bytes for numbers or 2 * len + 3 for strings). */
size_t kvkit__sortable_size(const json_t *scalar);
int kvkit__index_value(const json_t *scalar, unsigned char *buf,
                       kvkit_index_value_t *out, const char *field,
                       kvkit_error_t *err);

/* The set's entries, sorted by (field, sortable) without duplicates. */
const kvkit_index_entry_t *kvkit__index_set_entries(const kvkit_index_set_t *set,
                                                    size_t *n);

/*** stores (store.c) ***/

struct kvkit_store {
    kvkit__backend_t *backend;
    void *handle;
    pthread_mutex_t lock; /* serializes calls when the backend is not thread-safe */
    bool serialize;
    kvkit_resolve_fn resolve; /* kvkit_store_set_resolver */
    void *resolve_ctx;
};

int kvkit__check_bucket_key(const char *bucket, const char *key,
                            kvkit_error_t *err);

/* Return KVKIT_INVALID from the calling function when store is NULL. */
#define CHECK_STORE(store, err)                                                \
    do {                                                                       \
        if ((store) == NULL)                                                   \
            return kvkit__error(err, KVKIT_INVALID, "", "store is NULL");      \
    } while (0)

/* A clear report for a backend call on a hot path: what kvkit_error_clear
 * sets, without zeroing the 676 bytes that "= {0}" writes per call. */
static inline void kvkit__error_init(kvkit_error_t *e)
{
    e->code = KVKIT_OK;
    e->subject[0] = '\0';
    e->text[0] = '\0';
}

/* kvkit_store_query_iter that also frees `own` (when not NULL) with the
 * iterator: the document layer hands over its copy of the query. */
kvkit_iter_t *kvkit__store_query_iter(kvkit_store_t *s, const char *bucket,
                                      const kvkit_qexpr_t *q, kvkit_qexpr_t *own, int want_docs);

/* Serialize a call into a backend that is not thread-safe. */
void kvkit__store_enter(kvkit_store_t *s);
void kvkit__store_leave(kvkit_store_t *s);
/* Map a failed backend call into the caller's report; returns the code. */
int kvkit__store_fail(kvkit_store_t *s, kvkit_error_t *err, const kvkit_error_t *berr,
                      int rc, const char *op, const char *subject);
int kvkit__store_unsupported(kvkit_store_t *s, const char *op, kvkit_error_t *err);
/* Whether document queries may use the fused index_docs op: not when a
 * resolver must see siblings, which only the per-key get path resolves. */
bool kvkit__store_fused_docs(const kvkit_store_t *s);

/*** scans (query.c): under the callback API (query_cb.c) and iter.c ***/

/* A parsed query: which backend call answers it and with what bounds. */
typedef struct kvkit__query {
    enum { KVKIT__Q_INDEX, KVKIT__Q_KEYS } kind;
    const char *field;
    kvkit_index_value_t lo, hi;
    unsigned char *lo_buf, *hi_buf;
    const char *klo, *khi; /* KVKIT__Q_KEYS; NULL = open */
    bool empty;            /* lo > hi: nothing can match */
} kvkit__query_t;

/* Check and encode a query; on KVKIT_OK free it with kvkit__query_free. */
int kvkit__query_parse(kvkit_store_t *s, const char *bucket, const char *field,
                       const json_t *lo, const json_t *hi, kvkit__query_t *q,
                       kvkit_error_t *err);
void kvkit__query_free(kvkit__query_t *q);
/* The backend's scans, on the live store (view NULL) or in a view opened
 * with kvkit__view_open. */
int kvkit__list_keys_call(kvkit_store_t *s, void *view, const char *bucket, const char *lo,
                          const char *hi, kvkit_backend_key_fn fn, void *ctx,
                          kvkit_error_t *err);
int kvkit__index_lookup_call(kvkit_store_t *s, void *view, const char *bucket,
                             const kvkit__query_t *q, const kvkit_index_position_t *after,
                             kvkit_backend_key_fn fn, void *ctx, kvkit_error_t *err);
/* The fused index -> documents scan (kvkit__store_fused_docs says whether to). */
int kvkit__index_docs_call(kvkit_store_t *s, void *view, const char *bucket,
                           const kvkit__query_t *q, const kvkit_index_position_t *after,
                           kvkit_backend_doc_fn fn, void *ctx, kvkit_error_t *err);
/* Pin the store's current state for the reads of one iteration: *view is
 * NULL (reads go to the live store) when the backend has no views. */
int kvkit__view_open(kvkit_store_t *s, void **view, const char *bucket, kvkit_error_t *err);
/* Release a view; NULL is accepted. */
void kvkit__view_close(kvkit_store_t *s, void *view);
/* A document read in the view; value is the backend's malloc'd copy.
 * KVKIT_NOTFOUND without a message when absent. */
int kvkit__view_get(kvkit_store_t *s, void *view, const char *bucket, const char *key,
                    char **value, size_t *len, kvkit_error_t *err);

#endif /* KVKIT_PRIVATE_H */
