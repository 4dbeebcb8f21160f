/*
 * doc_query.c - queries on a schema: index lookups and key listings as
 * documents or keys, streamed through the store's paging iterator (which
 * uses a backend's fused index -> documents op when it has one); keys in
 * callback form go straight to the store's key callbacks.  Compound
 * queries (kvkit_query_expr) run through the store's query iterator, on a
 * copy of the query made for the schema (doc_qexpr.c).
 */
#include "doc_private.h"

#include <string.h>

struct kvkit_query {
    const kvkit_schema_t *schema;
    kvkit_iter_t *it;
    bool keys;
    kvkit_doc_t *cur; /* document of the current item, built on demand */
    kvkit_error_t err;
};

/*** arguments ***/

static bool pseudo_field(const char *field)
{
    return strcmp(field, "$key") == 0 || strcmp(field, "$bucket") == 0;
}

/* A bound in stored form: enum values become their indexes.  *out is a
 * new reference (NULL for a NULL bound). */
static int convert_bound(const kvkit_prop_t *p, const json_t *bound, json_t **out,
                         kvkit_error_t *err)
{
    *out = NULL;
    if (bound == NULL)
        return KVKIT_OK;
    if (p != NULL && p->kind == KVKIT_PROP_ENUM) {
        long i = kvkit__enum_index(p, bound);
        if (i < 0)
            return kvkit__error(err, KVKIT_INVALID, p->name,
                                "query on \"%s\": not one of the enum values", p->name);
        if ((*out = json_integer(i)) == NULL)
            return kvkit__error(err, KVKIT_NOMEM, p->name, "out of memory");
        return KVKIT_OK;
    }
    *out = json_incref((json_t *)bound);
    return KVKIT_OK;
}

/* Check the schema and field; on KVKIT_OK *lo_out / *hi_out hold the
 * stored-form bounds (new references or NULL). */
static int query_args(const kvkit_schema_t *s, const char *field, const json_t *lo,
                      const json_t *hi, json_t **lo_out, json_t **hi_out, kvkit_error_t *err)
{
    *lo_out = *hi_out = NULL;
    int rc = kvkit__schema_need_store(s, err);
    if (rc != KVKIT_OK)
        return rc;
    if (field == NULL)
        return kvkit__error(err, KVKIT_INVALID, "", "query field is NULL");
    const kvkit_prop_t *p = NULL;
    if (!pseudo_field(field)) {
        p = kvkit__schema_find(s, field);
        if (p == NULL || !(p->flags & KVKIT_PROP_INDEX))
            return kvkit__error(err, KVKIT_NOT_INDEXED, field, "%s: field \"%s\" is not indexed%s",
                                s->name, field, p ? "" : " (no such property)");
    }
    rc = convert_bound(p, lo, lo_out, err);
    if (rc == KVKIT_OK)
        rc = convert_bound(p, hi, hi_out, err);
    if (rc != KVKIT_OK) {
        json_decref(*lo_out);
        *lo_out = NULL;
    }
    return rc;
}

/*** iterator form ***/

static int query_new(const kvkit_schema_t *s, unsigned flags, kvkit_query_t **out,
                     kvkit_error_t *err)
{
    kvkit_query_t *q = kvkit__calloc(1, sizeof *q);
    if (q == NULL)
        return kvkit__error(err, KVKIT_NOMEM, s->name, "out of memory creating a query");
    q->schema = s;
    q->keys = (flags & KVKIT_QUERY_KEYS) != 0;
    *out = q;
    return KVKIT_OK;
}

/* Hand over q, whose iterator was just made (NULL: out of memory), or free
 * it: argument errors the store found surface now, not at the end. */
static int query_start(kvkit_query_t *q, const char *subject, kvkit_query_t **out,
                       kvkit_error_t *err)
{
    int rc;
    if (q->it == NULL) {
        kvkit__free(q);
        return kvkit__error(err, KVKIT_NOMEM, subject, "out of memory creating a query");
    }
    if (!kvkit_iter_valid(q->it) && (rc = kvkit_iter_status(q->it, err)) != KVKIT_OK) {
        kvkit_query_destroy(q);
        return rc;
    }
    *out = q;
    return KVKIT_OK;
}

int kvkit_query_index(const kvkit_schema_t *s, const char *field, const json_t *lo,
                      const json_t *hi, unsigned flags, kvkit_query_t **out, kvkit_error_t *err)
{
    if (out == NULL)
        return kvkit__error(err, KVKIT_INVALID, "", "kvkit_query_index: out is NULL");
    *out = NULL;
    json_t *clo, *chi;
    int rc = query_args(s, field, lo, hi, &clo, &chi, err);
    if (rc != KVKIT_OK)
        return rc;
    kvkit_query_t *q = NULL;
    if ((rc = query_new(s, flags, &q, err)) == KVKIT_OK) /* the iterator copies the bounds */
        q->it = kvkit_store_index_iter(s->store, s->bucket, field, clo, chi, !q->keys);
    json_decref(clo);
    json_decref(chi);
    return rc == KVKIT_OK ? query_start(q, field, out, err) : rc;
}

int kvkit_query_all(const kvkit_schema_t *s, const char *lo, const char *hi, unsigned flags,
                    kvkit_query_t **out, kvkit_error_t *err)
{
    if (out == NULL)
        return kvkit__error(err, KVKIT_INVALID, "", "kvkit_query_all: out is NULL");
    *out = NULL;
    int rc = kvkit__schema_need_store(s, err);
    if (rc != KVKIT_OK)
        return rc;
    kvkit_query_t *q = NULL;
    rc = query_new(s, flags, &q, err);
    if (rc != KVKIT_OK)
        return rc;
    q->it = kvkit_store_keys_iter(s->store, s->bucket, lo, hi, !q->keys);
    return query_start(q, s->name, out, err);
}

int kvkit_query_expr(const kvkit_schema_t *s, const kvkit_qexpr_t *expr, unsigned flags,
                     kvkit_query_t **out, kvkit_error_t *err)
{
    if (out == NULL)
        return kvkit__error(err, KVKIT_INVALID, "", "kvkit_query_expr: out is NULL");
    *out = NULL;
    kvkit_qexpr_t *own = NULL;
    kvkit_query_t *q = NULL;
    int rc = kvkit__schema_need_store(s, err);
    if (rc == KVKIT_OK)
        rc = kvkit__qexpr_for_schema(s, expr, &own, err);
    if (rc == KVKIT_OK && (rc = query_new(s, flags, &q, err)) != KVKIT_OK)
        kvkit_query_free(own);
    if (rc != KVKIT_OK)
        return rc;
    /* the iterator owns the copy (and frees it when it cannot be made) */
    q->it = kvkit__store_query_iter(s->store, s->bucket, own, own, !q->keys);
    return query_start(q, s->name, out, err);
}

int kvkit_query_valid(const kvkit_query_t *q)
{
    return q != NULL && q->err.code == KVKIT_OK && kvkit_iter_valid(q->it);
}

void kvkit_query_next(kvkit_query_t *q)
{
    if (!kvkit_query_valid(q))
        return;
    kvkit_doc_destroy(q->cur);
    q->cur = NULL;
    kvkit_iter_next(q->it);
}

const char *kvkit_query_key(const kvkit_query_t *q)
{
    return kvkit_query_valid(q) ? kvkit_iter_key(q->it, NULL) : NULL;
}

kvkit_doc_t *kvkit_query_doc(kvkit_query_t *q)
{
    if (!kvkit_query_valid(q) || q->keys)
        return NULL;
    if (q->cur == NULL) {
        size_t klen, vlen;
        const char *key = kvkit_iter_key(q->it, &klen);
        const char *value = kvkit_iter_value(q->it, &vlen);
        if (kvkit__doc_from_bytes(q->schema, key, klen, value, vlen, NULL, &q->cur, &q->err) !=
            KVKIT_OK)
            return NULL;
    }
    return q->cur;
}

kvkit_doc_t *kvkit_query_take_doc(kvkit_query_t *q)
{
    kvkit_doc_t *d = kvkit_query_doc(q);
    if (q != NULL)
        q->cur = NULL;
    return d;
}

int kvkit_query_status(const kvkit_query_t *q, kvkit_error_t *err)
{
    if (q == NULL)
        return kvkit__error(err, KVKIT_INVALID, "", "query is NULL");
    if (q->err.code != KVKIT_OK) {
        if (err != NULL && err->code == KVKIT_OK)
            *err = q->err;
        return q->err.code;
    }
    return kvkit_iter_status(q->it, err);
}

void kvkit_query_destroy(kvkit_query_t *q)
{
    if (q == NULL)
        return;
    kvkit_doc_destroy(q->cur);
    kvkit_iter_destroy(q->it);
    kvkit__free(q);
}

/*** callback forms ***/

static int drain_docs(kvkit_query_t *q, kvkit_query_doc_fn fn, void *ctx, kvkit_error_t *err)
{
    for (; kvkit_query_valid(q); kvkit_query_next(q)) {
        kvkit_doc_t *d = kvkit_query_doc(q);
        if (d == NULL || fn(ctx, d) != 0)
            break;
    }
    int rc = kvkit_query_status(q, err);
    kvkit_query_destroy(q);
    return rc;
}

int kvkit_query_index_docs(const kvkit_schema_t *s, const char *field, const json_t *lo,
                           const json_t *hi, kvkit_query_doc_fn fn, void *ctx, kvkit_error_t *err)
{
    if (fn == NULL)
        return kvkit__error(err, KVKIT_INVALID, field ? field : "", "result callback is NULL");
    kvkit_query_t *q = NULL;
    int rc = kvkit_query_index(s, field, lo, hi, 0, &q, err);
    return rc != KVKIT_OK ? rc : drain_docs(q, fn, ctx, err);
}

int kvkit_query_all_docs(const kvkit_schema_t *s, const char *lo, const char *hi,
                         kvkit_query_doc_fn fn, void *ctx, kvkit_error_t *err)
{
    if (fn == NULL)
        return kvkit__error(err, KVKIT_INVALID, "", "result callback is NULL");
    kvkit_query_t *q = NULL;
    int rc = kvkit_query_all(s, lo, hi, 0, &q, err);
    return rc != KVKIT_OK ? rc : drain_docs(q, fn, ctx, err);
}

int kvkit_query_index_keys(const kvkit_schema_t *s, const char *field, const json_t *lo,
                           const json_t *hi, kvkit_key_fn fn, void *ctx, kvkit_error_t *err)
{
    json_t *clo, *chi;
    int rc = query_args(s, field, lo, hi, &clo, &chi, err);
    if (rc != KVKIT_OK)
        return rc;
    rc = kvkit_store_index_keys(s->store, s->bucket, field, clo, chi, fn, ctx, err);
    json_decref(clo);
    json_decref(chi);
    return rc;
}

int kvkit_query_all_keys(const kvkit_schema_t *s, const char *lo, const char *hi, kvkit_key_fn fn,
                         void *ctx, kvkit_error_t *err)
{
    int rc = kvkit__schema_need_store(s, err);
    return rc != KVKIT_OK ? rc : kvkit_store_list_keys(s->store, s->bucket, lo, hi, fn, ctx, err);
}
