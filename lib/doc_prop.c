/*
 * doc_prop.c - properties: kinds, options (defaults, validators, targets,
 * enum values).  Password hashing is doc_password.c's.
 */
#include "doc_private.h"

#include <string.h>

/*** kinds ***/

static const char *const kind_names[] = {
    [KVKIT_PROP_STRING] = "string",       [KVKIT_PROP_NUMBER] = "number",
    [KVKIT_PROP_INTEGER] = "integer",     [KVKIT_PROP_BOOLEAN] = "boolean",
    [KVKIT_PROP_DICT] = "dict",           [KVKIT_PROP_LIST] = "list",
    [KVKIT_PROP_EMBEDDED] = "embedded",   [KVKIT_PROP_EMBEDDED_LIST] = "embedded_list",
    [KVKIT_PROP_REFERENCE] = "reference", [KVKIT_PROP_ENUM] = "enum",
    [KVKIT_PROP_DATETIME] = "datetime",   [KVKIT_PROP_PASSWORD] = "password",
    [KVKIT_PROP_GENERIC] = "generic",
};

const char *kvkit_prop_kind_name(kvkit_prop_kind_t kind)
{
    if ((int)kind <= 0 || (size_t)kind >= sizeof kind_names / sizeof kind_names[0])
        return NULL;
    return kind_names[kind];
}

bool kvkit__kind_indexable(kvkit_prop_kind_t kind)
{
    switch (kind) {
    case KVKIT_PROP_STRING:
    case KVKIT_PROP_NUMBER:
    case KVKIT_PROP_INTEGER:
    case KVKIT_PROP_LIST:
    case KVKIT_PROP_REFERENCE:
    case KVKIT_PROP_ENUM:
    case KVKIT_PROP_DATETIME:
        return true;
    default:
        return false;
    }
}

/*** lifecycle and accessors ***/

void kvkit__prop_free(kvkit_prop_t *p)
{
    if (p == NULL)
        return;
    for (size_t i = 0; i < p->n_validators; i++)
        kvkit__free(p->validators[i].name);
    kvkit__free(p->validators);
    json_decref(p->def);
    json_decref(p->values);
    kvkit__free(p->prefix);
    kvkit__free(p->name);
    kvkit__free(p);
}

const char *kvkit_prop_name(const kvkit_prop_t *p)
{
    return p ? p->name : NULL;
}

kvkit_prop_kind_t kvkit_prop_kind(const kvkit_prop_t *p)
{
    return p ? p->kind : (kvkit_prop_kind_t)0;
}

unsigned kvkit_prop_flags(const kvkit_prop_t *p)
{
    return p ? p->flags : 0;
}

const kvkit_schema_t *kvkit_prop_target(const kvkit_prop_t *p)
{
    return p ? p->target : NULL;
}

int kvkit_prop_set_flags(kvkit_prop_t *p, unsigned flags, kvkit_error_t *err)
{
    CHECK_PROP(p, err);
    if ((flags & KVKIT_PROP_INDEX) && !kvkit__kind_indexable(p->kind))
        return kvkit__error(err, KVKIT_INVALID, p->name,
                            "property \"%s\": a %s property cannot be indexed", p->name,
                            kvkit_prop_kind_name(p->kind));
    p->flags = flags;
    return KVKIT_OK;
}

/*** defaults ***/

int kvkit_prop_set_default(kvkit_prop_t *p, const json_t *value, kvkit_error_t *err)
{
    CHECK_PROP(p, err);
    json_t *copy = NULL;
    if (value != NULL && (copy = json_deep_copy(value)) == NULL)
        return kvkit__error(err, KVKIT_NOMEM, p->name, "out of memory copying default of \"%s\"",
                            p->name);
    json_decref(p->def);
    p->def = copy;
    p->def_fn = NULL;
    p->def_ctx = NULL;
    return KVKIT_OK;
}

int kvkit_prop_set_default_fn(kvkit_prop_t *p, kvkit_default_fn fn, void *ctx, kvkit_error_t *err)
{
    CHECK_PROP(p, err);
    json_decref(p->def);
    p->def = NULL;
    p->def_fn = fn;
    p->def_ctx = ctx;
    return KVKIT_OK;
}

json_t *kvkit__prop_default(const kvkit_prop_t *p)
{
    if (p->def_fn != NULL) {
        json_t *v = p->def_fn(p->def_ctx);
        return v ? v : json_null();
    }
    if (p->def == NULL)
        return json_null();
    /* A copy, not a reference: the schema may be used by several threads,
     * and documents never share a value with it. */
    return json_deep_copy(p->def);
}

/*** validators, targets, enums ***/

int kvkit_prop_add_validator(kvkit_prop_t *p, kvkit_validator_fn fn, void *ctx, const char *name,
                             kvkit_error_t *err)
{
    CHECK_PROP(p, err);
    if (fn == NULL)
        return kvkit__error(err, KVKIT_INVALID, p->name, "property \"%s\": validator is NULL",
                            p->name);
    char *n = kvkit__strdup(name ? name : "validator");
    kvkit__validator_t *v =
        n ? kvkit__realloc(p->validators, (p->n_validators + 1) * sizeof *v) : NULL;
    if (v == NULL) {
        kvkit__free(n);
        return kvkit__error(err, KVKIT_NOMEM, p->name, "out of memory adding a validator");
    }
    p->validators = v;
    v[p->n_validators++] = (kvkit__validator_t){fn, ctx, n};
    return KVKIT_OK;
}

int kvkit_prop_set_target(kvkit_prop_t *p, const kvkit_schema_t *target, kvkit_error_t *err)
{
    CHECK_PROP(p, err);
    if (p->kind != KVKIT_PROP_EMBEDDED && p->kind != KVKIT_PROP_EMBEDDED_LIST &&
        p->kind != KVKIT_PROP_REFERENCE)
        return kvkit__error(err, KVKIT_INVALID, p->name,
                            "property \"%s\": a %s property has no target schema", p->name,
                            kvkit_prop_kind_name(p->kind));
    p->target = target;
    return KVKIT_OK;
}

int kvkit_prop_set_enum(kvkit_prop_t *p, const json_t *values, kvkit_error_t *err)
{
    CHECK_PROP(p, err);
    if (p->kind != KVKIT_PROP_ENUM)
        return kvkit__error(err, KVKIT_INVALID, p->name,
                            "property \"%s\": only enum properties take values", p->name);
    if (!json_is_array(values) || json_array_size(values) == 0)
        return kvkit__error(err, KVKIT_INVALID, p->name,
                            "enum \"%s\": values must be a non-empty array", p->name);
    size_t n = json_array_size(values);
    for (size_t i = 0; i < n; i++) {
        const json_t *v = json_array_get(values, i);
        if (!json_is_string(v) && !json_is_number(v) && !json_is_boolean(v))
            return kvkit__error(err, KVKIT_INVALID, p->name,
                                "enum \"%s\": value %zu is not a string, number or boolean",
                                p->name, i);
        for (size_t j = 0; j < i; j++)
            if (json_equal(v, json_array_get(values, j)))
                return kvkit__error(err, KVKIT_INVALID, p->name,
                                    "enum \"%s\": value %zu repeats value %zu", p->name, i, j);
    }
    json_t *copy = json_deep_copy(values);
    if (copy == NULL)
        return kvkit__error(err, KVKIT_NOMEM, p->name, "out of memory copying enum values");
    json_decref(p->values);
    p->values = copy;
    return KVKIT_OK;
}

long kvkit__enum_index(const kvkit_prop_t *p, const json_t *value)
{
    size_t n = json_array_size(p->values);
    for (size_t i = 0; i < n; i++)
        if (json_equal(json_array_get(p->values, i), value))
            return (long)i;
    return -1;
}
