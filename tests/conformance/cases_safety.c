/* cases_safety.c - what must never lose a stored document, on any backend:
 * a missing reference target is not a missing document, a call that
 * succeeds leaves no stale message behind, and a second open of one store
 * in one process either shares it safely or is refused. */
#include "conformance.h"

#include <kvkit/document.h>

#define ERR_CLEAN(e)                                                           \
    do {                                                                       \
        ck_assert_msg((e).code == KVKIT_OK && (e).text[0] == '\0' &&           \
                          (e).subject[0] == '\0',                              \
                      "OK left err holding %s \"%s\"",                         \
                      kvkit_status_name((e).code), (e).text);                  \
    } while (0)

/* Store {"author":"gone","title":"precious"} whose strict reference target
 * is deleted; get_or_new must not hand back a fresh document for it. */
START_TEST(test_doc_get_or_new_keeps_broken_reference)
{
    kvkit_store_t *s = open_store();
    kvkit_error_t err = {0};
    char users[256], posts[256];
    snprintf(users, sizeof users, "%s", bucket("users"));
    snprintf(posts, sizeof posts, "%s", bucket("posts"));
    kvkit_schema_t *user, *post;
    ck_assert_int_eq(kvkit_schema_create("User", NULL, s, &user, &err), KVKIT_OK);
    ck_assert_int_eq(kvkit_schema_set_bucket(user, users, &err), KVKIT_OK);
    ck_assert_int_eq(kvkit_schema_create("Post", NULL, s, &post, &err), KVKIT_OK);
    ck_assert_int_eq(kvkit_schema_set_bucket(post, posts, &err), KVKIT_OK);
    ck_assert_int_eq(kvkit_schema_add_ref(post, "author", user, 0, NULL, &err), KVKIT_OK);
    ck_assert_int_eq(kvkit_schema_add(post, "title", KVKIT_PROP_STRING, 0, NULL, &err),
                     KVKIT_OK);
    save(s, users, "gone", "{}", NULL);
    save(s, posts, "k", "{\"author\":\"gone\",\"title\":\"precious\"}", NULL);
    ck_assert_int_eq(kvkit_store_delete(s, users, "gone", &err), KVKIT_OK);
    ERR_CLEAN(err);

    kvkit_doc_t *doc = (kvkit_doc_t *)1;
    int created = -1;
    int rc = kvkit_doc_get_or_new(post, "k", &doc, &created, &err);
    ck_assert_msg(rc == KVKIT_REF_MISSING, "get_or_new answered %s (%s)", kvkit_status_name(rc),
                  err.text);
    ck_assert_int_eq(err.code, KVKIT_REF_MISSING);
    ck_assert_ptr_null(doc);
    ck_assert_int_eq(created, 0);
    expect_doc(s, posts, "k", "{\"author\":\"gone\",\"title\":\"precious\"}");

    /* an absent document is still created, and that leaves err clean */
    kvkit_error_t e2 = {0};
    ck_assert_int_eq(kvkit_doc_get_or_new(post, "fresh", &doc, &created, &e2), KVKIT_OK);
    ck_assert_int_eq(created, 1);
    ERR_CLEAN(e2);
    kvkit_doc_destroy(doc);
    kvkit_schema_destroy(post);
    kvkit_schema_destroy(user);
    kvkit_store_close(s);
}
END_TEST

static int count_key(void *ctx, const char *key, size_t len)
{
    (void)key, (void)len;
    ++*(int *)ctx;
    return 0;
}

/* Every store call that answers KVKIT_OK leaves the caller's report as it
 * was, including the ones whose "nothing there" is an outcome. */
START_TEST(test_ok_leaves_err_untouched)
{
    kvkit_store_t *s = open_store();
    const char *b = bucket("errclean");
    kvkit_error_t err = {0};
    char *v = NULL;
    size_t n = 0;
    int count = 0;
    ck_assert_int_eq(kvkit_store_delete(s, b, "absent", &err), KVKIT_OK);
    ERR_CLEAN(err);
    ck_assert_int_eq(kvkit_store_get(s, b, "absent", &v, &n, &err), KVKIT_NOTFOUND);
    ERR_CLEAN(err); /* not found is an outcome, not an error */
    kvkit_index_set_t *set = kvkit_index_set_create();
    json_t *one = json_integer(1), *two = json_integer(2), *none = json_string("none");
    ck_assert_int_eq(kvkit_index_set_add(set, "f", one, &err), KVKIT_OK);
    ERR_CLEAN(err);
    ck_assert_int_eq(kvkit_store_save(s, b, "k", "{}", 2, set, &err), KVKIT_OK);
    ERR_CLEAN(err);
    ck_assert_int_eq(kvkit_store_index_keys(s, b, "f", none, NULL, count_key, &count, &err),
                     KVKIT_OK);
    ck_assert_int_eq(kvkit_store_index_keys(s, b, "f", two, NULL, count_key, &count, &err),
                     KVKIT_OK);
    ck_assert_int_eq(kvkit_store_list_keys(s, b, "x", "z", count_key, &count, &err), KVKIT_OK);
    ck_assert_int_eq(count, 0);
    ERR_CLEAN(err);
    kvkit_iter_t *it = kvkit_store_index_iter(s, b, "f", two, NULL, 1);
    ck_assert(!kvkit_iter_valid(it));
    ck_assert_int_eq(kvkit_iter_status(it, &err), KVKIT_OK);
    kvkit_iter_destroy(it);
    it = kvkit_store_keys_iter(s, b, NULL, NULL, 0);
    for (; kvkit_iter_valid(it); kvkit_iter_next(it))
        count++;
    ck_assert_int_eq(kvkit_iter_status(it, &err), KVKIT_OK);
    kvkit_iter_destroy(it);
    ck_assert_int_eq(count, 1);
    ERR_CLEAN(err);
    if (kvkit_store_supports(s, "get_rev")) {
        uint64_t rev = 1;
        ck_assert_int_eq(kvkit_store_get_rev(s, b, "absent", &v, &n, &rev, &err), KVKIT_NOTFOUND);
        ERR_CLEAN(err);
    }
    kvkit_batch_t *batch = kvkit_batch_create();
    ck_assert_int_eq(kvkit_batch_delete(batch, b, "absent", &err), KVKIT_OK);
    ck_assert_int_eq(kvkit_store_write(s, batch, &err), KVKIT_OK);
    ERR_CLEAN(err);
    kvkit_batch_destroy(batch);
    json_decref(one);
    json_decref(two);
    json_decref(none);
    kvkit_index_set_destroy(set);
    kvkit_store_close(s);
}
END_TEST

/* Opening the store under test a second time in this process either
 * succeeds with a handle that is safe to close (the first keeps every
 * write) or answers KVKIT_LOCKED; nothing else. */
START_TEST(test_open_twice_in_process)
{
    kvkit_store_t *s = open_store();
    const char *b = bucket("twice");
    save(s, b, "before", "{\"n\":1}", NULL);
    kvkit_error_t err = {0};
    kvkit_store_t *again = kvkit_store_open(store_uri, &err);
    if (again == NULL) {
        ck_assert_msg(err.code == KVKIT_LOCKED, "second open: %s %s",
                      kvkit_status_name(err.code), err.text);
    } else {
        ERR_CLEAN(err);
        kvkit_store_close(again);
    }
    save(s, b, "after", "{\"n\":2}", NULL);
    expect_doc(s, b, "before", "{\"n\":1}");
    expect_doc(s, b, "after", "{\"n\":2}");
    kvkit_store_close(s);
}
END_TEST

TCase *conformance_safety_cases(void)
{
    TCase *tc = tcase_create("safety");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_doc_get_or_new_keeps_broken_reference);
    tcase_add_test(tc, test_ok_leaves_err_untouched);
    tcase_add_test(tc, test_open_twice_in_process);
    return tc;
}
