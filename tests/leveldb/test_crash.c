/*
 * test_crash.c - kill a writer with SIGKILL at random moments and check that
 * the store it leaves is consistent and keeps what was acknowledged.
 *
 * The child (this program re-executed with --child) opens the store with
 * sync=true and runs a seeded random sequence of saves (new documents and
 * re-saves with changed indexed values), deletes and 3-document batches
 * over a small key space.  Before each operation it reports its intent on
 * a pipe, after it the acknowledgement.  The parent kills it after a
 * seeded random delay (0..40 ms, counted from the start in a quarter of
 * the rounds and from the first acknowledgement in the rest), then checks
 *  - the raw keys (layout_check): every index entry belongs to a stored
 *    document whose current value has it, every document has all of its
 *    entries and a manifest listing them;
 *  - through the API: every key holds its last acknowledged state, or the
 *    state of the one operation in flight (a batch in flight: all of it or
 *    none of it); index queries return exactly the keys the model predicts.
 * Document versions are unique numbers and a document's indexed values are
 * a function of its version, so the model is a version per key.
 */
#include "layoutcheck.h"
#include "testutil.h"

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define ROUNDS 300
#define KEYS 40
#define BUCKET "crash"
#define ABSENT (-1)

static const char *const colors[] = {"red", "green", "blue", "amber"};

/*** the workload, shared by child and parent ***/

typedef struct rec {
    uint32_t kind; /* 'I' intent, 'A' acknowledgement */
    uint32_t op;
    int32_t key;
    int32_t version; /* ABSENT for a delete */
} rec_t;

static uint64_t rng_next(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

static uint32_t mix(uint32_t v, uint32_t salt)
{
    uint64_t x = (uint64_t)v * 0x9E3779B97F4A7C15ULL + salt;
    x ^= x >> 29;
    x *= 0xBF58476D1CE4E5B9ULL;
    return (uint32_t)(x >> 32);
}

/* The indexed values of version v. */
static const char *color_of(int v)
{
    return colors[mix((uint32_t)v, 1) % 4];
}

static int n_of(int v)
{
    return (int)(mix((uint32_t)v, 2) % 20);
}

static int has_tag(int v, int t)
{
    return (mix((uint32_t)v, 3) >> t) & 1;
}

static char *doc_json(int key, int v)
{
    json_t *tags = json_array();
    for (int t = 0; t < 3; t++)
        if (has_tag(v, t))
            json_array_append_new(tags, json_sprintf("t%d", t));
    json_t *doc = json_pack("{s:i,s:{s:s,s:i,s:o},s:s}", "v", v, "idx",
                            "color", color_of(v), "n", n_of(v), "tags", tags, "pad",
                            "Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do "
                            "eiusmod tempor incididunt ut labore et dolore magna aliqua.");
    json_object_set_new(doc, "k", json_sprintf("key%02d", key));
    char *s = json_dumps(doc, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(doc);
    return s;
}

static kvkit_index_set_t *doc_index(int v)
{
    kvkit_index_set_t *set = kvkit_index_set_create();
    json_t *c = json_string(color_of(v)), *n = json_integer(n_of(v)), *tags = json_array();
    for (int t = 0; t < 3; t++)
        if (has_tag(v, t))
            json_array_append_new(tags, json_sprintf("t%d", t));
    kvkit_index_set_add(set, "color", c, NULL);
    kvkit_index_set_add(set, "n", n, NULL);
    kvkit_index_set_add(set, "tags", tags, NULL);
    json_decref(c);
    json_decref(n);
    json_decref(tags);
    return set;
}

static void key_name(char *buf, int key)
{
    sprintf(buf, "key%02d", key);
}

/*** child ***/

static void send_rec(int fd, uint32_t kind, uint32_t op, int key, int version)
{
    rec_t r = {kind, op, key, version};
    if (write(fd, &r, sizeof r) != sizeof r)
        _exit(3);
}

static int child(const char *uri, uint64_t seed, int version, int fd)
{
    kvkit_error_t err = {0};
    kvkit_store_t *s = kvkit_store_open(uri, &err);
    if (s == NULL) {
        fprintf(stderr, "child: %s\n", err.text);
        return 2;
    }
    uint64_t rng = seed * 2654435761u + 1;
    char key[16];
    for (uint32_t op = 1;; op++) {
        unsigned r = (unsigned)(rng_next(&rng) % 100);
        if (r < 15) {
            int k = (int)(rng_next(&rng) % KEYS);
            key_name(key, k);
            send_rec(fd, 'I', op, k, ABSENT);
            if (kvkit_store_delete(s, BUCKET, key, &err) != KVKIT_OK)
                break;
        } else if (r < 25) {
            kvkit_batch_t *b = kvkit_batch_create();
            int first = (int)(rng_next(&rng) % KEYS);
            for (int i = 0; i < 3; i++) {
                int k = (first + i * 7) % KEYS;
                key_name(key, k);
                if (rng_next(&rng) % 4 == 0) {
                    send_rec(fd, 'I', op, k, ABSENT);
                    kvkit_batch_delete(b, BUCKET, key, NULL);
                } else {
                    int v = version++;
                    char *doc = doc_json(k, v);
                    kvkit_index_set_t *set = doc_index(v);
                    send_rec(fd, 'I', op, k, v);
                    kvkit_batch_save(b, BUCKET, key, doc, strlen(doc), set, NULL);
                    kvkit_index_set_destroy(set);
                    free(doc);
                }
            }
            int rc = kvkit_store_write(s, b, &err);
            kvkit_batch_destroy(b);
            if (rc != KVKIT_OK)
                break;
        } else {
            int k = (int)(rng_next(&rng) % KEYS), v = version++;
            key_name(key, k);
            char *doc = doc_json(k, v);
            kvkit_index_set_t *set = doc_index(v);
            send_rec(fd, 'I', op, k, v);
            int rc = kvkit_store_save(s, BUCKET, key, doc, strlen(doc), set, &err);
            kvkit_index_set_destroy(set);
            free(doc);
            if (rc != KVKIT_OK)
                break;
        }
        send_rec(fd, 'A', op, 0, 0);
    }
    fprintf(stderr, "child: %s\n", err.text);
    return 2;
}

/*** parent ***/

typedef struct model {
    int state[KEYS];   /* acknowledged version per key, or ABSENT */
    int pending[KEYS]; /* version in flight, or ABSENT - 1 when none */
    size_t n_pending;
} model_t;

#define NONE (ABSENT - 1)

/* Apply the child's records: acknowledged ops move into state. */
static void apply(model_t *m, const rec_t *r, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (r[i].kind == 'I') {
            ck_assert_int_lt(r[i].key, KEYS);
            m->pending[r[i].key] = r[i].version;
            m->n_pending++;
        } else {
            for (int k = 0; k < KEYS; k++)
                if (m->pending[k] != NONE) {
                    m->state[k] = m->pending[k];
                    m->pending[k] = NONE;
                }
            m->n_pending = 0;
        }
    }
}

static int stored_version(kvkit_store_t *s, int k)
{
    char key[16], *v = NULL;
    size_t n;
    kvkit_error_t err = {0};
    key_name(key, k);
    int rc = kvkit_store_get(s, BUCKET, key, &v, &n, &err);
    if (rc == KVKIT_NOTFOUND)
        return ABSENT;
    ck_assert_msg(rc == KVKIT_OK, "get %s: %s", key, err.text);
    json_t *doc = json_loadb(v, n, 0, NULL);
    ck_assert_ptr_nonnull(doc);
    int version = (int)json_integer_value(json_object_get(doc, "v"));
    json_decref(doc);
    free(v);
    return version;
}

/* Compare what the store holds with the model, then adopt it. */
static void check_state(kvkit_store_t *s, model_t *m, int round)
{
    int applied = 0, not_applied = 0;
    for (int k = 0; k < KEYS; k++) {
        int v = stored_version(s, k);
        if (m->pending[k] != NONE && m->pending[k] != m->state[k]) {
            ck_assert_msg(v == m->state[k] || v == m->pending[k],
                          "round %d: key%02d holds %d, acknowledged %d, in flight %d", round, k,
                          v, m->state[k], m->pending[k]);
            v == m->pending[k] ? applied++ : not_applied++;
        } else {
            ck_assert_msg(v == m->state[k], "round %d: key%02d holds %d, acknowledged %d",
                          round, k, v, m->state[k]);
        }
        m->state[k] = v;
        m->pending[k] = NONE;
    }
    ck_assert_msg(!(applied && not_applied), "round %d: a batch was applied in part", round);
    m->n_pending = 0;
}

static void append_key(FILE *f, int k)
{
    if (ftell(f) > 0)
        fputc(',', f);
    fprintf(f, "key%02d", k);
}

/* Index queries must return exactly the keys the model predicts. */
static void check_queries(kvkit_store_t *s, const model_t *m, int round)
{
    for (int q = 0; q < 6; q++) {
        char *want;
        size_t len;
        FILE *f = open_memstream(&want, &len);
        for (int k = 0; k < KEYS; k++) {
            int v = m->state[k];
            if (v == ABSENT)
                continue;
            if ((q < 4 && strcmp(color_of(v), colors[q]) == 0) ||
                (q == 4 && n_of(v) >= 5 && n_of(v) <= 12) || (q == 5 && has_tag(v, 1)))
                append_key(f, k);
        }
        fclose(f);
        char lo[32];
        char *got;
        if (q < 4) {
            snprintf(lo, sizeof lo, "\"%s\"", colors[q]);
            got = tu_query(s, BUCKET, "color", lo, NULL);
        } else if (q == 4) {
            got = tu_query(s, BUCKET, "n", "5", "12");
        } else {
            got = tu_query(s, BUCKET, "tags", "\"t1\"", NULL);
        }
        /* results come in (value, key) order: compare as sets, no repeats */
        char *gs[4 * KEYS], *ws[KEYS];
        size_t ng = 0, nw = 0;
        for (char *t = strtok(got, ","); t; t = strtok(NULL, ",")) {
            ck_assert_uint_lt(ng, 4 * KEYS);
            gs[ng++] = t;
        }
        for (char *t = strtok(want, ","); t; t = strtok(NULL, ","))
            ws[nw++] = t;
        ck_assert_msg(ng == nw, "round %d query %d: %zu keys, want %zu", round, q, ng, nw);
        for (size_t i = 0; i < ng; i++) {
            int found = 0;
            for (size_t j = 0; j < nw; j++)
                found += strcmp(gs[i], ws[j]) == 0;
            for (size_t j = 0; j < i; j++)
                found += strcmp(gs[i], gs[j]) == 0;
            ck_assert_msg(found == 1, "round %d query %d: %s unexpected or repeated", round, q,
                          gs[i]);
        }
        free(got);
        free(want);
    }
}

/* Read whatever the child has written; returns 0 at end of file. */
static int drain(int fd, rec_t *buf, size_t *n, size_t cap, char *partial, size_t *plen)
{
    char tmp[4096];
    ssize_t got = read(fd, tmp, sizeof tmp);
    if (got < 0)
        return errno == EAGAIN || errno == EINTR ? 1 : 0;
    if (got == 0)
        return 0;
    for (ssize_t i = 0; i < got; i++) {
        partial[(*plen)++] = tmp[i];
        if (*plen == sizeof(rec_t)) {
            ck_assert_uint_lt(*n, cap);
            memcpy(&buf[(*n)++], partial, sizeof(rec_t));
            *plen = 0;
        }
    }
    return 1;
}

static int has_ack(const rec_t *recs, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (recs[i].kind == 'A')
            return 1;
    return 0;
}

static int64_t now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* One round: run a child saving to uri and SIGKILL it 0..40 ms after its
 * start or (waited) after its first acknowledged operation - so that on a
 * machine however slow (a sanitizer build under load) every waited child
 * gets work done, while the others are sometimes killed still opening.
 * Returns how many records it sent (in recs). */
static size_t run_child(const char *uri, int round, int version, int waited, uint64_t *rng,
                        rec_t *recs, size_t cap)
{
    int fds[2];
    ck_assert_int_eq(pipe(fds), 0);
    fcntl(fds[0], F_SETFL, O_NONBLOCK);
    char seed[32], ver[32], fdarg[16];
    snprintf(seed, sizeof seed, "%d", round);
    snprintf(ver, sizeof ver, "%d", version);
    snprintf(fdarg, sizeof fdarg, "%d", fds[1]);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        close(fds[0]);
        execl("/proc/self/exe", "test_crash", "--child", uri, seed, ver, fdarg, (char *)NULL);
        _exit(127);
    }
    close(fds[1]);
    int64_t delay = (int64_t)(rng_next(rng) % 40000);
    int64_t deadline = now_us() + delay, give_up = now_us() + 20000000;
    int waiting = waited;
    size_t n = 0, plen = 0;
    char partial[sizeof(rec_t)];
    int open = 1;
    while (open) {
        if (waiting && has_ack(recs, n)) {
            waiting = 0;
            deadline = now_us() + delay;
        }
        int64_t left = (waiting ? give_up : deadline) - now_us();
        if (left <= 0)
            break;
        struct pollfd p = {fds[0], POLLIN, 0};
        if (poll(&p, 1, (int)(left / 1000) + 1) > 0)
            open = drain(fds[0], recs, &n, cap, partial, &plen);
    }
    kill(pid, SIGKILL);
    int status;
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert_msg(WIFSIGNALED(status) || !open, "round %d: child exited with %d before the kill",
                  round, WEXITSTATUS(status));
    while (open && drain(fds[0], recs, &n, cap, partial, &plen))
        ;
    close(fds[0]);
    return n;
}

START_TEST(test_crash_sigkill_keeps_store_consistent)
{
    char *dir = tu_tmpdir();
    char *uri = tu_uri(dir, "sync=true&write_buffer_mb=1");
    char path[4096];
    snprintf(path, sizeof path, "%s/db", dir);
    model_t m;
    for (int k = 0; k < KEYS; k++) {
        m.state[k] = ABSENT;
        m.pending[k] = NONE;
    }
    m.n_pending = 0;
    uint64_t rng = 20261127;
    size_t cap = 1 << 16, total_acks = 0, total_docs = 0, waited_rounds = 0, acked_rounds = 0;
    rec_t *recs = malloc(cap * sizeof *recs);
    int version = 1;
    for (int round = 0; round < ROUNDS; round++) {
        int waited = round % 4 != 0;
        size_t n = run_child(uri, round, version, waited, &rng, recs, cap);
        waited_rounds += waited;
        acked_rounds += waited && has_ack(recs, n);
        for (size_t i = 0; i < n; i++) {
            if (recs[i].kind == 'A')
                total_acks++;
            if (recs[i].kind == 'I' && recs[i].version >= version)
                version = recs[i].version + 1;
        }
        apply(&m, recs, n);

        char msg[512];
        size_t docs;
        char current[4200];
        snprintf(current, sizeof current, "%s/CURRENT", path);
        if (total_acks == 0 && access(current, F_OK) != 0)
            continue; /* killed before LevelDB created the store: nothing to check yet */
        ck_assert_msg(layout_check(path, &docs, msg, sizeof msg) == 0, "round %d: %s", round,
                      msg);
        kvkit_store_t *s = tu_open(uri);
        check_state(s, &m, round);
        check_queries(s, &m, round);
        kvkit_store_close(s);
        total_docs += docs;
    }
    fprintf(stderr, "crash: %d kills, %zu acknowledged operations, %zu documents checked\n",
            ROUNDS, total_acks, total_docs);
    /* the children did get work done: every child that was waited for */
    ck_assert_uint_eq(acked_rounds, waited_rounds);
    ck_assert_uint_ge(total_acks, waited_rounds);
    free(recs);
    tu_rmtree(dir);
    free(dir);
    free(uri);
}
END_TEST

int main(int argc, char **argv)
{
    if (argc == 6 && strcmp(argv[1], "--child") == 0)
        return child(argv[2], strtoull(argv[3], NULL, 10), atoi(argv[4]), atoi(argv[5]));
    Suite *s = suite_create("leveldb_crash");
    TCase *tc = tcase_create("crash");
    tcase_set_timeout(tc, 600);
    tcase_add_test(tc, test_crash_sigkill_keeps_store_consistent);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
