/*
 * test_schema.c - schemas: creation, buckets, inheritance over several
 * levels, overrides, strictness, declaration errors, and schema lists from
 * JSON descriptions (with errors that name the schema and property).
 */
#include "helpers.h"

#include <stdlib.h>
#include <unistd.h>

/*** schemas in C ***/

START_TEST(test_schema_create_defaults)
{
    kvkit_schema_t *s;
    OK(kvkit_schema_create("Post", NULL, NULL, &s, &err));
    ck_assert_str_eq(kvkit_schema_name(s), "Post");
    ck_assert_str_eq(kvkit_schema_bucket(s), "Post");
    ck_assert_ptr_null(kvkit_schema_store(s));
    ck_assert_int_eq(kvkit_schema_strict(s), 0);
    OK(kvkit_schema_set_bucket(s, "posts", &err));
    ck_assert_str_eq(kvkit_schema_bucket(s), "posts");
    kvkit_schema_destroy(s);
    kvkit_schema_destroy(NULL);
}
END_TEST

START_TEST(test_schema_create_bad_name)
{
    kvkit_schema_t *s;
    FAILS(KVKIT_INVALID, "empty bucket", kvkit_schema_create("", NULL, NULL, &s, &err));
    FAILS(KVKIT_INVALID, "bucket is NULL", kvkit_schema_create(NULL, NULL, NULL, &s, &err));
}
END_TEST

START_TEST(test_schema_add_errors)
{
    kvkit_schema_t *s;
    OK(kvkit_schema_create("Post", NULL, NULL, &s, &err));
    OK(kvkit_schema_add(s, "title", KVKIT_PROP_STRING, 0, NULL, &err));
    FAILS(KVKIT_INVALID, "property \"title\" is already declared",
          kvkit_schema_add(s, "title", KVKIT_PROP_STRING, 0, NULL, &err));
    FAILS(KVKIT_INVALID, "\"_extra_props\" is reserved",
          kvkit_schema_add(s, "_extra_props", KVKIT_PROP_STRING, 0, NULL, &err));
    FAILS(KVKIT_INVALID, "\"$key\" is reserved",
          kvkit_schema_add(s, "$key", KVKIT_PROP_STRING, 0, NULL, &err));
    FAILS(KVKIT_INVALID, "a boolean property cannot be indexed",
          kvkit_schema_add(s, "flag", KVKIT_PROP_BOOLEAN, KVKIT_PROP_INDEX, NULL, &err));
    /* property names become attribute and index field names: UTF-8 only */
    FAILS(KVKIT_INVALID, "property name \"caf\xe9\" is not valid UTF-8",
          kvkit_schema_add(s, "caf\xe9", KVKIT_PROP_STRING, KVKIT_PROP_INDEX, NULL, &err));
    FAILS(KVKIT_INVALID, "unknown kind 99",
          kvkit_schema_add(s, "x", (kvkit_prop_kind_t)99, 0, NULL, &err));
    FAILS(KVKIT_INVALID, "needs a target schema",
          kvkit_schema_add_ref(s, "author", NULL, 0, NULL, &err));
    FAILS(KVKIT_INVALID, "values must be a non-empty array",
          kvkit_schema_add_enum(s, "status", NULL, 0, 0, NULL, &err));
    /* the failed enum left nothing behind */
    ck_assert_ptr_null(kvkit_schema_prop(s, "status"));
    ck_assert_uint_eq(kvkit_schema_prop_count(s), 1);
    kvkit_schema_destroy(s);
}
END_TEST

START_TEST(test_schema_inheritance_levels)
{
    kvkit_schema_t *a, *b, *c;
    kvkit_store_t *st = mem_store();
    OK(kvkit_schema_create("A", NULL, st, &a, &err));
    OK(kvkit_schema_add(a, "x", KVKIT_PROP_STRING, KVKIT_PROP_INDEX, NULL, &err));
    kvkit_schema_set_strict(a, 1);
    OK(kvkit_schema_create("B", a, NULL, &b, &err));
    OK(kvkit_schema_add(b, "y", KVKIT_PROP_INTEGER, 0, NULL, &err));
    OK(kvkit_schema_create("C", b, NULL, &c, &err));
    /* C overrides x (no longer indexed, now required) and adds z */
    OK(kvkit_schema_add(c, "x", KVKIT_PROP_STRING, KVKIT_PROP_REQUIRED, NULL, &err));
    OK(kvkit_schema_add(c, "z", KVKIT_PROP_BOOLEAN, 0, NULL, &err));

    ck_assert_ptr_eq(kvkit_schema_parent(c), b);
    ck_assert_ptr_eq(kvkit_schema_store(c), st); /* inherited twice */
    ck_assert_int_eq(kvkit_schema_strict(c), 1);
    ck_assert_uint_eq(kvkit_schema_prop_count(c), 3);
    ck_assert_str_eq(kvkit_prop_name(kvkit_schema_prop_at(c, 0)), "x");
    ck_assert_str_eq(kvkit_prop_name(kvkit_schema_prop_at(c, 1)), "y");
    ck_assert_str_eq(kvkit_prop_name(kvkit_schema_prop_at(c, 2)), "z");
    ck_assert_uint_eq(kvkit_prop_flags(kvkit_schema_prop(c, "x")), KVKIT_PROP_REQUIRED);
    ck_assert_uint_eq(kvkit_prop_flags(kvkit_schema_prop(b, "x")), KVKIT_PROP_INDEX);
    ck_assert_uint_eq(kvkit_schema_prop_count(a), 1);

    /* a parent with children is closed */
    FAILS(KVKIT_INVALID, "already has child schemas",
          kvkit_schema_add(a, "late", KVKIT_PROP_STRING, 0, NULL, &err));

    /* documents of C are validated with all three levels */
    kvkit_doc_t *d;
    OK(kvkit_doc_new(c, "k", &d, &err));
    OK(kvkit_doc_attr_set_integer(d, "y", 1, &err));
    OK(kvkit_doc_attr_set_string(d, "extra", "no", &err));
    FAILS(KVKIT_VALIDATION, "\"x\": required; \"_extra_props\": undeclared attribute \"extra\"",
          kvkit_doc_save(d, &err));
    kvkit_doc_destroy(d);
    kvkit_schema_destroy(c);
    kvkit_schema_destroy(b);
    kvkit_schema_destroy(a);
    kvkit_store_close(st);
}
END_TEST

START_TEST(test_schema_validate_plain_json)
{
    kvkit_schema_t *s;
    OK(kvkit_schema_create("S", NULL, NULL, &s, &err));
    OK(kvkit_schema_add(s, "n", KVKIT_PROP_INTEGER, KVKIT_PROP_REQUIRED, NULL, &err));
    json_t *good = json_pack("{s:i}", "n", 3);
    json_t *bad = json_pack("{s:s}", "n", "three");
    OK(kvkit_schema_validate(s, good, &err));
    FAILS(KVKIT_VALIDATION, "schema \"S\": validation failed: \"n\": expected an integer",
          kvkit_schema_validate(s, bad, &err));
    json_decref(good);
    json_decref(bad);
    kvkit_schema_destroy(s);
}
END_TEST

/*** schema lists from JSON ***/

START_TEST(test_schema_list_load_file_blog)
{
    kvkit_store_t *st = mem_store();
    kvkit_schema_list_t *l;
    OK(kvkit_schema_list_load_file(SRCDIR "/fixtures/blog.json", st, &l, &err));
    ck_assert_uint_eq(kvkit_schema_list_count(l), 4);
    ck_assert_str_eq(kvkit_schema_name(kvkit_schema_list_at(l, 0)), "Base");
    ck_assert_str_eq(kvkit_schema_name(kvkit_schema_list_at(l, 3)), "Item");
    kvkit_schema_t *user = kvkit_schema_list_find(l, "User");
    kvkit_schema_t *post = kvkit_schema_list_find(l, "Post");
    ck_assert_ptr_nonnull(user);
    ck_assert_ptr_null(kvkit_schema_list_find(l, "Nope"));
    ck_assert_str_eq(kvkit_schema_bucket(user), "users");
    ck_assert_int_eq(kvkit_schema_strict(user), 1);
    ck_assert_ptr_eq(kvkit_schema_store(user), st);
    /* inherited from Base */
    const kvkit_prop_t *created = kvkit_schema_prop(post, "created");
    ck_assert_int_eq(kvkit_prop_kind(created), KVKIT_PROP_DATETIME);
    ck_assert_uint_eq(kvkit_prop_flags(created), KVKIT_PROP_INDEX);
    const kvkit_prop_t *author = kvkit_schema_prop(post, "author");
    ck_assert_ptr_eq(kvkit_prop_target(author), user);
    ck_assert_uint_eq(kvkit_prop_flags(author), KVKIT_PROP_LOAD_ON_DEMAND | KVKIT_PROP_INDEX);
    const kvkit_prop_t *addr = kvkit_schema_prop(user, "address");
    ck_assert_str_eq(kvkit_schema_name(kvkit_prop_target(addr)), "User.address");
    ck_assert_ptr_eq(kvkit_prop_target(kvkit_schema_prop(post, "items")),
                     kvkit_schema_list_find(l, "Item"));

    /* the simple API the command-line tool uses */
    json_t *u =
        json_pack("{s:s,s:s,s:{s:s}}", "name", "ann", "role", "editor", "address", "zip", "12345");
    OK(kvkit_schema_validate(user, u, &err));
    kvkit_index_set_t *set = kvkit_index_set_create();
    OK(kvkit_schema_index_set(user, u, set, &err));
    ck_assert_uint_eq(kvkit_index_set_size(set), 2); /* name + role (as index 1) */
    json_t *db;
    OK(kvkit_schema_prepare(user, u, &db, set, &err));
    ck_assert_int_eq(json_integer_value(json_object_get(db, "role")), 1);
    json_t *back;
    OK(kvkit_schema_from_db(user, db, &back, &err));
    ck_assert(json_equal(back, u));
    json_decref(back);
    json_decref(db);
    json_object_set_new(u, "role", json_string("boss"));
    json_object_set_new(u, "shoe", json_integer(9));
    json_object_del(json_object_get(u, "address"), "zip");
    FAILS(KVKIT_VALIDATION,
          "\"role\": not one of the enum values; \"address.zip\": required; \"_extra_props\"",
          kvkit_schema_validate(user, u, &err));
    FAILS(KVKIT_INVALID, "\"role\": not one of the enum values",
          kvkit_schema_index_set(user, u, set, &err));
    kvkit_index_set_destroy(set);
    json_decref(u);
    kvkit_schema_list_destroy(l);
    kvkit_store_close(st);
}
END_TEST

/* Each bad description fails with INVALID and a message naming the schema
 * and property. */
static const struct {
    const char *json, *msg;
} bad_descriptions[] = {
    {"[]", "must be a JSON object of schema definitions"},
    {"{\"A\": 3}", "schema \"A\": definition must be an object"},
    {"{\"A\": {\"colour\": 1}}", "schema \"A\": unknown option \"colour\""},
    {"{\"A\": {\"properties\": {\"x\": {\"type\": \"strng\"}}}}",
     "schema \"A\": property \"x\": unknown type \"strng\""},
    {"{\"A\": {\"properties\": {\"x\": {}}}}", "schema \"A\": property \"x\": missing \"type\""},
    {"{\"A\": {\"properties\": {\"x\": {\"type\": \"string\", \"size\": 3}}}}",
     "schema \"A\": property \"x\": unknown option \"size\""},
    {"{\"A\": {\"properties\": {\"x\": {\"type\": \"string\", \"required\": 1}}}}",
     "schema \"A\": property \"x\": \"required\" must be true or false"},
    {"{\"A\": {\"properties\": {\"x\": {\"type\": \"reference\", \"schema\": \"B\"}}}}",
     "schema \"A\": property \"x\": unknown schema \"B\""},
    {"{\"A\": {\"properties\": {\"x\": {\"type\": \"embedded\"}}}}",
     "schema \"A\": property \"x\": type \"embedded\" needs \"schema\""},
    {"{\"A\": {\"properties\": {\"x\": {\"type\": \"enum\"}}}}",
     "schema \"A\": property \"x\": an enum needs \"values\""},
    {"{\"A\": {\"properties\": {\"x\": {\"type\": \"enum\", \"values\": [1, 1]}}}}",
     "schema \"A\": property \"x\": enum \"x\": value 1 repeats value 0"},
    {"{\"A\": {\"properties\": {\"x\": {\"type\": \"dict\", \"index\": true}}}}",
     "schema \"A\": property \"x\": a dict property cannot be indexed"},
    {"{\"A\": {\"properties\": {\"x\": {\"type\": \"string\", \"strict\": false}}}}",
     "schema \"A\": property \"x\": \"load_on_demand\" and \"strict\" apply to references only"},
    {"{\"A\": {\"properties\": {\"x\": {\"type\": \"password\", \"prefix\": \"$zz$\"}}}}",
     "schema \"A\": property \"x\": password prefix \"$zz$\" is not supported"},
    {"{\"A\": {\"parent\": \"B\"}, \"B\": {\"parent\": \"A\"}}", "parent cycle through \"A\""},
    {"{\"A\": {\"parent\": \"Z\"}}", "schema \"A\": parent \"Z\" is not in the description"},
    {"{\"A\": {\"properties\": {\"x\": {\"type\": \"embedded\", \"schema\": "
     "{\"properties\": {\"y\": {\"type\": \"bogus\"}}}}}}}",
     "schema \"A.x\": property \"y\": unknown type \"bogus\""},
    {"{\"A\": {} , \"A\": {}}", "duplicate object key"},
    {"{\"A\": ", "schema description: line 1"},
};

START_TEST(test_schema_list_load_string_errors)
{
    kvkit_schema_list_t *l = (kvkit_schema_list_t *)1;
    FAILS(KVKIT_INVALID, bad_descriptions[_i].msg,
          kvkit_schema_list_load_string(bad_descriptions[_i].json, NULL, &l, &err));
    ck_assert_ptr_null(l);
}
END_TEST

START_TEST(test_schema_list_load_file_missing)
{
    kvkit_schema_list_t *l;
    FAILS(KVKIT_IO, "schema file \"/nonexistent/x.json\": No such file",
          kvkit_schema_list_load_file("/nonexistent/x.json", NULL, &l, &err));
}
END_TEST

START_TEST(test_schema_list_load_file_syntax_error)
{
    char path[] = "/tmp/kvkit-schema-XXXXXX";
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(write(fd, "{\"A\": {}}\n{", 11), 11);
    close(fd);
    kvkit_schema_list_t *l;
    FAILS(KVKIT_INVALID, "\": line 2 column 1: end of file expected",
          kvkit_schema_list_load_file(path, NULL, &l, &err));
    unlink(path);
}
END_TEST

START_TEST(test_schema_list_load_string_self_reference)
{
    /* a tree: nodes embed lists of nodes and reference their parent */
    kvkit_schema_list_t *l;
    OK(kvkit_schema_list_load_string(
        "{\"Node\": {\"properties\": {"
        "\"kids\": {\"type\": \"embedded_list\", \"schema\": \"Node\"},"
        "\"up\": {\"type\": \"reference\", \"schema\": \"Node\", \"strict\": false}}}}",
        NULL, &l, &err));
    kvkit_schema_t *n = kvkit_schema_list_find(l, "Node");
    ck_assert_ptr_eq(kvkit_prop_target(kvkit_schema_prop(n, "kids")), n);
    ck_assert_uint_eq(kvkit_prop_flags(kvkit_schema_prop(n, "up")), KVKIT_PROP_LENIENT);
    json_t *tree = json_loads("{\"kids\": [{\"kids\": []}, {\"kids\": [{\"kids\": 5}]}]}", 0, NULL);
    FAILS(KVKIT_VALIDATION, "\"kids[1].kids[0].kids\": expected an array of objects",
          kvkit_schema_validate(n, tree, &err));
    json_decref(tree);
    /* a hostile, very deep tree is refused before any recursion into it */
    json_t *deep = json_object();
    for (int i = 0; i < 20000; i++) {
        json_t *up = json_object();
        json_object_set_new(up, "kids", json_pack("[o]", deep));
        deep = up;
    }
    FAILS(KVKIT_VALIDATION, "\"kids\": nested deeper than 64 levels",
          kvkit_schema_validate(n, deep, &err));
    json_decref(deep);
    /* destroying a list member alone is refused (no double free later) */
    kvkit_schema_destroy(n);
    kvkit_schema_list_destroy(l);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("schema");
    TCase *tc = tcase_create("schema");
    tcase_add_test(tc, test_schema_create_defaults);
    tcase_add_test(tc, test_schema_create_bad_name);
    tcase_add_test(tc, test_schema_add_errors);
    tcase_add_test(tc, test_schema_inheritance_levels);
    tcase_add_test(tc, test_schema_validate_plain_json);
    suite_add_tcase(s, tc);
    tc = tcase_create("json");
    tcase_add_test(tc, test_schema_list_load_file_blog);
    tcase_add_loop_test(tc, test_schema_list_load_string_errors, 0,
                        sizeof bad_descriptions / sizeof bad_descriptions[0]);
    tcase_add_test(tc, test_schema_list_load_file_missing);
    tcase_add_test(tc, test_schema_list_load_file_syntax_error);
    tcase_add_test(tc, test_schema_list_load_string_self_reference);
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
