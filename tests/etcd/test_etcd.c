/* test_etcd.c - the etcd backend against a live member (ETCD_EPS, set by
 * unit.sh): options, layout hygiene, limits, endpoint failover,
 * save-if-unchanged, batches, concurrent writers and iteration views. */
#include <kvkit/kvkit.h>

#include <arpa/inet.h>
#include <check.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "raw.h"

static const char *eps; /* comma-separated client URLs */
static char prefix[64]; /* a fresh key prefix per test */

static kvkit_store_t *open_with(const char *extra)
{
    static unsigned n;
    snprintf(prefix, sizeof prefix, "t%u-%u/", (unsigned)getpid(), ++n);
    char uri[1024];
    snprintf(uri, sizeof uri, "etcd:%s?prefix=%s%s", eps, prefix, extra ? extra : "");
    kvkit_error_t err = {0};
    kvkit_store_t *s = kvkit_store_open(uri, &err);
    ck_assert_msg(s != NULL, "open %s: %s", uri, err.text);
    return s;
}

static kvkit_index_set_t *index_of(const char *field, json_t *value)
{
    kvkit_index_set_t *set = kvkit_index_set_create();
    kvkit_error_t err = {0};
    ck_assert_int_eq(kvkit_index_set_add(set, field, value, &err), KVKIT_OK);
    json_decref(value);
    return set;
}

static int collect(void *ctx, const char *key, size_t len)
{
    char *buf = ctx;
    strcat(buf, key);
    strcat(buf, ";");
    return 0;
}

static void keys_eq(kvkit_store_t *s, const char *field, json_t *lo, json_t *hi, const char *want)
{
    char got[4096] = "";
    kvkit_error_t err = {0};
    ck_assert_int_eq(kvkit_store_index_keys(s, "b", field, lo, hi, collect, got, &err), KVKIT_OK);
    ck_assert_str_eq(got, want);
    json_decref(lo);
    json_decref(hi);
}

/*** opening ***/

START_TEST(test_open_unknown_option)
{
    char uri[512];
    snprintf(uri, sizeof uri, "etcd:%s?timeout_ms=100&bogus=1", eps);
    kvkit_error_t err = {0};
    ck_assert_ptr_null(kvkit_store_open(uri, &err));
    ck_assert_int_eq(err.code, KVKIT_BAD_OPTION);
    ck_assert_ptr_nonnull(strstr(err.text, "unknown option \"bogus\""));
}
END_TEST

START_TEST(test_open_bad_option_value)
{
    char uri[512];
    snprintf(uri, sizeof uri, "etcd:%s?retries=many", eps);
    kvkit_error_t err = {0};
    ck_assert_ptr_null(kvkit_store_open(uri, &err));
    ck_assert_int_eq(err.code, KVKIT_BAD_OPTION);
    ck_assert_ptr_nonnull(strstr(err.text, "option \"retries\": expected a whole number"));
}
END_TEST

START_TEST(test_open_bad_endpoint)
{
    kvkit_error_t err = {0};
    ck_assert_ptr_null(kvkit_store_open("etcd:", &err));
    ck_assert_int_eq(err.code, KVKIT_INVALID);
    ck_assert_ptr_nonnull(strstr(err.text, "no endpoint given"));
    kvkit_error_clear(&err);
    ck_assert_ptr_null(kvkit_store_open("etcd:127.0.0.1:2379", &err));
    ck_assert_int_eq(err.code, KVKIT_INVALID);
    ck_assert_ptr_nonnull(strstr(err.text, "is not an http:// or https:// URL"));
}
END_TEST

/*** documents, index entries, layout ***/

START_TEST(test_save_layout_and_delete_leaves_nothing)
{
    kvkit_store_t *s = open_with(NULL);
    kvkit_error_t err = {0};
    kvkit_index_set_t *set = index_of("tags", json_pack("[s,s,i]", "x", "y", 7));
    ck_assert_int_eq(kvkit_store_save(s, "b", "k1", "{}", 2, set, &err), KVKIT_OK);
    /* document + manifest + three index entries */
    ck_assert_int_eq(raw_count(raw_first(eps), prefix), 5);
    kvkit_index_set_destroy(set);
    set = index_of("tags", json_pack("[s]", "y"));
    ck_assert_int_eq(kvkit_store_save(s, "b", "k1", "{}", 2, set, &err), KVKIT_OK);
    ck_assert_int_eq(raw_count(raw_first(eps), prefix), 3);
    keys_eq(s, "tags", json_string("x"), NULL, "");
    keys_eq(s, "tags", json_string("y"), NULL, "k1;");
    ck_assert_int_eq(kvkit_store_delete(s, "b", "k1", &err), KVKIT_OK);
    ck_assert_int_eq(raw_count(raw_first(eps), prefix), 0);
    ck_assert_int_eq(kvkit_store_delete(s, "b", "k1", &err), KVKIT_OK); /* absent: fine */
    kvkit_index_set_destroy(set);
    kvkit_store_close(s);
}
END_TEST

START_TEST(test_index_lookup_each_key_once_in_order)
{
    kvkit_store_t *s = open_with(NULL);
    kvkit_error_t err = {0};
    const char *keys[] = {"c", "a", "b"};
    json_t *vals[] = {json_pack("[i,i,i]", 1, 5, 9), json_pack("[i,i]", 5, 6), json_pack("[i]", 3)};
    for (int i = 0; i < 3; i++) {
        kvkit_index_set_t *set = index_of("n", vals[i]);
        ck_assert_int_eq(kvkit_store_save(s, "b", keys[i], "{}", 2, set, &err), KVKIT_OK);
        kvkit_index_set_destroy(set);
    }
    /* at the first value >= lo, in (value, key) order */
    keys_eq(s, "n", json_integer(2), json_integer(9), "b;a;c;");
    keys_eq(s, "n", json_integer(0), json_integer(100), "c;b;a;");
    keys_eq(s, "n", json_integer(6), json_integer(8), "a;");
    keys_eq(s, "n", json_real(5.0), NULL, "a;c;");
    kvkit_store_close(s);
}
END_TEST

typedef struct docs {
    char text[256];
} docs_t;

static int collect_doc(void *ctx, const char *key, size_t klen, const char *value, size_t vlen)
{
    docs_t *d = ctx;
    size_t l = strlen(d->text);
    snprintf(d->text + l, sizeof d->text - l, "%s=%.*s;", key, (int)vlen, value);
    return 0;
}

START_TEST(test_index_docs_reads_documents_and_reports_dangling_entry)
{
    kvkit_store_t *s = open_with(NULL);
    kvkit_error_t err = {0};
    kvkit_index_set_t *set = index_of("f", json_string("v"));
    ck_assert_int_eq(kvkit_store_save(s, "b", "a", "{\"a\":1}", 7, set, &err), KVKIT_OK);
    kvkit_index_set_destroy(set);
    ck_assert(kvkit_store_supports(s, "index_docs"));
    docs_t d = {""};
    json_t *v = json_string("v");
    ck_assert_int_eq(kvkit_store_index_docs(s, "b", "f", v, NULL, collect_doc, &d, &err), KVKIT_OK);
    ck_assert_str_eq(d.text, "a={\"a\":1};");
    /* an index entry whose document is missing (written behind kvkit's back) */
    unsigned char *sortable;
    size_t slen;
    ck_assert_int_eq(kvkit_index_encode(v, &sortable, &slen, &err), KVKIT_OK);
    unsigned char key[256];
    size_t n = 0;
    memcpy(key, prefix, strlen(prefix));
    n += strlen(prefix);
    key[n++] = 'i';
    key[n++] = 1;
    key[n++] = 'b';
    key[n++] = 1;
    key[n++] = 'f';
    memcpy(key + n, sortable, slen);
    n += slen;
    memcpy(key + n, "ghost", 5);
    n += 5;
    free(sortable);
    ck_assert_int_eq(raw_putn(raw_first(eps), key, n, "\0", 1), 0);
    d.text[0] = '\0';
    ck_assert_int_eq(kvkit_store_index_docs(s, "b", "f", v, NULL, collect_doc, &d, &err),
                     KVKIT_CORRUPT);
    ck_assert_ptr_nonnull(strstr(err.text, "points at missing document \"ghost\""));
    json_decref(v);
    kvkit_store_close(s);
}
END_TEST

START_TEST(test_list_keys_across_pages)
{
    /* more keys than one range page (500), written in batches */
    kvkit_store_t *s = open_with(NULL);
    kvkit_error_t err = {0};
    kvkit_batch_t *batch = kvkit_batch_create();
    for (int i = 0; i < 1100; i++) {
        char key[16];
        snprintf(key, sizeof key, "k%05d", i);
        ck_assert_int_eq(kvkit_batch_save(batch, "b", key, "1", 1, NULL, &err), KVKIT_OK);
        if (kvkit_batch_size(batch) == 50 || i == 1099) {
            ck_assert_msg(kvkit_store_write(s, batch, &err) == KVKIT_OK, "%s", err.text);
            kvkit_batch_destroy(batch);
            batch = kvkit_batch_create();
        }
    }
    kvkit_batch_destroy(batch);
    kvkit_iter_t *it = kvkit_store_keys_iter(s, "b", "k00100", "k01050", 0);
    int want = 100;
    for (; kvkit_iter_valid(it); kvkit_iter_next(it), want++) {
        char key[16];
        snprintf(key, sizeof key, "k%05d", want);
        ck_assert_str_eq(kvkit_iter_key(it, NULL), key);
    }
    ck_assert_int_eq(kvkit_iter_status(it, &err), KVKIT_OK);
    ck_assert_int_eq(want, 1051);
    kvkit_iter_destroy(it);
    kvkit_store_close(s);
}
END_TEST

START_TEST(test_prefix_isolates_stores)
{
    kvkit_store_t *a = open_with(NULL), *b = open_with(NULL);
    kvkit_error_t err = {0};
    ck_assert_int_eq(kvkit_store_save(a, "b", "k", "A", 1, NULL, &err), KVKIT_OK);
    char *v;
    size_t n;
    ck_assert_int_eq(kvkit_store_get(b, "b", "k", &v, &n, &err), KVKIT_NOTFOUND);
    ck_assert_int_eq(kvkit_store_get(a, "b", "k", &v, &n, &err), KVKIT_OK);
    ck_assert_str_eq(v, "A");
    free(v);
    kvkit_store_close(a);
    kvkit_store_close(b);
}
END_TEST

static kvkit_store_t *open_same_prefix(void)
{
    char uri[1024];
    snprintf(uri, sizeof uri, "etcd:%s?prefix=%s", eps, prefix);
    kvkit_error_t err = {0};
    kvkit_store_t *s = kvkit_store_open(uri, &err);
    ck_assert_msg(s != NULL, "%s", err.text);
    return s;
}

static void save_n(kvkit_store_t *s, int n)
{
    kvkit_error_t err = {0};
    kvkit_index_set_t *set = index_of("n", json_integer(n));
    ck_assert_msg(kvkit_store_save(s, "b", "k", "{}", 2, set, &err) == KVKIT_OK, "%s", err.text);
    kvkit_index_set_destroy(set);
}

START_TEST(test_two_handles_never_leave_stale_entries)
{
    /* each handle remembers the manifests it wrote; the other handle's
     * writes make that memory stale, which must cost time, not correctness */
    kvkit_store_t *a = open_with("&retries=0"), *b = open_same_prefix();
    save_n(a, 1);
    save_n(b, 2);
    save_n(a, 3);
    keys_eq(a, "n", json_integer(0), json_integer(9), "k;");
    keys_eq(a, "n", json_integer(3), NULL, "k;");
    ck_assert_int_eq(raw_count(raw_first(eps), prefix), 3);
    save_n(b, 4);
    kvkit_error_t err = {0};
    ck_assert_int_eq(kvkit_store_delete(a, "b", "k", &err), KVKIT_OK);
    ck_assert_int_eq(raw_count(raw_first(eps), prefix), 0);
    save_n(b, 5); /* b believes k still holds n=4 */
    keys_eq(b, "n", json_integer(0), json_integer(9), "k;");
    ck_assert_int_eq(raw_count(raw_first(eps), prefix), 3);
    kvkit_store_close(a);
    kvkit_store_close(b);
}
END_TEST

START_TEST(test_write_batch_same_key_twice)
{
    kvkit_store_t *s = open_with(NULL);
    kvkit_error_t err = {0};
    kvkit_batch_t *batch = kvkit_batch_create();
    kvkit_index_set_t *set = index_of("f", json_string("v1"));
    ck_assert_int_eq(kvkit_batch_save(batch, "b", "k", "1", 1, set, &err), KVKIT_OK);
    ck_assert_int_eq(kvkit_batch_delete(batch, "b", "k", &err), KVKIT_OK);
    ck_assert_int_eq(kvkit_batch_save(batch, "b", "j", "2", 1, set, &err), KVKIT_OK);
    ck_assert_msg(kvkit_store_write(s, batch, &err) == KVKIT_OK, "%s", err.text);
    char *v;
    size_t n;
    ck_assert_int_eq(kvkit_store_get(s, "b", "k", &v, &n, &err), KVKIT_NOTFOUND);
    keys_eq(s, "f", json_string("v1"), NULL, "j;");
    kvkit_batch_destroy(batch);
    kvkit_index_set_destroy(set);
    kvkit_store_close(s);
}
END_TEST

/*** limits ***/

START_TEST(test_write_batch_over_txn_limit_is_split)
{
    /* 100 documents x (document + manifest + 2 entries) = 400 operations,
     * over the default --max-txn-ops 128: applied in parts that fit */
    kvkit_store_t *s = open_with(NULL);
    kvkit_error_t err = {0};
    kvkit_batch_t *batch = kvkit_batch_create();
    for (int i = 0; i < 100; i++) {
        char key[16];
        snprintf(key, sizeof key, "k%03d", i);
        kvkit_index_set_t *set = index_of("n", json_pack("[i,i]", i, 1000 + i));
        ck_assert_int_eq(kvkit_batch_save(batch, "b", key, "{}", 2, set, &err), KVKIT_OK);
        kvkit_index_set_destroy(set);
    }
    ck_assert_msg(kvkit_store_write(s, batch, &err) == KVKIT_OK, "%s", err.text);
    ck_assert_int_eq(raw_count(raw_first(eps), prefix), 400);
    keys_eq(s, "n", json_integer(1042), NULL, "k042;");
    kvkit_batch_destroy(batch);
    kvkit_store_close(s);
}
END_TEST

START_TEST(test_save_too_many_index_entries)
{
    kvkit_store_t *s = open_with(NULL);
    kvkit_error_t err = {0};
    json_t *many = json_array();
    for (int i = 0; i < 200; i++)
        json_array_append_new(many, json_integer(i));
    kvkit_index_set_t *set = index_of("n", many);
    ck_assert_int_eq(kvkit_store_save(s, "b", "k", "{}", 2, set, &err), KVKIT_TOO_LARGE);
    ck_assert_ptr_nonnull(strstr(err.text, "--max-txn-ops limit (128 by default)"));
    ck_assert_ptr_nonnull(strstr(err.text, "too many operations in txn request"));
    ck_assert_int_eq(raw_count(raw_first(eps), prefix), 0); /* nothing written */
    kvkit_index_set_destroy(set);
    kvkit_store_close(s);
}
END_TEST

START_TEST(test_save_value_over_request_limit)
{
    kvkit_store_t *s = open_with(NULL);
    kvkit_error_t err = {0};
    size_t big = 1600 * 1024;
    char *v = malloc(big);
    memset(v, 'x', big);
    ck_assert_int_eq(kvkit_store_save(s, "b", "k", v, big, NULL, &err), KVKIT_TOO_LARGE);
    ck_assert_ptr_nonnull(strstr(err.text, "--max-request-bytes limit (1.5 MiB by default)"));
    ck_assert_int_eq(raw_count(raw_first(eps), prefix), 0);
    free(v);
    kvkit_store_close(s);
}
END_TEST

/*** endpoints ***/

START_TEST(test_dead_first_endpoint_fails_over)
{
    /* port 1 on loopback: connection refused at once */
    char uri[1024];
    snprintf(uri, sizeof uri, "etcd:http://127.0.0.1:1,%s?prefix=fo%u/", eps, (unsigned)getpid());
    kvkit_error_t err = {0};
    kvkit_store_t *s = kvkit_store_open(uri, &err);
    ck_assert_ptr_nonnull(s);
    ck_assert_msg(kvkit_store_save(s, "b", "k", "v", 1, NULL, &err) == KVKIT_OK, "%s", err.text);
    char *v;
    size_t n;
    ck_assert_int_eq(kvkit_store_get(s, "b", "k", &v, &n, &err), KVKIT_OK);
    free(v);
    ck_assert_int_eq(kvkit_store_delete(s, "b", "k", &err), KVKIT_OK);
    kvkit_store_close(s);
}
END_TEST

/* A member that accepts connections and never answers: it notes whether
 * anything but a probe reached it. */
static int silent_fd;
static volatile int silent_got_kv;

static void *silent_serve(void *arg)
{
    int c;
    while ((c = accept(silent_fd, NULL, NULL)) >= 0) {
        char buf[4096];
        ssize_t n;
        while ((n = read(c, buf, sizeof buf - 1)) > 0) {
            buf[n] = '\0';
            if (strstr(buf, "/v3/kv/"))
                silent_got_kv = 1;
        }
        close(c);
    }
    return arg;
}

START_TEST(test_silent_first_endpoint_skipped_at_open)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t alen = sizeof a;
    silent_fd = socket(AF_INET, SOCK_STREAM, 0);
    ck_assert_int_eq(bind(silent_fd, (struct sockaddr *)&a, sizeof a), 0);
    ck_assert_int_eq(listen(silent_fd, 16), 0);
    ck_assert_int_eq(getsockname(silent_fd, (struct sockaddr *)&a, &alen), 0);
    pthread_t t;
    pthread_create(&t, NULL, silent_serve, NULL);
    char uri[1024];
    snprintf(uri, sizeof uri,
             "etcd:http://127.0.0.1:%u,%s?prefix=sl%u/&probe_timeout_ms=300&timeout_ms=3000",
             (unsigned)ntohs(a.sin_port), eps, (unsigned)getpid());
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    kvkit_error_t err = {0};
    kvkit_store_t *s = kvkit_store_open(uri, &err);
    ck_assert_msg(s != NULL, "%s", err.text);
    char *v;
    size_t n;
    /* the probes at open chose the member that answered */
    ck_assert_msg(kvkit_store_get(s, "b", "k", &v, &n, &err) == KVKIT_NOTFOUND, "%s", err.text);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    ck_assert_int_eq(silent_got_kv, 0);
    printf("silent first endpoint: open + first get took %.0f ms (probe_timeout_ms 300)\n",
           (t1.tv_sec - t0.tv_sec) * 1e3 + (t1.tv_nsec - t0.tv_nsec) / 1e6);
    kvkit_store_close(s);
    shutdown(silent_fd, SHUT_RDWR);
    close(silent_fd);
}
END_TEST

START_TEST(test_no_endpoint_reachable)
{
    kvkit_error_t err = {0};
    kvkit_store_t *s = kvkit_store_open("etcd:http://127.0.0.1:1?retries=1", &err);
    ck_assert_ptr_nonnull(s);
    char *v;
    size_t n;
    ck_assert_int_eq(kvkit_store_get(s, "b", "k", &v, &n, &err), KVKIT_IO);
    ck_assert_ptr_nonnull(strstr(err.text, "http://127.0.0.1:1/v3/kv/range"));
    ck_assert_ptr_nonnull(strstr(err.text, "Couldn't connect"));
    kvkit_error_clear(&err);
    /* a write that was never sent is a plain failure, not outcome-unknown */
    ck_assert_int_eq(kvkit_store_save(s, "b", "k", "v", 1, NULL, &err), KVKIT_IO);
    kvkit_store_close(s);
}
END_TEST

/*** save-if-unchanged ***/

START_TEST(test_save_if_second_copy_conflicts)
{
    kvkit_store_t *s = open_with(NULL);
    kvkit_error_t err = {0};
    kvkit_index_set_t *set = index_of("v", json_integer(1));
    ck_assert_int_eq(kvkit_store_save(s, "b", "k", "{\"v\":1}", 7, set, &err), KVKIT_OK);
    kvkit_index_set_destroy(set);
    /* two copies of the document */
    char *v1, *v2;
    size_t n;
    uint64_t r1, r2, r3;
    ck_assert_int_eq(kvkit_store_get_rev(s, "b", "k", &v1, &n, &r1, &err), KVKIT_OK);
    ck_assert_int_eq(kvkit_store_get_rev(s, "b", "k", &v2, &n, &r2, &err), KVKIT_OK);
    ck_assert_uint_eq(r1, r2);
    ck_assert_uint_ne(r1, 0);
    set = index_of("v", json_integer(2));
    ck_assert_int_eq(kvkit_store_save_if(s, "b", "k", "{\"v\":2}", 7, set, r1, &r3, &err),
                     KVKIT_OK);
    ck_assert_uint_gt(r3, r1);
    kvkit_index_set_destroy(set);
    set = index_of("v", json_integer(3));
    ck_assert_int_eq(kvkit_store_save_if(s, "b", "k", "{\"v\":3}", 7, set, r2, NULL, &err),
                     KVKIT_CONFLICT);
    ck_assert_ptr_nonnull(strstr(err.text, "changed since it was read"));
    kvkit_index_set_destroy(set);
    /* nothing changed: the first copy's save stands, with its index entry */
    char *v;
    uint64_t r4;
    ck_assert_int_eq(kvkit_store_get_rev(s, "b", "k", &v, &n, &r4, &err), KVKIT_OK);
    ck_assert_str_eq(v, "{\"v\":2}");
    ck_assert_uint_eq(r4, r3);
    keys_eq(s, "v", json_integer(0), json_integer(9), "k;");
    keys_eq(s, "v", json_integer(3), NULL, "");
    free(v);
    free(v1);
    free(v2);
    kvkit_store_close(s);
}
END_TEST

START_TEST(test_save_if_expected_absent)
{
    kvkit_store_t *s = open_with(NULL);
    kvkit_error_t err = {0};
    uint64_t r;
    ck_assert_int_eq(kvkit_store_save_if(s, "b", "k", "1", 1, NULL, 0, &r, &err), KVKIT_OK);
    ck_assert_int_eq(kvkit_store_save_if(s, "b", "k", "2", 1, NULL, 0, NULL, &err), KVKIT_CONFLICT);
    ck_assert_ptr_nonnull(strstr(err.text, "expected 0"));
    /* revisions are never reused, even across delete and re-create */
    ck_assert_int_eq(kvkit_store_delete(s, "b", "k", &err), KVKIT_OK);
    kvkit_error_clear(&err);
    ck_assert_int_eq(kvkit_store_save_if(s, "b", "k", "3", 1, NULL, r, NULL, &err), KVKIT_CONFLICT);
    kvkit_store_close(s);
}
END_TEST

/*** concurrent writers: lost races are retried, no stale index entries ***/

typedef struct writer {
    kvkit_store_t *s;
    int id;
    int ok, conflicts, other;
} writer_t;

static void *writer_run(void *v)
{
    writer_t *w = v;
    for (int i = 0; i < 25; i++) {
        kvkit_error_t err = {0};
        kvkit_index_set_t *set = kvkit_index_set_create();
        json_t *val = json_pack("[i,i]", w->id * 1000 + i, 1);
        kvkit_index_set_add(set, "n", val, &err);
        json_decref(val);
        char doc[32];
        snprintf(doc, sizeof doc, "%d", w->id * 1000 + i);
        int rc = kvkit_store_save(w->s, "b", "hot", doc, strlen(doc), set, &err);
        if (rc == KVKIT_OK)
            w->ok++;
        else if (rc == KVKIT_CONFLICT)
            w->conflicts++;
        else
            w->other++;
        kvkit_index_set_destroy(set);
    }
    return NULL;
}

START_TEST(test_concurrent_saves_leave_exact_index)
{
    kvkit_store_t *s = open_with("&retries=50");
    writer_t w[4];
    pthread_t t[4];
    for (int i = 0; i < 4; i++) {
        w[i] = (writer_t){s, i + 1, 0, 0, 0};
        pthread_create(&t[i], NULL, writer_run, &w[i]);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(t[i], NULL);
        ck_assert_int_eq(w[i].other, 0);
        ck_assert_int_gt(w[i].ok, 0);
    }
    char *v;
    size_t n;
    kvkit_error_t err = {0};
    ck_assert_int_eq(kvkit_store_get(s, "b", "hot", &v, &n, &err), KVKIT_OK);
    char want[16];
    snprintf(want, sizeof want, "%s", v);
    free(v);
    /* exactly the stored document's two entries remain */
    keys_eq(s, "n", json_integer(0), json_integer(100000), "hot;");
    keys_eq(s, "n", json_integer(atoi(want)), NULL, "hot;");
    ck_assert_int_eq(raw_count(raw_first(eps), prefix), 4);
    kvkit_store_close(s);
}
END_TEST

/*** views: an iteration reads one revision ***/

enum view_kind { VIEW_INDEX_KEYS, VIEW_INDEX_DOCS, VIEW_KEYS };

/* Open an iteration over 600 results (its first page of 256 pins the
 * view's revision), write, compact etcd past that revision: the next page
 * cannot be read any more, and the iteration ends with KVKIT_CONFLICT
 * naming the revision and saying to start again. */
static void view_compacted(enum view_kind kind)
{
    kvkit_store_t *s = open_with(NULL);
    kvkit_error_t err = {0};
    kvkit_batch_t *batch = kvkit_batch_create();
    for (int i = 0; i < 600; i++) {
        char key[16];
        snprintf(key, sizeof key, "k%05d", i);
        kvkit_index_set_t *set = index_of("n", json_integer(i));
        ck_assert_int_eq(kvkit_batch_save(batch, "b", key, "{}", 2, set, &err), KVKIT_OK);
        kvkit_index_set_destroy(set);
        if (kvkit_batch_size(batch) == 50) {
            ck_assert_msg(kvkit_store_write(s, batch, &err) == KVKIT_OK, "%s", err.text);
            kvkit_batch_destroy(batch);
            batch = kvkit_batch_create();
        }
    }
    kvkit_batch_destroy(batch);
    const char *ep = raw_first(eps);
    long long rev = raw_revision(ep); /* nothing else writes: the view's revision */
    ck_assert_int_gt(rev, 0);
    json_t *lo = json_integer(0), *hi = json_integer(1000);
    kvkit_iter_t *it = kind == VIEW_KEYS
                           ? kvkit_store_keys_iter(s, "b", NULL, NULL, 0)
                           : kvkit_store_index_iter(s, "b", "n", lo, hi, kind == VIEW_INDEX_DOCS);
    ck_assert(kvkit_iter_valid(it));
    ck_assert_int_eq(kvkit_store_save(s, "b", "later", "{}", 2, NULL, &err), KVKIT_OK);
    ck_assert_int_eq(raw_revision(ep), rev + 1);
    ck_assert_int_eq(raw_compact(ep, rev + 1), 0);
    size_t n = 0;
    for (; kvkit_iter_valid(it); kvkit_iter_next(it))
        n++;
    ck_assert_uint_eq(n, 256); /* the first page, read before the compaction */
    ck_assert_int_eq(kvkit_iter_status(it, &err), KVKIT_CONFLICT);
    char want[128];
    snprintf(want, sizeof want,
             "the view's revision %lld was compacted away; the iteration must be restarted: ", rev);
    ck_assert_msg(strstr(err.text, want) != NULL, "%s", err.text);
    ck_assert_ptr_nonnull(strstr(err.text, "mvcc: required revision has been compacted"));
    kvkit_iter_destroy(it);
    /* a new iteration reads the current revision: all of it */
    it = kvkit_store_keys_iter(s, "b", NULL, NULL, 0);
    for (n = 0; kvkit_iter_valid(it); kvkit_iter_next(it))
        n++;
    kvkit_error_clear(&err);
    ck_assert_int_eq(kvkit_iter_status(it, &err), KVKIT_OK);
    ck_assert_uint_eq(n, 601);
    kvkit_iter_destroy(it);
    json_decref(lo);
    json_decref(hi);
    kvkit_store_close(s);
}

START_TEST(test_index_iter_view_compacted_conflicts)
{
    view_compacted(VIEW_INDEX_KEYS);
}
END_TEST

START_TEST(test_index_docs_iter_view_compacted_conflicts)
{
    view_compacted(VIEW_INDEX_DOCS);
}
END_TEST

START_TEST(test_keys_iter_view_compacted_conflicts)
{
    view_compacted(VIEW_KEYS);
}
END_TEST

int main(void)
{
    eps = getenv("ETCD_EPS");
    if (eps == NULL) {
        fprintf(stderr, "ETCD_EPS is not set: run this through unit.sh\n");
        return 77;
    }
    Suite *su = suite_create("etcd");
    TCase *t = tcase_create("open");
    tcase_add_test(t, test_open_unknown_option);
    tcase_add_test(t, test_open_bad_option_value);
    tcase_add_test(t, test_open_bad_endpoint);
    suite_add_tcase(su, t);
    t = tcase_create("layout");
    tcase_set_timeout(t, 60);
    tcase_add_test(t, test_save_layout_and_delete_leaves_nothing);
    tcase_add_test(t, test_index_lookup_each_key_once_in_order);
    tcase_add_test(t, test_index_docs_reads_documents_and_reports_dangling_entry);
    tcase_add_test(t, test_list_keys_across_pages);
    tcase_add_test(t, test_prefix_isolates_stores);
    tcase_add_test(t, test_two_handles_never_leave_stale_entries);
    tcase_add_test(t, test_write_batch_same_key_twice);
    suite_add_tcase(su, t);
    t = tcase_create("limits");
    tcase_add_test(t, test_write_batch_over_txn_limit_is_split);
    tcase_add_test(t, test_save_too_many_index_entries);
    tcase_add_test(t, test_save_value_over_request_limit);
    suite_add_tcase(su, t);
    t = tcase_create("endpoints");
    tcase_set_timeout(t, 30);
    tcase_add_test(t, test_dead_first_endpoint_fails_over);
    tcase_add_test(t, test_no_endpoint_reachable);
    tcase_add_test(t, test_silent_first_endpoint_skipped_at_open);
    suite_add_tcase(su, t);
    t = tcase_create("save_if");
    tcase_add_test(t, test_save_if_second_copy_conflicts);
    tcase_add_test(t, test_save_if_expected_absent);
    suite_add_tcase(su, t);
    t = tcase_create("concurrency");
    tcase_set_timeout(t, 60);
    tcase_add_test(t, test_concurrent_saves_leave_exact_index);
    suite_add_tcase(su, t);
    t = tcase_create("views");
    tcase_set_timeout(t, 60);
    tcase_add_test(t, test_index_iter_view_compacted_conflicts);
    tcase_add_test(t, test_index_docs_iter_view_compacted_conflicts);
    tcase_add_test(t, test_keys_iter_view_compacted_conflicts);
    suite_add_tcase(su, t);
    SRunner *r = srunner_create(su);
    srunner_run_all(r, CK_NORMAL);
    int failed = srunner_ntests_failed(r);
    srunner_free(r);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
