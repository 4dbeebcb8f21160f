/*
 * kvkit_private.h - internals shared across libkvkit's files (kvkit__*).
 * Nothing here is exported from the shared library.
 */
#ifndef KVKIT_PRIVATE_H
#define KVKIT_PRIVATE_H

#include "config.h"

#include <pthread.h>
#include <stdbool.h>

#include <kvkit/kvkit.h>

/*** errors (error.c) ***/

/* Same contract as kvkit_backend_error: first error wins, returns code. */
#define kvkit__error kvkit_backend_error

/* Copy a backend-filled report into the caller's, prefixing the backend's
 * name ("memory: ...") and supplying a default text when the plugin left
 * it empty.  Returns code. */
int kvkit__error_from_backend(kvkit_error_t *err, const kvkit_error_t *berr,
                              int code, const char *backend, const char *op,
                              const char *subject);

/*** allocation (alloc.c): every libkvkit allocation goes through these ***/

void *kvkit__malloc(size_t size);
void *kvkit__calloc(size_t n, size_t size);
void *kvkit__realloc(void *ptr, size_t size);
void kvkit__free(void *ptr);
char *kvkit__strdup(const char *s);
char *kvkit__strndup(const char *s, size_t n);

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
/* Deep copy (batches keep their own). */
kvkit_index_set_t *kvkit__index_set_copy(const kvkit_index_set_t *set);

/*** stores (store.c) ***/

struct kvkit_store {
    kvkit__backend_t *backend;
    void *handle;
    pthread_mutex_t lock; /* serializes calls when the backend is not thread-safe */
    bool serialize;
};

int kvkit__check_bucket_key(const char *bucket, const char *key,
                            kvkit_error_t *err);

#endif /* KVKIT_PRIVATE_H */
