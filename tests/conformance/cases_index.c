/* cases_index.c - index queries, key listings and pseudo-fields */
#include "conformance.h"

/*** indexes ***/

START_TEST(test_index_exact_strings)
{
    kvkit_store_t *s = open_store();
    const char *b = bucket("exs");
    save(s, b, "a", "{}", "name", "\"alice\"", NULL);
    save(s, b, "b", "{}", "name", "\"bob\"", NULL);
    save(s, b, "c", "{}", "name", "\"alice\"", NULL);
    save(s, b, "d", "{}", "name", "\"alic\"", NULL);     /* prefix of alice */
    save(s, b, "e", "{}", "name", "\"alice \"", NULL);   /* alice + space */
    save(s, b, "f", "{}", "name", "\"\"", NULL);         /* empty string */
    save(s, b, "g", "{}", "name", "\"al\\u0000x\"", NULL); /* embedded NUL */
    EXPECT_QUERY(s, b, "name", "\"alice\"", NULL, "a,c");
    EXPECT_QUERY(s, b, "name", "\"alic\"", NULL, "d");
    EXPECT_QUERY(s, b, "name", "\"\"", NULL, "f");
    EXPECT_QUERY(s, b, "name", "\"al\\u0000x\"", NULL, "g");
    EXPECT_QUERY(s, b, "name", "\"al\"", NULL, "");
    EXPECT_QUERY(s, b, "other", "\"alice\"", NULL, "");
    kvkit_store_close(s);
}
END_TEST

START_TEST(test_index_range_strings)
{
    kvkit_store_t *s = open_store();
    const char *b = bucket("rgs");
    save(s, b, "1", "{}", "w", "\"apple\"", NULL);
    save(s, b, "2", "{}", "w", "\"banana\"", NULL);
    save(s, b, "3", "{}", "w", "\"cherry\"", NULL);
    save(s, b, "4", "{}", "w", "\"b\"", NULL);
    save(s, b, "5", "{}", "w", "\"\xc3\xa9t\xc3\xa9\"", NULL); /* é sorts after ASCII bytewise */
    save(s, b, "6", "{}", "w", "5", NULL);                       /* a number: never in a string range */
    EXPECT_QUERY(s, b, "w", "\"b\"", "\"banana\"", "2,4"); /* inclusive both ends */
    EXPECT_QUERY(s, b, "w", "\"a\"", "\"c\"", "1,2,4");
    EXPECT_QUERY(s, b, "w", "\"\"", "\"\xf4\x8f\xbf\xbf\"", "1,2,3,4,5");
    EXPECT_QUERY(s, b, "w", "\"z\"", "\"\xc3\xbf\"", "5");
    EXPECT_QUERY(s, b, "w", "\"c\"", "\"a\"", ""); /* lo > hi */
    kvkit_store_close(s);
}
END_TEST

START_TEST(test_index_numbers)
{
    kvkit_store_t *s = open_store();
    const char *b = bucket("num");
    save(s, b, "neg", "{}", "n", "-10", NULL);
    save(s, b, "zero", "{}", "n", "0", NULL);
    save(s, b, "negzero", "{}", "n", "-0.0", NULL);
    save(s, b, "half", "{}", "n", "0.5", NULL);
    save(s, b, "one", "{}", "n", "1", NULL);
    save(s, b, "onef", "{}", "n", "1.0", NULL);
    save(s, b, "big", "{}", "n", "9007199254740993", NULL); /* 2^53 + 1: not a double */
    save(s, b, "bigm", "{}", "n", "9007199254740992", NULL);
    save(s, b, "max", "{}", "n", "9223372036854775807", NULL);
    save(s, b, "min", "{}", "n", "-9223372036854775808", NULL);
    save(s, b, "str", "{}", "n", "\"1\"", NULL); /* a string: never in a numeric range */
    /* integers and reals in one numeric order */
    EXPECT_QUERY(s, b, "n", "1", NULL, "one,onef");
    EXPECT_QUERY(s, b, "n", "1.0", NULL, "one,onef");
    EXPECT_QUERY(s, b, "n", "0", NULL, "negzero,zero");
    EXPECT_QUERY(s, b, "n", "-1", "0.5", "half,negzero,zero");
    EXPECT_QUERY(s, b, "n", "0.25", "0.75", "half");
    EXPECT_QUERY(s, b, "n", "-100.5", "-9.99", "neg");
    EXPECT_QUERY(s, b, "n", "9007199254740993", NULL, "big");
    EXPECT_QUERY(s, b, "n", "9007199254740992.0", NULL, "bigm");
    EXPECT_QUERY(s, b, "n", "9007199254740993", "9223372036854775807", "big,max");
    EXPECT_QUERY(s, b, "n", "-9223372036854775808", "-10", "min,neg");
    EXPECT_QUERY(s, b, "n", "-1e300", "1e300", "big,bigm,half,max,min,neg,negzero,one,onef,zero");
    EXPECT_QUERY(s, b, "n", "\"0\"", "\"9\"", "str");
    kvkit_store_close(s);
}
END_TEST

START_TEST(test_index_lists)
{
    kvkit_store_t *s = open_store();
    const char *b = bucket("lst");
    save(s, b, "p1", "{}", "tags", "[\"c\", \"a\", 3, 1.5, \"a\"]", NULL);
    save(s, b, "p2", "{}", "tags", "[\"b\", 2]", NULL);
    save(s, b, "p3", "{}", "tags", "[]", NULL);
    save(s, b, "p4", "{}", "tags", "[\"a\", \"b\", \"c\", \"d\"]", NULL);
    EXPECT_QUERY(s, b, "tags", "\"a\"", NULL, "p1,p4");
    EXPECT_QUERY(s, b, "tags", "3", NULL, "p1");
    EXPECT_QUERY(s, b, "tags", "1.5", NULL, "p1");
    /* each key once however many of its values match */
    keys_t *k = query(s, b, "tags", "\"a\"", "\"z\"");
    ck_assert_str_eq(k->text, "p1,p2,p4");
    ck_assert_uint_eq(k->n, 3);
    k = query(s, b, "tags", "\"b\"", "\"c\"");
    ck_assert_str_eq(k->text, "p1,p2,p4");
    k = query(s, b, "tags", "0", "100");
    ck_assert_str_eq(k->text, "p1,p2");
    ck_assert_uint_eq(k->n, 2);
    kvkit_store_close(s);
}
END_TEST

START_TEST(test_index_resave_replaces_entries)
{
    kvkit_store_t *s = open_store();
    const char *b = bucket("resave");
    save(s, b, "doc", "{\"v\":1}", "color", "\"red\"", "size", "1", NULL);
    /* two in-memory copies of the document, each saved in turn: only the
     * last save's entries may remain */
    save(s, b, "doc", "{\"v\":2}", "color", "\"green\"", "size", "2", NULL);
    save(s, b, "doc", "{\"v\":3}", "color", "\"blue\"", NULL);
    EXPECT_QUERY(s, b, "color", "\"red\"", NULL, "");
    EXPECT_QUERY(s, b, "color", "\"green\"", NULL, "");
    EXPECT_QUERY(s, b, "color", "\"blue\"", NULL, "doc");
    EXPECT_QUERY(s, b, "size", "0", "10", "");
    EXPECT_QUERY(s, b, "color", "\"a\"", "\"z\"", "doc");
    expect_doc(s, b, "doc", "{\"v\":3}");
    /* list shrinking and growing */
    save(s, b, "l", "{}", "t", "[1,2,3]", NULL);
    save(s, b, "l", "{}", "t", "[2]", NULL);
    EXPECT_QUERY(s, b, "t", "1", NULL, "");
    EXPECT_QUERY(s, b, "t", "3", NULL, "");
    EXPECT_QUERY(s, b, "t", "0", "5", "l");
    save(s, b, "l", "{}", "t", "[0,2,4]", NULL);
    keys_t *k = query(s, b, "t", "1", "5");
    ck_assert_str_eq(k->text, "l");
    ck_assert_uint_eq(k->n, 1);
    /* entries removed entirely */
    save(s, b, "l", "{}", NULL);
    EXPECT_QUERY(s, b, "t", "0", "5", "");
    kvkit_store_close(s);
}
END_TEST

START_TEST(test_index_delete_removes_entries)
{
    kvkit_store_t *s = open_store();
    const char *b = bucket("del");
    save(s, b, "x", "{}", "f", "\"v\"", "g", "[1,2]", NULL);
    save(s, b, "y", "{}", "f", "\"v\"", NULL);
    kvkit_error_t err = {0};
    ck_assert_int_eq(kvkit_store_delete(s, b, "x", &err), KVKIT_OK);
    EXPECT_QUERY(s, b, "f", "\"v\"", NULL, "y");
    EXPECT_QUERY(s, b, "g", "0", "9", "");
    /* re-created after delete: fresh entries only */
    save(s, b, "x", "{}", "g", "5", NULL);
    EXPECT_QUERY(s, b, "f", "\"v\"", NULL, "y");
    EXPECT_QUERY(s, b, "g", "0", "9", "x");
    kvkit_store_close(s);
}
END_TEST

START_TEST(test_index_bad_queries)
{
    kvkit_store_t *s = open_store();
    const char *b = bucket("badq");
    kvkit_error_t err = {0};
    keys_t k = {0};
    json_t *n = json_integer(1), *str = json_string("a"), *t = json_true();
    ck_assert_int_eq(kvkit_store_index_keys(s, b, "f", n, str, collect, &k, &err), KVKIT_INVALID);
    ck_assert_ptr_nonnull(strstr(err.text, "both be numbers or both be strings"));
    kvkit_error_clear(&err);
    ck_assert_int_eq(kvkit_store_index_keys(s, b, "f", t, NULL, collect, &k, &err), KVKIT_INVALID);
    ck_assert_ptr_nonnull(strstr(err.text, "must be a number or a string"));
    kvkit_error_clear(&err);
    ck_assert_int_eq(kvkit_store_index_keys(s, b, "$nope", n, NULL, collect, &k, &err),
                     KVKIT_INVALID);
    ck_assert_ptr_nonnull(strstr(err.text, "$key and $bucket"));
    kvkit_error_clear(&err);
    kvkit_index_set_t *set = kvkit_index_set_create();
    ck_assert_int_eq(kvkit_index_set_add(set, "f", t, &err), KVKIT_INVALID);
    ck_assert_str_eq(err.subject, "f");
    json_decref(n);
    json_decref(str);
    json_decref(t);
    kvkit_index_set_destroy(set);
    kvkit_store_close(s);
}
END_TEST

/*** key listings and pseudo-fields ***/

START_TEST(test_list_keys)
{
    kvkit_store_t *s = open_store();
    const char *b = bucket("ls");
    const char *keys[] = {"a", "b", "ba", "bb", "c", "d"};
    for (size_t i = 0; i < 6; i++)
        save(s, b, keys[i], "{}", NULL);
    kvkit_error_t err = {0};
    keys_t k = {0};
    ck_assert_int_eq(kvkit_store_list_keys(s, b, NULL, NULL, collect, &k, &err), KVKIT_OK);
    sort_keys(&k);
    ck_assert_str_eq(k.text, "a,b,ba,bb,c,d");
    memset(&k, 0, sizeof k);
    ck_assert_int_eq(kvkit_store_list_keys(s, b, "b", "bb", collect, &k, &err), KVKIT_OK);
    sort_keys(&k);
    ck_assert_str_eq(k.text, "b,ba,bb");
    memset(&k, 0, sizeof k);
    ck_assert_int_eq(kvkit_store_list_keys(s, b, "bz", NULL, collect, &k, &err), KVKIT_OK);
    sort_keys(&k);
    ck_assert_str_eq(k.text, "c,d");
    memset(&k, 0, sizeof k);
    ck_assert_int_eq(kvkit_store_list_keys(s, b, NULL, "b", collect, &k, &err), KVKIT_OK);
    sort_keys(&k);
    ck_assert_str_eq(k.text, "a,b");
    memset(&k, 0, sizeof k);
    ck_assert_int_eq(kvkit_store_list_keys(s, bucket("ls-empty"), NULL, NULL, collect, &k, &err),
                     KVKIT_OK);
    ck_assert_uint_eq(k.n, 0);
    kvkit_store_close(s);
}
END_TEST

START_TEST(test_pseudo_fields)
{
    kvkit_store_t *s = open_store();
    const char *b = bucket("pseudo");
    save(s, b, "k1", "{}", NULL);
    save(s, b, "k2", "{}", "f", "1", NULL);
    save(s, b, "k3", "{}", NULL);
    EXPECT_QUERY(s, b, "$key", "\"k1\"", "\"k2\"", "k1,k2");
    EXPECT_QUERY(s, b, "$key", "\"k3\"", NULL, "k3");
    EXPECT_QUERY(s, b, "$bucket", NULL, NULL, "k1,k2,k3");
    kvkit_error_t err = {0};
    keys_t k = {0};
    json_t *n = json_integer(1);
    ck_assert_int_eq(kvkit_store_index_keys(s, b, "$key", n, NULL, collect, &k, &err),
                     KVKIT_INVALID);
    ck_assert_ptr_nonnull(strstr(err.text, "\"$key\" bounds must be strings"));
    json_decref(n);
    kvkit_store_close(s);
}
END_TEST

TCase *conformance_index_cases(void)
{
    TCase *tc = tcase_create("index");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_index_exact_strings);
    tcase_add_test(tc, test_index_range_strings);
    tcase_add_test(tc, test_index_numbers);
    tcase_add_test(tc, test_index_lists);
    tcase_add_test(tc, test_index_resave_replaces_entries);
    tcase_add_test(tc, test_index_delete_removes_entries);
    tcase_add_test(tc, test_index_bad_queries);
    tcase_add_test(tc, test_list_keys);
    tcase_add_test(tc, test_pseudo_fields);
    return tc;
}
