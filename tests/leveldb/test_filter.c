/*
 * test_filter.c - the manifest filter (plugins/common/kvlfilter.h): a save
 * of a new key skips reading its manifest when the filter says it has none.
 * A filter that forgot a key would let a re-save keep that key's old index
 * entries, so every case re-saves keys with new index values and checks
 * the raw layout (layout_check: exact entries, and a stored filter that
 * says "maybe" for every manifest) - after a clean close, after a crash
 * before close, after a write by a kvkit that keeps no filter, after a
 * damaged filter page, and after repair.
 */
#include "layoutcheck.h"
#include "testutil.h"

#include "keyfilter.h"

#include <check.h>
#include <leveldb/c.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static char *dir;

static void setup(void)
{
    dir = tu_tmpdir();
}

static void teardown(void)
{
    tu_rmtree(dir);
    free(dir);
}

/* Save keys k<from>..k<to-1> in bucket b, each indexed a = i * mult. */
static void save_range(kvkit_store_t *s, int from, int to, int mult)
{
    for (int i = from; i < to; i++) {
        char key[32], doc[96], val[32];
        snprintf(key, sizeof key, "k%d", i);
        snprintf(val, sizeof val, "%d", i * mult);
        snprintf(doc, sizeof doc, "{\"idx\":{\"a\":%d}}", i * mult);
        tu_save(s, "b", key, doc, tu_index("a", val, NULL));
    }
}

static void expect_exact(const char *what)
{
    char path[4096], msg[512];
    size_t n = 0;
    snprintf(path, sizeof path, "%s/db", dir);
    ck_assert_msg(layout_check(path, &n, msg, sizeof msg) == 0, "%s: %s", what, msg);
}

/* Raw access to the closed store, behind kvkit's back. */
static leveldb_t *raw_open(leveldb_options_t **o)
{
    char path[4096], *msg = NULL;
    snprintf(path, sizeof path, "%s/db", dir);
    *o = leveldb_options_create();
    leveldb_t *db = leveldb_open(*o, path, &msg);
    ck_assert_msg(db != NULL, "%s", msg);
    return db;
}

static int raw_has(leveldb_t *db, const char *k, size_t klen)
{
    leveldb_readoptions_t *r = leveldb_readoptions_create();
    char *msg = NULL;
    size_t vlen;
    char *v = leveldb_get(db, r, k, klen, &vlen, &msg);
    leveldb_readoptions_destroy(r);
    ck_assert_msg(msg == NULL, "%s", msg);
    free(v);
    return v != NULL;
}

static void raw_close(leveldb_t *db, leveldb_options_t *o)
{
    leveldb_close(db);
    leveldb_options_destroy(o);
}

START_TEST(test_filter_survives_reopen)
{
    char *uri = tu_uri(dir, NULL);
    kvkit_store_t *s = tu_open(uri);
    save_range(s, 0, 3000, 1);
    kvkit_store_close(s);
    expect_exact("after the first close");
    leveldb_options_t *o;
    leveldb_t *db = raw_open(&o);
    ck_assert_msg(raw_has(db, "f", 1), "no stored filter after a clean close");
    raw_close(db, o);
    /* the loaded filter must know every key: re-saves replace each entry */
    s = tu_open(uri);
    save_range(s, 0, 3000, 7);
    save_range(s, 3000, 3100, 7);
    char *q = tu_query(s, "b", "a", "35", "36");
    ck_assert_str_eq(q, "k5");
    free(q);
    kvkit_store_close(s);
    expect_exact("after re-saving every key");
    free(uri);
}
END_TEST

/* A process that saves new keys and dies before close stores no filter;
 * the next open must not trust the old one. */
START_TEST(test_filter_after_crash_before_close)
{
    char *uri = tu_uri(dir, NULL);
    kvkit_store_t *s = tu_open(uri);
    save_range(s, 0, 200, 1);
    kvkit_store_close(s);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        kvkit_error_t err = {0};
        kvkit_store_t *c = kvkit_store_open(uri, &err);
        if (c == NULL)
            _exit(2);
        save_range(c, 200, 400, 1);
        _exit(0); /* no close: the filter in memory is lost */
    }
    int status;
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child failed");
    s = tu_open(uri);
    save_range(s, 0, 400, 3);
    kvkit_store_close(s);
    expect_exact("re-saves after a crash before close");
    free(uri);
}
END_TEST

static void plant_from_other(int bump);

/* A kvkit without the filter writes a new key (manifest, document, index
 * entry, and the revision ceiling its first save always raises). */
START_TEST(test_filter_after_foreign_write)
{
    char *uri = tu_uri(dir, NULL);
    kvkit_store_t *s = tu_open(uri);
    save_range(s, 0, 50, 1);
    kvkit_store_close(s);
    char other[4096];
    snprintf(other, sizeof other, "leveldb:%s/other", dir);
    kvkit_store_t *w = tu_open(other);
    tu_save(w, "b", "old", "{\"idx\":{\"a\":1000}}", tu_index("a", "1000", NULL));
    kvkit_store_close(w);
    plant_from_other(1); /* its records, and the ceiling its save raised */
    /* re-saving "old" must remove its a = 1000 entry */
    s = tu_open(uri);
    tu_save(s, "b", "old", "{\"idx\":{\"a\":5000}}", tu_index("a", "5000", NULL));
    char *q = tu_query(s, "b", "a", "1000", "1000");
    ck_assert_str_eq(q, "");
    free(q);
    kvkit_store_close(s);
    expect_exact("re-save of a key a filterless writer made");
    free(uri);
}
END_TEST

/* Copy every document, manifest and index record of the store "other"
 * (under dir) into ours, behind kvkit's back; raise our revision ceiling
 * as another writer's save would when `bump`. */
static void plant_from_other(int bump)
{
    char path[4096], *msg = NULL;
    snprintf(path, sizeof path, "%s/other", dir);
    leveldb_options_t *o2 = leveldb_options_create(), *o;
    leveldb_t *src = leveldb_open(o2, path, &msg);
    ck_assert_msg(src != NULL, "%s", msg);
    leveldb_t *db = raw_open(&o);
    leveldb_readoptions_t *r = leveldb_readoptions_create();
    leveldb_writeoptions_t *wo = leveldb_writeoptions_create();
    leveldb_iterator_t *it = leveldb_create_iterator(src, r);
    for (leveldb_iter_seek_to_first(it); leveldb_iter_valid(it); leveldb_iter_next(it)) {
        size_t kl, vl;
        const char *k = leveldb_iter_key(it, &kl), *v = leveldb_iter_value(it, &vl);
        if (k[0] == 'd' || k[0] == 'm' || k[0] == 'i')
            leveldb_put(db, wo, k, kl, v, vl, &msg);
        ck_assert_msg(msg == NULL, "%s", msg);
    }
    leveldb_iter_destroy(it);
    if (bump) {
        size_t vl;
        char *ceiling = leveldb_get(db, r, "r", 1, &vl, &msg);
        ck_assert(ceiling != NULL && vl == 8);
        ceiling[7] = (char)(ceiling[7] + 1);
        leveldb_put(db, wo, "r", 1, ceiling, 8, &msg);
        free(ceiling);
    }
    leveldb_readoptions_destroy(r);
    leveldb_writeoptions_destroy(wo);
    raw_close(db, o);
    raw_close(src, o2);
}

/* The stored filter is loaded, not rebuilt, while the ceiling matches:
 * seen through a manifest planted without moving the ceiling (something
 * no kvkit writer does), which a loaded filter does not know and a
 * rebuilt one would.  The re-save then keeps the planted key's old entry. */
START_TEST(test_filter_is_loaded_when_current)
{
    char *uri = tu_uri(dir, NULL);
    kvkit_store_t *s = tu_open(uri);
    save_range(s, 0, 50, 1);
    kvkit_store_close(s);
    char other[4096];
    snprintf(other, sizeof other, "leveldb:%s/other", dir);
    kvkit_store_t *w = tu_open(other);
    tu_save(w, "b", "planted", "{\"idx\":{\"a\":1000}}", tu_index("a", "1000", NULL));
    kvkit_store_close(w);
    plant_from_other(0);
    s = tu_open(uri);
    tu_save(s, "b", "planted", "{\"idx\":{\"a\":5000}}", tu_index("a", "5000", NULL));
    char *q = tu_query(s, "b", "a", "1000", "1000");
    ck_assert_str_eq(q, "planted"); /* the loaded filter skipped the manifest read */
    free(q);
    kvkit_store_close(s);
    free(uri);
}
END_TEST

START_TEST(test_filter_damaged_page_is_rebuilt)
{
    char *uri = tu_uri(dir, NULL);
    kvkit_store_t *s = tu_open(uri);
    save_range(s, 0, 500, 1);
    kvkit_store_close(s);
    leveldb_options_t *o;
    leveldb_t *db = raw_open(&o);
    leveldb_writeoptions_t *wo = leveldb_writeoptions_create();
    char *msg = NULL;
    const char page0[6] = {'f', 0, 0, 0, 0, 0};
    leveldb_put(db, wo, page0, sizeof page0, "short", 5, &msg); /* a torn page */
    ck_assert_msg(msg == NULL, "%s", msg);
    leveldb_writeoptions_destroy(wo);
    raw_close(db, o);
    s = tu_open(uri);
    save_range(s, 0, 500, 11);
    kvkit_store_close(s);
    expect_exact("re-saves after a damaged filter page");
    free(uri);
}
END_TEST

START_TEST(test_repair_forgets_filter)
{
    char *uri = tu_uri(dir, NULL);
    kvkit_store_t *s = tu_open(uri);
    save_range(s, 0, 100, 1);
    kvkit_store_close(s);
    kvkit_error_t err = {0};
    ck_assert_msg(kvkit_repair(uri, &err) == KVKIT_OK, "%s", err.text);
    leveldb_options_t *o;
    leveldb_t *db = raw_open(&o);
    ck_assert_msg(!raw_has(db, "f", 1), "repair left the filter header");
    raw_close(db, o);
    s = tu_open(uri);
    save_range(s, 0, 150, 5);
    kvkit_store_close(s);
    expect_exact("re-saves after repair");
    free(uri);
}
END_TEST

/* The filter itself: never "absent" for a key it holds, rarely "maybe"
 * for one it does not, as it grows level by level. */
START_TEST(test_keyfilter_no_false_negatives)
{
    kvl_filter_t f = {0};
    const size_t n = 200000;
    char k[32];
    for (size_t i = 0; i < n; i++) {
        int len = snprintf(k, sizeof k, "key-%zu", i);
        ck_assert_int_eq(kvl_filter_add(&f, kvl_filter_hash(k, (size_t)len)), 0);
    }
    ck_assert_uint_gt(f.n_levels, 3);
    for (size_t i = 0; i < n; i++) {
        int len = snprintf(k, sizeof k, "key-%zu", i);
        ck_assert_msg(kvl_filter_maybe(&f, kvl_filter_hash(k, (size_t)len)), "lost %s", k);
    }
    size_t fp = 0;
    for (size_t i = 0; i < n; i++) {
        int len = snprintf(k, sizeof k, "other-%zu", i);
        fp += kvl_filter_maybe(&f, kvl_filter_hash(k, (size_t)len));
    }
    ck_assert_msg(fp < n / 40, "%zu false positives in %zu", fp, n); /* about 1% */
    kvl_filter_free(&f);
}
END_TEST

int main(void)
{
    Suite *su = suite_create("filter");
    TCase *tc = tcase_create("filter");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_filter_survives_reopen);
    tcase_add_test(tc, test_filter_after_crash_before_close);
    tcase_add_test(tc, test_filter_after_foreign_write);
    tcase_add_test(tc, test_filter_is_loaded_when_current);
    tcase_add_test(tc, test_filter_damaged_page_is_rebuilt);
    tcase_add_test(tc, test_repair_forgets_filter);
    tcase_add_test(tc, test_keyfilter_no_false_negatives);
    suite_add_tcase(su, tc);
    SRunner *sr = srunner_create(su);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
