/*
 * qeval.c - whether one document matches an expression, by the semantics
 * of kvkit-query(7): a document's values for a field are what the index
 * holds for it (its top-level member: a number or a string, or each number
 * and string of an array); `F op V` matches when one of them has V's class
 * and satisfies op in index order.  Also the order-by key of a document.
 *
 * Numbers compare through their sortable encoding, so integers and reals
 * (and integers beyond 2^53) order exactly as the index orders them.
 */
#include "qprivate.h"

#include <math.h>
#include <string.h>

/* One value of a document: its class and the bytes to compare. */
typedef struct dval {
    bool string;
    const unsigned char *bytes; /* string: its bytes; number: sortable form */
    size_t len;
    unsigned char num[KVKIT_SORTABLE_NUMBER_LEN];
} dval_t;

static bool dval_of(const json_t *v, dval_t *out)
{
    if (json_is_string(v)) {
        out->string = true;
        out->bytes = (const unsigned char *)json_string_value(v);
        out->len = json_string_length(v);
        return true;
    }
    out->string = false;
    out->bytes = out->num;
    if (json_is_integer(v))
        out->len = kvkit_sortable_integer(out->num, json_integer_value(v));
    else if (json_is_real(v) && isfinite(json_real_value(v)))
        out->len = kvkit_sortable_real(out->num, json_real_value(v));
    else
        return false;
    return true;
}

/* The query value's bytes in the same form as dval_of's. */
static int cmp_value(const dval_t *d, const qval_t *v)
{
    if (d->string)
        return kvkit_sortable_cmp(d->bytes, d->len, (const unsigned char *)v->iv.string,
                                  v->iv.string_len);
    return kvkit_sortable_cmp(d->bytes, d->len, v->iv.sortable, v->iv.sortable_len);
}

static bool op_match(const qnode_t *n, const dval_t *d)
{
    if (n->op == QP_HAS_ANY)
        return true;
    if (n->op == QP_HAS_NUMBER)
        return !d->string;
    for (size_t i = 0; i < n->n_vals; i++) {
        const qval_t *v = &n->vals[i];
        if (d->string != (v->iv.kind == KVKIT_INDEX_STRING))
            continue;
        if (n->op == QP_PREFIX) {
            if (d->len >= v->iv.string_len && memcmp(d->bytes, v->iv.string, v->iv.string_len) == 0)
                return true;
            continue;
        }
        int c = cmp_value(d, v);
        switch (n->op) {
        case QP_EQ:
        case QP_NE: /* the caller negates */
        case QP_IN:
            if (c == 0)
                return true;
            break;
        case QP_LT:
            return c < 0;
        case QP_LE:
            return c <= 0;
        case QP_GT:
            return c > 0;
        case QP_GE:
            return c >= 0;
        default:
            break;
        }
    }
    return false;
}

/* Whether one of the field's values satisfies the predicate (for !=, =). */
static bool pred_any(const qnode_t *n, const char *key, size_t key_len, const json_t *doc)
{
    dval_t d;
    if (strcmp(n->field, "$key") == 0) {
        d.string = true;
        d.bytes = (const unsigned char *)key;
        d.len = key_len;
        return op_match(n, &d);
    }
    const json_t *v = json_is_object(doc) ? json_object_get(doc, n->field) : NULL;
    if (json_is_array(v)) {
        for (size_t i = 0; i < json_array_size(v); i++)
            if (dval_of(json_array_get(v, i), &d) && op_match(n, &d))
                return true;
        return false;
    }
    return v != NULL && dval_of(v, &d) && op_match(n, &d);
}

bool kvkit__qeval(const qnode_t *n, const char *key, size_t key_len, const json_t *doc)
{
    switch (n->kind) {
    case QN_AND:
        for (size_t i = 0; i < n->n_kids; i++)
            if (!kvkit__qeval(n->kids[i], key, key_len, doc))
                return false;
        return true;
    case QN_OR:
        for (size_t i = 0; i < n->n_kids; i++)
            if (kvkit__qeval(n->kids[i], key, key_len, doc))
                return true;
        return false;
    case QN_NOT:
        return !kvkit__qeval(n->kids[0], key, key_len, doc);
    case QN_PRED:
        return (n->op == QP_NE) != pred_any(n, key, key_len, doc);
    }
    return false;
}

/*** order by ***/

/* Sortable bytes of one value into a fresh buffer (NULL: out of memory). */
static unsigned char *sortable_of(const dval_t *d, size_t *len)
{
    size_t cap = d->string ? KVKIT_SORTABLE_STRING_MAX(d->len) : d->len;
    unsigned char *b = kvkit__malloc(cap ? cap : 1);
    if (b == NULL)
        return NULL;
    if (d->string)
        *len = kvkit_sortable_string(b, (const char *)d->bytes, d->len);
    else
        memcpy(b, d->bytes, *len = d->len);
    return b;
}

/* Whether a is before b in index order (numbers first, then strings). */
static bool dval_less(const dval_t *a, const dval_t *b)
{
    if (a->string != b->string)
        return !a->string;
    return kvkit_sortable_cmp(a->bytes, a->len, b->bytes, b->len) < 0;
}

int kvkit__qsortkey(const json_t *doc, const char *key, size_t key_len, const char *field,
                    unsigned char **out, size_t *out_len)
{
    dval_t best, d;
    bool found = false;
    if (strcmp(field, "$key") == 0) {
        best.string = true;
        best.bytes = (const unsigned char *)key;
        best.len = key_len;
        found = true;
    } else {
        const json_t *v = json_is_object(doc) ? json_object_get(doc, field) : NULL;
        size_t n = json_is_array(v) ? json_array_size(v) : v != NULL;
        for (size_t i = 0; i < n; i++) {
            if (!dval_of(json_is_array(v) ? json_array_get(v, i) : v, &d))
                continue;
            if (!found || dval_less(&d, &best)) {
                best = d;
                if (!best.string)
                    best.bytes = best.num; /* the copy's own buffer */
                found = true;
            }
        }
    }
    if (!found)
        return 0;
    return (*out = sortable_of(&best, out_len)) != NULL ? 1 : -1;
}
