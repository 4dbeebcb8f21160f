/*
 * test_qiter.c - compound queries in iterator form, on memory and LevelDB:
 * kvkit_store_query_iter gives what kvkit_query_exec gives, page after
 * page; a loop that moves every document it visits forward in the order
 * meets each one once (every page reads the view the first one opened);
 * and kvkit_query_expr on a schema: enum values, properties without an
 * index checked on the documents, keys only, and the errors.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <kvkit/kvkit.h>
#include <kvkit/query.h>

#define N_DOCS 700 /* more than two of the iterator's pages */

static kvkit_store_t *store;
static char dir[64];

static const char *const indexed[] = {"a", "score", "tag"};

static void put(const char *key, int a, int score, const char *tag)
{
    kvkit_error_t err = {0};
    char json[128];
    snprintf(json, sizeof json, "{\"a\":%d,\"score\":%d,\"tag\":\"%s\",\"free\":%d}", a, score,
             tag, score % 7);
    json_t *doc = json_loads(json, 0, NULL);
    kvkit_index_set_t *set = kvkit_index_set_create();
    for (size_t i = 0; i < 3; i++)
        ck_assert_int_eq(kvkit_index_set_add(set, indexed[i], json_object_get(doc, indexed[i]), &err),
                         KVKIT_OK);
    ck_assert_msg(kvkit_store_save(store, "b", key, json, strlen(json), set, &err) == KVKIT_OK,
                  "%s", err.text);
    kvkit_index_set_destroy(set);
    json_decref(doc);
}

static void fill(void)
{
    for (int i = 0; i < N_DOCS; i++) {
        char key[16];
        snprintf(key, sizeof key, "k%04d", i);
        put(key, i % 3, (i * 37) % 1000, i % 5 == 0 ? "x" : "y");
    }
}

static void open_store(int leveldb)
{
    kvkit_error_t err = {0};
    char uri[96] = "memory:";
    if (leveldb) {
        snprintf(dir, sizeof dir, "/tmp/kvkit-qiter-XXXXXX");
        ck_assert_ptr_nonnull(mkdtemp(dir));
        snprintf(uri, sizeof uri, "leveldb:%s/db", dir);
    }
    store = kvkit_store_open(uri, &err);
    ck_assert_msg(store != NULL, "%s", err.text);
    fill();
}

static void close_store(int leveldb)
{
    kvkit_store_close(store);
    if (leveldb) {
        char cmd[128];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
        ck_assert_int_eq(system(cmd), 0);
    }
}

static kvkit_qexpr_t *parse(const char *text)
{
    kvkit_error_t err = {0};
    kvkit_qexpr_t *q = NULL;
    ck_assert_msg(kvkit_query_parse(text, &q, &err) == KVKIT_OK, "%s: %s", text, err.text);
    ck_assert_int_eq(kvkit_query_set_indexed(q, indexed, 3, &err), KVKIT_OK);
    return q;
}

/*** the store layer ***/

typedef struct seen {
    char (*keys)[16];
    char **values;
    size_t n;
} seen_t;

static int collect(void *ctx, const char *key, size_t key_len, const char *value, size_t value_len)
{
    seen_t *s = ctx;
    ck_assert_uint_lt(s->n, N_DOCS);
    snprintf(s->keys[s->n], sizeof s->keys[s->n], "%.*s", (int)key_len, key);
    s->values[s->n] = value ? strndup(value, value_len) : NULL;
    s->n++;
    return 0;
}

static void compare_forms(const char *text, int want_docs)
{
    kvkit_error_t err = {0};
    kvkit_qexpr_t *q = parse(text);
    seen_t s = {calloc(N_DOCS, 16), calloc(N_DOCS, sizeof(char *)), 0};
    ck_assert_msg(kvkit_query_exec(store, "b", q, want_docs, 0, NULL, NULL, collect, &s, &err) ==
                      KVKIT_OK, "%s: %s", text, err.text);
    kvkit_iter_t *it = kvkit_store_query_iter(store, "b", q, want_docs);
    size_t i = 0;
    for (; kvkit_iter_valid(it); kvkit_iter_next(it), i++) {
        size_t klen, vlen;
        const char *key = kvkit_iter_key(it, &klen);
        const char *value = kvkit_iter_value(it, &vlen);
        ck_assert_msg(i < s.n, "%s: the iterator gives more than %zu results", text, s.n);
        ck_assert_msg(klen == strlen(s.keys[i]) && memcmp(key, s.keys[i], klen) == 0,
                      "%s: result %zu is %.*s, exec gave %s", text, i, (int)klen, key, s.keys[i]);
        if (want_docs)
            ck_assert_msg(value != NULL && vlen == strlen(s.values[i]) &&
                          memcmp(value, s.values[i], vlen) == 0, "%s: value of %s", text,
                          s.keys[i]);
        else
            ck_assert_ptr_null(value);
    }
    ck_assert_int_eq(kvkit_iter_status(it, &err), KVKIT_OK);
    ck_assert_msg(i == s.n, "%s: the iterator gave %zu results, exec %zu", text, i, s.n);
    kvkit_iter_destroy(it);
    for (size_t j = 0; j < s.n; j++)
        free(s.values[j]);
    free(s.keys);
    free(s.values);
    kvkit_query_free(q);
}

static void check_store_iter(int leveldb)
{
    open_store(leveldb);
    compare_forms("a = 1", 0);                              /* 233: a zigzag-free scan */
    compare_forms("a = 1 and tag = \"x\"", 1);             /* a join */
    compare_forms("tag = \"x\" or score < 100", 0);        /* a merge */
    compare_forms("score >= 0 order by score", 1);         /* by the index, every page */
    compare_forms("score >= 0 order by score desc limit 650", 0); /* a heap, paged */
    compare_forms("a != 2 order by free limit 300", 0);    /* a heap over pages */
    compare_forms("score > 5000", 0);                       /* nothing */
    close_store(leveldb);
}

START_TEST(test_store_query_iter_memory)
{
    check_store_iter(0);
}
END_TEST

START_TEST(test_store_query_iter_leveldb)
{
    check_store_iter(1);
}
END_TEST

/* Every document visited gets a score past all others: with pages read in
 * the live store, the ordered scan would meet it again on a later page. */
static void check_moving_writes(int leveldb)
{
    kvkit_error_t err = {0};
    open_store(leveldb);
    kvkit_qexpr_t *q = parse("score >= 0 order by score");
    kvkit_iter_t *it = kvkit_store_query_iter(store, "b", q, 0);
    char *visited = calloc(N_DOCS, 1);
    size_t n = 0;
    for (; kvkit_iter_valid(it); kvkit_iter_next(it), n++) {
        const char *key = kvkit_iter_key(it, NULL);
        int i = atoi(key + 1);
        ck_assert_msg(!visited[i], "%s met twice", key);
        visited[i] = 1;
        put(key, i % 3, 100000 + (int)n, "z");
    }
    ck_assert_int_eq(kvkit_iter_status(it, &err), KVKIT_OK);
    ck_assert_uint_eq(n, N_DOCS);
    kvkit_iter_destroy(it);
    free(visited);
    kvkit_query_free(q);
    close_store(leveldb);
}

START_TEST(test_store_query_iter_writes_memory)
{
    check_moving_writes(0);
}
END_TEST

START_TEST(test_store_query_iter_writes_leveldb)
{
    check_moving_writes(1);
}
END_TEST

START_TEST(test_store_query_iter_errors)
{
    kvkit_error_t err = {0};
    open_store(0);
    kvkit_iter_t *it = kvkit_store_query_iter(store, "b", NULL, 0);
    ck_assert(!kvkit_iter_valid(it));
    ck_assert_int_eq(kvkit_iter_status(it, &err), KVKIT_INVALID);
    ck_assert_str_eq(err.text, "query iterator: the query is NULL");
    kvkit_iter_destroy(it);
    kvkit_error_clear(&err);
    kvkit_qexpr_t *q = parse("a = 1 order by free"); /* a sort with no limit */
    it = kvkit_store_query_iter(store, "b", q, 0);
    ck_assert(!kvkit_iter_valid(it));
    ck_assert_int_eq(kvkit_iter_status(it, &err), KVKIT_INVALID);
    ck_assert_msg(strstr(err.text, "limit") != NULL, "%s", err.text);
    kvkit_iter_destroy(it);
    kvkit_error_clear(&err);
    it = kvkit_store_query_iter(store, "", q, 0);
    ck_assert_int_eq(kvkit_iter_status(it, &err), KVKIT_INVALID);
    kvkit_iter_destroy(it);
    kvkit_query_free(q);
    close_store(0);
}
END_TEST

/*** the document layer ***/

static kvkit_schema_t *post_schema(kvkit_store_t *s)
{
    kvkit_error_t err = {0};
    kvkit_schema_t *schema = NULL;
    static const char *const states[] = {"draft", "live", "gone"};
    ck_assert_int_eq(kvkit_schema_create("Post", NULL, s, &schema, &err), KVKIT_OK);
    ck_assert_int_eq(kvkit_schema_add(schema, "author", KVKIT_PROP_STRING, KVKIT_PROP_INDEX, NULL,
                                      &err), KVKIT_OK);
    ck_assert_int_eq(kvkit_schema_add_enum(schema, "state", states, 3, KVKIT_PROP_INDEX, NULL, &err),
                     KVKIT_OK);
    ck_assert_int_eq(kvkit_schema_add(schema, "words", KVKIT_PROP_INTEGER, 0, NULL, &err),
                     KVKIT_OK);
    return schema;
}

static void post(kvkit_schema_t *schema, int i)
{
    static const char *const states[] = {"draft", "live", "gone"};
    static const char *const authors[] = {"alice", "bob", "carol", "dave"};
    kvkit_error_t err = {0};
    kvkit_doc_t *doc = NULL;
    char key[16];
    snprintf(key, sizeof key, "p%03d", i);
    ck_assert_int_eq(kvkit_doc_new(schema, key, &doc, &err), KVKIT_OK);
    ck_assert_int_eq(kvkit_doc_attr_set_string(doc, "author", authors[i % 4], &err), KVKIT_OK);
    ck_assert_int_eq(kvkit_doc_attr_set_string(doc, "state", states[i % 3], &err), KVKIT_OK);
    ck_assert_int_eq(kvkit_doc_attr_set_integer(doc, "words", i * 10, &err), KVKIT_OK);
    ck_assert_msg(kvkit_doc_save(doc, &err) == KVKIT_OK, "%s", err.text);
    kvkit_doc_destroy(doc);
}

/* Run text on the schema; the number of results, each checked with check. */
static size_t doc_run(kvkit_schema_t *schema, const char *text, unsigned flags,
                      int (*check)(const kvkit_doc_t *))
{
    kvkit_error_t err = {0};
    kvkit_qexpr_t *q = NULL;
    kvkit_query_t *it = NULL;
    ck_assert_msg(kvkit_query_parse(text, &q, &err) == KVKIT_OK, "%s", err.text);
    ck_assert_msg(kvkit_query_expr(schema, q, flags, &it, &err) == KVKIT_OK, "%s: %s", text,
                  err.text);
    kvkit_query_free(q); /* the query iterator keeps its own copy */
    size_t n = 0;
    for (; kvkit_query_valid(it); kvkit_query_next(it), n++) {
        ck_assert_ptr_nonnull(kvkit_query_key(it));
        if (flags & KVKIT_QUERY_KEYS)
            ck_assert_ptr_null(kvkit_query_doc(it));
        else
            ck_assert_msg(check(kvkit_query_doc(it)), "%s: %s does not match", text,
                          kvkit_query_key(it));
    }
    ck_assert_int_eq(kvkit_query_status(it, &err), KVKIT_OK);
    kvkit_query_destroy(it);
    return n;
}

static const char *str(const kvkit_doc_t *d, const char *name)
{
    const char *v = NULL;
    ck_assert_int_eq(kvkit_doc_attr_get_string(d, name, &v, NULL), KVKIT_OK);
    return v;
}

static int live_bob(const kvkit_doc_t *d)
{
    return strcmp(str(d, "state"), "live") == 0 && strcmp(str(d, "author"), "bob") == 0;
}

static int long_not_gone(const kvkit_doc_t *d)
{
    int64_t words = 0;
    ck_assert_int_eq(kvkit_doc_attr_get_integer(d, "words", &words, NULL), KVKIT_OK);
    return words >= 3000 && strcmp(str(d, "state"), "gone") != 0;
}

static void doc_fails(kvkit_schema_t *schema, const char *text, int code, const char *message)
{
    kvkit_error_t err = {0};
    kvkit_qexpr_t *q = NULL;
    kvkit_query_t *it = (kvkit_query_t *)&err; /* must come back NULL */
    ck_assert_int_eq(kvkit_query_parse(text, &q, &err), KVKIT_OK);
    ck_assert_int_eq(kvkit_query_expr(schema, q, 0, &it, &err), code);
    ck_assert_ptr_null(it);
    ck_assert_str_eq(err.text, message);
    kvkit_query_free(q);
}

START_TEST(test_doc_query_expr)
{
    kvkit_error_t err = {0};
    kvkit_store_t *s = kvkit_store_open("memory:", &err);
    kvkit_schema_t *schema = post_schema(s);
    for (int i = 0; i < 600; i++)
        post(schema, i);
    /* i % 3 == 1 and i % 4 == 1: i % 12 == 1, 50 of 600 */
    ck_assert_uint_eq(doc_run(schema, "state = \"live\" and author = \"bob\"", 0, live_bob), 50);
    ck_assert_uint_eq(doc_run(schema, "state = \"live\" and author = \"bob\"", KVKIT_QUERY_KEYS,
                              NULL), 50);
    /* words has no index: checked on each document; 300..599 less the gone ones */
    ck_assert_uint_eq(doc_run(schema, "words >= 3000 and state in (\"draft\", \"live\")", 0,
                              long_not_gone), 200);
    /* enums compare by the order of their values: draft < live < gone */
    ck_assert_uint_eq(doc_run(schema, "state < \"gone\" and words >= 3000", 0, long_not_gone),
                      200);
    doc_fails(schema, "state = \"lost\"", KVKIT_INVALID,
              "Post: query on \"state\": not one of the enum values");
    doc_fails(schema, "state starts with \"dr\"", KVKIT_INVALID,
              "Post: query on \"state\": an enum is stored as the index of its value, so "
              "\"starts with\" cannot apply; use = or in");
    doc_fails(schema, "autor = \"bob\"", KVKIT_INVALID, "Post: query on \"autor\": no such property");
    doc_fails(schema, "author = \"bob\" order by wordz limit 3", KVKIT_INVALID,
              "Post: query on \"wordz\": no such property");
    kvkit_query_t *it = NULL;
    ck_assert_int_eq(kvkit_query_expr(schema, NULL, 0, &it, &err), KVKIT_INVALID);
    ck_assert_str_eq(err.text, "Post: the query is NULL");
    kvkit_schema_destroy(schema);
    kvkit_store_close(s);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("query iterators");
    TCase *tc = tcase_create("store");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_store_query_iter_memory);
    tcase_add_test(tc, test_store_query_iter_leveldb);
    tcase_add_test(tc, test_store_query_iter_writes_memory);
    tcase_add_test(tc, test_store_query_iter_writes_leveldb);
    tcase_add_test(tc, test_store_query_iter_errors);
    suite_add_tcase(s, tc);
    tc = tcase_create("documents");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_doc_query_expr);
    suite_add_tcase(s, tc);
    SRunner *r = srunner_create(s);
    srunner_run_all(r, CK_NORMAL);
    int failed = srunner_ntests_failed(r);
    srunner_free(r);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
