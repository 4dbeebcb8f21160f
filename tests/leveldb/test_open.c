/* test_open.c - opening a leveldb store: options, locks, corruption. */
#include "testutil.h"

#include <check.h>
#include <fcntl.h>
#include <signal.h>
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

/* Open `uri`, expect failure with `code`, and return the message. */
static kvkit_error_t open_fails(const char *uri, int code)
{
    kvkit_error_t err = {0};
    kvkit_store_t *s = kvkit_store_open(uri, &err);
    ck_assert_msg(s == NULL, "open \"%s\" succeeded", uri);
    ck_assert_msg(err.code == code, "open \"%s\": code %s, want %s: %s", uri,
                  kvkit_status_name(err.code), kvkit_status_name(code), err.text);
    return err;
}

START_TEST(test_open_descriptor_flags)
{
    char *uri = tu_uri(dir, NULL);
    kvkit_store_t *s = tu_open(uri);
    const kvkit_backend_descriptor_t *d = kvkit_store_descriptor(s);
    ck_assert_str_eq(d->name, "leveldb");
    ck_assert_uint_eq(d->flags, KVKIT_BACKEND_THREAD_SAFE | KVKIT_BACKEND_ORDERED |
                                    KVKIT_BACKEND_ATOMIC | KVKIT_BACKEND_ATOMIC_BATCH |
                                    KVKIT_BACKEND_DURABLE | KVKIT_BACKEND_RESIDENT |
                                    KVKIT_BACKEND_SNAPSHOT);
    const char *ops[] = {"index_lookup", "list_keys", "index_docs", "write_batch", "get_rev",
                         "save_if", "compact", "repair"};
    for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++)
        ck_assert_msg(kvkit_store_supports(s, ops[i]), "%s not supported", ops[i]);
    kvkit_store_close(s);
    free(uri);
}
END_TEST

START_TEST(test_open_persists_across_reopen)
{
    char *uri = tu_uri(dir, NULL);
    kvkit_store_t *s = tu_open(uri);
    tu_save(s, "user", "42", "{\"name\":\"ada\"}", tu_index("name", "\"ada\"", NULL));
    kvkit_store_close(s);
    s = tu_open(uri);
    char *v = NULL;
    size_t n = 0;
    ck_assert_int_eq(kvkit_store_get(s, "user", "42", &v, &n, NULL), KVKIT_OK);
    ck_assert_str_eq(v, "{\"name\":\"ada\"}");
    free(v);
    char *keys = tu_query(s, "user", "name", "\"ada\"", NULL);
    ck_assert_str_eq(keys, "42");
    free(keys);
    kvkit_store_close(s);
    free(uri);
}
END_TEST

START_TEST(test_open_all_options)
{
    char *uri = tu_uri(dir, "create_if_missing=yes&error_if_exists=false&cache_mb=16"
                            "&bloom_bits=0&compression=none&write_buffer_mb=8&sync=true"
                            "&paranoid_checks=on");
    kvkit_store_t *s = tu_open(uri);
    tu_save(s, "b", "k", "{}", NULL);
    kvkit_store_close(s);
    free(uri);
    uri = tu_uri(dir, "compression=snappy&bloom_bits=16&paranoid_checks=1");
    s = tu_open(uri);
    char *v = NULL;
    size_t n;
    ck_assert_int_eq(kvkit_store_get(s, "b", "k", &v, &n, NULL), KVKIT_OK);
    ck_assert_str_eq(v, "{}");
    free(v);
    kvkit_store_close(s);
    free(uri);
}
END_TEST

START_TEST(test_open_unknown_option)
{
    char *uri = tu_uri(dir, "sync=true&colour=blue");
    kvkit_error_t err = open_fails(uri, KVKIT_BAD_OPTION);
    ck_assert_str_eq(err.subject, "colour");
    ck_assert_ptr_nonnull(strstr(err.text, "unknown option \"colour\""));
    ck_assert_ptr_nonnull(strstr(err.text, "paranoid_checks")); /* lists the known ones */
    free(uri);
    /* refused before anything is created */
    char path[4096];
    snprintf(path, sizeof path, "%s/db", dir);
    ck_assert_int_ne(access(path, F_OK), 0);
}
END_TEST

START_TEST(test_open_bad_option_values)
{
    static const struct {
        const char *opts, *key, *text;
    } cases[] = {
        {"sync=maybe", "sync", "expected true or false, got \"maybe\""},
        {"create_if_missing=", "create_if_missing", "expected true or false"},
        {"cache_mb=0", "cache_mb", "expected a whole number from 1 to 65536, got \"0\""},
        {"bloom_bits=65", "bloom_bits", "from 0 to 64"},
        {"write_buffer_mb=-1", "write_buffer_mb", "got \"-1\""},
        {"compression=zstd", "compression", "expected snappy or none, got \"zstd\""},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *uri = tu_uri(dir, cases[i].opts);
        kvkit_error_t err = open_fails(uri, KVKIT_BAD_OPTION);
        ck_assert_str_eq(err.subject, cases[i].key);
        ck_assert_msg(strstr(err.text, cases[i].text) != NULL, "%s: %s", cases[i].opts,
                      err.text);
        free(uri);
    }
}
END_TEST

START_TEST(test_open_empty_location)
{
    kvkit_error_t err = open_fails("leveldb:", KVKIT_INVALID);
    ck_assert_ptr_nonnull(strstr(err.text, "a database directory is required"));
}
END_TEST

START_TEST(test_open_create_if_missing_false)
{
    char *uri = tu_uri(dir, "create_if_missing=false");
    kvkit_error_t err = open_fails(uri, KVKIT_INVALID);
    ck_assert_ptr_nonnull(strstr(err.text, "leveldb: open \""));
    ck_assert_ptr_nonnull(strstr(err.text, "Invalid argument:"));
    ck_assert_ptr_nonnull(strstr(err.text, "does not exist"));
    free(uri);
}
END_TEST

START_TEST(test_open_missing_parent)
{
    char uri[4200];
    snprintf(uri, sizeof uri, "leveldb:%s/no/db", dir);
    kvkit_error_t err = open_fails(uri, KVKIT_IO);
    char want[9000];
    snprintf(want, sizeof want,
             "leveldb: open \"%s/no/db\": IO error: %s/no/db: No such file or directory", dir,
             dir);
    ck_assert_str_eq(err.text, want);
}
END_TEST

START_TEST(test_open_error_if_exists)
{
    char *uri = tu_uri(dir, NULL);
    kvkit_store_close(tu_open(uri));
    free(uri);
    uri = tu_uri(dir, "error_if_exists=true");
    kvkit_error_t err = open_fails(uri, KVKIT_INVALID);
    ck_assert_ptr_nonnull(strstr(err.text, "exists (error_if_exists is true)"));
    free(uri);
}
END_TEST

START_TEST(test_open_locked_in_same_process)
{
    char *uri = tu_uri(dir, NULL);
    kvkit_store_t *s = tu_open(uri);
    kvkit_error_t err = open_fails(uri, KVKIT_LOCKED);
    ck_assert_ptr_nonnull(strstr(err.text, "this store is already open in this process"));
    ck_assert_ptr_nonnull(strstr(err.text, dir));
    kvkit_store_close(s);
    s = tu_open(uri); /* the lock goes with the close */
    kvkit_store_close(s);
    free(uri);
}
END_TEST

START_TEST(test_open_locked_by_other_process)
{
    char *uri = tu_uri(dir, NULL);
    int ready[2], done[2];
    ck_assert_int_eq(pipe(ready), 0);
    ck_assert_int_eq(pipe(done), 0);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        kvkit_store_t *s = kvkit_store_open(uri, NULL);
        char c = s ? 'y' : 'n';
        if (write(ready[1], &c, 1) != 1 || read(done[0], &c, 1) < 0)
            _exit(2);
        kvkit_store_close(s);
        _exit(0);
    }
    char c = 0;
    ck_assert_int_eq(read(ready[0], &c, 1), 1);
    ck_assert_int_eq(c, 'y');
    kvkit_error_t err = {0};
    kvkit_store_t *s = kvkit_store_open(uri, &err);
    ck_assert_int_eq(write(done[1], "x", 1), 1);
    int status;
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert_ptr_null(s);
    ck_assert_int_eq(err.code, KVKIT_LOCKED);
    char want[4200];
    snprintf(want, sizeof want, "leveldb: open \"%s/db\": locked by another process: "
                                "IO error: lock %s/db/LOCK: ",
             dir, dir);
    ck_assert_msg(strncmp(err.text, want, strlen(want)) == 0, "%s", err.text);
    ck_assert_ptr_nonnull(strstr(err.text, "Resource temporarily unavailable"));
    /* and once the other process is gone, it opens */
    s = tu_open(uri);
    kvkit_store_close(s);
    free(uri);
}
END_TEST

START_TEST(test_open_corrupt_suggests_repair)
{
    char *uri = tu_uri(dir, NULL);
    kvkit_store_close(tu_open(uri));
    char path[4096];
    snprintf(path, sizeof path, "%s/db/CURRENT", dir);
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs("garbage", f); /* no newline: LevelDB calls that corruption */
    fclose(f);
    kvkit_error_t err = open_fails(uri, KVKIT_CORRUPT);
    ck_assert_ptr_nonnull(strstr(err.text, "Corruption: CURRENT file does not end with newline"));
    ck_assert_ptr_nonnull(strstr(err.text, "repair"));
    free(uri);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("leveldb_open");
    TCase *tc = tcase_create("open");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_open_descriptor_flags);
    tcase_add_test(tc, test_open_persists_across_reopen);
    tcase_add_test(tc, test_open_all_options);
    tcase_add_test(tc, test_open_unknown_option);
    tcase_add_test(tc, test_open_bad_option_values);
    tcase_add_test(tc, test_open_empty_location);
    tcase_add_test(tc, test_open_create_if_missing_false);
    tcase_add_test(tc, test_open_missing_parent);
    tcase_add_test(tc, test_open_error_if_exists);
    tcase_add_test(tc, test_open_locked_in_same_process);
    tcase_add_test(tc, test_open_locked_by_other_process);
    tcase_add_test(tc, test_open_corrupt_suggests_repair);
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
