/*
 * riaktest.h - fixtures shared by the riak suites: one emulator per test
 * case, started in the Check parent (unchecked fixture) so it is stopped by
 * PID even when a test fails, and reset before every test.
 */
#ifndef KVKIT_TEST_RIAKTEST_H
#define KVKIT_TEST_RIAKTEST_H

#include <check.h>
#include <kvkit/kvkit.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "emu.h"

static emu_t E;

static void emu_up(void)
{
    emu_start(&E, NULL);
}

static void emu_down(void)
{
    emu_stop(&E);
}

static void emu_clean(void)
{
    emu_reset(&E);
}

/* Open riak: on the emulator with extra options ("" or "?a=b&..."). */
static inline kvkit_store_t *open_store(const char *opts)
{
    char uri[256];
    kvkit_error_t err = {0};
    emu_store_uri(&E, opts, uri, sizeof uri);
    kvkit_store_t *s = kvkit_store_open(uri, &err);
    ck_assert_msg(s != NULL, "open %s: %s", uri, err.text);
    return s;
}

static inline void save_str(kvkit_store_t *s, const char *bucket, const char *key,
                            const char *value, const kvkit_index_set_t *ix)
{
    kvkit_error_t err = {0};
    int rc = kvkit_store_save(s, bucket, key, value, strlen(value), ix, &err);
    ck_assert_msg(rc == KVKIT_OK, "save %s/%s: %s", bucket, key, err.text);
}

/* Value of bucket/key (malloc'd), failing the test unless it is there. */
static inline char *get_str(kvkit_store_t *s, const char *bucket, const char *key)
{
    kvkit_error_t err = {0};
    char *v = NULL;
    size_t n = 0;
    int rc = kvkit_store_get(s, bucket, key, &v, &n, &err);
    ck_assert_msg(rc == KVKIT_OK, "get %s/%s: %d %s", bucket, key, rc, err.text);
    return v;
}

static inline TCase *emu_tcase(const char *name)
{
    TCase *tc = tcase_create(name);
    tcase_add_unchecked_fixture(tc, emu_up, emu_down);
    tcase_add_checked_fixture(tc, emu_clean, NULL);
    tcase_set_timeout(tc, 60);
    return tc;
}

static inline int run_suite(Suite *s)
{
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

#endif
