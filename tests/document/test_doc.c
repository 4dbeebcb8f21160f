/*
 * test_doc.c - documents: lifecycle against the store, checked saves,
 * corrupt stored data, attributes, merge / clear / serialize /
 * deserialize corner cases, invalids with nested paths.
 */
#include "helpers.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>

static kvkit_store_t *store;
static kvkit_schema_t *item, *post;

/* Post: title (required string), views (integer, default 0), tags (list,
 * indexed), items (list of Item{qty: required integer}), secret (string). */
static void setup(void)
{
    kvkit_error_t err = {0};
    kvkit_prop_t *p;
    store = mem_store();
    ck_assert_int_eq(kvkit_schema_create("Item", NULL, NULL, &item, &err), 0);
    ck_assert_int_eq(
        kvkit_schema_add(item, "qty", KVKIT_PROP_INTEGER, KVKIT_PROP_REQUIRED, NULL, &err), 0);
    ck_assert_int_eq(kvkit_schema_create("Post", NULL, store, &post, &err), 0);
    ck_assert_int_eq(
        kvkit_schema_add(post, "title", KVKIT_PROP_STRING, KVKIT_PROP_REQUIRED, NULL, &err), 0);
    ck_assert_int_eq(kvkit_schema_add(post, "views", KVKIT_PROP_INTEGER, 0, &p, &err), 0);
    json_t *zero = json_integer(0);
    ck_assert_int_eq(kvkit_prop_set_default(p, zero, &err), 0);
    json_decref(zero);
    ck_assert_int_eq(kvkit_schema_add(post, "tags", KVKIT_PROP_LIST, KVKIT_PROP_INDEX, NULL, &err),
                     0);
    ck_assert_int_eq(kvkit_schema_add_embedded(post, "items", item, 1, 0, NULL, &err), 0);
    ck_assert_int_eq(kvkit_schema_add(post, "secret", KVKIT_PROP_STRING, 0, NULL, &err), 0);
}

static void teardown(void)
{
    kvkit_schema_destroy(post);
    kvkit_schema_destroy(item);
    kvkit_store_close(store);
}

static kvkit_doc_t *new_post(const char *key, const char *title)
{
    kvkit_error_t err = {0};
    kvkit_doc_t *d;
    ck_assert_int_eq(kvkit_doc_new(post, key, &d, &err), 0);
    if (title)
        ck_assert_int_eq(kvkit_doc_attr_set_string(d, "title", title, &err), 0);
    return d;
}

/*** lifecycle ***/

START_TEST(test_doc_save_get_roundtrip)
{
    kvkit_doc_t *d = new_post("p1", "Hello"), *g;
    OK(kvkit_doc_attr_set_new(d, "tags", json_pack("[ss]", "c", "news"), &err));
    OK(kvkit_doc_attr_set_integer(d, "undeclared", 5, &err));
    OK(kvkit_doc_save(d, &err));
    OK(kvkit_doc_get(post, "p1", &g, &err));
    ck_assert_str_eq(kvkit_doc_key(g), "p1");
    ck_assert_ptr_eq(kvkit_doc_schema(g), post);
    ck_assert_int_eq(kvkit_doc_equal(d, g), 1);
    const char *title;
    int64_t n;
    OK(kvkit_doc_attr_get_string(g, "title", &title, &err));
    ck_assert_str_eq(title, "Hello");
    OK(kvkit_doc_attr_get_integer(g, "views", &n, &err));
    ck_assert_int_eq(n, 0);
    OK(kvkit_doc_attr_get_integer(g, "undeclared", &n, &err));
    ck_assert_int_eq(n, 5);
    ck_assert_uint_gt(kvkit_doc_revision(g), 0);
    kvkit_doc_destroy(g);
    kvkit_doc_destroy(d);
}
END_TEST

START_TEST(test_doc_get_notfound_and_bad_key)
{
    kvkit_doc_t *g = (kvkit_doc_t *)1;
    kvkit_error_t e = {0};
    ck_assert_int_eq(kvkit_doc_get(post, "nope", &g, &e), KVKIT_NOTFOUND);
    ck_assert_int_eq(e.code, KVKIT_OK); /* an outcome, not an error */
    ck_assert_ptr_null(g);
    FAILS(KVKIT_INVALID, "empty key", kvkit_doc_get(post, "", &g, &err));
    FAILS(KVKIT_INVALID, "empty key", kvkit_doc_new(post, "", &g, &err));
    FAILS(KVKIT_INVALID, "schema is NULL", kvkit_doc_get(NULL, "k", &g, &err));
}
END_TEST

START_TEST(test_doc_get_or_new_both_ways)
{
    kvkit_doc_t *d;
    int created = -1;
    OK(kvkit_doc_get_or_new(post, "g1", &d, &created, &err));
    ck_assert_int_eq(created, 1);
    OK(kvkit_doc_attr_set_string(d, "title", "t", &err));
    OK(kvkit_doc_save(d, &err));
    kvkit_doc_destroy(d);
    OK(kvkit_doc_get_or_new(post, "g1", &d, &created, &err));
    ck_assert_int_eq(created, 0);
    const char *t;
    OK(kvkit_doc_attr_get_string(d, "title", &t, &err));
    ck_assert_str_eq(t, "t");
    kvkit_doc_destroy(d);
}
END_TEST

START_TEST(test_doc_reload_drops_changes)
{
    kvkit_doc_t *d = new_post("r1", "first");
    OK(kvkit_doc_save(d, &err));
    OK(kvkit_doc_attr_set_string(d, "title", "changed", &err));
    OK(kvkit_doc_attr_set_integer(d, "junk", 1, &err));
    OK(kvkit_doc_reload(d, &err));
    const char *t;
    OK(kvkit_doc_attr_get_string(d, "title", &t, &err));
    ck_assert_str_eq(t, "first");
    ck_assert_int_eq(kvkit_doc_attr_has(d, "junk"), 0);
    OK(kvkit_doc_delete(d, &err));
    ck_assert_int_eq(kvkit_doc_reload(d, NULL), KVKIT_NOTFOUND);
    OK(kvkit_doc_attr_get_string(d, "title", &t, &err)); /* unchanged */
    ck_assert_str_eq(t, "first");
    kvkit_doc_destroy(d);
}
END_TEST

START_TEST(test_doc_delete_and_delete_key)
{
    kvkit_doc_t *a = new_post("d1", "a"), *b = new_post("d2", "b"), *g;
    OK(kvkit_doc_save(a, &err));
    OK(kvkit_doc_save(b, &err));
    OK(kvkit_doc_delete(a, &err));
    ck_assert_int_eq(kvkit_doc_get(post, "d1", &g, NULL), KVKIT_NOTFOUND);
    OK(kvkit_doc_delete_key(post, "d2", &err));
    ck_assert_int_eq(kvkit_doc_get(post, "d2", &g, NULL), KVKIT_NOTFOUND);
    OK(kvkit_doc_delete_key(post, "never", &err)); /* absent is fine */
    /* a deleted document can be saved again */
    OK(kvkit_doc_save(a, &err));
    OK(kvkit_doc_get(post, "d1", &g, &err));
    kvkit_doc_destroy(g);
    kvkit_doc_destroy(a);
    kvkit_doc_destroy(b);
}
END_TEST

START_TEST(test_doc_save_no_store)
{
    kvkit_schema_t *s;
    kvkit_doc_t *d;
    OK(kvkit_schema_create("Loose", NULL, NULL, &s, &err));
    OK(kvkit_doc_new(s, "k", &d, &err));
    FAILS(KVKIT_INVALID, "schema \"Loose\" has no store", kvkit_doc_save(d, &err));
    kvkit_doc_destroy(d);
    kvkit_schema_destroy(s);
}
END_TEST

START_TEST(test_doc_equal_by_key_and_bucket)
{
    kvkit_doc_t *a = new_post("same", NULL), *b = new_post("same", "other"),
                *c = new_post("diff", NULL), *e;
    kvkit_schema_t *other;
    OK(kvkit_schema_create("Other", NULL, store, &other, &err));
    OK(kvkit_doc_new(other, "same", &e, &err));
    ck_assert_int_eq(kvkit_doc_equal(a, b), 1);
    ck_assert_int_eq(kvkit_doc_equal(a, c), 0);
    ck_assert_int_eq(kvkit_doc_equal(a, e), 0);
    ck_assert_int_eq(kvkit_doc_equal(a, NULL), 0);
    kvkit_doc_destroy(a);
    kvkit_doc_destroy(b);
    kvkit_doc_destroy(c);
    kvkit_doc_destroy(e);
    kvkit_schema_destroy(other);
}
END_TEST

/*** checked saves ***/

START_TEST(test_doc_save_checked_conflict)
{
    kvkit_doc_t *d = new_post("c1", "v1"), *x, *y;
    OK(kvkit_doc_save_checked(d, &err)); /* new: the key was free */
    uint64_t r1 = kvkit_doc_revision(d);
    ck_assert_uint_gt(r1, 0);
    kvkit_doc_t *dup = new_post("c1", "dup");
    FAILS(KVKIT_CONFLICT, "", kvkit_doc_save_checked(dup, &err)); /* key taken */
    kvkit_doc_destroy(dup);

    OK(kvkit_doc_get(post, "c1", &x, &err));
    OK(kvkit_doc_get(post, "c1", &y, &err));
    ck_assert_uint_eq(kvkit_doc_revision(x), r1);
    OK(kvkit_doc_attr_set_string(x, "title", "from x", &err));
    OK(kvkit_doc_save_checked(x, &err));
    ck_assert_uint_gt(kvkit_doc_revision(x), r1);
    OK(kvkit_doc_attr_set_string(y, "title", "from y", &err));
    FAILS(KVKIT_CONFLICT, "", kvkit_doc_save_checked(y, &err));
    OK(kvkit_doc_reload(y, &err));
    const char *t;
    OK(kvkit_doc_attr_get_string(y, "title", &t, &err));
    ck_assert_str_eq(t, "from x");
    OK(kvkit_doc_attr_set_string(y, "title", "from y", &err));
    OK(kvkit_doc_save_checked(y, &err));
    /* after an unchecked save the revision is unknown */
    OK(kvkit_doc_save(y, &err));
    ck_assert_uint_eq(kvkit_doc_revision(y), 0);
    FAILS(KVKIT_INVALID, "revision unknown", kvkit_doc_save_checked(y, &err));
    kvkit_doc_destroy(x);
    kvkit_doc_destroy(y);
    kvkit_doc_destroy(d);
}
END_TEST

/*** corrupt data ***/

static const struct {
    const char *stored, *msg;
} corrupt[] = {
    {"not json", "bucket \"Post\" key \"bad\": stored data is not a JSON object: "},
    {"[1,2]", "bucket \"Post\" key \"bad\": stored data is not a JSON object"},
    {"{\"a\":1,\"a\":2}", "duplicate object key"},
    {"", "bucket \"Post\" key \"bad\": stored data is not a JSON object"},
};

START_TEST(test_doc_get_corrupt)
{
    OK(kvkit_store_save(store, "Post", "bad", corrupt[_i].stored, strlen(corrupt[_i].stored), NULL,
                        &err));
    kvkit_doc_t *g = (kvkit_doc_t *)1;
    FAILS(KVKIT_CORRUPT, corrupt[_i].msg, kvkit_doc_get(post, "bad", &g, &err));
    ck_assert_ptr_null(g);
}
END_TEST

/*** attributes ***/

START_TEST(test_doc_attr_get_undeclared)
{
    kvkit_doc_t *d = new_post("a1", "t");
    json_t *v;
    FAILS(KVKIT_INVALID, "Post has no attribute \"nope\": neither declared nor set",
          kvkit_doc_attr_get(d, "nope", &v, &err));
    OK(kvkit_doc_attr_get(d, "secret", &v, &err)); /* declared, unset */
    ck_assert(json_is_null(v));
    const char *s;
    kvkit_error_t e = {0};
    ck_assert_int_eq(kvkit_doc_attr_get_string(d, "secret", &s, &e), KVKIT_NOTFOUND);
    ck_assert_int_eq(e.code, KVKIT_OK);
    int64_t i;
    FAILS(KVKIT_INVALID, "attribute \"title\" is not an integer",
          kvkit_doc_attr_get_integer(d, "title", &i, &err));
    int b;
    FAILS(KVKIT_INVALID, "attribute \"title\" is not a boolean",
          kvkit_doc_attr_get_bool(d, "title", &b, &err));
    double r;
    OK(kvkit_doc_attr_set_bool(d, "flag", 1, &err));
    OK(kvkit_doc_attr_get_bool(d, "flag", &b, &err));
    ck_assert_int_eq(b, 1);
    OK(kvkit_doc_attr_set_integer(d, "n", 4, &err));
    OK(kvkit_doc_attr_get_real(d, "n", &r, &err)); /* integers convert */
    ck_assert_double_eq(r, 4.0);
    FAILS(KVKIT_INVALID, "JSON has no NaN", kvkit_doc_attr_set_real(d, "r", 0.0 / 0.0, &err));
    FAILS(KVKIT_INVALID, "not valid UTF-8", kvkit_doc_attr_set_string(d, "s", "\xff", &err));
    FAILS(KVKIT_INVALID, "attribute name is empty", kvkit_doc_attr_set(d, "", NULL, &err));
    /* a name that is not UTF-8 is the caller's mistake, not out of memory */
    FAILS(KVKIT_INVALID, "attribute name \"a\xff\" is not valid UTF-8",
          kvkit_doc_attr_set_integer(d, "a\xff", 1, &err));
    /* unset: undeclared disappears, declared reads null */
    OK(kvkit_doc_attr_unset(d, "flag", &err));
    FAILS(KVKIT_INVALID, "\"flag\"", kvkit_doc_attr_get(d, "flag", &v, &err));
    OK(kvkit_doc_attr_unset(d, "title", &err));
    OK(kvkit_doc_attr_get(d, "title", &v, &err));
    ck_assert(json_is_null(v));
    kvkit_doc_destroy(d);
}
END_TEST

START_TEST(test_doc_attr_set_ownership)
{
    kvkit_doc_t *d = new_post("o1", "t");
    json_t *tags = json_pack("[s]", "a");
    OK(kvkit_doc_attr_set(d, "tags", tags, &err)); /* borrowed: a reference taken */
    ck_assert_int_eq(tags->refcount, 2);
    json_t *v;
    OK(kvkit_doc_attr_get(d, "tags", &v, &err)); /* borrowed back */
    ck_assert_ptr_eq(v, tags);
    ck_assert_int_eq(tags->refcount, 2);
    json_decref(tags);
    /* _new steals even on failure */
    json_t *x = json_string("x");
    FAILS(KVKIT_INVALID, "attribute name is empty", kvkit_doc_attr_set_new(d, "", x, &err));
    kvkit_doc_destroy(d);
}
END_TEST

/*** invalids ***/

START_TEST(test_doc_invalids_nested_paths)
{
    kvkit_doc_t *d = new_post("i1", NULL);
    OK(kvkit_doc_attr_set_new(d, "items",
                              json_pack("[{si}{si}{ss}{}]", "qty", 1, "qty", 2, "qty", "x"), &err));
    OK(kvkit_doc_attr_set_new(d, "views", json_string("many"), &err));
    json_t *inv;
    FAILS(KVKIT_VALIDATION,
          "Post \"i1\": validation failed: \"title\": required; \"views\": expected an "
          "integer; \"items[2].qty\": expected an integer; \"items[3].qty\": required",
          kvkit_doc_invalids(d, &inv, &err));
    ck_assert_uint_eq(json_array_size(inv), 4);
    ck_assert_str_eq(json_string_value(json_array_get(inv, 0)), "title");
    ck_assert_str_eq(json_string_value(json_array_get(inv, 2)), "items[2].qty");
    json_decref(inv);
    kvkit_error_t e = {0};
    ck_assert_int_eq(kvkit_doc_save(d, &e), KVKIT_VALIDATION);
    ck_assert_str_eq(e.subject, "title"); /* the first failing field */
    kvkit_doc_destroy(d);
}
END_TEST

START_TEST(test_doc_invalids_message_truncated)
{
    kvkit_schema_t *s;
    OK(kvkit_schema_create("Many", NULL, store, &s, &err));
    char name[32];
    for (int i = 0; i < 60; i++) {
        snprintf(name, sizeof name, "field_number_%02d", i);
        OK(kvkit_schema_add(s, name, KVKIT_PROP_STRING, KVKIT_PROP_REQUIRED, NULL, &err));
    }
    kvkit_doc_t *d;
    OK(kvkit_doc_new(s, "k", &d, &err));
    json_t *inv;
    FAILS(KVKIT_VALIDATION, "...", kvkit_doc_invalids(d, &inv, &err));
    ck_assert_uint_eq(json_array_size(inv), 60); /* every path, even past the text */
    json_decref(inv);
    kvkit_doc_destroy(d);
    kvkit_schema_destroy(s);
}
END_TEST

/*** merge / clear / serialize / deserialize ***/

START_TEST(test_doc_merge_nulls_or_not)
{
    kvkit_doc_t *d = new_post("m1", "keep");
    OK(kvkit_doc_attr_set_string(d, "secret", "s", &err));
    json_t *patch = json_pack("{s:n,s:i,s:s}", "title", "views", 9, "extra", "e");
    OK(kvkit_doc_merge(d, patch, 0, &err));
    const char *t;
    int64_t n;
    OK(kvkit_doc_attr_get_string(d, "title", &t, &err));
    ck_assert_str_eq(t, "keep");
    OK(kvkit_doc_attr_get_integer(d, "views", &n, &err));
    ck_assert_int_eq(n, 9);
    OK(kvkit_doc_attr_get_string(d, "extra", &t, &err));
    OK(kvkit_doc_merge(d, patch, KVKIT_MERGE_NULLS, &err));
    ck_assert_int_eq(kvkit_doc_attr_get_string(d, "title", &t, NULL), KVKIT_NOTFOUND);
    /* attributes not in the patch are left alone */
    OK(kvkit_doc_attr_get_string(d, "secret", &t, &err));
    FAILS(KVKIT_INVALID, "not a JSON object", kvkit_doc_merge(d, json_null(), 0, &err));
    json_decref(patch);
    kvkit_doc_destroy(d);
}
END_TEST

START_TEST(test_doc_clear_defaults_or_nulls)
{
    kvkit_doc_t *d = new_post("c1", "t");
    OK(kvkit_doc_attr_set_integer(d, "views", 5, &err));
    OK(kvkit_doc_attr_set_integer(d, "extra", 5, &err));
    OK(kvkit_doc_clear(d, 0, &err));
    json_t *ser;
    OK(kvkit_doc_serialize(d, NULL, 0, &ser, &err));
    json_t *want = json_pack("{s:i}", "views", 0);
    ck_assert(json_equal(ser, want));
    json_decref(ser);
    json_decref(want);
    OK(kvkit_doc_clear(d, KVKIT_CLEAR_NULLS, &err));
    OK(kvkit_doc_serialize(d, NULL, 0, &ser, &err));
    want = json_pack("{s:n,s:n,s:n,s:n,s:n}", "title", "views", "tags", "items", "secret");
    ck_assert(json_equal(ser, want));
    json_decref(ser);
    json_decref(want);
    kvkit_doc_destroy(d);
}
END_TEST

START_TEST(test_doc_serialize_restricted_and_key)
{
    kvkit_doc_t *d = new_post("s1", "T");
    OK(kvkit_doc_attr_set_string(d, "secret", "hide me", &err));
    OK(kvkit_doc_attr_set_new(d, "tags", json_pack("[s]", "x"), &err));
    static const char *const restricted[] = {"secret", "views", "not-there", NULL};
    json_t *ser;
    OK(kvkit_doc_serialize(d, restricted, KVKIT_SERIALIZE_KEY, &ser, &err));
    json_t *want = json_pack("{s:s,s:[s],s:s}", "title", "T", "tags", "x", "key", "s1");
    ck_assert(json_equal(ser, want));
    /* a deep copy: changing it leaves the document alone */
    json_array_append_new(json_object_get(ser, "tags"), json_string("y"));
    json_t *tags;
    OK(kvkit_doc_attr_get(d, "tags", &tags, &err));
    ck_assert_uint_eq(json_array_size(tags), 1);
    json_decref(want);

    /* deserialize: the "key" member is not an attribute; the key stays */
    kvkit_doc_t *e = new_post("other", "x");
    OK(kvkit_doc_attr_set_integer(e, "stale", 1, &err));
    OK(kvkit_doc_deserialize(e, ser, &err));
    ck_assert_str_eq(kvkit_doc_key(e), "other");
    ck_assert_int_eq(kvkit_doc_attr_has(e, "key"), 0);
    ck_assert_int_eq(kvkit_doc_attr_has(e, "stale"), 0);
    const char *t;
    OK(kvkit_doc_attr_get_string(e, "title", &t, &err));
    ck_assert_str_eq(t, "T");
    FAILS(KVKIT_INVALID, "not a JSON object", kvkit_doc_deserialize(e, tags, &err));
    json_decref(ser);
    kvkit_doc_destroy(e);
    kvkit_doc_destroy(d);
}
END_TEST

START_TEST(test_doc_deserialize_declared_key_kept)
{
    kvkit_schema_t *s;
    OK(kvkit_schema_create("Keyed", NULL, store, &s, &err));
    OK(kvkit_schema_add(s, "key", KVKIT_PROP_STRING, 0, NULL, &err));
    kvkit_doc_t *d;
    OK(kvkit_doc_new(s, "k", &d, &err));
    json_t *in = json_pack("{s:s}", "key", "an attribute");
    OK(kvkit_doc_deserialize(d, in, &err));
    const char *v;
    OK(kvkit_doc_attr_get_string(d, "key", &v, &err));
    ck_assert_str_eq(v, "an attribute");
    json_decref(in);
    kvkit_doc_destroy(d);
    kvkit_schema_destroy(s);
}
END_TEST

START_TEST(test_doc_strict_extra_props)
{
    kvkit_schema_set_strict(post, 1);
    kvkit_doc_t *d = new_post("x1", "t");
    OK(kvkit_doc_attr_set_integer(d, "b", 1, &err));
    OK(kvkit_doc_attr_set_integer(d, "a", 1, &err));
    json_t *inv;
    FAILS(KVKIT_VALIDATION, "\"_extra_props\": undeclared attributes \"b\", \"a\"",
          kvkit_doc_invalids(d, &inv, &err));
    ck_assert_str_eq(json_string_value(json_array_get(inv, 0)), "_extra_props");
    json_decref(inv);
    OK(kvkit_doc_attr_unset(d, "a", &err));
    OK(kvkit_doc_attr_unset(d, "b", &err));
    OK(kvkit_doc_save(d, &err));
    kvkit_doc_destroy(d);
}
END_TEST

/*** threads: one schema, one store, several threads ***/

static void *worker(void *arg)
{
    int id = (int)(intptr_t)arg;
    kvkit_error_t err = {0};
    char key[32];
    for (int i = 0; i < 200; i++) {
        kvkit_doc_t *d, *g;
        snprintf(key, sizeof key, "t%d-%d", id, i);
        if (kvkit_doc_new(post, key, &d, &err) ||
            kvkit_doc_attr_set_string(d, "title", key, &err) ||
            kvkit_doc_attr_set_new(d, "tags", json_pack("[si]", "thread", id), &err) ||
            kvkit_doc_save(d, &err) || kvkit_doc_get(post, key, &g, &err))
            return strdup(err.text);
        const char *t;
        int ok = kvkit_doc_attr_get_string(g, "title", &t, &err) == 0 && strcmp(t, key) == 0;
        kvkit_doc_destroy(g);
        kvkit_doc_destroy(d);
        if (!ok)
            return strdup("title mismatch");
    }
    return NULL;
}

START_TEST(test_doc_save_get_threads)
{
    pthread_t th[4];
    for (int i = 0; i < 4; i++)
        ck_assert_int_eq(pthread_create(&th[i], NULL, worker, (void *)(intptr_t)i), 0);
    for (int i = 0; i < 4; i++) {
        void *res;
        pthread_join(th[i], &res);
        ck_assert_msg(res == NULL, "thread %d: %s", i, (char *)res);
    }
    kvkit_query_t *q;
    json_t *tag = json_integer(2);
    OK(kvkit_query_index(post, "tags", tag, NULL, KVKIT_QUERY_KEYS, &q, &err));
    int n = 0;
    for (; kvkit_query_valid(q); kvkit_query_next(q))
        n++;
    OK(kvkit_query_status(q, &err));
    kvkit_query_destroy(q);
    json_decref(tag);
    ck_assert_int_eq(n, 200);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("document");
    TCase *tc = tcase_create("lifecycle");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_doc_save_get_roundtrip);
    tcase_add_test(tc, test_doc_get_notfound_and_bad_key);
    tcase_add_test(tc, test_doc_get_or_new_both_ways);
    tcase_add_test(tc, test_doc_reload_drops_changes);
    tcase_add_test(tc, test_doc_delete_and_delete_key);
    tcase_add_test(tc, test_doc_save_no_store);
    tcase_add_test(tc, test_doc_equal_by_key_and_bucket);
    tcase_add_test(tc, test_doc_save_checked_conflict);
    tcase_add_loop_test(tc, test_doc_get_corrupt, 0, sizeof corrupt / sizeof corrupt[0]);
    suite_add_tcase(s, tc);
    tc = tcase_create("attributes");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_doc_attr_get_undeclared);
    tcase_add_test(tc, test_doc_attr_set_ownership);
    tcase_add_test(tc, test_doc_invalids_nested_paths);
    tcase_add_test(tc, test_doc_invalids_message_truncated);
    tcase_add_test(tc, test_doc_merge_nulls_or_not);
    tcase_add_test(tc, test_doc_clear_defaults_or_nulls);
    tcase_add_test(tc, test_doc_serialize_restricted_and_key);
    tcase_add_test(tc, test_doc_deserialize_declared_key_kept);
    tcase_add_test(tc, test_doc_strict_extra_props);
    suite_add_tcase(s, tc);
    tc = tcase_create("threads");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_doc_save_get_threads);
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
