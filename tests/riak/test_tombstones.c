/*
 * test_tombstones.c - riak: deleted keys are tombstones until Riak reaps
 * them (delete_mode, 3 s by default; the emulator's default too).  Key
 * listings and $bucket / $key queries still name them, and a blind re-create
 * on an allow_mult bucket stands beside one; the plugin must show neither.
 */
#include "riaktest.h"

/* The keys a listing handed over, "a,c," style. */
typedef struct names {
    char text[512];
    int n;
} names_t;

static int add_name(void *ctx, const char *key, size_t len)
{
    names_t *nm = ctx;
    size_t at = strlen(nm->text);
    snprintf(nm->text + at, sizeof nm->text - at, "%.*s,", (int)len, key);
    nm->n++;
    return 0;
}

static names_t listed(kvkit_store_t *s, const char *bucket, const char *lo, const char *hi)
{
    names_t nm = {"", 0};
    kvkit_error_t err = {0};
    int rc = kvkit_store_list_keys(s, bucket, lo, hi, add_name, &nm, &err);
    ck_assert_msg(rc == KVKIT_OK, "list_keys %s: %s", bucket, err.text);
    return nm;
}

/* Raw keys=true listing of the emulator: the tombstones are in it. */
static bool raw_lists(const char *bucket, const char *key)
{
    char path[256], needle[128], *body = NULL;
    snprintf(path, sizeof path, "/buckets/%s/keys?keys=true", bucket);
    snprintf(needle, sizeof needle, "\"%s\"", key);
    ck_assert_int_eq(emu_http(&E, "GET", path, NULL, NULL, &body), 200);
    bool in = strstr(body, needle) != NULL;
    free(body);
    return in;
}

static void delete_ok(kvkit_store_t *s, const char *bucket, const char *key)
{
    kvkit_error_t err = {0};
    ck_assert_msg(kvkit_store_delete(s, bucket, key, &err) == KVKIT_OK, "delete: %s", err.text);
}

START_TEST(test_tombstone_not_listed)
{
    kvkit_store_t *s = open_store("?max_results=2");
    for (const char *k = "abcde"; *k; k++) {
        char key[2] = {*k, 0};
        save_str(s, "t", key, "{}", NULL);
    }
    delete_ok(s, "t", "b");
    delete_ok(s, "t", "d");
    ck_assert(raw_lists("t", "b")); /* Riak would still list it */
    ck_assert_str_eq(listed(s, "t", NULL, NULL).text, "a,c,e,");      /* $bucket */
    ck_assert_str_eq(listed(s, "t", "b", "d").text, "c,");            /* $key range */
    ck_assert_str_eq(listed(s, "t", "d", "d").text, "");
    char *v = NULL;
    size_t n = 0;
    kvkit_error_t err = {0};
    ck_assert_int_eq(kvkit_store_get(s, "t", "b", &v, &n, &err), KVKIT_NOTFOUND);
    /* once reaped, nothing changes for the user */
    ck_assert_int_eq(emu_http(&E, "POST", "/_emu/reap", "", NULL, NULL), 204);
    ck_assert(!raw_lists("t", "b"));
    ck_assert_str_eq(listed(s, "t", NULL, NULL).text, "a,c,e,");
    kvkit_store_close(s);
}
END_TEST

START_TEST(test_tombstone_not_listed_without_2i)
{
    ck_assert_int_eq(emu_http(&E, "PUT", "/_emu/config", "{\"no_2i\":true}", NULL, NULL), 204);
    kvkit_store_t *s = open_store("");
    save_str(s, "t", "a", "{}", NULL);
    save_str(s, "t", "b", "{}", NULL);
    delete_ok(s, "t", "a");
    ck_assert(raw_lists("t", "a"));
    ck_assert_str_eq(listed(s, "t", NULL, NULL).text, "b,"); /* ?keys=stream */
    kvkit_store_close(s);
}
END_TEST

/* delete_mode=immediate: the listing is trusted, one request in all. */
START_TEST(test_tombstone_delete_mode_immediate)
{
    ck_assert_int_eq(emu_http(&E, "PUT", "/_emu/config", "{\"delete_mode\":\"immediate\"}", NULL,
                              NULL),
                     204);
    kvkit_store_t *s = open_store("?delete_mode=immediate");
    save_str(s, "t", "a", "{}", NULL);
    save_str(s, "t", "b", "{}", NULL);
    delete_ok(s, "t", "a");
    emu_counters_reset(&E);
    ck_assert_str_eq(listed(s, "t", NULL, NULL).text, "b,");
    ck_assert_int_eq(emu_requests(&E), 1);
    kvkit_store_close(s);
    /* the default checks each key it lists */
    s = open_store("?delete_mode=3000");
    emu_counters_reset(&E);
    ck_assert_str_eq(listed(s, "t", NULL, NULL).text, "b,");
    ck_assert_int_eq(emu_requests(&E), 2);
    kvkit_store_close(s);
}
END_TEST

START_TEST(test_tombstone_delete_mode_bad)
{
    char uri[256];
    emu_store_uri(&E, "?delete_mode=soon", uri, sizeof uri);
    kvkit_error_t err = {0};
    ck_assert_ptr_null(kvkit_store_open(uri, &err));
    ck_assert_int_eq(err.code, KVKIT_BAD_OPTION);
    ck_assert_ptr_nonnull(strstr(err.text, "option \"delete_mode\": expected immediate, keep or "
                                           "a number of milliseconds"));
    ck_assert_ptr_nonnull(strstr(err.text, "\"soon\""));
}
END_TEST

/* Delete, then a re-create by a handle that never saw the tombstone's
 * clock: Riak answers 300 (the new value beside the tombstone); the save
 * writes once more with both clocks, so the tombstone is gone. */
START_TEST(test_tombstone_recreate_allow_mult)
{
    emu_allow_mult(&E, "m");
    kvkit_store_t *s = open_store("");
    save_str(s, "m", "k", "{\"v\":1}", NULL);
    delete_ok(s, "m", "k");
    save_str(s, "m", "k", "{\"v\":2}", NULL);
    char *v = get_str(s, "m", "k");
    ck_assert_str_eq(v, "{\"v\":2}");
    free(v);
    ck_assert_int_eq(emu_http(&E, "GET", "/buckets/m/keys/k", NULL, NULL, NULL), 200);
    ck_assert_str_eq(listed(s, "m", NULL, NULL).text, "k,");
    kvkit_store_close(s);
}
END_TEST

/* A tombstone sibling another client left: gets and listings skip it. */
START_TEST(test_tombstone_sibling_skipped)
{
    emu_allow_mult(&E, "m");
    const char *h[] = {"Content-Type: application/json", NULL};
    ck_assert_int_eq(emu_http(&E, "PUT", "/buckets/m/keys/k", "{\"v\":1}", h, NULL), 204);
    ck_assert_int_eq(emu_http(&E, "DELETE", "/buckets/m/keys/k", NULL, NULL, NULL), 204);
    ck_assert_int_eq(emu_http(&E, "PUT", "/buckets/m/keys/k", "{\"v\":2}", h, NULL), 204);
    ck_assert_int_eq(emu_http(&E, "GET", "/buckets/m/keys/k", NULL, NULL, NULL), 300);
    kvkit_store_t *s = open_store("");
    char *v = get_str(s, "m", "k");
    ck_assert_str_eq(v, "{\"v\":2}");
    free(v);
    ck_assert_str_eq(listed(s, "m", NULL, NULL).text, "k,");
    kvkit_error_t err = {0};
    size_t n = 0;
    delete_ok(s, "m", "k");
    ck_assert_int_eq(kvkit_store_get(s, "m", "k", &v, &n, &err), KVKIT_NOTFOUND);
    ck_assert_str_eq(listed(s, "m", NULL, NULL).text, "");
    kvkit_store_close(s);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("riak tombstones");
    TCase *tc = emu_tcase("tombstones");
    tcase_add_test(tc, test_tombstone_not_listed);
    tcase_add_test(tc, test_tombstone_not_listed_without_2i);
    tcase_add_test(tc, test_tombstone_delete_mode_immediate);
    tcase_add_test(tc, test_tombstone_delete_mode_bad);
    tcase_add_test(tc, test_tombstone_recreate_allow_mult);
    tcase_add_test(tc, test_tombstone_sibling_skipped);
    suite_add_tcase(s, tc);
    return run_suite(s);
}
