/*
 * doc_validate.c - a JSON-form object against its schema: every failing
 * field named by its path ("items[2].qty"), the nesting limit, strict
 * schemas' undeclared attributes, property validators.
 */
#include "doc_private.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/*** validation context ***/

void kvkit__vctx_init(kvkit__vctx_t *v, bool stop_first, json_t *paths)
{
    v->depth = v->msg_len = v->n_fail = 0;
    v->msg[0] = v->first[0] = '\0';
    v->stop_first = stop_first;
    v->nomem = false;
    v->paths = paths;
    v->values = NULL;
}

static bool vstop(const kvkit__vctx_t *v)
{
    return v->stop_first && v->n_fail > 0;
}

/* The current path as text ("items[2].qty"), truncated to fit. */
static void vpath(const kvkit__vctx_t *v, char *out, size_t size)
{
    size_t len = 0;
    size_t n = v->depth < KVKIT__VPATH_SEGMENTS ? v->depth : KVKIT__VPATH_SEGMENTS;
    out[0] = '\0';
    for (size_t i = 0; i < n && len + 1 < size; i++) {
        int w;
        if (v->seg[i].name != NULL)
            w = snprintf(out + len, size - len, "%s%s", i ? "." : "", v->seg[i].name);
        else
            w = snprintf(out + len, size - len, "[%zu]", v->seg[i].index);
        if (w < 0)
            break;
        len = len + (size_t)w < size ? len + (size_t)w : size - 1;
    }
}

/* Record a failure at the current path. */
static void vfail(kvkit__vctx_t *v, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void vfail(kvkit__vctx_t *v, const char *fmt, ...)
{
    char path[256];
    vpath(v, path, sizeof path);
    v->n_fail++;
    if (v->n_fail == 1)
        snprintf(v->first, sizeof v->first, "%.*s", (int)sizeof v->first - 1, path);
    if (v->paths != NULL && json_array_append_new(v->paths, json_string(path)) != 0)
        v->nomem = true;
    size_t room = sizeof v->msg - v->msg_len;
    if (room <= 1)
        return;
    char reason[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(reason, sizeof reason, fmt, ap);
    va_end(ap);
    int n = snprintf(v->msg + v->msg_len, room, "%s\"%s\": %s", v->n_fail > 1 ? "; " : "", path,
                     reason);
    if (n < 0 || (size_t)n >= room) {
        /* truncated: end with an ellipsis so the cut is visible */
        memcpy(v->msg + sizeof v->msg - 4, "...", 4);
        v->msg_len = sizeof v->msg - 1;
    } else {
        v->msg_len += (size_t)n;
    }
}

/* Push a segment; returns the depth to restore with vpop. */
static size_t vpush_name(kvkit__vctx_t *v, const char *name)
{
    if (v->depth < KVKIT__VPATH_SEGMENTS)
        v->seg[v->depth] = (kvkit__vseg_t){name, 0};
    return v->depth++;
}

static size_t vpush_index(kvkit__vctx_t *v, size_t i)
{
    if (v->depth < KVKIT__VPATH_SEGMENTS)
        v->seg[v->depth] = (kvkit__vseg_t){NULL, i};
    return v->depth++;
}

static void vpop(kvkit__vctx_t *v, size_t saved)
{
    v->depth = saved;
}

int kvkit__vctx_report(const kvkit__vctx_t *v, const char *what, kvkit_error_t *err)
{
    if (v->nomem)
        return kvkit__error(err, KVKIT_NOMEM, what, "out of memory validating %s", what);
    if (v->n_fail == 0)
        return KVKIT_OK;
    char text[KVKIT_ERROR_TEXT_LENGTH];
    int n = snprintf(text, sizeof text, "%s: validation failed: %s", what, v->msg);
    if (n < 0 || (size_t)n >= sizeof text)
        memcpy(text + sizeof text - 4, "...", 4); /* make the cut visible */
    return kvkit__error(err, KVKIT_VALIDATION, v->first, "%s", text);
}

/*** values ***/

static bool is_integral(const json_t *value)
{
    if (json_is_integer(value))
        return true;
    if (!json_is_real(value))
        return false;
    double d = json_real_value(value);
    return isfinite(d) && d == trunc(d) && fabs(d) < 9.3e18;
}

/* What a value of the property's kind must be, when `value` is not one;
 * NULL when it is (enum membership and embedded documents are checked by
 * validate_value). */
static const char *kind_mismatch(const kvkit_prop_t *p, const json_t *value)
{
    switch (p->kind) {
    case KVKIT_PROP_STRING:
        return json_is_string(value) ? NULL : "a string";
    case KVKIT_PROP_NUMBER:
        return json_is_number(value) ? NULL : "a number";
    case KVKIT_PROP_INTEGER:
        return is_integral(value) ? NULL : "an integer";
    case KVKIT_PROP_BOOLEAN:
        return json_is_boolean(value) ? NULL : "a boolean";
    case KVKIT_PROP_DICT:
    case KVKIT_PROP_EMBEDDED:
        return json_is_object(value) ? NULL : "an object";
    case KVKIT_PROP_LIST:
        return json_is_array(value) ? NULL : "an array";
    case KVKIT_PROP_EMBEDDED_LIST:
        return json_is_array(value) ? NULL : "an array of objects";
    case KVKIT_PROP_REFERENCE:
        return json_is_string(value) && json_string_length(value) > 0 &&
                       json_string_length(value) <= KVKIT_KEY_MAX
                   ? NULL
                   : "a document key";
    case KVKIT_PROP_DATETIME:
        return json_is_number(value) ? NULL : "epoch seconds (a number)";
    case KVKIT_PROP_PASSWORD:
        return json_is_string(value) && json_string_value(value)[0] == '$' ? NULL
                                                                           : "a password hash";
    case KVKIT_PROP_ENUM:
    case KVKIT_PROP_GENERIC:
        return NULL;
    }
    return NULL;
}

static void validate_embedded(const kvkit_prop_t *p, const json_t *value, kvkit__vctx_t *v)
{
    if (p->target == NULL) {
        vfail(v, "property has no target schema");
        return;
    }
    kvkit__validate(p->target, value, v);
}

static void validate_items(const kvkit_prop_t *p, const json_t *value, kvkit__vctx_t *v)
{
    for (size_t i = 0; i < json_array_size(value) && !vstop(v); i++) {
        const json_t *item = json_array_get(value, i);
        size_t saved = vpush_index(v, i);
        if (!json_is_object(item))
            vfail(v, "expected an object");
        else
            validate_embedded(p, item, v);
        vpop(v, saved);
    }
}

static void validate_value(const kvkit_prop_t *p, const json_t *value, kvkit__vctx_t *v)
{
    const char *want = kind_mismatch(p, value);
    if (want != NULL) {
        vfail(v, "expected %s", want);
        return;
    }
    if (p->kind == KVKIT_PROP_ENUM && kvkit__enum_index(p, value) < 0) {
        vfail(v, "not one of the enum values");
        return;
    }
    if (p->kind == KVKIT_PROP_EMBEDDED)
        validate_embedded(p, value, v);
    else if (p->kind == KVKIT_PROP_EMBEDDED_LIST)
        validate_items(p, value, v);
    for (size_t i = 0; i < p->n_validators && !vstop(v); i++)
        if (!p->validators[i].fn(p->validators[i].ctx, value))
            vfail(v, "failed validator \"%s\"", p->validators[i].name);
}

/*** objects ***/

size_t kvkit__validate(const kvkit_schema_t *s, const json_t *object, kvkit__vctx_t *v)
{
    size_t before = v->n_fail;
    if (!json_is_object(object)) {
        vfail(v, "expected an object");
        return v->n_fail - before;
    }
    /* Nesting first, and nothing else when it is too deep: validating a
     * self-embedding schema recurses as deep as the data. */
    if (v->depth == 0) {
        const char *k;
        json_t *m;
        json_object_foreach((json_t *)object, k, m)
        {
            if (!json_is_object(m) && !json_is_array(m))
                continue;
            if (kvkit__json_depth(m, KVKIT_DOC_MAX_DEPTH) + 1 > KVKIT_DOC_MAX_DEPTH) {
                size_t saved = vpush_name(v, k);
                vfail(v, "nested deeper than %d levels", KVKIT_DOC_MAX_DEPTH);
                vpop(v, saved);
                if (vstop(v))
                    break;
            }
        }
        if (v->n_fail > before)
            return v->n_fail - before;
    }
    const json_t **values = v->values;
    v->values = NULL; /* not the members of embedded documents */
    for (size_t i = 0; i < s->n_props && !vstop(v); i++) {
        const kvkit_prop_t *p = s->props[i];
        const json_t *value = json_object_get(object, p->name);
        if (values != NULL)
            values[i] = value;
        size_t saved = vpush_name(v, p->name);
        if (value == NULL || json_is_null(value)) {
            if (p->flags & KVKIT_PROP_REQUIRED)
                vfail(v, "required");
        } else {
            validate_value(p, value, v);
        }
        vpop(v, saved);
    }
    v->values = values;
    if (vstop(v))
        return v->n_fail - before;
    /* undeclared attributes: refused by strict schemas */
    if (s->strict) {
        char extra[256];
        size_t elen = 0;
        size_t n_extra = 0;
        const char *k;
        json_t *m;
        json_object_foreach((json_t *)object, k, m)
        {
            if (!s->strict || kvkit__schema_find(s, k) != NULL)
                continue;
            n_extra++;
            if (elen < sizeof extra) {
                int n = snprintf(extra + elen, sizeof extra - elen, "%s\"%s\"",
                                 n_extra > 1 ? ", " : "", k);
                elen = n < 0 ? sizeof extra : elen + (size_t)n;
            }
        }
        if (n_extra > 0) {
            size_t saved = vpush_name(v, "_extra_props");
            vfail(v, "undeclared %s %s", n_extra > 1 ? "attributes" : "attribute", extra);
            vpop(v, saved);
        }
    }
    return v->n_fail - before;
}

int kvkit_schema_validate(const kvkit_schema_t *s, const json_t *object, kvkit_error_t *err)
{
    if (s == NULL || object == NULL)
        return kvkit__error(err, KVKIT_INVALID, "", "kvkit_schema_validate: NULL argument");
    kvkit__vctx_t v;
    kvkit__vctx_init(&v, false, NULL);
    kvkit__validate(s, object, &v);
    char what[KVKIT_ERROR_SUBJECT_LENGTH];
    snprintf(what, sizeof what, "schema \"%s\"", s->name);
    return kvkit__vctx_report(&v, what, err);
}
