/*
 * doc_load.c - reading documents: stored bytes -> a document (from-db
 * conversion, defaults), eager references loaded on read, lazy ones on
 * first access; loaded targets are cached in the referring document, which
 * owns them.  Sits on the document core; the get / save API is above it.
 */
#include "doc_private.h"

#include <stdlib.h>
#include <string.h>

/*** references ***/

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
    int rc;
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
    if ((rc = kvkit__schema_need_store(p->target, err)) != KVKIT_OK)
        return rc;
    kvkit__loading_t self = {d->schema->bucket, d->key, NULL, 0};
    kvkit_doc_t *t = NULL;
    /* NOTFOUND here is an outcome (a lenient reference reads as NULL), so the
     * read reports into its own record: nothing is left in err on KVKIT_OK */
    kvkit_error_t lower = {0};
    rc = kvkit__doc_read(p->target, key, up ? up : &self, &t, &lower);
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

/*** documents ***/

/* Eagerly load the references that are not load-on-demand, skipping any
 * document already on the loading chain. */
static int load_eager_refs(kvkit_doc_t *d, const kvkit__loading_t *here, kvkit_error_t *err)
{
    const kvkit_schema_t *s = d->schema;
    for (size_t i = 0; i < s->n_props; i++) {
        const kvkit_prop_t *p = s->props[i];
        /* a target without a store (schemas loaded for validation only)
         * is left for kvkit_doc_ref_get to report */
        if (p->kind != KVKIT_PROP_REFERENCE || (p->flags & KVKIT_PROP_LOAD_ON_DEMAND) ||
            p->target == NULL || p->target->store == NULL)
            continue;
        json_t *k = json_object_get(d->data, p->name);
        if (!json_is_string(k))
            continue;
        if (here->depth >= KVKIT__EAGER_DEPTH)
            continue;
        bool cycle = false;
        for (const kvkit__loading_t *l = here; l && !cycle; l = l->up)
            cycle = strcmp(l->key, json_string_value(k)) == 0 &&
                    strcmp(l->bucket, p->target->bucket) == 0;
        if (cycle)
            continue;
        kvkit_doc_t *target = NULL;
        int rc = kvkit__ref_load(d, p, here, &target, err);
        if (rc != KVKIT_OK)
            return rc;
    }
    return KVKIT_OK;
}

int kvkit__doc_from_bytes(const kvkit_schema_t *s, const char *key, size_t key_len,
                          const char *bytes, size_t len, const kvkit__loading_t *up,
                          kvkit_doc_t **out, kvkit_error_t *err)
{
    *out = NULL;
    json_error_t jerr;
    bool nomem;
    json_t *data = kvkit__json_parse(bytes, len, &jerr, &nomem);
    if (nomem)
        return kvkit__error(err, KVKIT_NOMEM, key, "out of memory reading \"%.*s\"", (int)key_len,
                            key);
    if (data == NULL || !json_is_object(data)) {
        json_decref(data);
        return kvkit__error(err, KVKIT_CORRUPT, key,
                            "bucket \"%s\" key \"%.*s\": stored data is not a JSON object%s%s",
                            s->bucket, (int)key_len, key, data ? "" : ": ", data ? "" : jerr.text);
    }
    kvkit_error_t lower;
    lower.code = KVKIT_OK; /* the report is only read when filled */
    int rc = kvkit__from_db(s, data, &lower);
    if (rc != KVKIT_OK)
        kvkit__error(err, rc, key, "bucket \"%s\" key \"%.*s\": %s", s->bucket, (int)key_len, key,
                     lower.text);
    kvkit_doc_t *d = NULL;
    if (rc == KVKIT_OK)
        rc = kvkit__doc_alloc(s, key, key_len, data, &d, err);
    if (rc != KVKIT_OK) {
        json_decref(data);
        return rc;
    }
    d->rev_state = KVKIT__REV_UNKNOWN;
    kvkit__loading_t here = {s->bucket, d->key, up, up ? up->depth + 1 : 0};
    if ((rc = kvkit__doc_defaults(d, false, err)) != KVKIT_OK ||
        (rc = load_eager_refs(d, &here, err)) != KVKIT_OK) {
        kvkit_doc_destroy(d);
        return rc;
    }
    *out = d;
    return KVKIT_OK;
}

/* Whether a checked save can use the bytes a read keeps: the backend has
 * both halves of it (the store's own supports() looks the name up). */
static bool keeps_bytes(const kvkit_store_t *st)
{
    const kvkit_backend_ops_t *o = &st->backend->ops;
    return o->get_rev != NULL && o->save_if != NULL;
}

int kvkit__doc_read(const kvkit_schema_t *s, const char *key, const kvkit__loading_t *up,
                    kvkit_doc_t **out, kvkit_error_t *err)
{
    char *value = NULL;
    size_t len = 0;
    /* one plain get: the revision would cost a second point read, and only
     * a checked save needs it (it compares these bytes instead) */
    int rc = kvkit_store_get(s->store, s->bucket, key, &value, &len, err);
    if (rc != KVKIT_OK)
        return rc;
    rc = kvkit__doc_from_bytes(s, key, strlen(key), value, len, up, out, err);
    if (rc == KVKIT_OK && keeps_bytes(s->store))
        kvkit__doc_rev_keep(*out, value, len, true, 0); /* taken over, not copied */
    else
        free(value); /* the store's malloc */
    return rc;
}
