/* client.c - see client.h. */
#include "client.h"

#include "../common/secret.h"

#include <curl/curl.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/*** endpoints ***/

int ec_client_init(ec_client_t *c, const char *location, kvkit_error_t *err)
{
    memset(c, 0, sizeof *c);
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
    free(c->cacert);
    free(c->cert);
    free(c->key);
    free(c->user);
    ec_wipe_free(c->password);
    ec_wipe_free(c->token);
    pthread_mutex_destroy(&c->lock);
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

typedef ec_rbuf_t rbuf_t;

/* libcurl errors that prove the request never reached a server. */
static bool never_sent(CURLcode cc)
{
    return cc == CURLE_COULDNT_CONNECT || cc == CURLE_COULDNT_RESOLVE_HOST ||
           cc == CURLE_COULDNT_RESOLVE_PROXY || cc == CURLE_URL_MALFORMAT ||
           cc == CURLE_UNSUPPORTED_PROTOCOL || cc == CURLE_SSL_CONNECT_ERROR || ec_tls_refused(cc);
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

/* The deadline of the operation this thread is in (0: none). */
static __thread int64_t op_deadline;

int64_t ec_op_begin(const ec_client_t *c)
{
    int64_t saved = op_deadline;
    if (saved == 0)
        op_deadline = ec_now_ms() + c->deadline_ms;
    return saved;
}

void ec_op_end(int64_t saved)
{
    op_deadline = saved;
}

static int64_t call_deadline(const ec_client_t *c)
{
    return op_deadline ? op_deadline : ec_now_ms() + c->deadline_ms;
}

/* Map the gateway's refusals of a user or token (NULL user: none given). */
static int map_auth(int64_t code, const char *msg, const char *url, const char *subject,
                    const char *user, kvkit_error_t *err)
{
    const char *u = user ? user : "(none)";
    if (code == 7 || strstr(msg, "permission denied"))
        return kvkit_backend_error(err, KVKIT_PERMISSION, subject,
                                   "\"%s\": user \"%s\" lacks the permission at %s: %s", subject, u,
                                   url, msg);
    if (strstr(msg, "authentication failed"))
        return kvkit_backend_error(err, KVKIT_AUTH, subject,
                                   "user \"%s\" at %s: wrong user or password: %s", u, url, msg);
    if (strstr(msg, "user name is empty") || strstr(msg, "user name not found"))
        return kvkit_backend_error(err, KVKIT_AUTH, subject,
                                   "\"%s\": %s requires a user (options user and password_file): "
                                   "%s",
                                   subject, url, msg);
    if (strstr(msg, "authentication is not enabled"))
        return kvkit_backend_error(err, KVKIT_AUTH, subject,
                                   "user \"%s\" at %s: the server has authentication disabled "
                                   "(drop the user option): %s",
                                   u, url, msg);
    if (code == 16 || strstr(msg, "invalid auth token") || strstr(msg, "auth store is old"))
        return kvkit_backend_error(err, KVKIT_AUTH, subject,
                                   "\"%s\": %s refused the token of user \"%s\": %s", subject, url,
                                   u, msg);
    return KVKIT_OK;
}

/* Map a gateway error body ({"error","message","code"}) to a status. */
static int map_grpc(int64_t code, const char *msg, const char *url, const char *subject,
                    const char *user, kvkit_error_t *err)
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
    int ac = map_auth(code, msg, url, subject, user, err);
    if (ac != KVKIT_OK)
        return ac;
    if (code == 14 && strstr(msg, "no leader"))
        return kvkit_backend_error(err, KVKIT_IO, subject,
                                   "\"%s\": %s: the member has no leader (quorum lost?): %s",
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
    int64_t deadline;             /* monotonic ms */
    size_t ep;                    /* the endpoint of this attempt */
    char url[512];                /* this attempt's URL */
    char errbuf[CURL_ERROR_SIZE]; /* libcurl's own words on a failure */
    int rc;                       /* the outcome, once settled */
    bool stale_token;             /* etcd refused the token: authenticate again */
    bool no_leader;               /* a member answered "no leader" */
    bool round_no_leader;         /* ... in the current round */
    kvkit_error_t last;           /* why the last attempt failed */
} call_t;

static void post_setup(call_t *k, CURL *h, long timeout_ms, const char *body,
                       struct curl_slist *hdrs, rbuf_t *rb)
{
    curl_easy_reset(h);
    curl_easy_setopt(h, CURLOPT_URL, k->url);
    curl_easy_setopt(h, CURLOPT_POST, 1L);
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(body));
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, ec_on_data);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, rb);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, timeout_ms);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS,
                     k->c->connect_timeout_ms < timeout_ms ? k->c->connect_timeout_ms : timeout_ms);
    curl_easy_setopt(h, CURLOPT_TCP_NODELAY, 1L);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, k->errbuf);
    k->errbuf[0] = '\0';
    ec_tls_setup(k->c, h);
}

/* The attempt failed and the next endpoint may answer: true (go on), or,
 * for a write that may have applied, settle as EC_AMBIGUOUS. */
static bool try_next(call_t *k, bool maybe_applied, kvkit_error_t *err)
{
    ec_endpoint_next(k->c, k->ep); /* dead or cut off: go on (or settle) through another member */
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
    const char *why = k->errbuf[0] ? k->errbuf : "";
    if (ec_tls_refused(cc)) { /* the configuration is wrong: no retry can help */
        k->rc =
            kvkit_backend_error(err, KVKIT_IO, k->subject, "\"%s\": TLS with %s failed: %s: %s",
                                k->subject, k->c->endpoints[k->ep], curl_easy_strerror(cc), why);
        return false;
    }
    k->rc = kvkit_backend_error(&k->last, cc == CURLE_OPERATION_TIMEDOUT ? KVKIT_TIMEOUT : KVKIT_IO,
                                k->subject, "\"%s\": %s: %s%s%s", k->subject, k->url,
                                curl_easy_strerror(cc), *why ? ": " : "", why);
    return try_next(k, !never_sent(cc), err);
}

/* An answer that is not the gateway's JSON (a proxy, a 404 page, ...). */
static bool foreign_answer(call_t *k, long status, const char *text, kvkit_error_t *err)
{
    memset(&k->last, 0, sizeof k->last);
    if (status == 400 && text && strstr(text, "CommonName of client")) {
        /* etcd 3.4's gateway, authentication on, client certificate with a CN */
        k->rc = kvkit_backend_error(err, KVKIT_AUTH, k->subject,
                                    "\"%s\": %s refuses a client certificate with a CommonName "
                                    "while authentication is on: use one without a CN (see "
                                    "kvkit-etcd(7)): HTTP 400: %.200s",
                                    k->subject, k->c->endpoints[k->ep], text);
        return false;
    }
    k->rc = kvkit_backend_error(&k->last, KVKIT_BACKEND, k->subject, "\"%s\": %s: HTTP %ld: %.200s",
                                k->subject, k->url, status, text ? text : "(empty response)");
    if (status >= 500) { /* a proxy's 502/504 may hide a write that went through */
        ec_endpoint_next(k->c, k->ep);
        if (k->kind == EC_READ)
            return true;
        k->rc = EC_AMBIGUOUS;
    }
    *err = k->last;
    return false;
}

/* A gateway error: true when the next endpoint should be tried. */
static bool grpc_error(call_t *k, int64_t code, const char *msg, kvkit_error_t *err)
{
    memset(&k->last, 0, sizeof k->last);
    k->rc = map_grpc(code, msg, k->url, k->subject, k->c->user, &k->last);
    if (k->rc == KVKIT_AUTH && k->c->user &&
        (code == 16 || strstr(msg, "invalid auth token") || strstr(msg, "auth store is old")))
        k->stale_token = true;
    if (code == 14 && strstr(msg, "no leader")) {
        /* refused before it reached raft: not applied, and cheap to ask again */
        k->no_leader = k->round_no_leader = true;
        return try_next(k, false, err);
    }
    if (code == 14 || code == 4) /* unavailable, deadline exceeded */
        return try_next(k, true, err);
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
    bool next = grpc_error(k, ec_get_int(j, "code"), msg, err);
    json_decref(j);
    return next;
}

/* One POST to the current endpoint.  True when the next should be tried. */
static bool attempt(call_t *k, CURL *h, long timeout_ms, const char *path, const char *body,
                    struct curl_slist *hdrs, json_t **resp, kvkit_error_t *err)
{
    k->ep = ec_endpoint_get(k->c);
    snprintf(k->url, sizeof k->url, "%s%s", k->c->endpoints[k->ep], path);
    rbuf_t rb = {0};
    post_setup(k, h, timeout_ms, body, hdrs, &rb);
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

/* Every endpoint failed, round after round, or the deadline came first. */
static int exhausted(call_t *k, size_t attempts, bool late, kvkit_error_t *err)
{
    ec_client_t *c = k->c;
    if (attempts == 0)
        return k->rc = kvkit_backend_error(err, KVKIT_TIMEOUT, k->subject,
                                           "\"%s\": deadline_ms (%ld) reached before it could be "
                                           "sent",
                                           k->subject, c->deadline_ms);
    if (k->no_leader)
        kvkit_backend_error(err, k->last.code, k->subject,
                            "\"%s\": no etcd member has a leader: the cluster has lost its quorum "
                            "(%zu attempts%s); last: %s",
                            k->subject, attempts, late ? ", deadline_ms reached" : "",
                            k->last.text);
    else
        kvkit_backend_error(err, k->last.code, k->subject,
                            "\"%s\": every endpoint failed (%zu attempts%s); last: %s", k->subject,
                            attempts, late ? ", deadline_ms reached" : "", k->last.text);
    ec_breaker_trip(c, err);
    return k->rc = k->last.code;
}

/* Rounds over the endpoints until an answer, the deadline, or `retries`
 * extra rounds of failures ("no leader" answers, refused before anything
 * was applied, only stop at the deadline). */
static int run(call_t *k, CURL *h, const char *path, const char *body, struct curl_slist *hdrs,
               json_t **resp, kvkit_error_t *err)
{
    size_t n = k->c->n_endpoints, a = 0;
    long backoff = 20;
    unsigned rounds = 0;
    bool late = false;
    for (;; a++) {
        if (a > 0 && a % n == 0) { /* a full round failed: let an election end */
            if (!k->round_no_leader && ++rounds > k->c->retries)
                break;
            int64_t left = k->deadline - ec_now_ms();
            sleep_ms(backoff < left ? backoff : left > 0 ? left : 0);
            backoff = backoff * 2 > 1000 ? 1000 : backoff * 2;
            k->round_no_leader = false; /* this round must say so again */
        }
        int64_t left = k->deadline - ec_now_ms();
        if (left <= 0) {
            late = true;
            break;
        }
        if (!attempt(k, h, left < k->c->timeout_ms ? (long)left : k->c->timeout_ms, path, body,
                     hdrs, resp, err))
            return k->rc;
    }
    return exhausted(k, a, late, err);
}

/*** authentication: tokens ***/

/* Append s as a JSON string (quoted, escaped) to out[*len..cap). */
static bool json_quote(char *out, size_t cap, size_t *len, const char *s)
{
    size_t o = *len;
    if (o + 1 >= cap)
        return false;
    out[o++] = '"';
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (o + 7 >= cap)
            return false;
        if (*p == '"' || *p == '\\') {
            out[o++] = '\\';
            out[o++] = (char)*p;
        } else if (*p < 0x20) {
            o += (size_t)snprintf(out + o, cap - o, "\\u%04x", *p);
        } else {
            out[o++] = (char)*p;
        }
    }
    if (o + 2 >= cap)
        return false;
    out[o++] = '"';
    out[o] = '\0';
    *len = o;
    return true;
}

/* {"name":USER,"password":PASSWORD} in a buffer the caller wipes: built by
 * hand so no copy of the password is left unwiped in jansson's memory. */
static char *auth_body(const ec_client_t *c, size_t *cap)
{
    *cap = 6 * (strlen(c->user) + strlen(c->password)) + 64;
    char *b = malloc(*cap);
    size_t len = 0;
    if (b == NULL)
        return NULL;
    len = (size_t)snprintf(b, *cap, "{\"name\":");
    bool ok = json_quote(b, *cap, &len, c->user);
    if (ok && len + 12 < *cap) {
        memcpy(b + len, ",\"password\":", 12);
        len += 12;
    }
    ok = ok && json_quote(b, *cap, &len, c->password) && len + 2 < *cap;
    if (ok) {
        b[len++] = '}';
        b[len] = '\0';
    } else {
        kvsecret_wipe(b, *cap);
        free(b);
        b = NULL;
    }
    return b;
}

/* POST /v3/auth/authenticate: a new token (malloc'd) or the refusal. */
static int authenticate(ec_client_t *c, int64_t deadline, char **token, kvkit_error_t *err)
{
    size_t cap;
    char *body = auth_body(c, &cap);
    if (body == NULL)
        return kvkit_backend_error(err, KVKIT_NOMEM, c->user, "out of memory");
    json_t *resp = NULL;
    int rc =
        ec_post(c, "/v3/auth/authenticate", body, EC_READ, false, deadline, &resp, c->user, err);
    kvsecret_wipe(body, cap);
    free(body);
    if (rc != KVKIT_OK)
        return rc;
    const char *t = json_string_value(json_object_get(resp, "token"));
    if (t == NULL || *t == '\0')
        rc = kvkit_backend_error(err, KVKIT_BACKEND, c->user,
                                 "user \"%s\": authenticated at %s, but the answer holds no token",
                                 c->user, c->endpoints[0]);
    else if ((*token = strdup(t)) == NULL)
        rc = kvkit_backend_error(err, KVKIT_NOMEM, c->user, "out of memory");
    json_decref(resp); /* the token is not wiped from jansson's copy: it expires */
    return rc;
}

/* A copy of the current token (authenticating first when there is none)
 * and its generation; the caller frees it with ec_wipe_free. */
static int token_get(ec_client_t *c, int64_t deadline, char **token, unsigned *gen,
                     kvkit_error_t *err)
{
    *token = NULL;
    pthread_mutex_lock(&c->lock);
    bool have = c->token != NULL;
    pthread_mutex_unlock(&c->lock);
    if (!have) {
        char *fresh = NULL;
        int rc = authenticate(c, deadline, &fresh, err);
        if (rc != KVKIT_OK)
            return rc;
        pthread_mutex_lock(&c->lock);
        if (c->token == NULL) {
            c->token = fresh;
            c->token_gen++;
            fresh = NULL;
        }
        pthread_mutex_unlock(&c->lock);
        ec_wipe_free(fresh); /* another thread was first */
    }
    pthread_mutex_lock(&c->lock);
    *token = c->token ? strdup(c->token) : NULL;
    *gen = c->token_gen;
    pthread_mutex_unlock(&c->lock);
    if (*token == NULL)
        return kvkit_backend_error(err, KVKIT_NOMEM, c->user, "out of memory");
    return KVKIT_OK;
}

/* Forget the token of generation gen (unless a newer one replaced it). */
static void token_drop(ec_client_t *c, unsigned gen)
{
    pthread_mutex_lock(&c->lock);
    if (c->token_gen == gen) {
        ec_wipe_free(c->token);
        c->token = NULL;
    }
    pthread_mutex_unlock(&c->lock);
}

/* Content type, no "Expect: 100-continue", ask members without a leader to
 * say so at once (gRPC metadata hasleader, which the gateway forwards), and
 * the token when there is one. */
static struct curl_slist *headers(const char *token)
{
    static const char *const fixed[] = {"Content-Type: application/json",
                                        "Expect:", "Grpc-Metadata-hasleader: true"};
    struct curl_slist *l = NULL;
    for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++) {
        struct curl_slist *g = curl_slist_append(l, fixed[i]);
        if (g == NULL)
            goto fail;
        l = g;
    }
    if (token) {
        size_t n = strlen(token) + sizeof "Authorization: ";
        char *line = malloc(n);
        if (line == NULL)
            goto fail;
        snprintf(line, n, "Authorization: %s", token);
        struct curl_slist *g = curl_slist_append(l, line);
        ec_wipe_free(line);
        if (g == NULL)
            goto fail;
        l = g;
    }
    return l;
fail:
    curl_slist_free_all(l);
    return NULL;
}

/* One pass of the call with `token` (NULL: none). */
static int post_once(call_t *k, const char *path, const char *body, const char *token,
                     json_t **resp, kvkit_error_t *err)
{
    CURL *h = handle_take(k->c);
    struct curl_slist *hdrs = headers(token);
    if (h == NULL || hdrs == NULL) {
        curl_slist_free_all(hdrs);
        if (h)
            curl_easy_cleanup(h);
        return kvkit_backend_error(err, KVKIT_NOMEM, k->subject, "out of memory (libcurl)");
    }
    int rc = run(k, h, path, body, hdrs, resp, err);
    curl_slist_free_all(hdrs); /* the token's copy: libcurl does not wipe it */
    handle_give(k->c, h);
    return rc;
}

int ec_post(ec_client_t *c, const char *path, const char *body, ec_kind_t kind, bool auth,
            int64_t deadline, json_t **resp, const char *subject, kvkit_error_t *err)
{
    *resp = NULL;
    if (deadline == 0)
        deadline = call_deadline(c);
    kvkit_error_t e = {0};
    int rc = ec_breaker_check(c, deadline, subject, &e);
    for (int pass = 0; rc == KVKIT_OK; pass++) {
        char *token = NULL;
        unsigned gen = 0;
        if (auth && c->user && (rc = token_get(c, deadline, &token, &gen, &e)) != KVKIT_OK)
            break;
        call_t k = {.c = c, .kind = kind, .subject = subject, .deadline = deadline, .rc = KVKIT_IO};
        rc = post_once(&k, path, body, token, resp, &e);
        ec_wipe_free(token);
        if (!k.stale_token || pass > 0)
            break;
        /* expired or revoked: authenticate again, once */
        token_drop(c, gen);
        memset(&e, 0, sizeof e);
        rc = KVKIT_OK;
    }
    if (rc == KVKIT_OK)
        ec_breaker_clear(c);
    if (rc != KVKIT_OK && err && err->code == KVKIT_OK)
        *err = e;
    return rc;
}

int ec_call(ec_client_t *c, const char *path, json_t *req, ec_kind_t kind, json_t **resp,
            const char *subject, kvkit_error_t *err)
{
    *resp = NULL;
    char *body = json_dumps(req, JSON_COMPACT);
    if (body == NULL)
        return kvkit_backend_error(err, KVKIT_NOMEM, subject, "out of memory");
    int rc = ec_post(c, path, body, kind, true, 0, resp, subject, err);
    free(body);
    return rc;
}

/*** open: probes, then authentication ***/

int ec_client_connect(ec_client_t *c, kvkit_error_t *err)
{
    kvkit_error_t why = {0};
    bool tls = false;
    long i = ec_probe(c, c->probe_ms, &why, &tls);
    if (i >= 0)
        ec_endpoint_set(c, (size_t)i);
    else if (why.code == KVKIT_NOMEM || tls)
        return kvkit_backend_error(err, why.code, why.subject, "%s", why.text);
    if (c->user == NULL || i < 0)
        return KVKIT_OK; /* nobody answered: the first operation tries in turn */
    char *token = NULL;
    unsigned gen;
    kvkit_error_t aerr = {0};
    int rc = token_get(c, ec_now_ms() + c->deadline_ms, &token, &gen, &aerr);
    ec_wipe_free(token);
    if (rc == KVKIT_IO || rc == KVKIT_TIMEOUT)
        return KVKIT_OK; /* a network failure: authenticate on first use */
    if (rc != KVKIT_OK)
        return kvkit_backend_error(err, rc, aerr.subject, "%s", aerr.text);
    return KVKIT_OK;
}
