/*
 * test_refs.c - reference properties: eager and load-on-demand loading,
 * strict and lenient targets, cycles, setting by document, caching.
 */
#include "helpers.h"

#include <stdlib.h>

static kvkit_store_t *store;
static kvkit_schema_t *user, *post, *lazy_post, *lenient_post, *node;

static void setup(void)
{
    kvkit_error_t err = {0};
    store = mem_store();
    ck_assert_int_eq(kvkit_schema_create("User", NULL, store, &user, &err), 0);
    ck_assert_int_eq(kvkit_schema_add(user, "name", KVKIT_PROP_STRING, 0, NULL, &err), 0);
    ck_assert_int_eq(kvkit_schema_create("Post", NULL, store, &post, &err), 0);
    ck_assert_int_eq(kvkit_schema_add_ref(post, "author", user, 0, NULL, &err), 0);
    ck_assert_int_eq(kvkit_schema_create("LazyPost", NULL, store, &lazy_post, &err), 0);
    ck_assert_int_eq(
        kvkit_schema_add_ref(lazy_post, "author", user, KVKIT_PROP_LOAD_ON_DEMAND, NULL, &err), 0);
    ck_assert_int_eq(kvkit_schema_create("LenientPost", NULL, store, &lenient_post, &err), 0);
    ck_assert_int_eq(
        kvkit_schema_add_ref(lenient_post, "author", user, KVKIT_PROP_LENIENT, NULL, &err), 0);
    ck_assert_int_eq(kvkit_schema_create("Node", NULL, store, &node, &err), 0);
    ck_assert_int_eq(kvkit_schema_add_ref(node, "next", node, 0, NULL, &err), 0);
    kvkit_doc_t *u;
    ck_assert_int_eq(kvkit_doc_new(user, "ann", &u, &err), 0);
    ck_assert_int_eq(kvkit_doc_attr_set_string(u, "name", "Ann", &err), 0);
    ck_assert_int_eq(kvkit_doc_save(u, &err), 0);
    kvkit_doc_destroy(u);
}

static void teardown(void)
{
    kvkit_schema_destroy(node);
    kvkit_schema_destroy(lenient_post);
    kvkit_schema_destroy(lazy_post);
    kvkit_schema_destroy(post);
    kvkit_schema_destroy(user);
    kvkit_store_close(store);
}

/* Save a document of `s` under `key` whose reference `name` holds `target`. */
static void save_ref(kvkit_schema_t *s, const char *key, const char *name, const char *target)
{
    kvkit_error_t err = {0};
    kvkit_doc_t *d;
    ck_assert_int_eq(kvkit_doc_new(s, key, &d, &err), 0);
    ck_assert_int_eq(kvkit_doc_attr_set_string(d, name, target, &err), 0);
    ck_assert_msg(kvkit_doc_save(d, &err) == 0, "%s", err.text);
    kvkit_doc_destroy(d);
}

static const char *name_of(kvkit_doc_t *u)
{
    const char *n = NULL;
    ck_assert_int_eq(kvkit_doc_attr_get_string(u, "name", &n, NULL), 0);
    return n;
}

START_TEST(test_doc_ref_get_eager)
{
    save_ref(post, "p", "author", "ann");
    kvkit_doc_t *p, *a, *again;
    OK(kvkit_doc_get(post, "p", &p, &err));
    /* loaded with the post: deleting the user now does not matter */
    OK(kvkit_doc_delete_key(user, "ann", &err));
    OK(kvkit_doc_ref_get(p, "author", &a, &err));
    ck_assert_str_eq(name_of(a), "Ann");
    OK(kvkit_doc_ref_get(p, "author", &again, &err));
    ck_assert_ptr_eq(a, again); /* cached, owned by p */
    json_t *k;
    OK(kvkit_doc_attr_get(p, "author", &k, &err)); /* the attribute is the key */
    ck_assert_str_eq(json_string_value(k), "ann");
    kvkit_doc_destroy(p);
}
END_TEST

START_TEST(test_doc_ref_get_load_on_demand)
{
    save_ref(lazy_post, "p", "author", "ann");
    kvkit_doc_t *p, *a;
    OK(kvkit_doc_get(lazy_post, "p", &p, &err));
    /* not loaded yet: a change made now is seen on first access */
    kvkit_doc_t *u;
    OK(kvkit_doc_get(user, "ann", &u, &err));
    OK(kvkit_doc_attr_set_string(u, "name", "Ann B.", &err));
    OK(kvkit_doc_save(u, &err));
    kvkit_doc_destroy(u);
    OK(kvkit_doc_ref_get(p, "author", &a, &err));
    ck_assert_str_eq(name_of(a), "Ann B.");
    kvkit_doc_destroy(p);
}
END_TEST

START_TEST(test_doc_ref_get_strict_missing)
{
    save_ref(post, "p", "author", "ghost");
    kvkit_doc_t *p = (kvkit_doc_t *)1;
    FAILS(KVKIT_REF_MISSING, "Post \"p\": reference \"author\": User \"ghost\" not found",
          kvkit_doc_get(post, "p", &p, &err));
    ck_assert_ptr_null(p);
    /* on demand the same error comes from the access */
    save_ref(lazy_post, "q", "author", "ghost");
    kvkit_doc_t *a = (kvkit_doc_t *)1;
    OK(kvkit_doc_get(lazy_post, "q", &p, &err));
    FAILS(KVKIT_REF_MISSING, "reference \"author\": User \"ghost\" not found",
          kvkit_doc_ref_get(p, "author", &a, &err));
    ck_assert_ptr_null(a);
    kvkit_doc_destroy(p);
}
END_TEST

START_TEST(test_doc_ref_get_lenient_missing)
{
    save_ref(lenient_post, "p", "author", "ghost");
    kvkit_doc_t *p, *a = (kvkit_doc_t *)1;
    OK(kvkit_doc_get(lenient_post, "p", &p, &err));
    OK(kvkit_doc_ref_get(p, "author", &a, &err));
    ck_assert_ptr_null(a);
    /* the target appears later: found on the next access */
    kvkit_doc_t *g;
    OK(kvkit_doc_new(user, "ghost", &g, &err));
    OK(kvkit_doc_attr_set_string(g, "name", "Boo", &err));
    OK(kvkit_doc_save(g, &err));
    kvkit_doc_destroy(g);
    OK(kvkit_doc_ref_get(p, "author", &a, &err));
    ck_assert_str_eq(name_of(a), "Boo");
    kvkit_doc_destroy(p);
}
END_TEST

START_TEST(test_doc_ref_get_cycle)
{
    /* a -> b -> a, and a self-loop s -> s: loading stops at the repeat */
    save_ref(node, "a", "next", "b");
    save_ref(node, "b", "next", "a");
    save_ref(node, "s", "next", "s");
    kvkit_doc_t *a, *b, *a2, *b2, *s, *s2;
    OK(kvkit_doc_get(node, "a", &a, &err));
    OK(kvkit_doc_ref_get(a, "next", &b, &err));
    ck_assert_str_eq(kvkit_doc_key(b), "b");
    OK(kvkit_doc_ref_get(b, "next", &a2, &err)); /* loaded now, on demand */
    ck_assert_str_eq(kvkit_doc_key(a2), "a");
    ck_assert_ptr_ne(a2, a);
    OK(kvkit_doc_ref_get(a2, "next", &b2, &err));
    ck_assert_str_eq(kvkit_doc_key(b2), "b");
    OK(kvkit_doc_get(node, "s", &s, &err));
    OK(kvkit_doc_ref_get(s, "next", &s2, &err));
    ck_assert_str_eq(kvkit_doc_key(s2), "s");
    kvkit_doc_destroy(a);
    kvkit_doc_destroy(s);
}
END_TEST

START_TEST(test_doc_ref_get_long_chain)
{
    /* a chain longer than the eager depth loads without recursing deeply */
    char key[16], next[16];
    for (int i = 0; i < 40; i++) {
        snprintf(key, sizeof key, "n%02d", i);
        snprintf(next, sizeof next, "n%02d", i + 1);
        save_ref(node, key, "next", next);
    }
    kvkit_doc_t *end;
    OK(kvkit_doc_new(node, "n40", &end, &err));
    OK(kvkit_doc_save(end, &err));
    kvkit_doc_destroy(end);
    kvkit_doc_t *d, *cur;
    OK(kvkit_doc_get(node, "n00", &d, &err));
    cur = d;
    for (int i = 0; i < 40; i++)
        OK(kvkit_doc_ref_get(cur, "next", &cur, &err));
    ck_assert_str_eq(kvkit_doc_key(cur), "n40");
    OK(kvkit_doc_ref_get(cur, "next", &cur, &err));
    ck_assert_ptr_null(cur); /* unset */
    kvkit_doc_destroy(d);
}
END_TEST

START_TEST(test_doc_ref_set_by_document)
{
    kvkit_doc_t *u, *p, *a, *other;
    OK(kvkit_doc_get(user, "ann", &u, &err));
    OK(kvkit_doc_new(post, "p", &p, &err));
    OK(kvkit_doc_ref_set(p, "author", u, &err));
    json_t *k;
    OK(kvkit_doc_attr_get(p, "author", &k, &err));
    ck_assert_str_eq(json_string_value(k), "ann");
    OK(kvkit_doc_ref_get(p, "author", &a, &err));
    ck_assert_ptr_ne(a, u); /* the post owns its own copy */
    ck_assert_int_eq(kvkit_doc_equal(a, u), 1);
    /* a document of another schema is refused */
    OK(kvkit_doc_new(post, "x", &other, &err));
    FAILS(KVKIT_INVALID, "reference \"author\" takes a User, not a Post",
          kvkit_doc_ref_set(p, "author", other, &err));
    FAILS(KVKIT_INVALID, "\"name\" is not a reference property",
          kvkit_doc_ref_set(u, "name", other, &err));
    /* NULL sets null */
    OK(kvkit_doc_ref_set(p, "author", NULL, &err));
    OK(kvkit_doc_ref_get(p, "author", &a, &err));
    ck_assert_ptr_null(a);
    kvkit_doc_destroy(other);
    kvkit_doc_destroy(p);
    kvkit_doc_destroy(u);
}
END_TEST

START_TEST(test_doc_ref_attr_set_drops_cache)
{
    kvkit_doc_t *b;
    OK(kvkit_doc_new(user, "bob", &b, &err));
    OK(kvkit_doc_attr_set_string(b, "name", "Bob", &err));
    OK(kvkit_doc_save(b, &err));
    kvkit_doc_destroy(b);
    save_ref(post, "p", "author", "ann");
    kvkit_doc_t *p, *a;
    OK(kvkit_doc_get(post, "p", &p, &err));
    OK(kvkit_doc_ref_get(p, "author", &a, &err));
    ck_assert_str_eq(name_of(a), "Ann");
    OK(kvkit_doc_attr_set_string(p, "author", "bob", &err));
    OK(kvkit_doc_ref_get(p, "author", &a, &err));
    ck_assert_str_eq(name_of(a), "Bob");
    kvkit_doc_destroy(p);
}
END_TEST

START_TEST(test_doc_ref_get_target_without_store)
{
    /* schemas loaded without a store (as the command-line tool does), the
     * store given to one of them only: reading works, the reference says why
     * it cannot load */
    kvkit_schema_list_t *l;
    OK(kvkit_schema_list_load_string("{\"Author\": {}, \"Entry\": {\"properties\": {"
                                     "\"by\": {\"type\": \"reference\", \"schema\": \"Author\"}}}}",
                                     NULL, &l, &err));
    kvkit_schema_t *entry = kvkit_schema_list_find(l, "Entry");
    kvkit_schema_set_store(entry, store);
    save_ref(entry, "e1", "by", "someone");
    kvkit_doc_t *d, *a;
    OK(kvkit_doc_get(entry, "e1", &d, &err));
    FAILS(KVKIT_INVALID, "schema \"Author\" has no store", kvkit_doc_ref_get(d, "by", &a, &err));
    kvkit_doc_destroy(d);
    kvkit_schema_list_destroy(l);
}
END_TEST

/* A stored post whose author was deleted afterwards (issue 11, item 1). */
static void save_orphan(const char *key)
{
    kvkit_error_t err = {0};
    kvkit_doc_t *d;
    ck_assert_int_eq(kvkit_doc_new(post, key, &d, &err), 0);
    ck_assert_int_eq(kvkit_doc_attr_set_string(d, "author", "ann", &err), 0);
    ck_assert_int_eq(kvkit_doc_attr_set_string(d, "title", "precious", &err), 0);
    ck_assert_msg(kvkit_doc_save(d, &err) == 0, "%s", err.text);
    kvkit_doc_destroy(d);
    ck_assert_int_eq(kvkit_doc_delete_key(user, "ann", &err), 0);
}

/* The stored bytes of post `key`, which must still hold the title. */
static void assert_still_stored(const char *key)
{
    char *value = NULL;
    size_t len = 0;
    OK(kvkit_store_get(store, "Post", key, &value, &len, &err));
    ck_assert_ptr_nonnull(strstr(value, "\"precious\""));
    free(value);
}

START_TEST(test_doc_get_or_new_ref_missing)
{
    /* the post is there, its author is not: that is an error, never "absent,
     * here is a fresh document" (saving which would overwrite the post) */
    save_orphan("k");
    kvkit_doc_t *d = (kvkit_doc_t *)1;
    int created = -1;
    FAILS(KVKIT_REF_MISSING, "Post \"k\": reference \"author\": User \"ann\" not found",
          kvkit_doc_get_or_new(post, "k", &d, &created, &err));
    ck_assert_ptr_null(d);
    ck_assert_int_eq(created, 0);
    assert_still_stored("k");
    /* a key that is really absent is still created, with a clean report */
    kvkit_error_t e = {0};
    ck_assert_int_eq(kvkit_doc_get_or_new(post, "fresh", &d, &created, &e), KVKIT_OK);
    ck_assert_int_eq(created, 1);
    ck_assert_int_eq(e.code, KVKIT_OK);
    ck_assert_str_eq(e.text, "");
    kvkit_doc_destroy(d);
}
END_TEST

START_TEST(test_doc_reload_ref_missing)
{
    /* reload answers NOTFOUND only when the document itself is gone */
    save_ref(post, "k", "author", "ann");
    kvkit_doc_t *d;
    OK(kvkit_doc_get(post, "k", &d, &err));
    OK(kvkit_doc_attr_set_string(d, "title", "unsaved", &err));
    OK(kvkit_doc_delete_key(user, "ann", &err));
    FAILS(KVKIT_REF_MISSING, "reference \"author\": User \"ann\" not found",
          kvkit_doc_reload(d, &err));
    const char *t;
    OK(kvkit_doc_attr_get_string(d, "title", &t, &err)); /* unchanged */
    ck_assert_str_eq(t, "unsaved");
    kvkit_doc_destroy(d);
}
END_TEST

START_TEST(test_doc_query_ref_missing)
{
    save_orphan("k");
    kvkit_query_t *q;
    OK(kvkit_query_all(post, NULL, NULL, 0, &q, &err));
    ck_assert_int_eq(kvkit_query_valid(q), 1);
    ck_assert_ptr_null(kvkit_query_doc(q));
    FAILS(KVKIT_REF_MISSING, "Post \"k\": reference \"author\": User \"ann\" not found",
          kvkit_query_status(q, &err));
    kvkit_query_destroy(q);
}
END_TEST

START_TEST(test_doc_ref_lenient_to_broken_target)
{
    /* a lenient reference reads a missing target as NULL; a target that is
     * there but cannot load (its own strict reference is missing) is an
     * error, not "missing" - and never OK with a message left behind */
    kvkit_schema_t *pin;
    OK(kvkit_schema_create("Pin", NULL, store, &pin, &err));
    OK(kvkit_schema_add_ref(pin, "post", post, KVKIT_PROP_LENIENT, NULL, &err));
    save_ref(post, "p", "author", "ghost");
    save_ref(pin, "c", "post", "p");
    kvkit_doc_t *d = (kvkit_doc_t *)1;
    FAILS(KVKIT_REF_MISSING, "Post \"p\": reference \"author\": User \"ghost\" not found",
          kvkit_doc_get(pin, "c", &d, &err));
    ck_assert_ptr_null(d);
    kvkit_schema_destroy(pin);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("references");
    TCase *tc = tcase_create("refs");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_doc_ref_get_eager);
    tcase_add_test(tc, test_doc_ref_get_load_on_demand);
    tcase_add_test(tc, test_doc_ref_get_strict_missing);
    tcase_add_test(tc, test_doc_ref_get_lenient_missing);
    tcase_add_test(tc, test_doc_ref_get_cycle);
    tcase_add_test(tc, test_doc_ref_get_long_chain);
    tcase_add_test(tc, test_doc_ref_set_by_document);
    tcase_add_test(tc, test_doc_ref_attr_set_drops_cache);
    tcase_add_test(tc, test_doc_ref_get_target_without_store);
    tcase_add_test(tc, test_doc_get_or_new_ref_missing);
    tcase_add_test(tc, test_doc_reload_ref_missing);
    tcase_add_test(tc, test_doc_query_ref_missing);
    tcase_add_test(tc, test_doc_ref_lenient_to_broken_target);
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
