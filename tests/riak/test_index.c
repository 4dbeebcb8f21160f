/*
 * test_index.c - riak: 2i queries (strings with awkward bytes, integers and
 * reals in one numeric order, duplicates removed, (value, key) order),
 * paging of a 10,000-key result, the fused index_docs, key listings.
 */
#include "riaktest.h"

/*** collecting results ***/

typedef struct keys {
    char **k;
    size_t n, cap;
} keys_t;

static int collect(void *ctx, const char *key, size_t len)
{
    keys_t *ks = ctx;
    if (ks->n == ks->cap) {
        ks->cap = ks->cap ? 2 * ks->cap : 64;
        ks->k = realloc(ks->k, ks->cap * sizeof *ks->k);
    }
    ks->k[ks->n++] = strndup(key, len);
    return 0;
}

static void keys_free(keys_t *ks)
{
    for (size_t i = 0; i < ks->n; i++)
        free(ks->k[i]);
    free(ks->k);
    memset(ks, 0, sizeof *ks);
}

/* "a,b,c" for messages and comparisons */
static char *joined(const keys_t *ks)
{
    size_t len = 1;
    for (size_t i = 0; i < ks->n; i++)
        len += strlen(ks->k[i]) + 1;
    char *s = calloc(1, len);
    for (size_t i = 0; i < ks->n; i++) {
        if (i)
            strcat(s, ",");
        strcat(s, ks->k[i]);
    }
    return s;
}

static void expect_query(kvkit_store_t *s, const char *bucket, const char *field, json_t *lo,
                         json_t *hi, const char *want)
{
    keys_t ks = {0};
    kvkit_error_t err = {0};
    int rc = kvkit_store_index_keys(s, bucket, field, lo, hi, collect, &ks, &err);
    ck_assert_msg(rc == KVKIT_OK, "query %s: %s", field, err.text);
    char *got = joined(&ks);
    ck_assert_msg(strcmp(got, want) == 0, "query %s: got \"%s\", want \"%s\"", field, got, want);
    free(got);
    keys_free(&ks);
    json_decref(lo);
    json_decref(hi);
}

static void save_indexed(kvkit_store_t *s, const char *bucket, const char *key, const char *field,
                         json_t *value)
{
    kvkit_error_t err = {0};
    kvkit_index_set_t *ix = kvkit_index_set_create();
    ck_assert_int_eq(kvkit_index_set_add(ix, field, value, &err), KVKIT_OK);
    json_decref(value);
    save_str(s, bucket, key, "{}", ix);
    kvkit_index_set_destroy(ix);
}

/*** strings ***/

START_TEST(test_index_lookup_awkward_strings)
{
    kvkit_store_t *s = open_store("?max_results=2");
    save_indexed(s, "ix", "k-empty", "name", json_string(""));
    save_indexed(s, "ix", "k-space", "name", json_string("a b"));
    save_indexed(s, "ix", "k-comma", "name", json_string("a,b"));
    save_indexed(s, "ix", "k-commasp", "name", json_string("a, b"));
    save_indexed(s, "ix", "k-bang", "name", json_string("a!"));
    save_indexed(s, "ix", "k-tab", "name", json_string("a\tb"));
    save_indexed(s, "ix", "k-trail", "name", json_string("a "));
    save_indexed(s, "ix", "k-utf8", "name", json_string("ä"));
    save_indexed(s, "ix", "k-plain", "name", json_string("a"));
    /* byte order: "" < "a" < "a\t.." < "a " < "a b" < "a!" < "a, b" < "a,b" < "ä" */
    expect_query(s, "ix", "name", json_string(""), json_string("\xf4\x8f\xbf\xbf"),
                 "k-empty,k-plain,k-tab,k-trail,k-space,k-bang,k-commasp,k-comma,k-utf8");
    expect_query(s, "ix", "name", json_string("a, b"), NULL, "k-commasp");
    expect_query(s, "ix", "name", json_string("a,b"), NULL, "k-comma");
    expect_query(s, "ix", "name", json_string(""), NULL, "k-empty");
    expect_query(s, "ix", "name", json_string("a "), json_string("a!"), "k-trail,k-space,k-bang");
    /* the header Riak stored is one value per kvkit value, readable */
    char *raw = NULL;
    ck_assert_int_eq(emu_http(&E, "GET", "/buckets/ix/index/name_bin/a,b", NULL, NULL, &raw), 200);
    ck_assert_ptr_nonnull(strstr(raw, "k-comma"));
    free(raw);
    kvkit_store_close(s);
}
END_TEST

START_TEST(test_index_lookup_field_names_case)
{
    kvkit_store_t *s = open_store("");
    save_indexed(s, "ix", "lower", "age", json_integer(5));
    save_indexed(s, "ix", "upper", "Age", json_integer(5));
    expect_query(s, "ix", "age", json_integer(5), NULL, "lower");
    expect_query(s, "ix", "Age", json_integer(5), NULL, "upper");
    kvkit_store_close(s);
}
END_TEST

/*** numbers ***/

START_TEST(test_index_lookup_numbers)
{
    kvkit_store_t *s = open_store("?max_results=3");
    save_indexed(s, "num", "i1", "v", json_integer(1));
    save_indexed(s, "num", "i2", "v", json_integer(2));
    save_indexed(s, "num", "i10", "v", json_integer(10));
    save_indexed(s, "num", "r1.5", "v", json_real(1.5));
    save_indexed(s, "num", "r2.0", "v", json_real(2.0));
    save_indexed(s, "num", "r9.75", "v", json_real(9.75));
    save_indexed(s, "num", "rneg", "v", json_real(-3.25));
    save_indexed(s, "num", "ineg", "v", json_integer(-4));
    save_indexed(s, "num", "rbig", "v", json_real(1e300));
    save_indexed(s, "num", "rtiny", "v", json_real(1e-300));
    save_indexed(s, "num", "ibig", "v", json_integer(9007199254740993LL)); /* 2^53 + 1 */
    save_indexed(s, "num", "rzero", "v", json_real(-0.0));
    save_indexed(s, "num", "s", "v", json_string("2")); /* strings never match numbers */
    expect_query(s, "num", "v", json_integer(1), json_integer(2), "i1,r1.5,i2,r2.0");
    expect_query(s, "num", "v", json_integer(2), NULL, "i2,r2.0");
    expect_query(s, "num", "v", json_real(1.25), json_real(9.75), "r1.5,i2,r2.0,r9.75");
    expect_query(s, "num", "v", json_integer(-10), json_integer(0), "ineg,rneg,rzero");
    expect_query(s, "num", "v", json_real(0.0), json_real(1e-100), "rzero,rtiny");
    expect_query(s, "num", "v", json_integer(9007199254740993LL), json_real(1e301), "ibig,rbig");
    expect_query(s, "num", "v", json_integer(9007199254740992LL), NULL, "");
    expect_query(s, "num", "v", json_integer(11), json_integer(10), "");
    /* reals are stored in the order-preserving text form, integers as _int */
    char *raw = NULL;
    ck_assert_int_eq(emu_http(&E, "GET", "/buckets/num/index/v~num_bin/p500:1.5000000000000000",
                              NULL, NULL, &raw),
                     200);
    ck_assert_ptr_nonnull(strstr(raw, "r1.5"));
    free(raw);
    ck_assert_int_eq(emu_http(&E, "GET", "/buckets/num/index/v_int/10", NULL, NULL, &raw), 200);
    ck_assert_ptr_nonnull(strstr(raw, "i10"));
    free(raw);
    kvkit_store_close(s);
}
END_TEST

START_TEST(test_index_lookup_dedupe_order)
{
    kvkit_store_t *s = open_store("?max_results=2");
    kvkit_error_t err = {0};
    /* "multi" has 3, 5 and 7.5: it appears once, at 3 */
    kvkit_index_set_t *ix = kvkit_index_set_create();
    json_t *vals = json_pack("[i, i, f]", 3, 5, 7.5);
    ck_assert_int_eq(kvkit_index_set_add(ix, "n", vals, &err), KVKIT_OK);
    json_decref(vals);
    save_str(s, "dd", "multi", "{}", ix);
    kvkit_index_set_destroy(ix);
    save_indexed(s, "dd", "b4", "n", json_integer(4));
    save_indexed(s, "dd", "a4", "n", json_integer(4));
    save_indexed(s, "dd", "c6", "n", json_real(6.0));
    expect_query(s, "dd", "n", json_integer(0), json_integer(100), "multi,a4,b4,c6");
    expect_query(s, "dd", "n", json_integer(4), json_integer(100), "a4,b4,multi,c6");
    expect_query(s, "dd", "n", json_real(7.5), NULL, "multi");
    /* saving replaces all index entries of the key */
    save_indexed(s, "dd", "multi", "n", json_integer(50));
    expect_query(s, "dd", "n", json_integer(0), json_integer(10), "a4,b4,c6");
    kvkit_store_close(s);
}
END_TEST

/*** paging a 10,000-key result ***/

#define BIG 10000

static void load_big(void)
{
    /* bulk-loaded (10,000 PUTs would only test the emulator's speed); the
     * names are what the backend writes: n_int, and two values per key */
    size_t cap = 200 * BIG;
    char *body = malloc(cap);
    size_t o = (size_t)snprintf(body, cap, "{\"bucket\":\"big\",\"objects\":[");
    for (int i = 0; i < BIG; i++)
        o += (size_t)snprintf(body + o, cap - o,
                              "%s[\"key%05d\",\"{\\\"i\\\":%d}\",{\"n_int\":[%d,%d],"
                              "\"all_bin\":[\"x\"]}]",
                              i ? "," : "", (BIG - 1 - i), BIG - 1 - i, BIG - 1 - i, 2 * BIG + i);
    snprintf(body + o, cap - o, "]}");
    ck_assert_int_eq(emu_http(&E, "POST", "/_emu/load", body, NULL, NULL), 204);
    free(body);
}

START_TEST(test_index_lookup_paging_10000)
{
    load_big();
    kvkit_store_t *s = open_store("?max_results=500");
    emu_counters_reset(&E);
    keys_t ks = {0};
    kvkit_error_t err = {0};
    json_t *lo = json_integer(0), *hi = json_integer(3 * BIG);
    ck_assert_int_eq(kvkit_store_index_keys(s, "big", "n", lo, hi, collect, &ks, &err), KVKIT_OK);
    ck_assert_uint_eq(ks.n, BIG); /* 20,000 index hits, each key once */
    for (size_t i = 0; i < ks.n; i++) {
        char want[32];
        snprintf(want, sizeof want, "key%05zu", i);
        ck_assert_str_eq(ks.k[i], want);
    }
    keys_free(&ks);
    /* 40 pages of n_int (+1 empty), 1 of v~num_bin: streamed, not re-read */
    long requests = emu_requests(&E);
    ck_assert_int_le(requests, 2 * BIG / 500 + 4);
    /* equality over all 10,000 */
    json_t *x = json_string("x");
    ck_assert_int_eq(kvkit_store_index_keys(s, "big", "all", x, NULL, collect, &ks, &err),
                     KVKIT_OK);
    ck_assert_uint_eq(ks.n, BIG);
    ck_assert_str_eq(ks.k[0], "key00000");
    ck_assert_str_eq(ks.k[BIG - 1], "key09999");
    keys_free(&ks);
    json_decref(x);
    json_decref(lo);
    json_decref(hi);
    kvkit_store_close(s);
}
END_TEST

START_TEST(test_index_iter_paging_10000)
{
    load_big();
    kvkit_store_t *s = open_store("?max_results=1000");
    emu_counters_reset(&E);
    json_t *lo = json_integer(100), *hi = json_integer(BIG - 1);
    kvkit_iter_t *it = kvkit_store_index_iter(s, "big", "n", lo, hi, 0);
    size_t n = 0;
    for (; kvkit_iter_valid(it); kvkit_iter_next(it), n++) {
        size_t len;
        const char *k = kvkit_iter_key(it, &len);
        char want[32];
        snprintf(want, sizeof want, "key%05zu", n + 100);
        ck_assert_str_eq(k, want);
    }
    kvkit_error_t err = {0};
    ck_assert_int_eq(kvkit_iter_status(it, &err), KVKIT_OK);
    kvkit_iter_destroy(it);
    ck_assert_uint_eq(n, BIG - 100);
    /* libkvkit pages by 256 with `after`; the backend resumes its scan
     * instead of starting over for each of the ~39 pages */
    ck_assert_int_le(emu_requests(&E), 2 * (BIG / 1000 + 2));
    json_decref(lo);
    json_decref(hi);
    kvkit_store_close(s);
}
END_TEST

START_TEST(test_index_iter_interleaved)
{
    /* two scans on one store take turns: only one parked scan fits, so each
     * page after the first starts again from lo and skips what was seen */
    load_big();
    kvkit_store_t *s = open_store("?max_results=700");
    json_t *lo = json_integer(0), *hi = json_integer(999), *x = json_string("x");
    kvkit_iter_t *a = kvkit_store_index_iter(s, "big", "n", lo, hi, 0);
    kvkit_iter_t *b = kvkit_store_index_iter(s, "big", "all", x, NULL, 1);
    size_t na = 0, nb = 0;
    while (kvkit_iter_valid(a) || (kvkit_iter_valid(b) && nb < 1000)) {
        if (kvkit_iter_valid(a)) {
            size_t len;
            char want[32];
            snprintf(want, sizeof want, "key%05zu", na++);
            ck_assert_str_eq(kvkit_iter_key(a, &len), want);
            kvkit_iter_next(a);
        }
        if (kvkit_iter_valid(b) && nb < 1000) {
            size_t len;
            char want[32], wantv[32];
            snprintf(want, sizeof want, "key%05zu", nb);
            snprintf(wantv, sizeof wantv, "{\"i\":%zu}", nb++);
            ck_assert_str_eq(kvkit_iter_key(b, &len), want);
            ck_assert_str_eq(kvkit_iter_value(b, &len), wantv);
            kvkit_iter_next(b);
        }
    }
    kvkit_error_t err = {0};
    ck_assert_int_eq(kvkit_iter_status(a, &err), KVKIT_OK);
    ck_assert_int_eq(kvkit_iter_status(b, &err), KVKIT_OK);
    ck_assert_uint_eq(na, 1000);
    ck_assert_uint_eq(nb, 1000);
    kvkit_iter_destroy(a);
    kvkit_iter_destroy(b);
    json_decref(lo);
    json_decref(hi);
    json_decref(x);
    kvkit_store_close(s);
}
END_TEST

/*** index_docs ***/

typedef struct docs {
    int n;
    bool in_order;
    bool values_ok;
} docs_t;

static int collect_doc(void *ctx, const char *key, size_t key_len, const char *value,
                       size_t value_len)
{
    docs_t *d = ctx;
    char want_key[32], want_val[32];
    snprintf(want_key, sizeof want_key, "key%05d", d->n);
    snprintf(want_val, sizeof want_val, "{\"i\":%d}", d->n);
    d->in_order &= strcmp(key, want_key) == 0;
    d->values_ok &= value_len == strlen(want_val) && memcmp(value, want_val, value_len) == 0;
    d->n++;
    return 0;
}

START_TEST(test_index_docs_concurrent)
{
    load_big();
    kvkit_store_t *s = open_store("?concurrency=8");
    emu_counters_reset(&E);
    json_t *lo = json_integer(0), *hi = json_integer(199);
    docs_t d = {0, true, true};
    kvkit_error_t err = {0};
    ck_assert_int_eq(kvkit_store_index_docs(s, "big", "n", lo, hi, collect_doc, &d, &err),
                     KVKIT_OK);
    ck_assert_int_eq(d.n, 200);
    ck_assert(d.in_order);
    ck_assert(d.values_ok);
    char *body = NULL;
    ck_assert_int_eq(emu_http(&E, "GET", "/_emu/counters", NULL, NULL, &body), 200);
    ck_assert_ptr_nonnull(strstr(body, "\"get\": 200"));
    /* kept-alive: 8 connections serve the 200 fetches (+ the index query's
     * and this request's own) */
    const char *c = strstr(body, "\"connections\": ");
    ck_assert_ptr_nonnull(c);
    ck_assert_int_le(strtol(c + 15, NULL, 10), 8 + 2);
    free(body);
    /* a deleted document is skipped */
    ck_assert_int_eq(kvkit_store_delete(s, "big", "key00003", &err), KVKIT_OK);
    json_decref(hi);
    hi = json_integer(4);
    d = (docs_t){0, true, true};
    keys_t ks = {0};
    ck_assert_int_eq(kvkit_store_index_keys(s, "big", "n", lo, hi, collect, &ks, &err), KVKIT_OK);
    ck_assert_uint_eq(ks.n, 4);
    keys_free(&ks);
    json_decref(lo);
    json_decref(hi);
    kvkit_store_close(s);
}
END_TEST

/*** key listings ***/

START_TEST(test_list_keys_ranges)
{
    kvkit_store_t *s = open_store("?max_results=2");
    const char *names[] = {"b", "a", "d", "c", "e", "a b", "é"};
    for (size_t i = 0; i < 7; i++)
        save_str(s, "lk", names[i], "{}", NULL);
    keys_t ks = {0};
    kvkit_error_t err = {0};
    ck_assert_int_eq(kvkit_store_list_keys(s, "lk", NULL, NULL, collect, &ks, &err), KVKIT_OK);
    char *got = joined(&ks);
    ck_assert_str_eq(got, "a,a b,b,c,d,e,é");
    free(got);
    keys_free(&ks);
    ck_assert_int_eq(kvkit_store_list_keys(s, "lk", "b", "d", collect, &ks, &err), KVKIT_OK);
    got = joined(&ks);
    ck_assert_str_eq(got, "b,c,d");
    free(got);
    keys_free(&ks);
    ck_assert_int_eq(kvkit_store_list_keys(s, "lk", "c", NULL, collect, &ks, &err), KVKIT_OK);
    got = joined(&ks);
    ck_assert_str_eq(got, "c,d,e,é");
    free(got);
    keys_free(&ks);
    ck_assert_int_eq(kvkit_store_list_keys(s, "lk", NULL, "a b", collect, &ks, &err), KVKIT_OK);
    got = joined(&ks);
    ck_assert_str_eq(got, "a,a b");
    free(got);
    keys_free(&ks);
    /* $key and $bucket through the query API */
    expect_query(s, "lk", "$key", json_string("c"), json_string("e"), "c,d,e");
    expect_query(s, "lk", "$bucket", NULL, NULL, "a,a b,b,c,d,e,é");
    kvkit_store_close(s);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("riak index");
    TCase *tc = emu_tcase("lookup");
    tcase_add_test(tc, test_index_lookup_awkward_strings);
    tcase_add_test(tc, test_index_lookup_field_names_case);
    tcase_add_test(tc, test_index_lookup_numbers);
    tcase_add_test(tc, test_index_lookup_dedupe_order);
    suite_add_tcase(s, tc);
    tc = emu_tcase("paging");
    tcase_add_test(tc, test_index_lookup_paging_10000);
    tcase_add_test(tc, test_index_iter_paging_10000);
    tcase_add_test(tc, test_index_iter_interleaved);
    tcase_add_test(tc, test_index_docs_concurrent);
    suite_add_tcase(s, tc);
    tc = emu_tcase("keys");
    tcase_add_test(tc, test_list_keys_ranges);
    suite_add_tcase(s, tc);
    return run_suite(s);
}
