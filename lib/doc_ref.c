/*
 * doc_ref.c - reference properties, the public calls: the target's key is
 * the stored value; loading the target is doc_load.c's.
 */
#include "doc_private.h"

#include <string.h>

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
