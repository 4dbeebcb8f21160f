/* kvlayout.c - see kvlayout.h for the layout and its invariants. */
#include "kvlayout.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

/*** byte buffers ***/

typedef struct buf {
    unsigned char *p;
    size_t len, cap;
    bool failed;
} buf_t;

static void buf_add(buf_t *b, const void *data, size_t n)
{
    if (b->failed)
        return;
    if (b->len + n > b->cap) {
        size_t cap = b->cap ? b->cap : 64;
        while (cap < b->len + n)
            cap *= 2;
        unsigned char *p = realloc(b->p, cap);
        if (p == NULL) {
            b->failed = true;
            return;
        }
        b->p = p;
        b->cap = cap;
    }
    if (n > 0)
        memcpy(b->p + b->len, data, n);
    b->len += n;
}

static void buf_byte(buf_t *b, unsigned char c)
{
    buf_add(b, &c, 1);
}

/* lp(x): one length byte, then x (callers guarantee n <= 255) */
static void buf_lp(buf_t *b, const char *s, size_t n)
{
    buf_byte(b, (unsigned char)n);
    buf_add(b, s, n);
}

static void buf_free(buf_t *b)
{
    free(b->p);
    memset(b, 0, sizeof *b);
}

static int nomem(const kvl_t *l, kvkit_error_t *err, const char *subject)
{
    return kvkit_backend_error(err, KVKIT_NOMEM, subject, "%s: out of memory", l->name);
}

/* 'T' lp(bucket) key */
static void key_doclike(buf_t *b, char type, const char *bucket, const char *key, size_t key_len)
{
    b->len = 0;
    buf_byte(b, (unsigned char)type);
    buf_lp(b, bucket, strlen(bucket));
    buf_add(b, key, key_len);
}

/* 'i' lp(bucket) lp(field) [sortable [key]] */
static void key_index(buf_t *b, const char *bucket, const char *field, size_t field_len,
                      const unsigned char *sortable, size_t sortable_len, const char *key,
                      size_t key_len)
{
    b->len = 0;
    buf_byte(b, KVL_INDEX);
    buf_lp(b, bucket, strlen(bucket));
    buf_lp(b, field, field_len);
    buf_add(b, sortable, sortable_len);
    buf_add(b, key, key_len);
}

static int sortable_cmp(const unsigned char *a, size_t alen, const unsigned char *b, size_t blen)
{
    int c = memcmp(a, b, alen < blen ? alen : blen);
    return c ? c : (alen > blen) - (alen < blen);
}

static void put_be64(unsigned char *p, uint64_t v)
{
    for (int i = 7; i >= 0; i--, v >>= 8)
        p[i] = (unsigned char)(v & 0xff);
}

static uint64_t get_be64(const unsigned char *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = (v << 8) | p[i];
    return v;
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
    if (klen == 1 && k[0] == KVL_REVISION) {
        out->type = KVL_REVISION;
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

/*** manifests: revision, then [flen][field][sortable] ... in (field, sortable) order ***/

typedef struct mentry {
    const char *field;
    size_t field_len;
    const unsigned char *sortable;
    size_t sortable_len;
} mentry_t;

/* Parse a manifest into its revision and a malloc'd array of entries;
 * KVKIT_CORRUPT on bad bytes. */
static int manifest_parse(const unsigned char *m, size_t mlen, uint64_t *rev, mentry_t **out,
                          size_t *n)
{
    size_t cap = 0, count = 0, pos = 8;
    mentry_t *v = NULL;
    if (mlen < 8)
        return KVKIT_CORRUPT;
    *rev = get_be64(m);
    while (pos < mlen) {
        size_t flen = m[pos++];
        if (flen == 0 || pos + flen > mlen)
            goto corrupt;
        size_t slen = kvkit_sortable_length(m + pos + flen, mlen - pos - flen);
        if (slen == 0)
            goto corrupt;
        if (count == cap) {
            cap = cap ? 2 * cap : 8;
            mentry_t *g = realloc(v, cap * sizeof *g);
            if (g == NULL) {
                free(v);
                return KVKIT_NOMEM;
            }
            v = g;
        }
        v[count].field = (const char *)m + pos;
        v[count].field_len = flen;
        v[count].sortable = m + pos + flen;
        v[count].sortable_len = slen;
        count++;
        pos += flen + slen;
    }
    *out = v;
    *n = count;
    return KVKIT_OK;
corrupt:
    free(v);
    return KVKIT_CORRUPT;
}

static int mentry_cmp(const mentry_t *a, const mentry_t *b)
{
    int c = sortable_cmp((const unsigned char *)a->field, a->field_len,
                         (const unsigned char *)b->field, b->field_len);
    return c ? c : sortable_cmp(a->sortable, a->sortable_len, b->sortable, b->sortable_len);
}

/* The predecessor of v[i]: the previous entry of the same field, if any. */
static const mentry_t *pred_of(const mentry_t *v, size_t i)
{
    if (i == 0 || v[i - 1].field_len != v[i].field_len ||
        memcmp(v[i - 1].field, v[i].field, v[i].field_len) != 0)
        return NULL;
    return &v[i - 1];
}

static bool same_pred(const mentry_t *a, const mentry_t *b)
{
    if (a == NULL || b == NULL)
        return a == b;
    return sortable_cmp(a->sortable, a->sortable_len, b->sortable, b->sortable_len) == 0;
}

static void pred_value(buf_t *b, const mentry_t *pred)
{
    b->len = 0;
    if (pred == NULL) {
        buf_byte(b, 0);
    } else {
        buf_byte(b, 1);
        buf_add(b, pred->sortable, pred->sortable_len);
    }
}

static bool has_prefix(const unsigned char *k, size_t klen, const buf_t *prefix);

/*** save and delete, into a batch ***/

/* Manifests written earlier in the same batch, so a batch that touches one
 * key twice reads its own writes.  Entries in insertion order plus an
 * open-addressing hash index over them: lookups stay O(1) however large the
 * batch (a linear scan made batch writes quadratic in the batch size). */
typedef struct overlay {
    struct {
        unsigned char *mkey;
        size_t mkey_len;
        unsigned char *manifest; /* NULL: deleted */
        size_t manifest_len;
    } *v;
    size_t n, cap;
    uint32_t *slots; /* index + 1 into v; 0 = empty */
    size_t n_slots;  /* a power of two, at least twice n */
} overlay_t;

static void overlay_free(overlay_t *o)
{
    for (size_t i = 0; i < o->n; i++) {
        free(o->v[i].mkey);
        free(o->v[i].manifest);
    }
    free(o->v);
    free(o->slots);
}

static uint64_t hash_bytes(const unsigned char *p, size_t n)
{
    uint64_t h = 14695981039346656037ULL; /* FNV-1a */
    for (size_t i = 0; i < n; i++)
        h = (h ^ p[i]) * 1099511628211ULL;
    return h;
}

/* The slot holding mkey, or the empty slot where it would go. */
static size_t overlay_slot(const overlay_t *o, const unsigned char *k, size_t klen)
{
    size_t mask = o->n_slots - 1, i = (size_t)hash_bytes(k, klen) & mask;
    for (;; i = (i + 1) & mask) {
        uint32_t e = o->slots[i];
        if (e == 0)
            return i;
        if (o->v[e - 1].mkey_len == klen && memcmp(o->v[e - 1].mkey, k, klen) == 0)
            return i;
    }
}

static int overlay_find(const overlay_t *o, const buf_t *mkey)
{
    if (o->n_slots == 0)
        return -1;
    uint32_t e = o->slots[overlay_slot(o, mkey->p, mkey->len)];
    return e == 0 ? -1 : (int)(e - 1);
}

static int overlay_grow(overlay_t *o)
{
    size_t n_slots = o->n_slots ? 2 * o->n_slots : 32;
    uint32_t *slots = calloc(n_slots, sizeof *slots);
    if (slots == NULL)
        return KVKIT_NOMEM;
    free(o->slots);
    o->slots = slots;
    o->n_slots = n_slots;
    for (size_t i = 0; i < o->n; i++)
        o->slots[overlay_slot(o, o->v[i].mkey, o->v[i].mkey_len)] = (uint32_t)(i + 1);
    return KVKIT_OK;
}

static int overlay_set(overlay_t *o, const buf_t *mkey, const buf_t *manifest)
{
    int i = overlay_find(o, mkey);
    if (i < 0) {
        if (o->n == UINT32_MAX - 1)
            return KVKIT_TOO_LARGE;
        if (2 * (o->n + 1) > o->n_slots && overlay_grow(o) != KVKIT_OK)
            return KVKIT_NOMEM;
        if (o->n == o->cap) {
            size_t cap = o->cap ? 2 * o->cap : 16;
            void *g = realloc(o->v, cap * sizeof *o->v);
            if (g == NULL)
                return KVKIT_NOMEM;
            o->v = g;
            o->cap = cap;
        }
        i = (int)o->n;
        if ((o->v[i].mkey = malloc(mkey->len)) == NULL)
            return KVKIT_NOMEM;
        memcpy(o->v[i].mkey, mkey->p, mkey->len);
        o->v[i].mkey_len = mkey->len;
        o->v[i].manifest = NULL;
        o->n++;
        o->slots[overlay_slot(o, mkey->p, mkey->len)] = (uint32_t)o->n;
    }
    free(o->v[i].manifest);
    o->v[i].manifest = NULL;
    o->v[i].manifest_len = 0;
    if (manifest != NULL) {
        if ((o->v[i].manifest = malloc(manifest->len ? manifest->len : 1)) == NULL)
            return KVKIT_NOMEM;
        memcpy(o->v[i].manifest, manifest->p, manifest->len);
        o->v[i].manifest_len = manifest->len;
    }
    return KVKIT_OK;
}

/* `expected` of a save that checks nothing. */
#define UNCHECKED UINT64_MAX
/* The revision reported for a key whose manifest had to be rebuilt: it
 * matches no revision a reader can hold, so save-if-unchanged conflicts. */
#define REV_UNKNOWN (UINT64_MAX - 1)

static int mentry_qsort_cmp(const void *a, const void *b)
{
    return mentry_cmp(a, b);
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
    buf_byte(&prefix, KVL_INDEX);
    buf_lp(&prefix, bucket, strlen(bucket));
    mentry_t *v = NULL;
    size_t n = 0, cap = 0;
    int rc = KVKIT_OK;
    void *it = prefix.failed ? NULL : l->ops->iter_new(l->eng, NULL);
    if (it == NULL) {
        buf_free(&prefix);
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
            mentry_t *g = realloc(v, cap * sizeof *g);
            if (g == NULL) {
                rc = KVKIT_NOMEM;
                break;
            }
            v = g;
        }
        v[n].field = (const char *)(uintptr_t)scratch.len;
        v[n].field_len = d.field_len;
        buf_add(&scratch, d.field, d.field_len);
        v[n].sortable = (const unsigned char *)(uintptr_t)scratch.len;
        v[n].sortable_len = d.sortable_len;
        buf_add(&scratch, d.sortable, d.sortable_len);
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
        put_be64(rev, REV_UNKNOWN);
        buf_add(&out, rev, 8);
        for (size_t i = 0; i < n; i++) {
            buf_lp(&out, v[i].field, v[i].field_len);
            buf_add(&out, v[i].sortable, v[i].sortable_len);
        }
        if (out.failed)
            rc = KVKIT_NOMEM;
    }
    free(v);
    buf_free(&prefix);
    buf_free(&scratch);
    if (rc != KVKIT_OK) {
        buf_free(&out);
        return rc == KVKIT_NOMEM ? nomem(l, err, key) : rc;
    }
    *raw = (char *)out.p;
    *len = out.len;
    return KVKIT_OK;
}

/* Read the stored manifest of bucket/key (through the overlay), for a
 * writer.  *raw is malloc'd (NULL when none); *v points into it; *rev is 0
 * when absent.  A corrupt manifest is rebuilt from the index. */
static int manifest_read(const kvl_t *l, const overlay_t *o, const buf_t *mkey,
                         const char *bucket, const char *key, char **raw, uint64_t *rev,
                         mentry_t **v, size_t *n, kvkit_error_t *err)
{
    *raw = NULL;
    *v = NULL;
    *n = 0;
    *rev = 0;
    size_t len = 0;
    int rc;
    int i = o ? overlay_find(o, mkey) : -1;
    if (i >= 0) {
        if (o->v[i].manifest == NULL)
            return KVKIT_OK;
        len = o->v[i].manifest_len;
        if ((*raw = malloc(len ? len : 1)) == NULL)
            return nomem(l, err, key);
        memcpy(*raw, o->v[i].manifest, len);
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

static int save_into(kvl_t *l, void *batch, overlay_t *o, const char *bucket,
                     const char *key, const char *value, size_t value_len,
                     const kvkit_index_entry_t *entries, size_t n_entries,
                     uint64_t expected, kvkit_error_t *err)
{
    size_t key_len = strlen(key);
    buf_t k = {0}, v = {0}, manifest = {0};
    char *raw = NULL;
    mentry_t *old = NULL, *new = NULL;
    size_t n_old = 0;
    uint64_t old_rev;
    int rc;

    key_doclike(&k, KVL_MANIFEST, bucket, key, key_len);
    if (k.failed) {
        rc = nomem(l, err, key);
        goto out;
    }
    if ((rc = manifest_read(l, o, &k, bucket, key, &raw, &old_rev, &old, &n_old, err)) !=
        KVKIT_OK)
        goto out;
    if (expected != UNCHECKED && old_rev != expected) {
        rc = kvkit_backend_error(err, KVKIT_CONFLICT, key,
                                 "%s: save \"%s\": the stored document changed since it was read "
                                 "(revision %llu, expected %llu)",
                                 l->name, key, (unsigned long long)old_rev,
                                 (unsigned long long)expected);
        goto out;
    }
    unsigned char rev_bytes[8];
    put_be64(rev_bytes, ++l->revision);
    buf_add(&manifest, rev_bytes, 8);

    if (n_entries > 0 && (new = malloc(n_entries * sizeof *new)) == NULL) {
        rc = nomem(l, err, key);
        goto out;
    }
    for (size_t i = 0; i < n_entries; i++) {
        new[i].field = entries[i].field;
        new[i].field_len = strlen(entries[i].field);
        new[i].sortable = entries[i].value.sortable;
        new[i].sortable_len = entries[i].value.sortable_len;
        buf_lp(&manifest, new[i].field, new[i].field_len);
        buf_add(&manifest, new[i].sortable, new[i].sortable_len);
    }

    /* merge walk of the two sorted lists: drop what is gone, write what is
     * new or whose predecessor changed, leave the rest alone */
    size_t i = 0, j = 0;
    while (i < n_old || j < n_entries) {
        int c = i == n_old ? 1 : j == n_entries ? -1 : mentry_cmp(&old[i], &new[j]);
        if (c < 0) {
            key_index(&k, bucket, old[i].field, old[i].field_len, old[i].sortable,
                      old[i].sortable_len, key, key_len);
            rc = k.failed ? KVKIT_NOMEM : l->ops->batch_del(batch, k.p, k.len);
            i++;
        } else {
            const mentry_t *np = pred_of(new, j);
            rc = KVKIT_OK;
            if (c > 0 || !same_pred(pred_of(old, i), np)) {
                key_index(&k, bucket, new[j].field, new[j].field_len, new[j].sortable,
                          new[j].sortable_len, key, key_len);
                pred_value(&v, np);
                rc = k.failed || v.failed ? KVKIT_NOMEM
                                          : l->ops->batch_put(batch, k.p, k.len, v.p, v.len);
            }
            if (c == 0)
                i++;
            j++;
        }
        if (rc != KVKIT_OK) {
            rc = nomem(l, err, key);
            goto out;
        }
    }

    key_doclike(&k, KVL_DOC, bucket, key, key_len);
    rc = k.failed ? KVKIT_NOMEM : l->ops->batch_put(batch, k.p, k.len, value, value_len);
    key_doclike(&k, KVL_MANIFEST, bucket, key, key_len);
    if (rc == KVKIT_OK && !k.failed && !manifest.failed)
        rc = l->ops->batch_put(batch, k.p, k.len, manifest.p, manifest.len);
    if (rc == KVKIT_OK && (k.failed || manifest.failed))
        rc = KVKIT_NOMEM;
    if (rc == KVKIT_OK && o != NULL)
        rc = overlay_set(o, &k, &manifest);
    if (rc != KVKIT_OK)
        rc = nomem(l, err, key);
out:
    free(raw);
    free(old);
    free(new);
    buf_free(&k);
    buf_free(&v);
    buf_free(&manifest);
    return rc;
}

static int delete_into(const kvl_t *l, void *batch, overlay_t *o, const char *bucket,
                       const char *key, kvkit_error_t *err)
{
    size_t key_len = strlen(key);
    buf_t k = {0};
    char *raw = NULL;
    mentry_t *old = NULL;
    size_t n_old = 0;
    uint64_t old_rev;
    key_doclike(&k, KVL_MANIFEST, bucket, key, key_len);
    int rc = k.failed ? nomem(l, err, key)
                      : manifest_read(l, o, &k, bucket, key, &raw, &old_rev, &old, &n_old, err);
    for (size_t i = 0; rc == KVKIT_OK && i < n_old; i++) {
        key_index(&k, bucket, old[i].field, old[i].field_len, old[i].sortable,
                  old[i].sortable_len, key, key_len);
        rc = k.failed ? KVKIT_NOMEM : l->ops->batch_del(batch, k.p, k.len);
        if (rc != KVKIT_OK)
            rc = nomem(l, err, key);
    }
    if (rc == KVKIT_OK) {
        key_doclike(&k, KVL_MANIFEST, bucket, key, key_len);
        rc = k.failed ? KVKIT_NOMEM : l->ops->batch_del(batch, k.p, k.len);
        if (rc == KVKIT_OK && o != NULL)
            rc = overlay_set(o, &k, NULL);
        key_doclike(&k, KVL_DOC, bucket, key, key_len);
        if (rc == KVKIT_OK)
            rc = k.failed ? KVKIT_NOMEM : l->ops->batch_del(batch, k.p, k.len);
        if (rc != KVKIT_OK)
            rc = nomem(l, err, key);
    }
    free(raw);
    free(old);
    buf_free(&k);
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
        put_be64(rev_bytes, ceiling);
        if (l->ops->batch_put(batch, revision_key, sizeof revision_key, rev_bytes, 8) != KVKIT_OK)
            rc = nomem(l, err, "");
    }
    if (rc == KVKIT_OK)
        rc = l->ops->batch_commit(l->eng, batch, err);
    if (rc == KVKIT_OK)
        l->ceiling = ceiling;
    l->ops->batch_free(batch);
    return rc;
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
    if (vlen != 8 || get_be64((const unsigned char *)v) > UINT64_MAX / 2)
        rc = kvkit_backend_error(err, KVKIT_CORRUPT, "", "%s: revision counter is corrupt", l->name);
    else
        l->revision = l->ceiling = get_be64((const unsigned char *)v);
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
            *revision = get_be64((const unsigned char *)m);
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
    buf_free(&k);
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
    overlay_t o = {0};
    int rc = KVKIT_OK;
    for (size_t i = 0; i < n && rc == KVKIT_OK; i++)
        rc = w[i].value ? save_into(l, batch, &o, w[i].bucket, w[i].key, w[i].value,
                                    w[i].value_len, w[i].entries, w[i].n_entries, UNCHECKED,
                                    err)
                        : delete_into(l, batch, &o, w[i].bucket, w[i].key, err);
    overlay_free(&o);
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
    buf_free(&k);
    return rc;
}

/*** scans ***/

static bool has_prefix(const unsigned char *k, size_t klen, const buf_t *prefix)
{
    return klen >= prefix->len && memcmp(k, prefix->p, prefix->len) == 0;
}

int kvl_index_lookup(const kvl_t *l, void *snap, const char *bucket, const char *field,
                     const kvkit_index_value_t *lo, const kvkit_index_value_t *hi,
                     const kvkit_index_position_t *after, kvkit_backend_key_fn key_fn,
                     kvkit_backend_doc_fn doc_fn, void *ctx, kvkit_error_t *err)
{
    buf_t prefix = {0}, seek = {0}, dk = {0};
    size_t field_len = strlen(field);
    key_index(&prefix, bucket, field, field_len, NULL, 0, NULL, 0);
    if (after != NULL)
        key_index(&seek, bucket, field, field_len, after->sortable, after->sortable_len,
                  after->key, after->key_len);
    else
        key_index(&seek, bucket, field, field_len, lo->sortable, lo->sortable_len, NULL, 0);
    if (prefix.failed || seek.failed) {
        buf_free(&prefix);
        buf_free(&seek);
        return nomem(l, err, field);
    }
    void *it = l->ops->iter_new(l->eng, snap);
    if (it == NULL) {
        buf_free(&prefix);
        buf_free(&seek);
        return nomem(l, err, field);
    }
    int rc = KVKIT_OK;
    bool skip_equal = after != NULL;
    for (l->ops->iter_seek(it, seek.p, seek.len); l->ops->iter_valid(it); l->ops->iter_next(it)) {
        size_t klen, vlen;
        const unsigned char *k = l->ops->iter_key(it, &klen);
        if (!has_prefix(k, klen, &prefix))
            break;
        if (skip_equal) {
            skip_equal = false;
            if (klen == seek.len && memcmp(k, seek.p, klen) == 0)
                continue;
        }
        const unsigned char *rest = k + prefix.len;
        size_t rest_len = klen - prefix.len;
        size_t slen = kvkit_sortable_length(rest, rest_len);
        if (slen == 0 || slen == rest_len) {
            rc = kvkit_backend_error(err, KVKIT_CORRUPT, field,
                                     "%s: malformed index entry for \"%s\" in bucket \"%s\"",
                                     l->name, field, bucket);
            break;
        }
        if (sortable_cmp(rest, slen, hi->sortable, hi->sortable_len) > 0)
            break;
        if (sortable_cmp(rest, slen, lo->sortable, lo->sortable_len) < 0)
            continue; /* only when resuming before lo: cannot happen, but cheap */
        /* each key once: skip it here if its previous value is also in range */
        const unsigned char *pv = l->ops->iter_value(it, &vlen);
        if (vlen > 1 && pv[0] == 1 &&
            sortable_cmp(pv + 1, vlen - 1, lo->sortable, lo->sortable_len) >= 0)
            continue;
        const char *key = (const char *)rest + slen;
        size_t key_len = rest_len - slen;
        int stop;
        if (doc_fn != NULL) {
            char *doc = NULL;
            size_t doc_len = 0;
            key_doclike(&dk, KVL_DOC, bucket, key, key_len);
            if (dk.failed) {
                rc = nomem(l, err, field);
                break;
            }
            rc = l->ops->iter_get(it, dk.p, dk.len, &doc, &doc_len, err);
            if (rc == KVKIT_NOTFOUND) {
                rc = kvkit_backend_error(err, KVKIT_CORRUPT, field,
                                         "%s: index entry for \"%s\" points at missing document \"%.*s\" in bucket \"%s\"",
                                         l->name, field, (int)key_len, key, bucket);
                break;
            }
            if (rc != KVKIT_OK)
                break;
            stop = doc_fn(ctx, key, key_len, doc, doc_len, rest, slen);
            free(doc);
        } else {
            stop = key_fn(ctx, key, key_len, rest, slen);
        }
        if (stop)
            break;
    }
    if (rc == KVKIT_OK)
        rc = l->ops->iter_status(it, err);
    l->ops->iter_free(it);
    buf_free(&prefix);
    buf_free(&seek);
    buf_free(&dk);
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
        buf_free(&prefix);
        buf_free(&seek);
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
        if (hi != NULL && sortable_cmp((const unsigned char *)key, key_len,
                                       (const unsigned char *)hi, hi_len) > 0)
            break;
        if (fn(ctx, key, key_len, NULL, 0))
            break;
    }
    rc = l->ops->iter_status(it, err);
    l->ops->iter_free(it);
    buf_free(&prefix);
    buf_free(&seek);
    return rc;
}
