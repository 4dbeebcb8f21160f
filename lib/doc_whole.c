/*
 * doc_whole.c - whole-document operations: merge, clear, serialize,
 * deserialize, is_valid, invalids.
 */
#include "doc_private.h"

#include <stdio.h>
#include <string.h>

#define CHECK_DOC(d, err)                                                                          \
    do {                                                                                           \
        if ((d) == NULL)                                                                           \
            return kvkit__error(err, KVKIT_INVALID, "", "document is NULL");                       \
    } while (0)

int kvkit_doc_merge(kvkit_doc_t *d, const json_t *object, unsigned flags, kvkit_error_t *err)
{
    CHECK_DOC(d, err);
    if (!json_is_object(object))
        return kvkit__error(err, KVKIT_INVALID, d->key, "kvkit_doc_merge: not a JSON object");
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)object, k, v)
    {
        if (json_is_null(v) && !(flags & KVKIT_MERGE_NULLS))
            continue;
        int rc = kvkit_doc_attr_set(d, k, v, err);
        if (rc != KVKIT_OK)
            return rc;
    }
    return KVKIT_OK;
}

int kvkit_doc_clear(kvkit_doc_t *d, unsigned flags, kvkit_error_t *err)
{
    CHECK_DOC(d, err);
    kvkit__doc_drop_refs(d, NULL);
    json_object_clear(d->data);
    return kvkit__doc_defaults(d, (flags & KVKIT_CLEAR_NULLS) != 0, err);
}

static bool restricted_has(const char *const *restricted, const char *name)
{
    for (; restricted && *restricted; restricted++)
        if (strcmp(*restricted, name) == 0)
            return true;
    return false;
}

int kvkit_doc_serialize(const kvkit_doc_t *d, const char *const *restricted, unsigned flags,
                        json_t **out, kvkit_error_t *err)
{
    if (out)
        *out = NULL;
    CHECK_DOC(d, err);
    if (out == NULL)
        return kvkit__error(err, KVKIT_INVALID, d->key, "kvkit_doc_serialize: out is NULL");
    json_t *o = json_object();
    if (o == NULL)
        goto nomem;
    const char *k;
    json_t *v;
    json_object_foreach(d->data, k, v)
    {
        if (restricted_has(restricted, k))
            continue;
        /* a deep copy: the caller may change the result freely */
        if (json_object_set_new(o, k, json_deep_copy(v)) != 0)
            goto nomem;
    }
    if ((flags & KVKIT_SERIALIZE_KEY) && json_object_set_new(o, "key", json_string(d->key)) != 0)
        goto nomem;
    *out = o;
    return KVKIT_OK;
nomem:
    json_decref(o);
    return kvkit__error(err, KVKIT_NOMEM, d->key, "out of memory serializing \"%s\"", d->key);
}

int kvkit_doc_deserialize(kvkit_doc_t *d, const json_t *object, kvkit_error_t *err)
{
    CHECK_DOC(d, err);
    if (!json_is_object(object))
        return kvkit__error(err, KVKIT_INVALID, d->key, "kvkit_doc_deserialize: not a JSON object");
    if (kvkit__json_depth(object, KVKIT_DOC_MAX_DEPTH) > KVKIT_DOC_MAX_DEPTH)
        return kvkit__error(err, KVKIT_INVALID, d->key, "document nested deeper than %d levels",
                            KVKIT_DOC_MAX_DEPTH);
    bool key_is_attr = kvkit__schema_find(d->schema, "key") != NULL;
    json_t *data = json_object();
    if (data == NULL)
        return kvkit__error(err, KVKIT_NOMEM, d->key, "out of memory");
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)object, k, v)
    {
        if (!key_is_attr && strcmp(k, "key") == 0 && json_is_string(v))
            continue;
        if (json_object_set_new(data, k, json_deep_copy(v)) != 0) {
            json_decref(data);
            return kvkit__error(err, KVKIT_NOMEM, d->key, "out of memory");
        }
    }
    kvkit__doc_drop_refs(d, NULL);
    json_decref(d->data);
    d->data = data;
    return KVKIT_OK;
}

int kvkit_doc_is_valid(const kvkit_doc_t *d)
{
    if (d == NULL)
        return 0;
    kvkit__vctx_t v;
    kvkit__vctx_init(&v, true, NULL);
    return kvkit__validate(d->schema, d->data, &v) == 0;
}

int kvkit_doc_invalids(const kvkit_doc_t *d, json_t **out, kvkit_error_t *err)
{
    if (out)
        *out = NULL;
    CHECK_DOC(d, err);
    if (out == NULL)
        return kvkit__error(err, KVKIT_INVALID, d->key, "kvkit_doc_invalids: out is NULL");
    json_t *paths = json_array();
    if (paths == NULL)
        return kvkit__error(err, KVKIT_NOMEM, d->key, "out of memory");
    kvkit__vctx_t v;
    kvkit__vctx_init(&v, false, paths);
    kvkit__validate(d->schema, d->data, &v);
    if (v.nomem) {
        json_decref(paths);
        return kvkit__error(err, KVKIT_NOMEM, d->key, "out of memory");
    }
    *out = paths;
    char what[KVKIT_ERROR_SUBJECT_LENGTH];
    snprintf(what, sizeof what, "%s \"%s\"", d->schema->name, d->key);
    return kvkit__vctx_report(&v, what, err);
}
