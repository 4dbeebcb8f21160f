/* session.c - see client.h: probing the endpoints at once (at open and
 * while the circuit breaker is open), authentication tokens, and the
 * breaker itself. */
#include "client.h"

#include "../common/secret.h"

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void ec_wipe_free(char *s)
{
    if (s) {
        kvsecret_wipe(s, strlen(s));
        free(s);
    }
}

/*** probes: POST /v3/maintenance/status to every endpoint at once ***/

typedef struct probe {
    CURL *h;
    ec_rbuf_t rb;
    char url[512];
    char errbuf[CURL_ERROR_SIZE];
    CURLcode cc;
    bool done;
} probe_t;

static const char probe_path[] = "/v3/maintenance/status";

static bool probe_start(const ec_client_t *c, probe_t *p, size_t i, long timeout_ms,
                        struct curl_slist *hdrs)
{
    if ((p->h = curl_easy_init()) == NULL)
        return false;
    snprintf(p->url, sizeof p->url, "%s%s", c->endpoints[i], probe_path);
    curl_easy_setopt(p->h, CURLOPT_URL, p->url);
    curl_easy_setopt(p->h, CURLOPT_POSTFIELDS, "{}");
    curl_easy_setopt(p->h, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(p->h, CURLOPT_WRITEFUNCTION, ec_on_data);
    curl_easy_setopt(p->h, CURLOPT_WRITEDATA, &p->rb);
    curl_easy_setopt(p->h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(p->h, CURLOPT_TIMEOUT_MS, timeout_ms);
    curl_easy_setopt(p->h, CURLOPT_ERRORBUFFER, p->errbuf);
    curl_easy_setopt(p->h, CURLOPT_PRIVATE, (void *)p);
    ec_tls_setup(c, p->h);
    return true;
}

/* The member answered with a leader. */
static bool probe_ok(probe_t *p)
{
    long status = 0;
    curl_easy_getinfo(p->h, CURLINFO_RESPONSE_CODE, &status);
    if (p->cc != CURLE_OK || status != 200 || p->rb.p == NULL)
        return false;
    json_t *j = json_loadb(p->rb.p, p->rb.len, 0, NULL);
    bool ok = ec_get_int(j, "leader") != 0;
    json_decref(j);
    return ok;
}

/* Why probe p failed, into why (a TLS refusal wins over anything else). */
static void probe_why(const probe_t *p, const ec_client_t *c, size_t i, kvkit_error_t *why,
                      bool *tls_seen)
{
    bool tls = p->done && ec_tls_refused(p->cc);
    if (*tls_seen || (why->code != KVKIT_OK && !tls))
        return;
    memset(why, 0, sizeof *why);
    *tls_seen = tls;
    if (tls)
        kvkit_backend_error(why, KVKIT_IO, c->endpoints[i], "TLS with %s failed: %s: %s",
                            c->endpoints[i], curl_easy_strerror(p->cc), p->errbuf);
    else if (!p->done || p->cc == CURLE_OPERATION_TIMEDOUT)
        kvkit_backend_error(why, KVKIT_TIMEOUT, c->endpoints[i], "%s: no answer in time", p->url);
    else if (p->cc != CURLE_OK)
        kvkit_backend_error(why, KVKIT_IO, c->endpoints[i], "%s: %s%s%s", p->url,
                            curl_easy_strerror(p->cc), p->errbuf[0] ? ": " : "", p->errbuf);
    else
        kvkit_backend_error(why, KVKIT_IO, c->endpoints[i], "%s: %.200s", p->url,
                            p->rb.p ? p->rb.p : "(empty answer)");
}

/* Drive the transfers until one member answers with a leader or all end. */
static long probe_wait(CURLM *m, probe_t *p)
{
    int running = 1;
    while (running) {
        curl_multi_perform(m, &running);
        CURLMsg *msg;
        int queued;
        while ((msg = curl_multi_info_read(m, &queued)) != NULL) {
            if (msg->msg != CURLMSG_DONE)
                continue;
            probe_t *q = NULL;
            curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&q);
            q->cc = msg->data.result;
            q->done = true;
            if (probe_ok(q))
                return q - p;
        }
        if (running)
            curl_multi_poll(m, NULL, 0, 50, NULL);
    }
    return -1;
}

/* Probe every endpoint at once for at most timeout_ms: the index of the
 * first that answers with a leader, or -1 and why (KVKIT_IO: refused or
 * TLS failed, KVKIT_TIMEOUT: silent). */
static long probe_all(ec_client_t *c, long timeout_ms, kvkit_error_t *why, bool *tls_seen)
{
    size_t n = c->n_endpoints;
    probe_t *p = calloc(n, sizeof *p);
    CURLM *m = curl_multi_init();
    struct curl_slist *h1 = curl_slist_append(NULL, "Content-Type: application/json");
    struct curl_slist *hdrs = h1 ? curl_slist_append(h1, "Grpc-Metadata-hasleader: true") : NULL;
    long found = -1;
    bool ok = p && m && hdrs;
    *tls_seen = false;
    for (size_t i = 0; ok && i < n; i++)
        ok = probe_start(c, &p[i], i, timeout_ms, hdrs) && curl_multi_add_handle(m, p[i].h) == 0;
    if (ok)
        found = probe_wait(m, p);
    else
        kvkit_backend_error(why, KVKIT_NOMEM, "", "out of memory probing the endpoints");
    for (size_t i = 0; p && i < n; i++) {
        if (found < 0 && ok)
            probe_why(&p[i], c, i, why, tls_seen);
        if (p[i].h) {
            curl_multi_remove_handle(m, p[i].h);
            curl_easy_cleanup(p[i].h);
        }
        free(p[i].rb.p);
    }
    curl_multi_cleanup(m);
    curl_slist_free_all(hdrs ? hdrs : h1);
    free(p);
    return found;
}

/*** authentication ***/

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

int ec_token(ec_client_t *c, int64_t deadline, char **token, unsigned *gen, kvkit_error_t *err)
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

void ec_token_drop(ec_client_t *c, unsigned gen)
{
    pthread_mutex_lock(&c->lock);
    if (c->token_gen == gen) {
        ec_wipe_free(c->token);
        c->token = NULL;
    }
    pthread_mutex_unlock(&c->lock);
}

/*** the circuit breaker ***/

void ec_breaker_trip(ec_client_t *c, const kvkit_error_t *why)
{
    pthread_mutex_lock(&c->lock);
    c->tripped = true;
    c->trip_why = *why;
    pthread_mutex_unlock(&c->lock);
}

void ec_breaker_clear(ec_client_t *c)
{
    pthread_mutex_lock(&c->lock);
    c->tripped = false;
    pthread_mutex_unlock(&c->lock);
}

int ec_breaker_check(ec_client_t *c, int64_t deadline, const char *subject, kvkit_error_t *err)
{
    pthread_mutex_lock(&c->lock);
    bool open = c->tripped;
    kvkit_error_t why = c->trip_why;
    pthread_mutex_unlock(&c->lock);
    if (!open)
        return KVKIT_OK;
    int64_t left = deadline - ec_now_ms();
    long t = left < c->probe_ms ? (long)left : c->probe_ms;
    kvkit_error_t pwhy = {0};
    bool tls = false;
    long i = t > 0 ? probe_all(c, t, &pwhy, &tls) : -1;
    if (i >= 0) {
        ec_endpoint_set(c, (size_t)i);
        ec_breaker_clear(c);
        return KVKIT_OK;
    }
    return kvkit_backend_error(err, why.code, subject,
                               "\"%s\": not sent: every endpoint failed lately and none answers "
                               "a probe yet (circuit breaker open; probe: %s); the failure: %s",
                               subject, t > 0 ? pwhy.text : "no time left", why.text);
}

/*** open ***/

int ec_client_connect(ec_client_t *c, kvkit_error_t *err)
{
    kvkit_error_t why = {0};
    bool tls = false;
    long i = probe_all(c, c->probe_ms, &why, &tls);
    if (i >= 0)
        ec_endpoint_set(c, (size_t)i);
    else if (why.code == KVKIT_NOMEM || tls)
        return kvkit_backend_error(err, why.code, why.subject, "%s", why.text);
    if (c->user == NULL || i < 0)
        return KVKIT_OK; /* nobody answered: the first operation tries in turn */
    char *token = NULL;
    unsigned gen;
    kvkit_error_t aerr = {0};
    int rc = ec_token(c, ec_now_ms() + c->deadline_ms, &token, &gen, &aerr);
    ec_wipe_free(token);
    if (rc == KVKIT_IO || rc == KVKIT_TIMEOUT)
        return KVKIT_OK; /* a network failure: authenticate on first use */
    if (rc != KVKIT_OK)
        return kvkit_backend_error(err, rc, aerr.subject, "%s", aerr.text);
    return KVKIT_OK;
}
