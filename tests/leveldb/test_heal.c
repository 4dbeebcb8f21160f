/*
 * test_heal.c - a document whose index manifest was damaged outside kvkit
 * (a bad disk block, a LevelDB repair) is healed by its next save or
 * delete: the key's entries are found by scanning the bucket's index, so no
 * stale entry survives and the write does not fail forever.
 */
#include "testutil.h"

#include <check.h>
#include <leveldb/c.h>
#include <stdlib.h>
#include <string.h>

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

/* Overwrite the manifest of bucket/key with garbage, behind kvkit's back. */
static void corrupt_manifest(const char *bucket, const char *key)
{
    char path[4096], *msg = NULL;
    snprintf(path, sizeof path, "%s/db", dir);
    leveldb_options_t *o = leveldb_options_create();
    leveldb_t *db = leveldb_open(o, path, &msg);
    ck_assert_msg(db != NULL, "%s", msg);
    unsigned char mkey[512];
    size_t n = 0, blen = strlen(bucket), klen = strlen(key);
    mkey[n++] = 'm';
    mkey[n++] = (unsigned char)blen;
    memcpy(mkey + n, bucket, blen);
    n += blen;
    memcpy(mkey + n, key, klen);
    n += klen;
    leveldb_writeoptions_t *w = leveldb_writeoptions_create();
    leveldb_put(db, w, (const char *)mkey, n, "bad", 3, &msg); /* shorter than a revision */
    ck_assert_msg(msg == NULL, "%s", msg);
    leveldb_writeoptions_destroy(w);
    leveldb_close(db);
    leveldb_options_destroy(o);
}

START_TEST(test_save_heals_corrupt_manifest)
{
    char *uri = tu_uri(dir, NULL);
    kvkit_store_t *s = tu_open(uri);
    tu_save(s, "b", "k", "{\"v\":1}", tu_index("color", "\"red\"", "tags", "[1,2,3]", NULL));
    tu_save(s, "b", "other", "{}", tu_index("color", "\"red\"", NULL));
    kvkit_store_close(s);
    corrupt_manifest("b", "k");

    s = tu_open(uri);
    kvkit_error_t err = {0};
    char *v = NULL;
    size_t n;
    uint64_t rev;
    ck_assert_int_eq(kvkit_store_get_rev(s, "b", "k", &v, &n, &rev, &err), KVKIT_CORRUPT);
    ck_assert_ptr_nonnull(strstr(err.text, "has no valid manifest"));
    /* save-if-unchanged cannot vouch for a damaged key: it conflicts */
    kvkit_error_clear(&err);
    ck_assert_int_eq(kvkit_store_save_if(s, "b", "k", "{}", 2, NULL, 0, NULL, &err),
                     KVKIT_CONFLICT);
    /* a plain save heals it: old entries found by scanning, then replaced */
    tu_save(s, "b", "k", "{\"v\":2}", tu_index("color", "\"blue\"", "tags", "[3]", NULL));
    char *q = tu_query(s, "b", "color", "\"red\"", NULL);
    ck_assert_str_eq(q, "other");
    free(q);
    q = tu_query(s, "b", "color", "\"blue\"", NULL);
    ck_assert_str_eq(q, "k");
    free(q);
    q = tu_query(s, "b", "tags", "0", "10");
    ck_assert_str_eq(q, "k");
    free(q);
    q = tu_query(s, "b", "tags", "1", "2");
    ck_assert_str_eq(q, "");
    free(q);
    kvkit_error_clear(&err);
    ck_assert_int_eq(kvkit_store_get_rev(s, "b", "k", &v, &n, &rev, &err), KVKIT_OK);
    free(v);
    kvkit_store_close(s);
    free(uri);
}
END_TEST

START_TEST(test_delete_heals_corrupt_manifest)
{
    char *uri = tu_uri(dir, NULL);
    kvkit_store_t *s = tu_open(uri);
    tu_save(s, "b", "k", "{}", tu_index("n", "[5, 6]", NULL));
    kvkit_store_close(s);
    corrupt_manifest("b", "k");
    s = tu_open(uri);
    kvkit_error_t err = {0};
    ck_assert_msg(kvkit_store_delete(s, "b", "k", &err) == KVKIT_OK, "%s", err.text);
    char *q = tu_query(s, "b", "n", "0", "10");
    ck_assert_str_eq(q, "");
    free(q);
    kvkit_store_close(s);
    free(uri);
}
END_TEST

int main(void)
{
    Suite *su = suite_create("heal");
    TCase *tc = tcase_create("manifest");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_save_heals_corrupt_manifest);
    tcase_add_test(tc, test_delete_heals_corrupt_manifest);
    suite_add_tcase(su, tc);
    SRunner *sr = srunner_create(su);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
