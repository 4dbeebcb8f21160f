/* kvlayout.c - see kvlayout.h for the layout and its invariants. */
#include "kvlayout.h"
#include "bytes.h"

#include "kvlfilter.h"
#include "manifest.h"
#include "overlay.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

/*** byte buffers ***/

typedef kvl_buf_t buf_t;

static int nomem(const kvl_t *l, kvkit_error_t *err, const char *subject)
{
    return kvkit_backend_error(err, KVKIT_NOMEM, subject, "%s: out of memory", l->name);
}

/* Writing into a batch failed with status rc (the engine's batch_put and
 * batch_del, and the overlay, report a status and no text): report rc. */
static int batch_fail(const kvl_t *l, kvkit_error_t *err, const char *key, int rc)
{
    if (rc == KVKIT_NOMEM)
        return nomem(l, err, key);
    if (rc == KVKIT_TOO_LARGE)
        return kvkit_backend_error(err, rc, key, "%s: \"%s\": too large for one write batch",
                                   l->name, key);
    return kvkit_backend_error(err, rc, key, "%s: \"%s\": the engine refused a batch write (status %d)",
                               l->name, key, rc);
}

/* Copy n bytes at p and return the end (memcpy of 0 bytes from NULL is
 * undefined, so n == 0 copies nothing). */
static unsigned char *put(unsigned char *p, const void *src, size_t n)
{
    if (n > 0)
        memcpy(p, src, n);
    return p + n;
}

/* 'T' lp(bucket) key, built with one capacity check (every save builds
 * several keys) */
static void key_doclike(buf_t *b, char type, const char *bucket, const char *key, size_t key_len)
{
    size_t blen = strlen(bucket);
    b->len = 0;
    b->failed = false; /* a store's buffer: one failed build must not fail the next */
    if (!kvl_buf_reserve(b, 2 + blen + key_len))
        return;
    unsigned char *p = b->p;
    *p++ = (unsigned char)type;
    *p++ = (unsigned char)blen;
    p = put(put(p, bucket, blen), key, key_len);
    b->len = (size_t)(p - b->p);
    *p = '\0';
}

/* 'i' lp(bucket) lp(field) [sortable [key]] */
static void key_index(buf_t *b, const char *bucket, const char *field, size_t field_len,
                      const unsigned char *sortable, size_t sortable_len, const char *key,
                      size_t key_len)
{
    size_t blen = strlen(bucket);
    b->len = 0;
    b->failed = false;
    if (!kvl_buf_reserve(b, 3 + blen + field_len + sortable_len + key_len))
        return;
    unsigned char *p = b->p;
    *p++ = KVL_INDEX;
    *p++ = (unsigned char)blen;
    p = put(p, bucket, blen);
    *p++ = (unsigned char)field_len;
    p = put(put(put(p, field, field_len), sortable, sortable_len), key, key_len);
    b->len = (size_t)(p - b->p);
    *p = '\0';
}

static const unsigned char revision_key[1] = {KVL_REVISION};

/* Revisions are reserved in leases: the stored 'r' is a ceiling that moves
 * up by this much, in the batch of the save that crosses it, so most
 * batches carry no 'r' write.  A reopened store starts at the ceiling, so
 * at most a lease of numbers is skipped per open; none is ever reused. */
#define KVL_REVISION_LEASE 4096

/*** key decoding ***/

int kvl_key_decode(const unsigned char *k, size_t klen, kvl_key_t *out)
{
    memset(out, 0, sizeof *out);
    if (klen >= 1 && ((klen == 1 && k[0] == KVL_REVISION) ||
                      (k[0] == KVL_FILTER && (klen == 1 || klen == 6)))) {
        out->type = (char)k[0];
        return KVKIT_OK;
    }
    if (klen < 2)
        return KVKIT_CORRUPT;
    out->type = (char)k[0];
    if (out->type != KVL_DOC && out->type != KVL_MANIFEST && out->type != KVL_INDEX)
        return KVKIT_CORRUPT;
    size_t pos = 1, n = k[pos++];
    if (n == 0 || pos + n > klen)
        return KVKIT_CORRUPT;
    out->bucket = (const char *)k + pos;
    out->bucket_len = n;
    pos += n;
    if (out->type == KVL_INDEX) {
        if (pos >= klen)
            return KVKIT_CORRUPT;
        n = k[pos++];
        if (n == 0 || pos + n > klen)
            return KVKIT_CORRUPT;
        out->field = (const char *)k + pos;
        out->field_len = n;
        pos += n;
        n = kvkit_sortable_length(k + pos, klen - pos);
        if (n == 0)
            return KVKIT_CORRUPT;
        out->sortable = k + pos;
        out->sortable_len = n;
        pos += n;
    }
    if (pos >= klen) /* keys are never empty */
        return KVKIT_CORRUPT;
    out->key = (const char *)k + pos;
    out->key_len = klen - pos;
    return KVKIT_OK;
}

/*** manifests: the revision (8 bytes BE), then the entries (manifest.h) ***/

#define MANIFEST_HEAD 8

/* Parse a manifest into its revision and a malloc'd array of entries;
 * KVKIT_CORRUPT on bad bytes, KVKIT_NOMEM. */
static int manifest_parse(const unsigned char *m, size_t mlen, uint64_t *rev, kvl_mentry_t **out,
                          size_t *n)
{
    int rc = kvl_manifest_parse(m, mlen, MANIFEST_HEAD, out, n);
    if (rc == KVKIT_OK)
        *rev = kvl_be64_get(m);
    return rc;
}

static bool has_prefix(const unsigned char *k, size_t klen, const buf_t *prefix);

/*** save and delete, into a batch ***/

/* `expected` of a save that checks nothing. */
#define UNCHECKED UINT64_MAX
/* The revision reported for a key whose manifest had to be rebuilt: it
 * matches no revision a reader can hold, so save-if-unchanged conflicts. */
#define REV_UNKNOWN (UINT64_MAX - 1)

static int mentry_qsort_cmp(const void *a, const void *b)
{
    return kvl_mentry_cmp(a, b);
}

/* A manifest damaged beyond parsing: rebuild it from the index itself, by
 * scanning every index entry of the bucket for ones that belong to `key`.
 * Slow (the bucket's whole index), but only taken on damage, and it lets
 * the next save or delete of the key put things right instead of failing
 * forever.  *raw receives a synthetic manifest (REV_UNKNOWN, then the
 * entries in (field, sortable) order). */
static int manifest_rebuild(const kvl_t *l, const char *bucket, const char *key, char **raw,
                            size_t *len, kvkit_error_t *err)
{
    size_t key_len = strlen(key);
    buf_t prefix = {0}, scratch = {0}, out = {0};
    kvl_buf_byte(&prefix, KVL_INDEX);
    kvl_buf_lp(&prefix, bucket, strlen(bucket));
    kvl_mentry_t *v = NULL;
    size_t n = 0, cap = 0;
    int rc = KVKIT_OK;
    void *it = prefix.failed ? NULL : l->ops->iter_new(l->eng, NULL);
    if (it == NULL) {
        kvl_buf_free(&prefix);
        return nomem(l, err, key);
    }
    /* pass 1: copy each matching (field, sortable) into scratch; offsets
     * stand in for pointers until scratch stops moving */
    for (l->ops->iter_seek(it, prefix.p, prefix.len); l->ops->iter_valid(it);
         l->ops->iter_next(it)) {
        size_t klen;
        const unsigned char *k = l->ops->iter_key(it, &klen);
        kvl_key_t d;
        if (!has_prefix(k, klen, &prefix))
            break;
        if (kvl_key_decode(k, klen, &d) != KVKIT_OK || d.key_len != key_len ||
            memcmp(d.key, key, key_len) != 0)
            continue;
        if (n == cap) {
            cap = cap ? 2 * cap : 8;
            kvl_mentry_t *g = realloc(v, cap * sizeof *g);
            if (g == NULL) {
                rc = KVKIT_NOMEM;
                break;
            }
            v = g;
        }
        v[n].field = (const char *)(uintptr_t)scratch.len;
        v[n].field_len = d.field_len;
        kvl_buf_add(&scratch, d.field, d.field_len);
        v[n].sortable = (const unsigned char *)(uintptr_t)scratch.len;
        v[n].sortable_len = d.sortable_len;
        kvl_buf_add(&scratch, d.sortable, d.sortable_len);
        n++;
    }
    if (rc == KVKIT_OK)
        rc = l->ops->iter_status(it, err);
    l->ops->iter_free(it);
    if (rc == KVKIT_OK && scratch.failed)
        rc = KVKIT_NOMEM;
    /* pass 2: sort and write the synthetic manifest */
    if (rc == KVKIT_OK) {
        for (size_t i = 0; i < n; i++) {
            v[i].field = (const char *)scratch.p + (uintptr_t)v[i].field;
            v[i].sortable = scratch.p + (uintptr_t)v[i].sortable;
        }
        if (n > 1) /* v is NULL when nothing matched: qsort must not see it */
            qsort(v, n, sizeof *v, mentry_qsort_cmp);
        unsigned char rev[8];
        kvl_be64_put(rev, REV_UNKNOWN);
        kvl_buf_add(&out, rev, 8);
        for (size_t i = 0; i < n; i++) {
            kvl_buf_lp(&out, v[i].field, v[i].field_len);
            kvl_buf_add(&out, v[i].sortable, v[i].sortable_len);
        }
        if (out.failed)
            rc = KVKIT_NOMEM;
    }
    free(v);
    kvl_buf_free(&prefix);
    kvl_buf_free(&scratch);
    if (rc != KVKIT_OK) {
        kvl_buf_free(&out);
        return rc == KVKIT_NOMEM ? nomem(l, err, key) : rc;
    }
    *raw = (char *)out.p;
    *len = out.len;
    return KVKIT_OK;
}

/* Read the stored manifest of bucket/key (through the overlay), for a
 * writer.  *raw is malloc'd (NULL when none); *v points into it; *rev is 0
 * when absent.  A corrupt manifest is rebuilt from the index. */
static int manifest_read(kvl_t *l, const kvl_overlay_t *o, const buf_t *mkey,
                         const char *bucket, const char *key, char **raw, uint64_t *rev,
                         kvl_mentry_t **v, size_t *n, bool *stored, uint64_t *hash,
                         kvkit_error_t *err)
{
    *stored = false;
    *raw = NULL;
    *v = NULL;
    *n = 0;
    *rev = 0;
    size_t len = 0;
    const unsigned char *written;
    int rc;
    if (o != NULL && kvl_overlay_get(o, mkey->p, mkey->len, &written, &len)) {
        if (written == NULL)
            return KVKIT_OK;
        if ((*raw = malloc(len ? len : 1)) == NULL)
            return nomem(l, err, key);
        memcpy(*raw, written, len);
    } else if ((*stored = true, kvl_filter_absent(l, mkey->p, mkey->len, hash))) {
        return KVKIT_OK; /* a new key: certainly no manifest */
    } else {
        rc = l->ops->get(l->eng, mkey->p, mkey->len, raw, &len, err);
        if (rc == KVKIT_NOTFOUND)
            return KVKIT_OK;
        if (rc != KVKIT_OK)
            return rc;
    }
    rc = manifest_parse((const unsigned char *)*raw, len, rev, v, n);
    if (rc == KVKIT_CORRUPT) {
        free(*raw);
        *raw = NULL;
        if ((rc = manifest_rebuild(l, bucket, key, raw, &len, err)) != KVKIT_OK)
            return rc;
        rc = manifest_parse((const unsigned char *)*raw, len, rev, v, n);
    }
    if (rc == KVKIT_NOMEM)
        return nomem(l, err, key);
    if (rc != KVKIT_OK)
        return kvkit_backend_error(err, KVKIT_CORRUPT, key,
                                   "%s: index manifest of \"%s\" is corrupt", l->name, key);
    return KVKIT_OK;
}

/* One document's writes into a batch: its index keys (the diff's emit),
 * then the document and its manifest. */
typedef struct docw {
    kvl_t *l;
    void *batch;
    kvl_overlay_t *o; /* NULL: a batch of one */
    const char *bucket;
    const char *key;
    size_t key_len;
    buf_t *k;       /* scratch for keys: the store's (writers hold its lock) */
    bool is_new;   /* no manifest stored (docw_read) */
    uint64_t hash; /* the key's manifest filter hash, when is_new */
} docw_t;

static int emit_index(void *ctx, const kvl_mentry_t *e, const unsigned char *value,
                      size_t value_len)
{
    docw_t *w = ctx;
    key_index(w->k, w->bucket, e->field, e->field_len, e->sortable, e->sortable_len, w->key,
              w->key_len);
    if (w->k->failed)
        return KVKIT_NOMEM;
    return value ? w->l->ops->batch_put(w->batch, w->k->p, w->k->len, value, value_len)
                 : w->l->ops->batch_del(w->batch, w->k->p, w->k->len);
}

/* Put the document and its manifest m[0..mlen), or (value NULL) delete both. */
static int write_doc(docw_t *w, const char *value, size_t value_len, const unsigned char *m,
                     size_t mlen)
{
    const kvl_ops_t *ops = w->l->ops;
    key_doclike(w->k, KVL_DOC, w->bucket, w->key, w->key_len);
    if (w->k->failed)
        return KVKIT_NOMEM;
    int rc = value ? ops->batch_put(w->batch, w->k->p, w->k->len, value, value_len)
                   : ops->batch_del(w->batch, w->k->p, w->k->len);
    key_doclike(w->k, KVL_MANIFEST, w->bucket, w->key, w->key_len);
    if (rc == KVKIT_OK && w->k->failed)
        rc = KVKIT_NOMEM;
    if (rc == KVKIT_OK)
        rc = value ? ops->batch_put(w->batch, w->k->p, w->k->len, m, mlen)
                   : ops->batch_del(w->batch, w->k->p, w->k->len);
    if (rc == KVKIT_OK && w->o != NULL)
        rc = kvl_overlay_set(w->o, w->k->p, w->k->len, value ? m : NULL, mlen);
    return rc;
}

/* Read the document's stored manifest (through the overlay) for a write. */
static int docw_read(docw_t *w, char **raw, uint64_t *rev, kvl_mentry_t **old, size_t *n_old,
                     kvkit_error_t *err)
{
    key_doclike(w->k, KVL_MANIFEST, w->bucket, w->key, w->key_len);
    if (w->k->failed)
        return nomem(w->l, err, w->key);
    bool stored;
    int rc = manifest_read(w->l, w->o, w->k, w->bucket, w->key, raw, rev, old, n_old, &stored,
                           &w->hash, err);
    w->is_new = rc == KVKIT_OK && stored && *raw == NULL;
    return rc;
}

static int save_into(kvl_t *l, void *batch, kvl_overlay_t *o, const char *bucket,
                     const char *key, const char *value, size_t value_len,
                     const kvkit_index_entry_t *entries, size_t n_entries,
                     uint64_t expected, kvkit_error_t *err)
{
    docw_t w = {l, batch, o, bucket, key, strlen(key), &l->wkey, false, 0};
    char *raw = NULL;
    kvl_mentry_t *old = NULL;
    size_t n_old = 0;
    uint64_t old_rev = 0;
    int rc = docw_read(&w, &raw, &old_rev, &old, &n_old, err);
    if (rc == KVKIT_OK && expected != UNCHECKED && old_rev != expected)
        rc = kvkit_backend_error(err, KVKIT_CONFLICT, key,
                                 "%s: save \"%s\": the stored document changed since it was read "
                                 "(revision %llu, expected %llu)",
                                 l->name, key, (unsigned long long)old_rev,
                                 (unsigned long long)expected);
    if (rc == KVKIT_OK) {
        unsigned char head[MANIFEST_HEAD];
        kvl_be64_put(head, ++l->revision);
        const unsigned char *m =
            kvl_manifest_build_buf(&l->wmanifest, head, sizeof head, entries, n_entries);
        rc = m == NULL ? KVKIT_NOMEM
                       : kvl_manifest_diff(old, n_old, entries, n_entries, emit_index, &w);
        if (rc == KVKIT_OK)
            rc = write_doc(&w, value, value_len, m, l->wmanifest.len);
        if (rc == KVKIT_OK && w.is_new)
            kvl_filter_note(l, w.hash); /* before the commit: the filter may say more, never less */
        if (rc != KVKIT_OK)
            rc = batch_fail(l, err, key, rc);
    }
    free(raw);
    free(old);
    return rc;
}

static int delete_into(kvl_t *l, void *batch, kvl_overlay_t *o, const char *bucket,
                       const char *key, kvkit_error_t *err)
{
    docw_t w = {l, batch, o, bucket, key, strlen(key), &l->wkey, false, 0};
    char *raw = NULL;
    kvl_mentry_t *old = NULL;
    size_t n_old = 0;
    uint64_t old_rev;
    int rc = docw_read(&w, &raw, &old_rev, &old, &n_old, err);
    if (rc == KVKIT_OK) {
        rc = kvl_manifest_diff(old, n_old, NULL, 0, emit_index, &w); /* every key goes */
        if (rc == KVKIT_OK)
            rc = write_doc(&w, NULL, 0, NULL, 0);
        if (rc != KVKIT_OK)
            rc = batch_fail(l, err, key, rc);
    }
    free(raw);
    free(old);
    return rc;
}

/* Commit the batch, raising the stored revision ceiling in the same batch
 * when a revision went past it (a failed commit leaves a gap in revisions,
 * which is harmless). */
static int commit(kvl_t *l, void *batch, int rc, kvkit_error_t *err)
{
    uint64_t ceiling = l->ceiling;
    if (rc == KVKIT_OK && l->revision > l->ceiling) {
        unsigned char rev_bytes[8];
        ceiling = l->revision + KVL_REVISION_LEASE; /* one 'r' write per lease */
        kvl_be64_put(rev_bytes, ceiling);
        rc = l->ops->batch_put(batch, revision_key, sizeof revision_key, rev_bytes, 8);
        if (rc != KVKIT_OK)
            rc = batch_fail(l, err, "", rc);
    }
    if (rc == KVKIT_OK)
        rc = l->ops->batch_commit(l->eng, batch, err);
    if (rc == KVKIT_OK)
        l->ceiling = ceiling;
    l->ops->batch_free(batch);
    return rc;
}

void kvl_close(kvl_t *l)
{
    kvl_filter_close(l);
    kvl_buf_free(&l->wkey);
    kvl_buf_free(&l->wmanifest);
}

int kvl_open(kvl_t *l, kvkit_error_t *err)
{
    char *v = NULL;
    size_t vlen = 0;
    int rc = l->ops->get(l->eng, revision_key, sizeof revision_key, &v, &vlen, err);
    l->revision = l->ceiling = 0;
    if (rc == KVKIT_NOTFOUND)
        return KVKIT_OK;
    if (rc != KVKIT_OK)
        return rc;
    /* a counter past 2^63 cannot come from counting saves; taking it would
     * let ++revision wrap to 0 (a "never stored" revision) and reuse numbers */
    if (vlen != 8 || kvl_be64_get((const unsigned char *)v) > UINT64_MAX / 2)
        rc = kvkit_backend_error(err, KVKIT_CORRUPT, "", "%s: revision counter is corrupt", l->name);
    else
        l->revision = l->ceiling = kvl_be64_get((const unsigned char *)v);
    free(v);
    return rc;
}

static int save_checked(kvl_t *l, const char *bucket, const char *key, const char *value,
                        size_t value_len, const kvkit_index_entry_t *entries,
                        size_t n_entries, uint64_t expected, uint64_t *new_revision,
                        kvkit_error_t *err)
{
    void *batch = l->ops->batch_new(l->eng);
    if (batch == NULL)
        return nomem(l, err, key);
    int rc = save_into(l, batch, NULL, bucket, key, value, value_len, entries, n_entries,
                       expected, err);
    rc = commit(l, batch, rc, err);
    if (rc == KVKIT_OK && new_revision != NULL)
        *new_revision = l->revision;
    return rc;
}

int kvl_save(kvl_t *l, const char *bucket, const char *key, const char *value,
             size_t value_len, const kvkit_index_entry_t *entries, size_t n_entries,
             kvkit_error_t *err)
{
    return save_checked(l, bucket, key, value, value_len, entries, n_entries, UNCHECKED,
                        NULL, err);
}

int kvl_save_if(kvl_t *l, const char *bucket, const char *key, const char *value,
                size_t value_len, const kvkit_index_entry_t *entries, size_t n_entries,
                uint64_t expected, uint64_t *new_revision, kvkit_error_t *err)
{
    if (expected == UNCHECKED)
        return kvkit_backend_error(err, KVKIT_INVALID, key, "%s: revision %llu is out of range",
                                   l->name, (unsigned long long)expected);
    return save_checked(l, bucket, key, value, value_len, entries, n_entries, expected,
                        new_revision, err);
}

int kvl_get_rev(const kvl_t *l, const char *bucket, const char *key, char **value,
                size_t *value_len, uint64_t *revision, kvkit_error_t *err)
{
    /* document and manifest from one iterator, so they are one state */
    size_t key_len = strlen(key);
    buf_t k = {0};
    char *m = NULL;
    size_t mlen = 0;
    void *it = l->ops->iter_new(l->eng, NULL);
    if (it == NULL)
        return nomem(l, err, key);
    key_doclike(&k, KVL_DOC, bucket, key, key_len);
    int rc = k.failed ? nomem(l, err, key)
                      : l->ops->iter_get(it, k.p, k.len, value, value_len, err);
    if (rc == KVKIT_OK) {
        key_doclike(&k, KVL_MANIFEST, bucket, key, key_len);
        rc = k.failed ? nomem(l, err, key) : l->ops->iter_get(it, k.p, k.len, &m, &mlen, err);
        if (rc == KVKIT_OK && mlen >= 8)
            *revision = kvl_be64_get((const unsigned char *)m);
        else if (rc == KVKIT_OK || rc == KVKIT_NOTFOUND)
            rc = kvkit_backend_error(err, KVKIT_CORRUPT, key,
                                     "%s: document \"%s\" has no valid manifest (save or delete it to rebuild)",
                                     l->name, key);
        if (rc != KVKIT_OK) {
            free(*value);
            *value = NULL;
        }
    }
    free(m);
    kvl_buf_free(&k);
    l->ops->iter_free(it);
    return rc;
}

int kvl_delete(kvl_t *l, const char *bucket, const char *key, kvkit_error_t *err)
{
    void *batch = l->ops->batch_new(l->eng);
    if (batch == NULL)
        return nomem(l, err, key);
    int rc = delete_into(l, batch, NULL, bucket, key, err);
    return commit(l, batch, rc, err);
}

int kvl_write_batch(kvl_t *l, const kvkit_backend_write_t *w, size_t n,
                    kvkit_error_t *err)
{
    void *batch = l->ops->batch_new(l->eng);
    if (batch == NULL)
        return nomem(l, err, "");
    kvl_overlay_t o = {0};
    int rc = KVKIT_OK;
    for (size_t i = 0; i < n && rc == KVKIT_OK; i++)
        rc = w[i].value ? save_into(l, batch, &o, w[i].bucket, w[i].key, w[i].value,
                                    w[i].value_len, w[i].entries, w[i].n_entries, UNCHECKED,
                                    err)
                        : delete_into(l, batch, &o, w[i].bucket, w[i].key, err);
    kvl_overlay_free(&o);
    return commit(l, batch, rc, err);
}

int kvl_get(const kvl_t *l, void *snap, const char *bucket, const char *key, char **value,
            size_t *value_len, kvkit_error_t *err)
{
    buf_t k = {0};
    key_doclike(&k, KVL_DOC, bucket, key, strlen(key));
    if (k.failed)
        return nomem(l, err, key);
    int rc;
    if (snap == NULL) {
        rc = l->ops->get(l->eng, k.p, k.len, value, value_len, err);
    } else {
        void *it = l->ops->iter_new(l->eng, snap);
        rc = it == NULL ? nomem(l, err, key)
                        : l->ops->iter_get(it, k.p, k.len, value, value_len, err);
        if (it != NULL)
            l->ops->iter_free(it);
    }
    kvl_buf_free(&k);
    return rc;
}

/*** scans ***/

static bool has_prefix(const unsigned char *k, size_t klen, const buf_t *prefix)
{
    return klen >= prefix->len && memcmp(k, prefix->p, prefix->len) == 0;
}

/* An index scan in progress. */
typedef struct iscan {
    const kvl_t *l;
    void *it;
    const char *bucket, *field;
    const kvkit_index_value_t *lo, *hi;
    kvkit_backend_key_fn key_fn;
    kvkit_backend_doc_fn doc_fn;
    void *ctx;
    buf_t prefix, dk;
    bool equal; /* lo == hi: a key has one entry in range, no predecessor to check */
} iscan_t;

#define ISCAN_STOP (-1) /* not a status: the scan ends quietly */

/* Hand the key (and with doc_fn, its document, read in the scan's state)
 * to the caller. */
static int iscan_hand(iscan_t *s, const char *key, size_t key_len, const unsigned char *sortable,
                      size_t slen, kvkit_error_t *err)
{
    if (s->doc_fn == NULL)
        return s->key_fn(s->ctx, key, key_len, sortable, slen) ? ISCAN_STOP : KVKIT_OK;
    char *doc = NULL;
    size_t doc_len = 0;
    key_doclike(&s->dk, KVL_DOC, s->bucket, key, key_len);
    if (s->dk.failed)
        return nomem(s->l, err, s->field);
    int rc = s->l->ops->iter_get(s->it, s->dk.p, s->dk.len, &doc, &doc_len, err);
    if (rc == KVKIT_NOTFOUND)
        return kvkit_backend_error(err, KVKIT_CORRUPT, s->field,
                                   "%s: index entry for \"%s\" points at missing document \"%.*s\" in bucket \"%s\"",
                                   s->l->name, s->field, (int)key_len, key, s->bucket);
    if (rc != KVKIT_OK)
        return rc;
    rc = s->doc_fn(s->ctx, key, key_len, doc, doc_len, sortable, slen) ? ISCAN_STOP : KVKIT_OK;
    free(doc);
    return rc;
}

#define ISCAN_SKIP (-2) /* not a status: the entry is not one to hand over */

/* Whether the index entry k[0..klen) under the scan's prefix (the
 * iterator's current one) is a key's first in range: KVKIT_OK with *hit
 * its position, ISCAN_SKIP, ISCAN_STOP past hi, or an error status. */
static int iscan_match(const iscan_t *s, const unsigned char *k, size_t klen,
                       kvkit_index_position_t *hit, kvkit_error_t *err)
{
    const unsigned char *rest = k + s->prefix.len;
    size_t rest_len = klen - s->prefix.len;
    size_t slen = kvkit_sortable_length(rest, rest_len);
    if (slen == 0 || slen == rest_len)
        return kvkit_backend_error(err, KVKIT_CORRUPT, s->field,
                                   "%s: malformed index entry for \"%s\" in bucket \"%s\"",
                                   s->l->name, s->field, s->bucket);
    if (kvkit_sortable_cmp(rest, slen, s->hi->sortable, s->hi->sortable_len) > 0)
        return ISCAN_STOP;
    if (kvkit_sortable_cmp(rest, slen, s->lo->sortable, s->lo->sortable_len) < 0)
        return ISCAN_SKIP; /* resumed or sought before lo */
    /* each key once: skip it here if its previous value is also in range */
    size_t vlen = 0;
    const unsigned char *pv = s->equal ? NULL : s->l->ops->iter_value(s->it, &vlen);
    if (vlen > 1 && pv[0] == 1 &&
        kvkit_sortable_cmp(pv + 1, vlen - 1, s->lo->sortable, s->lo->sortable_len) >= 0)
        return ISCAN_SKIP;
    *hit = (kvkit_index_position_t){rest, slen, (const char *)rest + slen, rest_len - slen};
    return KVKIT_OK;
}

/* One index entry k[0..klen) under the scan's prefix: KVKIT_OK to go on,
 * ISCAN_STOP past hi or when the caller stops, or an error status. */
static int iscan_entry(iscan_t *s, const unsigned char *k, size_t klen, kvkit_error_t *err)
{
    kvkit_index_position_t hit;
    int rc = iscan_match(s, k, klen, &hit, err);
    if (rc != KVKIT_OK)
        return rc == ISCAN_SKIP ? KVKIT_OK : rc;
    return iscan_hand(s, hit.key, hit.key_len, hit.sortable, hit.sortable_len, err);
}

int kvl_index_lookup(const kvl_t *l, void *snap, const char *bucket, const char *field,
                     const kvkit_index_value_t *lo, const kvkit_index_value_t *hi,
                     const kvkit_index_position_t *after, kvkit_backend_key_fn key_fn,
                     kvkit_backend_doc_fn doc_fn, void *ctx, kvkit_error_t *err)
{
    iscan_t s = {l,      NULL, bucket, field, lo, hi, key_fn, doc_fn, ctx, {0}, {0},
                 lo->sortable_len == hi->sortable_len &&
                     memcmp(lo->sortable, hi->sortable, lo->sortable_len) == 0};
    buf_t seek = {0};
    size_t field_len = strlen(field);
    key_index(&s.prefix, bucket, field, field_len, NULL, 0, NULL, 0);
    if (after != NULL)
        key_index(&seek, bucket, field, field_len, after->sortable, after->sortable_len,
                  after->key, after->key_len);
    else
        key_index(&seek, bucket, field, field_len, lo->sortable, lo->sortable_len, NULL, 0);
    if (!s.prefix.failed && !seek.failed)
        s.it = l->ops->iter_new(l->eng, snap);
    if (s.it == NULL) {
        kvl_buf_free(&s.prefix);
        kvl_buf_free(&seek);
        return nomem(l, err, field);
    }
    int rc = KVKIT_OK;
    bool skip_equal = after != NULL;
    for (l->ops->iter_seek(s.it, seek.p, seek.len); rc == KVKIT_OK && l->ops->iter_valid(s.it);
         l->ops->iter_next(s.it)) {
        size_t klen;
        const unsigned char *k = l->ops->iter_key(s.it, &klen);
        if (!has_prefix(k, klen, &s.prefix))
            break;
        bool resumed_at = skip_equal && klen == seek.len && memcmp(k, seek.p, klen) == 0;
        skip_equal = false;
        if (!resumed_at)
            rc = iscan_entry(&s, k, klen, err);
    }
    if (rc == ISCAN_STOP)
        rc = KVKIT_OK;
    if (rc == KVKIT_OK)
        rc = l->ops->iter_status(s.it, err);
    l->ops->iter_free(s.it);
    kvl_buf_free(&s.prefix);
    kvl_buf_free(&seek);
    kvl_buf_free(&s.dk);
    return rc;
}

int kvl_list_keys(const kvl_t *l, void *snap, const char *bucket, const char *lo, const char *hi,
                  kvkit_backend_key_fn fn, void *ctx, kvkit_error_t *err)
{
    buf_t prefix = {0}, seek = {0};
    key_doclike(&prefix, KVL_DOC, bucket, "", 0);
    key_doclike(&seek, KVL_DOC, bucket, lo ? lo : "", lo ? strlen(lo) : 0);
    size_t hi_len = hi ? strlen(hi) : 0;
    void *it = prefix.failed || seek.failed ? NULL : l->ops->iter_new(l->eng, snap);
    if (it == NULL) {
        kvl_buf_free(&prefix);
        kvl_buf_free(&seek);
        return nomem(l, err, bucket);
    }
    int rc = KVKIT_OK;
    for (l->ops->iter_seek(it, seek.p, seek.len); l->ops->iter_valid(it); l->ops->iter_next(it)) {
        size_t klen;
        const unsigned char *k = l->ops->iter_key(it, &klen);
        if (!has_prefix(k, klen, &prefix))
            break;
        const char *key = (const char *)k + prefix.len;
        size_t key_len = klen - prefix.len;
        if (hi != NULL && kvkit_sortable_cmp((const unsigned char *)key, key_len,
                                       (const unsigned char *)hi, hi_len) > 0)
            break;
        if (fn(ctx, key, key_len, NULL, 0))
            break;
    }
    rc = l->ops->iter_status(it, err);
    l->ops->iter_free(it);
    kvl_buf_free(&prefix);
    kvl_buf_free(&seek);
    return rc;
}

/*** index cursors ***/

struct kvl_icur {
    iscan_t s;    /* the layout, the iterator, the prefix and the bounds */
    buf_t seek;
    buf_t arena;  /* the entries of the last call, when it read several */
    bool started, ended;
};

void kvl_icur_close(kvl_icur_t *c)
{
    if (c == NULL)
        return;
    if (c->s.it != NULL)
        c->s.l->ops->iter_free(c->s.it);
    kvl_buf_free(&c->s.prefix);
    kvl_buf_free(&c->seek);
    kvl_buf_free(&c->arena);
    free(c);
}

int kvl_icur_open(const kvl_t *l, void *snap, const char *bucket, const char *field,
                  const kvkit_index_value_t *lo, const kvkit_index_value_t *hi,
                  kvl_icur_t **out, kvkit_error_t *err)
{
    kvl_icur_t *c = calloc(1, sizeof *c);
    *out = NULL;
    if (c == NULL)
        return nomem(l, err, field);
    c->s = (iscan_t){.l = l, .bucket = bucket, .field = field, .lo = lo, .hi = hi,
                     .equal = lo->sortable_len == hi->sortable_len &&
                              memcmp(lo->sortable, hi->sortable, lo->sortable_len) == 0};
    key_index(&c->s.prefix, bucket, field, strlen(field), NULL, 0, NULL, 0);
    if (!c->s.prefix.failed)
        c->s.it = l->ops->iter_new(l->eng, snap);
    if (c->s.it == NULL) {
        kvl_icur_close(c);
        return nomem(l, err, field);
    }
    *out = c;
    return KVKIT_OK;
}

/* Seek the iterator to the prefix followed by `at`, or by lo when `at` is
 * NULL or before lo. */
static bool icur_seek(kvl_icur_t *c, const kvkit_index_position_t *at)
{
    const kvkit_index_value_t *lo = c->s.lo;
    if (at != NULL &&
        kvkit_sortable_cmp(at->sortable, at->sortable_len, lo->sortable, lo->sortable_len) < 0)
        at = NULL;
    c->seek.len = 0;
    c->seek.failed = false;
    kvl_buf_add(&c->seek, c->s.prefix.p, c->s.prefix.len);
    if (at != NULL) {
        kvl_buf_add(&c->seek, at->sortable, at->sortable_len);
        kvl_buf_add(&c->seek, at->key, at->key_len);
    } else {
        kvl_buf_add(&c->seek, lo->sortable, lo->sortable_len);
    }
    if (c->seek.failed)
        return false;
    c->s.l->ops->iter_seek(c->s.it, c->seek.p, c->seek.len);
    return true;
}

/* Read entries from the iterator's position into hits (at most max),
 * copied into the arena (the iterator moves on; the ABI wants each key
 * followed by a NUL).  KVKIT_OK with *n of them, ISCAN_STOP at the end of
 * the range, or an error status. */
static int icur_fill(kvl_icur_t *c, kvkit_index_position_t *hits, size_t max, size_t *n,
                     kvkit_error_t *err)
{
    const kvl_ops_t *ops = c->s.l->ops;
    c->arena.len = 0;
    c->arena.failed = false;
    if (!kvl_buf_reserve(&c->arena, 48 * max)) /* one allocation for most pages */
        return nomem(c->s.l, err, c->s.field);
    for (bool first = true;; first = false) {
        if (!first)
            ops->iter_next(c->s.it);
        size_t klen;
        const unsigned char *k = ops->iter_valid(c->s.it) ? ops->iter_key(c->s.it, &klen) : NULL;
        if (k == NULL || !has_prefix(k, klen, &c->s.prefix))
            return ISCAN_STOP;
        int rc = iscan_match(&c->s, k, klen, &hits[*n], err);
        if (rc == ISCAN_SKIP)
            continue;
        if (rc != KVKIT_OK)
            return rc;
        const kvkit_index_position_t *h = &hits[*n];
        size_t need = h->sortable_len + h->key_len + 1;
        if (!kvl_buf_reserve(&c->arena, need))
            return nomem(c->s.l, err, c->s.field);
        unsigned char *p = c->arena.p + c->arena.len;
        memcpy(p, h->sortable, need - 1); /* the key follows its value in the entry */
        p[need - 1] = '\0';
        c->arena.len += need;
        if (++*n == max)
            return KVKIT_OK;
    }
}

int kvl_icur_next(kvl_icur_t *c, const kvkit_index_position_t *at, kvkit_index_position_t *hits,
                  size_t max, size_t *n, kvkit_error_t *err)
{
    const kvl_ops_t *ops = c->s.l->ops;
    *n = 0;
    if (c->ended)
        return KVKIT_NOTFOUND;
    if (at == NULL && c->started)
        ops->iter_next(c->s.it);
    else if (!icur_seek(c, at))
        return nomem(c->s.l, err, c->s.field);
    c->started = true;
    int rc = icur_fill(c, hits, max < 1 ? 1 : max, n, err);
    if (rc == ISCAN_STOP) {
        c->ended = true;
        rc = ops->iter_status(c->s.it, err);
        if (rc != KVKIT_OK)
            *n = 0;
    }
    if (rc != KVKIT_OK)
        return rc;
    for (size_t i = 0, off = 0; i < *n; i++) { /* the arena no longer moves: point into it */
        hits[i].sortable = c->arena.p + off;
        hits[i].key = (const char *)c->arena.p + off + hits[i].sortable_len;
        off += hits[i].sortable_len + hits[i].key_len + 1;
    }
    return *n > 0 ? KVKIT_OK : KVKIT_NOTFOUND;
}
