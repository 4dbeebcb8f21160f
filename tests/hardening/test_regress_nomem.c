/*
 * test_regress_nomem - regressions for allocation failures reported as
 * something else (found by test_alloc, fixed in the document layer).
 *
 *  1. kvkit_schema_list_load_string: when jansson cannot allocate while
 *     parsing the description, lib/doc_json.c reports KVKIT_INVALID
 *     ("schema description: line -1 column -1: ") instead of KVKIT_NOMEM.
 *  2. kvkit_doc_get: when jansson cannot allocate while parsing the stored
 *     bytes, lib/doc_document.c (kvkit__doc_from_bytes) reports
 *     KVKIT_CORRUPT ("stored data is not a JSON object") - telling the
 *     application its data is damaged when it is not.
 * Fix for both: after a failed json_load*, return KVKIT_NOMEM when
 * jerr.text is empty (jansson leaves it empty, and the error code byte
 * uninitialised, when even its lexer cannot be set up) or
 * json_error_code(&jerr) == json_error_out_of_memory - test the text first,
 * or zero-initialise jerr: valgrind flags json_error_code() on the
 * uninitialised byte otherwise.
 *  3. kvkit_schema_from_db (and every conversion in lib/doc_value.c that
 *     uses json_copy): jansson 2.14's shallow json_copy ignores allocation
 *     failures of the members it copies and returns an object (or array)
 *     missing some of them; the conversion then answers KVKIT_OK with an
 *     attribute silently gone.  Fix: a checked shallow copy
 *     (json_object_set / json_array_append results tested, NULL on any
 *     failure) instead of json_copy in lib/doc_value.c.
 */
#include <kvkit/kvkit.h>

#include <check.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

static bool fail_json; /* fail every jansson allocation while set */
static long fail_nth;   /* or only the fail_nth-th one counted in n_json */
static long n_json = -1; /* counting when >= 0 */

static void *j_malloc(size_t n)
{
    if (n_json >= 0 && ++n_json == fail_nth)
        return NULL;
    return fail_json ? NULL : malloc(n);
}

START_TEST(test_schema_list_load_string_nomem)
{
    kvkit_schema_list_t *l = NULL;
    kvkit_error_t err = {0};
    fail_json = true;
    int rc = kvkit_schema_list_load_string("{\"A\": {}}", NULL, &l, &err);
    fail_json = false;
    ck_assert_ptr_null(l);
    ck_assert_msg(rc == KVKIT_NOMEM, "expected NOMEM, got %s: %s", kvkit_status_name(rc),
                  err.text);
    ck_assert_int_eq(err.code, KVKIT_NOMEM);
}
END_TEST

START_TEST(test_doc_get_nomem_is_not_corrupt)
{
    kvkit_error_t err = {0};
    kvkit_store_t *s = kvkit_store_open("memory:", &err);
    ck_assert_msg(s != NULL, "%s", err.text);
    kvkit_schema_list_t *l = NULL;
    ck_assert_int_eq(kvkit_schema_list_load_string(
                         "{\"P\": {\"properties\": {\"name\": {\"type\": \"string\"}}}}", s, &l,
                         &err), KVKIT_OK);
    kvkit_schema_t *p = kvkit_schema_list_find(l, "P");
    ck_assert_int_eq(kvkit_store_save(s, "P", "k", "{\"name\": \"x\"}", 13, NULL, NULL),
                     KVKIT_OK);
    kvkit_doc_t *d = NULL;
    fail_json = true;
    int rc = kvkit_doc_get(p, "k", &d, &err);
    fail_json = false;
    ck_assert_ptr_null(d);
    ck_assert_msg(rc == KVKIT_NOMEM, "expected NOMEM, got %s: %s", kvkit_status_name(rc),
                  err.text);
    kvkit_schema_list_destroy(l);
    kvkit_store_close(s);
}
END_TEST

/* Fail each allocation of kvkit_schema_from_db in turn: every call must
 * give KVKIT_NOMEM or the complete result. */
START_TEST(test_schema_from_db_nomem_loses_nothing)
{
    kvkit_schema_list_t *l = NULL;
    kvkit_error_t err = {0};
    ck_assert_int_eq(kvkit_schema_list_load_string(
                         "{\"P\": {\"properties\": {\"a\": {\"type\": \"string\"},"
                         " \"role\": {\"type\": \"enum\", \"values\": [\"x\", \"y\"]},"
                         " \"b\": {\"type\": \"integer\"}, \"c\": {\"type\": \"list\"}}}}",
                         NULL, &l, &err), KVKIT_OK);
    kvkit_schema_t *p = kvkit_schema_list_find(l, "P");
    json_t *db = json_pack("{s:s, s:i, s:i, s:[i]}", "a", "s", "role", 1, "b", 2, "c", 3);
    json_t *want = json_pack("{s:s, s:s, s:i, s:[i]}", "a", "s", "role", "y", "b", 2, "c", 3);
    for (fail_nth = 1;; fail_nth++) {
        json_t *out = NULL;
        kvkit_error_clear(&err);
        n_json = 0;
        int rc = kvkit_schema_from_db(p, db, &out, &err);
        long seen = n_json;
        n_json = -1;
        if (rc == KVKIT_OK) {
            char *got = json_dumps(out, JSON_SORT_KEYS);
            ck_assert_msg(json_equal(out, want), "allocation %ld failing: KVKIT_OK with %s",
                          fail_nth, got);
            free(got);
        } else {
            ck_assert_msg(rc == KVKIT_NOMEM, "allocation %ld failing: %s", fail_nth,
                          kvkit_status_name(rc));
        }
        json_decref(out);
        if (seen < fail_nth)
            break;
    }
    fail_nth = 0;
    json_decref(db);
    json_decref(want);
    kvkit_schema_list_destroy(l);
}
END_TEST

int main(void)
{
    json_set_alloc_funcs(j_malloc, free);
    Suite *s = suite_create("nomem regressions");
    TCase *tc = tcase_create("json allocation failures");
    tcase_add_test(tc, test_schema_list_load_string_nomem);
    tcase_add_test(tc, test_doc_get_nomem_is_not_corrupt);
    tcase_add_test(tc, test_schema_from_db_nomem_loses_nothing);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
