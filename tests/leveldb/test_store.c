/* test_store.c - the leveldb store under concurrent use, and how it reports
 * what LevelDB finds wrong while reading. */
#include "layoutcheck.h"
#include "testutil.h"

#include <check.h>
#include <dirent.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static char *dir, *uri, path[4096];

static void setup(void)
{
    dir = tu_tmpdir();
    uri = tu_uri(dir, NULL);
    snprintf(path, sizeof path, "%s/db", dir);
}

static void teardown(void)
{
    tu_rmtree(dir);
    free(dir);
    free(uri);
}

static const char *const colors[] = {"red", "green", "blue"};

/* Save key with color c (also in the document, for the checks). */
static int save_color(kvkit_store_t *s, int key, int c, int round)
{
    char k[16], doc[160], v[16];
    snprintf(k, sizeof k, "k%03d", key);
    snprintf(doc, sizeof doc, "{\"idx\":{\"color\":\"%s\",\"n\":[%d,%d]},\"round\":%d}",
             colors[c], key, round, round);
    snprintf(v, sizeof v, "\"%s\"", colors[c]);
    char n1[16], n2[16];
    snprintf(n1, sizeof n1, "%d", key);
    snprintf(n2, sizeof n2, "%d", round);
    kvkit_index_set_t *set = tu_index("color", v, "n", n1, "n", n2, NULL);
    kvkit_error_t err = {0};
    int rc = kvkit_store_save(s, "t", k, doc, strlen(doc), set, &err);
    kvkit_index_set_destroy(set);
    return rc;
}

typedef struct worker {
    kvkit_store_t *s;
    int id, failures, mismatches;
    atomic_int *stop;
} worker_t;

static void *writer(void *arg)
{
    worker_t *w = arg;
    unsigned seed = (unsigned)w->id * 7919u + 1;
    for (int i = 0; i < 400; i++) {
        int key = rand_r(&seed) % 50;
        int rc;
        if (rand_r(&seed) % 8 == 0) {
            char k[16];
            snprintf(k, sizeof k, "k%03d", key);
            rc = kvkit_store_delete(w->s, "t", k, NULL);
        } else {
            rc = save_color(w->s, key, rand_r(&seed) % 3, i);
        }
        w->failures += rc != KVKIT_OK;
    }
    return NULL;
}

typedef struct seen {
    const char *color;
    int mismatches, count;
} seen_t;

static int check_doc(void *ctx, const char *key, size_t key_len, const char *value,
                     size_t value_len)
{
    seen_t *s = ctx;
    json_t *doc = json_loadb(value, value_len, 0, NULL);
    const char *c = json_string_value(json_object_get(json_object_get(doc, "idx"), "color"));
    s->mismatches += c == NULL || strcmp(c, s->color) != 0;
    s->count++;
    json_decref(doc);
    return 0;
}

/* index_docs under concurrent writes: each document handed over must hold
 * the value it was found under (index and document read from one snapshot). */
static void *reader(void *arg)
{
    worker_t *w = arg;
    int i = 0;
    while (!atomic_load(w->stop) || i < 3) {
        seen_t seen = {colors[i++ % 3], 0, 0};
        json_t *v = json_string(seen.color);
        kvkit_error_t err = {0};
        if (kvkit_store_index_docs(w->s, "t", "color", v, NULL, check_doc, &seen, &err) !=
            KVKIT_OK)
            w->failures++;
        json_decref(v);
        w->mismatches += seen.mismatches;
    }
    return NULL;
}

START_TEST(test_store_threads_keep_index_consistent)
{
    kvkit_store_t *s = tu_open(uri);
    atomic_int stop = 0;
    pthread_t th[6];
    worker_t w[6];
    for (int i = 0; i < 6; i++) {
        w[i] = (worker_t){s, i, 0, 0, &stop};
        ck_assert_int_eq(pthread_create(&th[i], NULL, i < 4 ? writer : reader, &w[i]), 0);
    }
    for (int i = 0; i < 4; i++)
        pthread_join(th[i], NULL);
    atomic_store(&stop, 1);
    for (int i = 4; i < 6; i++)
        pthread_join(th[i], NULL);
    for (int i = 0; i < 6; i++) {
        ck_assert_int_eq(w[i].failures, 0);
        ck_assert_int_eq(w[i].mismatches, 0);
    }
    kvkit_store_close(s);
    char msg[512];
    size_t docs;
    ck_assert_msg(layout_check(path, &docs, msg, sizeof msg) == 0, "%s", msg);
    ck_assert_uint_gt(docs, 0);
}
END_TEST

static void *incrementer(void *arg)
{
    worker_t *w = arg;
    for (int i = 0; i < 100; i++) {
        for (;;) {
            char *v = NULL;
            size_t n;
            uint64_t rev = 0;
            int rc = kvkit_store_get_rev(w->s, "c", "counter", &v, &n, &rev, NULL);
            long count = rc == KVKIT_OK ? atol(v) : 0;
            free(v);
            if (rc != KVKIT_OK && rc != KVKIT_NOTFOUND) {
                w->failures++;
                return NULL;
            }
            char doc[32];
            snprintf(doc, sizeof doc, "%ld", count + 1);
            kvkit_index_set_t *set = tu_index("count", doc, NULL);
            rc = kvkit_store_save_if(w->s, "c", "counter", doc, strlen(doc), set, rev, NULL,
                                     NULL);
            kvkit_index_set_destroy(set);
            if (rc == KVKIT_OK)
                break;
            if (rc != KVKIT_CONFLICT) {
                w->failures++;
                return NULL;
            }
        }
    }
    return NULL;
}

START_TEST(test_store_save_if_counts_exactly)
{
    kvkit_store_t *s = tu_open(uri);
    pthread_t th[4];
    worker_t w[4];
    for (int i = 0; i < 4; i++) {
        w[i] = (worker_t){s, i, 0, 0, NULL};
        ck_assert_int_eq(pthread_create(&th[i], NULL, incrementer, &w[i]), 0);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(th[i], NULL);
        ck_assert_int_eq(w[i].failures, 0);
    }
    char *v = NULL;
    size_t n;
    ck_assert_int_eq(kvkit_store_get(s, "c", "counter", &v, &n, NULL), KVKIT_OK);
    ck_assert_str_eq(v, "400");
    free(v);
    char *keys = tu_query(s, "c", "count", "400", NULL);
    ck_assert_str_eq(keys, "counter");
    free(keys);
    kvkit_store_close(s);
    /* revisions survive a reopen: a stale expectation still conflicts */
    s = tu_open(uri);
    uint64_t rev, rev2;
    ck_assert_int_eq(kvkit_store_get_rev(s, "c", "counter", &v, &n, &rev, NULL), KVKIT_OK);
    free(v);
    ck_assert_int_eq(kvkit_store_save_if(s, "c", "counter", "0", 1, NULL, rev, &rev2, NULL),
                     KVKIT_OK);
    ck_assert_uint_gt(rev2, rev);
    kvkit_error_t err = {0};
    ck_assert_int_eq(kvkit_store_save_if(s, "c", "counter", "1", 1, NULL, rev, NULL, &err),
                     KVKIT_CONFLICT);
    kvkit_store_close(s);
}
END_TEST

START_TEST(test_store_batch_same_key_twice)
{
    kvkit_store_t *s = tu_open(uri);
    kvkit_batch_t *b = kvkit_batch_create();
    kvkit_index_set_t *i1 = tu_index("color", "\"red\"", NULL);
    kvkit_index_set_t *i2 = tu_index("color", "\"blue\"", NULL);
    const char *d1 = "{\"idx\":{\"color\":\"red\"}}", *d2 = "{\"idx\":{\"color\":\"blue\"}}";
    ck_assert_int_eq(kvkit_batch_save(b, "t", "a", d1, strlen(d1), i1, NULL), KVKIT_OK);
    ck_assert_int_eq(kvkit_batch_save(b, "t", "a", d2, strlen(d2), i2, NULL), KVKIT_OK);
    ck_assert_int_eq(kvkit_batch_save(b, "t", "b", d1, strlen(d1), i1, NULL), KVKIT_OK);
    ck_assert_int_eq(kvkit_batch_delete(b, "t", "b", NULL), KVKIT_OK);
    ck_assert_int_eq(kvkit_batch_save(b, "t", "c", d1, strlen(d1), i1, NULL), KVKIT_OK);
    kvkit_error_t err = {0};
    ck_assert_msg(kvkit_store_write(s, b, &err) == KVKIT_OK, "%s", err.text);
    kvkit_batch_destroy(b);
    kvkit_index_set_destroy(i1);
    kvkit_index_set_destroy(i2);
    char *keys = tu_query(s, "t", "color", "\"blue\"", NULL);
    ck_assert_str_eq(keys, "a");
    free(keys);
    keys = tu_query(s, "t", "color", "\"red\"", NULL);
    ck_assert_str_eq(keys, "c");
    free(keys);
    kvkit_store_close(s);
    char msg[512];
    size_t docs;
    ck_assert_msg(layout_check(path, &docs, msg, sizeof msg) == 0, "%s", msg);
    ck_assert_uint_eq(docs, 2);
}
END_TEST

/* Flip bytes in the middle of every table file. */
static int damage_tables(void)
{
    DIR *d = opendir(path);
    ck_assert_ptr_nonnull(d);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        size_t len = strlen(e->d_name);
        if (len < 4 || strcmp(e->d_name + len - 4, ".ldb") != 0)
            continue;
        char file[8192];
        snprintf(file, sizeof file, "%s/%s", path, e->d_name);
        struct stat st;
        ck_assert_int_eq(stat(file, &st), 0);
        FILE *f = fopen(file, "r+");
        ck_assert_ptr_nonnull(f);
        for (long off = 100; off < st.st_size / 3; off += 97) { /* documents only */
            fseek(f, off, SEEK_SET);
            fputc(0x5a, f);
        }
        fclose(f);
        n++;
    }
    closedir(d);
    return n;
}

START_TEST(test_store_read_corruption_reported)
{
    char *opts = tu_uri(dir, "paranoid_checks=true&compression=none");
    kvkit_store_t *s = tu_open(opts);
    for (int i = 0; i < 200; i++)
        ck_assert_int_eq(save_color(s, i, i % 3, 0), KVKIT_OK);
    kvkit_store_close(s);
    /* reopening writes the log into a table file */
    s = tu_open(opts);
    kvkit_store_close(s);
    ck_assert_int_gt(damage_tables(), 0);
    s = tu_open(opts);
    char *v = NULL;
    size_t n;
    kvkit_error_t err = {0};
    int rc = kvkit_store_get(s, "t", "k100", &v, &n, &err);
    ck_assert_int_eq(rc, KVKIT_CORRUPT);
    ck_assert_msg(strstr(err.text, "leveldb: get \"t/k100\": Corruption: ") == err.text, "%s",
                  err.text);
    ck_assert_ptr_nonnull(strstr(err.text, "repair"));
    kvkit_error_clear(&err);
    /* a fused index query reads the documents too */
    json_t *lo = json_integer(0), *hi = json_integer(1000);
    seen_t seen = {"red", 0, 0};
    rc = kvkit_store_index_docs(s, "t", "n", lo, hi, check_doc, &seen, &err);
    json_decref(lo);
    json_decref(hi);
    ck_assert_int_eq(rc, KVKIT_CORRUPT);
    /* the damaged block is met by the scan or by a document read */
    ck_assert_msg(strstr(err.text, "leveldb: scan at \"t/k") == err.text ||
                      strstr(err.text, "leveldb: get \"t/k") == err.text,
                  "%s", err.text);
    ck_assert_ptr_nonnull(strstr(err.text, "\": Corruption: "));
    kvkit_store_close(s);
    free(opts);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("leveldb_store");
    TCase *tc = tcase_create("store");
    tcase_set_timeout(tc, 120);
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_store_threads_keep_index_consistent);
    tcase_add_test(tc, test_store_save_if_counts_exactly);
    tcase_add_test(tc, test_store_batch_same_key_twice);
    tcase_add_test(tc, test_store_read_corruption_reported);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
