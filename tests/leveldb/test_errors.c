/* test_errors.c - how the leveldb store reports LevelDB's write errors.
 * A child process gets a file-size limit (RLIMIT_FSIZE) so LevelDB's log
 * write fails for real ("File too large"). */
#include "testutil.h"

#include <check.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
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

/* In a child: open, limit file sizes to 64 KiB, run `op`, and send back
 * "<code>|<message>". */
typedef int op_fn(kvkit_store_t *s, kvkit_error_t *err);

static void run_limited(op_fn *op, int *code, char *text, size_t text_size)
{
    char *uri = tu_uri(dir, NULL);
    int fds[2];
    ck_assert_int_eq(pipe(fds), 0);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        kvkit_error_t err = {0};
        kvkit_store_t *s = kvkit_store_open(uri, &err);
        int rc = -1;
        if (s != NULL) {
            signal(SIGXFSZ, SIG_IGN);
            struct rlimit lim = {64 << 10, 64 << 10};
            setrlimit(RLIMIT_FSIZE, &lim);
            rc = op(s, &err);
        }
        dprintf(fds[1], "%d|%s", rc, err.text);
        _exit(0); /* no close: the database is in LevelDB's error state */
    }
    close(fds[1]);
    char buf[1024] = "";
    ssize_t n, got = 0;
    while ((n = read(fds[0], buf + got, sizeof buf - 1 - (size_t)got)) > 0)
        got += n;
    close(fds[0]);
    int status;
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert(WIFEXITED(status));
    char *bar = strchr(buf, '|');
    ck_assert_ptr_nonnull(bar);
    *code = atoi(buf);
    snprintf(text, text_size, "%s", bar + 1);
    free(uri);
}

static int save_big(kvkit_store_t *s, kvkit_error_t *err)
{
    size_t n = 256 << 10;
    char *v = malloc(n);
    memset(v, 'x', n);
    int rc = kvkit_store_save(s, "user", "42", v, n, NULL, err);
    free(v);
    return rc;
}

static int batch_big(kvkit_store_t *s, kvkit_error_t *err)
{
    size_t n = 100 << 10;
    char *v = malloc(n);
    memset(v, 'x', n);
    kvkit_batch_t *b = kvkit_batch_create();
    kvkit_batch_save(b, "user", "1", v, n, NULL, NULL);
    kvkit_batch_save(b, "user", "2", v, n, NULL, NULL);
    kvkit_batch_delete(b, "user", "3", NULL);
    int rc = kvkit_store_write(s, b, err);
    kvkit_batch_destroy(b);
    free(v);
    return rc;
}

START_TEST(test_save_write_error_names_key)
{
    int code;
    char text[1024];
    run_limited(save_big, &code, text, sizeof text);
    ck_assert_int_eq(code, KVKIT_IO);
    ck_assert_msg(strstr(text, "leveldb: put \"user/42\": IO error: ") == text, "%s", text);
    ck_assert_msg(strstr(text, "File too large") != NULL, "%s", text);
}
END_TEST

START_TEST(test_write_batch_error_counts_documents)
{
    int code;
    char text[1024];
    run_limited(batch_big, &code, text, sizeof text);
    ck_assert_int_eq(code, KVKIT_IO);
    ck_assert_msg(strstr(text, "leveldb: write batch of 3 documents, first \"user/1\": IO error: ") ==
                      text,
                  "%s", text);
}
END_TEST

START_TEST(test_save_write_error_leaves_store_unchanged)
{
    int code;
    char text[1024];
    run_limited(save_big, &code, text, sizeof text);
    ck_assert_int_eq(code, KVKIT_IO);
    char *uri = tu_uri(dir, NULL);
    kvkit_store_t *s = tu_open(uri);
    char *v = NULL;
    size_t n;
    ck_assert_int_eq(kvkit_store_get(s, "user", "42", &v, &n, NULL), KVKIT_NOTFOUND);
    tu_save(s, "user", "42", "{}", NULL); /* and it works again once reopened */
    kvkit_store_close(s);
    free(uri);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("leveldb_errors");
    TCase *tc = tcase_create("errors");
    tcase_set_timeout(tc, 60);
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_save_write_error_names_key);
    tcase_add_test(tc, test_write_batch_error_counts_documents);
    tcase_add_test(tc, test_save_write_error_leaves_store_unchanged);
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
