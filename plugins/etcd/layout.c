/* layout.c - keys, manifests, the manifest cache and request pieces of the
 * etcd backend (layout described in etcd.c). */
#include "etcd_private.h"

#include "../common/manifest.h"

#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

int et_nomem(kvkit_error_t *err, const char *subject)
{
    return kvkit_backend_error(err, KVKIT_NOMEM, subject, "out of memory");
}

/*** keys ***/

/* P 'T' lp(bucket) key */
void et_key_doclike(buf_t *b, const etcd_t *e, char type, const char *bucket, const char *key,
                    size_t key_len)
{
    b->len = 0;
    kvl_buf_add(b, e->prefix, e->prefix_len);
    kvl_buf_byte(b, (unsigned char)type);
    kvl_buf_lp(b, bucket, strlen(bucket));
    kvl_buf_add(b, key, key_len);
}

/* P 'i' lp(bucket) lp(field) [sortable [key]] */
void et_key_index(buf_t *b, const etcd_t *e, const char *bucket, const char *field,
                  size_t field_len, const unsigned char *sortable, size_t sortable_len,
                  const char *key, size_t key_len)
{
    b->len = 0;
    kvl_buf_add(b, e->prefix, e->prefix_len);
    kvl_buf_byte(b, 'i');
    kvl_buf_lp(b, bucket, strlen(bucket));
    kvl_buf_lp(b, field, field_len);
    kvl_buf_add(b, sortable, sortable_len);
    kvl_buf_add(b, key, key_len);
}

/* The smallest key greater than every key starting with b (etcd's range_end
 * for a prefix): drop trailing 0xFF bytes, then add one to the last. */
void et_prefix_end(buf_t *b)
{
    while (b->len > 0 && b->p[b->len - 1] == 0xFF)
        b->len--;
    if (b->len == 0)
        kvl_buf_byte(b, 0); /* "\0": to the end of the keyspace */
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
    out->create_revision = ec_get_int(kv, "create_revision");
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
    kvl_buf_free(&w->mkey);
    kvl_buf_free(&w->new_manifest);
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

/* The diff's emit: w's index keys into the txn's operations. */
typedef struct wr_ops {
    const etcd_t *e;
    const wr_t *w;
    json_t *ops;
    buf_t k;
} wr_ops_t;

static int emit_index(void *ctx, const kvl_mentry_t *en, const unsigned char *value,
                      size_t value_len)
{
    wr_ops_t *x = ctx;
    et_key_index(&x->k, x->e, x->w->bucket, en->field, en->field_len, en->sortable,
                 en->sortable_len, x->w->key, x->w->key_len);
    return value ? op_put(x->ops, &x->k, value, value_len) : op_del(x->ops, &x->k);
}

/* Append w's operations to `ops`: index keys it loses and gains (worked out
 * from its stored manifest), then the document and the manifest. */
int et_wr_ops(const etcd_t *e, wr_t *w, const unsigned char *nonce, json_t *ops, kvkit_error_t *err)
{
    kvl_mentry_t *old = NULL;
    size_t n_old = 0, n_new = w->value ? w->n_entries : 0;
    const kv_t *m = &w->manifest;
    if (m->present) {
        int rc = m->value_len >= 2 && m->value[0] == 'M' && m->value[1] == 1
                     ? kvl_manifest_parse(m->value, m->value_len, MANIFEST_HEAD, &old, &n_old)
                     : KVKIT_CORRUPT;
        if (rc == KVKIT_NOMEM)
            return et_nomem(err, w->key);
        if (rc != KVKIT_OK)
            return kvkit_backend_error(err, KVKIT_CORRUPT, w->key,
                                       "index manifest of \"%s\" in bucket \"%s\" is corrupt",
                                       w->key, w->bucket);
    }
    unsigned char head[MANIFEST_HEAD] = {'M', 1};
    memcpy(head + 2, nonce, NONCE_LEN);
    size_t mlen = 0;
    unsigned char *manifest = kvl_manifest_build(head, sizeof head, w->entries, n_new, &mlen);
    wr_ops_t x = {e, w, ops, {0}};
    int rc = manifest == NULL ? KVKIT_NOMEM
                              : kvl_manifest_diff(old, n_old, w->entries, n_new, emit_index, &x);
    et_key_doclike(&x.k, e, 'd', w->bucket, w->key, w->key_len);
    if (rc == KVKIT_OK)
        rc = w->value ? op_put(ops, &x.k, w->value, w->value_len) : op_del(ops, &x.k);
    if (rc == KVKIT_OK)
        rc = w->value ? op_put(ops, &w->mkey, manifest, mlen) : op_del(ops, &w->mkey);
    free(old);
    kvl_buf_free(&x.k);
    kvl_buf_free(&w->new_manifest);
    w->new_manifest = (buf_t){manifest, mlen, mlen, manifest == NULL};
    return rc == KVKIT_NOMEM ? et_nomem(err, w->key) : rc;
}
