/*
 * test_plugin_perms - plugin files anyone could replace are refused: a
 * world-writable plugin file, or one in a world-writable directory without
 * the sticky bit (also when reached through a symbolic link), fails with
 * KVKIT_PLUGIN_LOAD naming the path and the reason; a sticky world-writable
 * directory (like /tmp) and a private one are fine.
 */
#include <kvkit/kvkit.h>

#include <check.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char dir[256];

static void copy_file(const char *from, const char *to)
{
    int in = open(from, O_RDONLY), out = open(to, O_WRONLY | O_CREAT | O_TRUNC, 0755);
    ck_assert_msg(in >= 0 && out >= 0, "copy %s to %s", from, to);
    char buf[65536];
    ssize_t n;
    while ((n = read(in, buf, sizeof buf)) > 0)
        ck_assert_int_eq(write(out, buf, (size_t)n), n);
    close(in);
    close(out);
    chmod(to, 0755); /* whatever the umask */
}

static void setup(void)
{
    snprintf(dir, sizeof dir, "/tmp/kvkit-perms-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
    char path[512];
    snprintf(path, sizeof path, "%s/minimal.so", dir);
    copy_file(ODD_DIR "/minimal.so", path);
    kvkit_plugin_dirs_clear();
    ck_assert_int_eq(kvkit_plugin_dir_add(dir, NULL), KVKIT_OK);
}

static void teardown(void)
{
    char cmd[600];
    chmod(dir, 0700);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    ck_assert_int_eq(system(cmd), 0);
    kvkit_plugin_dirs_clear();
}

/* Open "minimal:" and expect a refusal whose message holds each needle. */
static void expect_refused(const char *needle1, const char *needle2)
{
    kvkit_error_t err = {0};
    kvkit_store_t *s = kvkit_store_open("minimal:", &err);
    ck_assert_ptr_null(s);
    ck_assert_msg(err.code == KVKIT_PLUGIN_LOAD, "expected PLUGIN_LOAD, got %s: %s",
                  kvkit_status_name(err.code), err.text);
    ck_assert_msg(strstr(err.text, needle1) != NULL, "\"%s\" not in: %s", needle1, err.text);
    ck_assert_msg(strstr(err.text, needle2) != NULL, "\"%s\" not in: %s", needle2, err.text);
    ck_assert_str_eq(err.subject, "minimal");
}

static void expect_loads(void)
{
    kvkit_error_t err = {0};
    kvkit_store_t *s = kvkit_store_open("minimal:", &err);
    ck_assert_msg(s != NULL, "open minimal: %s", err.text);
    kvkit_store_close(s);
}

START_TEST(test_store_open_private_dir_loads)
{
    expect_loads();
}
END_TEST

START_TEST(test_store_open_world_writable_file_refused)
{
    char path[512];
    snprintf(path, sizeof path, "%s/minimal.so", dir);
    ck_assert_int_eq(chmod(path, 0757), 0);
    expect_refused(path, "the file is world-writable");
}
END_TEST

START_TEST(test_store_open_world_writable_dir_refused)
{
    ck_assert_int_eq(chmod(dir, 0777), 0);
    char path[512];
    snprintf(path, sizeof path, "%s/minimal.so", dir);
    expect_refused(path, "is world-writable without the sticky bit");
    char want[300];
    snprintf(want, sizeof want, "directory %s ", dir);
    expect_refused(want, "anyone could replace the plugin");
}
END_TEST

START_TEST(test_store_open_sticky_dir_loads)
{
    ck_assert_int_eq(chmod(dir, 01777), 0);
    expect_loads();
}
END_TEST

START_TEST(test_store_open_symlink_into_world_writable_dir_refused)
{
    /* dir/minimal.so -> dir/open/minimal.so, dir/open world-writable */
    char open_dir[300], target[400], link[400];
    snprintf(open_dir, sizeof open_dir, "%s/open", dir);
    snprintf(target, sizeof target, "%s/minimal.so", open_dir);
    snprintf(link, sizeof link, "%s/minimal.so", dir);
    ck_assert_int_eq(mkdir(open_dir, 0700), 0);
    ck_assert_int_eq(rename(link, target), 0);
    ck_assert_int_eq(symlink(target, link), 0);
    expect_loads(); /* private target directory: fine */
    ck_assert_int_eq(chmod(open_dir, 0777), 0);
    expect_refused(link, open_dir);
}
END_TEST

typedef struct seen {
    int status;
    char error[600];
} seen_t;

static int on_backend(void *ctx, const kvkit_backend_info_t *info)
{
    seen_t *s = ctx;
    if (strcmp(info->name, "minimal") == 0 && strncmp(info->path, dir, strlen(dir)) == 0) {
        s->status = info->status;
        snprintf(s->error, sizeof s->error, "%s", info->error);
    }
    return 0;
}

START_TEST(test_backends_list_reports_refused_plugin)
{
    ck_assert_int_eq(chmod(dir, 0777), 0);
    seen_t s = {-1, ""};
    ck_assert_int_eq(kvkit_backends_list(on_backend, &s, NULL), KVKIT_OK);
    ck_assert_int_eq(s.status, KVKIT_PLUGIN_LOAD);
    ck_assert_msg(strstr(s.error, "world-writable") != NULL, "listing error: %s", s.error);
}
END_TEST

static Suite *perms_suite(void)
{
    Suite *s = suite_create("plugin permissions");
    TCase *tc = tcase_create("world-writable");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_store_open_private_dir_loads);
    tcase_add_test(tc, test_store_open_world_writable_file_refused);
    tcase_add_test(tc, test_store_open_world_writable_dir_refused);
    tcase_add_test(tc, test_store_open_sticky_dir_loads);
    tcase_add_test(tc, test_store_open_symlink_into_world_writable_dir_refused);
    tcase_add_test(tc, test_backends_list_reports_refused_plugin);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(perms_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
