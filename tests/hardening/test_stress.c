/*
 * test_stress - concurrency stress for the ThreadSanitizer build (it runs
 * in every build; only TSan turns a race into a failure, with
 * TSAN_OPTIONS=halt_on_error=1 exitcode=66 set by .ci/hardening).
 *
 * 8 worker threads do mixed saves (with index entries), gets, index
 * queries (callback, fused and iterator forms), key listings, batches and
 * deletes on one shared memory store and one shared LevelDB store, while 2
 * churn threads open and close stores of several backends - "memory:"
 * and "leveldb:" stores of their own and the odd plugins of tests/plugins
 * (minimal, plainsym, resident, failopen, nodesc), whose last close
 * unloads the plugin - and list every backend (which loads and unloads
 * each plugin file).  A fixed number of operations (KVKIT_STRESS_OPS per
 * worker), no timing.
 *
 * Afterwards each shared store must be consistent: every document's
 * "n" is found by an exact index query on "f", the full-range query
 * returns every stored key exactly once and no deleted one.
 */
#include <kvkit/kvkit.h>

#include <check.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define WORKERS 8
#define CHURNERS 2
#define KEYS 48
#define CHURN_ROUNDS 60

/* Operations per worker: KVKIT_STRESS_OPS, default 1500 (CI's TSan run
 * asks for more). */
static int stress_ops = 1500;

static kvkit_store_t *shared[2];
static char tmpdir[256];

static void failf(const char *what, const kvkit_error_t *err)
{
    fprintf(stderr, "stress: %s: %s\n", what, err ? err->text : "");
    abort(); /* from a thread: Check sees the crash */
}

static int save_doc(kvkit_store_t *s, const char *key, int n, int w, kvkit_error_t *err)
{
    char value[64], t[16];
    int len = snprintf(value, sizeof value, "{\"n\": %d, \"w\": %d}", n, w);
    snprintf(t, sizeof t, "s%03d", n);
    kvkit_index_set_t *set = kvkit_index_set_create();
    json_t *f = json_integer(n), *ts = json_pack("[s, s]", t, "all");
    if (kvkit_index_set_add(set, "f", f, err) || kvkit_index_set_add(set, "t", ts, err))
        failf("index set", err);
    int rc = kvkit_store_save(s, "b", key, value, (size_t)len, set, err);
    json_decref(f);
    json_decref(ts);
    kvkit_index_set_destroy(set);
    return rc;
}

static int count_key(void *ctx, const char *key, size_t len)
{
    (void)key, (void)len;
    ++*(int *)ctx;
    return 0;
}

static int check_doc(void *ctx, const char *key, size_t kl, const char *v, size_t vl)
{
    (void)key, (void)kl;
    json_t *j = json_loadb(v, vl, 0, NULL);
    if (!json_is_integer(json_object_get(j, "n")))
        failf("index_docs handed over a malformed document", NULL);
    json_decref(j);
    ++*(int *)ctx;
    return 0;
}

static void *worker(void *arg)
{
    unsigned seed = (unsigned)(uintptr_t)arg * 7919u + 1;
    int w = (int)(uintptr_t)arg;
    for (int i = 0; i < stress_ops; i++) {
        kvkit_store_t *s = shared[rand_r(&seed) % 2];
        char key[16];
        snprintf(key, sizeof key, "k%02d", rand_r(&seed) % KEYS);
        int n = rand_r(&seed) % 100;
        kvkit_error_t err = {0};
        int op = rand_r(&seed) % 10, rc = KVKIT_OK, count = 0;
        switch (op) {
        case 0:
        case 1:
        case 2:
            rc = save_doc(s, key, n, w, &err);
            break;
        case 3: {
            char *v = NULL;
            size_t vl = 0;
            rc = kvkit_store_get(s, "b", key, &v, &vl, &err);
            if (rc == KVKIT_OK && (vl < 8 || strncmp(v, "{\"n\": ", 6) != 0))
                failf("get returned a torn value", NULL);
            free(v);
            if (rc == KVKIT_NOTFOUND)
                rc = KVKIT_OK;
            break;
        }
        case 4: {
            json_t *lo = json_integer(n), *hi = json_integer(n + 10);
            rc = kvkit_store_index_keys(s, "b", "f", lo, hi, count_key, &count, &err);
            json_decref(lo);
            json_decref(hi);
            break;
        }
        case 5: {
            json_t *lo = json_string("s000"), *hi = json_string("s050");
            rc = kvkit_store_index_docs(s, "b", "t", lo, hi, check_doc, &count, &err);
            json_decref(lo);
            json_decref(hi);
            break;
        }
        case 6: {
            json_t *lo = json_integer(0), *hi = json_integer(99);
            kvkit_iter_t *it = kvkit_store_index_iter(s, "b", "f", lo, hi, i % 2);
            for (; kvkit_iter_valid(it); kvkit_iter_next(it))
                count++;
            rc = kvkit_iter_status(it, &err);
            kvkit_iter_destroy(it);
            json_decref(lo);
            json_decref(hi);
            break;
        }
        case 7:
            rc = kvkit_store_list_keys(s, "b", "k10", "k30", count_key, &count, &err);
            break;
        case 8: {
            kvkit_batch_t *b = kvkit_batch_create();
            char k2[16];
            snprintf(k2, sizeof k2, "k%02d", (n + 1) % KEYS);
            kvkit_batch_save(b, "b", k2, "{\"n\": 0, \"w\": -1}", 17, NULL, &err);
            kvkit_batch_delete(b, "b", key, &err);
            rc = err.code ? err.code : kvkit_store_write(s, b, &err);
            kvkit_batch_destroy(b);
            break;
        }
        case 9:
            rc = kvkit_store_delete(s, "b", key, &err);
            break;
        }
        if (rc != KVKIT_OK)
            failf("worker operation", &err);
    }
    return NULL;
}

static int ignore_backend(void *ctx, const kvkit_backend_info_t *info)
{
    (void)info;
    ++*(int *)ctx;
    return 0;
}

static void *churner(void *arg)
{
    unsigned seed = (unsigned)(uintptr_t)arg;
    static const char *const odd[] = {"minimal:", "plainsym:", "resident:", "failopen:",
                                      "nodesc:", "memory:"};
    for (int i = 0; i < CHURN_ROUNDS; i++) {
        kvkit_error_t err = {0};
        const char *uri = odd[rand_r(&seed) % 6];
        kvkit_store_t *s = kvkit_store_open(uri, &err);
        if (s != NULL) {
            char *v = NULL;
            size_t vl = 0;
            kvkit_store_save(s, "b", "x", "1", 1, NULL, NULL);
            kvkit_store_get(s, "b", "x", &v, &vl, NULL);
            free(v);
            kvkit_store_close(s);
        } else if (strcmp(uri, "failopen:") != 0 && strcmp(uri, "nodesc:") != 0) {
            failf(uri, &err);
        }
        if (i % 10 == 0) {
            char luri[400];
            snprintf(luri, sizeof luri, "leveldb:%s/churn%d-%d?create_if_missing=true", tmpdir,
                     (int)(uintptr_t)arg, i);
            kvkit_error_clear(&err);
            s = kvkit_store_open(luri, &err);
            if (s == NULL)
                failf(luri, &err);
            save_doc(s, "k", 1, 0, NULL);
            kvkit_store_close(s);
        }
        if (i % 20 == 0) {
            int n = 0;
            kvkit_backends_list(ignore_backend, &n, NULL);
        }
    }
    return NULL;
}

typedef struct seen {
    char keys[KEYS][16];
    int count[KEYS];
    int n;
} seen_t;

static int collect(void *ctx, const char *key, size_t len)
{
    seen_t *s = ctx;
    for (int i = 0; i < s->n; i++)
        if (strlen(s->keys[i]) == len && memcmp(s->keys[i], key, len) == 0) {
            s->count[i]++;
            return 0;
        }
    ck_assert_int_lt(s->n, KEYS);
    snprintf(s->keys[s->n], sizeof s->keys[0], "%.*s", (int)len, key);
    s->count[s->n++] = 1;
    return 0;
}

static int find_key(void *ctx, const char *key, size_t len)
{
    const char *want = ctx;
    if (strlen(want) == len && memcmp(want, key, len) == 0)
        ((char *)want)[0] = '!'; /* found */
    return 0;
}

static void check_consistent(kvkit_store_t *s, const char *name)
{
    seen_t listed = {0}, indexed = {0};
    ck_assert_int_eq(kvkit_store_list_keys(s, "b", NULL, NULL, collect, &listed, NULL),
                     KVKIT_OK);
    json_t *lo = json_integer(-1000), *hi = json_integer(1000);
    ck_assert_int_eq(kvkit_store_index_keys(s, "b", "f", lo, hi, collect, &indexed, NULL),
                     KVKIT_OK);
    json_decref(lo);
    json_decref(hi);
    int with_index = 0;
    for (int i = 0; i < listed.n; i++) {
        char *v = NULL;
        size_t vl = 0;
        ck_assert_int_eq(kvkit_store_get(s, "b", listed.keys[i], &v, &vl, NULL), KVKIT_OK);
        json_t *j = json_loadb(v, vl, 0, NULL);
        free(v);
        int n = (int)json_integer_value(json_object_get(j, "n"));
        int w = (int)json_integer_value(json_object_get(j, "w"));
        json_decref(j);
        if (w < 0) /* saved by a batch without index entries */
            continue;
        with_index++;
        char want[16];
        snprintf(want, sizeof want, "%s", listed.keys[i]);
        json_t *x = json_integer(n);
        ck_assert_int_eq(kvkit_store_index_keys(s, "b", "f", x, NULL, find_key, want, NULL),
                         KVKIT_OK);
        json_decref(x);
        ck_assert_msg(want[0] == '!', "%s: %s (n = %d) is not found by its index", name,
                      listed.keys[i], n);
    }
    ck_assert_msg(indexed.n == with_index, "%s: index lists %d keys, %d documents have one",
                  name, indexed.n, with_index);
    for (int i = 0; i < indexed.n; i++)
        ck_assert_msg(indexed.count[i] == 1, "%s: %s listed %d times by one query", name,
                      indexed.keys[i], indexed.count[i]);
    printf("%s: %d documents, %d indexed, consistent\n", name, listed.n, with_index);
}

START_TEST(test_store_threads_stress)
{
    kvkit_error_t err = {0};
    const char *ops = getenv("KVKIT_STRESS_OPS");
    if (ops != NULL && atoi(ops) > 0)
        stress_ops = atoi(ops);
    ck_assert_int_eq(kvkit_plugin_dir_add(ODD_DIR, &err), KVKIT_OK);
    snprintf(tmpdir, sizeof tmpdir, "/tmp/kvkit-stress-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(tmpdir));
    char uri[400];
    snprintf(uri, sizeof uri, "leveldb:%s/shared?create_if_missing=true", tmpdir);
    shared[0] = kvkit_store_open("memory:", &err);
    ck_assert_msg(shared[0] != NULL, "%s", err.text);
    shared[1] = kvkit_store_open(uri, &err);
    ck_assert_msg(shared[1] != NULL, "%s", err.text);

    pthread_t t[WORKERS + CHURNERS];
    for (uintptr_t i = 0; i < WORKERS; i++)
        ck_assert_int_eq(pthread_create(&t[i], NULL, worker, (void *)i), 0);
    for (uintptr_t i = 0; i < CHURNERS; i++)
        ck_assert_int_eq(pthread_create(&t[WORKERS + i], NULL, churner, (void *)(i + 1)), 0);
    for (int i = 0; i < WORKERS + CHURNERS; i++)
        pthread_join(t[i], NULL);

    check_consistent(shared[0], "memory");
    check_consistent(shared[1], "leveldb");
    kvkit_store_close(shared[0]);
    kvkit_store_close(shared[1]);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    ck_assert_int_eq(system(cmd), 0);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("threads");
    TCase *tc = tcase_create("stress");
    tcase_set_timeout(tc, 900);
    tcase_add_test(tc, test_store_threads_stress);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
