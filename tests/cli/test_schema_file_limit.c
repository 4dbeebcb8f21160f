/*
 * test_schema_file_limit.c - kvkit_schema_list_load_file reads at most
 * 64 MiB (kvkit_schema(3)): endless input (/dev/zero) and a larger file are
 * KVKIT_TOO_LARGE naming the file and the limit; a file of exactly the
 * limit loads.  (Here, not in tests/document, because it is the limit
 * `kvkit --schema` runs into.)
 */
#include <check.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <kvkit/kvkit.h>
#include <kvkit/document.h>

#define LIMIT (64u << 20)
#define LIMIT_TEXT "67108864"

static char dir[] = "/tmp/kvkit-schema-limit.XXXXXX";

static void setup(void)
{
    ck_assert_ptr_nonnull(mkdtemp(dir));
}

static void teardown(void)
{
    char cmd[64];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    ck_assert_int_eq(system(cmd), 0);
    strcpy(dir, "/tmp/kvkit-schema-limit.XXXXXX");
}

/* A file of `size` bytes: "{}" then spaces (valid JSON, no schema in it). */
static char *make_file(const char *name, size_t size)
{
    static char path[256];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    static char spaces[1 << 16];
    memset(spaces, ' ', sizeof spaces);
    ck_assert_int_eq(fputs("{}", f) >= 0, 1);
    for (size_t left = size - 2; left > 0;) {
        size_t n = left < sizeof spaces ? left : sizeof spaces;
        ck_assert_uint_eq(fwrite(spaces, 1, n, f), n);
        left -= n;
    }
    ck_assert_int_eq(fclose(f), 0);
    return path;
}

START_TEST(test_schema_list_load_file_dev_zero_too_large)
{
    kvkit_error_t err = {0};
    kvkit_schema_list_t *list = (kvkit_schema_list_t *)&err;
    ck_assert_int_eq(kvkit_schema_list_load_file("/dev/zero", NULL, &list, &err), KVKIT_TOO_LARGE);
    ck_assert_ptr_null(list);
    ck_assert_int_eq(err.code, KVKIT_TOO_LARGE);
    ck_assert_str_eq(err.subject, "/dev/zero");
    ck_assert_str_eq(err.text,
                     "schema file \"/dev/zero\" is larger than the limit of " LIMIT_TEXT " bytes");
}
END_TEST

START_TEST(test_schema_list_load_file_one_byte_over_too_large)
{
    const char *path = make_file("big.json", LIMIT + 1);
    kvkit_error_t err = {0};
    kvkit_schema_list_t *list;
    ck_assert_int_eq(kvkit_schema_list_load_file(path, NULL, &list, &err), KVKIT_TOO_LARGE);
    ck_assert_ptr_nonnull(strstr(err.text, path));
    ck_assert_ptr_nonnull(strstr(err.text, "larger than the limit of " LIMIT_TEXT " bytes"));
}
END_TEST

START_TEST(test_schema_list_load_file_at_limit_loads)
{
    const char *path = make_file("max.json", LIMIT);
    kvkit_error_t err = {0};
    kvkit_schema_list_t *list = NULL;
    ck_assert_int_eq(kvkit_schema_list_load_file(path, NULL, &list, &err), KVKIT_OK);
    ck_assert_int_eq(err.code, KVKIT_OK);
    ck_assert_uint_eq(kvkit_schema_list_count(list), 0);
    kvkit_schema_list_destroy(list);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("schema_file_limit");
    TCase *tc = tcase_create("limit");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_schema_list_load_file_dev_zero_too_large);
    tcase_add_test(tc, test_schema_list_load_file_one_byte_over_too_large);
    tcase_add_test(tc, test_schema_list_load_file_at_limit_loads);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
