/* test_client.c - the etcd client's parsing helpers: base64, lenient JSON
 * (int64 as strings, omitted fields), endpoint lists.  No server needed. */
#include "client.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

static const struct {
    const char *raw, *b64;
} vectors[] = {{"", ""},
               {"f", "Zg=="},
               {"fo", "Zm8="},
               {"foo", "Zm9v"},
               {"foob", "Zm9vYg=="},
               {"fooba", "Zm9vYmE="},
               {"foobar", "Zm9vYmFy"}};

START_TEST(test_ec_b64_vectors)
{
    for (size_t i = 0; i < sizeof vectors / sizeof vectors[0]; i++) {
        json_t *s = ec_b64(vectors[i].raw, strlen(vectors[i].raw));
        ck_assert_str_eq(json_string_value(s), vectors[i].b64);
        json_t *o = json_pack("{s:o}", "v", s);
        unsigned char *out;
        size_t n;
        ck_assert(ec_get_bytes(o, "v", &out, &n));
        ck_assert_uint_eq(n, strlen(vectors[i].raw));
        ck_assert_mem_eq(out, vectors[i].raw, n);
        free(out);
        json_decref(o);
    }
}
END_TEST

START_TEST(test_ec_b64_binary_roundtrip)
{
    unsigned char all[256];
    for (int i = 0; i < 256; i++)
        all[i] = (unsigned char)(255 - i);
    json_t *o = json_pack("{s:o}", "v", ec_b64(all, sizeof all));
    unsigned char *out;
    size_t n;
    ck_assert(ec_get_bytes(o, "v", &out, &n));
    ck_assert_uint_eq(n, 256);
    ck_assert_mem_eq(out, all, 256);
    free(out);
    json_decref(o);
}
END_TEST

START_TEST(test_ec_get_bytes_omitted_and_bad)
{
    json_t *o = json_pack("{s:s, s:i}", "bad", "a*b=", "num", 3);
    unsigned char *out = NULL;
    size_t n = 99;
    /* proto3 JSON omits an empty value: absent means empty */
    ck_assert(ec_get_bytes(o, "value", &out, &n));
    ck_assert_uint_eq(n, 0);
    ck_assert_str_eq((char *)out, "");
    free(out);
    ck_assert(!ec_get_bytes(o, "bad", &out, &n));
    ck_assert(!ec_get_bytes(o, "num", &out, &n));
    json_decref(o);
}
END_TEST

START_TEST(test_ec_get_int_lenient)
{
    json_t *o = json_loads("{\"s\":\"9007199254740993\",\"n\":42,\"neg\":\"-5\"}", 0, NULL);
    ck_assert_int_eq(ec_get_int(o, "s"), 9007199254740993LL); /* beyond a double's precision */
    ck_assert_int_eq(ec_get_int(o, "n"), 42);
    ck_assert_int_eq(ec_get_int(o, "neg"), -5);
    ck_assert_int_eq(ec_get_int(o, "count"), 0); /* omitted zero */
    ck_assert_int_eq(ec_get_int(NULL, "count"), 0);
    json_decref(o);
}
END_TEST

START_TEST(test_ec_get_bool_omitted)
{
    json_t *o = json_loads("{\"more\":true}", 0, NULL);
    ck_assert(ec_get_bool(o, "more"));
    ck_assert(!ec_get_bool(o, "succeeded")); /* a failed txn has no "succeeded" */
    json_decref(o);
}
END_TEST

START_TEST(test_ec_client_init_endpoints)
{
    ec_client_t c;
    kvkit_error_t err = {0};
    ck_assert_int_eq(ec_client_init(&c, "http://a:1/,https://b:2", &err), KVKIT_OK);
    ck_assert_uint_eq(c.n_endpoints, 2);
    ck_assert_str_eq(c.endpoints[0], "http://a:1");
    ck_assert_str_eq(c.endpoints[1], "https://b:2");
    ec_client_free(&c);
}
END_TEST

START_TEST(test_ec_client_init_errors)
{
    ec_client_t c;
    kvkit_error_t err = {0};
    ck_assert_int_eq(ec_client_init(&c, "", &err), KVKIT_INVALID);
    ck_assert_ptr_nonnull(strstr(err.text, "no endpoint given"));
    memset(&err, 0, sizeof err);
    ck_assert_int_eq(ec_client_init(&c, "http://a:1,ftp://b", &err), KVKIT_INVALID);
    ck_assert_str_eq(err.text, "endpoint \"ftp://b\" is not an http:// or https:// URL");
    memset(&err, 0, sizeof err);
    ck_assert_int_eq(ec_client_init(&c, "http://a:1,", &err), KVKIT_INVALID);
    ck_assert_str_eq(err.text, "endpoint \"\" is not an http:// or https:// URL");
}
END_TEST

int ec_test_map_grpc(int64_t code, const char *msg, const char *url, const char *subject,
                     kvkit_error_t *err); /* client_under_test.c */

/* A read at a compacted revision is a conflict (the pinned state is gone,
 * start over), not a backend failure; a future revision stays one. */
START_TEST(test_map_grpc_compacted_is_conflict)
{
    kvkit_error_t err = {0};
    ck_assert_int_eq(ec_test_map_grpc(11, "mvcc: required revision has been compacted",
                                      "http://a:1/r", "k", &err),
                     KVKIT_CONFLICT);
    ck_assert_str_eq(err.text, "\"k\": http://a:1/r: mvcc: required revision has been compacted "
                               "(gRPC code 11)");
    memset(&err, 0, sizeof err);
    ck_assert_int_eq(ec_test_map_grpc(11, "mvcc: required revision is a future revision",
                                      "http://a:1/r", "k", &err),
                     KVKIT_BACKEND);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("etcd-client");
    TCase *t = tcase_create("parse");
    tcase_add_test(t, test_ec_b64_vectors);
    tcase_add_test(t, test_ec_b64_binary_roundtrip);
    tcase_add_test(t, test_ec_get_bytes_omitted_and_bad);
    tcase_add_test(t, test_ec_get_int_lenient);
    tcase_add_test(t, test_ec_get_bool_omitted);
    tcase_add_test(t, test_ec_client_init_endpoints);
    tcase_add_test(t, test_ec_client_init_errors);
    tcase_add_test(t, test_map_grpc_compacted_is_conflict);
    suite_add_tcase(s, t);
    SRunner *r = srunner_create(s);
    srunner_run_all(r, CK_NORMAL);
    int failed = srunner_ntests_failed(r);
    srunner_free(r);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
