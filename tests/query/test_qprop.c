/*
 * test_qprop.c - the property test of compound queries (qprop.c) on
 * memory: and leveldb:, 600 documents and 300 expressions each.
 * QPROP_SEED=N picks another seed; the seed and the failing query are
 * printed on failure.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <kvkit/kvkit.h>

#include "qprop.h"

static void property(const char *uri, const char *backend)
{
    kvkit_error_t err = {0};
    const char *env = getenv("QPROP_SEED");
    kvkit_store_t *s = kvkit_store_open(uri, &err);
    ck_assert_msg(s != NULL, "%s: %s", uri, err.text);
    qprop_run(s, "b", backend, env != NULL ? (unsigned)strtoul(env, NULL, 10) : 14u, 600, 300);
    kvkit_store_close(s);
}

START_TEST(test_kvkit_query_exec_property_memory)
{
    property("memory:qprop", "memory");
}
END_TEST

START_TEST(test_kvkit_query_exec_property_leveldb)
{
    char dir[] = "/tmp/kvkit-qprop-XXXXXX", uri[128];
    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(uri, sizeof uri, "leveldb:%s/db?create_if_missing=true", dir);
    property(uri, "leveldb");
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    ck_assert_int_eq(system(cmd), 0);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("query_property");
    TCase *tc = tcase_create("property");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_kvkit_query_exec_property_memory);
    tcase_add_test(tc, test_kvkit_query_exec_property_leveldb);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
