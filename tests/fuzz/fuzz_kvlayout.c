/* fuzz_kvlayout - plugins/common/kvlayout.c on bytes it may find in an
 * engine: kvl_key_decode on arbitrary keys (every decoded part lies in the
 * key and re-encodes to exactly the key), then a store whose manifest,
 * revision counter and extra raw keys come from the input, driven through
 * save / save_if / delete / write_batch / get_rev / index_lookup /
 * list_keys on a fake ordered engine (a sorted array).  Checked: statuses
 * stay in the documented set, a failed write leaves the engine unchanged,
 * a successful save is readable and found by its index.
 *
 * Input: KEY "\xff\xfe" MANIFEST "\xff\xfe" REVISION ("\xff\xfe" RAWKEY
 * "\xff\xfd" RAWVALUE)* - RAWKEYs are stored as they are. */
#include "kvkit_private.h"
#include "kvlayout.h"

#include "fuzz_common.h"

/*** a fake ordered engine ***/

typedef struct ent {
    unsigned char *k;
    size_t klen;
    unsigned char *v;
    size_t vlen;
} ent_t;

typedef struct eng {
    ent_t *e;
    size_t n, cap;
} eng_t;

static int kcmp(const unsigned char *a, size_t an, const unsigned char *b, size_t bn)
{
    int c = memcmp(a, b, an < bn ? an : bn);
    return c ? c : (an > bn) - (an < bn);
}

/* index of the first entry >= k */
static size_t lower(const eng_t *g, const unsigned char *k, size_t klen)
{
    size_t lo = 0, hi = g->n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (kcmp(g->e[mid].k, g->e[mid].klen, k, klen) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static unsigned char *dup(const void *p, size_t n)
{
    unsigned char *d = malloc(n + 1);
    memcpy(d, p, n);
    d[n] = 0;
    return d;
}

static void eng_put(eng_t *g, const unsigned char *k, size_t klen, const void *v, size_t vlen)
{
    size_t i = lower(g, k, klen);
    if (i < g->n && kcmp(g->e[i].k, g->e[i].klen, k, klen) == 0) {
        free(g->e[i].v);
        g->e[i].v = dup(v, vlen);
        g->e[i].vlen = vlen;
        return;
    }
    if (g->n == g->cap) {
        g->cap = g->cap ? 2 * g->cap : 16;
        g->e = realloc(g->e, g->cap * sizeof *g->e);
    }
    memmove(&g->e[i + 1], &g->e[i], (g->n - i) * sizeof *g->e);
    g->e[i] = (ent_t){dup(k, klen), klen, dup(v, vlen), vlen};
    g->n++;
}

static void eng_del(eng_t *g, const unsigned char *k, size_t klen)
{
    size_t i = lower(g, k, klen);
    if (i < g->n && kcmp(g->e[i].k, g->e[i].klen, k, klen) == 0) {
        free(g->e[i].k);
        free(g->e[i].v);
        memmove(&g->e[i], &g->e[i + 1], (g->n - i - 1) * sizeof *g->e);
        g->n--;
    }
}

static void eng_free(eng_t *g)
{
    for (size_t i = 0; i < g->n; i++) {
        free(g->e[i].k);
        free(g->e[i].v);
    }
    free(g->e);
    memset(g, 0, sizeof *g);
}

static eng_t eng_copy(const eng_t *g)
{
    eng_t c = {0};
    for (size_t i = 0; i < g->n; i++)
        eng_put(&c, g->e[i].k, g->e[i].klen, g->e[i].v, g->e[i].vlen);
    return c;
}

static int eng_equal(const eng_t *a, const eng_t *b)
{
    if (a->n != b->n)
        return 0;
    for (size_t i = 0; i < a->n; i++)
        if (kcmp(a->e[i].k, a->e[i].klen, b->e[i].k, b->e[i].klen) != 0 ||
            kcmp(a->e[i].v, a->e[i].vlen, b->e[i].v, b->e[i].vlen) != 0)
            return 0;
    return 1;
}

static int f_get(void *vg, const unsigned char *k, size_t klen, char **v, size_t *vlen,
                 kvkit_error_t *err)
{
    (void)err;
    eng_t *g = vg;
    size_t i = lower(g, k, klen);
    if (i >= g->n || kcmp(g->e[i].k, g->e[i].klen, k, klen) != 0)
        return KVKIT_NOTFOUND;
    *v = (char *)dup(g->e[i].v, g->e[i].vlen);
    *vlen = g->e[i].vlen;
    return KVKIT_OK;
}

typedef struct batch {
    eng_t puts; /* value NULL-length marker: deletes kept separately in order */
    struct op { int del; unsigned char *k; size_t klen; unsigned char *v; size_t vlen; } *ops;
    size_t n;
} batch_t;

static void *f_batch_new(void *g)
{
    (void)g;
    return calloc(1, sizeof(batch_t));
}
static int f_batch_add(void *vb, int del, const unsigned char *k, size_t klen, const void *v,
                       size_t vlen)
{
    batch_t *b = vb;
    b->ops = realloc(b->ops, (b->n + 1) * sizeof *b->ops);
    b->ops[b->n++] = (struct op){del, dup(k, klen), klen, del ? NULL : dup(v, vlen), vlen};
    return KVKIT_OK;
}
static int f_batch_put(void *b, const unsigned char *k, size_t klen, const void *v, size_t vlen)
{
    return f_batch_add(b, 0, k, klen, v, vlen);
}
static int f_batch_del(void *b, const unsigned char *k, size_t klen)
{
    return f_batch_add(b, 1, k, klen, NULL, 0);
}
static int f_batch_commit(void *vg, void *vb, kvkit_error_t *err)
{
    (void)err;
    batch_t *b = vb;
    for (size_t i = 0; i < b->n; i++) {
        if (b->ops[i].del)
            eng_del(vg, b->ops[i].k, b->ops[i].klen);
        else
            eng_put(vg, b->ops[i].k, b->ops[i].klen, b->ops[i].v, b->ops[i].vlen);
    }
    return KVKIT_OK;
}
static void f_batch_free(void *vb)
{
    batch_t *b = vb;
    for (size_t i = 0; i < b->n; i++) {
        free(b->ops[i].k);
        free(b->ops[i].v);
    }
    free(b->ops);
    free(b);
}

typedef struct iter {
    eng_t snap;
    size_t pos;
} iter_t;

/* A snapshot is a copy of the engine; an iterator copies what it reads. */
static void *f_snap_new(void *g)
{
    eng_t *snap = malloc(sizeof *snap);
    if (snap != NULL)
        *snap = eng_copy(g);
    return snap;
}
static void f_snap_free(void *g, void *vs)
{
    (void)g;
    eng_free(vs);
    free(vs);
}
static void *f_iter_new(void *g, void *snap)
{
    iter_t *it = calloc(1, sizeof *it);
    it->snap = eng_copy(snap ? snap : g);
    return it;
}
static void f_iter_seek(void *vi, const unsigned char *k, size_t klen)
{
    iter_t *it = vi;
    it->pos = lower(&it->snap, k, klen);
}
static int f_iter_valid(void *vi) { return ((iter_t *)vi)->pos < ((iter_t *)vi)->snap.n; }
static void f_iter_next(void *vi) { ((iter_t *)vi)->pos++; }
static const unsigned char *f_iter_key(void *vi, size_t *len)
{
    iter_t *it = vi;
    *len = it->snap.e[it->pos].klen;
    return it->snap.e[it->pos].k;
}
static const unsigned char *f_iter_value(void *vi, size_t *len)
{
    iter_t *it = vi;
    *len = it->snap.e[it->pos].vlen;
    return it->snap.e[it->pos].v;
}
static int f_iter_status(void *vi, kvkit_error_t *err)
{
    (void)vi, (void)err;
    return KVKIT_OK;
}
static int f_iter_get(void *vi, const unsigned char *k, size_t klen, char **v, size_t *vlen,
                      kvkit_error_t *err)
{
    return f_get(&((iter_t *)vi)->snap, k, klen, v, vlen, err);
}
static void f_iter_free(void *vi)
{
    iter_t *it = vi;
    eng_free(&it->snap);
    free(it);
}

static const kvl_ops_t fake_ops = {
    .get = f_get,
    .batch_new = f_batch_new,
    .batch_put = f_batch_put,
    .batch_del = f_batch_del,
    .batch_commit = f_batch_commit,
    .batch_free = f_batch_free,
    .snap_new = f_snap_new,
    .snap_free = f_snap_free,
    .iter_new = f_iter_new,
    .iter_seek = f_iter_seek,
    .iter_valid = f_iter_valid,
    .iter_next = f_iter_next,
    .iter_key = f_iter_key,
    .iter_value = f_iter_value,
    .iter_status = f_iter_status,
    .iter_get = f_iter_get,
    .iter_free = f_iter_free,
};

/*** the target ***/

static void check_decode(const uint8_t *k, size_t klen)
{
    kvl_key_t d;
    if (kvl_key_decode(k, klen, &d) != KVKIT_OK)
        return;
    if (d.type == KVL_REVISION) {
        FUZZ_CHECK(klen == 1, "revision key of %zu bytes", klen);
        return;
    }
    if (d.type == KVL_FILTER) { /* the manifest filter: its header, or level + page */
        FUZZ_CHECK(klen == 1 || klen == 6, "filter key of %zu bytes", klen);
        FUZZ_CHECK(d.bucket == NULL && d.key == NULL, "filter key with parts");
        return;
    }
    /* rebuild the key from its parts: it must be exactly the input */
    unsigned char *r = malloc(klen + 8);
    size_t n = 0;
    r[n++] = (unsigned char)d.type;
    FUZZ_CHECK(d.bucket_len >= 1 && d.bucket_len <= 255, "bucket length %zu", d.bucket_len);
    r[n++] = (unsigned char)d.bucket_len;
    FUZZ_CHECK((const uint8_t *)d.bucket == k + n, "bucket not where expected");
    memcpy(r + n, d.bucket, d.bucket_len);
    n += d.bucket_len;
    if (d.type == KVL_INDEX) {
        FUZZ_CHECK(d.field_len >= 1 && d.field_len <= 255, "field length %zu", d.field_len);
        r[n++] = (unsigned char)d.field_len;
        memcpy(r + n, d.field, d.field_len);
        n += d.field_len;
        FUZZ_CHECK(kvkit_sortable_length(d.sortable, d.sortable_len) == d.sortable_len,
                   "sortable part is not one sortable value");
        memcpy(r + n, d.sortable, d.sortable_len);
        n += d.sortable_len;
    }
    FUZZ_CHECK(d.key_len >= 1 && n + d.key_len == klen, "parts do not add up to the key");
    FUZZ_CHECK((const uint8_t *)d.key + d.key_len == k + klen, "key not at the end");
    memcpy(r + n, d.key, d.key_len);
    n += d.key_len;
    FUZZ_CHECK(n == klen && memcmp(r, k, klen) == 0, "re-encoding differs from the key");
    free(r);
}

static int ok_status(int rc)
{
    return rc == KVKIT_OK || rc == KVKIT_CORRUPT || rc == KVKIT_NOTFOUND || rc == KVKIT_CONFLICT;
}

typedef struct found {
    int hit;
    const char *want;
} found_t;

static int on_key(void *ctx, const char *key, size_t key_len, const unsigned char *s, size_t sl)
{
    (void)s, (void)sl;
    found_t *f = ctx;
    if (key_len == strlen(f->want) && memcmp(key, f->want, key_len) == 0)
        f->hit++;
    return 0;
}
static int on_doc(void *ctx, const char *key, size_t key_len, const char *v, size_t vl,
                  const unsigned char *s, size_t sl)
{
    (void)v, (void)vl;
    return on_key(ctx, key, key_len, s, sl);
}

static void put_doclike(eng_t *g, char type, const char *key, const void *v, size_t vlen)
{
    unsigned char k[64];
    size_t n = 0, kl = strlen(key);
    k[n++] = (unsigned char)type;
    k[n++] = 1;
    k[n++] = 'b';
    memcpy(k + n, key, kl);
    eng_put(g, k, n + kl, v, vlen);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_in_t in = {data, size};
    size_t klen, mlen, rlen;
    const uint8_t *key = fuzz_chunk(&in, "\xff\xfe", &klen);
    check_decode(key, klen);
    const uint8_t *man = fuzz_chunk(&in, "\xff\xfe", &mlen);
    const uint8_t *rev = fuzz_chunk(&in, "\xff\xfe", &rlen);

    eng_t g = {0};
    put_doclike(&g, KVL_DOC, "k", "{}", 2);
    if (mlen > 0) /* empty: a document without manifest */
        put_doclike(&g, KVL_MANIFEST, "k", man, mlen);
    int consistent = mlen == 0 && in.n == 0; /* nothing foreign in the engine */
    if (rlen > 0)
        eng_put(&g, (const unsigned char *)"r", 1, rev, rlen);
    while (in.n > 0) {
        size_t rk, rv;
        const uint8_t *k = fuzz_chunk(&in, "\xff\xfd", &rk);
        const uint8_t *v = fuzz_chunk(&in, "\xff\xfe", &rv);
        if (rk > 0)
            eng_put(&g, k, rk, v, rv);
    }

    kvl_t l = {&fake_ops, &g, "fake", 0};
    kvkit_error_t err = {0};
    int rc = kvl_open(&l, &err);
    FUZZ_CHECK(rc == KVKIT_OK || rc == KVKIT_CORRUPT, "open: %d", rc);

    /* index values for the saves and the lookups */
    unsigned char b1[KVKIT_SORTABLE_NUMBER_LEN], b2[32], b3[KVKIT_SORTABLE_NUMBER_LEN];
    kvkit_index_entry_t entries[2];
    json_t *j1 = json_integer(7), *j2 = json_string("x"), *j3 = json_integer(100);
    kvkit__index_value(j1, b1, &entries[0].value, "f", NULL);
    kvkit__index_value(j2, b2, &entries[1].value, "g", NULL);
    kvkit_index_value_t lo = entries[0].value, hi;
    kvkit__index_value(j3, b3, &hi, "f", NULL);
    entries[0].field = "f";
    entries[1].field = "g";

    char *v = NULL;
    size_t vl = 0;
    uint64_t r = 0;
    memset(&err, 0, sizeof err);
    rc = kvl_get_rev(&l, "b", "k", &v, &vl, &r, &err);
    FUZZ_CHECK(ok_status(rc), "get_rev: %d", rc);
    FUZZ_CHECK(rc == KVKIT_OK || v == NULL, "value left on failure");
    free(v);

    found_t f = {0, "k"};
    memset(&err, 0, sizeof err);
    rc = kvl_index_lookup(&l, NULL, "b", "f", &lo, &hi, NULL, on_key, NULL, &f, &err);
    FUZZ_CHECK(ok_status(rc), "index_lookup: %d", rc);
    memset(&err, 0, sizeof err);
    rc = kvl_index_lookup(&l, NULL, "b", "f", &lo, &hi, NULL, NULL, on_doc, &f, &err);
    FUZZ_CHECK(ok_status(rc), "index_docs: %d", rc);
    memset(&err, 0, sizeof err);
    rc = kvl_list_keys(&l, NULL, "b", NULL, NULL, on_key, &f, &err);
    FUZZ_CHECK(rc == KVKIT_OK, "list_keys: %d", rc);

    /* save over the (possibly corrupt) manifest: unchanged engine on failure */
    eng_t before = eng_copy(&g);
    memset(&err, 0, sizeof err);
    rc = kvl_save(&l, "b", "k", "{\"a\":1}", 7, entries, 2, &err);
    FUZZ_CHECK(ok_status(rc), "save: %d", rc);
    if (rc != KVKIT_OK) {
        FUZZ_CHECK(err.code == rc && err.text[0], "save failed without a message");
        FUZZ_CHECK(eng_equal(&before, &g), "failed save changed the engine");
    } else {
        v = NULL;
        memset(&err, 0, sizeof err);
        FUZZ_CHECK(kvl_get(&l, NULL, "b", "k", &v, &vl, &err) == KVKIT_OK && vl == 7 &&
                   memcmp(v, "{\"a\":1}", 7) == 0, "saved value not read back");
        free(v);
        v = NULL;
        memset(&err, 0, sizeof err);
        rc = kvl_get_rev(&l, "b", "k", &v, &vl, &r, &err);
        FUZZ_CHECK(rc == KVKIT_OK && r == l.revision, "get_rev after save: %d", rc);
        FUZZ_CHECK(r != 0, "a saved document has revision 0");
        free(v);
        found_t g2 = {0, "k"};
        memset(&err, 0, sizeof err);
        rc = kvl_index_lookup(&l, NULL, "b", "f", &lo, &hi, NULL, on_key, NULL, &g2, &err);
        /* a manifest from the input may claim entries the engine lacks, and
         * raw keys may add entries: only a store that held nothing foreign
         * must find the key exactly once */
        FUZZ_CHECK(!consistent || (rc == KVKIT_OK && g2.hit == 1),
                   "saved key found %d times (rc %d)", g2.hit, rc);
        memset(&err, 0, sizeof err);
        uint64_t nr = 0;
        /* r + 1 is never the stored revision; UINT64_MAX is refused as
         * out of range, so stay below it */
        rc = kvl_save_if(&l, "b", "k", "{}", 2, entries, 1, r + 1 < UINT64_MAX ? r + 1 : r - 1,
                         &nr, &err);
        FUZZ_CHECK(rc == KVKIT_CONFLICT, "save_if with a wrong revision: %d", rc);
    }
    eng_free(&before);

    /* a batch touching the key twice, then a delete */
    kvkit_backend_write_t w[2] = {
        {"b", "k", "1", 1, entries, 1, },
        {"b", "k", NULL, 0, NULL, 0},
    };
    before = eng_copy(&g);
    memset(&err, 0, sizeof err);
    rc = kvl_write_batch(&l, w, 2, &err);
    FUZZ_CHECK(ok_status(rc), "write_batch: %d", rc);
    if (rc != KVKIT_OK)
        FUZZ_CHECK(eng_equal(&before, &g), "failed batch changed the engine");
    eng_free(&before);
    memset(&err, 0, sizeof err);
    rc = kvl_delete(&l, "b", "k", &err);
    FUZZ_CHECK(ok_status(rc), "delete: %d", rc);

    json_decref(j1);
    json_decref(j2);
    json_decref(j3);
    kvl_close(&l);
    eng_free(&g);
    return 0;
}
