/*
 * test_qexec.c - kvkit_query_exec and kvkit_query_explain on the memory
 * backend: the plan chosen for each shape of query (EXPLAIN text), the
 * zigzag join seeking past full pages with keys that end in 0x01, limit 0,
 * paging, cursors refused for another query or bucket, malformed cursors,
 * unbounded sorts, one query run again, re-declared and from two threads
 * (its plan is kept between runs), and argument errors.
 */
#include <check.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <kvkit/query.h>

static kvkit_store_t *store;

static void put(const char *key, const char *json, const char *const *indexed, size_t n)
{
    kvkit_error_t err = {0};
    json_t *doc = json_loads(json, 0, NULL);
    kvkit_index_set_t *set = kvkit_index_set_create();
    for (size_t i = 0; i < n; i++) {
        json_t *v = json_object_get(doc, indexed[i]);
        if (v != NULL)
            ck_assert_int_eq(kvkit_index_set_add(set, indexed[i], v, &err), KVKIT_OK);
    }
    ck_assert_int_eq(kvkit_store_save(store, "b", key, json, strlen(json), set, &err), KVKIT_OK);
    kvkit_index_set_destroy(set);
    json_decref(doc);
}

static void setup(void)
{
    kvkit_error_t err = {0};
    static const char *const ab[] = {"a", "b"};
    store = kvkit_store_open("memory:", &err);
    ck_assert_msg(store != NULL, "%s", err.text);
    /* 400 keys with a = 1 (three index pages and more), every 37th with
     * b = 2; keys ending in 0x01 and 0x02 make the seeks below exact */
    for (int i = 0; i < 400; i++) {
        char key[16], json[64];
        snprintf(key, sizeof key, "k%03d%s", i, i % 3 == 0 ? "\x01" : i % 3 == 1 ? "\x02" : "");
        snprintf(json, sizeof json, "{\"a\":1,\"b\":%d,\"c\":%d}", i % 37 == 0 ? 2 : 3, i);
        put(key, json, ab, 2);
    }
}

static void teardown(void)
{
    kvkit_store_close(store);
}

static kvkit_qexpr_t *parse(const char *text)
{
    kvkit_error_t err = {0};
    kvkit_qexpr_t *q = NULL;
    ck_assert_msg(kvkit_query_parse(text, &q, &err) == KVKIT_OK, "%s: %s", text, err.text);
    return q;
}

typedef struct got {
    int n;
    char last[32];
} got_t;

static int count_fn(void *ctx, const char *key, size_t key_len, const char *value,
                    size_t value_len)
{
    got_t *g = ctx;
    (void)value;
    (void)value_len;
    g->n++;
    snprintf(g->last, sizeof g->last, "%.*s", (int)key_len, key);
    return 0;
}

static int run(const char *text, size_t page, const char *cursor, char **next, got_t *g,
               kvkit_error_t *err)
{
    kvkit_qexpr_t *q = parse(text);
    static const char *const ab[] = {"a", "b"};
    ck_assert_int_eq(kvkit_query_set_indexed(q, ab, 2, NULL), KVKIT_OK);
    memset(g, 0, sizeof *g);
    int rc = kvkit_query_exec(store, "b", q, 0, page, cursor, next, count_fn, g, err);
    kvkit_query_free(q);
    return rc;
}

static char *explain(const char *text, int indexed_ab)
{
    kvkit_error_t err = {0};
    kvkit_qexpr_t *q = parse(text);
    static const char *const ab[] = {"a", "b"};
    if (indexed_ab)
        ck_assert_int_eq(kvkit_query_set_indexed(q, ab, 2, NULL), KVKIT_OK);
    char *plan = NULL;
    ck_assert_msg(kvkit_query_explain(q, &plan, &err) == KVKIT_OK, "%s", err.text);
    kvkit_query_free(q);
    return plan;
}

START_TEST(test_kvkit_query_exec_zigzag_across_pages)
{
    kvkit_error_t err = {0};
    got_t g;
    ck_assert_int_eq(run("a = 1 and b = 2", 0, NULL, NULL, &g, &err), KVKIT_OK);
    ck_assert_int_eq(g.n, 11); /* i = 0, 37, ..., 370 */
    ck_assert_str_eq(g.last, "k370\x02");
    ck_assert_int_eq(run("b = 2 and a = 1 and $key >= \"k100\"", 0, NULL, NULL, &g, &err), KVKIT_OK);
    ck_assert_int_eq(g.n, 8);
    ck_assert_int_eq(run("a in (1, 5) and not b = 3", 0, NULL, NULL, &g, &err), KVKIT_OK);
    ck_assert_int_eq(g.n, 11);
}
END_TEST

START_TEST(test_kvkit_query_exec_limit_and_pages)
{
    kvkit_error_t err = {0};
    got_t g;
    char *next = NULL;
    ck_assert_int_eq(run("a = 1 limit 0", 0, NULL, &next, &g, &err), KVKIT_OK);
    ck_assert_int_eq(g.n, 0);
    ck_assert_ptr_null(next);
    ck_assert_int_eq(run("a = 1 order by c desc limit 5", 0, NULL, NULL, &g, &err), KVKIT_OK);
    ck_assert_int_eq(g.n, 5);
    ck_assert_str_eq(g.last, "k395");
    /* 250 of the 400 by pages of 100: the third page stops at the limit */
    int total = 0, pages = 0;
    do {
        char *cursor = next;
        next = NULL;
        ck_assert_int_eq(run("c >= 0 limit 250", 100, cursor, &next, &g, &err), KVKIT_OK);
        free(cursor);
        total += g.n;
        pages++;
    } while (next != NULL && pages < 10);
    ck_assert_int_eq(total, 250);
    ck_assert_int_eq(pages, 3);
}
END_TEST

START_TEST(test_kvkit_query_exec_cursor_refused)
{
    kvkit_error_t err = {0};
    got_t g;
    char *next = NULL;
    ck_assert_int_eq(run("a = 1", 10, NULL, &next, &g, &err), KVKIT_OK);
    ck_assert_ptr_nonnull(next);
    ck_assert_int_eq(run("a = 1 and b = 3", 10, next, NULL, &g, &err), KVKIT_INVALID);
    ck_assert_str_eq(err.text, "query: the cursor belongs to another query or bucket");
    kvkit_error_clear(&err);
    kvkit_qexpr_t *q = parse("a = 1");
    static const char *const ab[] = {"a", "b"};
    ck_assert_int_eq(kvkit_query_set_indexed(q, ab, 2, NULL), KVKIT_OK);
    ck_assert_int_eq(kvkit_query_exec(store, "other", q, 0, 0, next, NULL, count_fn, &g, &err),
                     KVKIT_INVALID);
    ck_assert_str_eq(err.text, "query: the cursor belongs to another query or bucket");
    kvkit_error_clear(&err);
    ck_assert_int_eq(kvkit_query_exec(store, "b", q, 0, 0, "kq1.zz", NULL, count_fn, &g, &err),
                     KVKIT_INVALID);
    ck_assert_str_eq(err.text, "query: malformed cursor \"kq1.zz\"");
    kvkit_query_free(q);
    free(next);
}
END_TEST

START_TEST(test_kvkit_query_exec_unbounded_sort)
{
    kvkit_error_t err = {0};
    got_t g;
    ck_assert_int_eq(run("a = 1 order by c", 0, NULL, NULL, &g, &err), KVKIT_INVALID);
    ck_assert_str_eq(err.text, "query: \"order by c\" needs a sort of every result: add \"limit N\" "
                               "(the field has no index to read in order)");
    kvkit_error_clear(&err);
    ck_assert_int_eq(run("a = 1 order by a desc", 0, NULL, NULL, &g, &err), KVKIT_INVALID);
    ck_assert_str_eq(err.text, "query: \"order by a desc\" needs a sort of every result: add "
                               "\"limit N\" (no index scan gives descending order)");
    ck_assert_int_eq(run("b = 2 order by a", 0, NULL, NULL, &g, &err), KVKIT_OK);
    ck_assert_int_eq(g.n, 11);
}
END_TEST

START_TEST(test_kvkit_query_explain_plans)
{
    char *p = explain("a = 1 and b = 2", 1);
    ck_assert_str_eq(p, "query: (a = 1 and b = 2)\n"
                        "order: as the phases produce them (no order by)\n"
                        "phase 1: zigzag join in key order of (index \"a\" = 1; index \"b\" = 2)\n"
                        "  check on the document: nothing (the index answers exactly)\n");
    free(p);
    p = explain("a < 5 or c = 1", 1);
    ck_assert_str_eq(p, "query: (a < 5 or c = 1)\n"
                        "order: as the phases produce them (no order by)\n"
                        "phase 1: every key of the bucket, in key order\n"
                        "  check on the document: (a < 5 or c = 1)\n");
    free(p);
    p = explain("a starts with \"x\" or b in (1, 2)", 1);
    ck_assert_str_eq(p, "query: (a starts with \"x\" or b in (1, 2))\n"
                        "order: as the phases produce them (no order by)\n"
                        "phase 1: index scan of \"a\" from \"x\" to past strings starting \"x\"\n"
                        "  check on the document: nothing (the index answers exactly)\n"
                        "phase 2: merge in key order, duplicates dropped, of (index \"b\" = 1; "
                        "index \"b\" = 2)\n"
                        "  check on the document: nothing (the index answers exactly)\n"
                        "  skip (an earlier phase had it): a starts with \"x\"\n");
    free(p);
    p = explain("c = 1 order by a limit 3", 1);
    ck_assert_str_eq(p, "query: c = 1 order by a asc limit 3\n"
                        "order: the index on \"a\" as read: numbers, then strings, then the "
                        "documents without \"a\" by key\n"
                        "limit: stops after 3 results\n"
                        "phase 1: index scan of \"a\" from the smallest number to the largest number\n"
                        "  check on the document: c = 1\n"
                        "phase 2: index scan of \"a\" from \"\" to past the last string\n"
                        "  check on the document: c = 1\n"
                        "  skip (an earlier phase had it): a has a number\n"
                        "phase 3: every key of the bucket, in key order\n"
                        "  check on the document: c = 1\n"
                        "  skip (an earlier phase had it): a has a value\n");
    free(p);
}
END_TEST

START_TEST(test_kvkit_query_exec_arguments)
{
    kvkit_error_t err = {0};
    got_t g;
    kvkit_qexpr_t *q = parse("a = 1");
    char *next = (char *)"x";
    ck_assert_int_eq(kvkit_query_exec(NULL, "b", q, 0, 0, NULL, &next, count_fn, &g, &err),
                     KVKIT_INVALID);
    ck_assert_ptr_null(next);
    ck_assert_str_eq(err.text, "store is NULL");
    kvkit_error_clear(&err);
    ck_assert_int_eq(kvkit_query_exec(store, "b", q, 0, 0, NULL, NULL, NULL, &g, &err),
                     KVKIT_INVALID);
    ck_assert_str_eq(err.text, "query: the query or the callback is NULL");
    kvkit_error_clear(&err);
    ck_assert_int_eq(kvkit_query_exec(store, "", q, 0, 0, NULL, NULL, count_fn, &g, &err),
                     KVKIT_INVALID);
    kvkit_error_clear(&err);
    ck_assert_int_eq(kvkit_query_set_indexed(q, NULL, 1, &err), KVKIT_INVALID);
    ck_assert_str_eq(err.text, "query or field list is NULL");
    kvkit_query_free(q);
}
END_TEST

typedef struct reruns {
    kvkit_qexpr_t *q;
    int n[50];
} reruns_t;

static void *rerun_thread(void *arg)
{
    reruns_t *t = arg;
    for (int i = 0; i < 50; i++) {
        got_t g = {0};
        kvkit_error_t err = {0};
        int rc = kvkit_query_exec(store, "b", t->q, 0, 0, NULL, NULL, count_fn, &g, &err);
        t->n[i] = rc == KVKIT_OK ? g.n : -1;
    }
    return NULL;
}

/* c has no index entries: taken as indexed, "c = 5" reads c's empty index;
 * declared unindexed, it is checked on the documents (k005).  A plan kept
 * from the first runs must not outlive the declaration. */
START_TEST(test_kvkit_query_exec_reruns)
{
    kvkit_qexpr_t *q = parse("a = 1 and b = 2 or c = 5");
    kvkit_error_t err = {0};
    for (int i = 0; i < 3; i++) {
        got_t g = {0};
        ck_assert_int_eq(kvkit_query_exec(store, "b", q, 0, 0, NULL, NULL, count_fn, &g, &err),
                         KVKIT_OK);
        ck_assert_int_eq(g.n, 11); /* i % 37 == 0 */
    }
    static const char *const ab[] = {"a", "b"};
    ck_assert_int_eq(kvkit_query_set_indexed(q, ab, 2, &err), KVKIT_OK);
    reruns_t t[2] = {{q, {0}}, {q, {0}}};
    pthread_t th[2];
    for (int i = 0; i < 2; i++)
        ck_assert_int_eq(pthread_create(&th[i], NULL, rerun_thread, &t[i]), 0);
    for (int i = 0; i < 2; i++)
        ck_assert_int_eq(pthread_join(th[i], NULL), 0);
    for (int i = 0; i < 2; i++)
        for (int j = 0; j < 50; j++)
            ck_assert_msg(t[i].n[j] == 12, "thread %d, run %d: %d keys", i, j, t[i].n[j]);
    kvkit_query_free(q);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("query_exec");
    TCase *tc = tcase_create("exec");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_kvkit_query_exec_zigzag_across_pages);
    tcase_add_test(tc, test_kvkit_query_exec_limit_and_pages);
    tcase_add_test(tc, test_kvkit_query_exec_cursor_refused);
    tcase_add_test(tc, test_kvkit_query_exec_unbounded_sort);
    tcase_add_test(tc, test_kvkit_query_explain_plans);
    tcase_add_test(tc, test_kvkit_query_exec_arguments);
    tcase_add_test(tc, test_kvkit_query_exec_reruns);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
