/*
 * doc_schema.c - schemas: names, buckets, stores (and the one check that a
 * call can reach the store), inheritance and the property table.
 *
 * A child copies its parent's property table (pointers to the parent's
 * property objects) when it is created, so lookups never walk the parent
 * chain.  That is why a schema with children takes no new properties: the
 * children would not see them.
 */
#include "doc_private.h"

#include <string.h>

/*** the lookup table ***/

/* FNV-1a */
static uint32_t name_hash(const char *name)
{
    uint32_t h = 2166136261u;
    for (const unsigned char *c = (const unsigned char *)name; *c; c++)
        h = (h ^ *c) * 16777619u;
    return h;
}

/* Slots for a table of up to cap properties. */
static size_t slots_for(size_t cap)
{
    size_t n = 8;
    while (n < 2 * cap)
        n *= 2;
    return n;
}

/* Fill the table from props; it was sized for them, so nothing allocates. */
static void slots_build(kvkit_schema_t *s)
{
    memset(s->slots, 0, (s->slot_mask + 1) * sizeof *s->slots);
    for (size_t i = 0; i < s->n_props; i++) {
        size_t k = s->props[i]->hash & s->slot_mask;
        while (s->slots[k] != 0)
            k = (k + 1) & s->slot_mask;
        s->slots[k] = (uint32_t)(i + 1);
    }
}

/*** create / destroy ***/

int kvkit__schema_create(const char *name, const kvkit_schema_t *parent, kvkit_store_t *store,
                         kvkit_schema_t **out, kvkit_error_t *err)
{
    *out = NULL;
    int rc = kvkit__check_bucket_key(name, NULL, err);
    if (rc != KVKIT_OK)
        return rc;
    kvkit_schema_t *s = kvkit__calloc(1, sizeof *s);
    if (s == NULL)
        return kvkit__error(err, KVKIT_NOMEM, name, "out of memory creating schema \"%s\"", name);
    s->name = kvkit__strdup(name);
    s->bucket = kvkit__strdup(name);
    if (s->name == NULL || s->bucket == NULL)
        goto nomem;
    if (parent != NULL) {
        size_t n = parent->n_props;
        s->props = kvkit__malloc((n ? n : 1) * sizeof *s->props);
        s->own = kvkit__calloc(n ? n : 1, sizeof *s->own);
        s->slots = kvkit__malloc(slots_for(n) * sizeof *s->slots);
        if (s->props == NULL || s->own == NULL || s->slots == NULL)
            goto nomem;
        if (n)
            memcpy(s->props, parent->props, n * sizeof *s->props);
        s->n_props = s->cap_props = n;
        s->slot_mask = slots_for(n) - 1;
        slots_build(s);
        s->strict = parent->strict;
        s->store = store ? store : parent->store;
        s->parent = parent;
        /* The count is the only thing a child changes in its parent. */
        ((kvkit_schema_t *)parent)->n_children++;
    } else {
        s->store = store;
    }
    *out = s;
    return KVKIT_OK;
nomem:
    kvkit__free(s->name);
    kvkit__free(s->bucket);
    kvkit__free(s->props);
    kvkit__free(s->own);
    kvkit__free(s->slots);
    kvkit__free(s);
    return kvkit__error(err, KVKIT_NOMEM, name, "out of memory creating schema \"%s\"", name);
}

void kvkit__schema_free(kvkit_schema_t *s)
{
    if (s == NULL)
        return;
    for (size_t i = 0; i < s->n_props; i++)
        if (s->own[i])
            kvkit__prop_free(s->props[i]);
    if (s->parent != NULL)
        ((kvkit_schema_t *)s->parent)->n_children--;
    kvkit__free(s->props);
    kvkit__free(s->own);
    kvkit__free(s->slots);
    kvkit__free(s->name);
    kvkit__free(s->bucket);
    kvkit__free(s);
}

int kvkit_schema_create(const char *name, const kvkit_schema_t *parent, kvkit_store_t *store,
                        kvkit_schema_t **out, kvkit_error_t *err)
{
    if (out == NULL)
        return kvkit__error(err, KVKIT_INVALID, "", "kvkit_schema_create: out is NULL");
    return kvkit__schema_create(name, parent, store, out, err);
}

void kvkit_schema_destroy(kvkit_schema_t *s)
{
    if (s == NULL || s->list != NULL) /* list members go with their list */
        return;
    kvkit__schema_free(s);
}

/*** accessors ***/

const char *kvkit_schema_name(const kvkit_schema_t *s)
{
    return s ? s->name : NULL;
}

const char *kvkit_schema_bucket(const kvkit_schema_t *s)
{
    return s ? s->bucket : NULL;
}

const kvkit_schema_t *kvkit_schema_parent(const kvkit_schema_t *s)
{
    return s ? s->parent : NULL;
}

kvkit_store_t *kvkit_schema_store(const kvkit_schema_t *s)
{
    return s ? s->store : NULL;
}

int kvkit_schema_strict(const kvkit_schema_t *s)
{
    return s ? s->strict : 0;
}

int kvkit_schema_set_bucket(kvkit_schema_t *s, const char *bucket, kvkit_error_t *err)
{
    if (s == NULL)
        return kvkit__error(err, KVKIT_INVALID, "", "schema is NULL");
    int rc = kvkit__check_bucket_key(bucket, NULL, err);
    if (rc != KVKIT_OK)
        return rc;
    char *copy = kvkit__strdup(bucket);
    if (copy == NULL)
        return kvkit__error(err, KVKIT_NOMEM, bucket, "out of memory setting bucket");
    kvkit__free(s->bucket);
    s->bucket = copy;
    return KVKIT_OK;
}

void kvkit_schema_set_store(kvkit_schema_t *s, kvkit_store_t *store)
{
    if (s)
        s->store = store;
}

void kvkit_schema_set_strict(kvkit_schema_t *s, int strict)
{
    if (s)
        s->strict = strict != 0;
}

bool kvkit__schema_is_a(const kvkit_schema_t *s, const kvkit_schema_t *base)
{
    for (; s != NULL; s = s->parent)
        if (s == base)
            return true;
    return false;
}

int kvkit__schema_need_store(const kvkit_schema_t *s, kvkit_error_t *err)
{
    if (s == NULL)
        return kvkit__error(err, KVKIT_INVALID, "", "schema is NULL");
    if (s->store == NULL)
        return kvkit__error(err, KVKIT_INVALID, s->name, "schema \"%s\" has no store", s->name);
    return KVKIT_OK;
}

/*** the property table ***/

kvkit_prop_t *kvkit__schema_find(const kvkit_schema_t *s, const char *name)
{
    if (s->n_props == 0)
        return NULL;
    uint32_t h = name_hash(name);
    for (size_t k = h & s->slot_mask; s->slots[k] != 0; k = (k + 1) & s->slot_mask) {
        kvkit_prop_t *p = s->props[s->slots[k] - 1];
        if (p->hash == h && strcmp(p->name, name) == 0)
            return p;
    }
    return NULL;
}

const kvkit_prop_t *kvkit_schema_prop(const kvkit_schema_t *s, const char *name)
{
    return s && name ? kvkit__schema_find(s, name) : NULL;
}

size_t kvkit_schema_prop_count(const kvkit_schema_t *s)
{
    return s ? s->n_props : 0;
}

const kvkit_prop_t *kvkit_schema_prop_at(const kvkit_schema_t *s, size_t i)
{
    return s && i < s->n_props ? s->props[i] : NULL;
}

int kvkit_schema_add(kvkit_schema_t *s, const char *name, kvkit_prop_kind_t kind, unsigned flags,
                     kvkit_prop_t **prop, kvkit_error_t *err)
{
    if (prop)
        *prop = NULL;
    if (s == NULL)
        return kvkit__error(err, KVKIT_INVALID, "", "schema is NULL");
    if (name == NULL || name[0] == '\0' || strlen(name) > KVKIT_FIELD_MAX)
        return kvkit__error(err, KVKIT_INVALID, name ? name : "",
                            "schema \"%s\": property name must be 1 to %d bytes", s->name,
                            KVKIT_FIELD_MAX);
    if (!kvkit__utf8_valid((const unsigned char *)name, strlen(name)))
        return kvkit__error(err, KVKIT_INVALID, name,
                            "schema \"%s\": property name \"%s\" is not valid UTF-8", s->name,
                            name);
    if (name[0] == '$' || strcmp(name, "_extra_props") == 0)
        return kvkit__error(err, KVKIT_INVALID, name,
                            "schema \"%s\": property name \"%s\" is reserved", s->name, name);
    if (kvkit_prop_kind_name(kind) == NULL)
        return kvkit__error(err, KVKIT_INVALID, name,
                            "schema \"%s\": property \"%s\": unknown kind %d", s->name, name,
                            (int)kind);
    if (s->n_children > 0)
        return kvkit__error(err, KVKIT_INVALID, name,
                            "schema \"%s\": cannot add property \"%s\": the schema already "
                            "has child schemas",
                            s->name, name);
    if ((flags & KVKIT_PROP_INDEX) && !kvkit__kind_indexable(kind))
        return kvkit__error(err, KVKIT_INVALID, name,
                            "schema \"%s\": property \"%s\": a %s property cannot be indexed",
                            s->name, name, kvkit_prop_kind_name(kind));
    size_t slot = s->n_props;
    for (size_t i = 0; i < s->n_props; i++) {
        if (strcmp(s->props[i]->name, name) != 0)
            continue;
        if (s->own[i])
            return kvkit__error(err, KVKIT_INVALID, name,
                                "schema \"%s\": property \"%s\" is already declared", s->name,
                                name);
        slot = i; /* override the inherited one in place */
    }
    kvkit_prop_t *p = kvkit__calloc(1, sizeof *p);
    if (p == NULL || (p->name = kvkit__strdup(name)) == NULL) {
        kvkit__free(p);
        return kvkit__error(err, KVKIT_NOMEM, name, "out of memory adding property \"%s\"", name);
    }
    p->kind = kind;
    p->flags = flags;
    p->owner = s;
    p->hash = name_hash(name);
    if (slot == s->n_props && s->n_props == s->cap_props) {
        /* each array keeps what it had until all three have grown */
        size_t cap = s->cap_props ? 2 * s->cap_props : 8;
        kvkit_prop_t **np = kvkit__realloc(s->props, cap * sizeof *np);
        if (np != NULL)
            s->props = np;
        bool *no = np ? kvkit__realloc(s->own, cap * sizeof *no) : NULL;
        if (no != NULL)
            s->own = no;
        uint32_t *ns = no ? kvkit__realloc(s->slots, slots_for(cap) * sizeof *ns) : NULL;
        if (ns != NULL)
            s->slots = ns;
        if (ns == NULL) {
            kvkit__prop_free(p);
            return kvkit__error(err, KVKIT_NOMEM, name, "out of memory adding property \"%s\"",
                                name);
        }
        s->cap_props = cap;
        s->slot_mask = slots_for(cap) - 1;
    }
    s->props[slot] = p;
    s->own[slot] = true;
    if (slot == s->n_props)
        s->n_props++;
    slots_build(s);
    if (prop)
        *prop = p;
    return KVKIT_OK;
}

/* Add, then configure; on a configuration failure the property is removed
 * again so a failed call leaves the schema as it was. */
static int add_configured(kvkit_schema_t *s, const char *name, kvkit_prop_kind_t kind,
                          unsigned flags, const kvkit_schema_t *target, const json_t *values,
                          kvkit_prop_t **prop, kvkit_error_t *err)
{
    kvkit_prop_t *p;
    size_t before = s ? s->n_props : 0;
    kvkit_prop_t *replaced = NULL;
    if (s != NULL && name != NULL)
        replaced = kvkit__schema_find(s, name);
    int rc = kvkit_schema_add(s, name, kind, flags, &p, err);
    if (rc != KVKIT_OK)
        return rc;
    if (target != NULL || kind != KVKIT_PROP_ENUM)
        rc = kvkit_prop_set_target(p, target, err);
    else
        rc = kvkit_prop_set_enum(p, values, err);
    if (rc != KVKIT_OK) {
        for (size_t i = 0; i < s->n_props; i++) {
            if (s->props[i] != p)
                continue;
            if (s->n_props > before) {
                s->n_props--;
                slots_build(s);
            } else { /* was an override: restore the inherited one (same name, same slot) */
                s->props[i] = replaced;
                s->own[i] = false;
            }
            break;
        }
        kvkit__prop_free(p);
        return rc;
    }
    if (prop)
        *prop = p;
    return KVKIT_OK;
}

int kvkit_schema_add_ref(kvkit_schema_t *s, const char *name, const kvkit_schema_t *target,
                         unsigned flags, kvkit_prop_t **prop, kvkit_error_t *err)
{
    if (target == NULL)
        return kvkit__error(err, KVKIT_INVALID, name ? name : "",
                            "reference \"%s\" needs a target schema", name ? name : "");
    return add_configured(s, name, KVKIT_PROP_REFERENCE, flags, target, NULL, prop, err);
}

int kvkit_schema_add_embedded(kvkit_schema_t *s, const char *name, const kvkit_schema_t *target,
                              int is_list, unsigned flags, kvkit_prop_t **prop, kvkit_error_t *err)
{
    if (target == NULL)
        return kvkit__error(err, KVKIT_INVALID, name ? name : "",
                            "embedded property \"%s\" needs a target schema", name ? name : "");
    return add_configured(s, name, is_list ? KVKIT_PROP_EMBEDDED_LIST : KVKIT_PROP_EMBEDDED, flags,
                          target, NULL, prop, err);
}

int kvkit_schema_add_enum(kvkit_schema_t *s, const char *name, const char *const *values,
                          size_t n_values, unsigned flags, kvkit_prop_t **prop, kvkit_error_t *err)
{
    if (values == NULL && n_values > 0)
        return kvkit__error(err, KVKIT_INVALID, name ? name : "", "enum values are NULL");
    json_t *arr = json_array();
    if (arr == NULL)
        return kvkit__error(err, KVKIT_NOMEM, name ? name : "", "out of memory");
    for (size_t i = 0; i < n_values; i++) {
        if (values[i] == NULL || json_array_append_new(arr, json_string(values[i])) != 0) {
            json_decref(arr);
            return kvkit__error(err, values[i] ? KVKIT_NOMEM : KVKIT_INVALID, name ? name : "",
                                "enum \"%s\": bad value %zu", name ? name : "", i);
        }
    }
    int rc = add_configured(s, name, KVKIT_PROP_ENUM, flags, NULL, arr, prop, err);
    json_decref(arr);
    return rc;
}
