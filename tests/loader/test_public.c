/*
 * test_public.c - what an application sees.  This file includes only
 * <kvkit/kvkit.h>, as an application does:
 *  - the helpers for plugin authors in <kvkit/backend.h> stay out of view
 *    (checked when this file compiles: the names are defined here as
 *    something else, which conflicts if kvkit.h declared them);
 *  - the types an application needs to register a backend are there;
 *  - the version the library reports is the one configure was given.
 */
#include <kvkit/kvkit.h>

#include <check.h>
#include <stdlib.h>

#ifndef KVKIT_CONFIGURE_VERSION
#error "KVKIT_CONFIGURE_VERSION must be configure's PACKAGE_VERSION"
#endif

#ifdef KVKIT_BACKEND_H
#error "<kvkit/kvkit.h> includes <kvkit/backend.h>: applications see the plugin helpers"
#endif

/* Each would conflict with the helper of the same name. */
static const int kvkit_backend_error = 1;
static const int kvkit_backend_option_bool = 2;
static const int kvkit_backend_option_uint = 3;
static const int kvkit_sortable_length = 4;

START_TEST(test_kvkit_h_hides_plugin_helpers)
{
    ck_assert_int_eq(kvkit_backend_error + kvkit_backend_option_bool + kvkit_backend_option_uint +
                         kvkit_sortable_length,
                     10);
}
END_TEST

START_TEST(test_kvkit_h_has_backend_types)
{
    /* what kvkit_backend_register needs, at the ABI's size */
    kvkit_backend_descriptor_t d = {.abi_major = KVKIT_BACKEND_ABI_MAJOR,
                                    .abi_minor = KVKIT_BACKEND_ABI_MINOR,
                                    .flags = KVKIT_BACKEND_SNAPSHOT};
    kvkit_backend_ops_t ops = {.descriptor = &d};
    kvkit_backend_get_fn get = ops.get;
    ck_assert_ptr_null(get);
    ck_assert_uint_eq(sizeof ops, 26 * sizeof(void *));
    ck_assert_uint_eq(sizeof ops.reserved / sizeof ops.reserved[0], 2); /* 23 operations (ABI 1.3) */
    ck_assert_int_eq(KVKIT_KEY_MAX, 1024);
}
END_TEST

START_TEST(test_query_types_are_distinct)
{
    /* a parsed compound query (kvkit/query.h) and a document query's
     * results are different types: passing one for the other must not
     * compile (they once shared the name kvkit_query_t) */
    ck_assert(!__builtin_types_compatible_p(kvkit_qexpr_t *, kvkit_query_t *));
    ck_assert(__builtin_types_compatible_p(kvkit_qexpr_t, struct kvkit_qexpr));
}
END_TEST

START_TEST(test_version_is_configure_version)
{
    ck_assert_str_eq(KVKIT_VERSION, KVKIT_CONFIGURE_VERSION);
    ck_assert_str_eq(kvkit_version(), KVKIT_CONFIGURE_VERSION);
}
END_TEST

static Suite *public_suite(void)
{
    Suite *s = suite_create("public");
    TCase *tc = tcase_create("headers");
    tcase_add_test(tc, test_kvkit_h_hides_plugin_helpers);
    tcase_add_test(tc, test_kvkit_h_has_backend_types);
    tcase_add_test(tc, test_version_is_configure_version);
    tcase_add_test(tc, test_query_types_are_distinct);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(public_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
