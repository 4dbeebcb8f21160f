/*
 * doc_document.c - documents and their store: new, get, reload, save
 * (plain and checked), delete.
 */
#include "doc_private.h"

#include <errno.h>
#include <string.h>
#include <sys/random.h>

/*** allocation and keys ***/

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
    json_decref(d->data);
    kvkit__free(d);
}

static int random_key(char *out, kvkit_error_t *err)
{
    unsigned char raw[16];
    size_t got = 0;
    while (got < sizeof raw) {
        ssize_t n = getrandom(raw + got, sizeof raw - got, 0);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return kvkit__error(err, KVKIT_IO, "getrandom", "generating a key: getrandom: %s",
                                strerror(errno));
        }
        got += (size_t)n;
    }
    static const char hex[] = "0123456789abcdef";
    for (size_t i = 0; i < sizeof raw; i++) {
        out[2 * i] = hex[raw[i] >> 4];
        out[2 * i + 1] = hex[raw[i] & 15];
    }
    out[32] = '\0';
    return KVKIT_OK;
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
        if (v == NULL || json_object_set_new(d->data, p->name, v) != 0)
            return kvkit__error(err, KVKIT_NOMEM, p->name,
                                "out of memory applying the default of \"%s\"", p->name);
    }
    return KVKIT_OK;
}

#define CHECK_SCHEMA(s, err)                                                                       \
    do {                                                                                           \
        if ((s) == NULL)                                                                           \
            return kvkit__error(err, KVKIT_INVALID, "", "schema is NULL");                         \
    } while (0)

#define CHECK_DOC(d, err)                                                                          \
    do {                                                                                           \
        if ((d) == NULL)                                                                           \
            return kvkit__error(err, KVKIT_INVALID, "", "document is NULL");                       \
    } while (0)

static int need_store(const kvkit_schema_t *s, kvkit_error_t *err)
{
    if (s->store == NULL)
        return kvkit__error(err, KVKIT_INVALID, s->name, "schema \"%s\" has no store", s->name);
    return KVKIT_OK;
}

/*** new / get ***/

int kvkit_doc_new(const kvkit_schema_t *s, const char *key, kvkit_doc_t **out, kvkit_error_t *err)
{
    if (out == NULL)
        return kvkit__error(err, KVKIT_INVALID, "", "kvkit_doc_new: out is NULL");
    *out = NULL;
    CHECK_SCHEMA(s, err);
    char generated[33];
    int rc;
    if (key == NULL) {
        if ((rc = random_key(generated, err)) != KVKIT_OK)
            return rc;
        key = generated;
    } else if ((rc = kvkit__check_bucket_key(s->bucket, key, err)) != KVKIT_OK) {
        return rc;
    }
    kvkit_doc_t *d;
    if ((rc = kvkit__doc_alloc(s, key, strlen(key), NULL, &d, err)) != KVKIT_OK)
        return rc;
    if ((rc = kvkit__doc_defaults(d, false, err)) != KVKIT_OK) {
        kvkit_doc_destroy(d);
        return rc;
    }
    *out = d;
    return KVKIT_OK;
}

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

/* Read bucket/key with its revision when the backend keeps revisions. */
static int read_stored(const kvkit_schema_t *s, const char *key, char **value, size_t *len,
                       uint64_t *rev, bool *have_rev, kvkit_error_t *err)
{
    *have_rev = false;
    if (kvkit_store_supports(s->store, "get_rev")) {
        int rc = kvkit_store_get_rev(s->store, s->bucket, key, value, len, rev, err);
        *have_rev = rc == KVKIT_OK;
        return rc;
    }
    return kvkit_store_get(s->store, s->bucket, key, value, len, err);
}

int kvkit__doc_read(const kvkit_schema_t *s, const char *key, const kvkit__loading_t *up,
                    kvkit_doc_t **out, kvkit_error_t *err)
{
    char *value = NULL;
    size_t len = 0;
    uint64_t rev = 0;
    bool have_rev;
    int rc = read_stored(s, key, &value, &len, &rev, &have_rev, err);
    if (rc != KVKIT_OK)
        return rc;
    rc = kvkit__doc_from_bytes(s, key, strlen(key), value, len, up, out, err);
    free(value); /* the store's malloc */
    if (rc == KVKIT_OK && have_rev) {
        (*out)->rev = rev;
        (*out)->rev_state = KVKIT__REV_KNOWN;
    }
    return rc;
}

int kvkit_doc_get(const kvkit_schema_t *s, const char *key, kvkit_doc_t **out, kvkit_error_t *err)
{
    if (out == NULL)
        return kvkit__error(err, KVKIT_INVALID, "", "kvkit_doc_get: out is NULL");
    *out = NULL;
    CHECK_SCHEMA(s, err);
    int rc = need_store(s, err);
    if (rc != KVKIT_OK)
        return rc;
    return kvkit__doc_read(s, key, NULL, out, err);
}

int kvkit_doc_get_or_new(const kvkit_schema_t *s, const char *key, kvkit_doc_t **out, int *created,
                         kvkit_error_t *err)
{
    if (created)
        *created = 0;
    /* only the document's own absence means "create": a missing reference
     * target is KVKIT_REF_MISSING and fails the call (a fresh document saved
     * over the stored one would lose it).  The probe reports into its own
     * record so that creating leaves err untouched. */
    kvkit_error_t probe = {0};
    int rc = kvkit_doc_get(s, key, out, &probe);
    if (rc != KVKIT_NOTFOUND)
        return rc == KVKIT_OK ? rc : kvkit__error_copy(err, &probe, rc);
    rc = kvkit_doc_new(s, key, out, err);
    if (rc == KVKIT_OK && created)
        *created = 1;
    return rc;
}

int kvkit_doc_reload(kvkit_doc_t *d, kvkit_error_t *err)
{
    CHECK_DOC(d, err);
    int rc = need_store(d->schema, err);
    if (rc != KVKIT_OK)
        return rc;
    kvkit_doc_t *fresh;
    if ((rc = kvkit__doc_read(d->schema, d->key, NULL, &fresh, err)) != KVKIT_OK)
        return rc;
    /* take over the fresh state; the object keeps its identity */
    kvkit__doc_drop_refs(d, NULL);
    json_decref(d->data);
    d->data = fresh->data;
    d->refs = fresh->refs;
    d->rev = fresh->rev;
    d->rev_state = fresh->rev_state;
    fresh->data = NULL;
    fresh->refs = NULL;
    kvkit_doc_destroy(fresh);
    return KVKIT_OK;
}

/*** save / delete ***/

static int doc_write(kvkit_doc_t *d, bool checked, kvkit_error_t *err)
{
    CHECK_DOC(d, err);
    const kvkit_schema_t *s = d->schema;
    int rc = need_store(s, err);
    if (rc != KVKIT_OK)
        return rc;
    if (checked && !kvkit_store_supports(s->store, "save_if"))
        return kvkit__error(err, KVKIT_NOT_SUPPORTED, d->key,
                            "%s: save_if is not supported by this backend: no checked saves",
                            kvkit_store_backend(s->store));
    if (checked && d->rev_state == KVKIT__REV_UNKNOWN)
        return kvkit__error(err, KVKIT_INVALID, d->key,
                            "document \"%s\": revision unknown (saved unchecked or read "
                            "without revisions); reload it before a checked save",
                            d->key);
    kvkit__vctx_t v;
    kvkit__vctx_init(&v, false, NULL);
    if (kvkit__validate(s, d->data, &v) > 0 || v.nomem) {
        char what[KVKIT_ERROR_SUBJECT_LENGTH];
        snprintf(what, sizeof what, "%s \"%s\"", s->name, d->key);
        return kvkit__vctx_report(&v, what, err);
    }
    json_t *db;
    if ((rc = kvkit__to_db(s, d->data, &db, err)) != KVKIT_OK)
        return rc;
    kvkit__scratch_t *sc = kvkit__scratch();
    if (sc == NULL) {
        json_decref(db);
        return kvkit__error(err, KVKIT_NOMEM, d->key, "out of memory saving \"%s\"", d->key);
    }
    kvkit_index_set_clear(sc->iset);
    rc = kvkit__index_entries(s, db, true, sc->iset, err);
    if (rc == KVKIT_OK && kvkit__scratch_dump(sc, db) != 0)
        rc = kvkit__error(err, KVKIT_NOMEM, d->key, "out of memory serializing \"%s\"", d->key);
    json_decref(db);
    if (rc != KVKIT_OK)
        return rc;
    if (checked) {
        uint64_t expected = d->rev_state == KVKIT__REV_KNOWN ? d->rev : 0, rev = 0;
        rc = kvkit_store_save_if(s->store, s->bucket, d->key, sc->buf, sc->len, sc->iset, expected,
                                 &rev, err);
        if (rc == KVKIT_OK) {
            d->rev = rev;
            d->rev_state = KVKIT__REV_KNOWN;
        }
    } else {
        rc = kvkit_store_save(s->store, s->bucket, d->key, sc->buf, sc->len, sc->iset, err);
        if (rc == KVKIT_OK) {
            d->rev = 0;
            d->rev_state = KVKIT__REV_UNKNOWN;
        }
    }
    kvkit__scratch_trim(sc);
    return rc;
}

int kvkit_doc_save(kvkit_doc_t *d, kvkit_error_t *err)
{
    return doc_write(d, false, err);
}

int kvkit_doc_save_checked(kvkit_doc_t *d, kvkit_error_t *err)
{
    return doc_write(d, true, err);
}

int kvkit_doc_delete(kvkit_doc_t *d, kvkit_error_t *err)
{
    CHECK_DOC(d, err);
    int rc = need_store(d->schema, err);
    if (rc != KVKIT_OK)
        return rc;
    rc = kvkit_store_delete(d->schema->store, d->schema->bucket, d->key, err);
    if (rc == KVKIT_OK) {
        d->rev = 0;
        d->rev_state = KVKIT__REV_NEW;
    }
    return rc;
}

int kvkit_doc_delete_key(const kvkit_schema_t *s, const char *key, kvkit_error_t *err)
{
    CHECK_SCHEMA(s, err);
    int rc = need_store(s, err);
    if (rc != KVKIT_OK)
        return rc;
    return kvkit_store_delete(s->store, s->bucket, key, err);
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

uint64_t kvkit_doc_revision(const kvkit_doc_t *d)
{
    return d && d->rev_state == KVKIT__REV_KNOWN ? d->rev : 0;
}

int kvkit_doc_equal(const kvkit_doc_t *a, const kvkit_doc_t *b)
{
    if (a == NULL || b == NULL)
        return 0;
    return strcmp(a->key, b->key) == 0 && strcmp(a->schema->bucket, b->schema->bucket) == 0;
}
