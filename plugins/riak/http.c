/*
 * http.c - requests to Riak with libcurl.
 *
 * Easy handles live in a locked pool on the store handle: a call takes one,
 * uses it and puts it back, so calls from several threads never share a
 * handle and each handle keeps its kept-alive connection for the next call.
 * Concurrent fetches use a curl multi handle (also pooled, so its
 * connections are reused by the next batch).
 *
 * Retries: a request is retried (within the store's timeout, up to
 * `retries` times) only after a connection-level failure, and only when
 * that cannot repeat a write: the connection could not be made (nothing was
 * sent), or the request is idempotent (GET, DELETE, index and key
 * listings).  A PUT that failed after it was sent - the connection broke,
 * or the deadline passed while it waited for the answer, or Riak answered
 * 503 "request timed out" - is reported as KVKIT_OUTCOME_UNKNOWN, never
 * resent: Riak has no idempotent PUT (a second PUT with the same vclock
 * makes a sibling).  HTTP error statuses are answers and are never
 * retried.
 */
#include "riak_private.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

/*** the handle pool ***/

static CURL *pool_take(riak_t *r)
{
    CURL *c = NULL;
    pthread_mutex_lock(&r->pool_lock);
    if (r->n_pool > 0)
        c = r->pool[--r->n_pool];
    pthread_mutex_unlock(&r->pool_lock);
    return c ? c : curl_easy_init();
}

static void pool_put(riak_t *r, CURL *c)
{
    if (c == NULL)
        return;
    pthread_mutex_lock(&r->pool_lock);
    if (r->n_pool < RIAK_POOL_MAX) {
        r->pool[r->n_pool++] = c;
        c = NULL;
    }
    pthread_mutex_unlock(&r->pool_lock);
    if (c)
        curl_easy_cleanup(c);
}

static CURLM *mpool_take(riak_t *r)
{
    CURLM *m = NULL;
    pthread_mutex_lock(&r->pool_lock);
    if (r->n_mpool > 0)
        m = r->mpool[--r->n_mpool];
    pthread_mutex_unlock(&r->pool_lock);
    return m ? m : curl_multi_init();
}

static void mpool_put(riak_t *r, CURLM *m)
{
    pthread_mutex_lock(&r->pool_lock);
    if (r->n_mpool < RIAK_MPOOL_MAX) {
        r->mpool[r->n_mpool++] = m;
        m = NULL;
    }
    pthread_mutex_unlock(&r->pool_lock);
    if (m)
        curl_multi_cleanup(m);
}

/*** answers ***/

void riak_resp_free(resp_t *p)
{
    if (p == NULL)
        return;
    buf_free(&p->body);
    free(p->vclock);
    free(p->content_type);
    free(p->last_modified);
    memset(p, 0, sizeof *p);
}

static size_t on_body(char *ptr, size_t size, size_t n, void *ud)
{
    resp_t *p = ud;
    buf_add(&p->body, ptr, size * n);
    return p->body.oom ? 0 : size * n;
}

static char *dup_trim(const char *v, size_t n)
{
    while (n > 0 && (v[n - 1] == '\r' || v[n - 1] == '\n' || v[n - 1] == ' '))
        n--;
    char *s = malloc(n + 1);
    if (s) {
        memcpy(s, v, n);
        s[n] = '\0';
    }
    return s;
}

static size_t on_header(char *ptr, size_t size, size_t n, void *ud)
{
    resp_t *p = ud;
    size_t len = size * n;
    if (len >= 5 && memcmp(ptr, "HTTP/", 5) == 0) {
        /* a new answer (after 100 Continue): forget the previous headers */
        free(p->vclock);
        free(p->content_type);
        free(p->last_modified);
        p->vclock = p->content_type = p->last_modified = NULL;
        p->deleted = false;
        return len;
    }
    const char *colon = memchr(ptr, ':', len);
    if (colon == NULL)
        return len;
    size_t nl = (size_t)(colon - ptr);
    const char *v = colon + 1;
    while (v < ptr + len && (*v == ' ' || *v == '\t'))
        v++;
    size_t vl = (size_t)(ptr + len - v);
    char **slot = NULL;
    if (nl == 13 && strncasecmp(ptr, "X-Riak-Vclock", nl) == 0)
        slot = &p->vclock;
    else if (nl == 12 && strncasecmp(ptr, "Content-Type", nl) == 0)
        slot = &p->content_type;
    else if (nl == 13 && strncasecmp(ptr, "Last-Modified", nl) == 0)
        slot = &p->last_modified;
    else if (nl == 14 && strncasecmp(ptr, "X-Riak-Deleted", nl) == 0)
        p->deleted = vl >= 4 && strncasecmp(v, "true", 4) == 0;
    if (slot) {
        free(*slot);
        if ((*slot = dup_trim(v, vl)) == NULL)
            return 0;
    }
    return len;
}

/*** one request ***/

static long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void easy_setup(riak_t *r, CURL *c, const req_t *q, resp_t *out, char *errbuf,
                       long timeout_ms, const char *url)
{
    curl_easy_reset(c);
    curl_easy_setopt(c, CURLOPT_URL, url);
#if LIBCURL_VERSION_NUM >= 0x075500
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
#else
    curl_easy_setopt(c, CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_PATH_AS_IS, 1L); /* never squash "/../" */
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, out);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, out);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, timeout_ms > 0 ? timeout_ms : 1L);
    long ct = r->connect_timeout_ms < timeout_ms ? r->connect_timeout_ms : timeout_ms;
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, ct > 0 ? ct : 1L);
    curl_easy_setopt(c, CURLOPT_TCP_NODELAY, 1L);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, q->headers);
    /* verification is always on: there is no option to turn it off */
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
    if (r->cacert)
        curl_easy_setopt(c, CURLOPT_CAINFO, r->cacert);
    if (r->cert)
        curl_easy_setopt(c, CURLOPT_SSLCERT, r->cert);
    if (r->key)
        curl_easy_setopt(c, CURLOPT_SSLKEY, r->key);
    if (r->user) {
        curl_easy_setopt(c, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
        curl_easy_setopt(c, CURLOPT_USERNAME, r->user);
        curl_easy_setopt(c, CURLOPT_PASSWORD, r->password);
    }
    if (strcmp(q->method, "GET") == 0) {
        curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
    } else if (strcmp(q->method, "PUT") == 0 || strcmp(q->method, "POST") == 0) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, q->body ? q->body : "");
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)q->body_len);
        curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, q->method);
    } else {
        curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, q->method);
    }
}

static bool nothing_sent(CURLcode rc)
{
    return rc == CURLE_COULDNT_CONNECT || rc == CURLE_COULDNT_RESOLVE_HOST ||
           rc == CURLE_COULDNT_RESOLVE_PROXY;
}

static bool connection_failure(CURLcode rc)
{
    return nothing_sent(rc) || rc == CURLE_SEND_ERROR || rc == CURLE_RECV_ERROR ||
           rc == CURLE_GOT_NOTHING || rc == CURLE_PARTIAL_FILE;
}

/* TLS refused the connection: a certificate not trusted or for another
 * host, a client certificate unreadable, or the server's TLS alert (with
 * TLS 1.3 a missing client certificate is refused only after the client
 * sent its request, which the server then never read).  Never retried. */
static bool tls_failure(CURLcode rc, const char *errbuf)
{
    return rc == CURLE_PEER_FAILED_VERIFICATION || rc == CURLE_SSL_CONNECT_ERROR ||
           rc == CURLE_SSL_CERTPROBLEM || rc == CURLE_SSL_CACERT_BADFILE ||
           rc == CURLE_SSL_CRL_BADFILE || rc == CURLE_SSL_ISSUER_ERROR || rc == CURLE_SSL_CIPHER ||
           ((rc == CURLE_RECV_ERROR || rc == CURLE_SEND_ERROR) && strstr(errbuf, " alert "));
}

/* sent: the request went out (libcurl counted its bytes), so a write that
 * then timed out may have been applied. */
static int transport_error(const riak_t *r, const req_t *q, CURLcode rc, const char *errbuf,
                           bool sent, unsigned attempts, long elapsed, kvkit_error_t *err)
{
    const char *text = errbuf[0] ? errbuf : curl_easy_strerror(rc);
    if (tls_failure(rc, errbuf))
        return kvkit_backend_error(err, KVKIT_IO, q->subject, "riak: %s %s: TLS with %s failed: %s",
                                   q->method, q->path, r->endpoint, text);
    int code = KVKIT_IO;
    if (rc == CURLE_OPERATION_TIMEDOUT)
        code = !q->idempotent && sent ? KVKIT_OUTCOME_UNKNOWN : KVKIT_TIMEOUT;
    else if (!q->idempotent && !nothing_sent(rc))
        code = KVKIT_OUTCOME_UNKNOWN;
    return kvkit_backend_error(
        err, code, q->subject, "riak: %s %s: %s (%u attempt%s, %ld ms)%s", q->method, q->path, text,
        attempts, attempts == 1 ? "" : "s", elapsed,
        code == KVKIT_OUTCOME_UNKNOWN ? "; the write may or may not have been applied" : "");
}

int riak_http_do(riak_t *r, const req_t *q, resp_t *out, kvkit_error_t *err)
{
    memset(out, 0, sizeof *out);
    buf_t url = {0};
    buf_adds(&url, r->base);
    buf_adds(&url, q->path);
    if (url.oom)
        return kvkit_backend_error(err, KVKIT_NOMEM, q->subject, "riak: out of memory");
    CURL *c = pool_take(r);
    if (c == NULL) {
        buf_free(&url);
        return kvkit_backend_error(err, KVKIT_NOMEM, q->subject, "riak: curl_easy_init failed");
    }
    long start = now_ms(), deadline = start + r->timeout_ms;
    char errbuf[CURL_ERROR_SIZE];
    int rc = KVKIT_OK;
    for (unsigned attempt = 1;; attempt++) {
        errbuf[0] = '\0';
        riak_resp_free(out);
        easy_setup(r, c, q, out, errbuf, deadline - now_ms(), url.data);
        CURLcode cc = curl_easy_perform(c);
        if (cc == CURLE_OK) {
            curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &out->status);
            if (out->body.data == NULL)
                buf_add(&out->body, "", 0);
            if (out->body.oom)
                rc = kvkit_backend_error(err, KVKIT_NOMEM, q->subject, "riak: out of memory");
            else
                rc = riak_http_refused(r, q, out, err);
            if (rc != KVKIT_OK)
                riak_resp_free(out);
            break;
        }
        if (cc == CURLE_WRITE_ERROR && out->body.oom) {
            rc = kvkit_backend_error(err, KVKIT_NOMEM, q->subject, "riak: out of memory");
            riak_resp_free(out);
            break;
        }
        bool retry = connection_failure(cc) && !tls_failure(cc, errbuf) &&
                     (q->idempotent || nothing_sent(cc)) && attempt <= r->retries;
        long pause = 20L * attempt;
        if (retry && now_ms() + pause < deadline) {
            struct timespec ts = {0, pause * 1000000L};
            nanosleep(&ts, NULL);
            continue;
        }
        long sent = 0;
        curl_easy_getinfo(c, CURLINFO_REQUEST_SIZE, &sent);
        rc = transport_error(r, q, cc, errbuf, sent > 0, attempt, now_ms() - start, err);
        riak_resp_free(out);
        /* a connection in an unknown state must not be reused */
        curl_easy_cleanup(c);
        c = NULL;
        break;
    }
    pool_put(r, c);
    buf_free(&url);
    return rc;
}

/* Riak's error text: the <pre> of an HTML page, or the plain body; one line. */
static void body_text(const resp_t *p, char *out, size_t size)
{
    const char *s = p->body.data ? p->body.data : "";
    size_t n = p->body.len;
    const char *pre = strstr(s, "<pre>");
    if (pre) {
        const char *end = strstr(pre, "</pre>");
        s = pre + 5;
        n = end ? (size_t)(end - s) : strlen(s);
    } else if (strncmp(s, "<html", 5) == 0) {
        n = 0;
    }
    size_t o = 0;
    for (size_t i = 0; i < n && o + 1 < size; i++)
        out[o++] = (s[i] == '\n' || s[i] == '\r' || s[i] == '\t') ? ' ' : s[i];
    while (o > 0 && out[o - 1] == ' ')
        o--;
    out[o] = '\0';
}

int riak_http_fail(const req_t *q, const resp_t *p, kvkit_error_t *err)
{
    char text[256];
    body_text(p, text, sizeof text);
    int code = KVKIT_BACKEND;
    const char *why = "";
    if (p->status == 500 && strstr(p->body.data ? p->body.data : "", "indexes_not_supported")) {
        code = KVKIT_NOT_SUPPORTED;
        why = "secondary indexes (2i) are not supported by this Riak's storage backend "
              "(2i needs leveldb or memory): ";
    } else if (p->status == 503 && strncmp(text, "request timed out", 17) == 0) {
        /* a write Riak gave up waiting for may still land on some replicas */
        code = q->idempotent ? KVKIT_TIMEOUT : KVKIT_OUTCOME_UNKNOWN;
    } else if (p->status == 400) {
        code = KVKIT_INVALID;
    } else if (p->status == 412) {
        code = KVKIT_CONFLICT;
    } else if (p->status == 413) {
        code = KVKIT_TOO_LARGE;
    }
    return kvkit_backend_error(err, code, q->subject, "riak: %s%s %s: HTTP %ld%s%s%s", why,
                               q->method, q->path, p->status, text[0] ? ": " : "", text,
                               code == KVKIT_OUTCOME_UNKNOWN
                                   ? "; the write may or may not have been applied"
                                   : "");
}

int riak_http_refused(const riak_t *r, const req_t *q, const resp_t *p, kvkit_error_t *err)
{
    if (p->status != 401 && p->status != 403)
        return KVKIT_OK;
    char text[256];
    body_text(p, text, sizeof text);
    if (p->status == 401 && r->user == NULL)
        return kvkit_backend_error(err, KVKIT_AUTH, q->subject,
                                   "riak: %s %s: %s requires a user (options user and "
                                   "password_file): HTTP 401",
                                   q->method, q->path, r->endpoint);
    if (p->status == 401)
        return kvkit_backend_error(err, KVKIT_AUTH, q->subject,
                                   "riak: %s %s: user \"%s\" at %s: wrong user or password: "
                                   "HTTP 401",
                                   q->method, q->path, r->user, r->endpoint);
    /* a 403 with another text is a pre-commit hook's refusal */
    if (p->status == 403 && strncmp(text, "Permission denied", 17) == 0)
        return kvkit_backend_error(err, KVKIT_PERMISSION, q->subject,
                                   "riak: %s %s: user \"%s\" at %s lacks the permission: "
                                   "HTTP 403: %s",
                                   q->method, q->path, r->user ? r->user : "(none)", r->endpoint,
                                   text);
    return KVKIT_OK;
}

/*** concurrent GETs ***/

/* One transfer slot of a batch: an easy handle and the path it fetches. */
typedef struct slot {
    CURL *c;
    size_t i; /* index into paths/out, SIZE_MAX when free */
    buf_t url;
    char errbuf[CURL_ERROR_SIZE];
    req_t q;
} slot_t;

typedef struct batch {
    riak_t *r;
    CURLM *m;
    const char *const *paths;
    size_t n, next, running;
    const struct curl_slist *headers;
    resp_t *out;
    slot_t *slots;
    size_t width;
    bool *failed; /* failed[i]: paths[i] failed at the connection level */
} batch_t;

static int get_each(riak_t *r, const char *const *paths, size_t n, const struct curl_slist *headers,
                    resp_t *out, kvkit_error_t *err)
{
    for (size_t i = 0; i < n; i++) {
        req_t q = {"GET", paths[i], headers, NULL, 0, true, paths[i]};
        int rc = riak_http_do(r, &q, &out[i], err);
        if (rc != KVKIT_OK)
            return rc;
    }
    return KVKIT_OK;
}

/* Start the next paths in the free slots. */
static int batch_fill(batch_t *b, kvkit_error_t *err)
{
    for (size_t s = 0; s < b->width && b->next < b->n; s++) {
        slot_t *sl = &b->slots[s];
        if (sl->i != SIZE_MAX)
            continue;
        if (sl->c == NULL && (sl->c = pool_take(b->r)) == NULL)
            return kvkit_backend_error(err, KVKIT_NOMEM, "", "riak: curl_easy_init failed");
        sl->i = b->next++;
        resp_t *out = &b->out[sl->i];
        memset(out, 0, sizeof *out);
        sl->url.len = 0;
        buf_adds(&sl->url, b->r->base);
        buf_adds(&sl->url, b->paths[sl->i]);
        if (sl->url.oom)
            return kvkit_backend_error(err, KVKIT_NOMEM, "", "riak: out of memory");
        sl->q = (req_t){"GET", b->paths[sl->i], b->headers, NULL, 0, true, b->paths[sl->i]};
        sl->errbuf[0] = '\0';
        easy_setup(b->r, sl->c, &sl->q, out, sl->errbuf, b->r->timeout_ms, sl->url.data);
        curl_easy_setopt(sl->c, CURLOPT_PRIVATE, sl);
        curl_multi_add_handle(b->m, sl->c);
        b->running++;
    }
    return KVKIT_OK;
}

/* Take in the finished transfers and free their slots.  A timeout fails
 * the batch at once (a hung server); other transfer failures are marked
 * for a retry. */
static int batch_collect(batch_t *b, int rc, kvkit_error_t *err)
{
    CURLMsg *msg;
    int left;
    while ((msg = curl_multi_info_read(b->m, &left)) != NULL) {
        if (msg->msg != CURLMSG_DONE)
            continue;
        slot_t *sl;
        curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&sl);
        resp_t *out = &b->out[sl->i];
        if (msg->data.result == CURLE_OK) {
            curl_easy_getinfo(sl->c, CURLINFO_RESPONSE_CODE, &out->status);
            if (out->body.data == NULL)
                buf_add(&out->body, "", 0);
        } else {
            if (msg->data.result == CURLE_OPERATION_TIMEDOUT && rc == KVKIT_OK)
                rc = transport_error(b->r, &sl->q, msg->data.result, sl->errbuf, false, 1,
                                     b->r->timeout_ms, err);
            b->failed[sl->i] = true;
        }
        curl_multi_remove_handle(b->m, sl->c);
        sl->i = SIZE_MAX;
        b->running--;
    }
    return rc;
}

/* Run the batch until every path has had its transfer. */
static int batch_run(batch_t *b, kvkit_error_t *err)
{
    int rc = KVKIT_OK;
    for (;;) {
        if ((rc = batch_fill(b, err)) != KVKIT_OK)
            return rc;
        if (b->running == 0)
            return KVKIT_OK;
        int still;
        CURLMcode mc = curl_multi_perform(b->m, &still);
        if (mc == CURLM_OK && still > 0)
            mc = curl_multi_poll(b->m, NULL, 0, 100, NULL);
        if (mc != CURLM_OK)
            return kvkit_backend_error(err, KVKIT_IO, "", "riak: curl multi: %s",
                                       curl_multi_strerror(mc));
        if ((rc = batch_collect(b, rc, err)) != KVKIT_OK)
            return rc;
    }
}

/* Give the easy handles back to the pool; keep the multi handle (and its
 * kept-alive connections) for the next batch only after a success. */
static void batch_end(batch_t *b, int rc)
{
    for (size_t s = 0; b->slots && s < b->width; s++) {
        if (b->slots[s].c) {
            if (b->slots[s].i != SIZE_MAX)
                curl_multi_remove_handle(b->m, b->slots[s].c);
            pool_put(b->r, b->slots[s].c);
        }
        buf_free(&b->slots[s].url);
    }
    if (rc == KVKIT_OK)
        mpool_put(b->r, b->m);
    else
        curl_multi_cleanup(b->m);
    free(b->slots);
    free(b->failed);
}

int riak_http_get_many(riak_t *r, const char *const *paths, size_t n,
                       const struct curl_slist *headers, resp_t *out, kvkit_error_t *err)
{
    size_t width = r->concurrency < n ? r->concurrency : n;
    if (width <= 1)
        return get_each(r, paths, n, headers, out, err);
    batch_t b = {r, mpool_take(r), paths, n, 0, 0, headers, out, NULL, width, NULL};
    if (b.m == NULL)
        return kvkit_backend_error(err, KVKIT_NOMEM, "", "riak: curl_multi_init failed");
    /* the pooled multi handle keeps this many connections for the next
     * batch, however small this one is */
    curl_multi_setopt(b.m, CURLMOPT_MAXCONNECTS, (long)r->concurrency);
    b.slots = calloc(width, sizeof *b.slots);
    b.failed = calloc(n, sizeof *b.failed);
    int rc = KVKIT_OK;
    if (b.slots == NULL || b.failed == NULL)
        rc = kvkit_backend_error(err, KVKIT_NOMEM, "", "riak: out of memory");
    for (size_t s = 0; rc == KVKIT_OK && s < width; s++)
        b.slots[s].i = SIZE_MAX;
    if (rc == KVKIT_OK)
        rc = batch_run(&b, err);
    for (size_t i = 0; i < n && rc == KVKIT_OK; i++) {
        req_t q = {"GET", paths[i], headers, NULL, 0, true, paths[i]};
        if (!b.failed[i])
            rc = riak_http_refused(r, &q, &out[i], err);
    }
    /* transfers that failed at the connection level: once more, alone */
    for (size_t i = 0; i < n && rc == KVKIT_OK; i++) {
        if (!b.failed[i])
            continue;
        riak_resp_free(&out[i]);
        req_t q = {"GET", paths[i], headers, NULL, 0, true, paths[i]};
        rc = riak_http_do(r, &q, &out[i], err);
    }
    batch_end(&b, rc);
    return rc;
}
