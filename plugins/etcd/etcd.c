/*
 * etcd.c - the etcd backend: documents and their index entries in etcd 3.x
 * through the v3 JSON gateway (libcurl + jansson, see client.c).
 *
 * Key layout under the store's prefix P (option "prefix", default "kvkit/";
 * lp(x) = one length byte, then x, so buckets and fields cannot collide):
 *   P 'd' lp(bucket) key                      -> document bytes
 *   P 'm' lp(bucket) key                      -> manifest (below)
 *   P 'i' lp(bucket) lp(field) sortable key   -> predecessor: 0x00, or 0x01 and the
 *                                                sortable bytes of the key's previous
 *                                                (smaller) value of the same field
 * The sortable encoding is prefix-free, so `sortable key` splits without a
 * separator, and a range scan of one field returns entries in (value, key)
 * order.  As in plugins/common/kvlayout.c, the predecessor lets a scan
 * return each key once, at its first value >= lo, in constant memory.
 *
 * Manifest: 'M' 0x01, a 16-byte write id, then [flen][field][sortable] per
 * index entry in (field, sortable) order.  Every save writes a manifest with
 * a fresh write id; a delete removes it.
 *
 * Every save/delete is one /v3/kv/txn comparing the manifest's mod_revision
 * with the one read (0: absent), then putting/deleting the document, the
 * index keys it gains and loses, and the manifest.  A lost race re-reads
 * (the txn's failure branch returns the current manifest) and retries,
 * bounded by the "retries" option.  A write whose fate is unknown (client
 * timeout, connection cut, 503 "request timed out") is settled by reading
 * the manifest: our write id there means committed; an unchanged manifest
 * means it has not applied, and resubmitting the same txn is safe (both
 * compare the same revision, so at most one applies); a manifest whose
 * history (read back by revision) reaches the old revision without our
 * write id means it can never apply.  Anything else is
 * KVKIT_OUTCOME_UNKNOWN.
 */
#define KVKIT_BACKEND_NAME etcd
#include <kvkit/backend.h>

#include <curl/curl.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "client.h"

#define PAGE 500         /* keys per range request when scanning */
#define NONCE_LEN 16     /* write id in a manifest */
#define MANIFEST_HEAD (2 + NONCE_LEN)
#define HISTORY_STEPS 16 /* how far back settling walks a manifest's history */

/* A small direct-mapped cache of manifests this handle saw last, so a
 * re-save can skip reading the manifest first.  Only a hint: the txn still
 * compares the manifest's mod_revision, and a stale entry costs one failed
 * txn whose failure branch returns the current manifest. */
#define CACHE_SLOTS 4096

typedef struct centry {
    unsigned char *mkey; /* NULL: empty slot */
    size_t mkey_len;
    bool present;
    int64_t mod_revision;
    unsigned char *manifest;
    size_t manifest_len;
} centry_t;

typedef struct etcd {
    ec_client_t c;
    char *prefix;
    size_t prefix_len;
    pthread_mutex_t cache_lock;
    centry_t *cache; /* CACHE_SLOTS */
} etcd_t;

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
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 128;
        while (cap < b->len + n + 1)
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

static int nomem(kvkit_error_t *err, const char *subject)
{
    return kvkit_backend_error(err, KVKIT_NOMEM, subject, "out of memory");
}

static int bytes_cmp(const unsigned char *a, size_t alen, const unsigned char *b, size_t blen)
{
    int c = memcmp(a, b, alen < blen ? alen : blen);
    return c ? c : (alen > blen) - (alen < blen);
}

/*** keys ***/

/* P 'T' lp(bucket) key */
static void key_doclike(buf_t *b, const etcd_t *e, char type, const char *bucket,
                        const char *key, size_t key_len)
{
    b->len = 0;
    buf_add(b, e->prefix, e->prefix_len);
    buf_byte(b, (unsigned char)type);
    buf_lp(b, bucket, strlen(bucket));
    buf_add(b, key, key_len);
}

/* P 'i' lp(bucket) lp(field) [sortable [key]] */
static void key_index(buf_t *b, const etcd_t *e, const char *bucket, const char *field,
                      size_t field_len, const unsigned char *sortable, size_t sortable_len,
                      const char *key, size_t key_len)
{
    b->len = 0;
    buf_add(b, e->prefix, e->prefix_len);
    buf_byte(b, 'i');
    buf_lp(b, bucket, strlen(bucket));
    buf_lp(b, field, field_len);
    buf_add(b, sortable, sortable_len);
    buf_add(b, key, key_len);
}

/* The smallest key greater than every key starting with b (etcd's range_end
 * for a prefix): drop trailing 0xFF bytes, then add one to the last. */
static void prefix_end(buf_t *b)
{
    while (b->len > 0 && b->p[b->len - 1] == 0xFF)
        b->len--;
    if (b->len == 0)
        buf_byte(b, 0); /* "\0": to the end of the keyspace */
    else
        b->p[b->len - 1]++;
}

/*** requests ***/

/* {"key": b64} plus optional extra fields; NULL when out of memory. */
static json_t *req_key(const buf_t *k)
{
    json_t *r = json_object();
    if (r == NULL || json_object_set_new(r, "key", ec_b64(k->p, k->len)) != 0) {
        json_decref(r);
        return NULL;
    }
    return r;
}

static json_t *rev_string(int64_t rev)
{
    char s[32];
    snprintf(s, sizeof s, "%lld", (long long)rev);
    return json_string(s);
}

/* One stored key-value as the gateway returns it. */
typedef struct kv {
    bool present;
    unsigned char *value; /* malloc'd, NUL-terminated */
    size_t value_len;
    int64_t mod_revision;
} kv_t;

static int kv_from_json(const json_t *kvs, kv_t *out, const char *subject, kvkit_error_t *err)
{
    memset(out, 0, sizeof *out);
    const json_t *kv = json_array_get(kvs, 0);
    if (kv == NULL)
        return KVKIT_OK;
    if (!ec_get_bytes(kv, "value", &out->value, &out->value_len))
        return kvkit_backend_error(err, KVKIT_BACKEND, subject,
                                   "\"%s\": malformed value in a range response", subject);
    out->present = true;
    out->mod_revision = ec_get_int(kv, "mod_revision");
    return KVKIT_OK;
}

/* Linearizable point read of k, at `revision` when > 0. */
static int range_one(etcd_t *e, const buf_t *k, int64_t revision, kv_t *out,
                     const char *subject, kvkit_error_t *err)
{
    memset(out, 0, sizeof *out);
    json_t *req = req_key(k), *resp = NULL;
    if (req == NULL || (revision > 0 && json_object_set_new(req, "revision",
                                                            rev_string(revision)) != 0)) {
        json_decref(req);
        return nomem(err, subject);
    }
    int rc = ec_call(&e->c, "/v3/kv/range", req, EC_READ, &resp, subject, err);
    json_decref(req);
    if (rc == KVKIT_OK)
        rc = kv_from_json(json_object_get(resp, "kvs"), out, subject, err);
    json_decref(resp);
    return rc;
}

/*** the manifest cache ***/

static centry_t *cache_slot(etcd_t *e, const buf_t *k)
{
    uint64_t h = 1469598103934665603ULL; /* FNV-1a */
    for (size_t i = 0; i < k->len; i++)
        h = (h ^ k->p[i]) * 1099511628211ULL;
    return &e->cache[h % CACHE_SLOTS];
}

static void centry_clear(centry_t *c)
{
    free(c->mkey);
    free(c->manifest);
    memset(c, 0, sizeof *c);
}

/* Copy the cached state of manifest key k into *out; false when not cached. */
static bool cache_get(etcd_t *e, const buf_t *k, kv_t *out)
{
    memset(out, 0, sizeof *out);
    pthread_mutex_lock(&e->cache_lock);
    centry_t *c = cache_slot(e, k);
    bool hit = c->mkey && c->mkey_len == k->len && memcmp(c->mkey, k->p, k->len) == 0;
    if (hit && c->present) {
        if ((out->value = malloc(c->manifest_len + 1)) == NULL) {
            hit = false;
        } else {
            memcpy(out->value, c->manifest, c->manifest_len);
            out->value[c->manifest_len] = '\0';
            out->value_len = c->manifest_len;
            out->present = true;
            out->mod_revision = c->mod_revision;
        }
    }
    pthread_mutex_unlock(&e->cache_lock);
    return hit;
}

/* Remember what manifest key k holds at a revision (kv NULL: forget it). */
static void cache_put(etcd_t *e, const buf_t *k, const kv_t *kv)
{
    pthread_mutex_lock(&e->cache_lock);
    centry_t *c = cache_slot(e, k);
    bool same = c->mkey && c->mkey_len == k->len && memcmp(c->mkey, k->p, k->len) == 0;
    if (kv == NULL) {
        if (same)
            centry_clear(c);
        pthread_mutex_unlock(&e->cache_lock);
        return;
    }
    if (same && c->present && kv->present && kv->mod_revision < c->mod_revision) {
        pthread_mutex_unlock(&e->cache_lock); /* older news than what we hold */
        return;
    }
    centry_clear(c);
    c->mkey = malloc(k->len);
    c->manifest = kv->present ? malloc(kv->value_len + 1) : NULL;
    if (c->mkey == NULL || (kv->present && c->manifest == NULL)) {
        centry_clear(c);
    } else {
        memcpy(c->mkey, k->p, k->len);
        c->mkey_len = k->len;
        c->present = kv->present;
        c->mod_revision = kv->present ? kv->mod_revision : 0;
        if (kv->present) {
            memcpy(c->manifest, kv->value, kv->value_len);
            c->manifest_len = kv->value_len;
        }
    }
    pthread_mutex_unlock(&e->cache_lock);
}

/*** manifests ***/

typedef struct mentry {
    const char *field;
    size_t field_len;
    const unsigned char *sortable;
    size_t sortable_len;
} mentry_t;

static int manifest_parse(const unsigned char *m, size_t mlen, mentry_t **out, size_t *n)
{
    *out = NULL;
    *n = 0;
    if (mlen < MANIFEST_HEAD || m[0] != 'M' || m[1] != 1)
        return KVKIT_CORRUPT;
    size_t cap = 0, count = 0, pos = MANIFEST_HEAD;
    mentry_t *v = NULL;
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
        v[count++] = (mentry_t){(const char *)m + pos, flen, m + pos + flen, slen};
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
    int c = bytes_cmp((const unsigned char *)a->field, a->field_len,
                      (const unsigned char *)b->field, b->field_len);
    return c ? c : bytes_cmp(a->sortable, a->sortable_len, b->sortable, b->sortable_len);
}

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
    return bytes_cmp(a->sortable, a->sortable_len, b->sortable, b->sortable_len) == 0;
}

static bool has_nonce(const kv_t *m, const unsigned char *nonce)
{
    return m->present && m->value_len >= MANIFEST_HEAD && m->value[0] == 'M' &&
           memcmp(m->value + 2, nonce, NONCE_LEN) == 0;
}

static void nonce_new(unsigned char *nonce)
{
    if (getrandom(nonce, NONCE_LEN, 0) == NONCE_LEN)
        return;
    /* no entropy available: time, address and a counter still make write ids
     * unique within and across processes in practice */
    static unsigned long counter;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    uint64_t a = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
    uint64_t b = (uint64_t)getpid() << 32 ^ __atomic_add_fetch(&counter, 1, __ATOMIC_RELAXED) ^
                 (uint64_t)(uintptr_t)nonce;
    memcpy(nonce, &a, 8);
    memcpy(nonce + 8, &b, 8);
}

/*** one document write inside a transaction ***/

typedef struct wr {
    const char *bucket;
    const char *key;
    size_t key_len;
    const char *value; /* NULL: delete */
    size_t value_len;
    const kvkit_index_entry_t *entries;
    size_t n_entries;
    /* what the engine holds now, as last read */
    kv_t manifest;
    buf_t mkey;
    buf_t new_manifest; /* what the txn being built writes */
} wr_t;

static void wr_free(wr_t *w)
{
    free(w->manifest.value);
    buf_free(&w->mkey);
    buf_free(&w->new_manifest);
}

static int op_add(json_t *ops, const char *type, json_t *op)
{
    json_t *o = json_object();
    if (op == NULL || o == NULL || json_object_set_new(o, type, op) != 0 ||
        json_array_append_new(ops, o) != 0) {
        json_decref(o);
        return KVKIT_NOMEM;
    }
    return KVKIT_OK;
}

static int op_put(json_t *ops, const buf_t *k, const void *v, size_t vlen)
{
    if (k->failed)
        return KVKIT_NOMEM;
    json_t *op = req_key(k);
    if (op != NULL && json_object_set_new(op, "value", ec_b64(v, vlen)) != 0) {
        json_decref(op);
        op = NULL;
    }
    return op_add(ops, "request_put", op);
}

static int op_del(json_t *ops, const buf_t *k)
{
    return k->failed ? KVKIT_NOMEM : op_add(ops, "request_delete_range", req_key(k));
}

static int op_range(json_t *ops, const buf_t *k, bool keys_only)
{
    json_t *op = k->failed ? NULL : req_key(k);
    if (op != NULL && keys_only && json_object_set_new(op, "keys_only", json_true()) != 0) {
        json_decref(op);
        op = NULL;
    }
    return op_add(ops, "request_range", op);
}

static int compare_mod(json_t *cmp, const buf_t *k, int64_t rev)
{
    json_t *c = k->failed ? NULL : req_key(k);
    if (c == NULL || json_object_set_new(c, "target", json_string("MOD")) != 0 ||
        json_object_set_new(c, "result", json_string("EQUAL")) != 0 ||
        json_object_set_new(c, "mod_revision", rev_string(rev)) != 0 ||
        json_array_append_new(cmp, c) != 0) {
        json_decref(c);
        return KVKIT_NOMEM;
    }
    return KVKIT_OK;
}

/* Append w's operations to `ops`: index keys it loses and gains (worked out
 * from its stored manifest), then the document and the manifest. */
static int wr_ops(const etcd_t *e, wr_t *w, const unsigned char *nonce, json_t *ops,
                  kvkit_error_t *err)
{
    mentry_t *old = NULL, *new = NULL;
    size_t n_old = 0, n_new = w->value ? w->n_entries : 0;
    buf_t k = {0}, v = {0}, manifest = {0};
    int rc = KVKIT_OK;
    if (w->manifest.present) {
        rc = manifest_parse(w->manifest.value, w->manifest.value_len, &old, &n_old);
        if (rc == KVKIT_NOMEM)
            return nomem(err, w->key);
        if (rc != KVKIT_OK)
            return kvkit_backend_error(err, KVKIT_CORRUPT, w->key,
                                       "index manifest of \"%s\" in bucket \"%s\" is corrupt",
                                       w->key, w->bucket);
    }
    if (n_new > 0 && (new = malloc(n_new * sizeof *new)) == NULL) {
        free(old);
        return nomem(err, w->key);
    }
    buf_byte(&manifest, 'M');
    buf_byte(&manifest, 1);
    buf_add(&manifest, nonce, NONCE_LEN);
    for (size_t j = 0; j < n_new; j++) {
        const kvkit_index_entry_t *en = &w->entries[j];
        new[j] = (mentry_t){en->field, strlen(en->field), en->value.sortable,
                            en->value.sortable_len};
        buf_lp(&manifest, new[j].field, new[j].field_len);
        buf_add(&manifest, new[j].sortable, new[j].sortable_len);
    }
    /* merge walk of the two sorted lists: drop what is gone, write what is
     * new or whose predecessor changed, leave the rest alone */
    size_t i = 0, j = 0;
    while (rc == KVKIT_OK && (i < n_old || j < n_new)) {
        int c = i == n_old ? 1 : j == n_new ? -1 : mentry_cmp(&old[i], &new[j]);
        if (c < 0) {
            key_index(&k, e, w->bucket, old[i].field, old[i].field_len, old[i].sortable,
                      old[i].sortable_len, w->key, w->key_len);
            rc = op_del(ops, &k);
            i++;
            continue;
        }
        const mentry_t *np = pred_of(new, j);
        if (c > 0 || !same_pred(pred_of(old, i), np)) {
            key_index(&k, e, w->bucket, new[j].field, new[j].field_len, new[j].sortable,
                      new[j].sortable_len, w->key, w->key_len);
            v.len = 0;
            buf_byte(&v, np ? 1 : 0);
            if (np)
                buf_add(&v, np->sortable, np->sortable_len);
            rc = v.failed ? KVKIT_NOMEM : op_put(ops, &k, v.p, v.len);
        }
        if (c == 0)
            i++;
        j++;
    }
    key_doclike(&k, e, 'd', w->bucket, w->key, w->key_len);
    if (rc == KVKIT_OK)
        rc = w->value ? op_put(ops, &k, w->value, w->value_len) : op_del(ops, &k);
    if (rc == KVKIT_OK)
        rc = manifest.failed ? KVKIT_NOMEM
             : w->value      ? op_put(ops, &w->mkey, manifest.p, manifest.len)
                             : op_del(ops, &w->mkey);
    free(old);
    free(new);
    buf_free(&k);
    buf_free(&v);
    buf_free(&w->new_manifest);
    w->new_manifest = manifest;
    return rc == KVKIT_OK ? rc : nomem(err, w->key);
}

/*** writing: one txn, retried on lost races, settled when ambiguous ***/

typedef struct wctx {
    etcd_t *e;
    wr_t *w;
    size_t n;
    bool checked;      /* save_if: compare the document's revision too (n == 1) */
    uint64_t expected; /* its expected mod_revision (0: absent) */
    unsigned char nonce[NONCE_LEN];
    const char *subject;
} wctx_t;

/* The current manifests, from the cache when allowed, else read. */
static int read_manifests(wctx_t *x, bool cached, kvkit_error_t *err)
{
    for (size_t i = 0; i < x->n; i++) {
        wr_t *w = &x->w[i];
        free(w->manifest.value);
        if (cached && cache_get(x->e, &w->mkey, &w->manifest))
            continue;
        int rc = range_one(x->e, &w->mkey, 0, &w->manifest, w->key, err);
        if (rc != KVKIT_OK)
            return rc;
        cache_put(x->e, &w->mkey, &w->manifest);
    }
    return KVKIT_OK;
}

/* After the txn: remember what it wrote, or forget what we no longer know. */
static void cache_after(wctx_t *x, bool written, int64_t rev)
{
    for (size_t i = 0; i < x->n; i++) {
        wr_t *w = &x->w[i];
        kv_t kv = {w->value != NULL, w->new_manifest.p, w->new_manifest.len, rev};
        cache_put(x->e, &w->mkey, written && !w->new_manifest.failed ? &kv : NULL);
    }
}

static int txn_build(wctx_t *x, json_t **out, kvkit_error_t *err)
{
    json_t *req = json_object(), *cmp = json_array(), *ok = json_array(), *ko = json_array();
    int rc = req && cmp && ok && ko ? KVKIT_OK : KVKIT_NOMEM;
    buf_t dk = {0};
    for (size_t i = 0; rc == KVKIT_OK && i < x->n; i++) {
        wr_t *w = &x->w[i];
        rc = compare_mod(cmp, &w->mkey, w->manifest.present ? w->manifest.mod_revision : 0);
        if (rc == KVKIT_OK)
            rc = op_range(ko, &w->mkey, false);
    }
    if (rc == KVKIT_OK && x->checked) {
        key_doclike(&dk, x->e, 'd', x->w[0].bucket, x->w[0].key, x->w[0].key_len);
        rc = compare_mod(cmp, &dk, (int64_t)x->expected);
        if (rc == KVKIT_OK)
            rc = op_range(ko, &dk, true);
    }
    buf_free(&dk);
    if (rc != KVKIT_OK)
        rc = nomem(err, x->subject);
    for (size_t i = 0; rc == KVKIT_OK && i < x->n; i++)
        rc = wr_ops(x->e, &x->w[i], x->nonce, ok, err);
    if (rc == KVKIT_OK && (json_object_set(req, "compare", cmp) != 0 ||
                           json_object_set(req, "success", ok) != 0 ||
                           json_object_set(req, "failure", ko) != 0))
        rc = nomem(err, x->subject);
    json_decref(cmp);
    json_decref(ok);
    json_decref(ko);
    if (rc != KVKIT_OK) {
        json_decref(req);
        return rc;
    }
    *out = req;
    return KVKIT_OK;
}

/* The write whose manifest carries the write id (a save), or NULL. */
static wr_t *witness(wctx_t *x)
{
    for (size_t i = 0; i < x->n; i++)
        if (x->w[i].value != NULL)
            return &x->w[i];
    return NULL;
}

enum settled { S_COMMITTED, S_PENDING, S_DEAD, S_UNKNOWN };

/* Did the txn that compared the witness manifest against revision `base`
 * (0: absent) commit?  S_PENDING: the manifest is unchanged, so it has not
 * applied (yet) and resubmitting it is safe, since at most one of the two
 * can apply; S_DEAD: it never will apply.  *rev: the committed revision. */
static enum settled settle(wctx_t *x, int64_t base, int64_t *rev, kvkit_error_t *rerr)
{
    wr_t *w = witness(x);
    kv_t cur;
    if (w == NULL) /* deletes only: re-reading and redoing them is idempotent */
        return S_DEAD;
    if (range_one(x->e, &w->mkey, 0, &cur, w->key, rerr) != KVKIT_OK)
        return S_UNKNOWN;
    enum settled s = S_UNKNOWN;
    for (int step = 0; step < HISTORY_STEPS; step++) {
        if (has_nonce(&cur, x->nonce)) {
            *rev = cur.mod_revision;
            s = S_COMMITTED;
            break;
        }
        /* back at the compared state (a create that was deleted again in
         * between would look the same as "absent all along": accepted) */
        if ((!cur.present && base == 0) || (cur.present && cur.mod_revision == base)) {
            s = step == 0 ? S_PENDING : S_DEAD;
            break;
        }
        if (!cur.present || cur.mod_revision < base)
            break; /* deleted in between: the history is cut */
        int64_t before = cur.mod_revision - 1;
        free(cur.value);
        if (range_one(x->e, &w->mkey, before, &cur, w->key, rerr) != KVKIT_OK)
            return S_UNKNOWN; /* compacted history, or the cluster is away */
    }
    free(cur.value);
    return s;
}

/* Update the read state from a failed txn's failure-branch ranges. */
static int absorb_failure(wctx_t *x, const json_t *resp, uint64_t *doc_rev, kvkit_error_t *err)
{
    const json_t *rs = json_object_get(resp, "responses");
    for (size_t i = 0; i < x->n; i++) {
        const json_t *r = json_object_get(json_array_get(rs, i), "response_range");
        wr_t *w = &x->w[i];
        free(w->manifest.value);
        int rc = kv_from_json(json_object_get(r, "kvs"), &w->manifest, w->key, err);
        if (rc != KVKIT_OK)
            return rc;
        cache_put(x->e, &w->mkey, &w->manifest);
    }
    if (x->checked) {
        const json_t *r = json_object_get(json_array_get(rs, x->n), "response_range");
        const json_t *kv = json_array_get(json_object_get(r, "kvs"), 0);
        *doc_rev = kv ? (uint64_t)ec_get_int(kv, "mod_revision") : 0;
    }
    return KVKIT_OK;
}

static int unknown(wctx_t *x, const kvkit_error_t *amb, const kvkit_error_t *rerr,
                   kvkit_error_t *err)
{
    return kvkit_backend_error(err, KVKIT_OUTCOME_UNKNOWN, x->subject,
                               "%s (re-reading could not tell whether it was applied%s%s)",
                               amb->text, rerr->text[0] ? ": " : "", rerr->text);
}

static int write_docs_once(wctx_t *x, uint64_t *new_rev, kvkit_error_t *err)
{
    nonce_new(x->nonce);
    int rc = read_manifests(x, true, err);
    if (rc != KVKIT_OK)
        return rc;
    bool pending = false; /* an earlier attempt may still commit */
    int64_t pending_base = 0;
    kvkit_error_t amb = {0};
    unsigned attempts = x->e->c.retries + 2;
    for (unsigned attempt = 0; attempt < attempts; attempt++) {
        wr_t *wit = witness(x);
        int64_t base = wit && wit->manifest.present ? wit->manifest.mod_revision : 0;
        json_t *req = NULL, *resp = NULL;
        if ((rc = txn_build(x, &req, err)) != KVKIT_OK)
            return rc;
        kvkit_error_t werr = {0}, rerr = {0};
        int64_t rev = 0;
        rc = ec_call(&x->e->c, "/v3/kv/txn", req, EC_WRITE, &resp, x->subject, &werr);
        json_decref(req);
        if (rc == KVKIT_OK) {
            if (ec_get_bool(resp, "succeeded")) {
                *new_rev = (uint64_t)ec_get_int(json_object_get(resp, "header"), "revision");
                json_decref(resp);
                return KVKIT_OK;
            }
            uint64_t doc_rev = 0;
            rc = absorb_failure(x, resp, &doc_rev, err);
            json_decref(resp);
            if (rc != KVKIT_OK)
                return rc;
            if (pending) { /* lost to an earlier attempt of ours, or to someone else? */
                enum settled s = settle(x, pending_base, &rev, &rerr);
                if (s == S_COMMITTED) {
                    *new_rev = (uint64_t)rev;
                    return KVKIT_OK;
                }
                if (s == S_UNKNOWN)
                    return unknown(x, &amb, &rerr, err);
                /* a compared manifest moved on: the earlier attempts cannot apply */
                pending = false;
            }
            if (x->checked && doc_rev != x->expected)
                return kvkit_backend_error(err, KVKIT_CONFLICT, x->subject,
                                           "\"%s\" changed since it was read (revision %llu, "
                                           "expected %llu)", x->subject,
                                           (unsigned long long)doc_rev,
                                           (unsigned long long)x->expected);
            continue;
        }
        if (rc != EC_AMBIGUOUS) {
            if (pending) /* the earlier attempt might still apply */
                return kvkit_backend_error(err, KVKIT_OUTCOME_UNKNOWN, x->subject,
                                           "%s (then: %s)", amb.text, werr.text);
            *err = werr;
            return rc;
        }
        /* the txn may or may not have committed: find out */
        amb = werr;
        switch (settle(x, base, &rev, &rerr)) {
        case S_COMMITTED:
            *new_rev = (uint64_t)rev;
            return KVKIT_OK;
        case S_PENDING:
            pending = true; /* resubmit the same txn */
            pending_base = base;
            break;
        case S_DEAD:
            pending = false;
            if ((rc = read_manifests(x, false, err)) != KVKIT_OK)
                return rc;
            break;
        case S_UNKNOWN:
            return unknown(x, &amb, &rerr, err);
        }
    }
    if (pending)
        return kvkit_backend_error(err, KVKIT_OUTCOME_UNKNOWN, x->subject,
                                   "%s (still unsettled after %u attempts)", amb.text, attempts);
    return kvkit_backend_error(err, KVKIT_CONFLICT, x->subject,
                               "\"%s\": lost the race with concurrent writers %u times",
                               x->subject, attempts);
}

static int write_docs(wctx_t *x, uint64_t *new_rev, kvkit_error_t *err)
{
    int rc = write_docs_once(x, new_rev, err);
    cache_after(x, rc == KVKIT_OK, (int64_t)*new_rev);
    return rc;
}

static int write_one(etcd_t *e, const char *bucket, const char *key, const char *value,
                     size_t value_len, const kvkit_index_entry_t *entries, size_t n_entries,
                     bool checked, uint64_t expected, uint64_t *new_rev, kvkit_error_t *err)
{
    wr_t w = {bucket, key, strlen(key), value, value_len, entries, n_entries, {0}, {0}, {0}};
    key_doclike(&w.mkey, e, 'm', bucket, key, w.key_len);
    if (w.mkey.failed)
        return nomem(err, key);
    wctx_t x = {.e = e, .w = &w, .n = 1, .checked = checked, .expected = expected,
                .subject = key};
    uint64_t rev = 0;
    int rc = write_docs(&x, &rev, err);
    wr_free(&w);
    if (new_rev)
        *new_rev = rev;
    return rc;
}

/*** the backend ***/

const kvkit_backend_descriptor_t KVKIT_BACKEND_SYMBOL(kvkit_backend_descriptor) = {
    .abi_major = KVKIT_BACKEND_ABI_MAJOR,
    .abi_minor = KVKIT_BACKEND_ABI_MINOR,
    .struct_size = sizeof(kvkit_backend_descriptor_t),
    /* RESIDENT: libcurl and its TLS library register exit handlers */
    .flags = KVKIT_BACKEND_THREAD_SAFE | KVKIT_BACKEND_ORDERED | KVKIT_BACKEND_ATOMIC |
             KVKIT_BACKEND_DURABLE | KVKIT_BACKEND_RESIDENT,
    .name = "etcd",
    .version = "1.0",
    .description = "etcd 3.x cluster over the v3 JSON gateway (libcurl), one txn per write",
};

KVKIT_BACKEND_DECLARE(open);
int KVKIT_BACKEND_SYMBOL(kvkit_backend_open)(const char *location,
                                             const kvkit_backend_option_t *options,
                                             size_t n_options, void **handle,
                                             kvkit_error_t *err)
{
    uint64_t timeout_ms = 5000, connect_ms = 1000, retries = 4;
    const char *prefix = "kvkit/";
    for (size_t i = 0; i < n_options; i++) {
        const kvkit_backend_option_t *o = &options[i];
        int rc = KVKIT_OK;
        if (strcmp(o->key, "timeout_ms") == 0)
            rc = kvkit_backend_option_uint(o, 1, 3600000, &timeout_ms, err);
        else if (strcmp(o->key, "connect_timeout_ms") == 0)
            rc = kvkit_backend_option_uint(o, 1, 3600000, &connect_ms, err);
        else if (strcmp(o->key, "retries") == 0)
            rc = kvkit_backend_option_uint(o, 0, 100, &retries, err);
        else if (strcmp(o->key, "prefix") == 0)
            prefix = o->value;
        else
            rc = kvkit_backend_error(err, KVKIT_BAD_OPTION, o->key,
                                     "unknown option \"%s\" (known: timeout_ms, "
                                     "connect_timeout_ms, prefix, retries)", o->key);
        if (rc != KVKIT_OK)
            return rc;
    }
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        return kvkit_backend_error(err, KVKIT_BACKEND, location, "libcurl failed to initialise");
    etcd_t *e = calloc(1, sizeof *e);
    if (e == NULL || (e->prefix = strdup(prefix)) == NULL) {
        free(e);
        curl_global_cleanup();
        return nomem(err, location);
    }
    e->prefix_len = strlen(prefix);
    if ((e->cache = calloc(CACHE_SLOTS, sizeof *e->cache)) == NULL ||
        pthread_mutex_init(&e->cache_lock, NULL) != 0) {
        free(e->cache);
        free(e->prefix);
        free(e);
        curl_global_cleanup();
        return nomem(err, location);
    }
    e->c.timeout_ms = (long)timeout_ms;
    e->c.connect_timeout_ms = (long)connect_ms;
    e->c.retries = (unsigned)retries;
    int rc = ec_client_init(&e->c, location, err);
    if (rc != KVKIT_OK) {
        pthread_mutex_destroy(&e->cache_lock);
        free(e->cache);
        free(e->prefix);
        free(e);
        curl_global_cleanup();
        return rc;
    }
    *handle = e;
    return KVKIT_OK;
}

KVKIT_BACKEND_DECLARE(close);
void KVKIT_BACKEND_SYMBOL(kvkit_backend_close)(void *handle)
{
    etcd_t *e = handle;
    if (e == NULL)
        return;
    ec_client_free(&e->c);
    for (size_t i = 0; i < CACHE_SLOTS; i++)
        centry_clear(&e->cache[i]);
    free(e->cache);
    pthread_mutex_destroy(&e->cache_lock);
    free(e->prefix);
    free(e);
    curl_global_cleanup();
}

KVKIT_BACKEND_DECLARE(get_rev);
int KVKIT_BACKEND_SYMBOL(kvkit_backend_get_rev)(void *handle, const char *bucket,
                                                const char *key, char **value,
                                                size_t *value_len, uint64_t *revision,
                                                kvkit_error_t *err)
{
    etcd_t *e = handle;
    buf_t k = {0};
    key_doclike(&k, e, 'd', bucket, key, strlen(key));
    if (k.failed)
        return nomem(err, key);
    kv_t kv;
    int rc = range_one(e, &k, 0, &kv, key, err);
    buf_free(&k);
    if (rc != KVKIT_OK)
        return rc;
    if (!kv.present)
        return KVKIT_NOTFOUND;
    *value = (char *)kv.value;
    *value_len = kv.value_len;
    *revision = (uint64_t)kv.mod_revision;
    return KVKIT_OK;
}

KVKIT_BACKEND_DECLARE(get);
int KVKIT_BACKEND_SYMBOL(kvkit_backend_get)(void *handle, const char *bucket, const char *key,
                                            char **value, size_t *value_len,
                                            kvkit_error_t *err)
{
    uint64_t rev;
    return KVKIT_BACKEND_SYMBOL(kvkit_backend_get_rev)(handle, bucket, key, value, value_len,
                                                       &rev, err);
}

KVKIT_BACKEND_DECLARE(save);
int KVKIT_BACKEND_SYMBOL(kvkit_backend_save)(void *handle, const char *bucket,
                                             const char *key, const char *value,
                                             size_t value_len,
                                             const kvkit_index_entry_t *entries,
                                             size_t n_entries, kvkit_error_t *err)
{
    return write_one(handle, bucket, key, value, value_len, entries, n_entries, false, 0, NULL,
                     err);
}

KVKIT_BACKEND_DECLARE(save_if);
int KVKIT_BACKEND_SYMBOL(kvkit_backend_save_if)(void *handle, const char *bucket,
                                                const char *key, const char *value,
                                                size_t value_len,
                                                const kvkit_index_entry_t *entries,
                                                size_t n_entries, uint64_t expected,
                                                uint64_t *new_revision, kvkit_error_t *err)
{
    return write_one(handle, bucket, key, value, value_len, entries, n_entries, true, expected,
                     new_revision, err);
}

KVKIT_BACKEND_DECLARE(delete);
int KVKIT_BACKEND_SYMBOL(kvkit_backend_delete)(void *handle, const char *bucket,
                                               const char *key, kvkit_error_t *err)
{
    return write_one(handle, bucket, key, NULL, 0, NULL, 0, false, 0, NULL, err);
}

KVKIT_BACKEND_DECLARE(write_batch);
int KVKIT_BACKEND_SYMBOL(kvkit_backend_write_batch)(void *handle,
                                                    const kvkit_backend_write_t *writes,
                                                    size_t n_writes, kvkit_error_t *err)
{
    etcd_t *e = handle;
    if (n_writes == 0)
        return KVKIT_OK;
    wr_t *w = calloc(n_writes, sizeof *w);
    if (w == NULL)
        return nomem(err, "");
    /* one txn may not name a key twice: only the last write of a document
     * counts, since the batch applies as a whole */
    size_t n = 0;
    int rc = KVKIT_OK;
    for (size_t i = 0; i < n_writes && rc == KVKIT_OK; i++) {
        const kvkit_backend_write_t *s = &writes[i];
        bool later = false;
        for (size_t j = i + 1; j < n_writes && !later; j++)
            later = strcmp(writes[j].bucket, s->bucket) == 0 && strcmp(writes[j].key, s->key) == 0;
        if (later)
            continue;
        w[n] = (wr_t){s->bucket, s->key, strlen(s->key), s->value, s->value_len, s->entries,
                      s->n_entries, {0}, {0}, {0}};
        key_doclike(&w[n].mkey, e, 'm', s->bucket, s->key, w[n].key_len);
        if (w[n++].mkey.failed)
            rc = nomem(err, s->key);
    }
    if (rc == KVKIT_OK) {
        wctx_t x = {.e = e, .w = w, .n = n, .subject = w[0].key};
        uint64_t rev = 0;
        kvkit_error_t berr = {0};
        rc = write_docs(&x, &rev, &berr);
        /* Over the server's txn limits (--max-txn-ops, --max-request-bytes):
         * the batch is applied one document at a time instead, each still
         * one atomic txn with its index entries, the batch as a whole not.
         * A failed txn changed nothing, so starting over is safe. */
        if (rc == KVKIT_TOO_LARGE && n > 1) {
            rc = KVKIT_OK;
            for (size_t i = 0; i < n && rc == KVKIT_OK; i++)
                rc = write_one(e, w[i].bucket, w[i].key, w[i].value, w[i].value_len,
                               w[i].entries, w[i].n_entries, false, 0, NULL, err);
        } else if (rc != KVKIT_OK) {
            *err = berr;
        }
    }
    for (size_t i = 0; i < n; i++)
        wr_free(&w[i]);
    free(w);
    return rc;
}

/*** scans: range requests of PAGE keys, all pages at the first page's revision ***/

/* Called per key; `rev` is the revision the whole scan reads at. */
typedef int (*scan_fn)(void *ctx, const unsigned char *k, size_t klen, const unsigned char *v,
                       size_t vlen, int64_t rev, int *stop, kvkit_error_t *err);

static int scan(etcd_t *e, buf_t *start, const buf_t *end, bool keys_only, scan_fn fn,
                void *ctx, const char *subject, kvkit_error_t *err)
{
    int64_t rev = 0;
    int rc = KVKIT_OK, stop = 0;
    while (rc == KVKIT_OK && !stop) {
        if (start->failed || end->failed || bytes_cmp(start->p, start->len, end->p, end->len) >= 0)
            return start->failed || end->failed ? nomem(err, subject) : KVKIT_OK;
        json_t *req = req_key(start), *resp = NULL;
        if (req == NULL || json_object_set_new(req, "range_end", ec_b64(end->p, end->len)) ||
            json_object_set_new(req, "limit", json_integer(PAGE)) ||
            (keys_only && json_object_set_new(req, "keys_only", json_true())) ||
            (rev > 0 && json_object_set_new(req, "revision", rev_string(rev)))) {
            json_decref(req);
            return nomem(err, subject);
        }
        rc = ec_call(&e->c, "/v3/kv/range", req, EC_READ, &resp, subject, err);
        json_decref(req);
        if (rc != KVKIT_OK)
            return rc;
        if (rev == 0)
            rev = ec_get_int(json_object_get(resp, "header"), "revision");
        const json_t *kvs = json_object_get(resp, "kvs");
        size_t n = json_array_size(kvs);
        for (size_t i = 0; i < n && rc == KVKIT_OK && !stop; i++) {
            unsigned char *k = NULL, *v = NULL;
            size_t klen, vlen = 0;
            const json_t *kv = json_array_get(kvs, i);
            if (!ec_get_bytes(kv, "key", &k, &klen) ||
                (!keys_only && !ec_get_bytes(kv, "value", &v, &vlen))) {
                rc = kvkit_backend_error(err, KVKIT_BACKEND, subject,
                                         "\"%s\": malformed key or value in a range response",
                                         subject);
            } else {
                rc = fn(ctx, k, klen, v, vlen, rev, &stop, err);
                if (i + 1 == n) { /* the next page starts right after this key */
                    start->len = 0;
                    buf_add(start, k, klen);
                    buf_byte(start, 0);
                }
            }
            free(k);
            free(v);
        }
        bool more = ec_get_bool(resp, "more") && n > 0;
        json_decref(resp);
        if (!more)
            break;
    }
    return rc;
}

typedef struct list_ctx {
    size_t skip; /* bytes of P 'd' lp(bucket) */
    kvkit_backend_key_fn fn;
    void *ctx;
} list_ctx_t;

static int list_one(void *vctx, const unsigned char *k, size_t klen, const unsigned char *v,
                    size_t vlen, int64_t rev, int *stop, kvkit_error_t *err)
{
    list_ctx_t *l = vctx;
    if (klen > l->skip)
        *stop = l->fn(l->ctx, (const char *)k + l->skip, klen - l->skip, NULL, 0);
    return KVKIT_OK;
}

KVKIT_BACKEND_DECLARE(list_keys);
int KVKIT_BACKEND_SYMBOL(kvkit_backend_list_keys)(void *handle, const char *bucket,
                                                  const char *lo, const char *hi,
                                                  kvkit_backend_key_fn fn, void *ctx,
                                                  kvkit_error_t *err)
{
    etcd_t *e = handle;
    buf_t start = {0}, end = {0};
    key_doclike(&start, e, 'd', bucket, lo ? lo : "", lo ? strlen(lo) : 0);
    if (hi != NULL) {
        key_doclike(&end, e, 'd', bucket, hi, strlen(hi));
        buf_byte(&end, 0); /* hi is inclusive */
    } else {
        key_doclike(&end, e, 'd', bucket, "", 0);
        prefix_end(&end);
    }
    list_ctx_t l = {e->prefix_len + 2 + strlen(bucket), fn, ctx};
    int rc = scan(e, &start, &end, true, list_one, &l, bucket, err);
    buf_free(&start);
    buf_free(&end);
    return rc;
}

typedef struct index_ctx {
    etcd_t *e;
    size_t skip; /* bytes of P 'i' lp(bucket) lp(field) */
    const kvkit_index_value_t *lo, *hi;
    const char *bucket, *field;
    kvkit_backend_key_fn fn;     /* index_lookup */
    kvkit_backend_doc_fn doc_fn; /* index_docs */
    void *ctx;
} index_ctx_t;

/* index_docs: the document of a matching entry, read at the scan's
 * revision, so documents and index agree. */
static int index_doc(index_ctx_t *x, const char *key, size_t key_len, const unsigned char *s,
                     size_t slen, int64_t rev, int *stop, kvkit_error_t *err)
{
    buf_t dk = {0};
    key_doclike(&dk, x->e, 'd', x->bucket, key, key_len);
    if (dk.failed)
        return nomem(err, x->field);
    kv_t doc;
    int rc = range_one(x->e, &dk, rev, &doc, x->field, err);
    buf_free(&dk);
    if (rc != KVKIT_OK)
        return rc;
    if (!doc.present)
        return kvkit_backend_error(err, KVKIT_CORRUPT, x->field,
                                   "index entry for \"%s\" points at missing document \"%.*s\" "
                                   "in bucket \"%s\"", x->field, (int)key_len, key, x->bucket);
    *stop = x->doc_fn(x->ctx, key, key_len, (const char *)doc.value, doc.value_len, s, slen);
    free(doc.value);
    return KVKIT_OK;
}

static int index_one(void *vctx, const unsigned char *k, size_t klen, const unsigned char *v,
                     size_t vlen, int64_t rev, int *stop, kvkit_error_t *err)
{
    index_ctx_t *x = vctx;
    const unsigned char *rest = k + x->skip;
    size_t rest_len = klen > x->skip ? klen - x->skip : 0;
    size_t slen = kvkit_sortable_length(rest, rest_len);
    if (slen == 0 || slen == rest_len)
        return kvkit_backend_error(err, KVKIT_CORRUPT, x->field,
                                   "malformed index entry for \"%s\"", x->field);
    if (bytes_cmp(rest, slen, x->hi->sortable, x->hi->sortable_len) > 0) {
        *stop = 1;
        return KVKIT_OK;
    }
    if (bytes_cmp(rest, slen, x->lo->sortable, x->lo->sortable_len) < 0)
        return KVKIT_OK;
    /* each key once: skip it here if its previous value is also in range */
    if (vlen > 1 && v[0] == 1 &&
        bytes_cmp(v + 1, vlen - 1, x->lo->sortable, x->lo->sortable_len) >= 0)
        return KVKIT_OK;
    if (x->doc_fn != NULL)
        return index_doc(x, (const char *)rest + slen, rest_len - slen, rest, slen, rev, stop,
                         err);
    *stop = x->fn(x->ctx, (const char *)rest + slen, rest_len - slen, rest, slen);
    return KVKIT_OK;
}

static int index_scan(etcd_t *e, const char *bucket, const char *field,
                      const kvkit_index_value_t *lo, const kvkit_index_value_t *hi,
                      const kvkit_index_position_t *after, kvkit_backend_key_fn fn,
                      kvkit_backend_doc_fn doc_fn, void *ctx, kvkit_error_t *err)
{
    size_t field_len = strlen(field);
    buf_t start = {0}, end = {0};
    if (after != NULL) {
        key_index(&start, e, bucket, field, field_len, after->sortable, after->sortable_len,
                  after->key, after->key_len);
        buf_byte(&start, 0); /* strictly after */
        buf_t lo_key = {0};
        key_index(&lo_key, e, bucket, field, field_len, lo->sortable, lo->sortable_len, NULL, 0);
        if (!lo_key.failed && bytes_cmp(start.p, start.len, lo_key.p, lo_key.len) < 0) {
            start.len = 0;
            buf_add(&start, lo_key.p, lo_key.len);
        }
        buf_free(&lo_key);
    } else {
        key_index(&start, e, bucket, field, field_len, lo->sortable, lo->sortable_len, NULL, 0);
    }
    key_index(&end, e, bucket, field, field_len, hi->sortable, hi->sortable_len, NULL, 0);
    prefix_end(&end);
    index_ctx_t x = {e,  e->prefix_len + 3 + strlen(bucket) + field_len, lo, hi, bucket, field,
                     fn, doc_fn, ctx};
    int rc = scan(e, &start, &end, false, index_one, &x, field, err);
    buf_free(&start);
    buf_free(&end);
    return rc;
}

KVKIT_BACKEND_DECLARE(index_lookup);
int KVKIT_BACKEND_SYMBOL(kvkit_backend_index_lookup)(void *handle, const char *bucket,
                                                     const char *field,
                                                     const kvkit_index_value_t *lo,
                                                     const kvkit_index_value_t *hi,
                                                     const kvkit_index_position_t *after,
                                                     kvkit_backend_key_fn fn, void *ctx,
                                                     kvkit_error_t *err)
{
    return index_scan(handle, bucket, field, lo, hi, after, fn, NULL, ctx, err);
}

KVKIT_BACKEND_DECLARE(index_docs);
int KVKIT_BACKEND_SYMBOL(kvkit_backend_index_docs)(void *handle, const char *bucket,
                                                   const char *field,
                                                   const kvkit_index_value_t *lo,
                                                   const kvkit_index_value_t *hi,
                                                   const kvkit_index_position_t *after,
                                                   kvkit_backend_doc_fn fn, void *ctx,
                                                   kvkit_error_t *err)
{
    return index_scan(handle, bucket, field, lo, hi, after, NULL, fn, ctx, err);
}
