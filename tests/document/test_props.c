/*
 * test_props.c - every property kind x valid, invalid, default, null and
 * required; validators, default callbacks, typed accessors, passwords,
 * enum storage, the nesting limit.
 */
#include "helpers.h"

#include <stdlib.h>

typedef struct kind_case {
    kvkit_prop_kind_t kind;
    const char *valid;   /* JSON text */
    const char *invalid; /* JSON text, NULL: every value is valid */
    const char *reason;  /* expected in the message, with the path */
    const char *def;     /* a default value */
} kind_case_t;

static const kind_case_t kinds[] = {
    {KVKIT_PROP_STRING, "\"hi\"", "3", "\"v\": expected a string", "\"d\""},
    {KVKIT_PROP_NUMBER, "2.5", "\"x\"", "\"v\": expected a number", "1"},
    {KVKIT_PROP_INTEGER, "7", "7.5", "\"v\": expected an integer", "3"},
    {KVKIT_PROP_BOOLEAN, "true", "0", "\"v\": expected a boolean", "false"},
    {KVKIT_PROP_DICT, "{\"a\": [1]}", "[1]", "\"v\": expected an object", "{\"k\": 1}"},
    {KVKIT_PROP_LIST, "[1, \"a\"]", "{}", "\"v\": expected an array", "[0]"},
    {KVKIT_PROP_EMBEDDED, "{\"zip\": \"1\"}", "{\"zip\": 1}", "\"v.zip\": expected a string",
     "{\"zip\": \"0\"}"},
    {KVKIT_PROP_EMBEDDED_LIST, "[{\"zip\": \"1\"}]", "[{\"zip\": \"1\"}, {\"zip\": 2}, 3]",
     "\"v[1].zip\": expected a string; \"v[2]\": expected an object", "[]"},
    {KVKIT_PROP_REFERENCE, "\"k1\"", "12", "\"v\": expected a document key", "\"k0\""},
    {KVKIT_PROP_ENUM, "\"b\"", "\"z\"", "\"v\": not one of the enum values", "\"a\""},
    {KVKIT_PROP_DATETIME, "1700000000", "\"2020\"", "\"v\": expected epoch seconds", "0"},
    {KVKIT_PROP_PASSWORD, "\"secret\"", "5", "\"v\": expected a password hash", "\"$1$x$y\""},
    {KVKIT_PROP_GENERIC, "[{\"any\": null}]", NULL, NULL, "\"g\""},
};

static kvkit_store_t *store;
static kvkit_schema_t *addr, *target;

static void setup(void)
{
    kvkit_error_t err = {0};
    store = mem_store();
    ck_assert_int_eq(kvkit_schema_create("Addr", NULL, NULL, &addr, &err), KVKIT_OK);
    ck_assert_int_eq(
        kvkit_schema_add(addr, "zip", KVKIT_PROP_STRING, KVKIT_PROP_REQUIRED, NULL, &err),
        KVKIT_OK);
    ck_assert_int_eq(kvkit_schema_create("Target", NULL, store, &target, &err), KVKIT_OK);
    /* the targets of the reference cases exist: references load eagerly */
    for (int i = 0; i < 2; i++) {
        kvkit_doc_t *t;
        ck_assert_int_eq(kvkit_doc_new(target, i ? "k1" : "k0", &t, &err), KVKIT_OK);
        ck_assert_int_eq(kvkit_doc_save(t, &err), KVKIT_OK);
        kvkit_doc_destroy(t);
    }
}

static void teardown(void)
{
    kvkit_schema_destroy(addr);
    kvkit_schema_destroy(target);
    kvkit_store_close(store);
}

/* A schema "S" with one property "v" of the case's kind. */
static kvkit_schema_t *schema_for(const kind_case_t *c, unsigned flags, kvkit_prop_t **prop)
{
    kvkit_error_t err = {0};
    kvkit_schema_t *s;
    kvkit_prop_t *p;
    ck_assert_int_eq(kvkit_schema_create("S", NULL, store, &s, &err), KVKIT_OK);
    static const char *const abc[] = {"a", "b", "c"};
    int rc;
    if (c->kind == KVKIT_PROP_ENUM)
        rc = kvkit_schema_add_enum(s, "v", abc, 3, flags, &p, &err);
    else if (c->kind == KVKIT_PROP_REFERENCE)
        rc = kvkit_schema_add_ref(s, "v", target, flags, &p, &err);
    else if (c->kind == KVKIT_PROP_EMBEDDED || c->kind == KVKIT_PROP_EMBEDDED_LIST)
        rc = kvkit_schema_add_embedded(s, "v", addr, c->kind == KVKIT_PROP_EMBEDDED_LIST, flags, &p,
                                       &err);
    else
        rc = kvkit_schema_add(s, "v", c->kind, flags, &p, &err);
    ck_assert_msg(rc == KVKIT_OK, "%s", err.text);
    if (prop)
        *prop = p;
    return s;
}

static json_t *parse(const char *text)
{
    json_t *v = json_loads(text, JSON_DECODE_ANY, NULL);
    ck_assert_ptr_nonnull(v);
    return v;
}

START_TEST(test_prop_kind_valid)
{
    const kind_case_t *c = &kinds[_i];
    kvkit_schema_t *s = schema_for(c, KVKIT_PROP_REQUIRED, NULL);
    kvkit_doc_t *d, *back;
    OK(kvkit_doc_new(s, "k", &d, &err));
    OK(kvkit_doc_attr_set_new(d, "v", parse(c->valid), &err));
    ck_assert_int_eq(kvkit_doc_is_valid(d), 1);
    json_t *inv;
    OK(kvkit_doc_invalids(d, &inv, &err));
    ck_assert_uint_eq(json_array_size(inv), 0);
    json_decref(inv);
    OK(kvkit_doc_save(d, &err));
    OK(kvkit_doc_get(s, "k", &back, &err));
    json_t *got, *want = parse(c->valid);
    OK(kvkit_doc_attr_get(back, "v", &got, &err));
    if (c->kind == KVKIT_PROP_PASSWORD) {
        int match = 0;
        json_t *mine;
        OK(kvkit_doc_attr_get(d, "v", &mine, &err));
        ck_assert_str_eq(json_string_value(got), json_string_value(mine));
        OK(kvkit_doc_password_check(back, "v", "secret", &match, &err));
        ck_assert_int_eq(match, 1);
        ck_assert(strncmp(json_string_value(got), "$y$", 3) == 0);
    } else {
        ck_assert_msg(json_equal(got, want), "round trip of %s", c->valid);
    }
    json_decref(want);
    kvkit_doc_destroy(back);
    kvkit_doc_destroy(d);
    kvkit_schema_destroy(s);
}
END_TEST

START_TEST(test_prop_kind_invalid)
{
    const kind_case_t *c = &kinds[_i];
    if (c->invalid == NULL)
        return;
    kvkit_schema_t *s = schema_for(c, 0, NULL);
    kvkit_doc_t *d;
    OK(kvkit_doc_new(s, "k", &d, &err));
    OK(kvkit_doc_attr_set_new(d, "v", parse(c->invalid), &err));
    ck_assert_int_eq(kvkit_doc_is_valid(d), 0);
    FAILS(KVKIT_VALIDATION, c->reason, kvkit_doc_save(d, &err));
    FAILS(KVKIT_VALIDATION, "S \"k\": validation failed: ", kvkit_doc_save(d, &err));
    json_t *inv;
    FAILS(KVKIT_VALIDATION, c->reason, kvkit_doc_invalids(d, &inv, &err));
    ck_assert_uint_ge(json_array_size(inv), 1);
    ck_assert(strncmp(json_string_value(json_array_get(inv, 0)), "v", 1) == 0);
    json_decref(inv);
    /* nothing was written */
    kvkit_doc_t *back;
    ck_assert_int_eq(kvkit_doc_get(s, "k", &back, NULL), KVKIT_NOTFOUND);
    kvkit_doc_destroy(d);
    kvkit_schema_destroy(s);
}
END_TEST

START_TEST(test_prop_kind_default)
{
    const kind_case_t *c = &kinds[_i];
    kvkit_prop_t *p;
    kvkit_schema_t *s = schema_for(c, 0, &p);
    json_t *def = parse(c->def);
    OK(kvkit_prop_set_default(p, def, &err));
    kvkit_doc_t *d;
    OK(kvkit_doc_new(s, NULL, &d, &err));
    json_t *got;
    OK(kvkit_doc_attr_get(d, "v", &got, &err));
    ck_assert(json_equal(got, def));
    /* containers are copied per document */
    if (json_is_object(got) || json_is_array(got))
        ck_assert_ptr_ne(got, def);
    /* a document stored without the attribute reads the default back */
    OK(kvkit_doc_attr_unset(d, "v", &err));
    OK(kvkit_doc_save(d, &err));
    kvkit_doc_t *back;
    OK(kvkit_doc_get(s, kvkit_doc_key(d), &back, &err));
    OK(kvkit_doc_attr_get(back, "v", &got, &err));
    ck_assert(json_equal(got, def));
    kvkit_doc_destroy(back);
    json_decref(def);
    kvkit_doc_destroy(d);
    kvkit_schema_destroy(s);
}
END_TEST

START_TEST(test_prop_kind_null)
{
    const kind_case_t *c = &kinds[_i];
    kvkit_schema_t *s = schema_for(c, 0, NULL);
    kvkit_doc_t *d, *back;
    OK(kvkit_doc_new(s, "k", &d, &err));
    json_t *got;
    OK(kvkit_doc_attr_get(d, "v", &got, &err)); /* declared, unset: null */
    ck_assert(json_is_null(got));
    ck_assert_int_eq(kvkit_doc_attr_has(d, "v"), 0);
    OK(kvkit_doc_attr_set(d, "v", NULL, &err));
    ck_assert_int_eq(kvkit_doc_attr_has(d, "v"), 1);
    ck_assert_int_eq(kvkit_doc_is_valid(d), 1);
    OK(kvkit_doc_save(d, &err));
    OK(kvkit_doc_get(s, "k", &back, &err));
    OK(kvkit_doc_attr_get(back, "v", &got, &err));
    ck_assert(json_is_null(got));
    kvkit_doc_destroy(back);
    kvkit_doc_destroy(d);
    kvkit_schema_destroy(s);
}
END_TEST

START_TEST(test_prop_kind_required)
{
    const kind_case_t *c = &kinds[_i];
    kvkit_schema_t *s = schema_for(c, KVKIT_PROP_REQUIRED, NULL);
    kvkit_doc_t *d;
    OK(kvkit_doc_new(s, "k", &d, &err));
    FAILS(KVKIT_VALIDATION, "S \"k\": validation failed: \"v\": required", kvkit_doc_save(d, &err));
    OK(kvkit_doc_attr_set_new(d, "v", json_null(), &err));
    FAILS(KVKIT_VALIDATION, "\"v\": required", kvkit_doc_save(d, &err));
    ck_assert_int_eq(kvkit_doc_is_valid(d), 0);
    kvkit_doc_destroy(d);
    kvkit_schema_destroy(s);
}
END_TEST

/*** options ***/

static int positive(void *ctx, const json_t *v)
{
    (*(int *)ctx)++;
    return json_number_value(v) > 0;
}

static int even(void *ctx, const json_t *v)
{
    return json_integer_value(v) % 2 == 0;
}

START_TEST(test_prop_add_validator_several)
{
    kvkit_schema_t *s;
    kvkit_prop_t *p;
    int calls = 0;
    OK(kvkit_schema_create("S", NULL, store, &s, &err));
    OK(kvkit_schema_add(s, "n", KVKIT_PROP_INTEGER, 0, &p, &err));
    OK(kvkit_prop_add_validator(p, positive, &calls, "positive", &err));
    OK(kvkit_prop_add_validator(p, even, NULL, "even", &err));
    FAILS(KVKIT_INVALID, "validator is NULL", kvkit_prop_add_validator(p, NULL, NULL, "x", &err));
    kvkit_doc_t *d;
    OK(kvkit_doc_new(s, "k", &d, &err));
    OK(kvkit_doc_save(d, &err)); /* unset: validators do not run */
    ck_assert_int_eq(calls, 0);
    OK(kvkit_doc_attr_set_integer(d, "n", -3, &err));
    FAILS(KVKIT_VALIDATION,
          "\"n\": failed validator \"positive\"; \"n\": failed validator \"even\"",
          kvkit_doc_save(d, &err));
    OK(kvkit_doc_attr_set_integer(d, "n", 4, &err));
    OK(kvkit_doc_save(d, &err));
    ck_assert_int_ge(calls, 2);
    kvkit_doc_destroy(d);
    kvkit_schema_destroy(s);
}
END_TEST

static json_t *counter_default(void *ctx)
{
    return json_integer(++*(int *)ctx);
}

START_TEST(test_prop_set_default_fn_each_document)
{
    kvkit_schema_t *s;
    kvkit_prop_t *p;
    int n = 0;
    OK(kvkit_schema_create("S", NULL, store, &s, &err));
    OK(kvkit_schema_add(s, "seq", KVKIT_PROP_INTEGER, 0, &p, &err));
    OK(kvkit_prop_set_default_fn(p, counter_default, &n, &err));
    kvkit_doc_t *a, *b;
    OK(kvkit_doc_new(s, NULL, &a, &err));
    OK(kvkit_doc_new(s, NULL, &b, &err));
    int64_t va, vb;
    OK(kvkit_doc_attr_get_integer(a, "seq", &va, &err));
    OK(kvkit_doc_attr_get_integer(b, "seq", &vb, &err));
    ck_assert_int_eq(va, 1);
    ck_assert_int_eq(vb, 2);
    /* generated keys: 32 hex digits, distinct */
    ck_assert_uint_eq(strlen(kvkit_doc_key(a)), 32);
    ck_assert_uint_eq(strspn(kvkit_doc_key(a), "0123456789abcdef"), 32);
    ck_assert_str_ne(kvkit_doc_key(a), kvkit_doc_key(b));
    /* clear back to defaults calls it again; clear to nulls does not */
    OK(kvkit_doc_clear(a, 0, &err));
    OK(kvkit_doc_attr_get_integer(a, "seq", &va, &err));
    ck_assert_int_eq(va, 3);
    OK(kvkit_doc_clear(a, KVKIT_CLEAR_NULLS, &err));
    ck_assert_int_eq(kvkit_doc_attr_get_integer(a, "seq", &va, NULL), KVKIT_NOTFOUND);
    ck_assert_int_eq(n, 3);
    kvkit_doc_destroy(a);
    kvkit_doc_destroy(b);
    kvkit_schema_destroy(s);
}
END_TEST

START_TEST(test_prop_integer_accepts_integral_real)
{
    kvkit_schema_t *s = schema_for(&kinds[2], 0, NULL);
    kvkit_doc_t *d;
    OK(kvkit_doc_new(s, "k", &d, &err));
    OK(kvkit_doc_attr_set_real(d, "v", 3.0, &err));
    ck_assert_int_eq(kvkit_doc_is_valid(d), 1);
    int64_t i;
    OK(kvkit_doc_attr_get_integer(d, "v", &i, &err));
    ck_assert_int_eq(i, 3);
    OK(kvkit_doc_attr_set_real(d, "v", 3.5, &err));
    ck_assert_int_eq(kvkit_doc_is_valid(d), 0);
    FAILS(KVKIT_INVALID, "attribute \"v\" is not an integer",
          kvkit_doc_attr_get_integer(d, "v", &i, &err));
    kvkit_doc_destroy(d);
    kvkit_schema_destroy(s);
}
END_TEST

START_TEST(test_prop_enum_stored_as_index)
{
    kvkit_schema_t *s = schema_for(&kinds[9], KVKIT_PROP_INDEX, NULL);
    kvkit_doc_t *d;
    OK(kvkit_doc_new(s, "k", &d, &err));
    OK(kvkit_doc_attr_set_string(d, "v", "c", &err));
    OK(kvkit_doc_save(d, &err));
    char *raw;
    size_t len;
    OK(kvkit_store_get(store, "S", "k", &raw, &len, &err));
    ck_assert_str_eq(raw, "{\"v\":2}");
    free(raw);
    /* an index out of range in the store is corrupt data */
    OK(kvkit_store_save(store, "S", "bad", "{\"v\":9}", 7, NULL, &err));
    kvkit_doc_t *b;
    FAILS(KVKIT_CORRUPT, "bucket \"S\" key \"bad\": enum \"v\" holds an out-of-range number",
          kvkit_doc_get(s, "bad", &b, &err));
    kvkit_doc_destroy(d);
    kvkit_schema_destroy(s);
}
END_TEST

START_TEST(test_prop_datetime_typed)
{
    kvkit_schema_t *s = schema_for(&kinds[10], 0, NULL);
    kvkit_doc_t *d;
    OK(kvkit_doc_new(s, "k", &d, &err));
    OK(kvkit_doc_attr_set_datetime(d, "v", 1700000000.0, &err));
    json_t *raw;
    OK(kvkit_doc_attr_get(d, "v", &raw, &err));
    ck_assert(json_is_integer(raw)); /* whole seconds are stored as an integer */
    OK(kvkit_doc_attr_set_datetime(d, "v", 1.5, &err));
    double t;
    OK(kvkit_doc_attr_get_datetime(d, "v", &t, &err));
    ck_assert_double_eq(t, 1.5);
    FAILS(KVKIT_INVALID, "not a finite time", kvkit_doc_attr_set_datetime(d, "v", 1.0 / 0.0, &err));
    kvkit_doc_destroy(d);
    kvkit_schema_destroy(s);
}
END_TEST

START_TEST(test_prop_password_hash_and_check)
{
    kvkit_prop_t *p;
    kvkit_schema_t *s = schema_for(&kinds[11], 0, &p);
    kvkit_doc_t *d;
    OK(kvkit_doc_new(s, "k", &d, &err));
    OK(kvkit_doc_password_set(d, "v", "hunter2", &err));
    const char *h;
    OK(kvkit_doc_attr_get_string(d, "v", &h, &err));
    ck_assert(strncmp(h, "$y$", 3) == 0);
    ck_assert_ptr_null(strstr(h, "hunter2"));
    int match = -1;
    OK(kvkit_doc_password_check(d, "v", "hunter2", &match, &err));
    ck_assert_int_eq(match, 1);
    OK(kvkit_doc_password_check(d, "v", "hunter3", &match, &err));
    ck_assert_int_eq(match, 0);
    /* another scheme */
    OK(kvkit_prop_set_password_prefix(p, "$6$", &err));
    OK(kvkit_doc_password_set(d, "v", "pw", &err));
    OK(kvkit_doc_attr_get_string(d, "v", &h, &err));
    ck_assert(strncmp(h, "$6$", 3) == 0);
    FAILS(KVKIT_INVALID, "\"v\": password prefix \"$nope$\" is not supported",
          kvkit_prop_set_password_prefix(p, "$nope$", &err));
    FAILS(KVKIT_INVALID, "\"n\" is not a password property",
          kvkit_doc_password_set(d, "n", "pw", &err));
    /* unset never matches */
    OK(kvkit_doc_attr_unset(d, "v", &err));
    OK(kvkit_doc_password_check(d, "v", "pw", &match, &err));
    ck_assert_int_eq(match, 0);
    FAILS(KVKIT_INVALID, "not a crypt(3) password hash",
          kvkit_prop_password_check("plain", "x", &match, &err));
    kvkit_doc_destroy(d);
    kvkit_schema_destroy(s);
}
END_TEST

START_TEST(test_prop_depth_limit)
{
    kvkit_schema_t *s = schema_for(&kinds[12], 0, NULL);
    kvkit_doc_t *d;
    OK(kvkit_doc_new(s, "k", &d, &err));
    /* KVKIT_DOC_MAX_DEPTH levels counting the document itself are fine */
    json_t *deep = json_array();
    for (int i = 0; i < KVKIT_DOC_MAX_DEPTH - 2; i++) {
        json_t *outer = json_array();
        json_array_append_new(outer, deep);
        deep = outer;
    }
    OK(kvkit_doc_attr_set_new(d, "v", deep, &err));
    OK(kvkit_doc_save(d, &err));
    json_t *outer = json_array();
    json_array_append(outer, deep);
    OK(kvkit_doc_attr_set_new(d, "v", outer, &err));
    FAILS(KVKIT_VALIDATION, "\"v\": nested deeper than 64 levels", kvkit_doc_save(d, &err));
    /* the same depth coming from a store is corrupt */
    json_t *ser;
    OK(kvkit_doc_serialize(d, NULL, 0, &ser, &err));
    char *text = json_dumps(ser, JSON_COMPACT);
    json_decref(ser);
    OK(kvkit_store_save(store, "S", "deep", text, strlen(text), NULL, &err));
    free(text);
    kvkit_doc_t *b;
    FAILS(KVKIT_CORRUPT, "bucket \"S\" key \"deep\": nested deeper than 64 levels",
          kvkit_doc_get(s, "deep", &b, &err));
    kvkit_doc_destroy(d);
    kvkit_schema_destroy(s);
}
END_TEST

START_TEST(test_prop_enum_inside_embedded_converted)
{
    /* Line{unit: enum} embedded once and as a list: stored as indexes at
     * every level, read back as values */
    kvkit_schema_t *line, *order;
    static const char *const units[] = {"kg", "g", "piece"};
    OK(kvkit_schema_create("Line", NULL, NULL, &line, &err));
    OK(kvkit_schema_add_enum(line, "unit", units, 3, KVKIT_PROP_REQUIRED, NULL, &err));
    OK(kvkit_schema_create("Order", NULL, store, &order, &err));
    OK(kvkit_schema_add_embedded(order, "main", line, 0, 0, NULL, &err));
    OK(kvkit_schema_add_embedded(order, "lines", line, 1, 0, NULL, &err));
    kvkit_doc_t *d, *back;
    OK(kvkit_doc_new(order, "o1", &d, &err));
    json_t *main_line = json_pack("{s:s}", "unit", "g");
    json_t *lines = json_pack("[{s:s},{s:s}]", "unit", "piece", "unit", "kg");
    OK(kvkit_doc_attr_set(d, "main", main_line, &err));
    OK(kvkit_doc_attr_set(d, "lines", lines, &err));
    OK(kvkit_doc_save(d, &err));
    /* the document's own values are untouched by the conversion */
    ck_assert_str_eq(json_string_value(json_object_get(main_line, "unit")), "g");
    char *raw;
    size_t len;
    OK(kvkit_store_get(store, "Order", "o1", &raw, &len, &err));
    ck_assert_str_eq(raw, "{\"main\":{\"unit\":1},\"lines\":[{\"unit\":2},{\"unit\":0}]}");
    free(raw);
    OK(kvkit_doc_get(order, "o1", &back, &err));
    json_t *got;
    OK(kvkit_doc_attr_get(back, "lines", &got, &err));
    ck_assert(json_equal(got, lines));
    OK(kvkit_doc_attr_get(back, "main", &got, &err));
    ck_assert(json_equal(got, main_line));
    /* an invalid value deep inside is named by its path */
    json_object_set_new(json_array_get(lines, 1), "unit", json_string("ton"));
    FAILS(KVKIT_VALIDATION, "\"lines[1].unit\": not one of the enum values",
          kvkit_doc_save(d, &err));
    json_decref(main_line);
    json_decref(lines);
    kvkit_doc_destroy(back);
    kvkit_doc_destroy(d);
    kvkit_schema_destroy(order);
    kvkit_schema_destroy(line);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("props");
    size_t n = sizeof kinds / sizeof kinds[0];
    TCase *tc = tcase_create("kinds");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_loop_test(tc, test_prop_kind_valid, 0, (int)n);
    tcase_add_loop_test(tc, test_prop_kind_invalid, 0, (int)n);
    tcase_add_loop_test(tc, test_prop_kind_default, 0, (int)n);
    tcase_add_loop_test(tc, test_prop_kind_null, 0, (int)n);
    tcase_add_loop_test(tc, test_prop_kind_required, 0, (int)n);
    suite_add_tcase(s, tc);
    tc = tcase_create("options");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_prop_add_validator_several);
    tcase_add_test(tc, test_prop_set_default_fn_each_document);
    tcase_add_test(tc, test_prop_integer_accepts_integral_real);
    tcase_add_test(tc, test_prop_enum_stored_as_index);
    tcase_add_test(tc, test_prop_enum_inside_embedded_converted);
    tcase_add_test(tc, test_prop_datetime_typed);
    tcase_add_test(tc, test_prop_password_hash_and_check);
    tcase_add_test(tc, test_prop_depth_limit);
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
