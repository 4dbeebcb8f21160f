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
 *  2. A save or write batch whose engine batch refused a write, or that
 *     held more documents than a batch can, reported "out of memory"
 *     (KVKIT_NOMEM) whatever the status was.  The real status must come
 *     through: here KVKIT_TOO_LARGE, from a fake engine whose batches hold
 *     few writes and from the batch overlay, built for this test with
 *     KVL_OVERLAY_MAX = 3 (see Makefile.am).
 *
 * The damaged manifest is planted with LevelDB's C API while no store has
 * the database open (key layout: kvlayout.h).
 */
#include <kvkit/kvkit.h>

#include "kvlayout.h"

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

/*** a fake engine: stores nothing, its batches hold `batch_max` puts ***/

static size_t batch_max = SIZE_MAX;

static int f_get(void *eng, const unsigned char *k, size_t klen, char **v, size_t *vlen,
                 kvkit_error_t *err)
{
    (void)eng, (void)k, (void)klen, (void)v, (void)vlen, (void)err;
    return KVKIT_NOTFOUND;
}

static void *f_batch_new(void *eng)
{
    (void)eng;
    return calloc(1, sizeof(size_t));
}

static int f_batch_put(void *b, const unsigned char *k, size_t klen, const void *v, size_t vlen)
{
    (void)k, (void)klen, (void)v, (void)vlen;
    return ++*(size_t *)b > batch_max ? KVKIT_TOO_LARGE : KVKIT_OK;
}

static int f_batch_del(void *b, const unsigned char *k, size_t klen)
{
    (void)b, (void)k, (void)klen;
    return KVKIT_OK;
}

static int f_batch_commit(void *eng, void *b, kvkit_error_t *err)
{
    (void)eng, (void)b, (void)err;
    return KVKIT_OK;
}

static const kvl_ops_t fake_ops = {
    .get = f_get,
    .batch_new = f_batch_new,
    .batch_put = f_batch_put,
    .batch_del = f_batch_del,
    .batch_commit = f_batch_commit,
    .batch_free = free,
};

static kvl_t fake_open(size_t max)
{
    kvl_t l = {.ops = &fake_ops, .eng = NULL, .name = "fake"};
    batch_max = max;
    ck_assert_int_eq(kvl_open(&l, NULL), KVKIT_OK);
    return l;
}

START_TEST(test_kvl_save_engine_too_large)
{
    kvl_t l = fake_open(2); /* three index keys, the document, the manifest: 5 puts */
    unsigned char s[3][KVKIT_SORTABLE_NUMBER_LEN];
    kvkit_index_entry_t e[3];
    for (int i = 0; i < 3; i++) {
        e[i] = (kvkit_index_entry_t){"f", {KVKIT_INDEX_INTEGER, i, 0, NULL, 0, s[i], 0}};
        e[i].value.sortable_len = kvkit_sortable_integer(s[i], i);
    }
    kvkit_error_t err = {0};
    int rc = kvl_save(&l, "b", "k", "{}", 2, e, 3, &err);
    ck_assert_msg(rc == KVKIT_TOO_LARGE && err.code == KVKIT_TOO_LARGE,
                  "save: %s (%s): %s", kvkit_status_name(rc), kvkit_status_name(err.code), err.text);
    ck_assert_str_eq(err.text, "fake: \"k\": too large for one write batch");
    ck_assert_str_eq(err.subject, "k");
    kvl_close(&l);
}
END_TEST

START_TEST(test_kvl_write_batch_too_many_documents)
{
    kvl_t l = fake_open(SIZE_MAX);
    kvkit_backend_write_t w[KVL_OVERLAY_MAX + 1];
    const char *keys[] = {"k0", "k1", "k2", "k3", "k4", "k5", "k6", "k7"};
    ck_assert_uint_le(KVL_OVERLAY_MAX + 1, 8);
    for (size_t i = 0; i < KVL_OVERLAY_MAX + 1; i++)
        w[i] = (kvkit_backend_write_t){"b", keys[i], "{}", 2, NULL, 0};
    kvkit_error_t err = {0};
    ck_assert_int_eq(kvl_write_batch(&l, w, KVL_OVERLAY_MAX, &err), KVKIT_OK);
    int rc = kvl_write_batch(&l, w, KVL_OVERLAY_MAX + 1, &err);
    ck_assert_msg(rc == KVKIT_TOO_LARGE && err.code == KVKIT_TOO_LARGE,
                  "write_batch: %s (%s): %s", kvkit_status_name(rc), kvkit_status_name(err.code),
                  err.text);
    ck_assert_str_eq(err.text, "fake: \"k3\": too large for one write batch");
    kvl_close(&l);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("kvlayout regressions");
    TCase *tc = tcase_create("damaged manifests");
    tcase_add_test(tc, test_store_save_heals_short_manifest);
    suite_add_tcase(s, tc);
    tc = tcase_create("statuses");
    tcase_add_test(tc, test_kvl_save_engine_too_large);
    tcase_add_test(tc, test_kvl_write_batch_too_many_documents);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
