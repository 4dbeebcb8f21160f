/*
 * doc_convert.c - JSON form <-> stored form: enum values become their
 * indexes (and back), recursively through embedded documents; the rest is
 * stored as it is.
 */
#include "doc_private.h"

static int conv_value(const kvkit_prop_t *p, json_t *value, bool to_db, json_t **out,
                      kvkit_error_t *err);

static int conv_object(const kvkit_schema_t *s, json_t *object, bool to_db, json_t **out,
                       kvkit_error_t *err);

/* *out: NULL when the value is unchanged, else a new reference. */
static int conv_value(const kvkit_prop_t *p, json_t *value, bool to_db, json_t **out,
                      kvkit_error_t *err)
{
    *out = NULL;
    switch (p->kind) {
    case KVKIT_PROP_ENUM:
        if (to_db) {
            long i = kvkit__enum_index(p, value);
            if (i < 0)
                return KVKIT_OK; /* left as is: validation reports it */
            *out = json_integer(i);
        } else {
            if (!json_is_integer(value) || json_integer_value(value) < 0 ||
                (size_t)json_integer_value(value) >= json_array_size(p->values))
                return kvkit__error(
                    err, KVKIT_CORRUPT, p->name, "enum \"%s\" holds %s, not an index of its values",
                    p->name, json_is_integer(value) ? "an out-of-range number" : "a non-integer");
            /* copied: the schema's values are shared between threads */
            *out = kvkit__json_copy(json_array_get(p->values, (size_t)json_integer_value(value)));
        }
        break;
    case KVKIT_PROP_EMBEDDED:
        if (p->target == NULL || !json_is_object(value))
            return KVKIT_OK;
        return conv_object(p->target, value, to_db, out, err);
    case KVKIT_PROP_EMBEDDED_LIST: {
        if (p->target == NULL || !json_is_array(value))
            return KVKIT_OK;
        json_t *copy = NULL;
        for (size_t i = 0; i < json_array_size(value); i++) {
            json_t *item = json_array_get(value, i), *conv;
            if (!json_is_object(item))
                continue;
            int rc = conv_object(p->target, item, to_db, &conv, err);
            if (rc != KVKIT_OK) {
                json_decref(copy);
                return rc;
            }
            if (conv == NULL)
                continue;
            if (copy == NULL && (copy = kvkit__json_copy(value)) == NULL) {
                json_decref(conv);
                return kvkit__error(err, KVKIT_NOMEM, "", "out of memory converting a document");
            }
            json_array_set_new(copy, i, conv);
        }
        *out = copy;
        return KVKIT_OK;
    }
    default:
        return KVKIT_OK;
    }
    if (*out == NULL)
        return kvkit__error(err, KVKIT_NOMEM, "", "out of memory converting a document");
    return KVKIT_OK;
}

/* *out: NULL when nothing changed, else a converted shallow copy. */
static int conv_object(const kvkit_schema_t *s, json_t *object, bool to_db, json_t **out,
                       kvkit_error_t *err)
{
    *out = NULL;
    json_t *copy = NULL;
    for (size_t i = 0; i < s->n_props; i++) {
        const kvkit_prop_t *p = s->props[i];
        if (p->kind != KVKIT_PROP_ENUM && p->kind != KVKIT_PROP_EMBEDDED &&
            p->kind != KVKIT_PROP_EMBEDDED_LIST)
            continue;
        json_t *value = json_object_get(object, p->name), *conv;
        if (value == NULL || json_is_null(value))
            continue;
        int rc = conv_value(p, value, to_db, &conv, err);
        if (rc != KVKIT_OK) {
            json_decref(copy);
            return rc;
        }
        if (conv == NULL)
            continue;
        if (copy == NULL && (copy = kvkit__json_copy(object)) == NULL) {
            json_decref(conv);
            return kvkit__error(err, KVKIT_NOMEM, "", "out of memory converting a document");
        }
        if (json_object_set_new(copy, p->name, conv) != 0) {
            json_decref(copy);
            return kvkit__error(err, KVKIT_NOMEM, "", "out of memory converting a document");
        }
    }
    *out = copy;
    return KVKIT_OK;
}

int kvkit__to_db(const kvkit_schema_t *s, json_t *object, json_t **out, kvkit_error_t *err)
{
    int rc = conv_object(s, object, true, out, err);
    if (rc == KVKIT_OK && *out == NULL)
        *out = json_incref(object);
    return rc;
}

int kvkit__from_db(const kvkit_schema_t *s, json_t *object, kvkit_error_t *err)
{
    if (kvkit__json_depth(object, KVKIT_DOC_MAX_DEPTH) > KVKIT_DOC_MAX_DEPTH)
        return kvkit__error(err, KVKIT_CORRUPT, "", "nested deeper than %d levels",
                            KVKIT_DOC_MAX_DEPTH);
    json_t *conv;
    int rc = conv_object(s, object, false, &conv, err);
    if (rc != KVKIT_OK || conv == NULL)
        return rc;
    /* copy the converted members back: the caller owns `object` */
    int failed = json_object_update(object, conv);
    json_decref(conv);
    if (failed)
        return kvkit__error(err, KVKIT_NOMEM, "", "out of memory converting a document");
    return KVKIT_OK;
}

int kvkit_schema_to_db(const kvkit_schema_t *s, const json_t *object, json_t **out,
                       kvkit_error_t *err)
{
    if (out)
        *out = NULL;
    if (s == NULL || !json_is_object(object) || out == NULL)
        return kvkit__error(err, KVKIT_INVALID, "",
                            "kvkit_schema_to_db: needs a schema and an "
                            "object");
    return kvkit__to_db(s, (json_t *)object, out, err);
}

int kvkit_schema_from_db(const kvkit_schema_t *s, const json_t *object, json_t **out,
                         kvkit_error_t *err)
{
    if (out)
        *out = NULL;
    if (s == NULL || !json_is_object(object) || out == NULL)
        return kvkit__error(err, KVKIT_INVALID, "",
                            "kvkit_schema_from_db: needs a schema and "
                            "an object");
    json_t *copy = kvkit__json_copy((json_t *)object);
    if (copy == NULL)
        return kvkit__error(err, KVKIT_NOMEM, s->name, "out of memory");
    kvkit_error_t lower;
    lower.code = KVKIT_OK;
    int rc = kvkit__from_db(s, copy, &lower);
    if (rc != KVKIT_OK) {
        kvkit__error(err, rc, lower.subject, "schema \"%s\": %s", s->name, lower.text);
        json_decref(copy);
        return rc;
    }
    *out = copy;
    return KVKIT_OK;
}
