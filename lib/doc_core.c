/*
 * doc_core.c - the document core: allocate, destroy, put an attribute, drop
 * loaded references, fill defaults, accessors.  Everything else in the
 * document layer builds on these; nothing here calls up into loading,
 * attributes or the store (kvkit_doc_revision, which may read, is
 * doc_document.c's).
 */
#include "doc_private.h"

#include <stdlib.h>
#include <string.h>

/*** allocation ***/

int kvkit__doc_alloc(const kvkit_schema_t *s, const char *key, size_t key_len, json_t *data,
                     kvkit_doc_t **out, kvkit_error_t *err)
{
    /* one allocation for the document and its key */
    kvkit_doc_t *d = kvkit__malloc(sizeof *d + key_len + 1);
    if (d != NULL && data == NULL && (data = json_object()) == NULL) {
        kvkit__free(d);
        d = NULL;
    }
    if (d == NULL)
        return kvkit__error(err, KVKIT_NOMEM, s->name, "out of memory creating a document");
    memset(d, 0, sizeof *d);
    d->schema = s;
    d->key = (char *)(d + 1);
    memcpy(d->key, key, key_len);
    d->key[key_len] = '\0';
    d->data = data;
    *out = d;
    return KVKIT_OK;
}

void kvkit_doc_destroy(kvkit_doc_t *d)
{
    if (d == NULL)
        return;
    kvkit__doc_drop_refs(d, NULL);
    kvkit__doc_rev_set(d, KVKIT__REV_UNKNOWN, 0);
    json_decref(d->data);
    kvkit__free(d);
}

/*** revision state ***/

void kvkit__doc_rev_set(kvkit_doc_t *d, int state, uint64_t rev)
{
    if (d->raw != NULL && d->raw_malloc)
        free(d->raw); /* the store's malloc */
    else if (d->raw != NULL)
        kvkit__free(d->raw);
    d->raw = NULL;
    d->raw_len = 0;
    d->raw_malloc = false;
    d->rev_state = state;
    d->rev = rev;
}

void kvkit__doc_rev_keep(kvkit_doc_t *d, char *raw, size_t len, bool from_store, uint64_t rev)
{
    kvkit__doc_rev_set(d, KVKIT__REV_STORED, rev);
    d->raw = raw;
    d->raw_len = len;
    d->raw_malloc = from_store;
}

void kvkit__doc_drop_refs(kvkit_doc_t *d, const kvkit_prop_t *p)
{
    kvkit__ref_t **link = &d->refs;
    while (*link != NULL) {
        kvkit__ref_t *r = *link;
        if (p != NULL && r->prop != p) {
            link = &r->next;
            continue;
        }
        *link = r->next;
        kvkit_doc_destroy(r->doc);
        kvkit__free(r);
    }
}

int kvkit__doc_defaults(kvkit_doc_t *d, bool nulls, kvkit_error_t *err)
{
    const kvkit_schema_t *s = d->schema;
    for (size_t i = 0; i < s->n_props; i++) {
        const kvkit_prop_t *p = s->props[i];
        if (!nulls && p->def == NULL && p->def_fn == NULL)
            continue; /* unset reads as null anyway */
        if (json_object_get(d->data, p->name) != NULL)
            continue;
        json_t *v = nulls ? json_null() : kvkit__prop_default(p);
        if (v == NULL || json_object_set_new_nocheck(d->data, p->name, v) != 0)
            return kvkit__error(err, KVKIT_NOMEM, p->name,
                                "out of memory applying the default of \"%s\"", p->name);
    }
    return KVKIT_OK;
}

/*** attributes ***/

int kvkit__doc_check_name(const kvkit_doc_t *d, const char *name, kvkit_error_t *err)
{
    if (d == NULL)
        return kvkit__error(err, KVKIT_INVALID, "", "document is NULL");
    if (name == NULL || name[0] == '\0')
        return kvkit__error(err, KVKIT_INVALID, "", "attribute name is empty");
    /* jansson refuses such an object key too, which would read as NOMEM */
    if (!kvkit__utf8_valid((const unsigned char *)name, strlen(name)))
        return kvkit__error(err, KVKIT_INVALID, name, "attribute name \"%s\" is not valid UTF-8",
                            name);
    return KVKIT_OK;
}

int kvkit__doc_put(kvkit_doc_t *d, const char *name, json_t *value, kvkit_error_t *err)
{
    if (value == NULL)
        value = json_null();
    if (d->refs != NULL) {
        const kvkit_prop_t *p = kvkit__schema_find(d->schema, name);
        if (p != NULL && p->kind == KVKIT_PROP_REFERENCE)
            kvkit__doc_drop_refs(d, p);
    }
    /* the name is a checked attribute name or a declared property's: both
     * valid UTF-8, so jansson need not check it again */
    if (json_object_set_new_nocheck(d->data, name, value) != 0)
        return kvkit__error(err, KVKIT_NOMEM, name, "out of memory setting \"%s\"", name);
    return KVKIT_OK;
}

/*** accessors ***/

const char *kvkit_doc_key(const kvkit_doc_t *d)
{
    return d ? d->key : NULL;
}

const kvkit_schema_t *kvkit_doc_schema(const kvkit_doc_t *d)
{
    return d ? d->schema : NULL;
}

int kvkit_doc_equal(const kvkit_doc_t *a, const kvkit_doc_t *b)
{
    if (a == NULL || b == NULL)
        return 0;
    return strcmp(a->key, b->key) == 0 && strcmp(a->schema->bucket, b->schema->bucket) == 0;
}
