/*
 * test_batch.c - kvkit_batch_* and kvkit_store_write against an in-process
 * backend that records what it is handed and fails when told to: what a
 * batch copies, what kvkit_batch_save_borrowed borrows (and never frees),
 * and what a failed write leaves.
 */
#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <kvkit/backend.h>
#include <kvkit/kvkit.h>

/*** the recording backend ***/

#define MAX_SEEN 2048

static struct {
    int fail;                    /* the next write fails with KVKIT_IO */
    size_t n;                    /* writes seen by the last call */
    const char *value[MAX_SEEN]; /* their value pointers, as handed over */
    char *copy[MAX_SEEN];        /* key NUL value NUL first entry's string */
    size_t n_entries[MAX_SEEN];
    size_t saves, deletes; /* calls of save / del (no write_batch) */
} rec;

static void record(const kvkit_backend_write_t *w, size_t i)
{
    const char *s = w->n_entries > 0 && w->entries[0].value.kind == KVKIT_INDEX_STRING
                        ? w->entries[0].value.string
                        : "";
    size_t kl = strlen(w->key), sl = strlen(s);
    free(rec.copy[i]);
    rec.copy[i] = malloc(kl + w->value_len + sl + 3);
    memcpy(rec.copy[i], w->key, kl + 1);
    if (w->value != NULL)
        memcpy(rec.copy[i] + kl + 1, w->value, w->value_len);
    rec.copy[i][kl + 1 + w->value_len] = '\0';
    memcpy(rec.copy[i] + kl + w->value_len + 2, s, sl + 1);
    rec.value[i] = w->value;
    rec.n_entries[i] = w->n_entries;
}

static const char *seen_value(size_t i)
{
    return rec.copy[i] + strlen(rec.copy[i]) + 1;
}

static const char *seen_entry(size_t i)
{
    const char *v = seen_value(i);
    return v + strlen(v) + 1;
}

static int rb_open(const char *loc, const kvkit_backend_option_t *o, size_t n, void **h,
                   kvkit_error_t *err)
{
    *h = &rec;
    return KVKIT_OK;
}

static void rb_close(void *h)
{
}

static int rb_get(void *h, const char *b, const char *k, char **v, size_t *n, kvkit_error_t *err)
{
    return KVKIT_NOTFOUND;
}

static int rb_write(void *h, const kvkit_backend_write_t *w, size_t n, kvkit_error_t *err)
{
    if (rec.fail)
        return kvkit_backend_error(err, KVKIT_IO, "", "disk full");
    for (size_t i = 0; i < n && i < MAX_SEEN; i++)
        record(&w[i], i);
    rec.n = n;
    return KVKIT_OK;
}

static int rb_save(void *h, const char *b, const char *k, const char *v, size_t len,
                   const kvkit_index_entry_t *e, size_t ne, kvkit_error_t *err)
{
    if (rec.fail && rec.saves + rec.deletes == 2) /* the third write fails */
        return kvkit_backend_error(err, KVKIT_IO, k, "disk full");
    kvkit_backend_write_t w = {b, k, v, len, e, ne};
    record(&w, rec.saves + rec.deletes);
    rec.saves++;
    return KVKIT_OK;
}

static int rb_del(void *h, const char *b, const char *k, kvkit_error_t *err)
{
    rec.deletes++;
    return KVKIT_NOTFOUND; /* an absent key: not an error */
}

static const kvkit_backend_descriptor_t rb_desc = {
    .abi_major = KVKIT_BACKEND_ABI_MAJOR,
    .abi_minor = KVKIT_BACKEND_ABI_MINOR,
    .struct_size = sizeof(kvkit_backend_descriptor_t),
    .flags = KVKIT_BACKEND_ATOMIC | KVKIT_BACKEND_ATOMIC_BATCH,
    .name = "batchrec",
    .version = "1",
    .description = "records batches",
};

static kvkit_store_t *store;

static void open_store(int with_write_batch)
{
    static kvkit_backend_ops_t ops;
    memset(&ops, 0, sizeof ops);
    ops.descriptor = &rb_desc;
    ops.open = rb_open;
    ops.close = rb_close;
    ops.get = rb_get;
    ops.save = rb_save;
    ops.del = rb_del;
    ops.write_batch = with_write_batch ? rb_write : NULL;
    kvkit_error_t err = {0};
    ck_assert_int_eq(kvkit_backend_register(&ops, &err), KVKIT_OK);
    store = kvkit_store_open("batchrec:", &err);
    ck_assert_msg(store != NULL, "%s", err.text);
}

static void setup(void)
{
    for (size_t i = 0; i < MAX_SEEN; i++)
        free(rec.copy[i]);
    memset(&rec, 0, sizeof rec);
    open_store(1);
}

static void teardown(void)
{
    kvkit_store_close(store);
    kvkit_backend_unregister("batchrec", NULL);
    kvkit_set_alloc_funcs(NULL, NULL, NULL);
}

/*** frees through kvkit's allocator, watched ***/

static const void *watched;
static int watched_freed;

static void watching_free(void *p)
{
    if (p != NULL && p == watched)
        watched_freed = 1;
    free(p);
}

/*** tests ***/

static kvkit_index_set_t *one_entry(const char *field, const char *text)
{
    kvkit_index_set_t *set = kvkit_index_set_create();
    json_t *v = json_string(text);
    ck_assert_int_eq(kvkit_index_set_add(set, field, v, NULL), KVKIT_OK);
    json_decref(v);
    return set;
}

/* kvkit_batch_save copies: the caller may reuse its buffers and index set
 * at once, across many documents, large values and empty ones. */
START_TEST(test_batch_save_copies_value_key_and_entries)
{
    kvkit_batch_t *b = kvkit_batch_create();
    kvkit_error_t err = {0};
    char key[32], value[64];
    kvkit_index_set_t *set = kvkit_index_set_create();
    for (int i = 0; i < 1500; i++) {
        snprintf(key, sizeof key, "k%d", i);
        snprintf(value, sizeof value, "{\"n\":%d}", i);
        json_t *v = json_sprintf("e%d", i);
        kvkit_index_set_clear(set);
        ck_assert_int_eq(kvkit_index_set_add(set, "f", v, NULL), KVKIT_OK);
        json_decref(v);
        ck_assert_int_eq(kvkit_batch_save(b, "bk", key, value, strlen(value), set, &err), KVKIT_OK);
    }
    size_t big_len = 100000;
    char *big = malloc(big_len);
    memset(big, 'x', big_len);
    ck_assert_int_eq(kvkit_batch_save(b, "bk", "big", big, big_len, NULL, &err), KVKIT_OK);
    ck_assert_int_eq(kvkit_batch_save(b, "bk", "empty", NULL, 0, NULL, &err), KVKIT_OK);
    memset(big, 'y', big_len);
    strcpy(key, "changed");
    strcpy(value, "changed");
    kvkit_index_set_clear(set);
    ck_assert_uint_eq(kvkit_batch_size(b), 1502);
    ck_assert_int_eq(kvkit_store_write(store, b, &err), KVKIT_OK);
    ck_assert_uint_eq(rec.n, 1502);
    for (int i = 0; i < 1500; i++) {
        snprintf(key, sizeof key, "k%d", i);
        snprintf(value, sizeof value, "{\"n\":%d}", i);
        ck_assert_str_eq(rec.copy[i], key);
        ck_assert_str_eq(seen_value(i), value);
        ck_assert_uint_eq(rec.n_entries[i], 1);
        snprintf(value, sizeof value, "e%d", i);
        ck_assert_str_eq(seen_entry(i), value);
    }
    ck_assert_uint_eq(strspn(seen_value(1500), "x"), big_len);
    ck_assert_ptr_nonnull(rec.value[1501]); /* an empty save, not a delete */
    ck_assert_str_eq(seen_value(1501), "");
    free(big);
    kvkit_index_set_destroy(set);
    kvkit_batch_destroy(b);
}
END_TEST

/* kvkit_batch_save_borrowed hands the backend the caller's own value. */
START_TEST(test_batch_save_borrowed_hands_over_caller_memory)
{
    kvkit_batch_t *b = kvkit_batch_create();
    kvkit_error_t err = {0};
    kvkit_index_set_t *set = one_entry("email", "ann@example.com");
    const char *value = "{\"email\":\"ann@example.com\"}";
    ck_assert_int_eq(kvkit_batch_save_borrowed(b, "users", "ann", value, strlen(value), set, &err),
                     KVKIT_OK);
    ck_assert_int_eq(kvkit_batch_delete(b, "users", "bob", &err), KVKIT_OK);
    ck_assert_int_eq(kvkit_store_write(store, b, &err), KVKIT_OK);
    ck_assert_uint_eq(rec.n, 2);
    ck_assert_ptr_eq(rec.value[0], value);
    ck_assert_str_eq(seen_entry(0), "ann@example.com");
    ck_assert_ptr_null(rec.value[1]); /* the delete */
    kvkit_batch_destroy(b);
    kvkit_index_set_destroy(set);
}
END_TEST

/* A write that fails leaves the batch as it was, with the borrowed input
 * untouched: the same batch can be written again.  The batch never frees
 * borrowed memory, neither on the failure nor at destroy. */
START_TEST(test_batch_save_borrowed_commit_failure)
{
    kvkit_set_alloc_funcs(malloc, realloc, watching_free);
    char *value = malloc(16);
    strcpy(value, "{\"v\":1}");
    watched = value;
    watched_freed = 0;
    kvkit_index_set_t *set = one_entry("v", "one");
    kvkit_batch_t *b = kvkit_batch_create();
    kvkit_error_t err = {0};
    ck_assert_int_eq(kvkit_batch_save_borrowed(b, "b", "k", value, strlen(value), set, &err),
                     KVKIT_OK);
    rec.fail = 1;
    ck_assert_int_eq(kvkit_store_write(store, b, &err), KVKIT_IO);
    ck_assert_str_eq(err.text, "batchrec: disk full");
    ck_assert_uint_eq(rec.n, 0);
    ck_assert_uint_eq(kvkit_batch_size(b), 1);
    ck_assert_str_eq(value, "{\"v\":1}");
    ck_assert_int_eq(watched_freed, 0);
    kvkit_error_clear(&err);
    rec.fail = 0;
    ck_assert_int_eq(kvkit_store_write(store, b, &err), KVKIT_OK);
    ck_assert_ptr_eq(rec.value[0], value);
    ck_assert_str_eq(seen_value(0), "{\"v\":1}");
    ck_assert_str_eq(seen_entry(0), "one");
    kvkit_batch_destroy(b);
    ck_assert_int_eq(watched_freed, 0);
    ck_assert_str_eq(value, "{\"v\":1}"); /* still the caller's to read and free */
    free(value);
    kvkit_index_set_destroy(set);
}
END_TEST

START_TEST(test_batch_save_borrowed_null_value_invalid)
{
    kvkit_batch_t *b = kvkit_batch_create();
    kvkit_error_t err = {0};
    ck_assert_int_eq(kvkit_batch_save_borrowed(b, "b", "k", NULL, 3, NULL, &err), KVKIT_INVALID);
    ck_assert_str_eq(err.text, "kvkit_batch_save_borrowed: value is NULL");
    kvkit_error_clear(&err);
    ck_assert_int_eq(kvkit_batch_save_borrowed(NULL, "b", "k", "1", 1, NULL, &err), KVKIT_INVALID);
    ck_assert_str_eq(err.text, "batch is NULL");
    kvkit_error_clear(&err);
    ck_assert_int_eq(kvkit_batch_save_borrowed(b, "b", "", "1", 1, NULL, &err), KVKIT_INVALID);
    ck_assert_str_eq(err.text, "empty key: a key is 1 to 1024 bytes");
    ck_assert_uint_eq(kvkit_batch_size(b), 0);
    kvkit_batch_destroy(b);
}
END_TEST

/* Without write_batch: write by write in order, an absent key's delete is
 * no error, the first failure stops the rest and names its key. */
START_TEST(test_store_write_without_write_batch_stops_at_first_error)
{
    kvkit_store_close(store);
    kvkit_backend_unregister("batchrec", NULL);
    open_store(0);
    kvkit_batch_t *b = kvkit_batch_create();
    kvkit_error_t err = {0};
    ck_assert_int_eq(kvkit_batch_save(b, "b", "k1", "1", 1, NULL, &err), KVKIT_OK);
    ck_assert_int_eq(kvkit_batch_delete(b, "b", "gone", &err), KVKIT_OK);
    ck_assert_int_eq(kvkit_batch_save_borrowed(b, "b", "k3", "3", 1, NULL, &err), KVKIT_OK);
    ck_assert_int_eq(kvkit_store_write(store, b, &err), KVKIT_OK);
    ck_assert_uint_eq(rec.saves, 2);
    ck_assert_uint_eq(rec.deletes, 1);
    ck_assert_str_eq(rec.copy[2], "k3");
    rec.saves = rec.deletes = 0;
    ck_assert_int_eq(kvkit_batch_save(b, "b", "k4", "4", 1, NULL, &err), KVKIT_OK);
    rec.fail = 1; /* k3, the third write, fails: k4 is not tried */
    ck_assert_int_eq(kvkit_store_write(store, b, &err), KVKIT_IO);
    ck_assert_str_eq(err.subject, "k3");
    ck_assert_uint_eq(rec.saves, 1);
    kvkit_batch_destroy(b);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("batch");
    TCase *tc = tcase_create("batch");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_batch_save_copies_value_key_and_entries);
    tcase_add_test(tc, test_batch_save_borrowed_hands_over_caller_memory);
    tcase_add_test(tc, test_batch_save_borrowed_commit_failure);
    tcase_add_test(tc, test_batch_save_borrowed_null_value_invalid);
    tcase_add_test(tc, test_store_write_without_write_batch_stops_at_first_error);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
