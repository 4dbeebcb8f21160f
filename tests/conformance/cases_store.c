/* cases_store.c - get/save/delete, values and keys */
#include "conformance.h"

/*** get / save / delete ***/

START_TEST(test_save_get_delete)
{
    kvkit_store_t *s = open_store();
    const char *b = bucket("crud");
    expect_absent(s, b, "k");
    save(s, b, "k", "{\"a\":1}", NULL);
    expect_doc(s, b, "k", "{\"a\":1}");
    save(s, b, "k", "{\"a\":2}", NULL); /* overwrite */
    expect_doc(s, b, "k", "{\"a\":2}");
    kvkit_error_t err = {0};
    ck_assert_int_eq(kvkit_store_delete(s, b, "k", &err), KVKIT_OK);
    expect_absent(s, b, "k");
    ck_assert_int_eq(kvkit_store_delete(s, b, "k", &err), KVKIT_OK); /* absent: fine */
    ck_assert_int_eq(kvkit_store_delete(s, b, "never-was", &err), KVKIT_OK);
    ck_assert_int_eq(err.code, KVKIT_OK);
    kvkit_store_close(s);
}
END_TEST

START_TEST(test_save_empty_value)
{
    kvkit_store_t *s = open_store();
    const char *b = bucket("emptyval");
    kvkit_error_t err = {0};
    ck_assert_int_eq(kvkit_store_save(s, b, "e", "", 0, NULL, &err), KVKIT_OK);
    char *v = NULL;
    size_t n = 99;
    ck_assert_int_eq(kvkit_store_get(s, b, "e", &v, &n, &err), KVKIT_OK);
    ck_assert_uint_eq(n, 0);
    free(v);
    kvkit_store_close(s);
}
END_TEST

START_TEST(test_bucket_isolation)
{
    kvkit_store_t *s = open_store();
    const char *b1 = bucket("iso1"), *b2 = bucket("iso2");
    char b1c[200];
    snprintf(b1c, sizeof b1c, "%s", b1);
    save(s, b1c, "same", "{\"in\":1}", "tag", "\"x\"", NULL);
    save(s, b2, "same", "{\"in\":2}", "tag", "\"y\"", NULL);
    expect_doc(s, b1c, "same", "{\"in\":1}");
    expect_doc(s, b2, "same", "{\"in\":2}");
    EXPECT_QUERY(s, b1c, "tag", "\"x\"", NULL, "same");
    EXPECT_QUERY(s, b1c, "tag", "\"y\"", NULL, "");
    EXPECT_QUERY(s, b2, "tag", "\"x\"", NULL, "");
    kvkit_error_t err = {0};
    ck_assert_int_eq(kvkit_store_delete(s, b1c, "same", &err), KVKIT_OK);
    expect_doc(s, b2, "same", "{\"in\":2}");
    EXPECT_QUERY(s, b2, "tag", "\"y\"", NULL, "same");
    /* a bucket whose name is a prefix of another's stays apart */
    char pre[200];
    snprintf(pre, sizeof pre, "%s-p", b2);
    char prelong[200];
    snprintf(prelong, sizeof prelong, "%s-pp", b2);
    save(s, pre, "k", "{}", "f", "1", NULL);
    save(s, prelong, "k", "{}", "f", "1", NULL);
    keys_t k = {0};
    ck_assert_int_eq(kvkit_store_list_keys(s, pre, NULL, NULL, collect, &k, &err), KVKIT_OK);
    ck_assert_str_eq(k.text, "k");
    EXPECT_QUERY(s, pre, "f", "1", NULL, "k");
    kvkit_store_close(s);
}
END_TEST


/*** values and keys ***/

START_TEST(test_large_value)
{
    kvkit_store_t *s = open_store();
    const char *b = bucket("big");
    size_t n = 1 << 20;
    char *doc = malloc(n + 1);
    /* a 1 MiB JSON string value */
    doc[0] = '"';
    for (size_t i = 1; i < n - 1; i++)
        doc[i] = (char)('a' + i % 26);
    doc[n - 1] = '"';
    doc[n] = '\0';
    kvkit_error_t err = {0};
    ck_assert_msg(kvkit_store_save(s, b, "big", doc, n, NULL, &err) == KVKIT_OK, "%s", err.text);
    char *v = NULL;
    size_t vn = 0;
    ck_assert_int_eq(kvkit_store_get(s, b, "big", &v, &vn, &err), KVKIT_OK);
    ck_assert_uint_eq(vn, n);
    ck_assert(memcmp(v, doc, n) == 0);
    free(v);
    free(doc);
    kvkit_store_close(s);
}
END_TEST

static const char *awkward_keys[] = {
    "with space", "sl/ash", "que?ry", "per%25cent", "pl+us", "ha#sh", "amp&ersand",
    "\xc3\xa9t\xc3\xa9", "\xe6\x97\xa5\xe6\x9c\xac", "\xf0\x9f\x98\x80", "..", "a:b", "-",
};
#define N_AWKWARD (sizeof awkward_keys / sizeof awkward_keys[0])

START_TEST(test_awkward_keys)
{
    kvkit_store_t *s = open_store();
    const char *b = bucket("awk w/ar?d%");
    char bb[256];
    snprintf(bb, sizeof bb, "%s", b);
    for (size_t i = 0; i < N_AWKWARD; i++) {
        char doc[64];
        snprintf(doc, sizeof doc, "{\"i\":%zu}", i);
        save(s, bb, awkward_keys[i], doc, "f", "\"same\"", NULL);
    }
    for (size_t i = 0; i < N_AWKWARD; i++) {
        char doc[64];
        snprintf(doc, sizeof doc, "{\"i\":%zu}", i);
        expect_doc(s, bb, awkward_keys[i], doc);
    }
    keys_t k = {0}, want = {0};
    for (size_t i = 0; i < N_AWKWARD; i++)
        collect(&want, awkward_keys[i], strlen(awkward_keys[i]));
    sort_keys(&want);
    kvkit_error_t err = {0};
    ck_assert_int_eq(kvkit_store_list_keys(s, bb, NULL, NULL, collect, &k, &err), KVKIT_OK);
    sort_keys(&k);
    ck_assert_str_eq(k.text, want.text);
    EXPECT_QUERY(s, bb, "f", "\"same\"", NULL, want.text);
    for (size_t i = 0; i < N_AWKWARD; i++)
        ck_assert_int_eq(kvkit_store_delete(s, bb, awkward_keys[i], &err), KVKIT_OK);
    EXPECT_QUERY(s, bb, "f", "\"same\"", NULL, "");
    kvkit_store_close(s);
}
END_TEST

START_TEST(test_bad_keys_refused)
{
    kvkit_store_t *s = open_store();
    const char *b = bucket("badkey");
    kvkit_error_t err = {0};
    ck_assert_int_eq(kvkit_store_save(s, b, "", "{}", 2, NULL, &err), KVKIT_INVALID);
    ck_assert_str_eq(err.text, "empty key: a key is 1 to 1024 bytes");
    char *longkey = malloc(KVKIT_KEY_MAX + 2);
    memset(longkey, 'k', KVKIT_KEY_MAX + 1);
    longkey[KVKIT_KEY_MAX + 1] = '\0';
    kvkit_error_clear(&err);
    ck_assert_int_eq(kvkit_store_save(s, b, longkey, "{}", 2, NULL, &err), KVKIT_INVALID);
    ck_assert_ptr_nonnull(strstr(err.text, "is 1025 bytes, longer than the limit of 1024"));
    longkey[KVKIT_KEY_MAX] = '\0'; /* exactly at the limit: accepted */
    kvkit_error_clear(&err);
    ck_assert_msg(kvkit_store_save(s, b, longkey, "{}", 2, NULL, &err) == KVKIT_OK, "%s", err.text);
    expect_doc(s, b, longkey, "{}");
    free(longkey);
    kvkit_error_clear(&err);
    char *v;
    size_t n;
    ck_assert_int_eq(kvkit_store_get(s, "", "k", &v, &n, &err), KVKIT_INVALID);
    ck_assert_str_eq(err.text, "empty bucket: a bucket is 1 to 255 bytes");
    kvkit_error_clear(&err);
    ck_assert_int_eq(kvkit_store_get(s, b, "bad\xff", &v, &n, &err), KVKIT_INVALID);
    ck_assert_ptr_nonnull(strstr(err.text, "is not valid UTF-8"));
    kvkit_error_clear(&err);
    ck_assert_int_eq(kvkit_store_delete(s, b, "", &err), KVKIT_INVALID);
    kvkit_store_close(s);
}
END_TEST

TCase *conformance_store_cases(void)
{
    TCase *tc = tcase_create("store");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_save_get_delete);
    tcase_add_test(tc, test_save_empty_value);
    tcase_add_test(tc, test_bucket_isolation);
    tcase_add_test(tc, test_large_value);
    tcase_add_test(tc, test_awkward_keys);
    tcase_add_test(tc, test_bad_keys_refused);
    return tc;
}
