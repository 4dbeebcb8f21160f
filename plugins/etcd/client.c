/* client.c - see client.h. */
#include "client.h"

#include <curl/curl.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/*** endpoints ***/

int ec_client_init(ec_client_t *c, const char *location, kvkit_error_t *err)
{
    c->endpoints = NULL;
    c->n_endpoints = 0;
    c->current = 0;
    c->pool = NULL;
    c->pool_n = c->pool_cap = 0;
    const char *p = location;
    if (*p == '\0')
        return kvkit_backend_error(err, KVKIT_INVALID, location,
                                   "no endpoint given (expected etcd:http://host:port[,...])");
    for (;;) {
        const char *end = strchr(p, ',');
        size_t n = end ? (size_t)(end - p) : strlen(p);
        while (n > 0 && p[n - 1] == '/')
            n--;
        bool http = n > 7 && strncmp(p, "http://", 7) == 0;
        bool https = n > 8 && strncmp(p, "https://", 8) == 0;
        if (!http && !https) {
            kvkit_backend_error(err, KVKIT_INVALID, location,
                                "endpoint \"%.*s\" is not an http:// or https:// URL", (int)n, p);
            goto fail;
        }
        char **g = realloc(c->endpoints, (c->n_endpoints + 1) * sizeof *g);
        if (g == NULL || (g[c->n_endpoints] = strndup(p, n)) == NULL) {
            if (g)
                c->endpoints = g;
            kvkit_backend_error(err, KVKIT_NOMEM, location, "out of memory");
            goto fail;
        }
        c->endpoints = g;
        c->n_endpoints++;
        if (end == NULL)
            break;
        p = end + 1;
    }
    if (pthread_mutex_init(&c->lock, NULL) != 0) {
        kvkit_backend_error(err, KVKIT_NOMEM, location, "cannot create a mutex");
        goto fail;
    }
    return KVKIT_OK;
fail:
    for (size_t i = 0; i < c->n_endpoints; i++)
        free(c->endpoints[i]);
    free(c->endpoints);
    c->endpoints = NULL;
    c->n_endpoints = 0;
    return err->code;
}

void ec_client_free(ec_client_t *c)
{
    for (size_t i = 0; i < c->pool_n; i++)
        curl_easy_cleanup(c->pool[i]);
    free(c->pool);
    for (size_t i = 0; i < c->n_endpoints; i++)
        free(c->endpoints[i]);
    free(c->endpoints);
    pthread_mutex_destroy(&c->lock);
}

static size_t endpoint_get(ec_client_t *c)
{
    pthread_mutex_lock(&c->lock);
    size_t i = c->current;
    pthread_mutex_unlock(&c->lock);
    return i;
}

/* Move on from endpoint `failed` (unless another thread already did). */
static void endpoint_next(ec_client_t *c, size_t failed)
{
    pthread_mutex_lock(&c->lock);
    if (c->current == failed)
        c->current = (failed + 1) % c->n_endpoints;
    pthread_mutex_unlock(&c->lock);
}

/*** the handle pool: one easy handle per concurrent request, reused ***/

static CURL *handle_take(ec_client_t *c)
{
    CURL *h = NULL;
    pthread_mutex_lock(&c->lock);
    if (c->pool_n > 0)
        h = c->pool[--c->pool_n];
    pthread_mutex_unlock(&c->lock);
    return h ? h : curl_easy_init();
}

static void handle_give(ec_client_t *c, CURL *h)
{
    pthread_mutex_lock(&c->lock);
    if (c->pool_n == c->pool_cap) {
        size_t cap = c->pool_cap ? 2 * c->pool_cap : 4;
        void **g = realloc(c->pool, cap * sizeof *g);
        if (g == NULL) {
            pthread_mutex_unlock(&c->lock);
            curl_easy_cleanup(h);
            return;
        }
        c->pool = g;
        c->pool_cap = cap;
    }
    c->pool[c->pool_n++] = h;
    pthread_mutex_unlock(&c->lock);
}

/*** one POST ***/

typedef struct rbuf {
    char *p;
    size_t len, cap;
    bool failed;
} rbuf_t;

static size_t on_data(char *data, size_t size, size_t nmemb, void *vb)
{
    rbuf_t *b = vb;
    size_t n = size * nmemb;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->len + n + 1)
            cap *= 2;
        char *p = realloc(b->p, cap);
        if (p == NULL) {
            b->failed = true;
            return 0;
        }
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->len, data, n);
    b->len += n;
    b->p[b->len] = '\0';
    return n;
}

/* libcurl errors that prove the request never reached a server. */
static bool never_sent(CURLcode cc)
{
    return cc == CURLE_COULDNT_CONNECT || cc == CURLE_COULDNT_RESOLVE_HOST ||
           cc == CURLE_COULDNT_RESOLVE_PROXY || cc == CURLE_URL_MALFORMAT ||
           cc == CURLE_UNSUPPORTED_PROTOCOL;
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

/* Map a gateway error body ({"error","message","code"}) to a status. */
static int map_grpc(int64_t code, const char *msg, const char *url, const char *subject,
                    kvkit_error_t *err)
{
    if (strstr(msg, "too many operations in txn request"))
        return kvkit_backend_error(err, KVKIT_TOO_LARGE, subject,
                                   "\"%s\": transaction exceeds the server's --max-txn-ops limit "
                                   "(128 by default): %s: %s",
                                   subject, url, msg);
    if (strstr(msg, "request is too large") || code == 8)
        return kvkit_backend_error(err, KVKIT_TOO_LARGE, subject,
                                   "\"%s\": request exceeds the server's --max-request-bytes "
                                   "limit (1.5 MiB by default): %s: %s",
                                   subject, url, msg);
    /* a read pinned to a revision etcd has compacted away: the pinned
     * state is gone, and only starting over (at a new revision) can help */
    bool compacted = code == 11 && strstr(msg, "required revision has been compacted");
    int kc = code == 3                                ? KVKIT_INVALID /* invalid argument */
             : code == 4                              ? KVKIT_TIMEOUT /* deadline exceeded */
             : code == 14 && strstr(msg, "timed out") ? KVKIT_TIMEOUT /* unavailable */
             : code == 14                             ? KVKIT_IO
             : compacted                              ? KVKIT_CONFLICT /* out of range */
                                                      : KVKIT_BACKEND;
    return kvkit_backend_error(err, kc, subject, "\"%s\": %s: %s (gRPC code %lld)", subject, url,
                               msg, (long long)code);
}

/* One call in progress: what every attempt needs and how the last ended. */
typedef struct call {
    ec_client_t *c;
    ec_kind_t kind;
    const char *subject;
    size_t ep;          /* the endpoint of this attempt */
    char url[512];      /* this attempt's URL */
    int rc;             /* the outcome, once settled */
    kvkit_error_t last; /* why the last attempt failed */
} call_t;

static void post_setup(const ec_client_t *c, CURL *h, const char *url, const char *body,
                       struct curl_slist *hdrs, rbuf_t *rb)
{
    curl_easy_reset(h);
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_POST, 1L);
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(body));
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, rb);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, c->timeout_ms);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, c->connect_timeout_ms);
    curl_easy_setopt(h, CURLOPT_TCP_NODELAY, 1L);
#if LIBCURL_VERSION_NUM >= 0x075500
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
#else
    curl_easy_setopt(h, CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
}

/* The attempt failed and the next endpoint may answer: true (go on), or,
 * for a write that may have applied, settle as EC_AMBIGUOUS. */
static bool try_next(call_t *k, bool maybe_applied, kvkit_error_t *err)
{
    endpoint_next(k->c, k->ep); /* dead or cut off: go on (or settle) through another member */
    if (k->kind == EC_WRITE && maybe_applied) {
        *err = k->last;
        k->rc = EC_AMBIGUOUS;
        return false;
    }
    return true;
}

/* libcurl failed: nothing, or not all of an answer, came back. */
static bool transfer_failed(call_t *k, CURLcode cc, kvkit_error_t *err)
{
    memset(&k->last, 0, sizeof k->last);
    k->rc = kvkit_backend_error(&k->last, cc == CURLE_OPERATION_TIMEDOUT ? KVKIT_TIMEOUT : KVKIT_IO,
                                k->subject, "\"%s\": %s: %s", k->subject, k->url,
                                curl_easy_strerror(cc));
    return try_next(k, !never_sent(cc), err);
}

/* An answer that is not the gateway's JSON (a proxy, a 404 page, ...). */
static bool foreign_answer(call_t *k, long status, const char *text, kvkit_error_t *err)
{
    memset(&k->last, 0, sizeof k->last);
    k->rc = kvkit_backend_error(&k->last, KVKIT_BACKEND, k->subject, "\"%s\": %s: HTTP %ld: %.200s",
                                k->subject, k->url, status, text ? text : "(empty response)");
    if (status >= 500) { /* a proxy's 502/504 may hide a write that went through */
        endpoint_next(k->c, k->ep);
        if (k->kind == EC_READ)
            return true;
        k->rc = EC_AMBIGUOUS;
    }
    *err = k->last;
    return false;
}

/* Read an answer: the result, a gateway error, or something else.  True
 * when the next endpoint should be tried. */
static bool read_answer(call_t *k, long status, const rbuf_t *rb, json_t **resp, kvkit_error_t *err)
{
    json_error_t jerr;
    json_t *j = rb->p ? json_loadb(rb->p, rb->len, 0, &jerr) : NULL;
    if (status == 200 && json_is_object(j)) {
        *resp = j;
        k->rc = KVKIT_OK;
        return false;
    }
    const char *msg = NULL;
    if (json_is_object(j)) {
        msg = json_string_value(json_object_get(j, "message"));
        if (msg == NULL)
            msg = json_string_value(json_object_get(j, "error"));
    }
    if (msg == NULL) {
        json_decref(j);
        return foreign_answer(k, status, rb->p, err);
    }
    int64_t code = ec_get_int(j, "code");
    memset(&k->last, 0, sizeof k->last);
    k->rc = map_grpc(code, msg, k->url, k->subject, &k->last);
    json_decref(j);
    if (code == 14 || code == 4) /* unavailable, deadline exceeded */
        return try_next(k, true, err);
    *err = k->last;
    return false;
}

/* One POST to the current endpoint.  True when the next should be tried. */
static bool attempt(call_t *k, CURL *h, const char *path, const char *body, struct curl_slist *hdrs,
                    json_t **resp, kvkit_error_t *err)
{
    k->ep = endpoint_get(k->c);
    snprintf(k->url, sizeof k->url, "%s%s", k->c->endpoints[k->ep], path);
    rbuf_t rb = {0};
    post_setup(k->c, h, k->url, body, hdrs, &rb);
    CURLcode cc = curl_easy_perform(h);
    long status = 0;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    bool next;
    if (rb.failed) {
        k->rc =
            kvkit_backend_error(err, KVKIT_NOMEM, k->subject, "out of memory reading a response");
        next = false;
    } else if (cc != CURLE_OK) {
        next = transfer_failed(k, cc, err);
    } else {
        next = read_answer(k, status, &rb, resp, err);
    }
    free(rb.p);
    return next;
}

int ec_call(ec_client_t *c, const char *path, json_t *req, ec_kind_t kind, json_t **resp,
            const char *subject, kvkit_error_t *err)
{
    *resp = NULL;
    char *body = json_dumps(req, JSON_COMPACT);
    if (body == NULL)
        return kvkit_backend_error(err, KVKIT_NOMEM, subject, "out of memory");
    CURL *h = handle_take(c);
    struct curl_slist *hdrs = curl_slist_append(NULL, "Content-Type: application/json");
    struct curl_slist *h2 = hdrs ? curl_slist_append(hdrs, "Expect:") : NULL;
    if (h == NULL || h2 == NULL) {
        free(body);
        curl_slist_free_all(hdrs);
        if (h)
            curl_easy_cleanup(h);
        return kvkit_backend_error(err, KVKIT_NOMEM, subject, "out of memory (libcurl)");
    }
    call_t k = {.c = c, .kind = kind, .subject = subject, .rc = KVKIT_IO};
    size_t attempts = (size_t)(c->retries + 1) * c->n_endpoints;
    long backoff = 20;
    bool next = true;
    for (size_t a = 0; a < attempts && next; a++) {
        if (a > 0 && a % c->n_endpoints == 0) { /* a full round failed: let an election end */
            sleep_ms(backoff);
            backoff = backoff * 2 > 1000 ? 1000 : backoff * 2;
        }
        next = attempt(&k, h, path, body, h2, resp, err);
    }
    if (next)
        *err = k.last; /* every endpoint failed, every round */
    curl_slist_free_all(h2);
    handle_give(c, h);
    free(body);
    return k.rc;
}

/*** base64 (standard alphabet, padded) and lenient JSON ***/

static const char b64chars[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

json_t *ec_b64(const void *vp, size_t n)
{
    const unsigned char *p = vp;
    size_t out_len = 4 * ((n + 2) / 3);
    char *s = malloc(out_len + 1);
    if (s == NULL)
        return NULL;
    size_t o = 0, i = 0;
    for (; i + 2 < n; i += 3) {
        uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2];
        s[o++] = b64chars[v >> 18];
        s[o++] = b64chars[(v >> 12) & 63];
        s[o++] = b64chars[(v >> 6) & 63];
        s[o++] = b64chars[v & 63];
    }
    if (i < n) {
        uint32_t v = (uint32_t)p[i] << 16 | (i + 1 < n ? (uint32_t)p[i + 1] << 8 : 0);
        s[o++] = b64chars[v >> 18];
        s[o++] = b64chars[(v >> 12) & 63];
        s[o++] = i + 1 < n ? b64chars[(v >> 6) & 63] : '=';
        s[o++] = '=';
    }
    json_t *j = json_stringn_nocheck(s, o);
    free(s);
    return j;
}

static int b64val(unsigned char ch)
{
    if (ch >= 'A' && ch <= 'Z')
        return ch - 'A';
    if (ch >= 'a' && ch <= 'z')
        return ch - 'a' + 26;
    if (ch >= '0' && ch <= '9')
        return ch - '0' + 52;
    if (ch == '+' || ch == '-')
        return 62;
    if (ch == '/' || ch == '_')
        return 63;
    return -1;
}

bool ec_get_bytes(const json_t *obj, const char *name, unsigned char **out, size_t *out_len)
{
    const json_t *v = json_object_get(obj, name);
    const char *s = json_is_string(v) ? json_string_value(v) : "";
    size_t n = json_is_string(v) ? json_string_length(v) : 0;
    if (v != NULL && !json_is_string(v) && !json_is_null(v))
        return false;
    unsigned char *p = malloc(n / 4 * 3 + 4);
    if (p == NULL)
        return false;
    size_t o = 0;
    uint32_t acc = 0;
    int bits = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '=')
            break;
        int d = b64val((unsigned char)s[i]);
        if (d < 0) {
            free(p);
            return false;
        }
        acc = acc << 6 | (uint32_t)d;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            p[o++] = (unsigned char)(acc >> bits);
        }
    }
    p[o] = '\0';
    *out = p;
    *out_len = o;
    return true;
}

int64_t ec_get_int(const json_t *obj, const char *name)
{
    const json_t *v = json_object_get(obj, name);
    if (json_is_integer(v))
        return (int64_t)json_integer_value(v);
    if (json_is_string(v))
        return (int64_t)strtoll(json_string_value(v), NULL, 10);
    return 0;
}

bool ec_get_bool(const json_t *obj, const char *name)
{
    return json_is_true(json_object_get(obj, name));
}
