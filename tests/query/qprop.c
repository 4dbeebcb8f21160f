/*
 * qprop.c - the property test of compound queries (qprop.h): random
 * documents (integers, reals, strings, lists, nulls, missing fields) and
 * random expressions of the grammar, answered by kvkit_query_exec and
 * compared with a brute-force filter written here from the semantics of
 * kvkit-query(7) (its own comparisons, no library code): the same keys,
 * each once, in the same order under `order by`; paged runs resumed by
 * cursor give the same results as one run.  tests/query runs it on memory:
 * and leveldb:, kvkit-conformance on every backend.
 */
#include "qprop.h"

#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <kvkit/query.h>

#define N_DOCS QPROP_MAX_DOCS
#define MAX_RES N_DOCS

static int n_docs = N_DOCS;   /* documents in this run */
static const char *bucket_name; /* the bucket of this run */

static unsigned long long rng;
static unsigned seed;

static unsigned rnd(unsigned n)
{
    rng = rng * 6364136223846793005ULL + 1442695040888963407ULL;
    return (unsigned)((rng >> 33) % n);
}

static const char *const fields[] = {"a", "b", "c", "d", "$key"}; /* d has no index */
static const char *const strs[] = {"", "a", "ab", "abc", "b", "ba", "c", "\xc3\xa9"};
static const double reals[] = {-1.5, 0.5, 2.0, 2.5};

static json_t *docs[N_DOCS];
static char keys[N_DOCS][8];

/*** random documents ***/

static json_t *rnd_scalar(void)
{
    switch (rnd(3)) {
    case 0:
        return json_integer((json_int_t)rnd(7) - 3);
    case 1:
        return json_real(reals[rnd(4)]);
    default:
        return json_string(strs[rnd(8)]);
    }
}

static json_t *rnd_doc(void)
{
    json_t *d = json_object();
    for (int f = 0; f < 4; f++) {
        unsigned r = rnd(20);
        if (f < 2 && rnd(5) < 2) { /* common values, so scans span several pages */
            json_t *common = f == 0 ? json_integer(1) : json_string("ab");
            json_object_set_new(d, fields[f], rnd(2) ? common : json_pack("[oo]", common, rnd_scalar()));
            continue;
        }
        if (r < 6)
            continue; /* missing */
        if (r < 7) {
            json_object_set_new(d, fields[f], json_null());
        } else if (r < 14) {
            json_object_set_new(d, fields[f], rnd_scalar());
        } else {
            json_t *l = json_array();
            for (unsigned n = rnd(4), i = 0; i < n; i++)
                json_array_append_new(l, rnd(8) ? rnd_scalar() : json_null());
            json_object_set_new(d, fields[f], l);
        }
    }
    return d;
}

static void fill(kvkit_store_t *s)
{
    kvkit_error_t err = {0};
    kvkit_index_set_t *set = kvkit_index_set_create();
    for (int i = 0; i < n_docs; i++) {
        snprintf(keys[i], sizeof keys[i], "k%03d", (i * 7919) % 1000);
        docs[i] = rnd_doc();
        kvkit_index_set_clear(set);
        for (int f = 0; f < 3; f++) {
            json_t *v = json_object_get(docs[i], fields[f]);
            if (v != NULL && !json_is_null(v))
                ck_assert_int_eq(kvkit_index_set_add(set, fields[f], v, &err), KVKIT_OK);
        }
        char *text = json_dumps(docs[i], JSON_COMPACT);
        ck_assert_msg(kvkit_store_save(s, bucket_name, keys[i], text, strlen(text), set, &err) == 0, "%s",
                      err.text);
        free(text);
    }
    kvkit_index_set_destroy(set);
}

/*** random expressions and the brute-force filter ***/

enum { E_AND, E_OR, E_NOT, E_PRED };
enum { O_EQ, O_NE, O_LT, O_LE, O_GT, O_GE, O_IN, O_PREFIX };
static const char *const opnames[] = {"=", "!=", "<", "<=", ">", ">=", "in", "starts with"};

typedef struct expr {
    int kind, op, field, n;
    json_t *vals[3];
    struct expr *kids[3];
} expr_t;

static json_t *rnd_value(int field)
{
    static const char *const kstr[] = {"k", "k1", "k200", "k5", "k999", "l", "k0"};
    if (field == 4 && rnd(4))
        return json_string(kstr[rnd(7)]);
    if (field < 2 && rnd(3) == 0)
        return field == 0 ? json_integer(1) : json_string("ab");
    return rnd_scalar();
}

static expr_t *rnd_expr(int depth)
{
    expr_t *e = calloc(1, sizeof *e);
    unsigned r = rnd(10);
    if (depth == 0 || r < 5) {
        e->kind = E_PRED;
        e->field = (int)rnd(5);
        e->op = (int)rnd(8);
        e->n = e->op == O_IN ? 1 + (int)rnd(3) : 1;
        for (int i = 0; i < e->n; i++)
            e->vals[i] = rnd_value(e->field);
        if (e->op == O_PREFIX && !json_is_string(e->vals[0])) {
            json_decref(e->vals[0]);
            e->vals[0] = json_string(e->field == 4 ? "k1" : strs[rnd(4)]);
        }
        return e;
    }
    e->kind = r < 7 ? E_AND : r < 9 ? E_OR : E_NOT;
    e->n = e->kind == E_NOT ? 1 : 2 + (int)rnd(2);
    for (int i = 0; i < e->n; i++)
        e->kids[i] = rnd_expr(depth - 1);
    return e;
}

static void expr_free(expr_t *e)
{
    for (int i = 0; i < e->n; i++) {
        if (e->kind == E_PRED)
            json_decref(e->vals[i]);
        else
            expr_free(e->kids[i]);
    }
    free(e);
}

static void expr_text(const expr_t *e, char *out, size_t cap)
{
    size_t len = strlen(out);
    if (e->kind == E_PRED) {
        snprintf(out + len, cap - len, "%s %s %s", fields[e->field], opnames[e->op],
                 e->op == O_IN ? "(" : "");
        for (int i = 0; i < e->n; i++) {
            char *v = json_dumps(e->vals[i], JSON_ENCODE_ANY);
            len = strlen(out);
            snprintf(out + len, cap - len, "%s%s", i ? ", " : "", v);
            free(v);
        }
        len = strlen(out);
        snprintf(out + len, cap - len, "%s", e->op == O_IN ? ")" : "");
        return;
    }
    snprintf(out + len, cap - len, "%s(", e->kind == E_NOT ? "NOT " : "");
    for (int i = 0; i < e->n; i++) {
        len = strlen(out);
        if (i)
            snprintf(out + len, cap - len, e->kind == E_AND ? " AND " : " or ");
        expr_text(e->kids[i], out, cap);
    }
    len = strlen(out);
    snprintf(out + len, cap - len, ")");
}

/* -1, 0, 1 by the index order of two scalars of one class; 2 when the
 * classes differ. */
static int vcmp(const json_t *x, const json_t *v)
{
    if (json_is_string(x) != json_is_string(v))
        return 2;
    if (json_is_string(x)) {
        size_t a = json_string_length(x), b = json_string_length(v);
        int c = memcmp(json_string_value(x), json_string_value(v), a < b ? a : b);
        return c ? (c > 0) - (c < 0) : (a > b) - (a < b);
    }
    double a = json_number_value(x), b = json_number_value(v);
    return (a > b) - (a < b);
}

static int value_match(const expr_t *e, const json_t *x)
{
    if (!json_is_string(x) && !json_is_number(x))
        return 0;
    for (int i = 0; i < e->n; i++) {
        int c = vcmp(x, e->vals[i]);
        if (c == 2)
            continue;
        switch (e->op) {
        case O_EQ:
        case O_NE:
        case O_IN:
            if (c == 0)
                return 1;
            break;
        case O_LT:
            return c < 0;
        case O_LE:
            return c <= 0;
        case O_GT:
            return c > 0;
        case O_GE:
            return c >= 0;
        case O_PREFIX: {
            size_t n = json_string_length(e->vals[i]);
            return json_string_length(x) >= n &&
                   memcmp(json_string_value(x), json_string_value(e->vals[i]), n) == 0;
        }
        }
    }
    return 0;
}

static int matches(const expr_t *e, int d)
{
    if (e->kind != E_PRED) {
        for (int i = 0; i < e->n; i++) {
            int m = matches(e->kids[i], d);
            if (e->kind == E_NOT)
                return !m;
            if (m == (e->kind == E_OR))
                return m;
        }
        return e->kind == E_AND;
    }
    int any = 0;
    if (e->field == 4) {
        json_t *k = json_string(keys[d]);
        any = value_match(e, k);
        json_decref(k);
    } else {
        json_t *v = json_object_get(docs[d], fields[e->field]);
        if (json_is_array(v)) {
            for (size_t i = 0; i < json_array_size(v) && !any; i++)
                any = value_match(e, json_array_get(v, i));
        } else if (v != NULL) {
            any = value_match(e, v);
        }
    }
    return e->op == O_NE ? !any : any;
}

/*** the order of `order by`, brute force ***/

static int order_field, order_desc;

/* The document's smallest value of the field (numbers before strings), or NULL. */
static json_t *smallest(int d)
{
    if (order_field == 4)
        return json_string(keys[d]);
    json_t *v = json_object_get(docs[d], fields[order_field]), *best = NULL;
    size_t n = json_is_array(v) ? json_array_size(v) : v != NULL;
    for (size_t i = 0; i < n; i++) {
        json_t *x = json_is_array(v) ? json_array_get(v, i) : v;
        if (!json_is_number(x) && !json_is_string(x))
            continue;
        int c = best == NULL ? -1 : vcmp(x, best);
        if (c == 2)
            c = json_is_string(x) ? 1 : -1;
        if (c < 0)
            best = x;
    }
    return json_incref(best);
}

static int ord(const void *pa, const void *pb)
{
    int a = *(const int *)pa, b = *(const int *)pb;
    json_t *x = smallest(a), *y = smallest(b);
    int c;
    if ((x == NULL) != (y == NULL))
        c = x == NULL ? 1 : -1;
    else if (x == NULL || (c = vcmp(x, y)) == 0)
        c = strcmp(keys[a], keys[b]);
    else if (c == 2)
        c = json_is_string(x) ? 1 : -1;
    json_decref(x);
    json_decref(y);
    return order_desc ? -c : c;
}

/*** running ***/

typedef struct got {
    char keys[MAX_RES + 1][8];
    int n;
    int want_docs;
    char problem[256];
} got_t;

static int doc_of(const char *key)
{
    for (int i = 0; i < n_docs; i++)
        if (strcmp(keys[i], key) == 0)
            return i;
    return -1;
}

static int got_fn(void *ctx, const char *key, size_t key_len, const char *value, size_t value_len)
{
    got_t *g = ctx;
    if (g->n > MAX_RES || key_len >= 8) {
        snprintf(g->problem, sizeof g->problem, "too many results or a bad key");
        return 1;
    }
    snprintf(g->keys[g->n++], 8, "%.*s", (int)key_len, key);
    if (g->want_docs && g->problem[0] == '\0') {
        char *text = json_dumps(docs[doc_of(g->keys[g->n - 1])], JSON_COMPACT);
        if (value == NULL || value_len != strlen(text) || memcmp(value, text, value_len) != 0)
            snprintf(g->problem, sizeof g->problem, "document of %.*s differs", (int)key_len, key);
        free(text);
    }
    return 0;
}

static int key_cmp(const void *a, const void *b)
{
    return strcmp(a, b);
}

/* The whole result, page by page when page > 0. */
static int run_query(kvkit_store_t *s, kvkit_qexpr_t *q, size_t page, got_t *g, kvkit_error_t *err)
{
    char *cursor = NULL;
    memset(g, 0, sizeof *g);
    g->want_docs = (int)rnd(2);
    for (int i = 0;; i++) {
        char *next = NULL;
        int rc = kvkit_query_exec(s, bucket_name, q, g->want_docs, page, cursor, &next, got_fn, g, err);
        free(cursor);
        cursor = next;
        if (rc != KVKIT_OK || next == NULL || g->problem[0] || i > n_docs + 1) {
            free(next);
            return rc;
        }
    }
}

static void check_one(kvkit_store_t *s, const char *backend, int qi)
{
    char text[4096] = "";
    expr_t *e = rnd_expr(3);
    expr_text(e, text, sizeof text);
    order_field = rnd(3) == 0 ? (int)rnd(5) : -1;
    order_desc = (int)rnd(2);
    int limit = rnd(2) ? (int)rnd(12) : -1;
    size_t len = strlen(text);
    if (order_field >= 0)
        len += (size_t)snprintf(text + len, sizeof text - len, " order by %s%s", fields[order_field],
                                order_desc ? " desc" : "");
    if (limit >= 0)
        snprintf(text + len, sizeof text - len, " limit %d", limit);

    int want[N_DOCS], n_want = 0;
    for (int d = 0; d < n_docs; d++)
        if (matches(e, d))
            want[n_want++] = d;
    if (order_field >= 0)
        qsort(want, (size_t)n_want, sizeof want[0], ord);

    kvkit_error_t err = {0};
    kvkit_qexpr_t *q = NULL;
    static const char *const indexed[] = {"a", "b", "c"};
    ck_assert_msg(kvkit_query_parse(text, &q, &err) == 0, "seed %u: %s: %s", seed, text, err.text);
    ck_assert_int_eq(kvkit_query_set_indexed(q, indexed, 3, &err), 0);
    got_t *g = calloc(2, sizeof *g);
    int rc = run_query(s, q, 0, &g[0], &err);
    int unbounded = order_field >= 0 && limit < 0 && (order_desc || order_field == 3);
    if (unbounded) {
        ck_assert_msg(rc == KVKIT_INVALID && strstr(err.text, "add \"limit N\"") != NULL,
                      "seed %u, %s query %d: %s: expected the unbounded-sort error, got %d %s", seed,
                      backend, qi, text, rc, err.text);
        goto done;
    }
    ck_assert_msg(rc == 0, "seed %u, %s query %d: %s: %s", seed, backend, qi, text, err.text);
    ck_assert_msg(g[0].problem[0] == '\0', "seed %u: %s: %s", seed, text, g[0].problem);
    int expect_n = limit >= 0 && limit < n_want ? limit : n_want;
    ck_assert_msg(g[0].n == expect_n, "seed %u, %s query %d: %s: %d results, expected %d", seed,
                  backend, qi, text, g[0].n, expect_n);
    if (order_field >= 0) {
        for (int i = 0; i < expect_n; i++)
            ck_assert_msg(strcmp(g[0].keys[i], keys[want[i]]) == 0,
                          "seed %u, %s query %d: %s: result %d is %s, expected %s", seed, backend, qi,
                          text, i, g[0].keys[i], keys[want[i]]);
    } else {
        char sorted[MAX_RES + 1][8];
        memcpy(sorted, g[0].keys, sizeof sorted);
        qsort(sorted, (size_t)g[0].n, 8, key_cmp);
        for (int i = 0; i < g[0].n; i++) {
            ck_assert_msg(i == 0 || strcmp(sorted[i - 1], sorted[i]) != 0,
                          "seed %u, %s query %d: %s: %s twice", seed, backend, qi, text, sorted[i]);
            int d = doc_of(sorted[i]);
            ck_assert_msg(d >= 0 && matches(e, d), "seed %u, %s query %d: %s: %s does not match",
                          seed, backend, qi, text, sorted[i]);
        }
    }
    /* the same result, resumed page by page */
    size_t page = 1 + rnd(7);
    rc = run_query(s, q, page, &g[1], &err);
    ck_assert_msg(rc == 0, "seed %u: %s (page %zu): %s", seed, text, page, err.text);
    ck_assert_msg(g[1].n == g[0].n, "seed %u, %s query %d: %s: %d results by pages of %zu, %d at once",
                  seed, backend, qi, text, g[1].n, page, g[0].n);
    for (int i = 0; i < g[0].n; i++)
        ck_assert_msg(strcmp(g[0].keys[i], g[1].keys[i]) == 0,
                      "seed %u, %s query %d: %s: by pages of %zu, result %d is %s, at once %s", seed,
                      backend, qi, text, page, i, g[1].keys[i], g[0].keys[i]);
done:
    free(g);
    kvkit_query_free(q);
    expr_free(e);
}

void qprop_run(kvkit_store_t *s, const char *bucket, const char *backend, unsigned run_seed,
               int docs_n, int queries_n)
{
    seed = run_seed;
    rng = seed;
    bucket_name = bucket;
    n_docs = docs_n < N_DOCS ? docs_n : N_DOCS;
    fill(s);
    for (int i = 0; i < queries_n; i++)
        check_one(s, backend, i);
    for (int i = 0; i < n_docs; i++)
        json_decref(docs[i]);
}
