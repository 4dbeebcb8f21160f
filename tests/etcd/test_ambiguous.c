/* test_ambiguous.c - writes whose outcome the client cannot see.
 *
 * A small HTTP proxy in front of the etcd member (ETCD_EPS, set by unit.sh)
 * loses the answer to a txn in chosen ways: dropped before it reaches etcd,
 * applied but its answer cut, answered 503 "request timed out", delayed
 * past the client's timeout and applied later, or followed by an outage.
 * The backend must then report success only when the write applied
 * (exactly once), and KVKIT_OUTCOME_UNKNOWN - never a plain failure or
 * success - when it cannot find out.
 *
 * The proxy also counts requests, so the "round trips" cases check which
 * requests a save sends: a new key's save is one txn that assumes no
 * manifest; when another client created the key meanwhile, that txn's
 * compare fails and the retry must still leave exact index entries. */
#define _GNU_SOURCE /* memmem, strcasestr */
#include <kvkit/kvkit.h>

#include <arpa/inet.h>
#include <check.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "raw.h"

static const char *upstream; /* http://127.0.0.1:PORT */

/*** the proxy ***/

typedef enum mode {
    PASS,
    DROP_BEFORE,      /* close without forwarding */
    DROP_AFTER,       /* forward, then close without answering */
    ANSWER_503,       /* answer "request timed out" without forwarding */
    STALL,            /* forward after 700 ms, answer nothing */
    DROP_BEFORE_DOWN, /* DROP_BEFORE, then refuse everything */
    DROP_AFTER_DOWN,  /* DROP_AFTER, then refuse everything */
} proxy_mode_t;

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static proxy_mode_t txn_mode; /* applied to the next txn only, then PASS (or down) */
static int down;
static int txns_seen;
static int ranges_seen;
static int answers_left;        /* answer this many requests (any path) with: */
static const char *answer_head; /* status line, e.g. "400 Bad Request" */
static const char *answer_body; /* JSON body */
static int listen_fd;
static int proxy_port;

static int read_request(int fd, char *buf, size_t cap, size_t *len, char *path, size_t path_cap)
{
    size_t n = 0;
    char *end = NULL;
    while ((end = memmem(buf, n, "\r\n\r\n", 4)) == NULL) {
        ssize_t r = read(fd, buf + n, cap - n);
        if (r <= 0)
            return -1;
        n += (size_t)r;
    }
    size_t head = (size_t)(end - buf) + 4;
    const char *cl = strcasestr(buf, "Content-Length:");
    size_t body = cl && cl < end ? strtoul(cl + 15, NULL, 10) : 0;
    while (n < head + body) {
        ssize_t r = read(fd, buf + n, cap - n);
        if (r <= 0)
            return -1;
        n += (size_t)r;
    }
    sscanf(buf, "%*s %255s", path);
    (void)path_cap;
    *len = n;
    return 0;
}

/* Send the request upstream with "Connection: close"; the answer into out. */
static size_t forward(const char *req, size_t len, char *out, size_t cap)
{
    int port = atoi(strrchr(upstream, ':') + 1);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
    if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
        close(fd);
        return 0;
    }
    const char *eol = strstr(req, "\r\n");
    size_t first = (size_t)(eol - req) + 2;
    static const char hdr[] = "Connection: close\r\n";
    if (write(fd, req, first) < 0 || write(fd, hdr, sizeof hdr - 1) < 0 ||
        write(fd, req + first, len - first) < 0) {
        close(fd);
        return 0;
    }
    size_t n = 0;
    ssize_t r;
    while (n < cap && (r = read(fd, out + n, cap - n)) > 0)
        n += (size_t)r;
    close(fd);
    return n;
}

static void *serve(void *v)
{
    int fd = (int)(intptr_t)v;
    static __thread char req[1 << 16], resp[1 << 16];
    char path[256];
    size_t len;
    while (read_request(fd, req, sizeof req, &len, path, sizeof path) == 0) {
        pthread_mutex_lock(&lock);
        proxy_mode_t m = PASS;
        int is_down = down;
        const char *head = NULL, *ans = NULL;
        if (answers_left > 0) {
            answers_left--;
            head = answer_head;
            ans = answer_body;
        }
        if (!is_down && strcmp(path, "/v3/kv/txn") == 0) {
            txns_seen++;
            m = txn_mode;
            txn_mode = PASS;
            if (m == DROP_BEFORE_DOWN || m == DROP_AFTER_DOWN)
                down = 1;
        }
        if (!is_down && strcmp(path, "/v3/kv/range") == 0)
            ranges_seen++;
        pthread_mutex_unlock(&lock);
        if (is_down || m == DROP_BEFORE || m == DROP_BEFORE_DOWN)
            break;
        if (head != NULL) {
            dprintf(fd,
                    "HTTP/1.1 %s\r\nContent-Type: application/json\r\n"
                    "Content-Length: %zu\r\n\r\n%s",
                    head, strlen(ans), ans);
            continue;
        }
        if (m == ANSWER_503) {
            static const char body[] = "{\"error\":\"etcdserver: request timed out\",\"code\":14,"
                                       "\"message\":\"etcdserver: request timed out\"}";
            dprintf(fd,
                    "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\n"
                    "Content-Length: %zu\r\n\r\n%s",
                    sizeof body - 1, body);
            continue;
        }
        if (m == STALL)
            usleep(700 * 1000);
        size_t n = forward(req, len, resp, sizeof resp);
        if (n == 0 || m != PASS)
            break;
        if (write(fd, resp, n) < 0)
            break;
        break; /* upstream said "Connection: close": so do we */
    }
    close(fd);
    return NULL;
}

static void *accept_loop(void *v)
{
    for (;;) {
        int fd = accept(listen_fd, NULL, NULL);
        if (fd < 0)
            return NULL;
        pthread_t t;
        pthread_create(&t, NULL, serve, (void *)(intptr_t)fd);
        pthread_detach(t);
    }
}

static void proxy_start(void)
{
    if (proxy_port != 0)
        return; /* one proxy serves every test case */
    listen_fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET};
    inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
    socklen_t alen = sizeof a;
    ck_assert_int_eq(bind(listen_fd, (struct sockaddr *)&a, sizeof a), 0);
    ck_assert_int_eq(listen(listen_fd, 16), 0);
    getsockname(listen_fd, (struct sockaddr *)&a, &alen);
    proxy_port = ntohs(a.sin_port);
    pthread_t t;
    pthread_create(&t, NULL, accept_loop, NULL);
    pthread_detach(t);
}

/*** helpers ***/

static char prefix[64];

/* extra: more options ("&k=v"), or "" */
static kvkit_store_t *open_proxied_with(const char *extra)
{
    static unsigned n;
    snprintf(prefix, sizeof prefix, "amb%u-%u/", (unsigned)getpid(), ++n);
    char uri[512];
    snprintf(uri, sizeof uri, "etcd:http://127.0.0.1:%d?prefix=%s&timeout_ms=400&retries=1%s",
             proxy_port, prefix, extra);
    kvkit_error_t err = {0};
    kvkit_store_t *s = kvkit_store_open(uri, &err);
    ck_assert_msg(s != NULL, "%s", err.text);
    return s;
}

static kvkit_store_t *open_proxied(void)
{
    return open_proxied_with("");
}

static void set_mode(proxy_mode_t m)
{
    pthread_mutex_lock(&lock);
    txn_mode = m;
    down = 0;
    txns_seen = 0;
    ranges_seen = 0;
    answers_left = 0;
    pthread_mutex_unlock(&lock);
}

/* Answer the next n requests with this status and gateway error. */
static void set_answer(int n, const char *head, const char *body)
{
    set_mode(PASS);
    pthread_mutex_lock(&lock);
    answers_left = n;
    answer_head = head;
    answer_body = body;
    pthread_mutex_unlock(&lock);
}

static int txns(void)
{
    pthread_mutex_lock(&lock);
    int n = txns_seen;
    pthread_mutex_unlock(&lock);
    return n;
}

static int ranges(void)
{
    pthread_mutex_lock(&lock);
    int n = ranges_seen;
    pthread_mutex_unlock(&lock);
    return n;
}

/* The document's etcd version (how many times it was written), via the
 * member directly; 0 when absent. */
static long doc_version(const char *key)
{
    char k[256];
    int n = snprintf(k, sizeof k, "%sd%cb%s", prefix, 1, key);
    static const char t[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    char b[512], body[600];
    size_t o = 0;
    const unsigned char *u = (const unsigned char *)k;
    for (int i = 0; i < n; i += 3) {
        unsigned v =
            (unsigned)u[i] << 16 | (i + 1 < n ? u[i + 1] << 8 : 0) | (i + 2 < n ? u[i + 2] : 0);
        b[o++] = t[v >> 18];
        b[o++] = t[(v >> 12) & 63];
        b[o++] = i + 1 < n ? t[(v >> 6) & 63] : '=';
        b[o++] = i + 2 < n ? t[v & 63] : '=';
    }
    b[o] = '\0';
    snprintf(body, sizeof body, "{\"key\":\"%s\"}", b);
    json_t *j = raw_post(upstream, "/v3/kv/range", body);
    json_t *kv = json_array_get(json_object_get(j, "kvs"), 0);
    long version = kv ? atol(json_string_value(json_object_get(kv, "version"))) : 0;
    json_decref(j);
    return version;
}

static int save(kvkit_store_t *s, const char *key, kvkit_error_t *err)
{
    kvkit_index_set_t *set = kvkit_index_set_create();
    json_t *v = json_string("x");
    kvkit_index_set_add(set, "f", v, err);
    json_decref(v);
    int rc = kvkit_store_save(s, "b", key, "{}", 2, set, err);
    kvkit_index_set_destroy(set);
    return rc;
}

/*** tests ***/

START_TEST(test_save_dropped_before_etcd_is_resent)
{
    kvkit_store_t *s = open_proxied();
    kvkit_error_t err = {0};
    set_mode(DROP_BEFORE);
    ck_assert_msg(save(s, "k", &err) == KVKIT_OK, "%s", err.text);
    ck_assert_int_eq(txns(), 2); /* lost, then resubmitted after re-reading */
    ck_assert_int_eq(doc_version("k"), 1);
    kvkit_store_close(s);
}
END_TEST

START_TEST(test_save_applied_but_answer_lost_is_ok_once)
{
    kvkit_store_t *s = open_proxied();
    kvkit_error_t err = {0};
    set_mode(DROP_AFTER);
    ck_assert_msg(save(s, "k", &err) == KVKIT_OK, "%s", err.text);
    ck_assert_int_eq(txns(), 1); /* settled by re-reading: not sent again */
    ck_assert_int_eq(doc_version("k"), 1);
    ck_assert_int_eq(raw_count(upstream, prefix), 3); /* doc, manifest, entry */
    kvkit_store_close(s);
}
END_TEST

START_TEST(test_save_503_timed_out_is_settled)
{
    kvkit_store_t *s = open_proxied();
    kvkit_error_t err = {0};
    set_mode(ANSWER_503);
    ck_assert_msg(save(s, "k", &err) == KVKIT_OK, "%s", err.text);
    ck_assert_int_eq(txns(), 2);
    ck_assert_int_eq(doc_version("k"), 1);
    kvkit_store_close(s);
}
END_TEST

START_TEST(test_save_stalled_then_applied_late_applies_once)
{
    kvkit_store_t *s = open_proxied();
    kvkit_error_t err = {0};
    set_mode(STALL); /* the client times out at 400 ms; the txn lands at 700 ms */
    ck_assert_msg(save(s, "k", &err) == KVKIT_OK, "%s", err.text);
    usleep(900 * 1000);
    ck_assert_int_eq(doc_version("k"), 1); /* the late copy lost its compare */
    ck_assert_int_eq(raw_count(upstream, prefix), 3);
    kvkit_store_close(s);
}
END_TEST

START_TEST(test_save_if_applied_but_answer_lost_is_not_a_conflict)
{
    kvkit_store_t *s = open_proxied();
    kvkit_error_t err = {0};
    uint64_t rev = 0, got = 0;
    set_mode(DROP_AFTER);
    ck_assert_msg(kvkit_store_save_if(s, "b", "k", "1", 1, NULL, 0, &rev, &err) == KVKIT_OK, "%s",
                  err.text);
    char *v;
    size_t n;
    ck_assert_int_eq(kvkit_store_get_rev(s, "b", "k", &v, &n, &got, &err), KVKIT_OK);
    ck_assert_uint_eq(rev, got);
    free(v);
    kvkit_store_close(s);
}
END_TEST

START_TEST(test_save_applied_then_outage_is_outcome_unknown)
{
    kvkit_store_t *s = open_proxied();
    kvkit_error_t err = {0};
    set_mode(DROP_AFTER_DOWN);
    ck_assert_int_eq(save(s, "k", &err), KVKIT_OUTCOME_UNKNOWN);
    ck_assert_ptr_nonnull(strstr(err.text, "re-reading could not tell whether it was applied"));
    ck_assert_int_eq(doc_version("k"), 1); /* it did apply, fully */
    ck_assert_int_eq(raw_count(upstream, prefix), 3);
    kvkit_store_close(s);
}
END_TEST

START_TEST(test_save_lost_then_outage_is_outcome_unknown)
{
    kvkit_store_t *s = open_proxied();
    kvkit_error_t err = {0};
    set_mode(DROP_BEFORE_DOWN);
    ck_assert_int_eq(save(s, "k", &err), KVKIT_OUTCOME_UNKNOWN);
    ck_assert_ptr_nonnull(strstr(err.text, "Server returned nothing"));
    ck_assert_int_eq(raw_count(upstream, prefix), 0); /* it did not apply, at all */
    kvkit_store_close(s);
}
END_TEST

START_TEST(test_delete_answer_lost_is_ok)
{
    kvkit_store_t *s = open_proxied();
    kvkit_error_t err = {0};
    set_mode(PASS);
    ck_assert_int_eq(save(s, "k", &err), KVKIT_OK);
    set_mode(DROP_AFTER);
    ck_assert_msg(kvkit_store_delete(s, "b", "k", &err) == KVKIT_OK, "%s", err.text);
    ck_assert_int_eq(raw_count(upstream, prefix), 0);
    kvkit_store_close(s);
}
END_TEST

START_TEST(test_delete_lost_then_outage_is_outcome_unknown)
{
    kvkit_store_t *s = open_proxied();
    kvkit_error_t err = {0};
    set_mode(PASS);
    ck_assert_int_eq(save(s, "k", &err), KVKIT_OK);
    set_mode(DROP_BEFORE_DOWN);
    ck_assert_int_eq(kvkit_store_delete(s, "b", "k", &err), KVKIT_OUTCOME_UNKNOWN);
    ck_assert_ptr_nonnull(strstr(err.text, "re-reading could not tell whether it was applied"));
    ck_assert_int_eq(raw_count(upstream, prefix), 3); /* not applied, nothing half-done */
    kvkit_store_close(s);
}
END_TEST

/*** round trips: a new key's save is one txn; a wrong guess stays exact ***/

/* A second client of the same keys, straight to etcd (not proxied). */
static kvkit_store_t *open_direct(void)
{
    char uri[512];
    snprintf(uri, sizeof uri, "etcd:%s?prefix=%s", upstream, prefix);
    kvkit_error_t err = {0};
    kvkit_store_t *s = kvkit_store_open(uri, &err);
    ck_assert_msg(s != NULL, "%s", err.text);
    return s;
}

static kvkit_index_set_t *f_set(const char *value)
{
    kvkit_error_t err = {0};
    kvkit_index_set_t *set = kvkit_index_set_create();
    json_t *v = json_string(value);
    ck_assert_int_eq(kvkit_index_set_add(set, "f", v, &err), KVKIT_OK);
    json_decref(v);
    return set;
}

/* Save key with the index entry f=value. */
static void save_f(kvkit_store_t *s, const char *key, const char *value)
{
    kvkit_error_t err = {0};
    kvkit_index_set_t *set = f_set(value);
    ck_assert_msg(kvkit_store_save(s, "b", key, "{}", 2, set, &err) == KVKIT_OK, "%s", err.text);
    kvkit_index_set_destroy(set);
}

static int collect(void *ctx, const char *key, size_t len)
{
    (void)len;
    strcat(ctx, key);
    strcat(ctx, ";");
    return 0;
}

/* The keys with the entry f=value are `want` ("k1;k2;"). */
static void f_keys_eq(kvkit_store_t *s, const char *value, const char *want)
{
    char got[256] = "";
    kvkit_error_t err = {0};
    json_t *v = json_string(value);
    ck_assert_int_eq(kvkit_store_index_keys(s, "b", "f", v, NULL, collect, got, &err), KVKIT_OK);
    json_decref(v);
    ck_assert_str_eq(got, want);
}

START_TEST(test_new_key_save_is_one_txn)
{
    kvkit_store_t *s = open_proxied();
    set_mode(PASS);
    save_f(s, "k", "x");
    ck_assert_int_eq(txns(), 1);
    ck_assert_int_eq(ranges(), 0); /* no manifest read first */
    save_f(s, "k", "y");           /* a re-save: the handle remembers the manifest it wrote */
    ck_assert_int_eq(txns(), 2);
    ck_assert_int_eq(ranges(), 0);
    f_keys_eq(s, "x", "");
    f_keys_eq(s, "y", "k;");
    ck_assert_int_eq(raw_count(upstream, prefix), 3);
    kvkit_store_close(s);
}
END_TEST

START_TEST(test_save_of_key_created_meanwhile_is_exact)
{
    /* a read "k" as absent; b creates it; a's save assumes no manifest, its
     * compare fails, and the retry with the manifest the failure branch
     * returned must replace b's index entry, not leave it behind */
    kvkit_store_t *a = open_proxied(), *b = open_direct();
    kvkit_error_t err = {0};
    char *v = NULL;
    size_t n;
    ck_assert_int_eq(kvkit_store_get(a, "b", "k", &v, &n, &err), KVKIT_NOTFOUND);
    save_f(b, "k", "old");
    set_mode(PASS);
    save_f(a, "k", "new");
    ck_assert_int_eq(txns(), 2);   /* the guess lost its compare, then the retry */
    ck_assert_int_eq(ranges(), 0); /* the failure branch returned the manifest */
    ck_assert_int_eq(doc_version("k"), 2);
    f_keys_eq(a, "old", "");
    f_keys_eq(a, "new", "k;");
    ck_assert_int_eq(raw_count(upstream, prefix), 3);
    save_f(b, "k", "third"); /* b's cached manifest is stale now: also exact */
    f_keys_eq(b, "new", "");
    f_keys_eq(b, "third", "k;");
    ck_assert_int_eq(raw_count(upstream, prefix), 3);
    kvkit_store_close(a);
    kvkit_store_close(b);
}
END_TEST

START_TEST(test_batch_with_key_created_meanwhile_is_exact)
{
    kvkit_store_t *a = open_proxied(), *b = open_direct();
    kvkit_error_t err = {0};
    save_f(b, "k2", "old");
    kvkit_batch_t *batch = kvkit_batch_create();
    kvkit_index_set_t *set = f_set("new");
    ck_assert_int_eq(kvkit_batch_save(batch, "b", "k1", "{}", 2, set, &err), KVKIT_OK);
    ck_assert_int_eq(kvkit_batch_save(batch, "b", "k2", "{}", 2, set, &err), KVKIT_OK);
    set_mode(PASS);
    ck_assert_msg(kvkit_store_write(a, batch, &err) == KVKIT_OK, "%s", err.text);
    ck_assert_int_eq(txns(), 2); /* both guessed new: lost on k2, then the retry */
    ck_assert_int_eq(ranges(), 0);
    f_keys_eq(a, "old", "");
    f_keys_eq(a, "new", "k1;k2;");
    ck_assert_int_eq(raw_count(upstream, prefix), 6);
    kvkit_batch_destroy(batch);
    kvkit_index_set_destroy(set);
    kvkit_store_close(a);
    kvkit_store_close(b);
}
END_TEST

START_TEST(test_resaves_of_unknown_keys_read_first)
{
    /* keys another client wrote: after one wrong guess the handle reads
     * manifests first (a range costs less than a failed txn), and once it
     * meets new keys again it goes back to guessing */
    kvkit_store_t *a = open_proxied(), *b = open_direct();
    char key[16], want[64] = "";
    for (int i = 0; i < 6; i++) {
        snprintf(key, sizeof key, "e%d", i);
        save_f(b, key, "x");
        strcat(strcat(want, key), ";");
    }
    set_mode(PASS);
    for (int i = 0; i < 6; i++) {
        snprintf(key, sizeof key, "e%d", i);
        save_f(a, key, "y");
    }
    ck_assert_int_eq(txns(), 7); /* one wrong guess (and its retry), then reads */
    ck_assert_int_eq(ranges(), 5);
    f_keys_eq(a, "x", "");
    f_keys_eq(a, "y", want);
    for (int i = 0; i < 6; i++) {
        snprintf(key, sizeof key, "n%d", i);
        save_f(a, key, "z");
    }
    set_mode(PASS);
    save_f(a, "n6", "z");
    ck_assert_int_eq(txns(), 1);
    ck_assert_int_eq(ranges(), 0);
    ck_assert_int_eq(raw_count(upstream, prefix), 3 * 13);
    kvkit_store_close(a);
    kvkit_store_close(b);
}
END_TEST

/* b rewrote "k" 20 times, more versions than settling walks back (16); a,
 * which has not cached it, guesses it is new, and its txn is lost in `m`.
 * A txn that compared "absent" can only have written the first version of
 * the key's lifetime, so settling looks there, finds it never applied, and
 * a saves again from the current manifest - not KVKIT_OUTCOME_UNKNOWN. */
static void guess_lost_on_long_history(proxy_mode_t m)
{
    kvkit_store_t *a = open_proxied(), *b = open_direct();
    char value[16];
    for (int i = 0; i < 20; i++) {
        snprintf(value, sizeof value, "v%d", i);
        save_f(b, "k", value);
    }
    set_mode(m);
    save_f(a, "k", "new");
    ck_assert_int_eq(txns(), 2);
    ck_assert_int_eq(doc_version("k"), 21);
    f_keys_eq(a, "v19", "");
    f_keys_eq(a, "new", "k;");
    ck_assert_int_eq(raw_count(upstream, prefix), 3);
    kvkit_store_close(a);
    kvkit_store_close(b);
}

START_TEST(test_guess_dropped_before_etcd_on_long_history_is_resent)
{
    guess_lost_on_long_history(DROP_BEFORE);
}
END_TEST

START_TEST(test_guess_answer_lost_on_long_history_is_resent)
{
    guess_lost_on_long_history(DROP_AFTER);
}
END_TEST

/*** gateway errors, mapped from the gRPC code ***/

static int get_k(kvkit_store_t *s, kvkit_error_t *err)
{
    char *v = NULL;
    size_t n;
    int rc = kvkit_store_get(s, "b", "k", &v, &n, err);
    free(v);
    return rc;
}

START_TEST(test_error_invalid_argument)
{
    kvkit_store_t *s = open_proxied();
    kvkit_error_t err = {0};
    set_answer(1, "400 Bad Request",
               "{\"error\":\"etcdserver: key is not provided\",\"code\":3,"
               "\"message\":\"etcdserver: key is not provided\"}");
    ck_assert_int_eq(get_k(s, &err), KVKIT_INVALID);
    ck_assert_ptr_nonnull(strstr(err.text, "etcdserver: key is not provided (gRPC code 3)"));
    kvkit_store_close(s);
}
END_TEST

START_TEST(test_error_message_too_large)
{
    kvkit_store_t *s = open_proxied();
    kvkit_error_t err = {0};
    set_answer(1, "429 Too Many Requests",
               "{\"error\":\"grpc: received message larger than max (2100010 vs. 2097152)\","
               "\"code\":8,\"message\":\"grpc: received message larger than max (2100010 vs. "
               "2097152)\"}");
    ck_assert_int_eq(save(s, "k", &err), KVKIT_TOO_LARGE);
    ck_assert_ptr_nonnull(strstr(err.text, "--max-request-bytes limit (1.5 MiB by default)"));
    ck_assert_int_eq(raw_count(upstream, prefix), 0);
    kvkit_store_close(s);
}
END_TEST

START_TEST(test_error_no_leader_retried_until_the_deadline)
{
    /* retries=1 would allow two rounds; "no leader" rounds do not count */
    kvkit_store_t *s = open_proxied_with("&deadline_ms=300");
    kvkit_error_t err = {0};
    static const char body[] = "{\"error\":\"etcdserver: no leader\",\"code\":14,"
                               "\"message\":\"etcdserver: no leader\"}";
    set_answer(3, "503 Service Unavailable", body);
    ck_assert_int_eq(get_k(s, &err), KVKIT_NOTFOUND); /* the fourth try got through */
    set_answer(1000000, "503 Service Unavailable", body);
    ck_assert_int_eq(get_k(s, &err), KVKIT_IO);
    ck_assert_ptr_nonnull(strstr(err.text, "no etcd member has a leader"));
    ck_assert_ptr_nonnull(strstr(err.text, "deadline_ms reached"));
    ck_assert_ptr_nonnull(strstr(err.text, "etcdserver: no leader"));
    /* the circuit breaker is open: one probe, refused, and no write is sent */
    kvkit_error_clear(&err);
    int before = txns();
    ck_assert_int_eq(save(s, "k", &err), KVKIT_IO);
    ck_assert_ptr_nonnull(strstr(err.text, "circuit breaker open"));
    ck_assert_int_eq(txns(), before);
    /* a probe that finds a leader closes it */
    set_answer(0, "", "");
    kvkit_error_clear(&err);
    ck_assert_int_eq(get_k(s, &err), KVKIT_NOTFOUND);
    kvkit_store_close(s);
}
END_TEST

START_TEST(test_error_read_timed_out)
{
    kvkit_store_t *s = open_proxied();
    kvkit_error_t err = {0};
    set_answer(2, "503 Service Unavailable",
               "{\"error\":\"etcdserver: request timed out\",\"code\":14,"
               "\"message\":\"etcdserver: request timed out\"}");
    ck_assert_int_eq(get_k(s, &err), KVKIT_TIMEOUT);
    ck_assert_ptr_nonnull(strstr(err.text, "etcdserver: request timed out"));
    kvkit_store_close(s);
}
END_TEST

int main(void)
{
    const char *eps = getenv("ETCD_EPS");
    if (eps == NULL) {
        fprintf(stderr, "ETCD_EPS is not set: run this through unit.sh\n");
        return 77;
    }
    upstream = raw_first(eps);
    Suite *su = suite_create("etcd-ambiguous");
    TCase *t = tcase_create("settle");
    tcase_add_unchecked_fixture(t, proxy_start, NULL);
    tcase_set_timeout(t, 30);
    tcase_add_test(t, test_save_dropped_before_etcd_is_resent);
    tcase_add_test(t, test_save_applied_but_answer_lost_is_ok_once);
    tcase_add_test(t, test_save_503_timed_out_is_settled);
    tcase_add_test(t, test_save_stalled_then_applied_late_applies_once);
    tcase_add_test(t, test_save_if_applied_but_answer_lost_is_not_a_conflict);
    tcase_add_test(t, test_save_applied_then_outage_is_outcome_unknown);
    tcase_add_test(t, test_save_lost_then_outage_is_outcome_unknown);
    tcase_add_test(t, test_delete_answer_lost_is_ok);
    tcase_add_test(t, test_delete_lost_then_outage_is_outcome_unknown);
    tcase_add_test(t, test_error_invalid_argument);
    tcase_add_test(t, test_error_message_too_large);
    tcase_add_test(t, test_error_no_leader_retried_until_the_deadline);
    tcase_add_test(t, test_error_read_timed_out);
    suite_add_tcase(su, t);
    t = tcase_create("round trips");
    tcase_add_unchecked_fixture(t, proxy_start, NULL);
    tcase_set_timeout(t, 30);
    tcase_add_test(t, test_new_key_save_is_one_txn);
    tcase_add_test(t, test_save_of_key_created_meanwhile_is_exact);
    tcase_add_test(t, test_batch_with_key_created_meanwhile_is_exact);
    tcase_add_test(t, test_resaves_of_unknown_keys_read_first);
    tcase_add_test(t, test_guess_dropped_before_etcd_on_long_history_is_resent);
    tcase_add_test(t, test_guess_answer_lost_on_long_history_is_resent);
    suite_add_tcase(su, t);
    SRunner *r = srunner_create(su);
    /* the proxy lives in this process: no fork per test */
    srunner_set_fork_status(r, CK_NOFORK);
    srunner_run_all(r, CK_NORMAL);
    int failed = srunner_ntests_failed(r);
    srunner_free(r);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
