/* wire.c - see client.h: what every request to a member needs (the current
 * endpoint, TLS options, the response buffer, the clock, wiping secrets),
 * shared by client.c and session.c. */
#include "client.h"

#include "../common/secret.h"

#include <curl/curl.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

void ec_wipe_free(char *s)
{
    if (s) {
        kvsecret_wipe(s, strlen(s));
        free(s);
    }
}

/*** the current endpoint (guarded by the client's lock) ***/

size_t ec_endpoint_get(ec_client_t *c)
{
    pthread_mutex_lock(&c->lock);
    size_t i = c->current;
    pthread_mutex_unlock(&c->lock);
    return i;
}

void ec_endpoint_set(ec_client_t *c, size_t i)
{
    pthread_mutex_lock(&c->lock);
    c->current = i;
    pthread_mutex_unlock(&c->lock);
}

/* Move on from endpoint `failed` (unless another thread already did). */
void ec_endpoint_next(ec_client_t *c, size_t failed)
{
    pthread_mutex_lock(&c->lock);
    if (c->current == failed)
        c->current = (failed + 1) % c->n_endpoints;
    pthread_mutex_unlock(&c->lock);
}

/*** libcurl ***/

size_t ec_on_data(char *data, size_t size, size_t nmemb, void *vb)
{
    ec_rbuf_t *b = vb;
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

bool ec_tls_refused(int cc)
{
    return cc == CURLE_PEER_FAILED_VERIFICATION || cc == CURLE_SSL_CERTPROBLEM ||
           cc == CURLE_SSL_CACERT_BADFILE || cc == CURLE_SSL_CRL_BADFILE ||
           cc == CURLE_SSL_ISSUER_ERROR || cc == CURLE_SSL_CIPHER;
}

void ec_tls_setup(const ec_client_t *c, void *vh)
{
    CURL *h = vh;
    if (c->cacert)
        curl_easy_setopt(h, CURLOPT_CAINFO, c->cacert);
    if (c->cert)
        curl_easy_setopt(h, CURLOPT_SSLCERT, c->cert);
    if (c->key)
        curl_easy_setopt(h, CURLOPT_SSLKEY, c->key);
    /* libcurl's defaults, stated: nothing turns verification off */
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L);
#if LIBCURL_VERSION_NUM >= 0x075500
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
#else
    curl_easy_setopt(h, CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
}

int64_t ec_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}
