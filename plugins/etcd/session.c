/* session.c - see client.h: probing the endpoints at once (at open and
 * while the circuit breaker is open) and the breaker itself. */
#include "client.h"

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

long ec_probe(ec_client_t *c, long timeout_ms, kvkit_error_t *why, bool *tls_seen)
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
    long i = t > 0 ? ec_probe(c, t, &pwhy, &tls) : -1;
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
