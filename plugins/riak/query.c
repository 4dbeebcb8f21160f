/*
 * query.c - index_lookup, index_docs and list_keys over Riak 2i.
 *
 * A kvkit query on field f becomes one or two Riak index streams (codec.c
 * names them): strings read E(f)_bin; numbers read E(f)_int (integers in
 * [ceil lo, floor hi]) AND E(f)~num_bin (reals), merged.  Each stream is
 * paged with max_results/continuation; paginated answers come sorted by
 * (term, key), and every term is turned back into kvkit's sortable bytes,
 * so merging the streams by (sortable, key) gives the order the ABI
 * promises.  A key whose several values match appears once per value in
 * Riak's answer; the scan keeps a set of keys already seen and hands a key
 * over only at its first (smallest) value - so memory grows with the number
 * of distinct keys of one scan.
 *
 * Resuming: libkvkit pages by calling again with `after` = the last
 * (sortable, key) it received.  The scan that stopped there is parked on
 * the handle (one per handle); a call whose query and `after` match picks
 * it up and goes on.  Otherwise the scan starts again from lo and skips,
 * client-side, everything up to `after` (still recording the keys it
 * passes, so a key seen before `after` is not handed over again).
 *
 * list_keys uses $key/<lo>/<hi> (bounds default to "\x01" and "\xff", which
 * enclose every UTF-8 key without NUL) or $bucket when both are open; on a
 * Riak without 2i it falls back to ?keys=stream, sorted client-side.
 *
 * Tombstones: a deleted key stays in $bucket, $key and key listings until
 * Riak reaps it (delete_mode, 3 s by default; riak-http.md section 5), and
 * user indexes drop it at once.  So list_keys GETs the keys it is about to
 * hand over, a batch at a time and concurrently, and skips those that
 * answer 404 or whose siblings are all tombstones.  The store option
 * delete_mode=immediate (the cluster reaps at once) turns the check off.
 */
#include "cursor.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*** the operations ***/

static int check_query(const char *bucket, const char *field, const kvkit_index_value_t *lo,
                       const kvkit_index_value_t *hi, kvkit_error_t *err)
{
    if (bucket == NULL || bucket[0] == '\0')
        return kvkit_backend_error(err, KVKIT_INVALID, "", "riak: empty bucket name");
    if (field == NULL || field[0] == '\0')
        return kvkit_backend_error(err, KVKIT_INVALID, "", "riak: empty index field name");
    if ((lo->kind == KVKIT_INDEX_STRING) != (hi->kind == KVKIT_INDEX_STRING))
        return kvkit_backend_error(err, KVKIT_INVALID, field,
                                   "riak: range bounds of \"%s\" mix numbers and strings", field);
    return KVKIT_OK;
}

#define DOC_BATCH 64

/* Up to `want` next items of the scan into batch[]; a fresh scan with
 * `after` skips what comes at or before it. */
static int scan_batch(riak_t *r, cursor_t *c, const char *field,
                      const kvkit_index_position_t *after, size_t want, item_t *batch, size_t *nb,
                      kvkit_error_t *err)
{
    int rc = KVKIT_OK;
    *nb = 0;
    while (*nb < want) {
        bool got;
        rc = riak_cursor_next(r, c, field, &batch[*nb], &got, err);
        if (rc != KVKIT_OK || !got)
            break;
        if (after && !riak_item_after(&batch[*nb], after)) {
            riak_item_free(&batch[*nb]);
            continue;
        }
        (*nb)++;
    }
    return rc;
}

/* GET the documents of batch[0..nb) concurrently: paths[] and resp[]
 * receive them (the caller frees both, and *hd). */
static int docs_fetch(riak_t *r, const char *bucket, const char *field, const item_t *batch,
                      size_t nb, char **paths, resp_t *resp, struct curl_slist **hd,
                      kvkit_error_t *err)
{
    memset(resp, 0, nb * sizeof *resp);
    memset(paths, 0, nb * sizeof *paths);
    bool oom = false;
    for (size_t i = 0; i < nb; i++) {
        buf_t p = {0};
        riak_get_path(r, &p, bucket, batch[i].key);
        paths[i] = p.data;
        oom |= p.oom;
    }
    *hd = riak_get_headers(&oom);
    if (oom)
        return kvkit_backend_error(err, KVKIT_NOMEM, field, "riak: out of memory");
    return riak_http_get_many(r, (const char *const *)paths, nb, *hd, resp, err);
}

/* Hand the fetched documents over in order until the callback stops; a
 * document deleted since the lookup is skipped.  Returns how many items
 * were handed over (or skipped); *rc is set on failure. */
static size_t docs_hand_over(riak_t *r, cursor_t *c, const char *bucket, item_t *batch, size_t nb,
                             char **paths, resp_t *resp, struct curl_slist *hd,
                             kvkit_backend_doc_fn dfn, void *ctx, bool *stopped, int *rc,
                             kvkit_error_t *err)
{
    size_t i = 0;
    for (; i < nb && !*stopped; i++) {
        char *v = NULL;
        size_t vl = 0;
        req_t q = {"GET", paths[i], hd, NULL, 0, true, batch[i].key};
        int orc = riak_object_answer(r, bucket, batch[i].key, &q, &resp[i], &v, &vl, err);
        if (orc != KVKIT_OK && orc != KVKIT_NOTFOUND) {
            *rc = orc;
            break;
        }
        if (orc == KVKIT_OK) {
            int stop =
                dfn(ctx, batch[i].key, batch[i].klen, v, vl, batch[i].sortable, batch[i].slen);
            free(v);
            *stopped = stop != 0;
        }
        riak_cursor_set_last(c, &batch[i]);
    }
    return i;
}

/* What was fetched ahead (batch[i..nb)) is handed over first next time. */
static int docs_keep_ahead(cursor_t *c, item_t *batch, size_t i, size_t nb, const char *field,
                           kvkit_error_t *err)
{
    size_t left = nb - i + (c->n_pending - c->pos_pending);
    item_t *pend = malloc(left * sizeof *pend);
    if (pend == NULL)
        return kvkit_backend_error(err, KVKIT_NOMEM, field, "riak: out of memory");
    size_t k = 0;
    for (size_t j = i; j < nb; j++)
        pend[k++] = batch[j];
    for (size_t j = c->pos_pending; j < c->n_pending; j++)
        pend[k++] = c->pending[j];
    free(c->pending);
    c->pending = pend;
    c->n_pending = k;
    c->pos_pending = 0;
    return KVKIT_OK;
}

/* index_docs' step: fetch a batch concurrently, hand it over in order. */
static int docs_step(riak_t *r, cursor_t *c, const char *bucket, const char *field, item_t *batch,
                     size_t nb, kvkit_backend_doc_fn dfn, void *ctx, bool *stopped,
                     kvkit_error_t *err)
{
    char *paths[DOC_BATCH];
    resp_t resp[DOC_BATCH];
    struct curl_slist *hd = NULL;
    int rc = docs_fetch(r, bucket, field, batch, nb, paths, resp, &hd, err);
    size_t i = 0;
    if (rc == KVKIT_OK)
        i = docs_hand_over(r, c, bucket, batch, nb, paths, resp, hd, dfn, ctx, stopped, &rc, err);
    if (rc == KVKIT_OK && i < nb && (rc = docs_keep_ahead(c, batch, i, nb, field, err)) == KVKIT_OK)
        i = nb;
    for (size_t j = i; j < nb; j++)
        riak_item_free(&batch[j]);
    for (size_t j = 0; j < nb; j++) {
        free(paths[j]);
        riak_resp_free(&resp[j]);
    }
    curl_slist_free_all(hd);
    return rc;
}

static int scan(riak_t *r, const char *bucket, const char *field, const kvkit_index_value_t *lo,
                const kvkit_index_value_t *hi, const kvkit_index_position_t *after,
                kvkit_backend_key_fn kfn, kvkit_backend_doc_fn dfn, void *ctx, kvkit_error_t *err)
{
    int rc = check_query(bucket, field, lo, hi, err);
    if (rc != KVKIT_OK)
        return rc;
    if (kvkit_sortable_cmp(lo->sortable, lo->sortable_len, hi->sortable, hi->sortable_len) > 0)
        return KVKIT_OK;
    cursor_t *c = riak_cursor_resume(r, bucket, field, lo, hi, after);
    if (c != NULL)
        after = NULL; /* the parked scan stopped exactly there */
    else if ((c = riak_cursor_new(r, bucket, field, lo, hi)) == NULL)
        return kvkit_backend_error(err, KVKIT_NOMEM, field, "riak: out of memory");
    item_t batch[DOC_BATCH];
    bool stopped = false;
    while (rc == KVKIT_OK && !stopped) {
        size_t nb;
        rc = scan_batch(r, c, field, after, dfn ? DOC_BATCH : 1, batch, &nb, err);
        if (rc != KVKIT_OK || nb == 0) {
            for (size_t i = 0; i < nb; i++)
                riak_item_free(&batch[i]);
            break;
        }
        if (kfn) {
            int stop = kfn(ctx, batch[0].key, batch[0].klen, batch[0].sortable, batch[0].slen);
            riak_cursor_set_last(c, &batch[0]);
            stopped = stop != 0;
        } else {
            rc = docs_step(r, c, bucket, field, batch, nb, dfn, ctx, &stopped, err);
        }
    }
    if (rc == KVKIT_OK && stopped)
        riak_cursor_park(r, c);
    else
        riak_cursor_free(c);
    return rc;
}

KVKIT_BACKEND_DECLARE(index_lookup);
int KVKIT_BACKEND_SYMBOL(kvkit_backend_index_lookup)(void *h, const char *bucket, const char *field,
                                                     const kvkit_index_value_t *lo,
                                                     const kvkit_index_value_t *hi,
                                                     const kvkit_index_position_t *after,
                                                     kvkit_backend_key_fn fn, void *ctx,
                                                     kvkit_error_t *err)
{
    return scan(h, bucket, field, lo, hi, after, fn, NULL, ctx, err);
}

KVKIT_BACKEND_DECLARE(index_docs);
int KVKIT_BACKEND_SYMBOL(kvkit_backend_index_docs)(void *h, const char *bucket, const char *field,
                                                   const kvkit_index_value_t *lo,
                                                   const kvkit_index_value_t *hi,
                                                   const kvkit_index_position_t *after,
                                                   kvkit_backend_doc_fn fn, void *ctx,
                                                   kvkit_error_t *err)
{
    return scan(h, bucket, field, lo, hi, after, NULL, fn, ctx, err);
}

/*** list_keys ***/

static int key_cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* A GET answer about a key that a listing named: is the key live?  A 300
 * is live unless every sibling is a tombstone. */
static int answer_alive(const req_t *q, const resp_t *p, bool *alive, kvkit_error_t *err)
{
    *alive = false;
    if (p->status == 404 && !(p->body.data && strncmp(p->body.data, "Unknown bucket type", 19) == 0))
        return KVKIT_OK;
    if (p->status == 200) {
        *alive = !p->deleted;
        return KVKIT_OK;
    }
    if (p->status != 300)
        return riak_http_fail(q, p, err);
    part_t *parts = malloc(MAX_SIBLINGS * sizeof *parts);
    if (parts == NULL)
        return kvkit_backend_error(err, KVKIT_NOMEM, q->subject, "riak: out of memory");
    int n = multipart_split(p->content_type, p->body.data, p->body.len, parts, MAX_SIBLINGS);
    *alive = n < 0; /* siblings Riak could not show us: the key is there */
    for (int i = 0; i < n && !*alive; i++)
        *alive = !parts[i].deleted;
    free(parts);
    return KVKIT_OK;
}

/* Which of keys[0..n) (n <= DOC_BATCH) are live: alive[i] for keys[i].
 * Every key is alive when the store was told delete_mode=immediate. */
static int keys_alive(riak_t *r, const char *bucket, const char *const *keys, size_t n,
                      bool *alive, kvkit_error_t *err)
{
    for (size_t i = 0; i < n; i++)
        alive[i] = true;
    if (!r->check_tombstones || n == 0)
        return KVKIT_OK;
    char *paths[DOC_BATCH] = {0};
    resp_t resp[DOC_BATCH];
    memset(resp, 0, sizeof resp);
    bool oom = false;
    for (size_t i = 0; i < n; i++) {
        buf_t p = {0};
        riak_get_path(r, &p, bucket, keys[i]);
        paths[i] = p.data;
        oom |= p.oom;
    }
    struct curl_slist *hd = riak_get_headers(&oom);
    int rc = oom ? kvkit_backend_error(err, KVKIT_NOMEM, bucket, "riak: out of memory")
                 : riak_http_get_many(r, (const char *const *)paths, n, hd, resp, err);
    for (size_t i = 0; i < n && rc == KVKIT_OK; i++) {
        req_t q = {"GET", paths[i], hd, NULL, 0, true, keys[i]};
        rc = answer_alive(&q, &resp[i], &alive[i], err);
    }
    for (size_t i = 0; i < n; i++) {
        free(paths[i]);
        riak_resp_free(&resp[i]);
    }
    curl_slist_free_all(hd);
    return rc;
}

/* The checked batches grow from KEYS_FIRST to DOC_BATCH keys: a caller
 * that seeks (stops after one key) pays for a few GETs, not for 64. */
#define KEYS_FIRST 4

static size_t keys_grow(size_t want)
{
    return 2 * want < DOC_BATCH ? 2 * want : DOC_BATCH;
}

/* Hand keys[0..n) (sorted, no duplicates) over, tombstones skipped, a batch
 * at a time; *stopped when the callback asked to stop. */
static int keys_hand_over(riak_t *r, const char *bucket, const char *const *keys, size_t n,
                          kvkit_backend_key_fn fn, void *ctx, bool *stopped, kvkit_error_t *err)
{
    bool alive[DOC_BATCH];
    for (size_t at = 0, m = 0, want = KEYS_FIRST; at < n && !*stopped;
         at += m, want = keys_grow(want)) {
        m = n - at < want ? n - at : want;
        int rc = keys_alive(r, bucket, keys + at, m, alive, err);
        if (rc != KVKIT_OK)
            return rc;
        for (size_t i = 0; i < m && !*stopped; i++)
            if (alive[i])
                *stopped = fn(ctx, keys[at + i], strlen(keys[at + i]), NULL, 0) != 0;
    }
    return KVKIT_OK;
}

/* Sort keys[0..*n), drop (and free) duplicates, hand the rest over. */
static int keys_unsorted_hand_over(riak_t *r, const char *bucket, char **keys, size_t *n,
                                   kvkit_backend_key_fn fn, void *ctx, kvkit_error_t *err)
{
    qsort(keys, *n, sizeof *keys, key_cmp_str);
    size_t u = 0;
    for (size_t i = 0; i < *n; i++) {
        if (u > 0 && strcmp(keys[i], keys[u - 1]) == 0)
            free(keys[i]);
        else
            keys[u++] = keys[i];
    }
    *n = u;
    bool stopped = false;
    return keys_hand_over(r, bucket, (const char *const *)keys, u, fn, ctx, &stopped, err);
}

/* ?keys=stream: concatenated JSON objects {"keys":[...]}, order unspecified. */
static int list_keys_stream(riak_t *r, const char *bucket, const char *lo, const char *hi,
                            kvkit_backend_key_fn fn, void *ctx, kvkit_error_t *err)
{
    buf_t path = {0};
    buf_adds(&path, r->prefix);
    url_escape(&path, bucket, strlen(bucket));
    buf_addf(&path, "/keys?keys=stream&props=false&timeout=%ld", r->timeout_ms);
    struct curl_slist *hd = curl_slist_append(NULL, "Accept: application/json");
    if (path.oom || hd == NULL) {
        buf_free(&path);
        curl_slist_free_all(hd);
        return kvkit_backend_error(err, KVKIT_NOMEM, bucket, "riak: out of memory");
    }
    req_t q = {"GET", path.data, hd, NULL, 0, true, bucket};
    resp_t resp;
    int rc = riak_http_do(r, &q, &resp, err);
    char **keys = NULL;
    size_t n = 0, cap = 0;
    if (rc == KVKIT_OK && resp.status != 200)
        rc = riak_http_fail(&q, &resp, err);
    const char *p = resp.body.data, *end = p ? p + resp.body.len : NULL;
    while (rc == KVKIT_OK && p < end) {
        while (p < end && (*p == ' ' || *p == '\r' || *p == '\n' || *p == '\t'))
            p++;
        if (p == end)
            break;
        json_error_t je;
        json_t *o = json_loadb(p, (size_t)(end - p), JSON_DISABLE_EOF_CHECK, &je);
        json_t *list = o ? json_object_get(o, "keys") : NULL;
        if (!json_is_array(list)) {
            json_t *e = o ? json_object_get(o, "error") : NULL;
            rc = kvkit_backend_error(err, KVKIT_BACKEND, bucket, "riak: GET %s: %s: %s", path.data,
                                     e ? "key listing failed" : "malformed key listing",
                                     e && json_is_string(e) ? json_string_value(e)
                                     : o                    ? "no \"keys\" list"
                                                            : riak_json_err_text(&je));
            json_decref(o);
            break;
        }
        for (size_t i = 0; i < json_array_size(list) && rc == KVKIT_OK; i++) {
            const char *k = json_string_value(json_array_get(list, i));
            if (k == NULL || (lo && strcmp(k, lo) < 0) || (hi && strcmp(k, hi) > 0))
                continue;
            if (n == cap) {
                cap = cap ? 2 * cap : 256;
                char **g = realloc(keys, cap * sizeof *g);
                if (g == NULL) {
                    rc = kvkit_backend_error(err, KVKIT_NOMEM, bucket, "riak: out of memory");
                    break;
                }
                keys = g;
            }
            if ((keys[n] = strdup(k)) == NULL)
                rc = kvkit_backend_error(err, KVKIT_NOMEM, bucket, "riak: out of memory");
            else
                n++;
        }
        json_decref(o);
        p += je.position;
    }
    if (rc == KVKIT_OK && n > 0)
        rc = keys_unsorted_hand_over(r, bucket, keys, &n, fn, ctx, err);
    for (size_t i = 0; i < n; i++)
        free(keys[i]);
    free(keys);
    if (rc == KVKIT_OK || resp.status)
        riak_resp_free(&resp);
    curl_slist_free_all(hd);
    buf_free(&path);
    return rc;
}

/* $bucket or $key: the keys in [lo, hi] in order, a batch at a time. */
static int list_keys_2i(riak_t *r, const char *bucket, const char *lo, const char *hi,
                        kvkit_backend_key_fn fn, void *ctx, kvkit_error_t *err)
{
    cursor_t *c = riak_cursor_new_keys(r, bucket, lo, hi);
    if (c == NULL)
        return kvkit_backend_error(err, KVKIT_NOMEM, bucket, "riak: out of memory");
    int rc = KVKIT_OK;
    bool stopped = false, more = true;
    item_t batch[DOC_BATCH];
    const char *keys[DOC_BATCH];
    for (size_t want = KEYS_FIRST; rc == KVKIT_OK && more && !stopped; want = keys_grow(want)) {
        size_t n = 0;
        while (n < want) {
            rc = riak_cursor_next(r, c, bucket, &batch[n], &more, err);
            if (rc != KVKIT_OK || !more)
                break;
            item_t *it = &batch[n];
            if ((!lo || strcmp(it->key, lo) >= 0) && (!hi || strcmp(it->key, hi) <= 0))
                keys[n++] = it->key;
            else
                riak_item_free(it);
        }
        if (rc == KVKIT_OK)
            rc = keys_hand_over(r, bucket, keys, n, fn, ctx, &stopped, err);
        for (size_t i = 0; i < n; i++)
            riak_item_free(&batch[i]);
    }
    riak_cursor_free(c);
    return rc;
}

KVKIT_BACKEND_DECLARE(list_keys);
int KVKIT_BACKEND_SYMBOL(kvkit_backend_list_keys)(void *h, const char *bucket, const char *lo,
                                                  const char *hi, kvkit_backend_key_fn fn,
                                                  void *ctx, kvkit_error_t *err)
{
    riak_t *r = h;
    if (bucket == NULL || bucket[0] == '\0')
        return kvkit_backend_error(err, KVKIT_INVALID, "", "riak: empty bucket name");
    if (lo && hi && strcmp(lo, hi) > 0)
        return KVKIT_OK;
    int rc = list_keys_2i(r, bucket, lo, hi, fn, ctx, err);
    if (rc == KVKIT_NOT_SUPPORTED) {
        /* no 2i on this Riak (Bitcask): the full key listing still works */
        kvkit_error_t e2 = {0};
        rc = list_keys_stream(r, bucket, lo, hi, fn, ctx, &e2);
        if (rc == KVKIT_OK) {
            memset(err, 0, sizeof *err);
        } else {
            memset(err, 0, sizeof *err);
            *err = e2;
        }
    }
    return rc;
}
