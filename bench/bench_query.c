/*
 * bench_query.c - compound queries (issue 14) on the memory backend at
 * 10k and 100k documents (BENCH_SCALE=1: 10k only), each against the plain
 * index lookups it should cost about as much as:
 *
 *   zigzag    a = "x" and b = "y" (a matches every document, b 100) <= 3x
 *             the lookup of b = "y" alone;
 *   or        an OR of 5 equalities <= 1.2x the five lookups;
 *   order     $key >= "" order by n limit 10 (every document: the filter
 *             reads no document) <= 2x reading 10 keys of n's index; the
 *             same with the filter n >= 0, which reads each document, is
 *             printed beside it, unjudged;
 *   prefix    s starts with "p000", per key <= 1.25x a range scan of the
 *             same keys, per key.
 *
 * Documents: {"a":"x","b":"y"|"z","g":"gNN","n":i,"s":"pNNNNNN"}, all five
 * fields indexed; b = "y" on every (N/100)th document, g = "g" + i % 100.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <kvkit/query.h>

#include "bench_util.h"

static kvkit_store_t *store;

typedef struct qside {
    kvkit_qexpr_t *q; /* NULL: the baseline */
    int baseline;     /* which baseline: 0 zigzag, 1 or, 2 order, 3 prefix */
    int per_key;      /* run returns keys, not queries */
} qside_t;

static int count_key(void *ctx, const char *key, size_t len, const char *value, size_t vlen)
{
    (void)key, (void)len, (void)value, (void)vlen;
    (*(size_t *)ctx)++;
    return 0;
}

typedef struct upto {
    size_t n, max;
} upto_t;

static int count_upto(void *ctx, const char *key, size_t len)
{
    upto_t *u = ctx;
    (void)key, (void)len;
    return ++u->n >= u->max;
}

static size_t lookup(const char *field, json_t *lo_new, json_t *hi_new, size_t max)
{
    kvkit_error_t err = {0};
    upto_t u = {0, max};
    if (kvkit_store_index_keys(store, "q", field, lo_new, hi_new, count_upto, &u, &err) != 0)
        bu_die("index lookup", err.text);
    json_decref(lo_new);
    json_decref(hi_new);
    return u.n;
}

static size_t baseline(int which)
{
    size_t n = 0;
    char g[16];
    switch (which) {
    case 0:
        return lookup("b", json_string("y"), NULL, SIZE_MAX);
    case 1:
        for (int i = 0; i < 5; i++) {
            snprintf(g, sizeof g, "g%02d", i);
            n += lookup("g", json_string(g), NULL, SIZE_MAX);
        }
        return n;
    case 2:
        return lookup("n", json_integer(0), json_integer(1 << 30), 10);
    default:
        return lookup("s", json_string("p000"), json_string("p000999"), SIZE_MAX);
    }
}

static size_t run(void *ctx, size_t from, size_t to)
{
    qside_t *s = ctx;
    size_t keys = 0;
    for (size_t i = from; i < to; i++) {
        kvkit_error_t err = {0};
        if (s->q == NULL)
            keys += baseline(s->baseline);
        else if (kvkit_query_exec(store, "q", s->q, 0, 0, NULL, NULL, count_key, &keys, &err) != 0)
            bu_die("query", err.text);
    }
    return s->per_key ? keys : to - from;
}

static void fill(size_t n)
{
    kvkit_error_t err = {0};
    kvkit_batch_t *b = kvkit_batch_create();
    kvkit_index_set_t *set = kvkit_index_set_create();
    static const char *const fields[] = {"a", "b", "g", "n", "s"};
    for (size_t i = 0; i < n; i++) {
        char key[16], text[128];
        snprintf(key, sizeof key, "d%07zu", i);
        snprintf(text, sizeof text, "{\"a\":\"x\",\"b\":\"%s\",\"g\":\"g%02zu\",\"n\":%zu,\"s\":\"p%06zu\"}",
                 i % (n / 100) == 0 ? "y" : "z", i % 100, i, i);
        json_t *doc = json_loads(text, 0, NULL);
        kvkit_index_set_clear(set);
        for (size_t f = 0; f < 5; f++)
            if (kvkit_index_set_add(set, fields[f], json_object_get(doc, fields[f]), &err) != 0)
                bu_die("index", err.text);
        json_decref(doc);
        if (kvkit_batch_save(b, "q", key, text, strlen(text), set, &err) != 0)
            bu_die("batch", err.text);
        if (kvkit_batch_size(b) == 1000 || i + 1 == n) {
            if (kvkit_store_write(store, b, &err) != 0)
                bu_die("write", err.text);
            kvkit_batch_destroy(b);
            b = kvkit_batch_create();
        }
    }
    kvkit_batch_destroy(b);
    kvkit_index_set_destroy(set);
}

/* limit 0: print the ratio without a verdict. */
static void goal(size_t scale, const char *what, const char *text, int which, int per_key,
                 double limit)
{
    kvkit_error_t err = {0};
    qside_t qs = {NULL, which, per_key}, bs = {NULL, which, per_key};
    if (kvkit_query_parse(text, &qs.q, &err) != 0)
        bu_die(text, err.text);
    bu_side_t sides[2] = {{"query", run, &qs}, {"lookups", run, &bs}};
    bu_result_t r;
    bu_compare(sides, 2, 0, 10, 5, &r);
    char title[256];
    snprintf(title, sizeof title, "%s: %s", what, text);
    bu_print(title, per_key ? "key" : "query", sides, &r);
    if (limit > 0)
        bu_goal(what, scale, sides, &r, 0, 1, limit);
    else
        bu_print_ratio("query", "lookups", bu_ratio(&r, 0, 1));
    kvkit_query_free(qs.q);
}

int main(void)
{
    bu_init("bench_query");
    size_t scales[BU_MAX_SCALES];
    size_t n_scales = bu_scales(scales);
    for (size_t i = 0; i < n_scales; i++) {
        size_t n = scales[i];
        if (n > 100000) {
            printf("bench_query: %zuk documents skipped (the goals are set at 100k)\n", n / 1000);
            continue;
        }
        kvkit_error_t err = {0};
        if ((store = kvkit_store_open("memory:", &err)) == NULL)
            bu_die("memory:", err.text);
        fill(n);
        goal(n, "zigzag join", "a = \"x\" and b = \"y\"", 0, 0, 3.0);
        goal(n, "or of 5", "g = \"g00\" or g = \"g01\" or g = \"g02\" or g = \"g03\" or g = \"g04\"",
             1, 0, 1.2);
        goal(n, "order by limit 10", "$key >= \"\" order by n limit 10", 2, 0, 2.0);
        goal(n, "order by limit 10, filter on n", "n >= 0 order by n limit 10", 2, 0, 0);
        goal(n, "starts with per key", "s starts with \"p000\"", 3, 1, 1.25);
        kvkit_store_close(store);
    }
    return 0;
}
