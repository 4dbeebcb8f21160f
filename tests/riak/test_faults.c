/*
 * test_faults.c - riak: every fault switch of the emulator (HTTP 503, delay,
 * connection dropped mid-body or closed without an answer, malformed JSON,
 * 2i unsupported) plus dead and hung servers.  Each error names the status,
 * Riak's text and the URL path; retries happen only where they cannot
 * repeat a write; nothing is half-written.
 */
#include "riaktest.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

static long count(const char *method)
{
    char *body = NULL;
    ck_assert_int_eq(emu_http(&E, "GET", "/_emu/counters", NULL, NULL, &body), 200);
    char needle[32];
    snprintf(needle, sizeof needle, "\"%s\": ", method);
    const char *p = strstr(body, needle);
    long n = p ? strtol(p + strlen(needle), NULL, 10) : 0;
    free(body);
    return n;
}

static int get_rc(kvkit_store_t *s, const char *bucket, const char *key, kvkit_error_t *err)
{
    char *v = NULL;
    size_t n;
    int rc = kvkit_store_get(s, bucket, key, &v, &n, err);
    free(v);
    return rc;
}

static kvkit_index_set_t *tag_set(const char *tag)
{
    kvkit_index_set_t *ix = kvkit_index_set_create();
    json_t *t = json_string(tag);
    kvkit_index_set_add(ix, "tag", t, NULL);
    json_decref(t);
    return ix;
}

static int count_key(void *ctx, const char *key, size_t len)
{
    (*(int *)ctx)++;
    return 0;
}

/*** HTTP 503 ***/

START_TEST(test_save_fault_503)
{
    kvkit_store_t *s = open_store("");
    emu_fault(&E, "{\"kind\":\"status\",\"method\":\"PUT\",\"path\":\"/buckets/f/keys/k\","
                  "\"status\":503,\"body\":\"PW-value unsatisfied: 0/2\\n\"}");
    emu_counters_reset(&E);
    kvkit_error_t err = {0};
    ck_assert_int_eq(kvkit_store_save(s, "f", "k", "{}", 2, NULL, &err), KVKIT_BACKEND);
    ck_assert_str_eq(err.subject, "k");
    ck_assert_ptr_nonnull(strstr(err.text, "PUT /buckets/f/keys/k"));
    ck_assert_ptr_nonnull(strstr(err.text, "HTTP 503: PW-value unsatisfied: 0/2"));
    ck_assert_int_eq(count("PUT"), 1); /* an HTTP error is an answer: no retry */
    kvkit_error_clear(&err);
    ck_assert_int_eq(get_rc(s, "f", "k", &err), KVKIT_NOTFOUND); /* nothing written */
    kvkit_store_close(s);
}
END_TEST

START_TEST(test_get_fault_503_timed_out)
{
    kvkit_store_t *s = open_store("");
    save_str(s, "f", "k", "{}", NULL);
    emu_fault(&E, "{\"kind\":\"status\",\"method\":\"GET\",\"status\":503}");
    kvkit_error_t err = {0};
    ck_assert_int_eq(get_rc(s, "f", "k", &err), KVKIT_TIMEOUT);
    ck_assert_ptr_nonnull(strstr(err.text, "GET /buckets/f/keys/k"));
    ck_assert_ptr_nonnull(strstr(err.text, "HTTP 503: request timed out"));
    kvkit_store_close(s);
}
END_TEST

/* Riak gave up waiting for the replicas of a write: some may have it. */
START_TEST(test_save_fault_503_timed_out)
{
    kvkit_store_t *s = open_store("");
    emu_fault(&E, "{\"kind\":\"status\",\"method\":\"PUT\",\"status\":503}");
    kvkit_error_t err = {0};
    ck_assert_int_eq(kvkit_store_save(s, "f", "k", "{}", 2, NULL, &err), KVKIT_OUTCOME_UNKNOWN);
    ck_assert_ptr_nonnull(strstr(err.text, "PUT /buckets/f/keys/k"));
    ck_assert_ptr_nonnull(
        strstr(err.text, "HTTP 503: request timed out; the write may or may not have been applied"));
    kvkit_store_close(s);
}
END_TEST

/*** delay ***/

/* The PUT went out whole and the deadline passed while Riak worked on it
 * (the emulator applies it after the delay): not a plain timeout, and
 * never resent.  Its own bucket: the write lands after the test ends. */
START_TEST(test_save_fault_delay_outcome_unknown)
{
    kvkit_store_t *s = open_store("?timeout_ms=300&retries=3");
    emu_fault(&E, "{\"kind\":\"delay\",\"method\":\"PUT\",\"ms\":1000}");
    emu_counters_reset(&E);
    kvkit_error_t err = {0};
    ck_assert_int_eq(kvkit_store_save(s, "slowput", "k", "{}", 2, NULL, &err),
                     KVKIT_OUTCOME_UNKNOWN);
    ck_assert_str_eq(err.subject, "k");
    ck_assert_ptr_nonnull(strstr(err.text, "PUT /buckets/slowput/keys/k"));
    ck_assert_ptr_nonnull(strstr(err.text, "1 attempt,"));
    ck_assert_ptr_nonnull(strstr(err.text, "; the write may or may not have been applied"));
    ck_assert_int_eq(count("PUT"), 1);
    kvkit_store_close(s);
}
END_TEST

START_TEST(test_get_fault_delay_times_out)
{
    kvkit_store_t *s = open_store("?timeout_ms=300&retries=3");
    save_str(s, "f", "k", "{}", NULL);
    emu_fault(&E, "{\"kind\":\"delay\",\"method\":\"GET\",\"ms\":3000}");
    emu_counters_reset(&E);
    kvkit_error_t err = {0};
    ck_assert_int_eq(get_rc(s, "f", "k", &err), KVKIT_TIMEOUT);
    ck_assert_ptr_nonnull(strstr(err.text, "GET /buckets/f/keys/k"));
    ck_assert_ptr_nonnull(strstr(err.text, "timed out"));
    ck_assert_int_eq(count("GET"), 1); /* a timeout is not retried */
    kvkit_store_close(s);
}
END_TEST

START_TEST(test_get_fault_delay_within_timeout)
{
    kvkit_store_t *s = open_store("?timeout_ms=5000");
    save_str(s, "f", "k", "{\"slow\":1}", NULL);
    emu_fault(&E, "{\"kind\":\"delay\",\"method\":\"GET\",\"ms\":200}");
    char *v = get_str(s, "f", "k");
    ck_assert_str_eq(v, "{\"slow\":1}");
    free(v);
    kvkit_store_close(s);
}
END_TEST

static int count_doc(void *ctx, const char *key, size_t key_len, const char *value,
                     size_t value_len)
{
    (*(int *)ctx)++;
    return 0;
}

START_TEST(test_index_docs_fault_delay_times_out)
{
    kvkit_store_t *s = open_store("?timeout_ms=300");
    kvkit_index_set_t *ix = tag_set("t");
    for (int i = 0; i < 20; i++) {
        char key[16];
        snprintf(key, sizeof key, "d%02d", i);
        save_str(s, "f", key, "{}", ix);
    }
    kvkit_index_set_destroy(ix);
    /* the index answers at once, every document GET hangs */
    emu_fault(&E, "{\"kind\":\"delay\",\"method\":\"GET\",\"path\":\"/buckets/f/keys/\","
                  "\"ms\":3000,\"times\":-1}");
    kvkit_error_t err = {0};
    int n = 0;
    json_t *t = json_string("t");
    ck_assert_int_eq(kvkit_store_index_docs(s, "f", "tag", t, NULL, count_doc, &n, &err),
                     KVKIT_TIMEOUT);
    json_decref(t);
    ck_assert_int_eq(n, 0);
    ck_assert_ptr_nonnull(strstr(err.text, "GET /buckets/f/keys/d"));
    kvkit_store_close(s);
}
END_TEST

/*** connection dropped mid-body ***/

START_TEST(test_get_fault_drop_retried)
{
    kvkit_store_t *s = open_store("");
    save_str(s, "f", "k", "{\"value\":\"complete\"}", NULL);
    emu_fault(&E, "{\"kind\":\"drop\",\"method\":\"GET\",\"times\":1}");
    emu_counters_reset(&E);
    char *v = get_str(s, "f", "k");
    ck_assert_str_eq(v, "{\"value\":\"complete\"}"); /* never the half body */
    free(v);
    ck_assert_int_eq(count("GET"), 2);
    kvkit_store_close(s);
}
END_TEST

START_TEST(test_get_fault_drop_always)
{
    kvkit_store_t *s = open_store("?retries=2");
    save_str(s, "f", "k", "{\"value\":\"complete\"}", NULL);
    emu_fault(&E, "{\"kind\":\"drop\",\"method\":\"GET\",\"times\":-1}");
    emu_counters_reset(&E);
    kvkit_error_t err = {0};
    ck_assert_int_eq(get_rc(s, "f", "k", &err), KVKIT_IO);
    ck_assert_ptr_nonnull(strstr(err.text, "GET /buckets/f/keys/k"));
    ck_assert_ptr_nonnull(strstr(err.text, "3 attempts"));
    ck_assert_int_eq(count("GET"), 3);
    kvkit_store_close(s);
}
END_TEST

START_TEST(test_save_fault_drop_outcome_unknown)
{
    kvkit_store_t *s = open_store("?retries=3");
    emu_fault(&E, "{\"kind\":\"drop\",\"method\":\"PUT\"}");
    emu_counters_reset(&E);
    kvkit_error_t err = {0};
    kvkit_index_set_t *ix = tag_set("t");
    ck_assert_int_eq(kvkit_store_save(s, "f", "k", "{}", 2, ix, &err), KVKIT_OUTCOME_UNKNOWN);
    kvkit_index_set_destroy(ix);
    ck_assert_ptr_nonnull(strstr(err.text, "PUT /buckets/f/keys/k"));
    ck_assert_ptr_nonnull(strstr(err.text, "may or may not have been applied"));
    ck_assert_int_eq(count("PUT"), 1); /* a write is never resent */
    kvkit_error_clear(&err);
    ck_assert_int_eq(get_rc(s, "f", "k", &err), KVKIT_NOTFOUND);
    int n = 0;
    json_t *t = json_string("t");
    ck_assert_int_eq(kvkit_store_index_keys(s, "f", "tag", t, NULL, count_key, &n, &err), KVKIT_OK);
    json_decref(t);
    ck_assert_int_eq(n, 0); /* no index entry either */
    kvkit_store_close(s);
}
END_TEST

START_TEST(test_index_fault_drop_retried)
{
    kvkit_store_t *s = open_store("");
    kvkit_index_set_t *ix = tag_set("t");
    save_str(s, "f", "a", "{}", ix);
    save_str(s, "f", "b", "{}", ix);
    kvkit_index_set_destroy(ix);
    emu_fault(&E, "{\"kind\":\"drop\",\"method\":\"GET\",\"path\":\"/buckets/f/index/\","
                  "\"times\":1}");
    kvkit_error_t err = {0};
    int n = 0;
    json_t *t = json_string("t");
    ck_assert_int_eq(kvkit_store_index_keys(s, "f", "tag", t, NULL, count_key, &n, &err), KVKIT_OK);
    json_decref(t);
    ck_assert_int_eq(n, 2);
    kvkit_store_close(s);
}
END_TEST

/*** connection closed without an answer ***/

START_TEST(test_delete_fault_close_retried)
{
    kvkit_store_t *s = open_store("");
    save_str(s, "f", "k", "{}", NULL);
    emu_fault(&E, "{\"kind\":\"close\",\"method\":\"DELETE\",\"times\":1}");
    emu_counters_reset(&E);
    kvkit_error_t err = {0};
    ck_assert_int_eq(kvkit_store_delete(s, "f", "k", &err), KVKIT_OK);
    ck_assert_int_eq(count("DELETE"), 2);
    ck_assert_int_eq(get_rc(s, "f", "k", &err), KVKIT_NOTFOUND);
    kvkit_store_close(s);
}
END_TEST

START_TEST(test_save_fault_close_outcome_unknown)
{
    kvkit_store_t *s = open_store("");
    emu_fault(&E, "{\"kind\":\"close\",\"method\":\"PUT\"}");
    kvkit_error_t err = {0};
    ck_assert_int_eq(kvkit_store_save(s, "f", "k", "{}", 2, NULL, &err), KVKIT_OUTCOME_UNKNOWN);
    ck_assert_ptr_nonnull(strstr(err.text, "PUT /buckets/f/keys/k"));
    kvkit_error_clear(&err);
    ck_assert_int_eq(get_rc(s, "f", "k", &err), KVKIT_NOTFOUND);
    kvkit_store_close(s);
}
END_TEST

/*** malformed JSON ***/

START_TEST(test_index_fault_malformed_json)
{
    kvkit_store_t *s = open_store("?retries=0");
    kvkit_index_set_t *ix = tag_set("t");
    save_str(s, "f", "a", "{}", ix);
    kvkit_index_set_destroy(ix);
    emu_fault(&E, "{\"kind\":\"malformed\",\"method\":\"GET\",\"path\":\"/buckets/f/index/\"}");
    kvkit_error_t err = {0};
    int n = 0;
    json_t *t = json_string("t");
    ck_assert_int_eq(kvkit_store_index_keys(s, "f", "tag", t, NULL, count_key, &n, &err),
                     KVKIT_BACKEND);
    json_decref(t);
    ck_assert_int_eq(n, 0);
    ck_assert_ptr_nonnull(strstr(err.text, "malformed 2i answer"));
    ck_assert_ptr_nonnull(strstr(err.text, "GET /buckets/f/index/tag_bin/t"));
    kvkit_store_close(s);
}
END_TEST

START_TEST(test_list_keys_fault_malformed_stream)
{
    ck_assert_int_eq(emu_http(&E, "PUT", "/_emu/config", "{\"no_2i\":true}", NULL, NULL), 204);
    kvkit_store_t *s = open_store("");
    save_str(s, "f", "a", "{}", NULL);
    emu_fault(&E, "{\"kind\":\"malformed\",\"method\":\"GET\",\"path\":\"/buckets/f/keys\"}");
    kvkit_error_t err = {0};
    int n = 0;
    ck_assert_int_eq(kvkit_store_list_keys(s, "f", NULL, NULL, count_key, &n, &err), KVKIT_BACKEND);
    ck_assert_int_eq(n, 0);
    ck_assert_ptr_nonnull(strstr(err.text, "malformed key listing"));
    ck_assert_ptr_nonnull(strstr(err.text, "GET /buckets/f/keys?keys=stream"));
    kvkit_store_close(s);
}
END_TEST

/*** 2i unsupported (Bitcask) ***/

START_TEST(test_index_no_2i)
{
    ck_assert_int_eq(emu_http(&E, "PUT", "/_emu/config", "{\"no_2i\":true}", NULL, NULL), 204);
    kvkit_store_t *s = open_store("");
    save_str(s, "f", "b", "{}", NULL);
    save_str(s, "f", "a", "{}", NULL);
    kvkit_error_t err = {0};
    int n = 0;
    json_t *t = json_string("t");
    ck_assert_int_eq(kvkit_store_index_keys(s, "f", "tag", t, NULL, count_key, &n, &err),
                     KVKIT_NOT_SUPPORTED);
    json_decref(t);
    ck_assert_ptr_nonnull(strstr(err.text, "secondary indexes (2i) are not supported"));
    ck_assert_ptr_nonnull(strstr(err.text, "indexes_not_supported"));
    ck_assert_ptr_nonnull(strstr(err.text, "HTTP 500"));
    /* listing keys falls back to ?keys=stream */
    kvkit_error_clear(&err);
    n = 0;
    ck_assert_int_eq(kvkit_store_list_keys(s, "f", NULL, NULL, count_key, &n, &err), KVKIT_OK);
    ck_assert_int_eq(n, 2);
    n = 0;
    ck_assert_int_eq(kvkit_store_list_keys(s, "f", "b", NULL, count_key, &n, &err), KVKIT_OK);
    ck_assert_int_eq(n, 1);
    kvkit_store_close(s);
}
END_TEST

/*** dead and hung servers ***/

START_TEST(test_get_dead_server)
{
    emu_t dead;
    emu_start(&dead, NULL);
    emu_stop(&dead); /* nothing listens on its port now */
    char uri[128];
    snprintf(uri, sizeof uri, "riak:http://127.0.0.1:%d?retries=1&timeout_ms=2000", dead.port);
    kvkit_error_t err = {0};
    kvkit_store_t *s = kvkit_store_open(uri, &err);
    ck_assert_ptr_nonnull(s);
    ck_assert_int_eq(get_rc(s, "f", "k", &err), KVKIT_IO);
    ck_assert_ptr_nonnull(strstr(err.text, "GET /buckets/f/keys/k"));
    ck_assert_ptr_nonnull(strstr(err.text, "2 attempts"));
    kvkit_error_clear(&err);
    /* nothing was sent, so even a save may be retried; it still fails */
    ck_assert_int_eq(kvkit_store_save(s, "f", "k", "{}", 2, NULL, &err), KVKIT_IO);
    ck_assert_ptr_nonnull(strstr(err.text, "PUT /buckets/f/keys/k"));
    kvkit_store_close(s);
}
END_TEST

START_TEST(test_get_hung_server)
{
    /* a socket that accepts connections (kernel backlog) but never answers */
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    ck_assert_int_eq(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    ck_assert_int_eq(listen(fd, 8), 0);
    socklen_t len = sizeof a;
    getsockname(fd, (struct sockaddr *)&a, &len);
    char uri[128];
    snprintf(uri, sizeof uri, "riak:http://127.0.0.1:%d?timeout_ms=300", ntohs(a.sin_port));
    kvkit_error_t err = {0};
    kvkit_store_t *s = kvkit_store_open(uri, &err);
    ck_assert_ptr_nonnull(s);
    ck_assert_int_eq(get_rc(s, "f", "k", &err), KVKIT_TIMEOUT);
    ck_assert_ptr_nonnull(strstr(err.text, "GET /buckets/f/keys/k"));
    kvkit_error_clear(&err);
    /* the kernel took the whole PUT: whether it was applied is unknown */
    ck_assert_int_eq(kvkit_store_save(s, "f", "k", "{}", 2, NULL, &err), KVKIT_OUTCOME_UNKNOWN);
    ck_assert_ptr_nonnull(strstr(err.text, "the write may or may not have been applied"));
    kvkit_store_close(s);
    close(fd);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("riak faults");
    TCase *tc = emu_tcase("status");
    tcase_add_test(tc, test_save_fault_503);
    tcase_add_test(tc, test_get_fault_503_timed_out);
    tcase_add_test(tc, test_save_fault_503_timed_out);
    suite_add_tcase(s, tc);
    tc = emu_tcase("delay");
    tcase_add_test(tc, test_get_fault_delay_times_out);
    tcase_add_test(tc, test_get_fault_delay_within_timeout);
    tcase_add_test(tc, test_save_fault_delay_outcome_unknown);
    tcase_add_test(tc, test_index_docs_fault_delay_times_out);
    suite_add_tcase(s, tc);
    tc = emu_tcase("drop");
    tcase_add_test(tc, test_get_fault_drop_retried);
    tcase_add_test(tc, test_get_fault_drop_always);
    tcase_add_test(tc, test_save_fault_drop_outcome_unknown);
    tcase_add_test(tc, test_index_fault_drop_retried);
    tcase_add_test(tc, test_delete_fault_close_retried);
    tcase_add_test(tc, test_save_fault_close_outcome_unknown);
    suite_add_tcase(s, tc);
    tc = emu_tcase("malformed");
    tcase_add_test(tc, test_index_fault_malformed_json);
    tcase_add_test(tc, test_list_keys_fault_malformed_stream);
    suite_add_tcase(s, tc);
    tc = emu_tcase("no_2i");
    tcase_add_test(tc, test_index_no_2i);
    suite_add_tcase(s, tc);
    tc = emu_tcase("servers");
    tcase_add_test(tc, test_get_dead_server);
    tcase_add_test(tc, test_get_hung_server);
    suite_add_tcase(s, tc);
    return run_suite(s);
}
