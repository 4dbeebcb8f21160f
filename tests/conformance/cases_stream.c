/* cases_stream.c - streaming, batches and optional operations */
#include "conformance.h"

/*** streaming: pages, resumption, documents ***/

START_TEST(test_iterator_pages)
{
    kvkit_store_t *s = open_store();
    const char *b = bucket("iter");
    char bb[256];
    snprintf(bb, sizeof bb, "%s", b);
    kvkit_batch_t *batch = kvkit_batch_create();
    kvkit_index_set_t *set = kvkit_index_set_create();
    kvkit_error_t err = {0};
    /* 700 documents; each has two values in range, so deduplication must
     * hold across page boundaries (pages are 256 results) */
    for (int i = 0; i < 700; i++) {
        char key[32], doc[64];
        snprintf(key, sizeof key, "k%04d", i);
        snprintf(doc, sizeof doc, "{\"i\":%d}", i);
        json_t *vals = json_pack("[i,i]", i % 50, 100 + i % 7);
        kvkit_index_set_clear(set);
        ck_assert_int_eq(kvkit_index_set_add(set, "v", vals, &err), KVKIT_OK);
        json_decref(vals);
        ck_assert_int_eq(kvkit_batch_save(batch, bb, key, doc, strlen(doc), set, &err), KVKIT_OK);
        if (kvkit_batch_size(batch) == 100) {
            ck_assert_msg(kvkit_store_write(s, batch, &err) == KVKIT_OK, "%s", err.text);
            kvkit_batch_destroy(batch);
            batch = kvkit_batch_create();
        }
    }
    ck_assert_int_eq(kvkit_store_write(s, batch, &err), KVKIT_OK);
    kvkit_batch_destroy(batch);
    kvkit_index_set_destroy(set);

    json_t *lo = json_integer(0), *hi = json_integer(1000);
    kvkit_iter_t *it = kvkit_store_index_iter(s, bb, "v", lo, hi, 1);
    int seen[700] = {0};
    size_t count = 0;
    for (; kvkit_iter_valid(it); kvkit_iter_next(it)) {
        size_t kl, vl;
        const char *key = kvkit_iter_key(it, &kl);
        const char *val = kvkit_iter_value(it, &vl);
        int i = atoi(key + 1);
        ck_assert_int_ge(i, 0);
        ck_assert_int_lt(i, 700);
        seen[i]++;
        char want[64];
        snprintf(want, sizeof want, "{\"i\":%d}", i);
        ck_assert_uint_eq(vl, strlen(want));
        ck_assert(memcmp(val, want, vl) == 0);
        count++;
    }
    ck_assert_int_eq(kvkit_iter_status(it, &err), KVKIT_OK);
    kvkit_iter_destroy(it);
    ck_assert_uint_eq(count, 700);
    for (int i = 0; i < 700; i++)
        ck_assert_int_eq(seen[i], 1);

    /* keys-only iterator over a sub-range: values 10..19 -> 14 keys each */
    json_decref(lo);
    json_decref(hi);
    lo = json_integer(10);
    hi = json_integer(19);
    it = kvkit_store_index_iter(s, bb, "v", lo, hi, 0);
    count = 0;
    for (; kvkit_iter_valid(it); kvkit_iter_next(it)) {
        ck_assert_ptr_null(kvkit_iter_value(it, NULL));
        count++;
    }
    ck_assert_int_eq(kvkit_iter_status(it, NULL), KVKIT_OK);
    kvkit_iter_destroy(it);
    ck_assert_uint_eq(count, 140);

    /* keys iterator over the whole bucket */
    it = kvkit_store_keys_iter(s, bb, NULL, NULL, 0);
    count = 0;
    for (; kvkit_iter_valid(it); kvkit_iter_next(it))
        count++;
    ck_assert_int_eq(kvkit_iter_status(it, NULL), KVKIT_OK);
    kvkit_iter_destroy(it);
    ck_assert_uint_eq(count, 700);
    it = kvkit_store_keys_iter(s, bb, "k0100", "k0399", 1);
    count = 0;
    for (; kvkit_iter_valid(it); kvkit_iter_next(it)) {
        ck_assert_ptr_nonnull(kvkit_iter_value(it, NULL));
        count++;
    }
    kvkit_iter_destroy(it);
    ck_assert_uint_eq(count, 300);
    json_decref(lo);
    json_decref(hi);
    kvkit_store_close(s);
}
END_TEST

typedef struct docs {
    int n;
    char last[64];
} docs_t;

static int collect_doc(void *ctx, const char *key, size_t kl, const char *v, size_t vl)
{
    docs_t *d = ctx;
    d->n++;
    snprintf(d->last, sizeof d->last, "%s=%.*s", key, (int)vl, v);
    return 0;
}

static int stop_at_two(void *ctx, const char *key, size_t len)
{
    return ++*(int *)ctx == 2;
}

START_TEST(test_index_docs_and_stop)
{
    kvkit_store_t *s = open_store();
    const char *b = bucket("docs");
    save(s, b, "a", "{\"x\":1}", "f", "\"v\"", NULL);
    save(s, b, "b", "{\"x\":2}", "f", "\"w\"", NULL);
    save(s, b, "c", "{\"x\":3}", "f", "\"v\"", NULL);
    docs_t d = {0};
    kvkit_error_t err = {0};
    json_t *v = json_string("w");
    ck_assert_int_eq(kvkit_store_index_docs(s, b, "f", v, NULL, collect_doc, &d, &err), KVKIT_OK);
    ck_assert_int_eq(d.n, 1);
    ck_assert_str_eq(d.last, "b={\"x\":2}");
    json_decref(v);
    /* a callback that stops early ends the query without an error */
    int calls = 0;
    ck_assert_int_eq(kvkit_store_list_keys(s, b, NULL, NULL, stop_at_two, &calls, &err), KVKIT_OK);
    ck_assert_int_eq(calls, 2);
    kvkit_store_close(s);
}
END_TEST

/*** batches ***/

START_TEST(test_batch)
{
    kvkit_store_t *s = open_store();
    const char *b = bucket("batch");
    save(s, b, "gone", "{}", "f", "1", NULL);
    kvkit_batch_t *batch = kvkit_batch_create();
    kvkit_index_set_t *set = kvkit_index_set_create();
    kvkit_error_t err = {0};
    json_t *one = json_integer(1), *two = json_integer(2);
    kvkit_index_set_add(set, "f", one, &err);
    ck_assert_int_eq(kvkit_batch_save(batch, b, "x", "{\"v\":1}", 7, set, &err), KVKIT_OK);
    kvkit_index_set_clear(set);
    kvkit_index_set_add(set, "f", two, &err);
    /* the same key twice in one batch: the second write wins, entries too */
    ck_assert_int_eq(kvkit_batch_save(batch, b, "x", "{\"v\":2}", 7, set, &err), KVKIT_OK);
    ck_assert_int_eq(kvkit_batch_delete(batch, b, "gone", &err), KVKIT_OK);
    ck_assert_uint_eq(kvkit_batch_size(batch), 3);
    ck_assert_msg(kvkit_store_write(s, batch, &err) == KVKIT_OK, "%s", err.text);
    expect_doc(s, b, "x", "{\"v\":2}");
    expect_absent(s, b, "gone");
    EXPECT_QUERY(s, b, "f", "1", NULL, "");
    EXPECT_QUERY(s, b, "f", "2", NULL, "x");
    kvkit_batch_destroy(batch);
    kvkit_index_set_destroy(set);
    json_decref(one);
    json_decref(two);
    kvkit_store_close(s);
}
END_TEST

/*** optional operations ***/

START_TEST(test_unsupported_ops_reported)
{
    kvkit_store_t *s = open_store();
    const char *b = bucket("unsup");
    kvkit_error_t err = {0};
    keys_t k = {0};
    json_t *v = json_integer(1);
    int rc = kvkit_store_index_keys(s, b, "f", v, NULL, collect, &k, &err);
    if (kvkit_store_supports(s, "index_lookup")) {
        ck_assert_int_eq(rc, KVKIT_OK);
    } else {
        ck_assert_int_eq(rc, KVKIT_NOT_SUPPORTED);
        ck_assert_ptr_nonnull(strstr(err.text, "index_lookup is not supported"));
    }
    kvkit_error_clear(&err);
    rc = kvkit_store_list_keys(s, b, NULL, NULL, collect, &k, &err);
    ck_assert_int_eq(rc, kvkit_store_supports(s, "list_keys") ? KVKIT_OK : KVKIT_NOT_SUPPORTED);
    kvkit_error_clear(&err);
    char *val;
    size_t n;
    uint64_t rev;
    rc = kvkit_store_get_rev(s, b, "none", &val, &n, &rev, &err);
    ck_assert_int_eq(rc, kvkit_store_supports(s, "get_rev") ? KVKIT_NOTFOUND : KVKIT_NOT_SUPPORTED);
    if (rc == KVKIT_NOT_SUPPORTED)
        ck_assert_ptr_nonnull(strstr(err.text, "get_rev is not supported"));
    ck_assert_int_eq(kvkit_store_supports(s, "no_such_op"), 0);
    json_decref(v);
    kvkit_store_close(s);
}
END_TEST

START_TEST(test_save_if_unchanged)
{
    kvkit_store_t *s = open_store();
    if (!kvkit_store_supports(s, "save_if")) {
        /* the contract for a backend without it: a clear NOT_SUPPORTED */
        kvkit_error_t err = {0};
        ck_assert_int_eq(kvkit_store_save_if(s, bucket("cas"), "k", "{}", 2, NULL, 0, NULL, &err),
                         KVKIT_NOT_SUPPORTED);
        ck_assert_ptr_nonnull(strstr(err.text, "save_if is not supported"));
        kvkit_store_close(s);
        return;
    }
    const char *b = bucket("cas");
    kvkit_error_t err = {0};
    uint64_t r1 = 0, r2 = 0, rev = 0;
    ck_assert_int_eq(kvkit_store_save_if(s, b, "k", "{\"v\":1}", 7, NULL, 0, &r1, &err), KVKIT_OK);
    ck_assert_uint_ne(r1, 0);
    /* expected 0 = must not exist: now it does */
    ck_assert_int_eq(kvkit_store_save_if(s, b, "k", "{\"v\":9}", 7, NULL, 0, NULL, &err),
                     KVKIT_CONFLICT);
    kvkit_error_clear(&err);
    /* two copies read at r1: the first save wins, the second conflicts */
    char *v;
    size_t n;
    ck_assert_int_eq(kvkit_store_get_rev(s, b, "k", &v, &n, &rev, &err), KVKIT_OK);
    ck_assert_uint_eq(rev, r1);
    free(v);
    kvkit_index_set_t *set = kvkit_index_set_create();
    json_t *t = json_string("first");
    kvkit_index_set_add(set, "f", t, &err);
    ck_assert_int_eq(kvkit_store_save_if(s, b, "k", "{\"v\":2}", 7, set, r1, &r2, &err), KVKIT_OK);
    ck_assert_uint_ne(r2, r1);
    kvkit_index_set_clear(set);
    json_decref(t);
    t = json_string("second");
    kvkit_index_set_add(set, "f", t, &err);
    ck_assert_int_eq(kvkit_store_save_if(s, b, "k", "{\"v\":3}", 7, set, r1, NULL, &err),
                     KVKIT_CONFLICT);
    ck_assert_int_eq(err.code, KVKIT_CONFLICT); /* the ABI promises the code, not the wording */
    expect_doc(s, b, "k", "{\"v\":2}"); /* nothing changed */
    EXPECT_QUERY(s, b, "f", "\"first\"", NULL, "k");
    EXPECT_QUERY(s, b, "f", "\"second\"", NULL, "");
    /* a plain save moves the revision too */
    save(s, b, "k", "{\"v\":4}", NULL);
    ck_assert_int_eq(kvkit_store_get_rev(s, b, "k", &v, &n, &rev, &err), KVKIT_OK);
    free(v);
    ck_assert_uint_ne(rev, r2);
    /* delete and re-create: the old revision never matches again */
    ck_assert_int_eq(kvkit_store_delete(s, b, "k", &err), KVKIT_OK);
    ck_assert_int_eq(kvkit_store_save_if(s, b, "k", "{\"v\":5}", 7, NULL, 0, NULL, &err), KVKIT_OK);
    kvkit_error_clear(&err);
    ck_assert_int_eq(kvkit_store_save_if(s, b, "k", "{\"v\":6}", 7, NULL, rev, NULL, &err),
                     KVKIT_CONFLICT);
    json_decref(t);
    kvkit_index_set_destroy(set);
    kvkit_store_close(s);
}
END_TEST

TCase *conformance_stream_cases(void)
{
    TCase *tc = tcase_create("stream");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_iterator_pages);
    tcase_add_test(tc, test_index_docs_and_stop);
    tcase_add_test(tc, test_batch);
    tcase_add_test(tc, test_unsupported_ops_reported);
    tcase_add_test(tc, test_save_if_unchanged);
    return tc;
}
