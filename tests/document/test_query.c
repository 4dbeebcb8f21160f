/*
 * test_query.c - queries on the memory backend: exact and range lookups
 * on string, number, list, enum, datetime and reference fields; numbers as
 * integers or reals; $key and $bucket; NOT_INDEXED; listings with key
 * ranges; iterator and callback forms; streaming past a page.
 */
#include "helpers.h"

#include <stdlib.h>

static kvkit_store_t *store;
static kvkit_schema_t *user, *post;

/* Posts p0..p9: score i (integer; p5 has 5.5), title "t<i>", tags
 * ["all", "even"|"odd"], status by i % 3, author u<i % 2>. */
static void setup(void)
{
    kvkit_error_t err = {0};
    static const char *const status[] = {"draft", "published", "archived"};
    store = mem_store();
    ck_assert_int_eq(kvkit_schema_create("User", NULL, store, &user, &err), 0);
    ck_assert_int_eq(kvkit_schema_create("Post", NULL, store, &post, &err), 0);
    ck_assert_int_eq(
        kvkit_schema_add(post, "title", KVKIT_PROP_STRING, KVKIT_PROP_INDEX, NULL, &err), 0);
    ck_assert_int_eq(
        kvkit_schema_add(post, "score", KVKIT_PROP_NUMBER, KVKIT_PROP_INDEX, NULL, &err), 0);
    ck_assert_int_eq(kvkit_schema_add(post, "tags", KVKIT_PROP_LIST, KVKIT_PROP_INDEX, NULL, &err),
                     0);
    ck_assert_int_eq(kvkit_schema_add_enum(post, "status", status, 3, KVKIT_PROP_INDEX, NULL, &err),
                     0);
    ck_assert_int_eq(kvkit_schema_add_ref(post, "author", user,
                                          KVKIT_PROP_INDEX | KVKIT_PROP_LOAD_ON_DEMAND, NULL, &err),
                     0);
    ck_assert_int_eq(kvkit_schema_add(post, "body", KVKIT_PROP_STRING, 0, NULL, &err), 0);
    for (int i = 0; i < 10; i++) {
        kvkit_doc_t *d;
        char key[16], title[16], author[16];
        snprintf(key, sizeof key, "p%d", i);
        snprintf(title, sizeof title, "t%d", i);
        snprintf(author, sizeof author, "u%d", i % 2);
        ck_assert_int_eq(kvkit_doc_new(post, key, &d, &err), 0);
        ck_assert_int_eq(kvkit_doc_attr_set_string(d, "title", title, &err), 0);
        if (i == 5)
            ck_assert_int_eq(kvkit_doc_attr_set_real(d, "score", 5.5, &err), 0);
        else
            ck_assert_int_eq(kvkit_doc_attr_set_integer(d, "score", i, &err), 0);
        ck_assert_int_eq(kvkit_doc_attr_set_new(
                             d, "tags", json_pack("[ss]", "all", i % 2 ? "odd" : "even"), &err),
                         0);
        ck_assert_int_eq(kvkit_doc_attr_set_string(d, "status", status[i % 3], &err), 0);
        ck_assert_int_eq(kvkit_doc_attr_set_string(d, "author", author, &err), 0);
        ck_assert_msg(kvkit_doc_save(d, &err) == 0, "%s", err.text);
        kvkit_doc_destroy(d);
    }
}

static void teardown(void)
{
    kvkit_schema_destroy(post);
    kvkit_schema_destroy(user);
    kvkit_store_close(store);
}

/* Keys of a query joined by commas (sorted by the backend's order). */
static char joined[1024];

static int collect_key(void *ctx, const char *key, size_t len)
{
    size_t n = strlen(joined);
    snprintf(joined + n, sizeof joined - n, "%s%.*s", n ? "," : "", (int)len, key);
    return 0;
}

static const char *keys_of(const char *field, json_t *lo, json_t *hi)
{
    kvkit_error_t err = {0};
    joined[0] = '\0';
    int rc = kvkit_query_index_keys(post, field, lo, hi, collect_key, NULL, &err);
    ck_assert_msg(rc == KVKIT_OK, "%s", err.text);
    json_decref(lo);
    json_decref(hi);
    return joined;
}

/* The same query through the document iterator, checking each document. */
static const char *docs_of(const char *field, json_t *lo, json_t *hi)
{
    kvkit_error_t err = {0};
    kvkit_query_t *q;
    joined[0] = '\0';
    ck_assert_msg(kvkit_query_index(post, field, lo, hi, 0, &q, &err) == 0, "%s", err.text);
    for (; kvkit_query_valid(q); kvkit_query_next(q)) {
        kvkit_doc_t *d = kvkit_query_doc(q);
        ck_assert_ptr_nonnull(d);
        ck_assert_str_eq(kvkit_doc_key(d), kvkit_query_key(q));
        collect_key(NULL, kvkit_doc_key(d), strlen(kvkit_doc_key(d)));
    }
    ck_assert_int_eq(kvkit_query_status(q, &err), KVKIT_OK);
    kvkit_query_destroy(q);
    json_decref(lo);
    json_decref(hi);
    return joined;
}

START_TEST(test_query_index_string_exact_and_range)
{
    ck_assert_str_eq(keys_of("title", json_string("t3"), NULL), "p3");
    ck_assert_str_eq(keys_of("title", json_string("t2"), json_string("t4")), "p2,p3,p4");
    ck_assert_str_eq(docs_of("title", json_string("t2"), json_string("t4")), "p2,p3,p4");
    ck_assert_str_eq(keys_of("title", json_string("zz"), NULL), "");
    ck_assert_str_eq(keys_of("title", json_string("t4"), json_string("t2")), ""); /* lo > hi */
}
END_TEST

START_TEST(test_query_index_numbers_int_or_real)
{
    ck_assert_str_eq(keys_of("score", json_integer(3), NULL), "p3");
    ck_assert_str_eq(keys_of("score", json_real(3.0), NULL), "p3");
    ck_assert_str_eq(keys_of("score", json_real(5.5), NULL), "p5");
    ck_assert_str_eq(keys_of("score", json_integer(4), json_integer(6)), "p4,p5,p6");
    ck_assert_str_eq(keys_of("score", json_real(4.5), json_real(6.0)), "p5,p6");
    ck_assert_str_eq(docs_of("score", json_real(4.5), json_integer(6)), "p5,p6");
}
END_TEST

START_TEST(test_query_index_list_enum_reference)
{
    ck_assert_str_eq(keys_of("tags", json_string("odd"), NULL), "p1,p3,p5,p7,p9");
    ck_assert_str_eq(keys_of("tags", json_string("all"), NULL),
                     "p0,p1,p2,p3,p4,p5,p6,p7,p8,p9"); /* each key once */
    ck_assert_str_eq(keys_of("status", json_string("archived"), NULL), "p2,p5,p8");
    /* enum ranges follow the declared order: draft < published < archived */
    ck_assert_str_eq(keys_of("status", json_string("published"), json_string("archived")),
                     "p1,p4,p7,p2,p5,p8"); /* by (value, key) */
    ck_assert_str_eq(docs_of("author", json_string("u1"), NULL), "p1,p3,p5,p7,p9");
    kvkit_query_t *q;
    json_t *gone = json_string("gone");
    FAILS(KVKIT_INVALID, "query on \"status\": not one of the enum values",
          kvkit_query_index(post, "status", gone, NULL, 0, &q, &err));
    json_decref(gone);
}
END_TEST

START_TEST(test_query_index_pseudo_fields)
{
    ck_assert_str_eq(keys_of("$key", json_string("p3"), json_string("p5")), "p3,p4,p5");
    ck_assert_str_eq(keys_of("$bucket", NULL, NULL), "p0,p1,p2,p3,p4,p5,p6,p7,p8,p9");
    ck_assert_str_eq(docs_of("$key", json_string("p8"), json_string("p9~")), "p8,p9");
    kvkit_query_t *q;
    json_t *one = json_integer(1);
    FAILS(KVKIT_INVALID, "\"$key\" bounds must be strings",
          kvkit_query_index(post, "$key", one, NULL, 0, &q, &err));
    json_decref(one);
}
END_TEST

START_TEST(test_query_index_not_indexed)
{
    kvkit_query_t *q = (kvkit_query_t *)1;
    json_t *v = json_string("x");
    FAILS(KVKIT_NOT_INDEXED, "Post: field \"body\" is not indexed",
          kvkit_query_index(post, "body", v, NULL, 0, &q, &err));
    ck_assert_ptr_null(q);
    FAILS(KVKIT_NOT_INDEXED, "field \"nope\" is not indexed (no such property)",
          kvkit_query_index_keys(post, "nope", v, NULL, collect_key, NULL, &err));
    kvkit_error_t e = {0};
    ck_assert_int_eq(kvkit_query_index_docs(post, "body", v, NULL, NULL, NULL, &e), KVKIT_INVALID);
    json_decref(v);
}
END_TEST

START_TEST(test_query_index_keys_only_flag)
{
    kvkit_query_t *q;
    json_t *v = json_string("even");
    OK(kvkit_query_index(post, "tags", v, NULL, KVKIT_QUERY_KEYS, &q, &err));
    json_decref(v); /* bounds are borrowed for the call only */
    int n = 0;
    for (; kvkit_query_valid(q); kvkit_query_next(q), n++) {
        ck_assert_ptr_null(kvkit_query_doc(q));
        ck_assert_ptr_nonnull(kvkit_query_key(q));
    }
    ck_assert_int_eq(n, 5);
    OK(kvkit_query_status(q, &err));
    kvkit_query_destroy(q);
}
END_TEST

static int count_and_stop(void *ctx, kvkit_doc_t *d)
{
    int *n = ctx;
    const char *t;
    ck_assert_int_eq(kvkit_doc_attr_get_string(d, "title", &t, NULL), 0);
    return ++*n == 3;
}

START_TEST(test_query_all_docs_and_keys)
{
    int n = 0;
    OK(kvkit_query_all_docs(post, NULL, NULL, count_and_stop, &n, &err));
    ck_assert_int_eq(n, 3); /* stopped early, still OK */
    joined[0] = '\0';
    OK(kvkit_query_all_keys(post, "p2", "p4", collect_key, NULL, &err));
    ck_assert_str_eq(joined, "p2,p3,p4");
    joined[0] = '\0';
    OK(kvkit_query_all_keys(post, "p8", NULL, collect_key, NULL, &err));
    ck_assert_str_eq(joined, "p8,p9");
    kvkit_query_t *q;
    OK(kvkit_query_all(post, NULL, "p1", 0, &q, &err));
    kvkit_doc_t *taken = kvkit_query_take_doc(q);
    ck_assert_str_eq(kvkit_doc_key(taken), "p0");
    kvkit_query_next(q);
    ck_assert_str_eq(kvkit_query_key(q), "p1");
    kvkit_query_next(q);
    ck_assert_int_eq(kvkit_query_valid(q), 0);
    OK(kvkit_query_status(q, &err));
    kvkit_query_destroy(q);
    ck_assert_str_eq(kvkit_doc_key(taken), "p0"); /* survives the query */
    kvkit_doc_destroy(taken);
    n = 0;
    json_t *v = json_string("odd");
    OK(kvkit_query_index_docs(post, "tags", v, NULL, count_and_stop, &n, &err));
    json_decref(v);
    ck_assert_int_eq(n, 3);
}
END_TEST

START_TEST(test_query_corrupt_document_ends_iteration)
{
    OK(kvkit_store_save(store, "Post", "p4", "garbage", 7, NULL, &err));
    kvkit_query_t *q;
    OK(kvkit_query_all(post, NULL, NULL, 0, &q, &err));
    int n = 0;
    for (; kvkit_query_valid(q); kvkit_query_next(q)) {
        if (kvkit_query_doc(q) == NULL)
            break;
        n++;
    }
    ck_assert_int_eq(n, 4);
    ck_assert_int_eq(kvkit_query_valid(q), 0);
    FAILS(KVKIT_CORRUPT, "bucket \"Post\" key \"p4\": stored data is not a JSON object",
          kvkit_query_status(q, &err));
    kvkit_query_destroy(q);
}
END_TEST

START_TEST(test_query_index_streams_past_a_page)
{
    /* more results than one page of the store's iterator */
    kvkit_schema_t *big;
    OK(kvkit_schema_create("Big", NULL, store, &big, &err));
    OK(kvkit_schema_add(big, "n", KVKIT_PROP_INTEGER, KVKIT_PROP_INDEX, NULL, &err));
    char key[16];
    for (int i = 0; i < 1000; i++) {
        kvkit_doc_t *d;
        snprintf(key, sizeof key, "k%04d", i);
        OK(kvkit_doc_new(big, key, &d, &err));
        OK(kvkit_doc_attr_set_integer(d, "n", i % 7, &err));
        OK(kvkit_doc_save(d, &err));
        kvkit_doc_destroy(d);
    }
    kvkit_query_t *q;
    json_t *lo = json_integer(0), *hi = json_real(6.0);
    OK(kvkit_query_index(big, "n", lo, hi, 0, &q, &err));
    int n = 0;
    int64_t sum = 0, v;
    for (; kvkit_query_valid(q); kvkit_query_next(q), n++) {
        OK(kvkit_doc_attr_get_integer(kvkit_query_doc(q), "n", &v, &err));
        sum += v;
    }
    OK(kvkit_query_status(q, &err));
    kvkit_query_destroy(q);
    ck_assert_int_eq(n, 1000);
    ck_assert_int_eq(sum, 2997); /* sum of i % 7 for i < 1000 */
    json_decref(lo);
    json_decref(hi);
    kvkit_schema_destroy(big);
}
END_TEST

START_TEST(test_query_index_after_update_no_stale)
{
    kvkit_doc_t *d;
    OK(kvkit_doc_get(post, "p3", &d, &err));
    OK(kvkit_doc_attr_set_string(d, "title", "renamed", &err));
    OK(kvkit_doc_save(d, &err));
    kvkit_doc_destroy(d);
    ck_assert_str_eq(keys_of("title", json_string("t3"), NULL), "");
    ck_assert_str_eq(keys_of("title", json_string("renamed"), NULL), "p3");
    OK(kvkit_doc_delete_key(post, "p3", &err));
    ck_assert_str_eq(keys_of("title", json_string("renamed"), NULL), "");
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("query");
    TCase *tc = tcase_create("query");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_query_index_string_exact_and_range);
    tcase_add_test(tc, test_query_index_numbers_int_or_real);
    tcase_add_test(tc, test_query_index_list_enum_reference);
    tcase_add_test(tc, test_query_index_pseudo_fields);
    tcase_add_test(tc, test_query_index_not_indexed);
    tcase_add_test(tc, test_query_index_keys_only_flag);
    tcase_add_test(tc, test_query_all_docs_and_keys);
    tcase_add_test(tc, test_query_corrupt_document_ends_iteration);
    tcase_add_test(tc, test_query_index_streams_past_a_page);
    tcase_add_test(tc, test_query_index_after_update_no_stale);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
