/*
 * test_index.c - the sortable index encoding: memcmp order equals value
 * order (integers and reals in one numeric order, then strings), the
 * encoding is prefix-free, and decoding returns the value.
 */
#include <kvkit/backend.h> /* kvkit_sortable_length */
#include <kvkit/kvkit.h>

#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct enc {
    unsigned char *b;
    size_t n;
} enc_t;

static enc_t encode(json_t *v)
{
    enc_t e = {0};
    kvkit_error_t err = {0};
    ck_assert_msg(kvkit_index_encode(v, &e.b, &e.n, &err) == KVKIT_OK, "%s", err.text);
    json_decref(v);
    return e;
}

static int enc_cmp(enc_t a, enc_t b)
{
    int c = memcmp(a.b, b.b, a.n < b.n ? a.n : b.n);
    return c ? c : (a.n > b.n) - (a.n < b.n);
}

/* Exact comparison of an integer with a real, as a reference. */
static int cmp_int_real(int64_t i, double r)
{
    if (r >= 9223372036854775808.0)
        return -1;
    if (r < -9223372036854775808.0)
        return 1;
    double f = floor(r);
    int64_t fi = (int64_t)f;
    if (i < fi)
        return -1;
    if (i > fi)
        return 1;
    return f < r ? -1 : 0;
}

/* base + delta, saturated to the int64 range */
static int64_t sat_add(int64_t base, int64_t delta)
{
    __int128 v = (__int128)base + delta;
    return v > INT64_MAX ? INT64_MAX : v < INT64_MIN ? INT64_MIN : (int64_t)v;
}

static uint64_t rng = 88172645463325252ULL;
static uint64_t next(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

START_TEST(test_index_encode_order_numbers)
{
    for (int round = 0; round < 20000; round++) {
        /* integers near 2^53 and 2^63 and small ones, reals of all scales */
        int64_t bases[] = {0, 1LL << 53, -(1LL << 53), INT64_MAX, INT64_MIN, 1000};
        int64_t i = sat_add(bases[next() % 6], (int64_t)(next() % 2001) - 1000);
        if (next() % 3 == 0)
            i = (int64_t)next();
        double r;
        switch (next() % 4) {
        case 0: r = (double)i + ((double)(next() % 5) - 2) * 0.5; break; /* near i */
        case 1: r = ldexp((double)(next() % 1000000), (int)(next() % 140) - 70); break;
        case 2: r = -(double)(next() % 1000) / 7.0; break;
        default: r = (double)bases[next() % 6]; break;
        }
        enc_t ei = encode(json_integer(i)), er = encode(json_real(r));
        int want = cmp_int_real(i, r);
        int got = enc_cmp(ei, er);
        ck_assert_msg((want > 0) == (got > 0) && (want < 0) == (got < 0),
                      "order of %lld vs %.17g: want %d got %d", (long long)i, r, want, got);
        int64_t j = sat_add(i, (int64_t)(next() % 3) - 1);
        enc_t ej = encode(json_integer(j));
        int c = enc_cmp(ei, ej);
        ck_assert_int_eq(c > 0, i > j);
        ck_assert_int_eq(c < 0, i < j);
        free(ej.b);
        free(ei.b);
        free(er.b);
    }
}
END_TEST

START_TEST(test_index_encode_order_strings)
{
    const char *s[] = {"", "\x01", "a", "a\x01", "ab", "b", "\x7f", "\xc3\xa9", "\xf4\x8f\xbf\xbf"};
    size_t n = sizeof s / sizeof s[0];
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < n; j++) {
            enc_t a = encode(json_string(s[i])), b = encode(json_string(s[j]));
            int c = enc_cmp(a, b), want = strcmp(s[i], s[j]);
            ck_assert_int_eq(c < 0, want < 0);
            ck_assert_int_eq(c > 0, want > 0);
            free(a.b);
            free(b.b);
        }
    /* embedded NUL: "a" < "a\0" < "a\0\0" < "a\1" */
    enc_t x = encode(json_stringn("a", 1)), y = encode(json_stringn("a\0", 2)),
          z = encode(json_stringn("a\0\0", 3)), w = encode(json_stringn("a\1", 2));
    ck_assert_int_lt(enc_cmp(x, y), 0);
    ck_assert_int_lt(enc_cmp(y, z), 0);
    ck_assert_int_lt(enc_cmp(z, w), 0);
    /* every number before every string */
    enc_t big = encode(json_real(1e308)), empty = encode(json_string(""));
    ck_assert_int_lt(enc_cmp(big, empty), 0);
    free(x.b), free(y.b), free(z.b), free(w.b), free(big.b), free(empty.b);
}
END_TEST

START_TEST(test_index_encode_prefix_free_roundtrip)
{
    json_t *vals[] = {json_integer(0), json_integer(-1), json_integer(INT64_MAX),
                      json_integer(INT64_MIN), json_integer((1LL << 53) + 1),
                      json_real(0.5), json_real(-1e-300), json_real(1e300),
                      json_string(""), json_string("abc"), json_stringn("x\0y", 3)};
    for (size_t i = 0; i < sizeof vals / sizeof vals[0]; i++) {
        unsigned char *b;
        size_t n;
        kvkit_error_t err = {0};
        ck_assert_int_eq(kvkit_index_encode(vals[i], &b, &n, &err), KVKIT_OK);
        /* self-delimiting even with bytes after it */
        unsigned char buf[256];
        memcpy(buf, b, n);
        memcpy(buf + n, "trailing-key", 12);
        ck_assert_uint_eq(kvkit_sortable_length(buf, n + 12), n);
        ck_assert_uint_eq(kvkit_sortable_length(b, n - 1), 0); /* truncated: invalid */
        json_t *back = NULL;
        ck_assert_int_eq(kvkit_index_decode(b, n, &back, &err), KVKIT_OK);
        ck_assert_msg(json_equal(back, vals[i]), "round trip of value %zu", i);
        json_decref(back);
        free(b);
        json_decref(vals[i]);
    }
    /* integral reals come back as integers (they compare equal anyway) */
    unsigned char *b;
    size_t n;
    json_t *r = json_real(3.0), *back = NULL;
    ck_assert_int_eq(kvkit_index_encode(r, &b, &n, NULL), KVKIT_OK);
    ck_assert_int_eq(kvkit_index_decode(b, n, &back, NULL), KVKIT_OK);
    ck_assert(json_is_integer(back) && json_integer_value(back) == 3);
    json_decref(r), json_decref(back), free(b);
}
END_TEST

START_TEST(test_index_decode_rejects_garbage)
{
    kvkit_error_t err = {0};
    json_t *out = NULL;
    const unsigned char bad1[] = {0x30, 1, 2};
    ck_assert_int_eq(kvkit_index_decode(bad1, 3, &out, &err), KVKIT_CORRUPT);
    ck_assert_str_eq(err.text, "malformed sortable index value (3 bytes)");
    const unsigned char bad2[] = {0x20, 'a', 0x00, 0x05};
    ck_assert_int_eq(kvkit_index_decode(bad2, 4, &out, NULL), KVKIT_CORRUPT);
    const unsigned char bad3[] = {0x10, 1, 2};
    ck_assert_int_eq(kvkit_index_decode(bad3, 3, &out, NULL), KVKIT_CORRUPT);
    ck_assert_int_eq(kvkit_index_decode(bad3, 0, &out, NULL), KVKIT_CORRUPT);
}
END_TEST

START_TEST(test_index_set_add_kinds)
{
    kvkit_index_set_t *set = kvkit_index_set_create();
    kvkit_error_t err = {0};
    json_t *list = json_pack("[s,i,n,f,s]", "b", 2, 1.5, "b");
    ck_assert_int_eq(kvkit_index_set_add(set, "tags", list, &err), KVKIT_OK);
    ck_assert_uint_eq(kvkit_index_set_size(set), 3); /* null skipped, duplicate "b" merged */
    json_decref(list);
    json_t *obj = json_object();
    ck_assert_int_eq(kvkit_index_set_add(set, "o", obj, &err), KVKIT_INVALID);
    ck_assert_str_eq(err.text, "index value for \"o\" must be a number or a string");
    kvkit_error_clear(&err);
    json_t *nested = json_pack("[[i]]", 1);
    ck_assert_int_eq(kvkit_index_set_add(set, "n", nested, &err), KVKIT_INVALID);
    ck_assert_str_eq(err.text, "index value for \"n\" (list element) must be a number or a string");
    kvkit_error_clear(&err);
    json_t *one = json_integer(1);
    ck_assert_int_eq(kvkit_index_set_add(set, "$key", one, &err), KVKIT_INVALID);
    ck_assert_ptr_nonnull(strstr(err.text, "not starting with '$'"));
    kvkit_error_clear(&err);
    ck_assert_int_eq(kvkit_index_set_add(set, "", one, &err), KVKIT_INVALID);
    ck_assert_uint_eq(kvkit_index_set_size(set), 3); /* failures added nothing */
    kvkit_index_set_clear(set);
    ck_assert_uint_eq(kvkit_index_set_size(set), 0);
    json_decref(obj), json_decref(nested), json_decref(one);
    kvkit_index_set_destroy(set);
}
END_TEST

START_TEST(test_index_set_add_field_not_utf8)
{
    /* backend.h promises plugins UTF-8 field names (issue 11, item 16) */
    kvkit_index_set_t *set = kvkit_index_set_create();
    kvkit_error_t err = {0};
    json_t *one = json_integer(1);
    static const char *const bad[] = {"caf\xe9", "\xc3", "\xed\xa0\x80", "\xc0\xaf", "a\xff"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        kvkit_error_clear(&err);
        ck_assert_int_eq(kvkit_index_set_add(set, bad[i], one, &err), KVKIT_INVALID);
        ck_assert_int_eq(err.code, KVKIT_INVALID);
        ck_assert_msg(strstr(err.text, "index field name") != NULL &&
                          strstr(err.text, "is not valid UTF-8") != NULL,
                      "message: %s", err.text);
    }
    ck_assert_uint_eq(kvkit_index_set_size(set), 0);
    kvkit_error_clear(&err);
    ck_assert_int_eq(kvkit_index_set_add(set, "caf\xc3\xa9", one, &err), KVKIT_OK);
    ck_assert_int_eq(kvkit_index_set_add(set, "\xf0\x9f\x94\x91", one, &err), KVKIT_OK);
    ck_assert_uint_eq(kvkit_index_set_size(set), 2);
    json_decref(one);
    kvkit_index_set_destroy(set);
}
END_TEST

static int count_key(void *ctx, const char *key, size_t len)
{
    (*(int *)ctx)++;
    return 0;
}

START_TEST(test_index_set_large_values_and_reuse)
{
    /* values larger than the set's chunks, small ones around them, reuse
     * across clears and batch copies: every entry must stay intact */
    kvkit_error_t err = {0};
    ck_assert_int_eq(kvkit_plugin_dir_add(MEMORY_DIR, &err), KVKIT_OK);
    kvkit_store_t *s = kvkit_store_open("memory:", &err);
    ck_assert_msg(s != NULL, "%s", err.text);
    kvkit_index_set_t *set = kvkit_index_set_create();
    kvkit_batch_t *batch = kvkit_batch_create();
    char *big = malloc(10001);
    memset(big, 'x', 10000);
    big[10000] = '\0';
    for (int round = 0; round < 3; round++) {
        kvkit_index_set_clear(set);
        json_t *small = json_integer(round);
        json_t *huge = json_string(big);
        json_t *list = json_pack("[s,s,i]", "b", "a", round + 100);
        ck_assert_int_eq(kvkit_index_set_add(set, "n", small, &err), KVKIT_OK);
        ck_assert_int_eq(kvkit_index_set_add(set, "big", huge, &err), KVKIT_OK);
        ck_assert_int_eq(kvkit_index_set_add(set, "l", list, &err), KVKIT_OK);
        ck_assert_int_eq(kvkit_index_set_add(set, "n", small, &err), KVKIT_OK); /* duplicate */
        ck_assert_uint_eq(kvkit_index_set_size(set), 5);
        char key[16];
        snprintf(key, sizeof key, "k%d", round);
        /* saved directly and through a batch (which copies the set) */
        ck_assert_int_eq(kvkit_store_save(s, "b", key, "{}", 2, set, &err), KVKIT_OK);
        snprintf(key, sizeof key, "c%d", round);
        ck_assert_int_eq(kvkit_batch_save(batch, "b", key, "{}", 2, set, &err), KVKIT_OK);
        json_decref(small), json_decref(huge), json_decref(list);
    }
    ck_assert_int_eq(kvkit_store_write(s, batch, &err), KVKIT_OK);
    json_t *huge = json_string(big), *a = json_string("a"), *one = json_integer(1);
    int n = 0;
    ck_assert_int_eq(kvkit_store_index_keys(s, "b", "big", huge, NULL, count_key, &n, &err),
                     KVKIT_OK);
    ck_assert_int_eq(n, 6);
    n = 0;
    ck_assert_int_eq(kvkit_store_index_keys(s, "b", "l", a, NULL, count_key, &n, &err), KVKIT_OK);
    ck_assert_int_eq(n, 6);
    n = 0;
    ck_assert_int_eq(kvkit_store_index_keys(s, "b", "n", one, NULL, count_key, &n, &err), KVKIT_OK);
    ck_assert_int_eq(n, 2);
    json_decref(huge), json_decref(a), json_decref(one);
    free(big);
    kvkit_batch_destroy(batch);
    kvkit_index_set_destroy(set);
    kvkit_store_close(s);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("index encoding");
    TCase *tc = tcase_create("encoding");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_index_encode_order_numbers);
    tcase_add_test(tc, test_index_encode_order_strings);
    tcase_add_test(tc, test_index_encode_prefix_free_roundtrip);
    tcase_add_test(tc, test_index_decode_rejects_garbage);
    tcase_add_test(tc, test_index_set_add_kinds);
    tcase_add_test(tc, test_index_set_add_field_not_utf8);
    tcase_add_test(tc, test_index_set_large_values_and_reuse);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? 0 : 1;
}
