/* test_tuning.c - the leveldb store options that size LevelDB's files and
 * caches: max_open_files, block_size_kb, max_file_size_mb, and bulk_load,
 * which picks sizes for a load (what `kvkit import` asks for). */
#include "testutil.h"

#include <check.h>
#include <dirent.h>
#include <stdio.h>
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

/* Table files (*.ldb) in the store's directory. */
static int count_tables(void)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/db", dir);
    DIR *d = opendir(path);
    ck_assert_ptr_nonnull(d);
    int n = 0;
    for (struct dirent *e; (e = readdir(d)) != NULL;) {
        size_t len = strlen(e->d_name);
        n += len > 4 && strcmp(e->d_name + len - 4, ".ldb") == 0;
    }
    closedir(d);
    return n;
}

/* Save n documents of ~1 KiB (random letters: snappy leaves most of it),
 * and compact, twice: the second compaction merges the first one's table
 * with the new writes, so its output is cut at the file size limit.
 * Answers how many table files hold the documents. */
static int tables_after(const char *opts, int n)
{
    char *uri = tu_uri(dir, opts);
    kvkit_store_t *s = tu_open(uri);
    char doc[1100], key[32];
    for (int round = 0; round < 2; round++) {
        for (int i = 0; i < n; i++) {
            int len = snprintf(doc, sizeof doc, "{\"n\":%d,\"pad\":\"", i);
            for (unsigned x = (unsigned)(i + round) * 2654435761u + 1; len < 1000;
                 len++, x = x * 1103515245u + 12345u)
                doc[len] = (char)('a' + (x >> 16) % 26);
            snprintf(doc + len, sizeof doc - (size_t)len, "\"}");
            snprintf(key, sizeof key, "k%05d", i);
            tu_save(s, "b", key, doc, NULL);
        }
        kvkit_error_t err = {0};
        ck_assert_msg(kvkit_store_compact(s, &err) == KVKIT_OK, "%s", err.text);
    }
    kvkit_store_close(s);
    free(uri);
    return count_tables();
}

/* max_file_size_mb reaches LevelDB: ~3 MB of documents take 2 tables at
 * LevelDB's default 2 MiB, and 3 or more at 1 MiB. */
START_TEST(test_tuning_max_file_size_splits_tables)
{
    ck_assert_int_le(tables_after(NULL, 3000), 2);
    tu_rmtree(dir);
    free(dir);
    dir = tu_tmpdir();
    ck_assert_int_ge(tables_after("max_file_size_mb=1", 3000), 3);
}
END_TEST

/* bulk_load=true makes 1 MiB tables unless max_file_size_mb says
 * otherwise. */
START_TEST(test_tuning_bulk_load_sizes)
{
    ck_assert_int_ge(tables_after("bulk_load=true", 3000), 3);
    tu_rmtree(dir);
    free(dir);
    dir = tu_tmpdir();
    ck_assert_int_le(tables_after("bulk_load=true&max_file_size_mb=2", 3000), 2);
    char *uri = tu_uri(dir, "bulk_load=false"); /* and the store opens without it */
    kvkit_store_t *s = tu_open(uri);
    char *v = NULL;
    size_t n;
    ck_assert_int_eq(kvkit_store_get(s, "b", "k02999", &v, &n, NULL), KVKIT_OK);
    free(v);
    kvkit_store_close(s);
    free(uri);
}
END_TEST

/* The other two change no stored format: a store written with them reads
 * back under the defaults, and the other way round. */
START_TEST(test_tuning_options_accepted)
{
    ck_assert_int_ge(
        tables_after("max_open_files=74&block_size_kb=64&max_file_size_mb=1024", 300), 1);
    char *uri = tu_uri(dir, NULL);
    kvkit_store_t *s = tu_open(uri);
    char *v = NULL;
    size_t n;
    ck_assert_int_eq(kvkit_store_get(s, "b", "k00299", &v, &n, NULL), KVKIT_OK);
    ck_assert_ptr_nonnull(strstr(v, "{\"n\":299,"));
    free(v);
    kvkit_store_close(s);
    free(uri);
    uri = tu_uri(dir, "max_open_files=50000&block_size_kb=1");
    s = tu_open(uri);
    ck_assert_int_eq(kvkit_store_get(s, "b", "k00000", &v, &n, NULL), KVKIT_OK);
    free(v);
    kvkit_store_close(s);
    free(uri);
}
END_TEST

START_TEST(test_tuning_bad_values)
{
    static const struct {
        const char *opts, *key, *text;
    } cases[] = {
        {"max_open_files=73", "max_open_files", "from 74 to 50000, got \"73\""},
        {"max_open_files=50001", "max_open_files", "from 74 to 50000, got \"50001\""},
        {"max_open_files=many", "max_open_files", "got \"many\""},
        {"block_size_kb=0", "block_size_kb", "from 1 to 4096, got \"0\""},
        {"block_size_kb=4097", "block_size_kb", "from 1 to 4096, got \"4097\""},
        {"max_file_size_mb=0", "max_file_size_mb", "from 1 to 1024, got \"0\""},
        {"max_file_size_mb=", "max_file_size_mb", "got \"\""},
        {"bulk_load=maybe", "bulk_load", "expected true or false, got \"maybe\""},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *uri = tu_uri(dir, cases[i].opts);
        kvkit_error_t err = {0};
        kvkit_store_t *s = kvkit_store_open(uri, &err);
        ck_assert_msg(s == NULL, "open \"%s\" succeeded", uri);
        ck_assert_int_eq(err.code, KVKIT_BAD_OPTION);
        ck_assert_str_eq(err.subject, cases[i].key);
        ck_assert_msg(strstr(err.text, cases[i].text) != NULL, "%s: %s", cases[i].opts,
                      err.text);
        char quoted[64];
        snprintf(quoted, sizeof quoted, "option \"%s\"", cases[i].key);
        ck_assert_msg(strstr(err.text, quoted) != NULL, "%s: %s", cases[i].opts, err.text);
        free(uri);
    }
}
END_TEST

/* The unknown-option message lists the new options among the known ones. */
START_TEST(test_tuning_listed_as_known)
{
    char *uri = tu_uri(dir, "max_files=10");
    kvkit_error_t err = {0};
    ck_assert_ptr_null(kvkit_store_open(uri, &err));
    ck_assert_int_eq(err.code, KVKIT_BAD_OPTION);
    ck_assert_ptr_nonnull(strstr(err.text, "max_open_files, block_size_kb, max_file_size_mb"));
    free(uri);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("leveldb_tuning");
    TCase *tc = tcase_create("tuning");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_tuning_max_file_size_splits_tables);
    tcase_add_test(tc, test_tuning_bulk_load_sizes);
    tcase_add_test(tc, test_tuning_options_accepted);
    tcase_add_test(tc, test_tuning_bad_values);
    tcase_add_test(tc, test_tuning_listed_as_known);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
