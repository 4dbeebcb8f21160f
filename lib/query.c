/*
 * query.c - the scan layer: a query is checked and its bounds encoded once
 * here, and every scan reaches the backend through the calls below (on the
 * live store or in a view).  The callback API (query_cb.c) and the
 * iterators (iter.c) sit on top; this file calls neither.
 */
#include "qprivate.h"

#include <stdlib.h>
#include <string.h>

/*** parsing a query ***/

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
    q->empty = kvkit_sortable_cmp(q->lo.sortable, q->lo.sortable_len, q->hi.sortable,
                                  q->hi.sortable_len) > 0;
    if (s->backend->ops.index_lookup == NULL) {
        kvkit__query_free(q);
        return kvkit__store_unsupported(s, "index_lookup", err);
    }
    return KVKIT_OK;
}

/*** the backend's scans, live or in a view ***/

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

int kvkit__index_docs_call(kvkit_store_t *s, void *view, const char *bucket,
                           const kvkit__query_t *q, const kvkit_index_position_t *after,
                           kvkit_backend_doc_fn fn, void *ctx, kvkit_error_t *err)
{
    kvkit_error_t berr = {0};
    kvkit__store_enter(s);
    int rc = view ? s->backend->ops.view_index_docs(view, bucket, q->field, &q->lo, &q->hi,
                                                    after, fn, ctx, &berr)
                  : s->backend->ops.index_docs(s->handle, bucket, q->field, &q->lo, &q->hi,
                                               after, fn, ctx, &berr);
    kvkit__store_leave(s);
    return rc == KVKIT_OK ? rc : kvkit__store_fail(s, err, &berr, rc, "index_docs", q->field);
}

/*** index cursors ***/

bool kvkit__icur_able(const kvkit_store_t *s)
{
    const kvkit_backend_ops_t *o = &s->backend->ops;
    return o->index_cursor_open != NULL && o->index_cursor_next != NULL &&
           o->index_cursor_close != NULL;
}

int kvkit__icur_open(kvkit_store_t *s, void *view, const char *bucket, const char *field,
                     const kvkit_index_value_t *lo, const kvkit_index_value_t *hi, void **cur,
                     kvkit_error_t *err)
{
    kvkit_error_t berr = {0};
    *cur = NULL;
    kvkit__store_enter(s);
    int rc = s->backend->ops.index_cursor_open(s->handle, view, bucket, field, lo, hi, cur, &berr);
    kvkit__store_leave(s);
    if (rc != KVKIT_OK)
        *cur = NULL;
    return rc == KVKIT_OK ? rc : kvkit__store_fail(s, err, &berr, rc, "index_cursor_open", field);
}

int kvkit__icur_next(kvkit_store_t *s, void *cur, const char *field,
                     const kvkit_index_position_t *at, kvkit_index_position_t *hits, size_t max,
                     size_t *n, kvkit_error_t *err)
{
    kvkit_error_t berr; /* not zeroed whole: that costs more than a step */
    kvkit__error_init(&berr);
    *n = 0;
    kvkit__store_enter(s);
    int rc = s->backend->ops.index_cursor_next(cur, at, hits, max, n, &berr);
    kvkit__store_leave(s);
    if (rc == KVKIT_OK && (*n == 0 || *n > max))
        return kvkit__error(err, KVKIT_BACKEND, field,
                            "%s: index_cursor_next \"%s\": answered %zu entries for at most %zu",
                            s->backend->name, field, *n, max);
    for (size_t i = 0; rc == KVKIT_OK && i < *n; i++)
        if (hits[i].key[hits[i].key_len] != '\0')
            return kvkit__error(err, KVKIT_BACKEND, field,
                                "%s: index_cursor_next \"%s\": a key without its NUL",
                                s->backend->name, field);
    if (rc == KVKIT_OK || rc == KVKIT_NOTFOUND)
        return rc;
    return kvkit__store_fail(s, err, &berr, rc, "index_cursor_next", field);
}

void kvkit__icur_close(kvkit_store_t *s, void *cur)
{
    if (cur == NULL)
        return;
    kvkit__store_enter(s);
    s->backend->ops.index_cursor_close(cur);
    kvkit__store_leave(s);
}

/*** views ***/

int kvkit__view_open(kvkit_store_t *s, void **view, const char *bucket, kvkit_error_t *err)
{
    *view = NULL;
    if (s->backend->ops.view_open == NULL)
        return KVKIT_OK;
    kvkit_error_t berr = {0};
    kvkit__store_enter(s);
    int rc = s->backend->ops.view_open(s->handle, view, &berr);
    kvkit__store_leave(s);
    if (rc != KVKIT_OK) {
        *view = NULL;
        return kvkit__store_fail(s, err, &berr, rc, "view_open", bucket);
    }
    return KVKIT_OK;
}

void kvkit__view_close(kvkit_store_t *s, void *view)
{
    if (view == NULL)
        return;
    kvkit__store_enter(s);
    s->backend->ops.view_close(s->handle, view);
    kvkit__store_leave(s);
}

int kvkit__view_get(kvkit_store_t *s, void *view, const char *bucket, const char *key,
                    char **value, size_t *len, kvkit_error_t *err)
{
    kvkit_error_t berr = {0};
    kvkit__store_enter(s);
    int rc = s->backend->ops.view_get(view, bucket, key, value, len, &berr);
    kvkit__store_leave(s);
    if (rc == KVKIT_OK || rc == KVKIT_NOTFOUND)
        return rc;
    return kvkit__store_fail(s, err, &berr, rc, "get", key);
}
