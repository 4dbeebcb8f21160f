/*
 * test_object.c - riak: get/save/delete, vector clocks carried from read to
 * write, percent-encoding of awkward names, options.
 */
#include "riaktest.h"

#include <pthread.h>

/*** get / save / delete ***/

START_TEST(test_get_roundtrip)
{
    kvkit_store_t *s = open_store("");
    save_str(s, "people", "ann", "{\"name\":\"Ann\"}", NULL);
    char *v = get_str(s, "people", "ann");
    ck_assert_str_eq(v, "{\"name\":\"Ann\"}");
    free(v);
    /* stored as application/json at /buckets/people/keys/ann */
    char *raw = NULL;
    const char *h[] = {"Accept: application/json", NULL};
    ck_assert_int_eq(emu_http(&E, "GET", "/buckets/people/keys/ann", NULL, h, &raw), 200);
    ck_assert_str_eq(raw, "{\"name\":\"Ann\"}");
    free(raw);
    kvkit_store_close(s);
}
END_TEST

START_TEST(test_get_missing)
{
    kvkit_store_t *s = open_store("");
    kvkit_error_t err = {0};
    char *v = NULL;
    size_t n;
    ck_assert_int_eq(kvkit_store_get(s, "people", "nobody", &v, &n, &err), KVKIT_NOTFOUND);
    ck_assert_ptr_null(v);
    kvkit_store_close(s);
}
END_TEST

START_TEST(test_delete_existing_and_missing)
{
    kvkit_store_t *s = open_store("");
    kvkit_error_t err = {0};
    save_str(s, "people", "bob", "{}", NULL);
    ck_assert_int_eq(kvkit_store_delete(s, "people", "bob", &err), KVKIT_OK);
    /* the emulator answers 404 for a missing key, like Riak <= 3.0.15 */
    ck_assert_int_eq(kvkit_store_delete(s, "people", "bob", &err), KVKIT_OK);
    ck_assert_int_eq(err.code, KVKIT_OK);
    char *v = NULL;
    size_t n;
    ck_assert_int_eq(kvkit_store_get(s, "people", "bob", &v, &n, &err), KVKIT_NOTFOUND);
    kvkit_store_close(s);
}
END_TEST

/*** vector clocks ***/

static long raw_status(const char *bucket, const char *key)
{
    char path[256];
    snprintf(path, sizeof path, "/buckets/%s/keys/%s", bucket, key);
    const char *h[] = {"Accept: multipart/mixed, */*;q=0.5", NULL};
    return emu_http(&E, "GET", path, NULL, h, NULL);
}

START_TEST(test_vclock_roundtrip)
{
    emu_allow_mult(&E, "vc");
    kvkit_store_t *s = open_store("");
    save_str(s, "vc", "k", "{\"n\":1}", NULL); /* blind: nothing read yet */
    save_str(s, "vc", "k", "{\"n\":2}", NULL); /* carries the clock returned by the PUT */
    ck_assert_int_eq(raw_status("vc", "k"), 200);
    char *v = get_str(s, "vc", "k");
    ck_assert_str_eq(v, "{\"n\":2}");
    free(v);
    save_str(s, "vc", "k", "{\"n\":3}", NULL); /* carries the clock of the read */
    ck_assert_int_eq(raw_status("vc", "k"), 200);
    /* a second client that read before the last write writes a sibling */
    kvkit_store_t *t = open_store("");
    v = get_str(t, "vc", "k");
    free(v);
    save_str(s, "vc", "k", "{\"n\":4}", NULL);
    save_str(t, "vc", "k", "{\"n\":5}", NULL); /* stale clock */
    ck_assert_int_eq(raw_status("vc", "k"), 300);
    kvkit_store_close(t);
    kvkit_store_close(s);
}
END_TEST

START_TEST(test_vclock_blind_writes_option)
{
    emu_allow_mult(&E, "vc");
    kvkit_store_t *s = open_store("?blind_writes=true");
    save_str(s, "vc", "k", "{\"n\":1}", NULL);
    save_str(s, "vc", "k", "{\"n\":2}", NULL);
    ck_assert_int_eq(raw_status("vc", "k"), 300);
    kvkit_store_close(s);
}
END_TEST

START_TEST(test_vclock_delete_sends_clock)
{
    emu_allow_mult(&E, "vc");
    kvkit_store_t *s = open_store("");
    save_str(s, "vc", "k", "{}", NULL);
    kvkit_error_t err = {0};
    ck_assert_int_eq(kvkit_store_delete(s, "vc", "k", &err), KVKIT_OK);
    ck_assert_int_eq(raw_status("vc", "k"), 404);
    /* clock forgotten: the blind re-create stands beside the tombstone (300),
     * so the save writes once more with both clocks */
    save_str(s, "vc", "k", "{\"again\":true}", NULL);
    ck_assert_int_eq(raw_status("vc", "k"), 200);
    kvkit_store_close(s);
}
END_TEST

/*** percent-encoding ***/

static const char *const awkward[] = {
    "with space", "a/b", "q?x=1",          "100%",      "a+b",    "hash#tag",  "ünïcödé ✓",
    "..",         ".",   "semi;colon&amp", "tab\there", "~tilde", "quote\"s'", "%2F",
};
#define N_AWKWARD (sizeof awkward / sizeof awkward[0])

static int collect_key(void *ctx, const char *key, size_t len)
{
    char **list = ctx;
    for (size_t i = 0; i < N_AWKWARD + 4; i++) {
        if (list[i] == NULL) {
            list[i] = strndup(key, len);
            return 0;
        }
    }
    return 1;
}

START_TEST(test_percent_encoding_awkward_keys)
{
    kvkit_store_t *s = open_store("");
    const char *bucket = "odd bucket/+%?#é";
    for (size_t i = 0; i < N_AWKWARD; i++) {
        char value[256];
        snprintf(value, sizeof value, "{\"i\":%zu}", i);
        save_str(s, bucket, awkward[i], value, NULL);
    }
    for (size_t i = 0; i < N_AWKWARD; i++) {
        char want[64];
        snprintf(want, sizeof want, "{\"i\":%zu}", i);
        char *v = get_str(s, bucket, awkward[i]);
        ck_assert_msg(strcmp(v, want) == 0, "key \"%s\": got %s", awkward[i], v);
        free(v);
    }
    /* Riak stored the decoded names: the raw listing shows them as they are */
    char *raw = NULL;
    ck_assert_int_eq(emu_http(&E, "GET",
                              "/buckets/odd%20bucket%2F%2B%25%3F%23%C3%A9/keys?keys=true", NULL,
                              NULL, &raw),
                     200);
    ck_assert_ptr_nonnull(strstr(raw, "\"a/b\""));
    ck_assert_ptr_nonnull(strstr(raw, "\"a+b\""));
    ck_assert_ptr_nonnull(strstr(raw, "\"with space\""));
    ck_assert_ptr_nonnull(strstr(raw, "\"hash#tag\""));
    ck_assert_ptr_nonnull(strstr(raw, "\"100%\""));
    ck_assert_ptr_nonnull(strstr(raw, "\"ünïcödé ✓\""));
    free(raw);
    /* and listing through kvkit gives every key back, sorted */
    char *keys[N_AWKWARD + 4] = {0};
    kvkit_error_t err = {0};
    ck_assert_int_eq(kvkit_store_list_keys(s, bucket, NULL, NULL, collect_key, keys, &err),
                     KVKIT_OK);
    size_t n = 0;
    while (keys[n])
        n++;
    ck_assert_uint_eq(n, N_AWKWARD);
    for (size_t i = 1; i < n; i++)
        ck_assert_msg(strcmp(keys[i - 1], keys[i]) < 0, "unsorted: %s, %s", keys[i - 1], keys[i]);
    for (size_t i = 0; i < n; i++) {
        bool found = false;
        for (size_t j = 0; j < N_AWKWARD; j++)
            found |= strcmp(keys[i], awkward[j]) == 0;
        ck_assert_msg(found, "unexpected key \"%s\"", keys[i]);
        free(keys[i]);
    }
    for (size_t i = 0; i < N_AWKWARD; i++)
        ck_assert_int_eq(kvkit_store_delete(s, bucket, awkward[i], &err), KVKIT_OK);
    kvkit_store_close(s);
}
END_TEST

/*** options ***/

START_TEST(test_open_unknown_option)
{
    char uri[256];
    kvkit_error_t err = {0};
    emu_store_uri(&E, "?r=quorum&frobnicate=1", uri, sizeof uri);
    ck_assert_ptr_null(kvkit_store_open(uri, &err));
    ck_assert_int_eq(err.code, KVKIT_BAD_OPTION);
    ck_assert_str_eq(err.subject, "frobnicate");
    ck_assert_ptr_nonnull(strstr(err.text, "unknown option \"frobnicate\""));
}
END_TEST

START_TEST(test_open_bad_quorum_value)
{
    char uri[256];
    kvkit_error_t err = {0};
    emu_store_uri(&E, "?w=most", uri, sizeof uri);
    ck_assert_ptr_null(kvkit_store_open(uri, &err));
    ck_assert_int_eq(err.code, KVKIT_BAD_OPTION);
    ck_assert_str_eq(err.subject, "w");
    ck_assert_ptr_nonnull(strstr(err.text, "one, quorum, all, default, got \"most\""));
}
END_TEST

START_TEST(test_open_bad_location)
{
    kvkit_error_t err = {0};
    ck_assert_ptr_null(kvkit_store_open("riak:ftp://127.0.0.1:1", &err));
    ck_assert_int_eq(err.code, KVKIT_INVALID);
    ck_assert_ptr_nonnull(strstr(err.text, "http:// or https://"));
}
END_TEST

START_TEST(test_quorum_parameters_reach_riak)
{
    /* r=5 is more than n_val=3: Riak (and the emulator) refuse the read */
    kvkit_store_t *s = open_store("?r=5");
    save_str(s, "q", "k", "{}", NULL);
    kvkit_error_t err = {0};
    char *v = NULL;
    size_t n;
    ck_assert_int_eq(kvkit_store_get(s, "q", "k", &v, &n, &err), KVKIT_INVALID);
    ck_assert_ptr_nonnull(strstr(err.text, "HTTP 400"));
    ck_assert_ptr_nonnull(strstr(err.text, "Specified r/pr values invalid"));
    ck_assert_ptr_nonnull(strstr(err.text, "GET /buckets/q/keys/k?r=5"));
    kvkit_store_close(s);
    s = open_store("?r=all&pr=one&w=2&dw=one&pw=0&rw=quorum&basic_quorum=true&notfound_ok=false");
    save_str(s, "q", "k2", "{\"ok\":1}", NULL);
    v = get_str(s, "q", "k2");
    ck_assert_str_eq(v, "{\"ok\":1}");
    free(v);
    ck_assert_int_eq(kvkit_store_delete(s, "q", "k2", &err), KVKIT_OK);
    kvkit_store_close(s);
}
END_TEST

START_TEST(test_bucket_type)
{
    ck_assert_int_eq(
        emu_http(&E, "PUT", "/_emu/config", "{\"bucket_types\":[\"docs\"]}", NULL, NULL), 204);
    kvkit_store_t *s = open_store("?bucket_type=docs");
    save_str(s, "b", "k", "{\"t\":1}", NULL);
    char *raw = NULL;
    ck_assert_int_eq(emu_http(&E, "GET", "/types/docs/buckets/b/keys/k", NULL, NULL, &raw), 200);
    ck_assert_str_eq(raw, "{\"t\":1}");
    free(raw);
    kvkit_store_close(s);
    s = open_store("?bucket_type=nosuch");
    kvkit_error_t err = {0};
    char *v = NULL;
    size_t n;
    ck_assert_int_eq(kvkit_store_get(s, "b", "k", &v, &n, &err), KVKIT_BACKEND);
    ck_assert_ptr_nonnull(strstr(err.text, "HTTP 404: Unknown bucket type: nosuch"));
    kvkit_store_close(s);
}
END_TEST

START_TEST(test_credentials_not_in_messages)
{
    char uri[256];
    snprintf(uri, sizeof uri, "riak:http://admin:s3cret@127.0.0.1:%d?r=9", E.port);
    kvkit_error_t err = {0};
    kvkit_store_t *s = kvkit_store_open(uri, &err);
    ck_assert_ptr_nonnull(s);
    char *v = NULL;
    size_t n;
    ck_assert_int_eq(kvkit_store_get(s, "q", "k", &v, &n, &err), KVKIT_INVALID);
    ck_assert_ptr_nonnull(strstr(err.text, "GET /buckets/q/keys/k"));
    ck_assert_ptr_null(strstr(err.text, "s3cret"));
    ck_assert_ptr_null(strstr(err.subject, "s3cret"));
    kvkit_store_close(s);
}
END_TEST

/*** threads ***/

#define THREADS 4
#define PER_THREAD 25

typedef struct worker {
    kvkit_store_t *s;
    int id;
    int failures;
} worker_t;

static void *work(void *arg)
{
    worker_t *w = arg;
    for (int i = 0; i < PER_THREAD; i++) {
        char key[32], val[64];
        snprintf(key, sizeof key, "t%d-%02d", w->id, i);
        snprintf(val, sizeof val, "{\"t\":%d,\"i\":%d}", w->id, i);
        kvkit_error_t err = {0};
        kvkit_index_set_t *ix = kvkit_index_set_create();
        json_t *n = json_integer(w->id * 100 + i);
        kvkit_index_set_add(ix, "n", n, &err);
        json_decref(n);
        if (kvkit_store_save(w->s, "thr", key, val, strlen(val), ix, &err) != KVKIT_OK)
            w->failures++;
        kvkit_index_set_destroy(ix);
        char *v = NULL;
        size_t len;
        if (kvkit_store_get(w->s, "thr", key, &v, &len, &err) != KVKIT_OK || strcmp(v, val))
            w->failures++;
        free(v);
    }
    return NULL;
}

static int count_key(void *ctx, const char *key, size_t len)
{
    (*(int *)ctx)++;
    return 0;
}

START_TEST(test_store_shared_by_threads)
{
    kvkit_store_t *s = open_store("");
    ck_assert(kvkit_store_descriptor(s)->flags & KVKIT_BACKEND_THREAD_SAFE);
    pthread_t t[THREADS];
    worker_t w[THREADS];
    for (int i = 0; i < THREADS; i++) {
        w[i] = (worker_t){s, i, 0};
        ck_assert_int_eq(pthread_create(&t[i], NULL, work, &w[i]), 0);
    }
    for (int i = 0; i < THREADS; i++) {
        pthread_join(t[i], NULL);
        ck_assert_int_eq(w[i].failures, 0);
    }
    int n = 0;
    kvkit_error_t err = {0};
    json_t *lo = json_integer(0), *hi = json_integer(1000);
    ck_assert_int_eq(kvkit_store_index_keys(s, "thr", "n", lo, hi, count_key, &n, &err), KVKIT_OK);
    ck_assert_int_eq(n, THREADS * PER_THREAD);
    json_decref(lo);
    json_decref(hi);
    kvkit_store_close(s);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("riak object");
    TCase *tc = emu_tcase("objects");
    tcase_add_test(tc, test_get_roundtrip);
    tcase_add_test(tc, test_get_missing);
    tcase_add_test(tc, test_delete_existing_and_missing);
    tcase_add_test(tc, test_store_shared_by_threads);
    suite_add_tcase(s, tc);
    tc = emu_tcase("vclock");
    tcase_add_test(tc, test_vclock_roundtrip);
    tcase_add_test(tc, test_vclock_blind_writes_option);
    tcase_add_test(tc, test_vclock_delete_sends_clock);
    suite_add_tcase(s, tc);
    tc = emu_tcase("encoding");
    tcase_add_test(tc, test_percent_encoding_awkward_keys);
    suite_add_tcase(s, tc);
    tc = emu_tcase("options");
    tcase_add_test(tc, test_open_unknown_option);
    tcase_add_test(tc, test_open_bad_quorum_value);
    tcase_add_test(tc, test_open_bad_location);
    tcase_add_test(tc, test_quorum_parameters_reach_riak);
    tcase_add_test(tc, test_bucket_type);
    tcase_add_test(tc, test_credentials_not_in_messages);
    suite_add_tcase(s, tc);
    return run_suite(s);
}
