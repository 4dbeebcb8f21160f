/* cases_view.c - what an iteration sees while the loop writes the store.
 *
 * A backend with KVKIT_BACKEND_SNAPSHOT ("snapshot" in
 * kvkit_store_supports) promises that an iteration reads the store as it
 * was when the iteration began.  A backend without it is held to what any
 * paged iteration gives: it ends, and every key that matched throughout is
 * returned at least once. */
#include "conformance.h"

#include <pthread.h>

#define N_DOCS 1000

/* Whether the backend declares views.  KVKIT_CONFORMANCE_REQUIRE=snapshot
 * makes a backend that does not fail, so a suite that expects views cannot
 * pass on the weaker branch. */
static int has_snapshot(kvkit_store_t *s)
{
    int snapshot = kvkit_store_supports(s, "snapshot");
    const char *req = getenv("KVKIT_CONFORMANCE_REQUIRE");
    if (req != NULL && strstr(req, "snapshot") != NULL)
        ck_assert_msg(snapshot, "KVKIT_CONFORMANCE_REQUIRE=%s, but the backend does not declare KVKIT_BACKEND_SNAPSHOT", req);
    return snapshot;
}

static void save_year(kvkit_store_t *s, const char *b, const char *key, int year)
{
    kvkit_error_t err = {0};
    char doc[64];
    snprintf(doc, sizeof doc, "{\"year\":%d}", year);
    kvkit_index_set_t *set = kvkit_index_set_create();
    json_t *y = json_integer(year);
    ck_assert_int_eq(kvkit_index_set_add(set, "year", y, &err), KVKIT_OK);
    ck_assert_msg(kvkit_store_save(s, b, key, doc, strlen(doc), set, &err) == KVKIT_OK, "%s",
                  err.text);
    json_decref(y);
    kvkit_index_set_destroy(set);
}

static void fill_years(kvkit_store_t *s, const char *b)
{
    kvkit_error_t err = {0};
    kvkit_batch_t *batch = kvkit_batch_create();
    kvkit_index_set_t *set = kvkit_index_set_create();
    for (int i = 0; i < N_DOCS; i++) {
        char key[32], doc[64];
        snprintf(key, sizeof key, "k%04d", i);
        snprintf(doc, sizeof doc, "{\"year\":%d}", 2000 + i % 10);
        json_t *y = json_integer(2000 + i % 10);
        kvkit_index_set_clear(set);
        ck_assert_int_eq(kvkit_index_set_add(set, "year", y, &err), KVKIT_OK);
        json_decref(y);
        ck_assert_int_eq(kvkit_batch_save(batch, b, key, doc, strlen(doc), set, &err), KVKIT_OK);
        if (kvkit_batch_size(batch) == 100) {
            ck_assert_msg(kvkit_store_write(s, batch, &err) == KVKIT_OK, "%s", err.text);
            kvkit_batch_destroy(batch);
            batch = kvkit_batch_create();
        }
    }
    ck_assert_msg(kvkit_store_write(s, batch, &err) == KVKIT_OK, "%s", err.text);
    kvkit_batch_destroy(batch);
    kvkit_index_set_destroy(set);
}

static int year_of(const char *value, size_t len)
{
    json_error_t jerr;
    json_t *doc = json_loadb(value, len, 0, &jerr);
    ck_assert_ptr_nonnull(doc);
    int year = (int)json_integer_value(json_object_get(doc, "year"));
    json_decref(doc);
    return year;
}

/* The loop: iterate year in [2000, 2999] and re-save each result
 * with year + 1, which moves it forward in the index the loop is reading. */
static void resave_loop(int want_docs)
{
    kvkit_store_t *s = open_store();
    char b[256];
    snprintf(b, sizeof b, "%s", bucket(want_docs ? "move-docs" : "move-keys"));
    fill_years(s, b);
    int snapshot = has_snapshot(s);

    static int visits[N_DOCS], year_seen[N_DOCS];
    memset(visits, 0, sizeof visits);
    json_t *lo = json_integer(2000), *hi = json_integer(2999);
    kvkit_iter_t *it = kvkit_store_index_iter(s, b, "year", lo, hi, want_docs);
    size_t total = 0;
    for (; kvkit_iter_valid(it); kvkit_iter_next(it)) {
        const char *key = kvkit_iter_key(it, NULL);
        int i = atoi(key + 1);
        ck_assert(i >= 0 && i < N_DOCS);
        int year;
        if (want_docs) {
            size_t vl;
            const char *v = kvkit_iter_value(it, &vl);
            year = year_of(v, vl);
        } else {
            int rc;
            char *v = get(s, b, key, &rc);
            ck_assert_ptr_nonnull(v);
            year = year_of(v, strlen(v));
            free(v);
        }
        if (visits[i]++ == 0)
            year_seen[i] = year;
        save_year(s, b, key, year + 1);
        total++;
        ck_assert_msg(total <= (size_t)N_DOCS * 1000, "iteration does not end");
    }
    kvkit_error_t err = {0};
    ck_assert_msg(kvkit_iter_status(it, &err) == KVKIT_OK, "%s", err.text);
    kvkit_iter_destroy(it);

    for (int i = 0; i < N_DOCS; i++) {
        ck_assert_msg(visits[i] >= 1, "key k%04d was never returned", i);
        if (!snapshot)
            continue;
        /* one view: each key once, with the value it had when the loop began */
        ck_assert_msg(visits[i] == 1, "key k%04d returned %d times", i, visits[i]);
        ck_assert_int_eq(year_seen[i], 2000 + i % 10);
        char key[32];
        snprintf(key, sizeof key, "k%04d", i);
        int rc;
        char *v = get(s, b, key, &rc);
        ck_assert_ptr_nonnull(v);
        ck_assert_int_eq(year_of(v, strlen(v)), 2001 + i % 10); /* moved by exactly one */
        free(v);
    }
    if (snapshot) {
        /* the index agrees with the documents after the loop */
        EXPECT_QUERY(s, b, "year", "2000", NULL, "");
        ck_assert_uint_eq(query(s, b, "year", "2010", NULL)->n, N_DOCS / 10);
    }
    json_decref(lo);
    json_decref(hi);
    kvkit_store_close(s);
}

START_TEST(test_iter_resave_moves_each_key_once)
{
    resave_loop(0);
}
END_TEST

START_TEST(test_iter_docs_resave_moves_each_key_once)
{
    resave_loop(1);
}
END_TEST

/* A key listing that deletes keys ahead of it, adds new ones ahead of it
 * and rewrites documents still to come. */
START_TEST(test_iter_keys_while_writing)
{
    kvkit_store_t *s = open_store();
    char b[256];
    snprintf(b, sizeof b, "%s", bucket("keys-writing"));
    fill_years(s, b);
    int snapshot = has_snapshot(s);
    kvkit_iter_t *it = kvkit_store_keys_iter(s, b, NULL, NULL, 1);
    static int visits[2 * N_DOCS];
    memset(visits, 0, sizeof visits);
    kvkit_error_t err = {0};
    size_t n = 0;
    for (; kvkit_iter_valid(it); kvkit_iter_next(it)) {
        size_t vl;
        const char *key = kvkit_iter_key(it, NULL);
        const char *v = kvkit_iter_value(it, &vl);
        int i = atoi(key + 1);
        ck_assert(i >= 0 && i < 2 * N_DOCS);
        visits[i]++;
        if (snapshot) {
            ck_assert_int_lt(i, N_DOCS); /* keys added meanwhile are not in the view */
            ck_assert_int_eq(year_of(v, vl), 2000 + i % 10); /* nor rewrites */
        }
        char ahead[32];
        if (i + 1 < N_DOCS && i % 2 == 0) { /* delete the next key */
            snprintf(ahead, sizeof ahead, "k%04d", i + 1);
            ck_assert_int_eq(kvkit_store_delete(s, b, ahead, &err), KVKIT_OK);
        }
        if (i + 2 < N_DOCS) { /* rewrite the one after */
            snprintf(ahead, sizeof ahead, "k%04d", i + 2);
            save_year(s, b, ahead, 3000);
        }
        if (i < N_DOCS) { /* and add a key beyond all of them */
            snprintf(ahead, sizeof ahead, "k%04d", N_DOCS + i);
            save_year(s, b, ahead, 2500);
        }
        n++;
        ck_assert_msg(n <= 4 * N_DOCS, "iteration does not end");
    }
    ck_assert_msg(kvkit_iter_status(it, &err) == KVKIT_OK, "%s", err.text);
    kvkit_iter_destroy(it);
    for (int i = 0; i < 2 * N_DOCS; i++) {
        ck_assert_int_le(visits[i], 1); /* key order: at most once on any backend */
        if (snapshot)
            ck_assert_int_eq(visits[i], i < N_DOCS ? 1 : 0);
        else if (i < N_DOCS && i % 2 == 0)
            ck_assert_int_eq(visits[i], 1); /* never deleted: returned */
    }
    kvkit_store_close(s);
}
END_TEST

/* An iteration left early releases its view: later reads see every write
 * made while it was open, and a second iteration starts from the new state. */
START_TEST(test_iter_abandoned_view_released)
{
    kvkit_store_t *s = open_store();
    char b[256];
    snprintf(b, sizeof b, "%s", bucket("abandoned"));
    fill_years(s, b);
    json_t *lo = json_integer(2000), *hi = json_integer(2009);
    kvkit_iter_t *first = kvkit_store_index_iter(s, b, "year", lo, hi, 1);
    ck_assert(kvkit_iter_valid(first));
    kvkit_iter_t *second = kvkit_store_index_iter(s, b, "year", lo, hi, 0);
    ck_assert(kvkit_iter_valid(second));
    kvkit_error_t err = {0};
    for (int i = 0; i < N_DOCS; i += 2) {
        char key[32];
        snprintf(key, sizeof key, "k%04d", i);
        if (i % 4 == 0)
            ck_assert_int_eq(kvkit_store_delete(s, b, key, &err), KVKIT_OK);
        else
            save_year(s, b, key, 1999);
    }
    kvkit_iter_destroy(first); /* in the middle of its first page */
    size_t n = 0;
    for (; kvkit_iter_valid(second); kvkit_iter_next(second))
        n++;
    ck_assert_int_eq(kvkit_iter_status(second, &err), KVKIT_OK);
    kvkit_iter_destroy(second);
    if (has_snapshot(s))
        ck_assert_uint_eq(n, N_DOCS); /* its view predates every write */
    /* the live store: half the keys left the range */
    ck_assert_uint_eq(query(s, b, "year", "2000", "2009")->n, N_DOCS / 2);
    ck_assert_uint_eq(query(s, b, "year", "1999", NULL)->n, N_DOCS / 4);
    kvkit_iter_t *again = kvkit_store_index_iter(s, b, "year", lo, hi, 1);
    n = 0;
    for (; kvkit_iter_valid(again); kvkit_iter_next(again)) {
        size_t vl;
        const char *v = kvkit_iter_value(again, &vl);
        ck_assert_int_ge(year_of(v, vl), 2000);
        n++;
    }
    ck_assert_int_eq(kvkit_iter_status(again, &err), KVKIT_OK);
    kvkit_iter_destroy(again);
    ck_assert_uint_eq(n, N_DOCS / 2);
    json_decref(lo);
    json_decref(hi);
    kvkit_store_close(s);
}
END_TEST

/* Writers move amounts between accounts, two documents per atomic batch,
 * while readers sum every balance with an iteration: on a backend with
 * views and atomic batches every sum is the total, whatever the pages saw
 * being written between them. */
#define ACCOUNTS 600
#define WRITERS 2
#define MOVES 150

typedef struct bank {
    kvkit_store_t *s;
    const char *b;
    int writer;
    int done;   /* the writer finished (read with __atomic) */
    int failed; /* read after the join */
    char msg[KVKIT_ERROR_TEXT_LENGTH + 32];
} bank_t;

static int balance_of(const char *v, size_t len)
{
    json_error_t jerr;
    json_t *doc = json_loadb(v, len, 0, &jerr);
    int bal = doc ? (int)json_integer_value(json_object_get(doc, "bal")) : -1000000;
    json_decref(doc);
    return bal;
}

static int put_balance(kvkit_batch_t *batch, const char *b, int i, int bal, kvkit_error_t *err)
{
    char key[32], doc[64];
    snprintf(key, sizeof key, "a%04d", i);
    snprintf(doc, sizeof doc, "{\"bal\":%d}", bal);
    kvkit_index_set_t *set = kvkit_index_set_create();
    json_t *v = json_integer(bal);
    int rc = kvkit_index_set_add(set, "bal", v, err);
    if (rc == KVKIT_OK)
        rc = kvkit_batch_save(batch, b, key, doc, strlen(doc), set, err);
    json_decref(v);
    kvkit_index_set_destroy(set);
    return rc;
}

static void *bank_writer(void *arg)
{
    bank_t *w = arg;
    int bal[ACCOUNTS];
    for (int i = 0; i < ACCOUNTS; i++)
        bal[i] = 100;
    uint64_t rng = 0x9E3779B97F4A7C15ULL * (uint64_t)(w->writer + 1);
    for (int m = 0; m < MOVES; m++) {
        rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
        /* each writer owns the accounts i % WRITERS == writer: no lost updates */
        int from = (int)(rng % (ACCOUNTS / WRITERS)) * WRITERS + w->writer;
        int to = (int)((rng >> 20) % (ACCOUNTS / WRITERS)) * WRITERS + w->writer;
        if (from == to)
            continue;
        int amount = (int)((rng >> 40) % 50) + 1;
        kvkit_error_t err = {0};
        kvkit_batch_t *batch = kvkit_batch_create();
        int rc = put_balance(batch, w->b, from, bal[from] - amount, &err);
        if (rc == KVKIT_OK)
            rc = put_balance(batch, w->b, to, bal[to] + amount, &err);
        if (rc == KVKIT_OK)
            rc = kvkit_store_write(w->s, batch, &err);
        kvkit_batch_destroy(batch);
        if (rc != KVKIT_OK) {
            snprintf(w->msg, sizeof w->msg, "move %d: %s", m, err.text);
            w->failed = 1;
            break;
        }
        bal[from] -= amount;
        bal[to] += amount;
    }
    __atomic_store_n(&w->done, 1, __ATOMIC_RELEASE);
    return NULL;
}

START_TEST(test_iter_view_sums_under_concurrent_writers)
{
    kvkit_store_t *s = open_store();
    const kvkit_backend_descriptor_t *d = kvkit_store_descriptor(s);
    int exact = has_snapshot(s) && (d->flags & KVKIT_BACKEND_ATOMIC_BATCH);
    char b[256];
    snprintf(b, sizeof b, "%s", bucket("bank"));
    kvkit_error_t err = {0};
    kvkit_batch_t *batch = kvkit_batch_create();
    for (int i = 0; i < ACCOUNTS; i++)
        ck_assert_int_eq(put_balance(batch, b, i, 100, &err), KVKIT_OK);
    ck_assert_msg(kvkit_store_write(s, batch, &err) == KVKIT_OK, "%s", err.text);
    kvkit_batch_destroy(batch);

    bank_t w[WRITERS];
    pthread_t t[WRITERS];
    for (int i = 0; i < WRITERS; i++) {
        memset(&w[i], 0, sizeof w[i]);
        w[i].s = s;
        w[i].b = b;
        w[i].writer = i;
        ck_assert_int_eq(pthread_create(&t[i], NULL, bank_writer, &w[i]), 0);
    }
    /* read while they write, alternating key listings and index ranges,
     * until one round has started after every writer ended */
    int sums = 0, bad = 0;
    json_t *lo = json_integer(-1000000), *hi = json_integer(1000000);
    for (int round = 0;; round++) {
        int all_done = 1;
        for (int i = 0; i < WRITERS; i++)
            all_done &= __atomic_load_n(&w[i].done, __ATOMIC_ACQUIRE);
        kvkit_iter_t *it = round % 2 ? kvkit_store_keys_iter(s, b, NULL, NULL, 1)
                                     : kvkit_store_index_iter(s, b, "bal", lo, hi, 1);
        long total = 0;
        int n = 0;
        for (; kvkit_iter_valid(it); kvkit_iter_next(it)) {
            size_t vl;
            const char *v = kvkit_iter_value(it, &vl);
            total += balance_of(v, vl);
            n++;
        }
        ck_assert_msg(kvkit_iter_status(it, &err) == KVKIT_OK, "%s", err.text);
        kvkit_iter_destroy(it);
        sums++;
        bad += n != ACCOUNTS || total != 100L * ACCOUNTS;
        if (exact)
            ck_assert_msg(n == ACCOUNTS && total == 100L * ACCOUNTS,
                          "round %d (%s): %d accounts summing to %ld, want %d and %ld", round,
                          round % 2 ? "keys" : "index", n, total, ACCOUNTS, 100L * ACCOUNTS);
        if (all_done)
            break;
    }
    if (!exact && bad > 0)
        printf("view: %d of %d sums taken during writes were off (no views on this backend)\n",
               bad, sums);
    for (int i = 0; i < WRITERS; i++) {
        ck_assert_int_eq(pthread_join(t[i], NULL), 0);
        ck_assert_msg(!w[i].failed, "writer %d: %s", i, w[i].msg);
    }
    /* after the writers: the store itself holds the total */
    kvkit_iter_t *it = kvkit_store_keys_iter(s, b, NULL, NULL, 1);
    long total = 0;
    for (; kvkit_iter_valid(it); kvkit_iter_next(it)) {
        size_t vl;
        const char *v = kvkit_iter_value(it, &vl);
        total += balance_of(v, vl);
    }
    kvkit_iter_destroy(it);
    ck_assert_int_eq(total, 100L * ACCOUNTS);
    ck_assert_int_gt(sums, 0);
    json_decref(lo);
    json_decref(hi);
    kvkit_store_close(s);
}
END_TEST

TCase *conformance_view_cases(void)
{
    TCase *tc = tcase_create("view");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, test_iter_resave_moves_each_key_once);
    tcase_add_test(tc, test_iter_docs_resave_moves_each_key_once);
    tcase_add_test(tc, test_iter_keys_while_writing);
    tcase_add_test(tc, test_iter_abandoned_view_released);
    tcase_add_test(tc, test_iter_view_sums_under_concurrent_writers);
    return tc;
}
