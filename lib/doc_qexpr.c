/*
 * doc_qexpr.c - compound queries (kvkit-query(7)) on a schema's documents:
 * a private copy of the query, planned against the schema's indexed
 * properties, with its values for enum properties in stored form (the
 * index of the value), run through the store layer's query iterator.
 */
#include "doc_private.h"
#include "qprivate.h"

#include <string.h>

/* The enum property a predicate compares, or NULL; KVKIT_INVALID when the
 * field is neither "$key" nor a property of the schema. */
static int pred_prop(const kvkit_schema_t *s, const qnode_t *n, const kvkit_prop_t **out,
                     kvkit_error_t *err)
{
    *out = NULL;
    if (strcmp(n->field, "$key") == 0)
        return KVKIT_OK;
    const kvkit_prop_t *p = kvkit__schema_find(s, n->field);
    if (p == NULL)
        return kvkit__error(err, KVKIT_INVALID, n->field,
                            "%s: query on \"%s\": no such property", s->name, n->field);
    if (p->kind == KVKIT_PROP_ENUM)
        *out = p;
    return KVKIT_OK;
}

/* Replace one value of a predicate on enum property p by its index. */
static int enum_value(const kvkit_schema_t *s, const kvkit_prop_t *p, qval_t *v,
                      kvkit_error_t *err)
{
    long k = kvkit__enum_index(p, v->json);
    if (k < 0)
        return kvkit__error(err, KVKIT_INVALID, p->name,
                            "%s: query on \"%s\": not one of the enum values", s->name, p->name);
    json_t *ix = json_integer(k);
    if (ix == NULL)
        return kvkit__error(err, KVKIT_NOMEM, p->name, "out of memory");
    json_decref(v->json);
    kvkit__free(v->buf);
    v->buf = NULL;
    return kvkit__qval_set(v, ix, err);
}

/* Check every field of the tree and put enum values in stored form. */
static int to_stored(const kvkit_schema_t *s, qnode_t *n, kvkit_error_t *err)
{
    for (size_t i = 0; i < n->n_kids; i++) {
        int rc = to_stored(s, n->kids[i], err);
        if (rc != KVKIT_OK)
            return rc;
    }
    if (n->kind != QN_PRED)
        return KVKIT_OK;
    const kvkit_prop_t *p;
    int rc = pred_prop(s, n, &p, err);
    if (rc != KVKIT_OK || p == NULL)
        return rc;
    if (n->op == QP_PREFIX)
        return kvkit__error(err, KVKIT_INVALID, p->name,
                            "%s: query on \"%s\": an enum is stored as the index of its value, "
                            "so \"starts with\" cannot apply; use = or in",
                            s->name, p->name);
    for (size_t i = 0; i < n->n_vals && rc == KVKIT_OK; i++)
        rc = enum_value(s, p, &n->vals[i], err);
    return rc;
}

/* Tell the copy which fields have an index: the schema's indexed properties. */
static int set_indexed(const kvkit_schema_t *s, kvkit_qexpr_t *q, kvkit_error_t *err)
{
    const char **names = kvkit__calloc(s->n_props ? s->n_props : 1, sizeof *names);
    if (names == NULL)
        return kvkit__error(err, KVKIT_NOMEM, s->name, "out of memory");
    size_t n = 0;
    for (size_t i = 0; i < s->n_props; i++)
        if (s->props[i]->flags & KVKIT_PROP_INDEX)
            names[n++] = s->props[i]->name;
    int rc = kvkit_query_set_indexed(q, names, n, err);
    kvkit__free(names);
    return rc;
}

int kvkit__qexpr_for_schema(const kvkit_schema_t *s, const kvkit_qexpr_t *q,
                            kvkit_qexpr_t **out, kvkit_error_t *err)
{
    *out = NULL;
    if (q == NULL)
        return kvkit__error(err, KVKIT_INVALID, s->name, "%s: the query is NULL", s->name);
    kvkit_qexpr_t *copy = NULL;
    int rc = kvkit_query_parse(kvkit_query_text(q), &copy, err);
    if (rc == KVKIT_OK)
        rc = to_stored(s, copy->root, err);
    if (rc == KVKIT_OK && copy->order != NULL) {
        qnode_t order = {.kind = QN_PRED, .field = copy->order};
        const kvkit_prop_t *p;
        rc = pred_prop(s, &order, &p, err); /* an unknown order field too */
    }
    if (rc == KVKIT_OK)
        rc = set_indexed(s, copy, err);
    if (rc != KVKIT_OK) {
        kvkit_query_free(copy);
        return rc;
    }
    *out = copy;
    return KVKIT_OK;
}
