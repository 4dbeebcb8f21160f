/*
 * riak.c - the riak backend: Riak KV over its HTTP API with libcurl.
 *
 * "riak:http://host:8098?r=quorum&timeout_ms=5000".  Documents are stored
 * as application/json objects at /buckets/B/keys/K (or
 * /types/T/buckets/B/keys/K with bucket_type=T); index entries travel as
 * X-Riak-Index-* headers (spelling in codec.c); queries use 2i (query.c).
 *
 * Vector clocks: each handle remembers, in a bounded direct-mapped cache,
 * the X-Riak-Vclock of the last answer about each key (get, save - saves
 * use returnbody=true to learn the new clock - and siblings).  A save or
 * delete sends it, so a read-modify-write replaces what it read instead of
 * adding a sibling; blind_writes=true never sends one.  An evicted entry
 * only means a blind write.
 *
 * Siblings (300): siblings=conflict (default) fails the get with
 * KVKIT_CONFLICT, every sibling's value in the message; the clock of the
 * siblings is cached, so saving the application's merged value replaces
 * them (the resolution path that needs no ABI change).  siblings=newest
 * resolves in the backend: the sibling with the newest Last-Modified wins
 * and is written back with the clock.  An application resolver
 * (kvkit_store_set_resolver) reads every sibling through get_siblings
 * (ABI 1.1) and saves the merge the same way.
 *
 * Not exported on purpose: write_batch, get_rev and save_if.  Riak has no
 * multi-key transaction (a document and its index entries are one object,
 * but several documents cannot change together) and no compare-and-set
 * (If-Match / If-None-Match are checked without atomicity, riak-http.md
 * section 4), so claiming them would be a lie.
 *
 * Names.  The plugin exports only its descriptor and operations
 * (riak_LTX_kvkit_backend_*).  A function shared between the plugin's files
 * is riak_<noun>_<verb> (riak_http_do, riak_cursor_next, riak_vc_put) and
 * is declared in riak_private.h or cursor.h; everything else is static and
 * unprefixed.  The prefix keeps the internals apart from another plugin's
 * when several are linked into one static program.  (codec.c's helpers -
 * buf_*, url_escape, sortable_* ... - still await the prefix.)
 */
#include "riak_private.h"

#include "../common/secret.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

const kvkit_backend_descriptor_t KVKIT_BACKEND_SYMBOL(kvkit_backend_descriptor) = {
    .abi_major = KVKIT_BACKEND_ABI_MAJOR,
    .abi_minor = KVKIT_BACKEND_ABI_MINOR,
    .struct_size = sizeof(kvkit_backend_descriptor_t),
    /* RESIDENT: libcurl (and the TLS library under it) must not be unloaded */
    .flags = KVKIT_BACKEND_THREAD_SAFE | KVKIT_BACKEND_RESIDENT | KVKIT_BACKEND_ORDERED |
             KVKIT_BACKEND_DURABLE,
    .name = "riak",
    .version = "1.0",
    .description = "Riak KV 1.4-3.x over HTTP (libcurl): 2i queries, vector clocks, siblings",
};

static const char accept_hdr[] = "Accept: multipart/mixed, application/json, */*;q=0.5";

/*** open / close ***/

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_rc;

static void curl_init(void)
{
    curl_init_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

static void riak_free(riak_t *r)
{
    if (r == NULL)
        return;
    for (size_t i = 0; i < r->n_mpool; i++)
        curl_multi_cleanup(r->mpool[i]);
    for (size_t i = 0; i < r->n_pool; i++)
        curl_easy_cleanup(r->pool[i]);
    for (size_t i = 0; r->vc && i < r->n_vc; i++) {
        free(r->vc[i].id);
        free(r->vc[i].vclock);
    }
    riak_cursor_free(r->cursor);
    free(r->vc);
    if (r->password)
        kvsecret_wipe(r->password, strlen(r->password));
    free(r->password);
    free(r->password_file);
    free(r->user);
    free(r->cacert);
    free(r->cert);
    free(r->key);
    free(r->endpoint);
    free(r->base);
    free(r->prefix);
    free(r->q_get);
    free(r->q_put);
    free(r->q_del);
    pthread_mutex_destroy(&r->pool_lock);
    pthread_mutex_destroy(&r->vc_lock);
    pthread_mutex_destroy(&r->cur_lock);
    free(r);
}

/* scheme://host:port of a location: no user information, no path. */
static char *endpoint_of(const char *location)
{
    const char *host = strstr(location, "://") + 3;
    size_t n = strcspn(host, "/");
    const char *at = memchr(host, '@', n);
    if (at) {
        n -= (size_t)(at + 1 - host);
        host = at + 1;
    }
    buf_t b = {0};
    buf_add(&b, location, (size_t)(strstr(location, "://") + 3 - location));
    buf_add(&b, host, n);
    if (b.oom) {
        buf_free(&b);
        return NULL;
    }
    return b.data;
}

KVKIT_BACKEND_DECLARE(open);
int KVKIT_BACKEND_SYMBOL(kvkit_backend_open)(const char *location,
                                             const kvkit_backend_option_t *options,
                                             size_t n_options, void **handle, kvkit_error_t *err)
{
    pthread_once(&curl_once, curl_init);
    if (curl_init_rc != CURLE_OK)
        return kvkit_backend_error(err, KVKIT_BACKEND, "", "riak: curl_global_init: %s",
                                   curl_easy_strerror(curl_init_rc));
    if (location[0] == '\0')
        location = "http://127.0.0.1:8098";
    if (strncmp(location, "http://", 7) != 0 && strncmp(location, "https://", 8) != 0)
        return kvkit_backend_error(err, KVKIT_INVALID, "",
                                   "riak: location must be an http:// or https:// URL "
                                   "(e.g. riak:http://127.0.0.1:8098)");
    if (strpbrk(location, " \r\n#") != NULL)
        return kvkit_backend_error(err, KVKIT_INVALID, "",
                                   "riak: location contains a space, line break or '#'");
    riak_t *r = calloc(1, sizeof *r);
    if (r == NULL)
        return kvkit_backend_error(err, KVKIT_NOMEM, "", "riak: out of memory");
    pthread_mutex_init(&r->pool_lock, NULL);
    pthread_mutex_init(&r->vc_lock, NULL);
    pthread_mutex_init(&r->cur_lock, NULL);
    r->timeout_ms = 10000;
    r->connect_timeout_ms = 3000;
    r->retries = 2;
    r->max_results = 1000;
    r->concurrency = 8;
    r->n_vc = 4096;
    r->siblings = SIBLINGS_CONFLICT;
    r->check_tombstones = true;
    buf_t qg = {0}, qp = {0}, qd = {0}, prefix = {0};
    int rc = riak_options_parse(r, options, n_options, &qg, &qp, &qd, &prefix, err);
    if (rc == KVKIT_OK)
        rc = riak_options_secure(r, location, err);
    if (rc == KVKIT_OK && (r->endpoint = endpoint_of(location)) == NULL)
        rc = kvkit_backend_error(err, KVKIT_NOMEM, "", "riak: out of memory");
    if (rc == KVKIT_OK) {
        size_t n = strlen(location);
        while (n > 0 && location[n - 1] == '/')
            n--;
        r->base = strndup(location, n);
        r->vc = r->n_vc ? calloc(r->n_vc, sizeof *r->vc) : NULL;
        r->q_get = qg.data;
        r->q_put = qp.data;
        r->q_del = qd.data;
        r->prefix = prefix.data;
        qg.data = qp.data = qd.data = prefix.data = NULL;
        if (r->base == NULL || (r->n_vc && r->vc == NULL) || qg.oom || qp.oom || qd.oom ||
            prefix.oom || !r->q_get || !r->q_put || !r->q_del || !r->prefix)
            rc = kvkit_backend_error(err, KVKIT_NOMEM, "", "riak: out of memory");
    }
    buf_free(&qg);
    buf_free(&qp);
    buf_free(&qd);
    buf_free(&prefix);
    if (rc != KVKIT_OK) {
        riak_free(r);
        return rc;
    }
    *handle = r;
    return KVKIT_OK;
}

KVKIT_BACKEND_DECLARE(close);
void KVKIT_BACKEND_SYMBOL(kvkit_backend_close)(void *handle)
{
    riak_free(handle);
}

/*** the vclock cache ***/

static uint64_t vc_hash(const char *bucket, const char *key, size_t *id_len)
{
    uint64_t h = 1469598103934665603ULL;
    size_t bl = strlen(bucket), kl = strlen(key);
    for (size_t i = 0; i <= bl; i++)
        h = (h ^ (unsigned char)bucket[i]) * 1099511628211ULL;
    for (size_t i = 0; i < kl; i++)
        h = (h ^ (unsigned char)key[i]) * 1099511628211ULL;
    *id_len = bl + 1 + kl;
    return h;
}

static bool vc_match(const vc_slot_t *s, uint64_t h, const char *bucket, const char *key,
                     size_t id_len)
{
    size_t bl = strlen(bucket);
    return s->id && s->hash == h && s->id_len == id_len && memcmp(s->id, bucket, bl + 1) == 0 &&
           memcmp(s->id + bl + 1, key, id_len - bl - 1) == 0;
}

/* vclock NULL: forget the key. */
void riak_vc_put(riak_t *r, const char *bucket, const char *key, const char *vclock)
{
    if (r->n_vc == 0)
        return;
    size_t id_len;
    uint64_t h = vc_hash(bucket, key, &id_len);
    char *id = NULL, *copy = NULL;
    if (vclock) {
        size_t bl = strlen(bucket);
        id = malloc(id_len);
        copy = strdup(vclock);
        if (id == NULL || copy == NULL) {
            free(id);
            free(copy);
            id = copy = NULL;
            vclock = NULL; /* cannot remember: at least forget the old one */
        } else {
            memcpy(id, bucket, bl + 1);
            memcpy(id + bl + 1, key, id_len - bl - 1);
        }
    }
    pthread_mutex_lock(&r->vc_lock);
    vc_slot_t *s = &r->vc[h & (r->n_vc - 1)];
    char *old_id = NULL, *old_vc = NULL;
    if (vclock || vc_match(s, h, bucket, key, id_len)) {
        old_id = s->id;
        old_vc = s->vclock;
        s->id = id;
        s->id_len = id ? id_len : 0;
        s->hash = h;
        s->vclock = copy;
    }
    pthread_mutex_unlock(&r->vc_lock);
    free(old_id);
    free(old_vc);
}

static char *vc_get(riak_t *r, const char *bucket, const char *key)
{
    if (r->n_vc == 0 || r->blind_writes)
        return NULL;
    size_t id_len;
    uint64_t h = vc_hash(bucket, key, &id_len);
    char *out = NULL;
    pthread_mutex_lock(&r->vc_lock);
    vc_slot_t *s = &r->vc[h & (r->n_vc - 1)];
    if (vc_match(s, h, bucket, key, id_len))
        out = strdup(s->vclock);
    pthread_mutex_unlock(&r->vc_lock);
    return out;
}

/*** helpers ***/

void riak_key_path(const riak_t *r, buf_t *b, const char *bucket, const char *key)
{
    buf_adds(b, r->prefix);
    url_escape(b, bucket, strlen(bucket));
    buf_adds(b, "/keys/");
    url_escape(b, key, strlen(key));
}

static int check_names(const char *bucket, const char *key, kvkit_error_t *err)
{
    if (bucket == NULL || bucket[0] == '\0')
        return kvkit_backend_error(err, KVKIT_INVALID, "", "riak: empty bucket name");
    if (key == NULL || key[0] == '\0')
        return kvkit_backend_error(err, KVKIT_INVALID, bucket, "riak: empty key");
    return KVKIT_OK;
}

static struct curl_slist *add_header(struct curl_slist *l, const char *h, bool *oom)
{
    struct curl_slist *n = curl_slist_append(l, h);
    if (n == NULL)
        *oom = true;
    return n ? n : l;
}

/* "X-Riak-Vclock: VCLOCK" (nothing when vclock is NULL). */
static struct curl_slist *vclock_header(struct curl_slist *l, const char *vclock, bool *oom)
{
    if (vclock == NULL)
        return l;
    buf_t line = {0};
    buf_addf(&line, "X-Riak-Vclock: %s", vclock);
    *oom |= line.oom;
    l = add_header(l, line.data ? line.data : "", oom);
    buf_free(&line);
    return l;
}

static struct curl_slist *base_headers(bool *oom)
{
    struct curl_slist *l = NULL;
    /* no "Expect: 100-continue" round trip; decode %XX on Riak 1.4 too */
    l = add_header(l, "Expect:", oom);
    l = add_header(l, "X-Riak-URL-Encoding: on", oom);
    return l;
}

void riak_get_path(const riak_t *r, buf_t *b, const char *bucket, const char *key)
{
    riak_key_path(r, b, bucket, key);
    if (r->q_get[0]) {
        buf_adds(b, "?");
        buf_adds(b, r->q_get);
    }
}

struct curl_slist *riak_get_headers(bool *oom)
{
    return add_header(base_headers(oom), accept_hdr, oom);
}

static char *take_body(resp_t *p, size_t *len)
{
    char *v = p->body.data;
    *len = p->body.len;
    p->body.data = NULL;
    p->body.len = p->body.cap = 0;
    return v;
}

/*** get ***/

/* Write the chosen sibling back with the siblings' vclock, keeping its
 * content type and index entries (taken from the part's headers). */
static void write_back(riak_t *r, const char *bucket, const char *key, const char *vclock,
                       const part_t *pt)
{
    bool oom = false;
    struct curl_slist *h = base_headers(&oom);
    h = add_header(h, accept_hdr, &oom);
    h = vclock_header(h, vclock, &oom);
    buf_t line = {0};
    bool have_ct = false;
    const char *p = pt->headers, *end = pt->headers + pt->headers_len;
    while (p < end) {
        const char *eol = memchr(p, '\r', (size_t)(end - p));
        if (eol == NULL)
            eol = end;
        size_t n = (size_t)(eol - p);
        if ((n > 13 && strncasecmp(p, "x-riak-index-", 13) == 0) ||
            (n > 12 && strncasecmp(p, "x-riak-meta-", 12) == 0) ||
            (n > 13 && strncasecmp(p, "content-type:", 13) == 0)) {
            line.len = 0;
            buf_add(&line, p, n);
            h = add_header(h, line.data ? line.data : "", &oom);
            have_ct |= strncasecmp(p, "content-type:", 13) == 0;
        }
        p = eol + 2;
    }
    if (!have_ct)
        h = add_header(h, "Content-Type: application/json", &oom);
    buf_t path = {0};
    riak_key_path(r, &path, bucket, key);
    buf_adds(&path, "?");
    buf_adds(&path, r->q_put);
    if (!oom && !path.oom && !line.oom) {
        req_t q = {"PUT", path.data, h, pt->body, pt->body_len, false, key};
        resp_t resp;
        kvkit_error_t ignored = {0};
        /* best effort: if it fails the siblings stay and show up again */
        if (riak_http_do(r, &q, &resp, &ignored) == KVKIT_OK) {
            if (resp.status == 200 || resp.status == 204 || resp.status == 300)
                riak_vc_put(r, bucket, key, resp.vclock);
            riak_resp_free(&resp);
        }
    }
    curl_slist_free_all(h);
    buf_free(&line);
    buf_free(&path);
}

/* A 300 whose body is not the multipart/mixed Riak promised. */
static int siblings_unreadable(const char *bucket, const char *key, const resp_t *p,
                               kvkit_error_t *err)
{
    char text[200];
    snprintf(text, sizeof text, "%.*s", (int)(p->body.len < 150 ? p->body.len : 150), p->body.data);
    for (char *c = text; *c; c++)
        if (*c == '\n' || *c == '\r')
            *c = ' ';
    return kvkit_backend_error(err, KVKIT_CONFLICT, key,
                               "riak: \"%s/%s\" has siblings, but the answer (%s) could "
                               "not be read as multipart/mixed: %s",
                               bucket, key, p->content_type ? p->content_type : "no content type",
                               text);
}

/* KVKIT_CONFLICT with every live sibling in the message, cut to fit. */
static int siblings_conflict(const char *bucket, const char *key, const part_t *parts, int n,
                             int live, kvkit_error_t *err)
{
    buf_t m = {0};
    buf_addf(&m,
             "riak: \"%s/%s\" has %d siblings (save a merged value to resolve them; "
             "the save carries their vclock)",
             bucket, key, live);
    size_t room = KVKIT_ERROR_TEXT_LENGTH - 1 > m.len ? KVKIT_ERROR_TEXT_LENGTH - 1 - m.len : 0;
    size_t each = room / (size_t)live > 8 ? room / (size_t)live - 8 : 8;
    int k = 0;
    for (int i = 0; i < n; i++) {
        if (parts[i].deleted)
            continue;
        size_t bl = parts[i].body_len;
        k++;
        buf_addf(&m, "%s [%d] %.*s%s", k > 1 ? ";" : ":", k, (int)(bl > each ? each - 3 : bl),
                 parts[i].body, bl > each ? "..." : "");
    }
    int rc =
        kvkit_backend_error(err, KVKIT_CONFLICT, key, "%s", m.data ? m.data : "riak: siblings");
    buf_free(&m);
    return rc;
}

/* A 300: one live sibling, or the newest under siblings=newest (written
 * back), is the value; several are a conflict. */
static int siblings_answer(riak_t *r, const char *bucket, const char *key, const resp_t *p,
                           part_t *parts, char **value, size_t *value_len, kvkit_error_t *err)
{
    int n = multipart_split(p->content_type, p->body.data, p->body.len, parts, MAX_SIBLINGS);
    if (n < 0)
        return siblings_unreadable(bucket, key, p, err);
    int live = 0, pick = -1;
    for (int i = 0; i < n; i++) {
        if (parts[i].deleted)
            continue;
        live++;
        if (pick < 0 || parts[i].last_modified >= parts[pick].last_modified)
            pick = i;
    }
    if (live == 0)
        return KVKIT_NOTFOUND;
    if (live > 1 && r->siblings != SIBLINGS_NEWEST)
        return siblings_conflict(bucket, key, parts, n, live, err);
    if (live > 1 && p->vclock)
        write_back(r, bucket, key, p->vclock, &parts[pick]);
    char *v = malloc(parts[pick].body_len + 1);
    if (v == NULL)
        return kvkit_backend_error(err, KVKIT_NOMEM, key, "riak: out of memory");
    memcpy(v, parts[pick].body, parts[pick].body_len);
    v[parts[pick].body_len] = '\0';
    *value = v;
    *value_len = parts[pick].body_len;
    return KVKIT_OK;
}

int riak_object_answer(riak_t *r, const char *bucket, const char *key, const req_t *q, resp_t *p,
                       char **value, size_t *value_len, kvkit_error_t *err)
{
    if (p->status == 200) {
        riak_vc_put(r, bucket, key, p->vclock);
        *value = take_body(p, value_len);
        return KVKIT_OK;
    }
    if (p->status == 404 && p->body.data && strncmp(p->body.data, "Unknown bucket type", 19) == 0)
        return riak_http_fail(q, p, err); /* a misconfigured bucket_type, not a missing key */
    if (p->status == 404) {
        riak_vc_put(r, bucket, key, p->vclock); /* a tombstone's clock, or forget */
        return KVKIT_NOTFOUND;
    }
    if (p->status != 300)
        return riak_http_fail(q, p, err);
    riak_vc_put(r, bucket, key, p->vclock);
    part_t *parts = malloc(MAX_SIBLINGS * sizeof *parts);
    if (parts == NULL)
        return kvkit_backend_error(err, KVKIT_NOMEM, key, "riak: out of memory");
    int rc = siblings_answer(r, bucket, key, p, parts, value, value_len, err);
    free(parts);
    return rc;
}

/* One GET of an object: names checked, request built and sent.  Free with
 * object_done whatever it answers. */
typedef struct object_get {
    struct curl_slist *hd;
    buf_t path;
    req_t q;
    resp_t resp;
} object_get_t;

static int object_get(riak_t *r, const char *bucket, const char *key, object_get_t *o,
                      kvkit_error_t *err)
{
    memset(o, 0, sizeof *o);
    int rc = check_names(bucket, key, err);
    if (rc != KVKIT_OK)
        return rc;
    bool oom = false;
    o->hd = riak_get_headers(&oom);
    riak_get_path(r, &o->path, bucket, key);
    if (oom || o->path.oom)
        return kvkit_backend_error(err, KVKIT_NOMEM, key, "riak: out of memory");
    o->q = (req_t){"GET", o->path.data, o->hd, NULL, 0, true, key};
    return riak_http_do(r, &o->q, &o->resp, err);
}

static void object_done(object_get_t *o)
{
    riak_resp_free(&o->resp);
    curl_slist_free_all(o->hd);
    buf_free(&o->path);
}

KVKIT_BACKEND_DECLARE(get);
int KVKIT_BACKEND_SYMBOL(kvkit_backend_get)(void *h, const char *bucket, const char *key,
                                            char **value, size_t *value_len, kvkit_error_t *err)
{
    riak_t *r = h;
    object_get_t o;
    int rc = object_get(r, bucket, key, &o, err);
    if (rc == KVKIT_OK)
        rc = riak_object_answer(r, bucket, key, &o.q, &o.resp, value, value_len, err);
    object_done(&o);
    return rc;
}

/* The live siblings of a 300 answer, each handed to fn. */
static int each_sibling(riak_t *r, const char *bucket, const char *key, object_get_t *o,
                        kvkit_backend_value_fn fn, void *ctx, kvkit_error_t *err)
{
    part_t *parts = malloc(MAX_SIBLINGS * sizeof *parts);
    if (parts == NULL)
        return kvkit_backend_error(err, KVKIT_NOMEM, key, "riak: out of memory");
    riak_vc_put(r, bucket, key, o->resp.vclock);
    int rc = KVKIT_OK;
    int n = multipart_split(o->resp.content_type, o->resp.body.data, o->resp.body.len, parts,
                            MAX_SIBLINGS);
    if (n < 0)
        rc = kvkit_backend_error(err, KVKIT_BACKEND, key,
                                 "riak: GET %s: siblings not readable as multipart/mixed",
                                 o->path.data);
    int live = 0;
    for (int i = 0; i < n; i++) {
        if (parts[i].deleted)
            continue;
        live++;
        if (fn(ctx, parts[i].body, parts[i].body_len))
            break;
    }
    free(parts);
    return rc == KVKIT_OK && live == 0 ? KVKIT_NOTFOUND : rc;
}

/* What libkvkit needs to run an application's resolver: every sibling; the
 * siblings' vclock is cached, so the save of the resolved value that
 * follows replaces all of them. */
KVKIT_BACKEND_DECLARE(get_siblings);
int KVKIT_BACKEND_SYMBOL(kvkit_backend_get_siblings)(void *h, const char *bucket, const char *key,
                                                     kvkit_backend_value_fn fn, void *ctx,
                                                     kvkit_error_t *err)
{
    riak_t *r = h;
    object_get_t o;
    int rc = object_get(r, bucket, key, &o, err);
    if (rc == KVKIT_OK && o.resp.status == 300) {
        rc = each_sibling(r, bucket, key, &o, fn, ctx, err);
    } else if (rc == KVKIT_OK) {
        char *v = NULL;
        size_t vl = 0;
        rc = riak_object_answer(r, bucket, key, &o.q, &o.resp, &v, &vl, err);
        if (rc == KVKIT_OK)
            fn(ctx, v, vl);
        free(v);
    }
    object_done(&o);
    return rc;
}

/*** save ***/

/* One X-Riak-Index header per Riak index: values of one field and one
 * class, ", "-separated (entries arrive sorted by field, then value). */
static struct curl_slist *index_headers(struct curl_slist *hd, const kvkit_index_entry_t *e,
                                        size_t n, bool *oom)
{
    static const struct {
        int kind;
        const char *suffix;
    } classes[] = {{KVKIT_INDEX_INTEGER, "_int"},
                   {KVKIT_INDEX_STRING, "_bin"},
                   {KVKIT_INDEX_REAL, "~num_bin"}};
    buf_t line = {0};
    for (size_t i = 0; i < n;) {
        size_t j = i;
        while (j < n && strcmp(e[j].field, e[i].field) == 0)
            j++;
        for (size_t c = 0; c < 3; c++) {
            line.len = 0;
            bool any = false;
            for (size_t k = i; k < j; k++) {
                const kvkit_index_value_t *v = &e[k].value;
                if (v->kind != classes[c].kind)
                    continue;
                if (!any) {
                    buf_adds(&line, "X-Riak-Index-");
                    field_name(&line, e[i].field, classes[c].suffix);
                    buf_adds(&line, ": ");
                } else {
                    buf_adds(&line, ", ");
                }
                any = true;
                if (v->kind == KVKIT_INDEX_INTEGER)
                    buf_addf(&line, "%lld", (long long)v->integer);
                else if (v->kind == KVKIT_INDEX_REAL)
                    real_text(&line, v->real);
                else
                    bin_escape(&line, v->string, v->string_len);
            }
            if (any)
                hd = add_header(hd, line.data ? line.data : "", oom);
        }
        i = j;
    }
    *oom |= line.oom;
    buf_free(&line);
    return hd;
}

/* One PUT of the document with the clock vclock (NULL: none).  On KVKIT_OK
 * *resp holds the answer (200, 201, 204 or 300: a concurrent write left
 * siblings; ours is stored among them and the next get reports them), and
 * its clock is remembered. */
static int put_doc(riak_t *r, const char *bucket, const char *key, const char *value,
                   size_t value_len, const kvkit_index_entry_t *entries, size_t n_entries,
                   const char *vclock, resp_t *resp, kvkit_error_t *err)
{
    bool oom = false;
    struct curl_slist *hd = base_headers(&oom);
    hd = add_header(hd, accept_hdr, &oom);
    hd = add_header(hd, "Content-Type: application/json", &oom);
    hd = vclock_header(hd, vclock, &oom);
    hd = index_headers(hd, entries, n_entries, &oom);
    buf_t path = {0};
    riak_key_path(r, &path, bucket, key);
    buf_adds(&path, "?");
    buf_adds(&path, r->q_put);
    int rc;
    if (oom || path.oom) {
        rc = kvkit_backend_error(err, KVKIT_NOMEM, key, "riak: out of memory");
    } else {
        req_t q = {"PUT", path.data, hd, value, value_len, false, key};
        rc = riak_http_do(r, &q, resp, err);
        long st = rc == KVKIT_OK ? resp->status : 0;
        if (st == 200 || st == 201 || st == 204 || st == 300) {
            riak_vc_put(r, bucket, key, resp->vclock);
        } else if (rc == KVKIT_OK) {
            rc = riak_http_fail(&q, resp, err);
            riak_resp_free(resp);
        } else {
            riak_vc_put(r, bucket, key, NULL);
        }
    }
    curl_slist_free_all(hd);
    buf_free(&path);
    return rc;
}

/* A 300 answer to a save in which every sibling but one (ours) is a
 * tombstone: a delete followed by a re-create on an allow_mult bucket. */
static bool beside_tombstones(const resp_t *p)
{
    part_t *parts = malloc(MAX_SIBLINGS * sizeof *parts);
    if (parts == NULL)
        return false;
    int n = multipart_split(p->content_type, p->body.data, p->body.len, parts, MAX_SIBLINGS);
    int live = 0;
    for (int i = 0; i < n; i++)
        live += !parts[i].deleted;
    free(parts);
    return n > 1 && live == 1;
}

KVKIT_BACKEND_DECLARE(save);
int KVKIT_BACKEND_SYMBOL(kvkit_backend_save)(void *h, const char *bucket, const char *key,
                                             const char *value, size_t value_len,
                                             const kvkit_index_entry_t *entries, size_t n_entries,
                                             kvkit_error_t *err)
{
    riak_t *r = h;
    int rc = check_names(bucket, key, err);
    if (rc != KVKIT_OK)
        return rc;
    char *vclock = vc_get(r, bucket, key);
    resp_t resp;
    rc = put_doc(r, bucket, key, value, value_len, entries, n_entries, vclock, &resp, err);
    free(vclock);
    if (rc == KVKIT_OK && resp.status == 300 && resp.vclock && beside_tombstones(&resp)) {
        /* write once more with the clock of both, so the tombstone goes;
         * best effort: a get skips tombstone siblings anyway */
        resp_t again;
        kvkit_error_t ignored = {0};
        if (put_doc(r, bucket, key, value, value_len, entries, n_entries, resp.vclock, &again,
                    &ignored) == KVKIT_OK)
            riak_resp_free(&again);
    }
    if (rc == KVKIT_OK)
        riak_resp_free(&resp);
    return rc;
}

/*** delete ***/

KVKIT_BACKEND_DECLARE(delete);
int KVKIT_BACKEND_SYMBOL(kvkit_backend_delete)(void *h, const char *bucket, const char *key,
                                               kvkit_error_t *err)
{
    riak_t *r = h;
    int rc = check_names(bucket, key, err);
    if (rc != KVKIT_OK)
        return rc;
    bool oom = false;
    struct curl_slist *hd = base_headers(&oom);
    char *vclock = vc_get(r, bucket, key);
    hd = vclock_header(hd, vclock, &oom);
    free(vclock);
    buf_t path = {0};
    riak_key_path(r, &path, bucket, key);
    buf_adds(&path, "?");
    buf_adds(&path, r->q_del);
    if (oom || path.oom) {
        rc = kvkit_backend_error(err, KVKIT_NOMEM, key, "riak: out of memory");
    } else {
        req_t q = {"DELETE", path.data, hd, NULL, 0, true, key};
        resp_t resp;
        rc = riak_http_do(r, &q, &resp, err);
        if (rc == KVKIT_OK) {
            /* 404: already gone (Riak <= 3.0.15 answers so for a missing key) */
            if (resp.status != 204 && resp.status != 404 && resp.status != 200)
                rc = riak_http_fail(&q, &resp, err);
            else
                riak_vc_put(r, bucket, key, NULL);
            riak_resp_free(&resp);
        }
    }
    curl_slist_free_all(hd);
    buf_free(&path);
    return rc;
}
