/*
 * test_regress_kvlayout - regressions in plugins/common/kvlayout.c found by
 * tests/fuzz/fuzz_kvlayout (its seed "short"/"bad" manifest reproduces
 * them there; this test reproduces them on a real LevelDB store).
 *
 *  1. A save over a damaged manifest (too short to hold a revision) whose
 *     key has no index entries rebuilt the manifest from an empty scan and
 *     called qsort(NULL, 0, ...): undefined behaviour, caught by UBSan's
 *     nonnull-attribute check (the sanitizer build aborts).  The save must
 *     succeed and heal the key: its new index entries are found.
 *
 * The damaged manifest is planted with LevelDB's C API while no store has
 * the database open (key layout: kvlayout.h).
 */
#include <kvkit/kvkit.h>

#include <check.h>
#include <leveldb/c.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char dir[256];

static void plant(const char *db, const char *k, size_t klen, const char *v, size_t vlen)
{
    char *e = NULL;
    leveldb_options_t *o = leveldb_options_create();
    leveldb_options_set_create_if_missing(o, 1);
    leveldb_t *l = leveldb_open(o, db, &e);
    ck_assert_msg(l != NULL, "leveldb_open: %s", e ? e : "?");
    leveldb_writeoptions_t *w = leveldb_writeoptions_create();
    leveldb_put(l, w, k, klen, v, vlen, &e);
    ck_assert_msg(e == NULL, "leveldb_put: %s", e);
    leveldb_writeoptions_destroy(w);
    leveldb_close(l);
    leveldb_options_destroy(o);
}

static int found(void *ctx, const char *key, size_t len)
{
    if (len == 1 && key[0] == 'k')
        ++*(int *)ctx;
    return 0;
}

START_TEST(test_store_save_heals_short_manifest)
{
    snprintf(dir, sizeof dir, "/tmp/kvkit-regress-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
    char db[300], uri[400];
    snprintf(db, sizeof db, "%s/db", dir);
    snprintf(uri, sizeof uri, "leveldb:%s", db);
    /* 'd' lp("b") "k" -> a document, 'm' lp("b") "k" -> 5 bytes of junk */
    plant(db, "d\001bk", 4, "{}", 2);
    plant(db, "m\001bk", 4, "short", 5);

    kvkit_error_t err = {0};
    kvkit_store_t *s = kvkit_store_open(uri, &err);
    ck_assert_msg(s != NULL, "open: %s", err.text);
    kvkit_index_set_t *set = kvkit_index_set_create();
    json_t *v = json_integer(7);
    ck_assert_int_eq(kvkit_index_set_add(set, "f", v, NULL), KVKIT_OK);
    int rc = kvkit_store_save(s, "b", "k", "{\"a\": 1}", 8, set, &err);
    ck_assert_msg(rc == KVKIT_OK, "save over a damaged manifest: %s: %s",
                  kvkit_status_name(rc), err.text);
    int n = 0;
    ck_assert_int_eq(kvkit_store_index_keys(s, "b", "f", v, NULL, found, &n, NULL), KVKIT_OK);
    ck_assert_int_eq(n, 1);
    json_decref(v);
    kvkit_index_set_destroy(set);
    kvkit_store_close(s);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    ck_assert_int_eq(system(cmd), 0);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("kvlayout regressions");
    TCase *tc = tcase_create("damaged manifests");
    tcase_add_test(tc, test_store_save_heals_short_manifest);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
