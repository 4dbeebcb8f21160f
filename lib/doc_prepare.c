/*
 * doc_value.c - values against a schema: validation with field paths,
 * JSON form <-> stored form conversion, index entries, nesting depth.
 */
#include "doc_private.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

/*** nesting depth ***/

size_t kvkit__json_depth(const json_t *v, size_t limit)
{
    size_t max = 0;
    if (json_is_object(v)) {
        const char *k;
        json_t *m;
        if (limit == 0)
            return 1;
        json_object_foreach((json_t *)v, k, m)
        {
            if (!json_is_object(m) && !json_is_array(m))
                continue;
            size_t d = kvkit__json_depth(m, limit - 1);
            if (d > max && (max = d) >= limit)
                break;
        }
        return max + 1;
    }
    if (json_is_array(v)) {
        size_t i;
        json_t *m;
        if (limit == 0)
            return 1;
        json_array_foreach(v, i, m)
        {
            if (!json_is_object(m) && !json_is_array(m))
                continue;
            size_t d = kvkit__json_depth(m, limit - 1);
            if (d > max && (max = d) >= limit)
                break;
        }
        return max + 1;
    }
    return 0;
}

/*** validation context ***/

void kvkit__vctx_init(kvkit__vctx_t *v, bool stop_first, json_t *paths)
{
    v->depth = v->msg_len = v->n_fail = 0;
    v->msg[0] = v->first[0] = '\0';
    v->stop_first = stop_first;
    v->nomem = false;
    v->paths = paths;
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

/*** validation ***/

static bool is_integral(const json_t *value)
{
    if (json_is_integer(value))
        return true;
    if (!json_is_real(value))
        return false;
    double d = json_real_value(value);
    return isfinite(d) && d == trunc(d) && fabs(d) < 9.3e18;
}

static void validate_value(const kvkit_prop_t *p, const json_t *value, kvkit__vctx_t *v,
                           unsigned depth);

static void validate_embedded(const kvkit_prop_t *p, const json_t *value, kvkit__vctx_t *v)
{
    if (p->target == NULL) {
        vfail(v, "property has no target schema");
        return;
    }
    kvkit__validate(p->target, value, v);
}

static void validate_value(const kvkit_prop_t *p, const json_t *value, kvkit__vctx_t *v,
                           unsigned depth)
{
    const char *want = NULL;
    switch (p->kind) {
    case KVKIT_PROP_STRING:
        if (!json_is_string(value))
            want = "a string";
        break;
    case KVKIT_PROP_NUMBER:
        if (!json_is_number(value))
            want = "a number";
        break;
    case KVKIT_PROP_INTEGER:
        if (!is_integral(value))
            want = "an integer";
        break;
    case KVKIT_PROP_BOOLEAN:
        if (!json_is_boolean(value))
            want = "a boolean";
        break;
    case KVKIT_PROP_DICT:
        if (!json_is_object(value))
            want = "an object";
        break;
    case KVKIT_PROP_LIST:
        if (!json_is_array(value))
            want = "an array";
        break;
    case KVKIT_PROP_EMBEDDED:
        if (!json_is_object(value))
            want = "an object";
        else
            validate_embedded(p, value, v);
        break;
    case KVKIT_PROP_EMBEDDED_LIST:
        if (!json_is_array(value)) {
            want = "an array of objects";
            break;
        }
        for (size_t i = 0; i < json_array_size(value) && !vstop(v); i++) {
            const json_t *item = json_array_get(value, i);
            size_t saved = vpush_index(v, i);
            if (!json_is_object(item))
                vfail(v, "expected an object");
            else
                validate_embedded(p, item, v);
            vpop(v, saved);
        }
        break;
    case KVKIT_PROP_REFERENCE:
        if (!json_is_string(value) || json_string_length(value) == 0 ||
            json_string_length(value) > KVKIT_KEY_MAX)
            want = "a document key";
        break;
    case KVKIT_PROP_ENUM:
        if (kvkit__enum_index(p, value) < 0) {
            vfail(v, "not one of the enum values");
            return;
        }
        break;
    case KVKIT_PROP_DATETIME:
        if (!json_is_number(value))
            want = "epoch seconds (a number)";
        break;
    case KVKIT_PROP_PASSWORD:
        if (!json_is_string(value) || json_string_value(value)[0] != '$')
            want = "a password hash";
        break;
    case KVKIT_PROP_GENERIC:
        break;
    }
    if (want != NULL) {
        vfail(v, "expected %s", want);
        return;
    }
    (void)depth;
    for (size_t i = 0; i < p->n_validators && !vstop(v); i++)
        if (!p->validators[i].fn(p->validators[i].ctx, value))
            vfail(v, "failed validator \"%s\"", p->validators[i].name);
}

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
    for (size_t i = 0; i < s->n_props && !vstop(v); i++) {
        const kvkit_prop_t *p = s->props[i];
        const json_t *value = json_object_get(object, p->name);
        size_t saved = vpush_name(v, p->name);
        if (value == NULL || json_is_null(value)) {
            if (p->flags & KVKIT_PROP_REQUIRED)
                vfail(v, "required");
        } else {
            validate_value(p, value, v, 0);
        }
        vpop(v, saved);
    }
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

/*** parsing ***/

static bool parse_nomem(const json_error_t *jerr)
{
    /* the text first: the code byte is unset when the lexer never started */
    return jerr->text[0] == '\0' || json_error_code(jerr) == json_error_out_of_memory;
}

json_t *kvkit__json_parse(const char *text, size_t len, json_error_t *jerr, bool *nomem)
{
    *nomem = false;
    jerr->text[0] = '\0';
    json_t *v = json_loadb(text, len, JSON_REJECT_DUPLICATES, jerr);
    if (v != NULL)
        return v;
    if (parse_nomem(jerr)) {
        *nomem = true;
        return NULL;
    }
    json_error_t again;
    again.text[0] = '\0';
    v = json_loadb(text, len, JSON_REJECT_DUPLICATES, &again);
    if (v == NULL)
        *nomem = parse_nomem(&again) || again.position != jerr->position ||
                 strcmp(again.text, jerr->text) != 0;
    return v;
}

/*** JSON form <-> stored form ***/

/* A shallow copy of an object or array, or NULL when out of memory.
 * jansson's json_copy is not used: when an allocation fails it returns the
 * container with members missing. */
json_t *kvkit__json_copy(json_t *v)
{
    json_t *copy;
    if (json_is_object(v)) {
        const char *k;
        json_t *m;
        if ((copy = json_object()) == NULL)
            return NULL;
        json_object_foreach(v, k, m)
        {
            if (json_object_set_nocheck(copy, k, m) != 0) {
                json_decref(copy);
                return NULL;
            }
        }
        return copy;
    }
    if (json_is_array(v)) {
        size_t i;
        json_t *m;
        if ((copy = json_array()) == NULL)
            return NULL;
        json_array_foreach(v, i, m)
        {
            if (json_array_append(copy, m) != 0) {
                json_decref(copy);
                return NULL;
            }
        }
        return copy;
    }
    return json_copy(v); /* scalars: NULL on failure, never partial */
}

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

/*** index entries ***/

int kvkit__index_entries(const kvkit_schema_t *s, const json_t *object, bool db,
                         kvkit_index_set_t *set, kvkit_error_t *err)
{
    for (size_t i = 0; i < s->n_props; i++) {
        const kvkit_prop_t *p = s->props[i];
        if (!(p->flags & KVKIT_PROP_INDEX))
            continue;
        json_t *value = json_object_get(object, p->name);
        if (value == NULL || json_is_null(value))
            continue;
        int rc;
        if (p->kind == KVKIT_PROP_ENUM && !db) {
            long k = kvkit__enum_index(p, value);
            if (k < 0)
                return kvkit__error(err, KVKIT_INVALID, p->name,
                                    "\"%s\": not one of the enum values", p->name);
            json_t *ix = json_integer(k);
            if (ix == NULL)
                return kvkit__error(err, KVKIT_NOMEM, p->name, "out of memory");
            rc = kvkit_index_set_add(set, p->name, ix, err);
            json_decref(ix);
        } else {
            rc = kvkit_index_set_add(set, p->name, value, err);
        }
        if (rc != KVKIT_OK)
            return rc;
    }
    return KVKIT_OK;
}

int kvkit_schema_index_set(const kvkit_schema_t *s, const json_t *object, kvkit_index_set_t *set,
                           kvkit_error_t *err)
{
    if (s == NULL || !json_is_object(object) || set == NULL)
        return kvkit__error(err, KVKIT_INVALID, "",
                            "kvkit_schema_index_set: needs a schema, "
                            "an object and a set");
    return kvkit__index_entries(s, object, false, set, err);
}

int kvkit_schema_prepare(const kvkit_schema_t *s, const json_t *object, json_t **db_out,
                         kvkit_index_set_t *set, kvkit_error_t *err)
{
    if (db_out)
        *db_out = NULL;
    if (s == NULL || object == NULL || db_out == NULL || set == NULL)
        return kvkit__error(err, KVKIT_INVALID, "", "kvkit_schema_prepare: NULL argument");
    int rc = kvkit_schema_validate(s, object, err);
    if (rc != KVKIT_OK)
        return rc;
    json_t *db;
    if ((rc = kvkit__to_db(s, (json_t *)object, &db, err)) != KVKIT_OK)
        return rc;
    kvkit_index_set_clear(set);
    if ((rc = kvkit__index_entries(s, db, true, set, err)) != KVKIT_OK) {
        json_decref(db);
        return rc;
    }
    *db_out = db;
    return KVKIT_OK;
}
