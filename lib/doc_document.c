/*
 * doc_document.c - the document API over the store: new, get, reload, save
 * (plain and checked), delete.  Reading is doc_load.c's, what a save writes
 * doc_prepare.c's; the document itself is doc_core.c's.
 */
#include "doc_private.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>

/*** keys ***/

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

int kvkit_doc_get(const kvkit_schema_t *s, const char *key, kvkit_doc_t **out, kvkit_error_t *err)
{
    if (out == NULL)
        return kvkit__error(err, KVKIT_INVALID, "", "kvkit_doc_get: out is NULL");
    *out = NULL;
    int rc = kvkit__schema_need_store(s, err);
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
    int rc = kvkit__schema_need_store(d->schema, err);
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
    int rc = kvkit__schema_need_store(s, err);
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
    /* the thread's scratch holds the index entries and the serialization */
    kvkit__scratch_t *sc = kvkit__scratch();
    if (sc == NULL)
        return kvkit__error(err, KVKIT_NOMEM, d->key, "out of memory saving \"%s\"", d->key);
    char what[KVKIT_ERROR_SUBJECT_LENGTH];
    snprintf(what, sizeof what, "%s \"%s\"", s->name, d->key);
    json_t *db;
    if ((rc = kvkit__prepare(s, d->data, what, &db, sc->iset, err)) != KVKIT_OK)
        return rc;
    if (kvkit__scratch_dump(sc, db) != 0)
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
    int rc = kvkit__schema_need_store(d->schema, err);
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
    int rc = kvkit__schema_need_store(s, err);
    if (rc != KVKIT_OK)
        return rc;
    return kvkit_store_delete(s->store, s->bucket, key, err);
}
