/* fuzz_riak - the Riak backend's response handling, through its real entry
 * points (get, index_lookup, index_docs, list_keys) with libcurl's transport
 * replaced: each HTTP answer the plugin asks for is the next part of the
 * input.  Covers response headers (http.c's header callback), 300 multipart
 * siblings (both sibling policies), 2i JSON pages with continuations and
 * return_terms for integer, real and string ranges, and ?keys=stream key
 * listings.  Checked: no crash or leak, statuses in the documented set,
 * results only within the asked range.
 *
 * Input: op byte, option byte, then answers separated by "\xff\xfe", each
 * "STATUS\r\nName: value\r\n...\r\n\r\nBODY" (header block optional). */
#define riak_http_do riak_http_do_real
#define riak_http_get_many riak_http_get_many_real
#include "http.c"
#undef riak_http_do
#undef riak_http_get_many

#include "fuzz_common.h"

int riak_http_do(riak_t *r, const req_t *q, resp_t *out, kvkit_error_t *err);
int riak_http_get_many(riak_t *r, const char *const *paths, size_t n,
                       const struct curl_slist *headers, resp_t *out, kvkit_error_t *err);

KVKIT_BACKEND_DECLARE(open);
KVKIT_BACKEND_DECLARE(close);
KVKIT_BACKEND_DECLARE(get);
KVKIT_BACKEND_DECLARE(save);
KVKIT_BACKEND_DECLARE(list_keys);
KVKIT_BACKEND_DECLARE(index_lookup);
KVKIT_BACKEND_DECLARE(index_docs);

static fuzz_in_t answers;

int riak_http_do(riak_t *r, const req_t *q, resp_t *out, kvkit_error_t *err)
{
    (void)r;
    memset(out, 0, sizeof *out);
    if (answers.n == 0)
        return kvkit_backend_error(err, KVKIT_IO, q->subject, "riak: %s %s: connection refused",
                                   q->method, q->path);
    size_t len;
    const char *a = (const char *)fuzz_chunk(&answers, "\xff\xfe", &len);
    const char *end = a + len;
    /* libcurl reports a status of 100..599 for every answer it accepts */
    for (size_t i = 0; i < len && i < 3 && a[i] >= '0' && a[i] <= '9'; i++)
        out->status = out->status * 10 + (a[i] - '0');
    if (out->status < 100)
        out->status = 200;
    const char *p = memchr(a, '\n', len);
    p = p ? p + 1 : end;
    /* header lines (with their CRLF, as libcurl hands them over) until an
     * empty line; the rest is the body */
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t n = nl ? (size_t)(nl + 1 - p) : (size_t)(end - p);
        if (n <= 2 && (*p == '\r' || *p == '\n')) {
            p += n;
            break;
        }
        if (on_header((char *)p, 1, n, out) != n) {
            riak_resp_free(out);
            return kvkit_backend_error(err, KVKIT_NOMEM, q->subject, "riak: out of memory");
        }
        p += n;
    }
    buf_add(&out->body, p, (size_t)(end - p));
    buf_add(&out->body, "", 0);
    if (out->body.oom) {
        riak_resp_free(out);
        return kvkit_backend_error(err, KVKIT_NOMEM, q->subject, "riak: out of memory");
    }
    return KVKIT_OK;
}

int riak_http_get_many(riak_t *r, const char *const *paths, size_t n,
                       const struct curl_slist *headers, resp_t *out, kvkit_error_t *err)
{
    for (size_t i = 0; i < n; i++) {
        req_t q = {"GET", paths[i], headers, NULL, 0, true, paths[i]};
        int rc = riak_http_do(r, &q, &out[i], err);
        if (rc != KVKIT_OK) {
            for (size_t j = 0; j < i; j++)
                riak_resp_free(&out[j]);
            return rc;
        }
    }
    return KVKIT_OK;
}

static int status_ok(int rc)
{
    return rc == KVKIT_OK || rc == KVKIT_NOTFOUND || rc == KVKIT_IO || rc == KVKIT_BACKEND ||
           rc == KVKIT_CONFLICT || rc == KVKIT_INVALID || rc == KVKIT_TIMEOUT ||
           rc == KVKIT_NOT_SUPPORTED || rc == KVKIT_TOO_LARGE || rc == KVKIT_OUTCOME_UNKNOWN ||
           rc == KVKIT_CORRUPT;
}

typedef struct range {
    const unsigned char *lo, *hi; /* sortable bounds */
    size_t lo_len, hi_len;
    const char *klo, *khi; /* list_keys */
    int count;
} range_t;

static int in_range(const range_t *g, const unsigned char *s, size_t sl)
{
    return kvkit_sortable_cmp(s, sl, g->lo, g->lo_len) >= 0 &&
           kvkit_sortable_cmp(s, sl, g->hi, g->hi_len) <= 0;
}

static int on_key(void *ctx, const char *key, size_t kl, const unsigned char *s, size_t sl)
{
    range_t *g = ctx;
    if (g->lo != NULL)
        FUZZ_CHECK(in_range(g, s, sl), "index result outside the range");
    if (g->klo != NULL)
        FUZZ_CHECK(strcmp(key, g->klo) >= 0 && strcmp(key, g->khi) <= 0,
                   "listed key outside the range");
    g->count++;
    return g->count > 50; /* stop early sometimes */
}

static int on_doc(void *ctx, const char *key, size_t kl, const char *v, size_t vl,
                  const unsigned char *s, size_t sl)
{
    (void)v, (void)vl;
    return on_key(ctx, key, kl, s, sl);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    unsigned op = data[0] % 8, opt = data[1];
    answers = (fuzz_in_t){data + 2, size - 2};
    kvkit_backend_option_t options[] = {
        {"siblings", opt & 1 ? "newest" : "conflict"},
        {"max_results", opt & 2 ? "2" : "1000"},
        {"vclock_cache", "16"},
        {"concurrency", "2"},
        {"retries", "0"},
        {"blind_writes", opt & 4 ? "true" : "false"},
    };
    void *h = NULL;
    kvkit_error_t err = {0};
    if (riak_LTX_kvkit_backend_open("http://127.0.0.1:1", options, 6, &h, &err) != KVKIT_OK)
        abort();

    unsigned char lo[64], hi[64];
    range_t g = {0};
    kvkit_index_value_t vlo = {0}, vhi = {0};
    int rc = KVKIT_OK;
    switch (op) {
    case 0:
    case 1: {
        char *v = NULL;
        size_t vl = 0;
        rc = riak_LTX_kvkit_backend_get(h, "b", "k", &v, &vl, &err);
        FUZZ_CHECK((rc == KVKIT_OK) == (v != NULL), "get value and status disagree");
        free(v);
        if (op == 1) { /* a save after the read carries the cached vclock */
            kvkit_error_t e2 = {0};
            rc = riak_LTX_kvkit_backend_save(h, "b", "k", "{}", 2, NULL, 0, &e2);
            FUZZ_CHECK(status_ok(rc), "save: %d", rc);
            err = e2;
        }
        break;
    }
    case 2: /* integer exact */
    case 3: /* integer range */
        vlo = (kvkit_index_value_t){KVKIT_INDEX_INTEGER, -5, 0, NULL, 0, lo, 0};
        vlo.sortable_len = kvkit_sortable_integer(lo, -5);
        vhi = vlo;
        if (op == 3) {
            vhi = (kvkit_index_value_t){KVKIT_INDEX_INTEGER, 1000, 0, NULL, 0, hi, 0};
            vhi.sortable_len = kvkit_sortable_integer(hi, 1000);
        }
        break;
    case 4: /* real range */
        vlo = (kvkit_index_value_t){KVKIT_INDEX_REAL, 0, -1.5, NULL, 0, lo, 0};
        vlo.sortable_len = kvkit_sortable_real(lo, -1.5);
        vhi = (kvkit_index_value_t){KVKIT_INDEX_REAL, 0, 2.5e10, NULL, 0, hi, 0};
        vhi.sortable_len = kvkit_sortable_real(hi, 2.5e10);
        break;
    case 5: /* string range, keys */
    case 6: /* string range, documents */
        vlo = (kvkit_index_value_t){KVKIT_INDEX_STRING, 0, 0, "a", 1, lo, 0};
        vlo.sortable_len = kvkit_sortable_string(lo, "a", 1);
        vhi = (kvkit_index_value_t){KVKIT_INDEX_STRING, 0, 0, "m\x00z", 3, hi, 0};
        vhi.sortable_len = kvkit_sortable_string(hi, "m\x00z", 3);
        break;
    case 7:
        g.klo = "b";
        g.khi = "x";
        rc = riak_LTX_kvkit_backend_list_keys(h, "b", g.klo, g.khi, on_key, &g, &err);
        break;
    }
    if (op >= 2 && op <= 6) {
        g.lo = vlo.sortable;
        g.lo_len = vlo.sortable_len;
        g.hi = vhi.sortable;
        g.hi_len = vhi.sortable_len;
        if (op == 6)
            rc = riak_LTX_kvkit_backend_index_docs(h, "b", "f", &vlo, &vhi, NULL, on_doc, &g,
                                                   &err);
        else
            rc = riak_LTX_kvkit_backend_index_lookup(h, "b", "f", &vlo, &vhi, NULL, on_key,
                                                     &g, &err);
    }
    FUZZ_CHECK(status_ok(rc), "op %u: status %d", op, rc);
    if (rc != KVKIT_OK && rc != KVKIT_NOTFOUND)
        FUZZ_CHECK(err.code == rc && err.text[0], "op %u: status %d without message", op, rc);
    riak_LTX_kvkit_backend_close(h);
    return 0;
}
