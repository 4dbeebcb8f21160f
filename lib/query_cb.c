/*
 * query_cb.c - index and key queries in callback form: the query is parsed
 * and its bounds encoded by the scan layer (query.c), then each result is
 * handed to the caller's callback with its key NUL-terminated.
 */
#include "kvkit_private.h"

#include <string.h>

/* A backend's key (not NUL-terminated) as a C string in buf; its length. */
static size_t key_string(char buf[KVKIT_KEY_MAX + 1], const char *key, size_t len)
{
    if (len > KVKIT_KEY_MAX)
        len = KVKIT_KEY_MAX;
    memcpy(buf, key, len);
    buf[len] = '\0';
    return len;
}

/* Adapts a backend key stream to the public callback, NUL-terminating keys. */
typedef struct key_adapter {
    kvkit_key_fn fn;
    void *ctx;
} key_adapter_t;

static int key_adapter(void *vctx, const char *key, size_t len, const unsigned char *sortable,
                       size_t sortable_len)
{
    key_adapter_t *a = vctx;
    char buf[KVKIT_KEY_MAX + 1];
    len = key_string(buf, key, len);
    return a->fn(a->ctx, buf, len);
}

int kvkit_store_index_keys(kvkit_store_t *s, const char *bucket, const char *field,
                           const json_t *lo, const json_t *hi, kvkit_key_fn fn, void *ctx,
                           kvkit_error_t *err)
{
    kvkit__query_t q;
    int rc = kvkit__query_parse(s, bucket, field, lo, hi, &q, err);
    if (rc != KVKIT_OK)
        return rc;
    if (fn == NULL) {
        kvkit__query_free(&q);
        return kvkit__error(err, KVKIT_INVALID, field, "result callback is NULL");
    }
    key_adapter_t a = {fn, ctx};
    if (q.empty)
        rc = KVKIT_OK;
    else if (q.kind == KVKIT__Q_KEYS)
        rc = kvkit__list_keys_call(s, NULL, bucket, q.klo, q.khi, key_adapter, &a, err);
    else
        rc = kvkit__index_lookup_call(s, NULL, bucket, &q, NULL, key_adapter, &a, err);
    kvkit__query_free(&q);
    return rc;
}

int kvkit_store_list_keys(kvkit_store_t *s, const char *bucket, const char *lo, const char *hi,
                          kvkit_key_fn fn, void *ctx, kvkit_error_t *err)
{
    CHECK_STORE(s, err);
    int rc = kvkit__check_bucket_key(bucket, NULL, err);
    if (rc != KVKIT_OK)
        return rc;
    if (fn == NULL)
        return kvkit__error(err, KVKIT_INVALID, bucket, "result callback is NULL");
    if (lo != NULL && hi != NULL && strcmp(lo, hi) > 0)
        return KVKIT_OK;
    key_adapter_t a = {fn, ctx};
    return kvkit__list_keys_call(s, NULL, bucket, lo, hi, key_adapter, &a, err);
}

typedef struct doc_adapter {
    kvkit_doc_fn fn;
    void *ctx;
} doc_adapter_t;

static int doc_adapter(void *vctx, const char *key, size_t key_len, const char *value,
                       size_t value_len, const unsigned char *sortable, size_t sortable_len)
{
    doc_adapter_t *a = vctx;
    char buf[KVKIT_KEY_MAX + 1];
    key_len = key_string(buf, key, key_len);
    return a->fn(a->ctx, buf, key_len, value, value_len);
}

/* The fused op straight through when the backend has it, else the iterator
 * (which reads documents outside the backend's lookup, so no backend lock
 * is held across a get). */
int kvkit_store_index_docs(kvkit_store_t *s, const char *bucket, const char *field,
                           const json_t *lo, const json_t *hi, kvkit_doc_fn fn, void *ctx,
                           kvkit_error_t *err)
{
    if (fn == NULL)
        return kvkit__error(err, KVKIT_INVALID, field ? field : "", "result callback is NULL");
    kvkit__query_t q;
    int rc = kvkit__query_parse(s, bucket, field, lo, hi, &q, err);
    if (rc != KVKIT_OK)
        return rc;
    if (q.kind == KVKIT__Q_INDEX && !q.empty && kvkit__store_fused_docs(s)) {
        doc_adapter_t a = {fn, ctx};
        rc = kvkit__index_docs_call(s, NULL, bucket, &q, NULL, doc_adapter, &a, err);
        kvkit__query_free(&q);
        return rc;
    }
    bool empty = q.empty;
    if (q.kind == KVKIT__Q_INDEX)
        kvkit__query_free(&q);
    if (empty)
        return KVKIT_OK;
    kvkit_iter_t *it = kvkit_store_index_iter(s, bucket, field, lo, hi, 1);
    if (it == NULL)
        return kvkit__error(err, KVKIT_NOMEM, field, "out of memory creating query iterator");
    for (; kvkit_iter_valid(it); kvkit_iter_next(it)) {
        size_t key_len, value_len;
        const char *key = kvkit_iter_key(it, &key_len);
        const char *value = kvkit_iter_value(it, &value_len);
        if (fn(ctx, key, key_len, value, value_len) != 0)
            break;
    }
    rc = kvkit_iter_status(it, err);
    kvkit_iter_destroy(it);
    return rc;
}
