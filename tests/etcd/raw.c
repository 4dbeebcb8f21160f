/* raw.c - see raw.h. */
#include "raw.h"

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct sink {
    char *p;
    size_t len;
} sink_t;

static size_t on_data(char *d, size_t size, size_t n, void *vs)
{
    sink_t *s = vs;
    char *p = realloc(s->p, s->len + size * n + 1);
    if (p == NULL)
        return 0;
    memcpy(p + s->len, d, size * n);
    s->p = p;
    s->len += size * n;
    s->p[s->len] = '\0';
    return size * n;
}

json_t *raw_post(const char *endpoint, const char *path, const char *body)
{
    char url[512];
    snprintf(url, sizeof url, "%s%s", endpoint, path);
    CURL *h = curl_easy_init();
    sink_t s = {0};
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &s);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 5000L);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    CURLcode cc = curl_easy_perform(h);
    long status = 0;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_cleanup(h);
    json_t *j = cc == CURLE_OK && status == 200 && s.p ? json_loads(s.p, 0, NULL) : NULL;
    free(s.p);
    return j;
}

static char *b64(const char *in, size_t n)
{
    static const char t[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    char *o = malloc(4 * ((n + 2) / 3) + 1), *p = o;
    const unsigned char *u = (const unsigned char *)in;
    size_t i = 0;
    for (; i + 2 < n; i += 3) {
        *p++ = t[u[i] >> 2];
        *p++ = t[(u[i] & 3) << 4 | u[i + 1] >> 4];
        *p++ = t[(u[i + 1] & 15) << 2 | u[i + 2] >> 6];
        *p++ = t[u[i + 2] & 63];
    }
    if (i < n) {
        *p++ = t[u[i] >> 2];
        if (i + 1 < n) {
            *p++ = t[(u[i] & 3) << 4 | u[i + 1] >> 4];
            *p++ = t[(u[i + 1] & 15) << 2];
        } else {
            *p++ = t[(u[i] & 3) << 4];
            *p++ = '=';
        }
        *p++ = '=';
    }
    *p = '\0';
    return o;
}

long raw_count(const char *endpoint, const char *prefix)
{
    size_t n = strlen(prefix);
    char *end = strdup(prefix);
    end[n - 1]++;
    char *k = b64(prefix, n), *e = b64(end, n);
    char body[1024];
    snprintf(body, sizeof body, "{\"key\":\"%s\",\"range_end\":\"%s\",\"count_only\":true}", k, e);
    free(k);
    free(e);
    free(end);
    json_t *j = raw_post(endpoint, "/v3/kv/range", body);
    if (j == NULL)
        return -1;
    json_t *c = json_object_get(j, "count");
    long v = json_is_string(c) ? atol(json_string_value(c)) : 0;
    json_decref(j);
    return v;
}

int raw_put(const char *endpoint, const char *key, const char *value)
{
    return raw_putn(endpoint, key, strlen(key), value, strlen(value));
}

int raw_putn(const char *endpoint, const void *key, size_t klen, const void *value, size_t vlen)
{
    char *k = b64(key, klen), *v = b64(value, vlen);
    size_t len = strlen(k) + strlen(v) + 64;
    char *body = malloc(len);
    snprintf(body, len, "{\"key\":\"%s\",\"value\":\"%s\"}", k, v);
    json_t *j = raw_post(endpoint, "/v3/kv/put", body);
    free(k);
    free(v);
    free(body);
    json_decref(j);
    return j ? 0 : -1;
}

long long raw_revision(const char *endpoint)
{
    json_t *j = raw_post(endpoint, "/v3/kv/range", "{\"key\":\"AA==\",\"count_only\":true}");
    json_t *r = json_object_get(json_object_get(j, "header"), "revision");
    long long v = json_is_string(r) ? atoll(json_string_value(r)) : -1;
    json_decref(j);
    return v;
}

int raw_compact(const char *endpoint, long long rev)
{
    char body[128];
    snprintf(body, sizeof body, "{\"revision\":\"%lld\",\"physical\":true}", rev);
    json_t *j = raw_post(endpoint, "/v3/kv/compaction", body);
    json_decref(j);
    return j ? 0 : -1;
}

const char *raw_first(const char *endpoints)
{
    static char buf[256];
    snprintf(buf, sizeof buf, "%s", endpoints);
    char *c = strchr(buf, ',');
    if (c)
        *c = '\0';
    return buf;
}
