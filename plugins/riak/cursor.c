/*
 * cursor.c - paging Riak index streams into one (sortable, key)-ordered,
 * deduplicated scan that can be parked on the handle and resumed; see
 * query.c for how the operations use it.
 */
#include "cursor.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*** small things ***/

void riak_item_free(item_t *it)
{
    free(it->sortable);
    free(it->key);
    memset(it, 0, sizeof *it);
}

static int item_cmp(const item_t *a, const item_t *b)
{
    int c = kvkit_sortable_cmp(a->sortable, a->slen, b->sortable, b->slen);
    if (c)
        return c;
    c = memcmp(a->key, b->key, a->klen < b->klen ? a->klen : b->klen);
    return c ? c : (a->klen > b->klen) - (a->klen < b->klen);
}

static void stream_clear_page(stream_t *s)
{
    for (size_t i = 0; i < s->n; i++)
        riak_item_free(&s->items[i]);
    free(s->items);
    s->items = NULL;
    s->n = s->pos = 0;
}

static void stream_free(stream_t *s)
{
    stream_clear_page(s);
    free(s->path);
    free(s->eq);
    free(s->continuation);
    memset(s, 0, sizeof *s);
}

static uint64_t key_hash(const char *k, size_t n)
{
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)k[i]) * 1099511628211ULL;
    return h | 1; /* 0 marks an empty slot */
}

/* 1: added, 0: already there, -1: out of memory */
static int seen_add(seen_t *s, const char *k, size_t n)
{
    if (2 * (s->n + 1) > s->cap) {
        size_t cap = s->cap ? 2 * s->cap : 256;
        seen_t g = {calloc(cap, sizeof *g.hash), calloc(cap, sizeof *g.key),
                    calloc(cap, sizeof *g.klen), s->n, cap};
        if (!g.hash || !g.key || !g.klen) {
            free(g.hash);
            free(g.key);
            free(g.klen);
            return -1;
        }
        for (size_t i = 0; i < s->cap; i++) {
            if (!s->hash[i])
                continue;
            size_t j = s->hash[i] & (cap - 1);
            while (g.hash[j])
                j = (j + 1) & (cap - 1);
            g.hash[j] = s->hash[i];
            g.key[j] = s->key[i];
            g.klen[j] = s->klen[i];
        }
        free(s->hash);
        free(s->key);
        free(s->klen);
        *s = g;
    }
    uint64_t h = key_hash(k, n);
    size_t j = h & (s->cap - 1);
    for (; s->hash[j]; j = (j + 1) & (s->cap - 1))
        if (s->hash[j] == h && s->klen[j] == n && memcmp(s->key[j], k, n) == 0)
            return 0;
    char *copy = malloc(n + 1);
    if (copy == NULL)
        return -1;
    memcpy(copy, k, n);
    s->hash[j] = h;
    s->key[j] = copy;
    s->klen[j] = n;
    s->n++;
    return 1;
}

static void seen_free(seen_t *s)
{
    for (size_t i = 0; i < s->cap; i++)
        free(s->key[i]);
    free(s->hash);
    free(s->key);
    free(s->klen);
    memset(s, 0, sizeof *s);
}

void riak_cursor_free(cursor_t *c)
{
    if (c == NULL)
        return;
    for (int i = 0; i < c->ns; i++)
        stream_free(&c->s[i]);
    seen_free(&c->seen);
    for (size_t i = c->pos_pending; i < c->n_pending; i++)
        riak_item_free(&c->pending[i]);
    free(c->pending);
    riak_item_free(&c->last);
    free(c->bucket);
    free(c->field);
    free(c->lo);
    free(c->hi);
    free(c);
}

/*** fetching a page ***/

const char *riak_json_err_text(const json_error_t *e)
{
    return e->text[0] ? e->text : "not JSON";
}

/* The sortable of one term of a stream; -1 when it is not ours to read. */
static int term_sortable(const stream_t *s, const char *term, size_t tlen, item_t *it)
{
    unsigned char tmp[KVKIT_SORTABLE_NUMBER_LEN];
    if (s->cls == CLS_INT) {
        char num[32];
        if (tlen == 0 || tlen >= sizeof num)
            return -1;
        memcpy(num, term, tlen);
        num[tlen] = '\0';
        char *end;
        errno = 0;
        long long v = strtoll(num, &end, 10);
        if (*end || errno)
            return -1;
        it->slen = kvkit_sortable_integer(tmp, v);
    } else if (s->cls == CLS_REAL) {
        double d;
        if (real_parse(term, tlen, &d) != 0)
            return -1;
        it->slen = kvkit_sortable_real(tmp, d);
    } else {
        buf_t raw = {0};
        if (bin_unescape(term, tlen, &raw) != 0 || raw.oom) {
            buf_free(&raw);
            return -1;
        }
        it->sortable = malloc(2 * raw.len + 3);
        if (it->sortable)
            it->slen = kvkit_sortable_string(it->sortable, raw.data, raw.len);
        buf_free(&raw);
        return it->sortable ? 0 : -2;
    }
    if ((it->sortable = malloc(it->slen)) == NULL)
        return -2;
    memcpy(it->sortable, tmp, it->slen);
    return 0;
}

/* The path of the stream's next page. */
static void page_path(const riak_t *r, const stream_t *s, buf_t *path)
{
    buf_adds(path, s->path);
    buf_addf(path, "?max_results=%u&timeout=%ld", r->max_results, r->timeout_ms);
    if (s->range)
        buf_adds(path, "&return_terms=true");
    if (s->continuation) {
        buf_adds(path, "&continuation=");
        url_escape(path, s->continuation, strlen(s->continuation));
    }
}

/* The list of a 2i answer: "results" (with terms) or "keys" (keys only). */
static int page_list(const json_t *doc, const json_error_t *je, const char *path,
                     const char *subject, json_t **list, bool *results, kvkit_error_t *err)
{
    *list = NULL;
    *results = false;
    if (doc && json_is_object(doc)) {
        *list = json_object_get(doc, "results");
        *results = *list != NULL;
        if (!*list)
            *list = json_object_get(doc, "keys");
    }
    if (doc != NULL && json_is_array(*list))
        return KVKIT_OK;
    json_t *e = doc ? json_object_get(doc, "error") : NULL;
    return kvkit_backend_error(err, KVKIT_BACKEND, subject, "riak: GET %s: malformed 2i answer: %s",
                               path,
                               e && json_is_string(e) ? json_string_value(e)
                               : doc                  ? "no \"results\" or \"keys\" list"
                                                      : riak_json_err_text(je));
}

/* One entry of the list: {"term": "key"} in results, "key" in keys;
 * *term stays NULL for the latter.  False when it is neither. */
static bool entry_fields(json_t *el, bool results, const char **term, size_t *tlen,
                         const char **key, size_t *klen)
{
    *term = *key = NULL;
    if (results && json_is_object(el) && json_object_size(el) == 1) {
        const char *t = json_object_iter_key(json_object_iter(el));
        json_t *k = json_object_iter_value(json_object_iter(el));
        if (json_is_string(k)) {
            *term = t;
            *tlen = strlen(t);
            *key = json_string_value(k);
            *klen = json_string_length(k);
        }
    } else if (!results && json_is_string(el)) {
        *key = json_string_value(el);
        *klen = json_string_length(el);
    }
    return *key != NULL;
}

/* Decode entry i into the stream's page; a term kvkit did not write is
 * skipped. */
static int page_entry(stream_t *s, json_t *el, size_t i, bool results, const char *path,
                      const char *subject, kvkit_error_t *err)
{
    const char *term, *key;
    size_t tlen = 0, klen = 0;
    if (!entry_fields(el, results, &term, &tlen, &key, &klen))
        return kvkit_backend_error(err, KVKIT_BACKEND, subject,
                                   "riak: GET %s: malformed 2i answer: unexpected entry %zu", path,
                                   i);
    item_t it = {0};
    if (s->cls == CLS_KEY) {
        it.sortable = malloc(1);
    } else if (term != NULL) {
        if (term_sortable(s, term, tlen, &it) == -1)
            return KVKIT_OK; /* a value kvkit did not write */
    } else if (s->eq != NULL) {
        if ((it.sortable = malloc(s->eq_len)) != NULL) {
            memcpy(it.sortable, s->eq, s->eq_len);
            it.slen = s->eq_len;
        }
    } else {
        return kvkit_backend_error(err, KVKIT_BACKEND, subject,
                                   "riak: GET %s: range answer without terms", path);
    }
    it.key = malloc(klen + 1);
    if (it.sortable == NULL || it.key == NULL) {
        riak_item_free(&it);
        return kvkit_backend_error(err, KVKIT_NOMEM, subject, "riak: out of memory");
    }
    memcpy(it.key, key, klen);
    it.key[klen] = '\0';
    it.klen = klen;
    s->items[s->n++] = it;
    return KVKIT_OK;
}

/* Decode a 200 answer into the stream's page and remember where the next
 * page starts (no continuation: the stream is done). */
static int page_decode(stream_t *s, const resp_t *resp, const char *path, const char *subject,
                       kvkit_error_t *err)
{
    json_error_t je;
    json_t *doc = json_loadb(resp->body.data, resp->body.len, 0, &je), *list;
    bool results;
    int rc = page_list(doc, &je, path, subject, &list, &results, err);
    size_t n = rc == KVKIT_OK ? json_array_size(list) : 0;
    if (rc == KVKIT_OK && (s->items = calloc(n ? n : 1, sizeof *s->items)) == NULL)
        rc = kvkit_backend_error(err, KVKIT_NOMEM, subject, "riak: out of memory");
    for (size_t i = 0; i < n && rc == KVKIT_OK; i++)
        rc = page_entry(s, json_array_get(list, i), i, results, path, subject, err);
    if (rc == KVKIT_OK) {
        json_t *cont = json_object_get(doc, "continuation");
        free(s->continuation);
        s->continuation = NULL;
        if (json_is_string(cont) && json_string_length(cont) > 0 && n > 0) {
            if ((s->continuation = strdup(json_string_value(cont))) == NULL)
                rc = kvkit_backend_error(err, KVKIT_NOMEM, subject, "riak: out of memory");
        } else {
            s->done = true;
        }
    }
    json_decref(doc);
    return rc;
}

static int stream_fetch(riak_t *r, stream_t *s, const char *subject, kvkit_error_t *err)
{
    stream_clear_page(s);
    if (s->done)
        return KVKIT_OK;
    buf_t path = {0};
    page_path(r, s, &path);
    struct curl_slist *hd = curl_slist_append(NULL, "Accept: application/json");
    if (hd == NULL || path.oom) {
        curl_slist_free_all(hd);
        buf_free(&path);
        return kvkit_backend_error(err, KVKIT_NOMEM, subject, "riak: out of memory");
    }
    req_t q = {"GET", path.data, hd, NULL, 0, true, subject};
    resp_t resp;
    int rc = riak_http_do(r, &q, &resp, err);
    if (rc == KVKIT_OK)
        rc = resp.status == 200 ? page_decode(s, &resp, path.data, subject, err)
                                : riak_http_fail(&q, &resp, err);
    riak_resp_free(&resp);
    curl_slist_free_all(hd);
    buf_free(&path);
    if (rc != KVKIT_OK)
        stream_clear_page(s);
    return rc;
}

/*** building a scan ***/

static int stream_init(riak_t *r, stream_t *s, int cls, const char *bucket, const char *name,
                       const char *start, size_t start_len, const char *end, size_t end_len,
                       const unsigned char *eq, size_t eq_len)
{
    memset(s, 0, sizeof *s);
    s->cls = cls;
    buf_t p = {0};
    buf_adds(&p, r->prefix);
    url_escape(&p, bucket, strlen(bucket));
    buf_adds(&p, "/index/");
    url_escape(&p, name, strlen(name));
    buf_adds(&p, "/");
    url_escape(&p, start, start_len);
    if (end) {
        buf_adds(&p, "/");
        url_escape(&p, end, end_len);
        s->range = cls != CLS_KEY;
    }
    if (p.oom)
        return -1;
    s->path = p.data;
    if (eq) {
        if ((s->eq = malloc(eq_len)) == NULL)
            return -1;
        memcpy(s->eq, eq, eq_len);
        s->eq_len = eq_len;
    }
    return 0;
}

static bool lo_is_integer(const kvkit_index_value_t *v, int64_t *out, bool upper)
{
    if (v->kind == KVKIT_INDEX_INTEGER) {
        *out = v->integer;
        return true;
    }
    double d = upper ? floor(v->real) : ceil(v->real);
    if (d >= 9223372036854775808.0) {
        *out = INT64_MAX;
        return !upper ? false : true;
    }
    if (d < -9223372036854775808.0) {
        *out = INT64_MIN;
        return upper ? false : true;
    }
    *out = (int64_t)d;
    return true;
}

static double as_double(const kvkit_index_value_t *v, bool upper)
{
    if (v->kind == KVKIT_INDEX_REAL)
        return v->real;
    double d = (double)v->integer;
    __int128 diff = (__int128)d - (__int128)v->integer;
    if (!upper && diff > 0)
        d = nextafter(d, -INFINITY);
    if (upper && diff < 0)
        d = nextafter(d, INFINITY);
    return d;
}

cursor_t *riak_cursor_new(riak_t *r, const char *bucket, const char *field,
                          const kvkit_index_value_t *lo, const kvkit_index_value_t *hi)
{
    cursor_t *c = calloc(1, sizeof *c);
    if (c == NULL)
        return NULL;
    c->bucket = strdup(bucket);
    c->field = strdup(field);
    c->lo = malloc(lo->sortable_len);
    c->hi = malloc(hi->sortable_len);
    if (!c->bucket || !c->field || !c->lo || !c->hi)
        goto fail;
    memcpy(c->lo, lo->sortable, lo->sortable_len);
    memcpy(c->hi, hi->sortable, hi->sortable_len);
    c->lo_len = lo->sortable_len;
    c->hi_len = hi->sortable_len;
    bool eq = kvkit_sortable_cmp(c->lo, c->lo_len, c->hi, c->hi_len) == 0;
    buf_t name = {0}, a = {0}, b = {0};
    int bad = 0;
    if (lo->kind == KVKIT_INDEX_STRING) {
        field_name(&name, field, "_bin");
        bin_escape(&a, lo->string, lo->string_len);
        bin_escape(&b, hi->string, hi->string_len);
        if (!name.oom && !a.oom && !b.oom)
            bad = stream_init(r, &c->s[c->ns++], CLS_BIN, bucket, name.data, a.data, a.len,
                              eq ? NULL : b.data, b.len, eq ? c->lo : NULL, c->lo_len);
        else
            bad = -1;
    } else {
        int64_t ilo, ihi;
        if (lo_is_integer(lo, &ilo, false) && lo_is_integer(hi, &ihi, true) && ilo <= ihi) {
            field_name(&name, field, "_int");
            buf_addf(&a, "%lld", (long long)ilo);
            buf_addf(&b, "%lld", (long long)ihi);
            unsigned char so[KVKIT_SORTABLE_NUMBER_LEN];
            size_t sl = kvkit_sortable_integer(so, ilo);
            if (!name.oom && !a.oom && !b.oom)
                bad = stream_init(r, &c->s[c->ns++], CLS_INT, bucket, name.data, a.data, a.len,
                                  ilo == ihi ? NULL : b.data, b.len, ilo == ihi ? so : NULL, sl);
            else
                bad = -1;
        }
        name.len = a.len = b.len = 0;
        double dlo = as_double(lo, false), dhi = as_double(hi, true);
        field_name(&name, field, "~num_bin");
        real_text(&a, dlo);
        real_text(&b, dhi);
        unsigned char so[KVKIT_SORTABLE_NUMBER_LEN];
        size_t sl = kvkit_sortable_real(so, dlo);
        bool same = dlo == dhi;
        if (bad == 0 && !name.oom && !a.oom && !b.oom)
            bad = stream_init(r, &c->s[c->ns++], CLS_REAL, bucket, name.data, a.data, a.len,
                              same ? NULL : b.data, b.len, same ? so : NULL, sl);
        else
            bad = -1;
    }
    buf_free(&name);
    buf_free(&a);
    buf_free(&b);
    if (bad)
        goto fail;
    return c;
fail:
    riak_cursor_free(c);
    return NULL;
}

cursor_t *riak_cursor_new_keys(riak_t *r, const char *bucket, const char *lo, const char *hi)
{
    cursor_t *c = calloc(1, sizeof *c);
    if (c == NULL)
        return NULL;
    int bad;
    if (lo == NULL && hi == NULL) {
        bad = stream_init(r, &c->s[c->ns++], CLS_KEY, bucket, "$bucket", "_", 1, NULL, 0, NULL, 0);
    } else {
        const char *a = lo ? lo : "\x01", *b = hi ? hi : "\xff";
        bad = stream_init(r, &c->s[c->ns++], CLS_KEY, bucket, "$key", a, strlen(a), b, strlen(b),
                          NULL, 0);
    }
    if (bad) {
        riak_cursor_free(c);
        return NULL;
    }
    return c;
}

/*** walking a scan ***/

/* Next distinct item in (sortable, key) order within [lo, hi], or none
 * (*got = false).  The item is moved into *out. */
int riak_cursor_next(riak_t *r, cursor_t *c, const char *subject, item_t *out, bool *got,
                     kvkit_error_t *err)
{
    *got = false;
    if (c->pos_pending < c->n_pending) {
        *out = c->pending[c->pos_pending++];
        *got = true;
        return KVKIT_OK;
    }
    for (;;) {
        stream_t *best = NULL;
        for (int i = 0; i < c->ns; i++) {
            stream_t *s = &c->s[i];
            while (s->pos == s->n && !s->done) {
                int rc = stream_fetch(r, s, subject, err);
                if (rc != KVKIT_OK)
                    return rc;
            }
            if (s->pos == s->n)
                continue;
            if (best == NULL || item_cmp(&s->items[s->pos], &best->items[best->pos]) < 0)
                best = s;
        }
        if (best == NULL)
            return KVKIT_OK;
        item_t it = best->items[best->pos];
        memset(&best->items[best->pos], 0, sizeof it);
        best->pos++;
        if (best->cls != CLS_KEY &&
            (kvkit_sortable_cmp(it.sortable, it.slen, c->lo, c->lo_len) < 0 ||
             kvkit_sortable_cmp(it.sortable, it.slen, c->hi, c->hi_len) > 0)) {
            riak_item_free(&it);
            continue;
        }
        if (best->cls != CLS_KEY || c->ns > 1) {
            int sa = seen_add(&c->seen, it.key, it.klen);
            if (sa < 0) {
                riak_item_free(&it);
                return kvkit_backend_error(err, KVKIT_NOMEM, subject, "riak: out of memory");
            }
            if (sa == 0) {
                riak_item_free(&it);
                continue;
            }
        }
        *out = it;
        *got = true;
        return KVKIT_OK;
    }
}

bool riak_item_after(const item_t *it, const kvkit_index_position_t *after)
{
    item_t a = {(unsigned char *)after->sortable, after->sortable_len, (char *)after->key,
                after->key_len};
    return item_cmp(it, &a) > 0;
}

/* The parked scan, if it is this query stopped exactly at `after`. */
cursor_t *riak_cursor_resume(riak_t *r, const char *bucket, const char *field,
                             const kvkit_index_value_t *lo, const kvkit_index_value_t *hi,
                             const kvkit_index_position_t *after)
{
    if (after == NULL)
        return NULL;
    pthread_mutex_lock(&r->cur_lock);
    cursor_t *c = r->cursor;
    if (c && strcmp(c->bucket, bucket) == 0 && strcmp(c->field, field) == 0 &&
        kvkit_sortable_cmp(c->lo, c->lo_len, lo->sortable, lo->sortable_len) == 0 &&
        kvkit_sortable_cmp(c->hi, c->hi_len, hi->sortable, hi->sortable_len) == 0 &&
        c->last.key && c->last.klen == after->key_len &&
        memcmp(c->last.key, after->key, after->key_len) == 0 &&
        kvkit_sortable_cmp(c->last.sortable, c->last.slen, after->sortable,
                           after->sortable_len) == 0)
        r->cursor = NULL;
    else
        c = NULL;
    pthread_mutex_unlock(&r->cur_lock);
    return c;
}

void riak_cursor_park(riak_t *r, cursor_t *c)
{
    pthread_mutex_lock(&r->cur_lock);
    cursor_t *old = r->cursor;
    r->cursor = c;
    pthread_mutex_unlock(&r->cur_lock);
    riak_cursor_free(old);
}

void riak_cursor_set_last(cursor_t *c, item_t *it)
{
    riak_item_free(&c->last);
    c->last = *it;
    memset(it, 0, sizeof *it);
}
