/*
 * doc_document.c - the document API over the store: new, get, reload, save
 * (plain and checked), delete.  Reading is doc_load.c's, what a save writes
 * doc_prepare.c's; the document itself is doc_core.c's.
 */
#include "doc_private.h"

#include <errno.h>
#include <stdlib.h>
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
    /* take over the fresh state and kept bytes; the object keeps its
     * identity */
    kvkit__doc_drop_refs(d, NULL);
    json_decref(d->data);
    d->data = fresh->data;
    d->refs = fresh->refs;
    kvkit__doc_rev_set(d, fresh->rev_state, fresh->rev);
    d->raw = fresh->raw;
    d->raw_len = fresh->raw_len;
    d->raw_malloc = fresh->raw_malloc;
    fresh->data = NULL;
    fresh->refs = NULL;
    fresh->raw = NULL;
    kvkit_doc_destroy(fresh);
    return KVKIT_OK;
}

/*** revisions and checked saves ***/

/* Whether the stored document is still the bytes d keeps: KVKIT_OK with
 * *rev their revision; KVKIT_CONFLICT naming the key when they changed or
 * the document is gone. */
static int stored_match(const kvkit_doc_t *d, uint64_t *rev, kvkit_error_t *err)
{
    const kvkit_schema_t *s = d->schema;
    char *value = NULL;
    size_t len = 0;
    int rc = kvkit_store_get_rev(s->store, s->bucket, d->key, &value, &len, rev, err);
    if (rc == KVKIT_NOTFOUND)
        return kvkit__error(err, KVKIT_CONFLICT, d->key,
                            "%s: save \"%s\": the stored document was deleted since it was read",
                            kvkit_store_backend(s->store), d->key);
    if (rc != KVKIT_OK)
        return rc;
    bool same =
        d->raw != NULL && len == d->raw_len && (len == 0 || memcmp(value, d->raw, len) == 0);
    free(value); /* the store's malloc */
    if (!same)
        return kvkit__error(err, KVKIT_CONFLICT, d->key,
                            "%s: save \"%s\": the stored document changed since it was read",
                            kvkit_store_backend(s->store), d->key);
    return KVKIT_OK;
}

uint64_t kvkit_doc_revision(const kvkit_doc_t *d)
{
    if (d == NULL || d->rev_state != KVKIT__REV_STORED)
        return 0;
    if (d->rev != 0)
        return d->rev;
    uint64_t rev = 0;
    if (stored_match(d, &rev, NULL) != KVKIT_OK)
        return 0;
    /* cached in the caller's document (const for the caller only): a
     * checked save then tries this revision first */
    ((kvkit_doc_t *)d)->rev = rev;
    return rev;
}

/* Save sc's serialization if the stored document is still the one d was
 * read from or last saved as.  With a known revision that is one atomic
 * save_if; without one, or when it is stale (a change since undone keeps
 * the bytes), the kept bytes are compared with the stored ones and the
 * save_if expects the revision found, so the backend's check keeps
 * read-compare-write atomic. */
static int save_checked(kvkit_doc_t *d, const kvkit__scratch_t *sc, uint64_t *rev,
                        kvkit_error_t *err)
{
    const kvkit_schema_t *s = d->schema;
    uint64_t expected = 0; /* a new document: the key must be free */
    int rc;
    if (d->rev_state == KVKIT__REV_STORED && d->rev != 0) {
        kvkit_error_t first = {0};
        rc = kvkit_store_save_if(s->store, s->bucket, d->key, sc->buf, sc->len, sc->iset, d->rev,
                                 rev, &first);
        if (rc != KVKIT_CONFLICT || d->raw == NULL)
            return rc == KVKIT_OK ? rc : kvkit__error_copy(err, &first, rc);
    }
    if (d->rev_state == KVKIT__REV_STORED && (rc = stored_match(d, &expected, err)) != KVKIT_OK)
        return rc;
    return kvkit_store_save_if(s->store, s->bucket, d->key, sc->buf, sc->len, sc->iset, expected,
                               rev, err);
}

/* After a checked save: keep the bytes written, so the next checked save
 * compares with them.  Without memory for a copy the revision alone is
 * kept: the next checked save then conflicts on any save in between. */
static void keep_written(kvkit_doc_t *d, const kvkit__scratch_t *sc, uint64_t rev)
{
    char *raw = kvkit__malloc(sc->len);
    if (raw != NULL)
        memcpy(raw, sc->buf, sc->len);
    kvkit__doc_rev_keep(d, raw, raw ? sc->len : 0, false, rev);
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
    json_t *db;
    if ((rc = kvkit__prepare(s, d->data, s->name, d->key, &db, sc->iset, err)) != KVKIT_OK)
        return rc;
    if (kvkit__scratch_dump(sc, db) != 0)
        rc = kvkit__error(err, KVKIT_NOMEM, d->key, "out of memory serializing \"%s\"", d->key);
    json_decref(db);
    if (rc != KVKIT_OK)
        return rc;
    if (checked) {
        uint64_t rev = 0;
        if ((rc = save_checked(d, sc, &rev, err)) == KVKIT_OK)
            keep_written(d, sc, rev);
    } else {
        rc = kvkit_store_save(s->store, s->bucket, d->key, sc->buf, sc->len, sc->iset, err);
        if (rc == KVKIT_OK)
            kvkit__doc_rev_set(d, KVKIT__REV_UNKNOWN, 0);
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
    if (rc == KVKIT_OK)
        kvkit__doc_rev_set(d, KVKIT__REV_NEW, 0);
    return rc;
}

int kvkit_doc_delete_key(const kvkit_schema_t *s, const char *key, kvkit_error_t *err)
{
    int rc = kvkit__schema_need_store(s, err);
    if (rc != KVKIT_OK)
        return rc;
    return kvkit_store_delete(s->store, s->bucket, key, err);
}
