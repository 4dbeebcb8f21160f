/*
 * query.c - index and key queries in callback form: bounds are checked and
 * encoded once here, then handed to the backend's scan.
 */
#include "kvkit_private.h"

#include <stdlib.h>
#include <string.h>

/*** queries ***/


void kvkit__query_free(kvkit__query_t *q)
{
    kvkit__free(q->lo_buf);
    kvkit__free(q->hi_buf);
    q->lo_buf = q->hi_buf = NULL;
}

static int bound(const json_t *v, const char *field, unsigned char **buf,
                 kvkit_index_value_t *out, kvkit_error_t *err)
{
    if (!json_is_number(v) && !json_is_string(v))
        return kvkit__error(err, KVKIT_INVALID, field,
                            "query bound for \"%s\" must be a number or a string", field);
    if ((*buf = kvkit__malloc(kvkit__sortable_size(v))) == NULL)
        return kvkit__error(err, KVKIT_NOMEM, field, "out of memory encoding query bound");
    return kvkit__index_value(v, *buf, out, field, err);
}

static int sortable_cmp(const kvkit_index_value_t *a, const kvkit_index_value_t *b)
{
    size_t n = a->sortable_len < b->sortable_len ? a->sortable_len : b->sortable_len;
    int c = memcmp(a->sortable, b->sortable, n);
    return c ? c : (a->sortable_len > b->sortable_len) - (a->sortable_len < b->sortable_len);
}

int kvkit__query_parse(kvkit_store_t *s, const char *bucket, const char *field,
                       const json_t *lo, const json_t *hi, kvkit__query_t *q,
                       kvkit_error_t *err)
{
    memset(q, 0, sizeof *q);
    CHECK_STORE(s, err);
    int rc = kvkit__check_bucket_key(bucket, NULL, err);
    if (rc != KVKIT_OK)
        return rc;
    if (field == NULL)
        return kvkit__error(err, KVKIT_INVALID, "", "query field is NULL");
    q->field = field;
    if (strcmp(field, "$bucket") == 0) {
        q->kind = KVKIT__Q_KEYS;
        return KVKIT_OK;
    }
    if (hi == NULL)
        hi = lo;
    if (strcmp(field, "$key") == 0) {
        if (!json_is_string(lo) || !json_is_string(hi))
            return kvkit__error(err, KVKIT_INVALID, field, "\"$key\" bounds must be strings");
        q->kind = KVKIT__Q_KEYS;
        q->klo = json_string_value(lo);
        q->khi = json_string_value(hi);
        q->empty = strcmp(q->klo, q->khi) > 0;
        return KVKIT_OK;
    }
    size_t flen = strlen(field);
    if (flen == 0 || flen > KVKIT_FIELD_MAX || field[0] == '$')
        return kvkit__error(err, KVKIT_INVALID, field,
                            "invalid query field \"%s\" (pseudo-fields are $key and $bucket)", field);
    if (lo == NULL)
        return kvkit__error(err, KVKIT_INVALID, field, "query on \"%s\" has no value", field);
    if (json_is_string(lo) != json_is_string(hi))
        return kvkit__error(err, KVKIT_INVALID, field,
                            "range bounds for \"%s\" must both be numbers or both be strings", field);
    q->kind = KVKIT__Q_INDEX;
    if ((rc = bound(lo, field, &q->lo_buf, &q->lo, err)) != KVKIT_OK ||
        (rc = bound(hi, field, &q->hi_buf, &q->hi, err)) != KVKIT_OK) {
        kvkit__query_free(q);
        return rc;
    }
    q->empty = sortable_cmp(&q->lo, &q->hi) > 0;
    if (s->backend->ops.index_lookup == NULL) {
        kvkit__query_free(q);
        return kvkit__store_unsupported(s, "index_lookup", err);
    }
    return KVKIT_OK;
}

/* Adapts a backend key stream to the public callback, NUL-terminating keys. */
typedef struct key_adapter {
    kvkit_key_fn fn;
    void *ctx;
} key_adapter_t;

static int key_adapter(void *vctx, const char *key, size_t len,
                       const unsigned char *sortable, size_t sortable_len)
{
    key_adapter_t *a = vctx;
    char buf[KVKIT_KEY_MAX + 1];
    if (len > KVKIT_KEY_MAX)
        len = KVKIT_KEY_MAX;
    memcpy(buf, key, len);
    buf[len] = '\0';
    return a->fn(a->ctx, buf, len);
}

int kvkit__list_keys_call(kvkit_store_t *s, void *view, const char *bucket, const char *lo,
                          const char *hi, kvkit_backend_key_fn fn, void *ctx,
                          kvkit_error_t *err)
{
    if (s->backend->ops.list_keys == NULL)
        return kvkit__store_unsupported(s, "list_keys", err);
    kvkit_error_t berr = {0};
    kvkit__store_enter(s);
    int rc = view ? s->backend->ops.view_list_keys(view, bucket, lo, hi, fn, ctx, &berr)
                  : s->backend->ops.list_keys(s->handle, bucket, lo, hi, fn, ctx, &berr);
    kvkit__store_leave(s);
    return rc == KVKIT_OK ? rc : kvkit__store_fail(s, err, &berr, rc, "list_keys", bucket);
}

int kvkit__index_lookup_call(kvkit_store_t *s, void *view, const char *bucket,
                             const kvkit__query_t *q, const kvkit_index_position_t *after,
                             kvkit_backend_key_fn fn, void *ctx, kvkit_error_t *err)
{
    kvkit_error_t berr = {0};
    kvkit__store_enter(s);
    int rc = view ? s->backend->ops.view_index_lookup(view, bucket, q->field, &q->lo, &q->hi,
                                                      after, fn, ctx, &berr)
                  : s->backend->ops.index_lookup(s->handle, bucket, q->field, &q->lo, &q->hi,
                                                 after, fn, ctx, &berr);
    kvkit__store_leave(s);
    return rc == KVKIT_OK ? rc : kvkit__store_fail(s, err, &berr, rc, "index_lookup", q->field);
}

int kvkit_store_index_keys(kvkit_store_t *s, const char *bucket, const char *field,
                           const json_t *lo, const json_t *hi, kvkit_key_fn fn,
                           void *ctx, kvkit_error_t *err)
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

int kvkit_store_list_keys(kvkit_store_t *s, const char *bucket, const char *lo,
                          const char *hi, kvkit_key_fn fn, void *ctx,
                          kvkit_error_t *err)
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
    if (key_len > KVKIT_KEY_MAX)
        key_len = KVKIT_KEY_MAX;
    memcpy(buf, key, key_len);
    buf[key_len] = '\0';
    return a->fn(a->ctx, buf, key_len, value, value_len);
}

int kvkit_store_index_docs(kvkit_store_t *s, const char *bucket, const char *field,
                           const json_t *lo, const json_t *hi, kvkit_doc_fn fn,
                           void *ctx, kvkit_error_t *err)
{
    if (fn == NULL)
        return kvkit__error(err, KVKIT_INVALID, field ? field : "", "result callback is NULL");
    kvkit__query_t q;
    int rc = kvkit__query_parse(s, bucket, field, lo, hi, &q, err);
    if (rc != KVKIT_OK)
        return rc;
    if (q.kind == KVKIT__Q_INDEX && !q.empty && kvkit__store_fused_docs(s)) {
        doc_adapter_t a = {fn, ctx};
        kvkit_error_t berr = {0};
        kvkit__store_enter(s);
        rc = s->backend->ops.index_docs(s->handle, bucket, field, &q.lo, &q.hi, NULL,
                                        doc_adapter, &a, &berr);
        kvkit__store_leave(s);
        kvkit__query_free(&q);
        return rc == KVKIT_OK ? rc : kvkit__store_fail(s, err, &berr, rc, "index_docs", field);
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
