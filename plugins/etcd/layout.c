/* layout.c - keys, manifests, the manifest cache and request pieces of the
 * etcd backend (layout described in etcd.c). */
#include "etcd_private.h"

#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

/*** byte buffers ***/

void et_buf_add(buf_t *b, const void *data, size_t n)
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

void et_buf_byte(buf_t *b, unsigned char c)
{
    et_buf_add(b, &c, 1);
}

void et_buf_lp(buf_t *b, const char *s, size_t n)
{
    et_buf_byte(b, (unsigned char)n);
    et_buf_add(b, s, n);
}

void et_buf_free(buf_t *b)
{
    free(b->p);
    memset(b, 0, sizeof *b);
}

int et_nomem(kvkit_error_t *err, const char *subject)
{
    return kvkit_backend_error(err, KVKIT_NOMEM, subject, "out of memory");
}

int et_bytes_cmp(const unsigned char *a, size_t alen, const unsigned char *b, size_t blen)
{
    int c = memcmp(a, b, alen < blen ? alen : blen);
    return c ? c : (alen > blen) - (alen < blen);
}

/*** keys ***/

/* P 'T' lp(bucket) key */
void et_key_doclike(buf_t *b, const etcd_t *e, char type, const char *bucket, const char *key,
                    size_t key_len)
{
    b->len = 0;
    et_buf_add(b, e->prefix, e->prefix_len);
    et_buf_byte(b, (unsigned char)type);
    et_buf_lp(b, bucket, strlen(bucket));
    et_buf_add(b, key, key_len);
}

/* P 'i' lp(bucket) lp(field) [sortable [key]] */
void et_key_index(buf_t *b, const etcd_t *e, const char *bucket, const char *field,
                  size_t field_len, const unsigned char *sortable, size_t sortable_len,
                  const char *key, size_t key_len)
{
    b->len = 0;
    et_buf_add(b, e->prefix, e->prefix_len);
    et_buf_byte(b, 'i');
    et_buf_lp(b, bucket, strlen(bucket));
    et_buf_lp(b, field, field_len);
    et_buf_add(b, sortable, sortable_len);
    et_buf_add(b, key, key_len);
}

/* The smallest key greater than every key starting with b (etcd's range_end
 * for a prefix): drop trailing 0xFF bytes, then add one to the last. */
void et_prefix_end(buf_t *b)
{
    while (b->len > 0 && b->p[b->len - 1] == 0xFF)
        b->len--;
    if (b->len == 0)
        et_buf_byte(b, 0); /* "\0": to the end of the keyspace */
    else
        b->p[b->len - 1]++;
}

/*** requests ***/

/* {"key": b64} plus optional extra fields; NULL when out of memory. */
json_t *et_req_key(const buf_t *k)
{
    json_t *r = json_object();
    if (r == NULL || json_object_set_new(r, "key", ec_b64(k->p, k->len)) != 0) {
        json_decref(r);
        return NULL;
    }
    return r;
}

json_t *et_rev_string(int64_t rev)
{
    char s[32];
    snprintf(s, sizeof s, "%lld", (long long)rev);
    return json_string(s);
}

int et_kv_from_json(const json_t *kvs, kv_t *out, const char *subject, kvkit_error_t *err)
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

int et_range_one(etcd_t *e, const buf_t *k, int64_t revision, kv_t *out, const char *subject,
                 kvkit_error_t *err)
{
    memset(out, 0, sizeof *out);
    json_t *req = et_req_key(k), *resp = NULL;
    if (req == NULL ||
        (revision > 0 && json_object_set_new(req, "revision", et_rev_string(revision)) != 0) ||
        (revision == ET_LOCAL && json_object_set_new(req, "serializable", json_true()) != 0)) {
        json_decref(req);
        return et_nomem(err, subject);
    }
    int rc = ec_call(&e->c, "/v3/kv/range", req, EC_READ, &resp, subject, err);
    json_decref(req);
    if (rc == KVKIT_OK)
        rc = et_kv_from_json(json_object_get(resp, "kvs"), out, subject, err);
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

void et_centry_clear(centry_t *c)
{
    free(c->mkey);
    free(c->manifest);
    memset(c, 0, sizeof *c);
}

/* Copy the cached state of manifest key k into *out; false when not cached. */
bool et_cache_get(etcd_t *e, const buf_t *k, kv_t *out)
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
void et_cache_put(etcd_t *e, const buf_t *k, const kv_t *kv)
{
    pthread_mutex_lock(&e->cache_lock);
    centry_t *c = cache_slot(e, k);
    bool same = c->mkey && c->mkey_len == k->len && memcmp(c->mkey, k->p, k->len) == 0;
    if (kv == NULL) {
        if (same)
            et_centry_clear(c);
        pthread_mutex_unlock(&e->cache_lock);
        return;
    }
    if (same && c->present && kv->present && kv->mod_revision < c->mod_revision) {
        pthread_mutex_unlock(&e->cache_lock); /* older news than what we hold */
        return;
    }
    et_centry_clear(c);
    c->mkey = malloc(k->len);
    c->manifest = kv->present ? malloc(kv->value_len + 1) : NULL;
    if (c->mkey == NULL || (kv->present && c->manifest == NULL)) {
        et_centry_clear(c);
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
    int c = et_bytes_cmp((const unsigned char *)a->field, a->field_len,
                         (const unsigned char *)b->field, b->field_len);
    return c ? c : et_bytes_cmp(a->sortable, a->sortable_len, b->sortable, b->sortable_len);
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
    return et_bytes_cmp(a->sortable, a->sortable_len, b->sortable, b->sortable_len) == 0;
}

bool et_has_nonce(const kv_t *m, const unsigned char *nonce)
{
    return m->present && m->value_len >= MANIFEST_HEAD && m->value[0] == 'M' &&
           memcmp(m->value + 2, nonce, NONCE_LEN) == 0;
}

void et_nonce_new(unsigned char *nonce)
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

void et_wr_free(wr_t *w)
{
    free(w->manifest.value);
    et_buf_free(&w->mkey);
    et_buf_free(&w->new_manifest);
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
    json_t *op = et_req_key(k);
    if (op != NULL && json_object_set_new(op, "value", ec_b64(v, vlen)) != 0) {
        json_decref(op);
        op = NULL;
    }
    return op_add(ops, "request_put", op);
}

static int op_del(json_t *ops, const buf_t *k)
{
    return k->failed ? KVKIT_NOMEM : op_add(ops, "request_delete_range", et_req_key(k));
}

int et_op_range(json_t *ops, const buf_t *k, bool keys_only)
{
    json_t *op = k->failed ? NULL : et_req_key(k);
    if (op != NULL && keys_only && json_object_set_new(op, "keys_only", json_true()) != 0) {
        json_decref(op);
        op = NULL;
    }
    return op_add(ops, "request_range", op);
}

int et_compare_mod(json_t *cmp, const buf_t *k, int64_t rev)
{
    json_t *c = k->failed ? NULL : et_req_key(k);
    if (c == NULL || json_object_set_new(c, "target", json_string("MOD")) != 0 ||
        json_object_set_new(c, "result", json_string("EQUAL")) != 0 ||
        json_object_set_new(c, "mod_revision", et_rev_string(rev)) != 0 ||
        json_array_append_new(cmp, c) != 0) {
        json_decref(c);
        return KVKIT_NOMEM;
    }
    return KVKIT_OK;
}

/* Append w's operations to `ops`: index keys it loses and gains (worked out
 * from its stored manifest), then the document and the manifest. */
int et_wr_ops(const etcd_t *e, wr_t *w, const unsigned char *nonce, json_t *ops, kvkit_error_t *err)
{
    mentry_t *old = NULL, *new = NULL;
    size_t n_old = 0, n_new = w->value ? w->n_entries : 0;
    buf_t k = {0}, v = {0}, manifest = {0};
    int rc = KVKIT_OK;
    if (w->manifest.present) {
        rc = manifest_parse(w->manifest.value, w->manifest.value_len, &old, &n_old);
        if (rc == KVKIT_NOMEM)
            return et_nomem(err, w->key);
        if (rc != KVKIT_OK)
            return kvkit_backend_error(err, KVKIT_CORRUPT, w->key,
                                       "index manifest of \"%s\" in bucket \"%s\" is corrupt",
                                       w->key, w->bucket);
    }
    if (n_new > 0 && (new = malloc(n_new * sizeof *new)) == NULL) {
        free(old);
        return et_nomem(err, w->key);
    }
    et_buf_byte(&manifest, 'M');
    et_buf_byte(&manifest, 1);
    et_buf_add(&manifest, nonce, NONCE_LEN);
    for (size_t j = 0; j < n_new; j++) {
        const kvkit_index_entry_t *en = &w->entries[j];
        new[j] =
            (mentry_t){en->field, strlen(en->field), en->value.sortable, en->value.sortable_len};
        et_buf_lp(&manifest, new[j].field, new[j].field_len);
        et_buf_add(&manifest, new[j].sortable, new[j].sortable_len);
    }
    /* merge walk of the two sorted lists: drop what is gone, write what is
     * new or whose predecessor changed, leave the rest alone */
    size_t i = 0, j = 0;
    while (rc == KVKIT_OK && (i < n_old || j < n_new)) {
        int c = i == n_old ? 1 : j == n_new ? -1 : mentry_cmp(&old[i], &new[j]);
        if (c < 0) {
            et_key_index(&k, e, w->bucket, old[i].field, old[i].field_len, old[i].sortable,
                         old[i].sortable_len, w->key, w->key_len);
            rc = op_del(ops, &k);
            i++;
            continue;
        }
        const mentry_t *np = pred_of(new, j);
        if (c > 0 || !same_pred(pred_of(old, i), np)) {
            et_key_index(&k, e, w->bucket, new[j].field, new[j].field_len, new[j].sortable,
                         new[j].sortable_len, w->key, w->key_len);
            v.len = 0;
            et_buf_byte(&v, np ? 1 : 0);
            if (np)
                et_buf_add(&v, np->sortable, np->sortable_len);
            rc = v.failed ? KVKIT_NOMEM : op_put(ops, &k, v.p, v.len);
        }
        if (c == 0)
            i++;
        j++;
    }
    et_key_doclike(&k, e, 'd', w->bucket, w->key, w->key_len);
    if (rc == KVKIT_OK)
        rc = w->value ? op_put(ops, &k, w->value, w->value_len) : op_del(ops, &k);
    if (rc == KVKIT_OK)
        rc = manifest.failed ? KVKIT_NOMEM
             : w->value      ? op_put(ops, &w->mkey, manifest.p, manifest.len)
                             : op_del(ops, &w->mkey);
    free(old);
    free(new);
    et_buf_free(&k);
    et_buf_free(&v);
    et_buf_free(&w->new_manifest);
    w->new_manifest = manifest;
    return rc == KVKIT_OK ? rc : et_nomem(err, w->key);
}
