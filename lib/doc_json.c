/*
 * doc_json.c - schema lists built from a JSON description (the format is
 * documented in kvkit/document.h).
 *
 * Built in two passes: every named schema is created with its properties
 * (parents first, so children copy complete property tables), recording
 * the properties whose "schema" names or defines another schema; then
 * those targets are resolved, creating inline schemas as they come (which
 * may add more targets to resolve).
 */
#include "doc_private.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

struct kvkit_schema_list {
    kvkit_schema_t **named; /* description order */
    size_t n_named;
    kvkit_schema_t **all; /* everything the list frees, creation order */
    size_t n_all, cap_all;
};

typedef struct pending {
    kvkit_prop_t *prop;
    const json_t *spec; /* schema name (string) or inline definition (object) */
    const char *schema; /* the declaring schema's name, for messages */
} pending_t;

typedef struct builder {
    const json_t *desc;
    kvkit_store_t *store;
    kvkit_schema_list_t *list;
    json_t *building; /* names being built: parent-cycle detection */
    pending_t *pend;
    size_t n_pend, cap_pend;
} builder_t;

void kvkit_schema_list_destroy(kvkit_schema_list_t *l)
{
    if (l == NULL)
        return;
    /* children before parents: reverse creation order */
    for (size_t i = l->n_all; i-- > 0;)
        kvkit__schema_free(l->all[i]);
    kvkit__free(l->all);
    kvkit__free(l->named);
    kvkit__free(l);
}

kvkit_schema_t *kvkit_schema_list_find(const kvkit_schema_list_t *l, const char *name)
{
    if (l == NULL || name == NULL)
        return NULL;
    for (size_t i = 0; i < l->n_named; i++)
        if (strcmp(l->named[i]->name, name) == 0)
            return l->named[i];
    return NULL;
}

size_t kvkit_schema_list_count(const kvkit_schema_list_t *l)
{
    return l ? l->n_named : 0;
}

kvkit_schema_t *kvkit_schema_list_at(const kvkit_schema_list_t *l, size_t i)
{
    return l && i < l->n_named ? l->named[i] : NULL;
}

/*** building ***/

static kvkit_schema_t *built(const builder_t *b, const char *name)
{
    for (size_t i = 0; i < b->list->n_all; i++)
        if (strcmp(b->list->all[i]->name, name) == 0)
            return b->list->all[i];
    return NULL;
}

static int prop_fail(const char *schema, const char *prop, kvkit_error_t *err, int code,
                     const char *fmt, const char *arg)
{
    char text[KVKIT_ERROR_TEXT_LENGTH];
    snprintf(text, sizeof text, fmt, arg);
    return kvkit__error(err, code, prop, "schema \"%s\": property \"%s\": %s", schema, prop, text);
}

/* Re-wrap a lower layer's report with the schema and property names. */
static int prop_wrap(const char *schema, const char *prop, const kvkit_error_t *lower,
                     kvkit_error_t *err)
{
    const char *text = lower->text;
    /* lower messages that already name the schema are passed as they are */
    if (strncmp(text, "schema \"", 8) == 0)
        return kvkit__error(err, lower->code, prop, "%s", text);
    char own[KVKIT_FIELD_MAX + 16];
    snprintf(own, sizeof own, "property \"%s\": ", prop);
    if (strncmp(text, own, strlen(own)) == 0)
        text += strlen(own);
    return kvkit__error(err, lower->code, prop, "schema \"%s\": property \"%s\": %s", schema, prop,
                        text);
}

static int get_bool(const json_t *def, const char *key, bool *out, const char *schema,
                    const char *prop, kvkit_error_t *err)
{
    const json_t *v = json_object_get(def, key);
    if (v == NULL)
        return KVKIT_OK;
    if (!json_is_boolean(v))
        return prop_fail(schema, prop, err, KVKIT_INVALID, "\"%s\" must be true or false", key);
    *out = json_is_true(v);
    return KVKIT_OK;
}

static int add_pending(builder_t *b, kvkit_prop_t *p, const json_t *spec, const char *schema,
                       kvkit_error_t *err)
{
    if (b->n_pend == b->cap_pend) {
        size_t cap = b->cap_pend ? 2 * b->cap_pend : 8;
        pending_t *np = kvkit__realloc(b->pend, cap * sizeof *np);
        if (np == NULL)
            return kvkit__error(err, KVKIT_NOMEM, p->name, "out of memory loading schemas");
        b->pend = np;
        b->cap_pend = cap;
    }
    b->pend[b->n_pend++] = (pending_t){p, spec, schema};
    return KVKIT_OK;
}

static const char *const prop_keys[] = {"type",   "required", "index",  "default",        "values",
                                        "schema", "strict",   "prefix", "load_on_demand", NULL};

static int build_prop(builder_t *b, kvkit_schema_t *s, const char *name, const json_t *def,
                      kvkit_error_t *err)
{
    const char *sn = s->name;
    if (!json_is_object(def))
        return prop_fail(sn, name, err, KVKIT_INVALID, "definition must be an object%s", "");
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)def, k, v)
    {
        size_t i = 0;
        while (prop_keys[i] && strcmp(prop_keys[i], k) != 0)
            i++;
        if (prop_keys[i] == NULL)
            return prop_fail(sn, name, err, KVKIT_INVALID, "unknown option \"%s\"", k);
    }
    const json_t *type = json_object_get(def, "type");
    if (type == NULL)
        return prop_fail(sn, name, err, KVKIT_INVALID, "missing \"type\"%s", "");
    if (!json_is_string(type))
        return prop_fail(sn, name, err, KVKIT_INVALID, "\"type\" must be a string%s", "");
    kvkit_prop_kind_t kind = 0;
    for (int i = KVKIT_PROP_STRING; i <= KVKIT_PROP_GENERIC; i++)
        if (strcmp(kvkit_prop_kind_name((kvkit_prop_kind_t)i), json_string_value(type)) == 0)
            kind = (kvkit_prop_kind_t)i;
    if (kind == 0)
        return prop_fail(sn, name, err, KVKIT_INVALID, "unknown type \"%s\"",
                         json_string_value(type));
    bool required = false, index = false, lazy = false, strict = true;
    int rc;
    if ((rc = get_bool(def, "required", &required, sn, name, err)) != KVKIT_OK ||
        (rc = get_bool(def, "index", &index, sn, name, err)) != KVKIT_OK ||
        (rc = get_bool(def, "load_on_demand", &lazy, sn, name, err)) != KVKIT_OK ||
        (rc = get_bool(def, "strict", &strict, sn, name, err)) != KVKIT_OK)
        return rc;
    bool is_ref = kind == KVKIT_PROP_REFERENCE;
    bool has_target = is_ref || kind == KVKIT_PROP_EMBEDDED || kind == KVKIT_PROP_EMBEDDED_LIST;
    if (!is_ref && (json_object_get(def, "load_on_demand") || json_object_get(def, "strict")))
        return prop_fail(sn, name, err, KVKIT_INVALID,
                         "\"load_on_demand\" and \"strict\" apply to references only%s", "");
    const json_t *target = json_object_get(def, "schema");
    if (has_target && !json_is_string(target) && !json_is_object(target))
        return prop_fail(sn, name, err, KVKIT_INVALID,
                         "type \"%s\" needs \"schema\": a schema name or definition",
                         json_string_value(type));
    if (!has_target && target != NULL)
        return prop_fail(sn, name, err, KVKIT_INVALID,
                         "\"schema\" applies to embedded and reference properties only%s", "");
    const json_t *values = json_object_get(def, "values");
    if ((kind == KVKIT_PROP_ENUM) != (values != NULL))
        return prop_fail(sn, name, err, KVKIT_INVALID,
                         kind == KVKIT_PROP_ENUM ? "an enum needs \"values\"%s"
                                                 : "\"values\" applies to enums only%s",
                         "");
    const json_t *prefix = json_object_get(def, "prefix");
    if (prefix != NULL && (kind != KVKIT_PROP_PASSWORD || !json_is_string(prefix)))
        return prop_fail(sn, name, err, KVKIT_INVALID,
                         "\"prefix\" is a string, for passwords only%s", "");

    unsigned flags = (required ? KVKIT_PROP_REQUIRED : 0) | (index ? KVKIT_PROP_INDEX : 0) |
                     (lazy ? KVKIT_PROP_LOAD_ON_DEMAND : 0) | (strict ? 0 : KVKIT_PROP_LENIENT);
    kvkit_prop_t *p;
    kvkit_error_t lower = {0};
    rc = kvkit_schema_add(s, name, kind, flags, &p, &lower);
    if (rc == KVKIT_OK && values != NULL)
        rc = kvkit_prop_set_enum(p, values, &lower);
    if (rc == KVKIT_OK && json_object_get(def, "default") != NULL)
        rc = kvkit_prop_set_default(p, json_object_get(def, "default"), &lower);
    if (rc == KVKIT_OK && prefix != NULL)
        rc = kvkit_prop_set_password_prefix(p, json_string_value(prefix), &lower);
    if (rc != KVKIT_OK)
        return prop_wrap(sn, name, &lower, err);
    if (has_target)
        return add_pending(b, p, target, s->name, err);
    return KVKIT_OK;
}

static int list_add(kvkit_schema_list_t *l, kvkit_schema_t *s, kvkit_error_t *err)
{
    if (l->n_all == l->cap_all) {
        size_t cap = l->cap_all ? 2 * l->cap_all : 8;
        kvkit_schema_t **na = kvkit__realloc(l->all, cap * sizeof *na);
        if (na == NULL)
            return kvkit__error(err, KVKIT_NOMEM, s->name, "out of memory loading schemas");
        l->all = na;
        l->cap_all = cap;
    }
    l->all[l->n_all++] = s;
    s->list = l;
    return KVKIT_OK;
}

static int build_named(builder_t *b, const char *name, const char *from, kvkit_error_t *err);

static int build_def(builder_t *b, const char *name, const json_t *def, kvkit_error_t *err)
{
    if (!json_is_object(def))
        return kvkit__error(err, KVKIT_INVALID, name, "schema \"%s\": definition must be an object",
                            name);
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)def, k, v)
    {
        if (strcmp(k, "bucket") && strcmp(k, "parent") && strcmp(k, "strict") &&
            strcmp(k, "properties"))
            return kvkit__error(err, KVKIT_INVALID, name, "schema \"%s\": unknown option \"%s\"",
                                name, k);
    }
    const json_t *parent_name = json_object_get(def, "parent");
    const json_t *bucket = json_object_get(def, "bucket");
    const json_t *strict = json_object_get(def, "strict");
    const json_t *props = json_object_get(def, "properties");
    if (parent_name != NULL && !json_is_string(parent_name))
        return kvkit__error(err, KVKIT_INVALID, name,
                            "schema \"%s\": \"parent\" must be a "
                            "schema name",
                            name);
    if (bucket != NULL && !json_is_string(bucket))
        return kvkit__error(err, KVKIT_INVALID, name,
                            "schema \"%s\": \"bucket\" must be a "
                            "string",
                            name);
    if (strict != NULL && !json_is_boolean(strict))
        return kvkit__error(err, KVKIT_INVALID, name,
                            "schema \"%s\": \"strict\" must be true "
                            "or false",
                            name);
    if (props != NULL && !json_is_object(props))
        return kvkit__error(err, KVKIT_INVALID, name,
                            "schema \"%s\": \"properties\" must be "
                            "an object",
                            name);
    const kvkit_schema_t *parent = NULL;
    int rc;
    if (parent_name != NULL) {
        if ((rc = build_named(b, json_string_value(parent_name), name, err)) != KVKIT_OK)
            return rc;
        parent = built(b, json_string_value(parent_name));
    }
    kvkit_schema_t *s;
    kvkit_error_t lower = {0};
    if ((rc = kvkit__schema_create(name, parent, b->store, &s, &lower)) != KVKIT_OK)
        return kvkit__error(err, rc, name, "schema \"%s\": %s", name, lower.text);
    if ((rc = list_add(b->list, s, err)) != KVKIT_OK) {
        kvkit__schema_free(s);
        return rc;
    }
    if (bucket != NULL &&
        (rc = kvkit_schema_set_bucket(s, json_string_value(bucket), &lower)) != KVKIT_OK)
        return kvkit__error(err, rc, name, "schema \"%s\": bucket: %s", name, lower.text);
    if (strict != NULL)
        s->strict = json_is_true(strict);
    json_object_foreach((json_t *)props, k, v)
    {
        if ((rc = build_prop(b, s, k, v, err)) != KVKIT_OK)
            return rc;
    }
    return KVKIT_OK;
}

static int build_named(builder_t *b, const char *name, const char *from, kvkit_error_t *err)
{
    if (built(b, name) != NULL)
        return KVKIT_OK;
    const json_t *def = json_object_get(b->desc, name);
    if (def == NULL)
        return kvkit__error(err, KVKIT_INVALID, name,
                            "schema \"%s\": parent \"%s\" is not in the description", from, name);
    if (json_object_get(b->building, name) != NULL)
        return kvkit__error(err, KVKIT_INVALID, name, "schema \"%s\": parent cycle through \"%s\"",
                            from, name);
    if (json_object_set_new(b->building, name, json_true()) != 0)
        return kvkit__error(err, KVKIT_NOMEM, name, "out of memory loading schemas");
    int rc = build_def(b, name, def, err);
    json_object_del(b->building, name);
    return rc;
}

static int resolve_targets(builder_t *b, kvkit_error_t *err)
{
    for (size_t i = 0; i < b->n_pend; i++) {
        pending_t pd = b->pend[i]; /* copied: build_def may grow the array */
        kvkit_schema_t *t;
        if (json_is_string(pd.spec)) {
            const char *tn = json_string_value(pd.spec);
            t = json_object_get(b->desc, tn) ? built(b, tn) : NULL;
            if (t == NULL)
                return kvkit__error(err, KVKIT_INVALID, pd.prop->name,
                                    "schema \"%s\": property \"%s\": unknown schema \"%s\"",
                                    pd.schema, pd.prop->name, tn);
        } else {
            char inline_name[KVKIT_BUCKET_MAX + 1];
            int n = snprintf(inline_name, sizeof inline_name, "%s.%s", pd.schema, pd.prop->name);
            if (n < 0 || (size_t)n >= sizeof inline_name)
                return kvkit__error(err, KVKIT_INVALID, pd.prop->name,
                                    "schema \"%s\": property \"%s\": inline schema name too "
                                    "long",
                                    pd.schema, pd.prop->name);
            int rc = build_def(b, inline_name, pd.spec, err);
            if (rc != KVKIT_OK)
                return rc;
            t = built(b, inline_name);
        }
        pd.prop->target = t;
    }
    return KVKIT_OK;
}

int kvkit_schema_list_load_json(const json_t *desc, kvkit_store_t *store, kvkit_schema_list_t **out,
                                kvkit_error_t *err)
{
    if (out == NULL)
        return kvkit__error(err, KVKIT_INVALID, "", "kvkit_schema_list_load_json: out is NULL");
    *out = NULL;
    if (!json_is_object(desc))
        return kvkit__error(err, KVKIT_INVALID, "",
                            "schema description must be a JSON object of schema definitions");
    builder_t b = {desc, store, NULL, NULL, NULL, 0, 0};
    b.list = kvkit__calloc(1, sizeof *b.list);
    b.building = json_object();
    int rc = KVKIT_OK;
    if (b.list == NULL || b.building == NULL)
        rc = kvkit__error(err, KVKIT_NOMEM, "", "out of memory loading schemas");
    const char *name;
    json_t *def;
    if (rc == KVKIT_OK) {
        json_object_foreach((json_t *)desc, name, def)
        {
            if ((rc = build_named(&b, name, name, err)) != KVKIT_OK)
                break;
        }
    }
    if (rc == KVKIT_OK)
        rc = resolve_targets(&b, err);
    if (rc == KVKIT_OK) {
        size_t n = json_object_size(desc);
        if ((b.list->named = kvkit__calloc(n ? n : 1, sizeof *b.list->named)) == NULL)
            rc = kvkit__error(err, KVKIT_NOMEM, "", "out of memory loading schemas");
        else
            json_object_foreach((json_t *)desc, name, def) b.list->named[b.list->n_named++] =
                built(&b, name);
    }
    json_decref(b.building);
    kvkit__free(b.pend);
    if (rc != KVKIT_OK) {
        kvkit_schema_list_destroy(b.list);
        return rc;
    }
    *out = b.list;
    return KVKIT_OK;
}

int kvkit_schema_list_load_string(const char *text, kvkit_store_t *store, kvkit_schema_list_t **out,
                                  kvkit_error_t *err)
{
    if (out)
        *out = NULL;
    if (text == NULL)
        return kvkit__error(err, KVKIT_INVALID, "", "schema description is NULL");
    json_error_t jerr;
    bool nomem;
    json_t *desc = kvkit__json_parse(text, strlen(text), &jerr, &nomem);
    if (nomem)
        return kvkit__error(err, KVKIT_NOMEM, "", "out of memory reading a schema description");
    if (desc == NULL)
        return kvkit__error(err, KVKIT_INVALID, "", "schema description: line %d column %d: %s",
                            jerr.line, jerr.column, jerr.text);
    int rc = kvkit_schema_list_load_json(desc, store, out, err);
    json_decref(desc);
    return rc;
}

/* The most a schema file may hold (kvkit_schema(3)).  Reading stops one
 * byte past it, so endless input (/dev/zero, a pipe that never closes its
 * write end after writing) ends with an error instead of using up memory. */
#define SCHEMA_FILE_MAX ((size_t)64 << 20)

/* The whole file in a kvkit__malloc'd buffer (parsed from memory so a
 * failed parse can be tried again). */
static int read_file(const char *path, char **text, size_t *len, kvkit_error_t *err)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return kvkit__error(err, KVKIT_IO, path, "schema file \"%s\": %s", path, strerror(errno));
    size_t cap = 4096, n = 0;
    char *buf = kvkit__malloc(cap);
    while (buf != NULL) {
        n += fread(buf + n, 1, cap - n, f);
        if (n < cap || n > SCHEMA_FILE_MAX)
            break;
        size_t grow = cap * 2 > SCHEMA_FILE_MAX + 1 ? SCHEMA_FILE_MAX + 1 : cap * 2;
        char *grown = kvkit__realloc(buf, grow);
        if (grown == NULL) {
            kvkit__free(buf);
            buf = NULL;
            break;
        }
        buf = grown;
        cap = grow;
    }
    int failed = buf != NULL && ferror(f);
    int saved = errno;
    fclose(f);
    if (buf == NULL)
        return kvkit__error(err, KVKIT_NOMEM, path, "out of memory reading schema file \"%s\"",
                            path);
    if (failed) {
        kvkit__free(buf);
        return kvkit__error(err, KVKIT_IO, path, "schema file \"%s\": %s", path, strerror(saved));
    }
    if (n > SCHEMA_FILE_MAX) {
        kvkit__free(buf);
        return kvkit__error(err, KVKIT_TOO_LARGE, path,
                            "schema file \"%s\" is larger than the limit of %zu bytes", path,
                            SCHEMA_FILE_MAX);
    }
    *text = buf;
    *len = n;
    return KVKIT_OK;
}

int kvkit_schema_list_load_file(const char *path, kvkit_store_t *store, kvkit_schema_list_t **out,
                                kvkit_error_t *err)
{
    if (out)
        *out = NULL;
    if (path == NULL)
        return kvkit__error(err, KVKIT_INVALID, "", "schema file path is NULL");
    char *text = NULL;
    size_t len = 0;
    int rc = read_file(path, &text, &len, err);
    if (rc != KVKIT_OK)
        return rc;
    json_error_t jerr;
    bool nomem;
    json_t *desc = kvkit__json_parse(text, len, &jerr, &nomem);
    kvkit__free(text);
    if (nomem)
        return kvkit__error(err, KVKIT_NOMEM, path, "out of memory reading schema file \"%s\"",
                            path);
    if (desc == NULL)
        return kvkit__error(err, KVKIT_INVALID, path, "schema file \"%s\": line %d column %d: %s",
                            path, jerr.line, jerr.column, jerr.text);
    rc = kvkit_schema_list_load_json(desc, store, out, err);
    json_decref(desc);
    return rc;
}
