/*
 * doc_ref.c - reference properties: the target's key is the stored value;
 * loaded targets are cached in the referring document, which owns them.
 */
#include "doc_private.h"

#include <string.h>

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

static kvkit__ref_t *ref_find(const kvkit_doc_t *d, const kvkit_prop_t *p)
{
    for (kvkit__ref_t *r = d->refs; r != NULL; r = r->next)
        if (r->prop == p)
            return r;
    return NULL;
}

int kvkit__ref_load(kvkit_doc_t *d, const kvkit_prop_t *p, const kvkit__loading_t *up,
                    kvkit_doc_t **target, kvkit_error_t *err)
{
    *target = NULL;
    json_t *k = json_object_get(d->data, p->name);
    if (k == NULL || json_is_null(k)) {
        kvkit__doc_drop_refs(d, p);
        return KVKIT_OK;
    }
    if (!json_is_string(k))
        return kvkit__error(err, KVKIT_INVALID, p->name,
                            "%s \"%s\": reference \"%s\" does not hold a key", d->schema->name,
                            d->key, p->name);
    const char *key = json_string_value(k);
    kvkit__ref_t *r = ref_find(d, p);
    if (r != NULL) {
        if (r->doc != NULL && strcmp(r->doc->key, key) == 0) {
            *target = r->doc;
            return KVKIT_OK;
        }
        kvkit__doc_drop_refs(d, p);
    }
    if (p->target == NULL)
        return kvkit__error(err, KVKIT_INVALID, p->name, "reference \"%s\" has no target schema",
                            p->name);
    if (p->target->store == NULL)
        return kvkit__error(err, KVKIT_INVALID, p->target->name, "schema \"%s\" has no store",
                            p->target->name);
    kvkit__loading_t self = {d->schema->bucket, d->key, NULL, 0};
    kvkit_doc_t *t = NULL;
    /* NOTFOUND here is an outcome (a lenient reference reads as NULL), so the
     * read reports into its own record: nothing is left in err on KVKIT_OK */
    kvkit_error_t lower = {0};
    int rc = kvkit__doc_read(p->target, key, up ? up : &self, &t, &lower);
    if (rc == KVKIT_NOTFOUND) {
        /* KVKIT_REF_MISSING, never KVKIT_NOTFOUND: a caller reading the
         * referring document must not take it for absent (issue 11) */
        if (!(p->flags & KVKIT_PROP_LENIENT))
            return kvkit__error(err, KVKIT_REF_MISSING, key,
                                "%s \"%s\": reference \"%s\": %s \"%s\" not found", d->schema->name,
                                d->key, p->name, p->target->name, key);
        rc = KVKIT_OK; /* lenient: reads as NULL */
    }
    if (rc != KVKIT_OK) /* the target is there but cannot load: not "missing" */
        return kvkit__error_copy(err, &lower, rc);
    if (t == NULL)
        return KVKIT_OK; /* not cached: a later access looks again */
    if ((r = kvkit__calloc(1, sizeof *r)) == NULL) {
        kvkit_doc_destroy(t);
        return kvkit__error(err, KVKIT_NOMEM, key, "out of memory loading reference \"%s\"",
                            p->name);
    }
    r->prop = p;
    r->doc = t;
    r->next = d->refs;
    d->refs = r;
    *target = t;
    return KVKIT_OK;
}

static int ref_prop(const kvkit_doc_t *d, const char *name, const kvkit_prop_t **p,
                    kvkit_error_t *err)
{
    if (d == NULL || name == NULL)
        return kvkit__error(err, KVKIT_INVALID, "", "document or name is NULL");
    *p = kvkit__schema_find(d->schema, name);
    if (*p == NULL || (*p)->kind != KVKIT_PROP_REFERENCE)
        return kvkit__error(err, KVKIT_INVALID, name, "%s: \"%s\" is not a reference property",
                            d->schema->name, name);
    return KVKIT_OK;
}

int kvkit_doc_ref_get(kvkit_doc_t *d, const char *name, kvkit_doc_t **target, kvkit_error_t *err)
{
    if (target)
        *target = NULL;
    const kvkit_prop_t *p;
    int rc = ref_prop(d, name, &p, err);
    if (rc != KVKIT_OK)
        return rc;
    if (target == NULL)
        return kvkit__error(err, KVKIT_INVALID, name, "kvkit_doc_ref_get: target is NULL");
    return kvkit__ref_load(d, p, NULL, target, err);
}

int kvkit_doc_ref_set(kvkit_doc_t *d, const char *name, const kvkit_doc_t *target,
                      kvkit_error_t *err)
{
    const kvkit_prop_t *p;
    int rc = ref_prop(d, name, &p, err);
    if (rc != KVKIT_OK)
        return rc;
    if (target != NULL && p->target != NULL && !kvkit__schema_is_a(target->schema, p->target))
        return kvkit__error(err, KVKIT_INVALID, name, "%s: reference \"%s\" takes a %s, not a %s",
                            d->schema->name, name, p->target->name, target->schema->name);
    json_t *v = target ? json_string(target->key) : json_null();
    if (v == NULL)
        return kvkit__error(err, KVKIT_NOMEM, name, "out of memory");
    return kvkit__doc_put(d, name, v, err);
}
