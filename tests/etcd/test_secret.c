/* test_secret.c - plugins/common/secret.c: where a network backend's
 * password comes from, which files are refused, and that no message
 * carries the password.  No server needed. */
#include "../../plugins/common/secret.h"

#include <check.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define ENV "KVKIT_TEST_SECRET_PASSWORD"

static char dir[] = "/tmp/kvkit-secret.XXXXXX";

static const char *file(const char *name, const char *content, size_t len, mode_t mode)
{
    static char path[256];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    unlink(path);
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(write(fd, content, len), (ssize_t)len);
    ck_assert_int_eq(fchmod(fd, mode), 0);
    close(fd);
    return path;
}

static int read_pw(const char *path, char *out, size_t cap, kvkit_error_t *err)
{
    return kvsecret_password("etcd", "alice", path, ENV, out, cap, err);
}

START_TEST(test_kvsecret_password_file_newline_stripped)
{
    char pw[64];
    kvkit_error_t err = {0};
    ck_assert_int_eq(read_pw(file("a", "hunter2\n", 8, 0600), pw, sizeof pw, &err), KVKIT_OK);
    ck_assert_str_eq(pw, "hunter2");
    ck_assert_int_eq(read_pw(file("b", "hunter2\r\n", 9, 0400), pw, sizeof pw, &err), KVKIT_OK);
    ck_assert_str_eq(pw, "hunter2");
    /* only one newline is not part of it */
    ck_assert_int_eq(read_pw(file("c", "two\n\n", 5, 0600), pw, sizeof pw, &err), KVKIT_OK);
    ck_assert_str_eq(pw, "two\n");
    ck_assert_int_eq(read_pw(file("d", "no newline", 10, 0600), pw, sizeof pw, &err), KVKIT_OK);
    ck_assert_str_eq(pw, "no newline");
}
END_TEST

START_TEST(test_kvsecret_password_file_wins_over_environment)
{
    char pw[64];
    kvkit_error_t err = {0};
    setenv(ENV, "from-env", 1);
    ck_assert_int_eq(read_pw(file("a", "from-file", 9, 0600), pw, sizeof pw, &err), KVKIT_OK);
    ck_assert_str_eq(pw, "from-file");
    ck_assert_int_eq(read_pw(NULL, pw, sizeof pw, &err), KVKIT_OK);
    ck_assert_str_eq(pw, "from-env");
    ck_assert_int_eq(read_pw("", pw, sizeof pw, &err), KVKIT_OK);
    ck_assert_str_eq(pw, "from-env");
    unsetenv(ENV);
}
END_TEST

START_TEST(test_kvsecret_password_nowhere)
{
    char pw[64];
    kvkit_error_t err = {0};
    unsetenv(ENV);
    ck_assert_int_eq(read_pw(NULL, pw, sizeof pw, &err), KVKIT_BAD_OPTION);
    ck_assert_str_eq(err.subject, "alice");
    ck_assert_str_eq(err.text, "etcd: user \"alice\" needs a password: give password_file=PATH "
                               "(a file only its owner can read) or set " ENV);
    setenv(ENV, "", 1); /* empty counts as unset */
    kvkit_error_t err2 = {0};
    ck_assert_int_eq(read_pw(NULL, pw, sizeof pw, &err2), KVKIT_BAD_OPTION);
    unsetenv(ENV);
}
END_TEST

START_TEST(test_kvsecret_password_group_readable_refused)
{
    char pw[64];
    kvkit_error_t err = {0};
    const char *path = file("g", "topsecret", 9, 0640);
    ck_assert_int_eq(read_pw(path, pw, sizeof pw, &err), KVKIT_BAD_OPTION);
    ck_assert_str_eq(err.subject, path);
    ck_assert_ptr_nonnull(strstr(err.text, path));
    ck_assert_ptr_nonnull(strstr(err.text, "accessible by group or others (mode 0640)"));
    ck_assert_ptr_null(strstr(err.text, "topsecret"));
    ck_assert_str_eq(pw, ""); /* wiped */
    kvkit_error_t err2 = {0};
    ck_assert_int_eq(read_pw(file("o", "topsecret", 9, 0604), pw, sizeof pw, &err2),
                     KVKIT_BAD_OPTION);
    ck_assert_ptr_nonnull(strstr(err2.text, "(mode 0604)"));
}
END_TEST

START_TEST(test_kvsecret_password_bad_files)
{
    char pw[8];
    kvkit_error_t err = {0};
    ck_assert_int_eq(read_pw(dir, pw, sizeof pw, &err), KVKIT_BAD_OPTION);
    ck_assert_ptr_nonnull(strstr(err.text, "is not a regular file"));
    kvkit_error_t e2 = {0};
    ck_assert_int_eq(read_pw("/nonexistent/pw", pw, sizeof pw, &e2), KVKIT_BAD_OPTION);
    ck_assert_str_eq(e2.text, "etcd: password_file \"/nonexistent/pw\": No such file or directory");
    kvkit_error_t e3 = {0};
    ck_assert_int_eq(read_pw(file("e", "\n", 1, 0600), pw, sizeof pw, &e3), KVKIT_BAD_OPTION);
    ck_assert_ptr_nonnull(strstr(e3.text, "is empty"));
    kvkit_error_t e4 = {0}; /* 7 bytes fit in 8, with or without a newline; 8 do not */
    ck_assert_int_eq(read_pw(file("f", "1234567\n", 8, 0600), pw, sizeof pw, &e4), KVKIT_OK);
    ck_assert_str_eq(pw, "1234567");
    ck_assert_int_eq(read_pw(file("l", "12345678", 8, 0600), pw, sizeof pw, &e4), KVKIT_BAD_OPTION);
    ck_assert_ptr_nonnull(strstr(e4.text, "longer than 7 bytes"));
    ck_assert_ptr_null(strstr(e4.text, "12345678"));
    kvkit_error_t e5 = {0};
    ck_assert_int_eq(read_pw(file("z", "ab\0cd", 5, 0600), pw, sizeof pw, &e5), KVKIT_BAD_OPTION);
    ck_assert_ptr_nonnull(strstr(e5.text, "contains a NUL byte"));
}
END_TEST

START_TEST(test_kvsecret_wipe)
{
    char b[16];
    memset(b, 'x', sizeof b);
    kvsecret_wipe(b, sizeof b);
    for (size_t i = 0; i < sizeof b; i++)
        ck_assert_int_eq(b[i], 0);
    kvsecret_wipe(NULL, 5); /* no-op */
}
END_TEST

int main(void)
{
    if (mkdtemp(dir) == NULL)
        return 99;
    Suite *s = suite_create("secret");
    TCase *t = tcase_create("kvsecret");
    tcase_add_test(t, test_kvsecret_password_file_newline_stripped);
    tcase_add_test(t, test_kvsecret_password_file_wins_over_environment);
    tcase_add_test(t, test_kvsecret_password_nowhere);
    tcase_add_test(t, test_kvsecret_password_group_readable_refused);
    tcase_add_test(t, test_kvsecret_password_bad_files);
    tcase_add_test(t, test_kvsecret_wipe);
    suite_add_tcase(s, t);
    SRunner *r = srunner_create(s);
    srunner_run_all(r, CK_NORMAL);
    int failed = srunner_ntests_failed(r);
    srunner_free(r);
    char cmd[64];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd) != 0)
        failed++;
    return failed == 0 ? 0 : 1;
}
