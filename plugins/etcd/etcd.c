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
 *
 * Views (KVKIT_BACKEND_SNAPSHOT) are etcd revisions: an iteration reads
 * every page and every document at the revision current when it began,
 * until etcd compacts that revision away (then KVKIT_CONFLICT).
 *
 * Names.  The plugin exports only its descriptor and operations
 * (etcd_LTX_kvkit_backend_*).  A function shared between its files carries
 * the prefix of its layer: ec_ for the JSON-gateway client (client.c,
 * client.h: endpoints, failover, libcurl, base64), which knows nothing of
 * documents; et_ for the backend above it (etcd_private.h: key layout,
 * manifests, caches, writes).  Everything else is static and unprefixed.
 * Common code from plugins/common/ is kvl_.
 */
#define KVKIT_BACKEND_NAME etcd
#include <kvkit/backend.h>

#include <curl/curl.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "etcd_private.h"

#include "../common/secret.h"

/*** the backend ***/

const kvkit_backend_descriptor_t KVKIT_BACKEND_SYMBOL(kvkit_backend_descriptor) = {
    .abi_major = KVKIT_BACKEND_ABI_MAJOR,
    .abi_minor = KVKIT_BACKEND_ABI_MINOR,
    .struct_size = sizeof(kvkit_backend_descriptor_t),
    /* RESIDENT: libcurl and its TLS library register exit handlers */
    .flags = KVKIT_BACKEND_THREAD_SAFE | KVKIT_BACKEND_ORDERED | KVKIT_BACKEND_ATOMIC |
             KVKIT_BACKEND_DURABLE | KVKIT_BACKEND_RESIDENT | KVKIT_BACKEND_SNAPSHOT,
    .name = "etcd",
    .version = "1.0",
    .description = "etcd 3.x cluster over the v3 JSON gateway (libcurl), one txn per write",
};

/*** open ***/

typedef struct opts {
    uint64_t timeout_ms, connect_ms, retries, deadline_ms, probe_ms;
    const char *prefix;
    const char *cacert, *cert, *key; /* PEM paths */
    const char *user, *password_file;
} opts_t;

static const char known_options[] =
    "cacert, cert, connect_timeout_ms, deadline_ms, key, password_file, prefix, "
    "probe_timeout_ms, retries, timeout_ms, user";

/* A path option: not empty. */
static int opt_path(const kvkit_backend_option_t *o, const char **out, kvkit_error_t *err)
{
    if (o->value == NULL || *o->value == '\0')
        return kvkit_backend_error(err, KVKIT_BAD_OPTION, o->key, "option \"%s\" needs a value",
                                   o->key);
    *out = o->value;
    return KVKIT_OK;
}

/* A PEM file option: a file we can read, checked now so that a typo is
 * named here rather than as a TLS failure of every endpoint. */
static int opt_file(const kvkit_backend_option_t *o, const char **out, kvkit_error_t *err)
{
    int rc = opt_path(o, out, err);
    if (rc == KVKIT_OK && access(o->value, R_OK) != 0)
        rc = kvkit_backend_error(err, KVKIT_BAD_OPTION, o->key, "etcd: option %s: \"%s\": %s",
                                 o->key, o->value, strerror(errno));
    return rc;
}

static int parse_option(const kvkit_backend_option_t *o, opts_t *p, kvkit_error_t *err)
{
    const char *k = o->key;
    if (strcmp(k, "timeout_ms") == 0)
        return kvkit_backend_option_uint(o, 1, 3600000, &p->timeout_ms, err);
    if (strcmp(k, "connect_timeout_ms") == 0)
        return kvkit_backend_option_uint(o, 1, 3600000, &p->connect_ms, err);
    if (strcmp(k, "deadline_ms") == 0)
        return kvkit_backend_option_uint(o, 1, 3600000, &p->deadline_ms, err);
    if (strcmp(k, "probe_timeout_ms") == 0)
        return kvkit_backend_option_uint(o, 1, 60000, &p->probe_ms, err);
    if (strcmp(k, "retries") == 0)
        return kvkit_backend_option_uint(o, 0, 100, &p->retries, err);
    if (strcmp(k, "prefix") == 0) {
        p->prefix = o->value;
        return KVKIT_OK;
    }
    if (strcmp(k, "cacert") == 0)
        return opt_file(o, &p->cacert, err);
    if (strcmp(k, "cert") == 0)
        return opt_file(o, &p->cert, err);
    if (strcmp(k, "key") == 0)
        return opt_file(o, &p->key, err);
    if (strcmp(k, "user") == 0)
        return opt_path(o, &p->user, err);
    if (strcmp(k, "password_file") == 0)
        return opt_path(o, &p->password_file, err);
    if (strcmp(k, "password") == 0)
        return kvkit_backend_error(err, KVKIT_BAD_OPTION, k,
                                   "etcd: a password never goes in a store string: give "
                                   "password_file=PATH or set KVKIT_ETCD_PASSWORD");
    return kvkit_backend_error(err, KVKIT_BAD_OPTION, k, "unknown option \"%s\" (known: %s)", k,
                               known_options);
}

static int parse_options(const kvkit_backend_option_t *options, size_t n_options, opts_t *p,
                         kvkit_error_t *err)
{
    *p = (opts_t){.timeout_ms = 5000,
                  .connect_ms = 1000,
                  .retries = 4,
                  .deadline_ms = 5000,
                  .probe_ms = 1000,
                  .prefix = "kvkit/"};
    for (size_t i = 0; i < n_options; i++) {
        int rc = parse_option(&options[i], p, err);
        if (rc != KVKIT_OK)
            return rc;
    }
    if ((p->cert == NULL) != (p->key == NULL))
        return kvkit_backend_error(err, KVKIT_BAD_OPTION, p->cert ? "cert" : "key",
                                   "etcd: options cert and key go together (a client certificate "
                                   "and its private key)");
    if (p->password_file && p->user == NULL)
        return kvkit_backend_error(err, KVKIT_BAD_OPTION, "password_file",
                                   "etcd: password_file given without user");
    return KVKIT_OK;
}

static bool dup_opt(char **dst, const char *src)
{
    return src == NULL || (*dst = strdup(src)) != NULL;
}

/* TLS paths, user and password into the client. */
static int client_setup(ec_client_t *c, const opts_t *p, const char *location, kvkit_error_t *err)
{
    c->timeout_ms = (long)p->timeout_ms;
    c->connect_timeout_ms = (long)p->connect_ms;
    c->deadline_ms = (long)p->deadline_ms;
    c->probe_ms = (long)p->probe_ms;
    c->retries = (unsigned)p->retries;
    if (!dup_opt(&c->cacert, p->cacert) || !dup_opt(&c->cert, p->cert) ||
        !dup_opt(&c->key, p->key) || !dup_opt(&c->user, p->user))
        return et_nomem(err, location);
    if (p->user == NULL)
        return KVKIT_OK;
    char pw[1024];
    int rc = kvsecret_password("etcd", p->user, p->password_file, "KVKIT_ETCD_PASSWORD", pw,
                               sizeof pw, err);
    if (rc == KVKIT_OK && (c->password = strdup(pw)) == NULL)
        rc = et_nomem(err, location);
    kvsecret_wipe(pw, sizeof pw);
    return rc;
}

static void etcd_free(etcd_t *e)
{
    if (e->cache)
        for (size_t i = 0; i < CACHE_SLOTS; i++)
            et_centry_clear(&e->cache[i]);
    free(e->cache);
    pthread_mutex_destroy(&e->cache_lock);
    free(e->prefix);
    free(e);
    curl_global_cleanup();
}

KVKIT_BACKEND_DECLARE(open);
int KVKIT_BACKEND_SYMBOL(kvkit_backend_open)(const char *location,
                                             const kvkit_backend_option_t *options,
                                             size_t n_options, void **handle, kvkit_error_t *err)
{
    opts_t p;
    int rc = parse_options(options, n_options, &p, err);
    if (rc != KVKIT_OK)
        return rc;
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        return kvkit_backend_error(err, KVKIT_BACKEND, location, "libcurl failed to initialise");
    etcd_t *e = calloc(1, sizeof *e);
    if (e == NULL || pthread_mutex_init(&e->cache_lock, NULL) != 0) {
        free(e);
        curl_global_cleanup();
        return et_nomem(err, location);
    }
    if ((e->prefix = strdup(p.prefix)) == NULL ||
        (e->cache = calloc(CACHE_SLOTS, sizeof *e->cache)) == NULL) {
        etcd_free(e);
        return et_nomem(err, location);
    }
    e->prefix_len = strlen(p.prefix);
    rc = ec_client_init(&e->c, location, err);
    if (rc != KVKIT_OK) {
        etcd_free(e);
        return rc;
    }
    if ((rc = client_setup(&e->c, &p, location, err)) != KVKIT_OK ||
        (rc = ec_client_connect(&e->c, err)) != KVKIT_OK) {
        ec_client_free(&e->c);
        etcd_free(e);
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
    etcd_free(e);
}

/* The document at revision `at` (0: the latest, read linearizably). */
static int get_at(etcd_t *e, int64_t at, const char *bucket, const char *key, char **value,
                  size_t *value_len, uint64_t *revision, kvkit_error_t *err)
{
    buf_t k = {0};
    et_key_doclike(&k, e, 'd', bucket, key, strlen(key));
    if (k.failed)
        return et_nomem(err, key);
    kv_t kv;
    int rc = et_range_one(e, &k, at, &kv, key, err);
    kvl_buf_free(&k);
    if (rc != KVKIT_OK)
        return rc;
    if (!kv.present)
        return KVKIT_NOTFOUND;
    *value = (char *)kv.value;
    *value_len = kv.value_len;
    *revision = (uint64_t)kv.mod_revision;
    return KVKIT_OK;
}

KVKIT_BACKEND_DECLARE(get_rev);
int KVKIT_BACKEND_SYMBOL(kvkit_backend_get_rev)(void *handle, const char *bucket, const char *key,
                                                char **value, size_t *value_len, uint64_t *revision,
                                                kvkit_error_t *err)
{
    return get_at(handle, 0, bucket, key, value, value_len, revision, err);
}

KVKIT_BACKEND_DECLARE(get);
int KVKIT_BACKEND_SYMBOL(kvkit_backend_get)(void *handle, const char *bucket, const char *key,
                                            char **value, size_t *value_len, kvkit_error_t *err)
{
    uint64_t rev;
    return get_at(handle, 0, bucket, key, value, value_len, &rev, err);
}

KVKIT_BACKEND_DECLARE(save);
int KVKIT_BACKEND_SYMBOL(kvkit_backend_save)(void *handle, const char *bucket, const char *key,
                                             const char *value, size_t value_len,
                                             const kvkit_index_entry_t *entries, size_t n_entries,
                                             kvkit_error_t *err)
{
    return et_write_one(handle, bucket, key, value, value_len, entries, n_entries, false, 0, NULL,
                        err);
}

KVKIT_BACKEND_DECLARE(save_if);
int KVKIT_BACKEND_SYMBOL(kvkit_backend_save_if)(void *handle, const char *bucket, const char *key,
                                                const char *value, size_t value_len,
                                                const kvkit_index_entry_t *entries,
                                                size_t n_entries, uint64_t expected,
                                                uint64_t *new_revision, kvkit_error_t *err)
{
    return et_write_one(handle, bucket, key, value, value_len, entries, n_entries, true, expected,
                        new_revision, err);
}

KVKIT_BACKEND_DECLARE(delete);
int KVKIT_BACKEND_SYMBOL(kvkit_backend_delete)(void *handle, const char *bucket, const char *key,
                                               kvkit_error_t *err)
{
    return et_write_one(handle, bucket, key, NULL, 0, NULL, 0, false, 0, NULL, err);
}

/* Apply w[0..n) as one txn.  Over the server's txn limits (--max-txn-ops,
 * --max-request-bytes) the batch is split in halves until the parts fit:
 * each part is one atomic txn (each document stays atomic with its index
 * entries), the batch as a whole is not.  A txn refused for its size
 * changed nothing, so going on with the parts is safe. */
static int batch_apply(etcd_t *e, wr_t *w, size_t n, kvkit_error_t *err)
{
    wctx_t x = {.e = e, .w = w, .n = n, .subject = w[0].key};
    uint64_t rev = 0;
    kvkit_error_t berr = {0};
    int rc = et_write_docs(&x, &rev, &berr);
    if (rc == KVKIT_TOO_LARGE && n > 1) {
        rc = batch_apply(e, w, n / 2, err);
        return rc != KVKIT_OK ? rc : batch_apply(e, w + n / 2, n - n / 2, err);
    }
    if (rc != KVKIT_OK)
        *err = berr;
    return rc;
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
        return et_nomem(err, "");
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
        w[n] = (wr_t){.bucket = s->bucket,
                      .key = s->key,
                      .key_len = strlen(s->key),
                      .value = s->value,
                      .value_len = s->value_len,
                      .entries = s->entries,
                      .n_entries = s->n_entries};
        et_key_doclike(&w[n].mkey, e, 'm', s->bucket, s->key, w[n].key_len);
        if (w[n++].mkey.failed)
            rc = et_nomem(err, s->key);
    }
    if (rc == KVKIT_OK)
        rc = batch_apply(e, w, n, err);
    for (size_t i = 0; i < n; i++)
        et_wr_free(&w[i]);
    free(w);
    return rc;
}

/*** scans: range requests of PAGE keys, all pages at one revision ***/

/* Called per key; `rev` is the revision the whole scan reads at. */
typedef int (*scan_fn)(void *ctx, const unsigned char *k, size_t klen, const unsigned char *v,
                       size_t vlen, int64_t rev, int *stop, kvkit_error_t *err);

/* Every page at revision `rev`: a view's, or (0) the first page's. */
static int scan(etcd_t *e, int64_t rev, buf_t *start, const buf_t *end, bool keys_only, scan_fn fn,
                void *ctx, const char *subject, kvkit_error_t *err)
{
    int rc = KVKIT_OK, stop = 0;
    while (rc == KVKIT_OK && !stop) {
        if (start->failed || end->failed ||
            kvkit_sortable_cmp(start->p, start->len, end->p, end->len) >= 0)
            return start->failed || end->failed ? et_nomem(err, subject) : KVKIT_OK;
        json_t *req = et_req_key(start), *resp = NULL;
        if (req == NULL || json_object_set_new(req, "range_end", ec_b64(end->p, end->len)) ||
            json_object_set_new(req, "limit", json_integer(PAGE)) ||
            (keys_only && json_object_set_new(req, "keys_only", json_true())) ||
            (rev > 0 && json_object_set_new(req, "revision", et_rev_string(rev)))) {
            json_decref(req);
            return et_nomem(err, subject);
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
                    kvl_buf_add(start, k, klen);
                    kvl_buf_byte(start, 0);
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
    const buf_t *start, *end; /* the requested range [start, end) */
    const char *bucket;
} list_ctx_t;

static int key_cmp(const unsigned char *a, size_t alen, const buf_t *b)
{
    return kvkit_sortable_cmp(a, alen, b->p, b->len);
}

static int list_one(void *vctx, const unsigned char *k, size_t klen, const unsigned char *v,
                    size_t vlen, int64_t rev, int *stop, kvkit_error_t *err)
{
    list_ctx_t *l = vctx;
    /* a server answer outside the range asked for would hand over another
     * bucket's keys: refuse it rather than trust it (found by fuzz_etcd) */
    if (klen <= l->skip || key_cmp(k, klen, l->start) < 0 || key_cmp(k, klen, l->end) >= 0)
        return kvkit_backend_error(err, KVKIT_BACKEND, l->bucket,
                                   "etcd: range answer for bucket \"%s\" holds a key outside "
                                   "the requested range",
                                   l->bucket);
    *stop = l->fn(l->ctx, (const char *)k + l->skip, klen - l->skip, NULL, 0);
    return KVKIT_OK;
}

static int list_keys(etcd_t *e, int64_t rev, const char *bucket, const char *lo, const char *hi,
                     kvkit_backend_key_fn fn, void *ctx, kvkit_error_t *err)
{
    buf_t start = {0}, end = {0};
    et_key_doclike(&start, e, 'd', bucket, lo ? lo : "", lo ? strlen(lo) : 0);
    if (hi != NULL) {
        et_key_doclike(&end, e, 'd', bucket, hi, strlen(hi));
        kvl_buf_byte(&end, 0); /* hi is inclusive */
    } else {
        et_key_doclike(&end, e, 'd', bucket, "", 0);
        et_prefix_end(&end);
    }
    list_ctx_t l = {e->prefix_len + 2 + strlen(bucket), fn, ctx, &start, &end, bucket};
    int rc = scan(e, rev, &start, &end, true, list_one, &l, bucket, err);
    kvl_buf_free(&start);
    kvl_buf_free(&end);
    return rc;
}

KVKIT_BACKEND_DECLARE(list_keys);
int KVKIT_BACKEND_SYMBOL(kvkit_backend_list_keys)(void *handle, const char *bucket, const char *lo,
                                                  const char *hi, kvkit_backend_key_fn fn,
                                                  void *ctx, kvkit_error_t *err)
{
    return list_keys(handle, 0, bucket, lo, hi, fn, ctx, err);
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
    et_key_doclike(&dk, x->e, 'd', x->bucket, key, key_len);
    if (dk.failed)
        return et_nomem(err, x->field);
    kv_t doc;
    int rc = et_range_one(x->e, &dk, rev, &doc, x->field, err);
    kvl_buf_free(&dk);
    if (rc != KVKIT_OK)
        return rc;
    if (!doc.present)
        return kvkit_backend_error(err, KVKIT_CORRUPT, x->field,
                                   "index entry for \"%s\" points at missing document \"%.*s\" "
                                   "in bucket \"%s\"",
                                   x->field, (int)key_len, key, x->bucket);
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
        return kvkit_backend_error(err, KVKIT_CORRUPT, x->field, "malformed index entry for \"%s\"",
                                   x->field);
    if (kvkit_sortable_cmp(rest, slen, x->hi->sortable, x->hi->sortable_len) > 0) {
        *stop = 1;
        return KVKIT_OK;
    }
    if (kvkit_sortable_cmp(rest, slen, x->lo->sortable, x->lo->sortable_len) < 0)
        return KVKIT_OK;
    /* each key once: skip it here if its previous value is also in range */
    if (vlen > 1 && v[0] == 1 &&
        kvkit_sortable_cmp(v + 1, vlen - 1, x->lo->sortable, x->lo->sortable_len) >= 0)
        return KVKIT_OK;
    if (x->doc_fn != NULL)
        return index_doc(x, (const char *)rest + slen, rest_len - slen, rest, slen, rev, stop, err);
    *stop = x->fn(x->ctx, (const char *)rest + slen, rest_len - slen, rest, slen);
    return KVKIT_OK;
}

static int index_scan(etcd_t *e, int64_t rev, const char *bucket, const char *field,
                      const kvkit_index_value_t *lo, const kvkit_index_value_t *hi,
                      const kvkit_index_position_t *after, kvkit_backend_key_fn fn,
                      kvkit_backend_doc_fn doc_fn, void *ctx, kvkit_error_t *err)
{
    size_t field_len = strlen(field);
    buf_t start = {0}, end = {0};
    if (after != NULL) {
        et_key_index(&start, e, bucket, field, field_len, after->sortable, after->sortable_len,
                     after->key, after->key_len);
        kvl_buf_byte(&start, 0); /* strictly after */
        buf_t lo_key = {0};
        et_key_index(&lo_key, e, bucket, field, field_len, lo->sortable, lo->sortable_len, NULL, 0);
        if (!lo_key.failed && kvkit_sortable_cmp(start.p, start.len, lo_key.p, lo_key.len) < 0) {
            start.len = 0;
            kvl_buf_add(&start, lo_key.p, lo_key.len);
        }
        kvl_buf_free(&lo_key);
    } else {
        et_key_index(&start, e, bucket, field, field_len, lo->sortable, lo->sortable_len, NULL, 0);
    }
    et_key_index(&end, e, bucket, field, field_len, hi->sortable, hi->sortable_len, NULL, 0);
    et_prefix_end(&end);
    index_ctx_t x = {
        e, e->prefix_len + 3 + strlen(bucket) + field_len, lo, hi, bucket, field, fn, doc_fn, ctx};
    int rc = scan(e, rev, &start, &end, false, index_one, &x, field, err);
    kvl_buf_free(&start);
    kvl_buf_free(&end);
    return rc;
}

KVKIT_BACKEND_DECLARE(index_lookup);
int KVKIT_BACKEND_SYMBOL(kvkit_backend_index_lookup)(
    void *handle, const char *bucket, const char *field, const kvkit_index_value_t *lo,
    const kvkit_index_value_t *hi, const kvkit_index_position_t *after, kvkit_backend_key_fn fn,
    void *ctx, kvkit_error_t *err)
{
    return index_scan(handle, 0, bucket, field, lo, hi, after, fn, NULL, ctx, err);
}

KVKIT_BACKEND_DECLARE(index_docs);
int KVKIT_BACKEND_SYMBOL(kvkit_backend_index_docs)(void *handle, const char *bucket,
                                                   const char *field, const kvkit_index_value_t *lo,
                                                   const kvkit_index_value_t *hi,
                                                   const kvkit_index_position_t *after,
                                                   kvkit_backend_doc_fn fn, void *ctx,
                                                   kvkit_error_t *err)
{
    return index_scan(handle, 0, bucket, field, lo, hi, after, NULL, fn, ctx, err);
}

/*** views: a revision every read of an iteration is pinned to ***/

/* etcd keeps every revision until it is compacted, so a view is only a
 * number: nothing is held on the server, and closing it frees memory.  A
 * view outlived by a compaction cannot be served any more: its reads
 * answer KVKIT_CONFLICT (the client maps etcd's "required revision has
 * been compacted" to it) and the iteration has to start again. */
typedef struct view {
    etcd_t *e;
    int64_t rev;
} view_t;

KVKIT_BACKEND_DECLARE(view_open);
int KVKIT_BACKEND_SYMBOL(kvkit_backend_view_open)(void *handle, void **view, kvkit_error_t *err)
{
    etcd_t *e = handle;
    /* the cheapest linearizable read (count_only, one key): its header
     * carries the current revision, which includes every write
     * acknowledged before the view was opened */
    buf_t k = {0};
    et_key_doclike(&k, e, 'd', "", "", 0);
    json_t *req = k.failed ? NULL : et_req_key(&k), *resp = NULL;
    kvl_buf_free(&k);
    if (req == NULL || json_object_set_new(req, "count_only", json_true()) != 0) {
        json_decref(req);
        return et_nomem(err, e->prefix);
    }
    int rc = ec_call(&e->c, "/v3/kv/range", req, EC_READ, &resp, e->prefix, err);
    json_decref(req);
    if (rc != KVKIT_OK)
        return rc;
    int64_t rev = ec_get_int(json_object_get(resp, "header"), "revision");
    json_decref(resp);
    if (rev <= 0)
        return kvkit_backend_error(err, KVKIT_BACKEND, e->prefix,
                                   "\"%s\": a range response carries no revision in its header",
                                   e->prefix);
    view_t *v = malloc(sizeof *v);
    if (v == NULL)
        return et_nomem(err, e->prefix);
    *v = (view_t){e, rev};
    *view = v;
    return KVKIT_OK;
}

KVKIT_BACKEND_DECLARE(view_close);
void KVKIT_BACKEND_SYMBOL(kvkit_backend_view_close)(void *handle, void *view)
{
    (void)handle;
    free(view);
}

/* A read in view v answered rc with lerr: pass it on, saying a compacted
 * revision in the view's terms (which revision, and what to do). */
static int view_result(const view_t *v, int rc, const kvkit_error_t *lerr, kvkit_error_t *err)
{
    if (rc == KVKIT_OK || rc == KVKIT_NOTFOUND || err == NULL || err->code != KVKIT_OK)
        return rc;
    if (rc != KVKIT_CONFLICT) {
        *err = *lerr;
        return rc;
    }
    /* the client's text starts with the quoted subject: say it once */
    const char *why = lerr->text;
    size_t n = strlen(lerr->subject);
    if (why[0] == '"' && strncmp(why + 1, lerr->subject, n) == 0 &&
        strncmp(why + 1 + n, "\": ", 3) == 0)
        why += n + 4;
    return kvkit_backend_error(err, KVKIT_CONFLICT, lerr->subject,
                               "\"%s\": the view's revision %lld was compacted away; the "
                               "iteration must be restarted: %s",
                               lerr->subject, (long long)v->rev, why);
}

KVKIT_BACKEND_DECLARE(view_get);
int KVKIT_BACKEND_SYMBOL(kvkit_backend_view_get)(void *view, const char *bucket, const char *key,
                                                 char **value, size_t *value_len,
                                                 kvkit_error_t *err)
{
    view_t *v = view;
    kvkit_error_t lerr = {0};
    uint64_t rev;
    int rc = get_at(v->e, v->rev, bucket, key, value, value_len, &rev, &lerr);
    return view_result(v, rc, &lerr, err);
}

KVKIT_BACKEND_DECLARE(view_list_keys);
int KVKIT_BACKEND_SYMBOL(kvkit_backend_view_list_keys)(void *view, const char *bucket,
                                                       const char *lo, const char *hi,
                                                       kvkit_backend_key_fn fn, void *ctx,
                                                       kvkit_error_t *err)
{
    view_t *v = view;
    kvkit_error_t lerr = {0};
    int rc = list_keys(v->e, v->rev, bucket, lo, hi, fn, ctx, &lerr);
    return view_result(v, rc, &lerr, err);
}

KVKIT_BACKEND_DECLARE(view_index_lookup);
int KVKIT_BACKEND_SYMBOL(kvkit_backend_view_index_lookup)(
    void *view, const char *bucket, const char *field, const kvkit_index_value_t *lo,
    const kvkit_index_value_t *hi, const kvkit_index_position_t *after, kvkit_backend_key_fn fn,
    void *ctx, kvkit_error_t *err)
{
    view_t *v = view;
    kvkit_error_t lerr = {0};
    int rc = index_scan(v->e, v->rev, bucket, field, lo, hi, after, fn, NULL, ctx, &lerr);
    return view_result(v, rc, &lerr, err);
}

KVKIT_BACKEND_DECLARE(view_index_docs);
int KVKIT_BACKEND_SYMBOL(kvkit_backend_view_index_docs)(
    void *view, const char *bucket, const char *field, const kvkit_index_value_t *lo,
    const kvkit_index_value_t *hi, const kvkit_index_position_t *after, kvkit_backend_doc_fn fn,
    void *ctx, kvkit_error_t *err)
{
    view_t *v = view;
    kvkit_error_t lerr = {0};
    int rc = index_scan(v->e, v->rev, bucket, field, lo, hi, after, NULL, fn, ctx, &lerr);
    return view_result(v, rc, &lerr, err);
}
