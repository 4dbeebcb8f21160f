/* test_maint.c - compaction and repair, exported by the plugin as
 * kvkit_backend_compact / kvkit_backend_repair (not reachable through
 * libkvkit yet, so called here through the plugin's own symbols). */
#include "layoutcheck.h"
#include "testutil.h"

#include <check.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

typedef int compact_f(void *handle, kvkit_error_t *err);
typedef int repair_f(const char *location, const kvkit_backend_option_t *options,
                     size_t n_options, kvkit_error_t *err);

static char *dir, path[4096];
static kvkit_backend_open_f *b_open;
static kvkit_backend_close_f *b_close;
static kvkit_backend_save_f *b_save;
static kvkit_backend_delete_f *b_delete;
static kvkit_backend_get_f *b_get;
static compact_f *b_compact;
static repair_f *b_repair;

static void setup(void)
{
    dir = tu_tmpdir();
    snprintf(path, sizeof path, "%s/db", dir);
    b_open = (kvkit_backend_open_f *)tu_plugin_symbol("kvkit_backend_open");
    b_close = (kvkit_backend_close_f *)tu_plugin_symbol("kvkit_backend_close");
    b_save = (kvkit_backend_save_f *)tu_plugin_symbol("kvkit_backend_save");
    b_delete = (kvkit_backend_delete_f *)tu_plugin_symbol("kvkit_backend_delete");
    b_get = (kvkit_backend_get_f *)tu_plugin_symbol("kvkit_backend_get");
    b_compact = (compact_f *)tu_plugin_symbol("kvkit_backend_compact");
    b_repair = (repair_f *)tu_plugin_symbol("kvkit_backend_repair");
}

static void teardown(void)
{
    tu_rmtree(dir);
    free(dir);
}

static void *raw_open(void)
{
    void *h = NULL;
    kvkit_error_t err = {0};
    ck_assert_msg(b_open(path, NULL, 0, &h, &err) == KVKIT_OK, "%s", err.text);
    return h;
}

/* Save key i with one indexed string, entries built by hand as libkvkit would. */
static void raw_save(void *h, int i)
{
    char key[16], doc[320];
    snprintf(key, sizeof key, "k%05d", i);
    snprintf(doc, sizeof doc, "{\"idx\":{\"f\":\"v%d\"},\"pad\":\"%0200d\"}", i % 10, i);
    json_t *v = json_sprintf("v%d", i % 10);
    kvkit_index_entry_t e = {.field = "f"};
    unsigned char *sortable;
    ck_assert_int_eq(kvkit_index_encode(v, &sortable, &e.value.sortable_len, NULL), KVKIT_OK);
    e.value.kind = KVKIT_INDEX_STRING;
    e.value.string = json_string_value(v);
    e.value.string_len = json_string_length(v);
    e.value.sortable = sortable;
    kvkit_error_t err = {0};
    ck_assert_msg(b_save(h, "b", key, doc, strlen(doc), &e, 1, &err) == KVKIT_OK, "%s",
                  err.text);
    free(sortable);
    json_decref(v);
}

/* Total size of the database's files. */
static long long db_bytes(void)
{
    DIR *d = opendir(path);
    ck_assert_ptr_nonnull(d);
    long long total = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        char file[8192];
        struct stat st;
        snprintf(file, sizeof file, "%s/%s", path, e->d_name);
        if (stat(file, &st) == 0 && S_ISREG(st.st_mode))
            total += st.st_size;
    }
    closedir(d);
    return total;
}

START_TEST(test_compact_shrinks_after_deletes)
{
    void *h = raw_open();
    for (int round = 0; round < 3; round++)
        for (int i = 0; i < 3000; i++)
            raw_save(h, i);
    for (int i = 0; i < 2900; i++) {
        char key[16];
        snprintf(key, sizeof key, "k%05d", i);
        ck_assert_int_eq(b_delete(h, "b", key, NULL), KVKIT_OK);
    }
    long long before = db_bytes();
    kvkit_error_t err = {0};
    ck_assert_msg(b_compact(h, &err) == KVKIT_OK, "%s", err.text);
    long long after = db_bytes();
    ck_assert_msg(after < before / 2, "%lld bytes before compaction, %lld after", before,
                  after);
    char *v = NULL;
    size_t n;
    ck_assert_int_eq(b_get(h, "b", "k02950", &v, &n, &err), KVKIT_OK);
    free(v);
    ck_assert_int_eq(b_get(h, "b", "k00001", &v, &n, &err), KVKIT_NOTFOUND);
    b_close(h);
    char msg[512];
    size_t docs;
    ck_assert_msg(layout_check(path, &docs, msg, sizeof msg) == 0, "%s", msg);
    ck_assert_uint_eq(docs, 100);
}
END_TEST

START_TEST(test_repair_recovers_lost_current)
{
    void *h = raw_open();
    for (int i = 0; i < 500; i++)
        raw_save(h, i);
    b_close(h);
    char file[8192];
    snprintf(file, sizeof file, "%s/CURRENT", path);
    ck_assert_int_eq(remove(file), 0);
    /* without CURRENT LevelDB sees no database */
    kvkit_backend_option_t no_create = {"create_if_missing", "false"};
    kvkit_error_t err = {0};
    ck_assert_int_eq(b_open(path, &no_create, 1, &h, &err), KVKIT_INVALID);
    kvkit_error_clear(&err);
    ck_assert_msg(b_repair(path, NULL, 0, &err) == KVKIT_OK, "%s", err.text);
    h = raw_open();
    char *v = NULL;
    size_t n;
    ck_assert_int_eq(b_get(h, "b", "k00499", &v, &n, &err), KVKIT_OK);
    free(v);
    b_close(h);
    char msg[512];
    size_t docs;
    ck_assert_msg(layout_check(path, &docs, msg, sizeof msg) == 0, "%s", msg);
    ck_assert_uint_eq(docs, 500);
}
END_TEST

START_TEST(test_repair_refuses_open_database)
{
    void *h = raw_open();
    kvkit_error_t err = {0};
    ck_assert_int_eq(b_repair(path, NULL, 0, &err), KVKIT_LOCKED);
    ck_assert_ptr_nonnull(strstr(err.text, "repair \""));
    ck_assert_ptr_nonnull(strstr(err.text, "this store is already open in this process"));
    b_close(h);
}
END_TEST

START_TEST(test_repair_bad_option)
{
    kvkit_backend_option_t o = {"cache", "8"};
    kvkit_error_t err = {0};
    ck_assert_int_eq(b_repair(path, &o, 1, &err), KVKIT_BAD_OPTION);
    ck_assert_str_eq(err.subject, "cache");
    ck_assert_ptr_nonnull(strstr(err.text, "unknown option \"cache\""));
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("leveldb_maint");
    TCase *tc = tcase_create("maint");
    tcase_set_timeout(tc, 120);
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_compact_shrinks_after_deletes);
    tcase_add_test(tc, test_repair_recovers_lost_current);
    tcase_add_test(tc, test_repair_refuses_open_database);
    tcase_add_test(tc, test_repair_bad_option);
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
