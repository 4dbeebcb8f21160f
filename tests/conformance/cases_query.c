/* cases_query.c - compound queries (kvkit-query(7)) give the answer of a
 * brute-force filter on this backend: the property test of tests/query
 * (qprop.c) at 150 documents and 100 random expressions, with orders,
 * limits and pages resumed by cursor.  KVKIT_CONFORMANCE_QPROP_SEED=N
 * picks another seed. */
#include "conformance.h"

#include "../query/qprop.h"

START_TEST(test_query_compound_property)
{
    kvkit_store_t *s = open_store();
    const char *env = getenv("KVKIT_CONFORMANCE_QPROP_SEED");
    qprop_run(s, bucket("qprop"), store_uri, env ? (unsigned)strtoul(env, NULL, 10) : 14u, 150, 100);
    kvkit_store_close(s);
}
END_TEST

TCase *conformance_query_cases(void)
{
    TCase *tc = tcase_create("query");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, test_query_compound_property);
    return tc;
}
