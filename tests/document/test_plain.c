/*
 * test_plain.c - the document layer on a backend with only the required
 * operations (registered in-process): documents still save and load
 * (plain get, no revision), a checked save is NOT_SUPPORTED, queries report
 * the missing operation, and backend errors come through with their text.
 */
#include "helpers.h"

#include <kvkit/backend.h> /* kvkit_backend_error for the in-process backends */
#include <stdlib.h>

/*** a tiny backend: a fixed table, no index, no revisions ***/

#define SLOTS 16

typedef struct slot {
    char *bucket, *key, *value;
    size_t len;
} slot_t;

static slot_t table[SLOTS];
static int fail_saves; /* when set, save fails with a backend message */

static int p_open(const char *location, const kvkit_backend_option_t *options, size_t n,
                  void **handle, kvkit_error_t *err)
{
    *handle = table;
    return KVKIT_OK;
}

static void p_close(void *handle)
{
    for (int i = 0; i < SLOTS; i++) {
        free(table[i].bucket);
        free(table[i].key);
        free(table[i].value);
        memset(&table[i], 0, sizeof table[i]);
    }
}

static slot_t *find(const char *bucket, const char *key)
{
    for (int i = 0; i < SLOTS; i++)
        if (table[i].key && !strcmp(table[i].key, key) && !strcmp(table[i].bucket, bucket))
            return &table[i];
    return NULL;
}

static int p_get(void *h, const char *bucket, const char *key, char **value, size_t *len,
                 kvkit_error_t *err)
{
    slot_t *s = find(bucket, key);
    if (s == NULL)
        return KVKIT_NOTFOUND;
    *value = malloc(s->len + 1);
    memcpy(*value, s->value, s->len + 1);
    *len = s->len;
    return KVKIT_OK;
}

static int p_save(void *h, const char *bucket, const char *key, const char *value, size_t len,
                  const kvkit_index_entry_t *entries, size_t n, kvkit_error_t *err)
{
    if (fail_saves)
        return kvkit_backend_error(err, KVKIT_IO, key, "plain: disk on fire");
    slot_t *s = find(bucket, key);
    for (int i = 0; s == NULL && i < SLOTS; i++)
        if (table[i].key == NULL) {
            s = &table[i];
            s->bucket = strdup(bucket);
            s->key = strdup(key);
        }
    if (s == NULL)
        return kvkit_backend_error(err, KVKIT_NOMEM, key, "plain: table full");
    free(s->value);
    s->value = malloc(len + 1);
    memcpy(s->value, value, len);
    s->value[len] = '\0';
    s->len = len;
    return KVKIT_OK;
}

static int p_delete(void *h, const char *bucket, const char *key, kvkit_error_t *err)
{
    slot_t *s = find(bucket, key);
    if (s != NULL) {
        free(s->bucket);
        free(s->key);
        free(s->value);
        memset(s, 0, sizeof *s);
    }
    return KVKIT_OK;
}

static const kvkit_backend_descriptor_t plain_desc = {
    .abi_major = KVKIT_BACKEND_ABI_MAJOR,
    .abi_minor = KVKIT_BACKEND_ABI_MINOR,
    .struct_size = sizeof(kvkit_backend_descriptor_t),
    .name = "plaindoc",
    .version = "1",
    .description = "required operations only",
};

static const kvkit_backend_ops_t plain_ops = {
    .descriptor = &plain_desc,
    .open = p_open,
    .close = p_close,
    .get = p_get,
    .save = p_save,
    .del = p_delete,
};

static kvkit_store_t *store;
static kvkit_schema_t *note;

static void setup(void)
{
    kvkit_error_t err = {0};
    ck_assert_msg(kvkit_backend_register(&plain_ops, &err) == 0, "%s", err.text);
    store = kvkit_store_open("plaindoc:", &err);
    ck_assert_msg(store != NULL, "%s", err.text);
    ck_assert_int_eq(kvkit_schema_create("Note", NULL, store, &note, &err), 0);
    ck_assert_int_eq(
        kvkit_schema_add(note, "text", KVKIT_PROP_STRING, KVKIT_PROP_INDEX, NULL, &err), 0);
    fail_saves = 0;
}

static void teardown(void)
{
    kvkit_schema_destroy(note);
    kvkit_store_close(store);
    kvkit_backend_unregister("plaindoc", NULL);
}

START_TEST(test_doc_save_get_without_revisions)
{
    kvkit_doc_t *d, *g;
    OK(kvkit_doc_new(note, "n1", &d, &err));
    OK(kvkit_doc_attr_set_string(d, "text", "hi", &err));
    OK(kvkit_doc_save(d, &err));
    OK(kvkit_doc_get(note, "n1", &g, &err));
    ck_assert_uint_eq(kvkit_doc_revision(g), 0);
    const char *t;
    OK(kvkit_doc_attr_get_string(g, "text", &t, &err));
    ck_assert_str_eq(t, "hi");
    FAILS(KVKIT_NOT_SUPPORTED, "plaindoc: save_if is not supported",
          kvkit_doc_save_checked(g, &err));
    kvkit_doc_t *fresh;
    OK(kvkit_doc_new(note, "n2", &fresh, &err));
    FAILS(KVKIT_NOT_SUPPORTED, "plaindoc: save_if is not supported by this backend",
          kvkit_doc_save_checked(fresh, &err));
    kvkit_doc_destroy(fresh);
    kvkit_doc_destroy(g);
    kvkit_doc_destroy(d);
}
END_TEST

START_TEST(test_query_index_not_supported)
{
    kvkit_query_t *q;
    json_t *v = json_string("hi");
    FAILS(KVKIT_NOT_SUPPORTED, "index_lookup is not supported",
          kvkit_query_index(note, "text", v, NULL, 0, &q, &err));
    FAILS(KVKIT_NOT_SUPPORTED, "index_lookup is not supported",
          kvkit_query_index_keys(note, "text", v, NULL, NULL, NULL, &err));
    FAILS(KVKIT_NOT_SUPPORTED, "list_keys is not supported",
          kvkit_query_all(note, NULL, NULL, 0, &q, &err));
    json_decref(v);
}
END_TEST

START_TEST(test_doc_save_backend_error)
{
    kvkit_doc_t *d;
    OK(kvkit_doc_new(note, "n3", &d, &err));
    fail_saves = 1;
    FAILS(KVKIT_IO, "plain: disk on fire", kvkit_doc_save(d, &err));
    kvkit_doc_destroy(d);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("plain backend");
    TCase *tc = tcase_create("plain");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_doc_save_get_without_revisions);
    tcase_add_test(tc, test_query_index_not_supported);
    tcase_add_test(tc, test_doc_save_backend_error);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
