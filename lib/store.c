/*
 * store.c - stores: open a backend by store string, check arguments, and
 * dispatch operations through the backend's table.
 */
#include "kvkit_private.h"

#include <stdlib.h>
#include <string.h>

/*** argument checks ***/

static int check_name(const char *what, const char *s, size_t max, kvkit_error_t *err)
{
    if (s == NULL)
        return kvkit__error(err, KVKIT_INVALID, "", "%s is NULL", what);
    size_t n = strlen(s);
    if (n == 0)
        return kvkit__error(err, KVKIT_INVALID, "", "empty %s: a %s is 1 to %zu bytes", what, what, max);
    if (n > max)
        return kvkit__error(err, KVKIT_INVALID, "", "%s \"%.40s...\" is %zu bytes, longer than the limit of %zu",
                            what, s, n, max);
    if (!kvkit__utf8_valid((const unsigned char *)s, n))
        return kvkit__error(err, KVKIT_INVALID, "", "%s \"%.40s\" is not valid UTF-8", what, s);
    return KVKIT_OK;
}

int kvkit__check_bucket_key(const char *bucket, const char *key, kvkit_error_t *err)
{
    int rc = check_name("bucket", bucket, KVKIT_BUCKET_MAX, err);
    if (rc == KVKIT_OK && key != NULL)
        rc = check_name("key", key, KVKIT_KEY_MAX, err);
    return rc;
}

/*** locking for backends that are not thread-safe ***/

void kvkit__store_enter(kvkit_store_t *s)
{
    if (s->serialize)
        pthread_mutex_lock(&s->lock);
}

void kvkit__store_leave(kvkit_store_t *s)
{
    if (s->serialize)
        pthread_mutex_unlock(&s->lock);
}

/* Map a failed backend call into the caller's report. */
int kvkit__store_fail(kvkit_store_t *s, kvkit_error_t *err, const kvkit_error_t *berr,
                      int rc, const char *op, const char *subject)
{
    return kvkit__error_from_backend(err, berr, rc, s->backend->name, op, subject);
}

/*** open / close ***/

kvkit_store_t *kvkit_store_open(const char *uri, kvkit_error_t *err)
{
    kvkit__uri_t u;
    if (kvkit__uri_parse(uri, &u, err) != KVKIT_OK)
        return NULL;
    kvkit_store_t *s = kvkit__calloc(1, sizeof *s);
    if (s == NULL) {
        kvkit__uri_free(&u);
        kvkit__error(err, KVKIT_NOMEM, uri, "out of memory opening store");
        return NULL;
    }
    if (kvkit__backend_acquire(u.name, &s->backend, err) != KVKIT_OK) {
        kvkit__uri_free(&u);
        kvkit__free(s);
        return NULL;
    }
    kvkit_error_t berr = {0};
    int rc = s->backend->ops.open(u.location, u.options, u.n_options, &s->handle, &berr);
    if (rc != KVKIT_OK) {
        kvkit__store_fail(s, err, &berr, rc, "open", u.location);
        kvkit__uri_free(&u);
        kvkit__backend_release(s->backend);
        kvkit__free(s);
        return NULL;
    }
    kvkit__uri_free(&u);
    s->serialize = !(s->backend->desc->flags & KVKIT_BACKEND_THREAD_SAFE);
    pthread_mutex_init(&s->lock, NULL);
    return s;
}

void kvkit_store_close(kvkit_store_t *s)
{
    if (s == NULL)
        return;
    s->backend->ops.close(s->handle);
    pthread_mutex_destroy(&s->lock);
    kvkit__backend_release(s->backend);
    kvkit__free(s);
}

const char *kvkit_store_backend(const kvkit_store_t *s)
{
    return s ? s->backend->name : NULL;
}

const kvkit_backend_descriptor_t *kvkit_store_descriptor(const kvkit_store_t *s)
{
    return s ? s->backend->desc : NULL;
}

int kvkit_store_supports(const kvkit_store_t *s, const char *op)
{
    return s != NULL && op != NULL && kvkit__backend_supports(s->backend, op);
}

int kvkit__store_unsupported(kvkit_store_t *s, const char *op, kvkit_error_t *err)
{
    return kvkit__error(err, KVKIT_NOT_SUPPORTED, op,
                        "%s: %s is not supported by this backend", s->backend->name, op);
}

void kvkit_store_set_resolver(kvkit_store_t *s, kvkit_resolve_fn fn, void *ctx)
{
    if (s == NULL)
        return;
    s->resolve = fn;
    s->resolve_ctx = fn ? ctx : NULL;
}

bool kvkit__store_fused_docs(const kvkit_store_t *s)
{
    const kvkit_backend_ops_t *o = &s->backend->ops;
    return o->index_docs != NULL && !(s->resolve != NULL && o->get_siblings != NULL);
}

/*** resolving siblings ***/

typedef struct siblings {
    kvkit_sibling_t *v;
    size_t n, cap;
    bool nomem;
} siblings_t;

static int collect_sibling(void *ctx, const char *value, size_t value_len)
{
    siblings_t *sb = ctx;
    if (sb->n == sb->cap) {
        size_t cap = sb->cap ? 2 * sb->cap : 4;
        kvkit_sibling_t *grown = kvkit__realloc(sb->v, cap * sizeof *grown);
        if (grown == NULL) {
            sb->nomem = true;
            return 1;
        }
        sb->v = grown;
        sb->cap = cap;
    }
    char *copy = kvkit__malloc(value_len + 1);
    if (copy == NULL) {
        sb->nomem = true;
        return 1;
    }
    memcpy(copy, value, value_len);
    copy[value_len] = '\0';
    sb->v[sb->n++] = (kvkit_sibling_t){copy, value_len};
    return 0;
}

/* A get met siblings: read them all, let the application merge them, and
 * save the result, which replaces them.  On KVKIT_OK *value is the merged
 * value (malloc'd by the resolver). */
static int resolve_siblings(kvkit_store_t *s, const char *bucket, const char *key,
                            char **value, size_t *value_len, kvkit_error_t *err)
{
    siblings_t sb = {0};
    kvkit_error_t berr = {0};
    kvkit__store_enter(s);
    int rc = s->backend->ops.get_siblings(s->handle, bucket, key, collect_sibling, &sb, &berr);
    kvkit__store_leave(s);
    if (rc == KVKIT_OK && sb.nomem)
        rc = kvkit__error(err, KVKIT_NOMEM, key, "out of memory reading siblings of \"%s\"", key);
    else if (rc != KVKIT_OK && rc != KVKIT_NOTFOUND)
        rc = kvkit__store_fail(s, err, &berr, rc, "get", key);
    kvkit_index_set_t *index = NULL;
    char *merged = NULL;
    size_t merged_len = 0;
    if (rc == KVKIT_OK && sb.n > 0) {
        if ((index = kvkit_index_set_create()) == NULL)
            rc = kvkit__error(err, KVKIT_NOMEM, key, "out of memory resolving \"%s\"", key);
        else
            rc = s->resolve(s->resolve_ctx, bucket, key, sb.v, sb.n, &merged, &merged_len,
                            index, err);
        if (rc != KVKIT_OK && err != NULL && err->code == KVKIT_OK)
            kvkit__error(err, rc, key, "resolver for \"%s\" failed: %s", key, kvkit_strerror(rc));
        if (rc == KVKIT_OK)
            rc = kvkit_store_save(s, bucket, key, merged, merged_len, index, err);
    } else if (rc == KVKIT_OK) {
        rc = KVKIT_NOTFOUND; /* deleted meanwhile */
    }
    if (rc == KVKIT_OK) {
        *value = merged;
        *value_len = merged_len;
    } else {
        free(merged);
    }
    kvkit_index_set_destroy(index);
    for (size_t i = 0; i < sb.n; i++)
        kvkit__free((char *)sb.v[i].value);
    kvkit__free(sb.v);
    return rc;
}

/*** get / save / delete ***/

int kvkit_store_get(kvkit_store_t *s, const char *bucket, const char *key,
                    char **value, size_t *value_len, kvkit_error_t *err)
{
    CHECK_STORE(s, err);
    int rc = kvkit__check_bucket_key(bucket, key, err);
    if (rc != KVKIT_OK)
        return rc;
    if (value == NULL || value_len == NULL)
        return kvkit__error(err, KVKIT_INVALID, key, "kvkit_store_get: value and value_len are required");
    kvkit_error_t berr;
    kvkit__error_init(&berr);
    kvkit__store_enter(s);
    rc = s->backend->ops.get(s->handle, bucket, key, value, value_len, &berr);
    kvkit__store_leave(s);
    if (rc == KVKIT_OK || rc == KVKIT_NOTFOUND)
        return rc;
    if (rc == KVKIT_CONFLICT && s->resolve != NULL && s->backend->ops.get_siblings != NULL)
        return resolve_siblings(s, bucket, key, value, value_len, err);
    return kvkit__store_fail(s, err, &berr, rc, "get", key);
}

int kvkit_store_save(kvkit_store_t *s, const char *bucket, const char *key,
                     const char *value, size_t value_len,
                     const kvkit_index_set_t *index, kvkit_error_t *err)
{
    CHECK_STORE(s, err);
    int rc = kvkit__check_bucket_key(bucket, key, err);
    if (rc != KVKIT_OK)
        return rc;
    if (value == NULL && value_len > 0)
        return kvkit__error(err, KVKIT_INVALID, key, "kvkit_store_save: value is NULL");
    size_t n;
    const kvkit_index_entry_t *entries = kvkit__index_set_entries(index, &n);
    kvkit_error_t berr;
    kvkit__error_init(&berr);
    kvkit__store_enter(s);
    rc = s->backend->ops.save(s->handle, bucket, key, value ? value : "", value_len,
                              entries, n, &berr);
    kvkit__store_leave(s);
    return rc == KVKIT_OK ? rc : kvkit__store_fail(s, err, &berr, rc, "save", key);
}

int kvkit_store_delete(kvkit_store_t *s, const char *bucket, const char *key,
                       kvkit_error_t *err)
{
    CHECK_STORE(s, err);
    int rc = kvkit__check_bucket_key(bucket, key, err);
    if (rc != KVKIT_OK)
        return rc;
    kvkit_error_t berr;
    kvkit__error_init(&berr);
    kvkit__store_enter(s);
    rc = s->backend->ops.del(s->handle, bucket, key, &berr);
    kvkit__store_leave(s);
    return rc == KVKIT_OK || rc == KVKIT_NOTFOUND ? KVKIT_OK
                                                  : kvkit__store_fail(s, err, &berr, rc, "delete", key);
}

int kvkit_store_get_rev(kvkit_store_t *s, const char *bucket, const char *key,
                        char **value, size_t *value_len, uint64_t *revision,
                        kvkit_error_t *err)
{
    CHECK_STORE(s, err);
    int rc = kvkit__check_bucket_key(bucket, key, err);
    if (rc != KVKIT_OK)
        return rc;
    if (value == NULL || value_len == NULL || revision == NULL)
        return kvkit__error(err, KVKIT_INVALID, key, "kvkit_store_get_rev: value, value_len and revision are required");
    if (s->backend->ops.get_rev == NULL)
        return kvkit__store_unsupported(s, "get_rev", err);
    kvkit_error_t berr = {0};
    kvkit__store_enter(s);
    rc = s->backend->ops.get_rev(s->handle, bucket, key, value, value_len, revision, &berr);
    kvkit__store_leave(s);
    if (rc == KVKIT_OK || rc == KVKIT_NOTFOUND)
        return rc;
    return kvkit__store_fail(s, err, &berr, rc, "get", key);
}

int kvkit_store_save_if(kvkit_store_t *s, const char *bucket, const char *key,
                        const char *value, size_t value_len,
                        const kvkit_index_set_t *index, uint64_t expected,
                        uint64_t *new_revision, kvkit_error_t *err)
{
    CHECK_STORE(s, err);
    int rc = kvkit__check_bucket_key(bucket, key, err);
    if (rc != KVKIT_OK)
        return rc;
    if (value == NULL && value_len > 0)
        return kvkit__error(err, KVKIT_INVALID, key, "kvkit_store_save_if: value is NULL");
    if (s->backend->ops.save_if == NULL)
        return kvkit__store_unsupported(s, "save_if", err);
    size_t n;
    const kvkit_index_entry_t *entries = kvkit__index_set_entries(index, &n);
    uint64_t rev = 0;
    kvkit_error_t berr = {0};
    kvkit__store_enter(s);
    rc = s->backend->ops.save_if(s->handle, bucket, key, value ? value : "", value_len,
                                 entries, n, expected, &rev, &berr);
    kvkit__store_leave(s);
    if (rc != KVKIT_OK)
        return kvkit__store_fail(s, err, &berr, rc, "save", key);
    if (new_revision)
        *new_revision = rev;
    return KVKIT_OK;
}

/*** maintenance ***/

int kvkit_store_compact(kvkit_store_t *s, kvkit_error_t *err)
{
    CHECK_STORE(s, err);
    if (s->backend->ops.compact == NULL)
        return kvkit__store_unsupported(s, "compact", err);
    kvkit_error_t berr = {0};
    kvkit__store_enter(s);
    int rc = s->backend->ops.compact(s->handle, &berr);
    kvkit__store_leave(s);
    return rc == KVKIT_OK ? rc : kvkit__store_fail(s, err, &berr, rc, "compact", "");
}

int kvkit_repair(const char *uri, kvkit_error_t *err)
{
    kvkit__uri_t u;
    int rc = kvkit__uri_parse(uri, &u, err);
    if (rc != KVKIT_OK)
        return rc;
    kvkit__backend_t *b;
    if ((rc = kvkit__backend_acquire(u.name, &b, err)) != KVKIT_OK) {
        kvkit__uri_free(&u);
        return rc;
    }
    if (b->ops.repair == NULL) {
        rc = kvkit__error(err, KVKIT_NOT_SUPPORTED, "repair",
                          "%s: repair is not supported by this backend", b->name);
    } else {
        kvkit_error_t berr = {0};
        rc = b->ops.repair(u.location, u.options, u.n_options, &berr);
        if (rc != KVKIT_OK)
            kvkit__error_from_backend(err, &berr, rc, b->name, "repair", u.location);
    }
    kvkit__backend_release(b);
    kvkit__uri_free(&u);
    return rc;
}
