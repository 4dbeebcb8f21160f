/*
 * test_qparse.c - kvkit_query_parse: the grammar of kvkit-query(7), the
 * canonical text it parses into, and each syntax error's message (byte
 * offset, token, what was expected).
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include <kvkit/query.h>

/* Parse text and return its canonical form (static buffer). */
static const char *canon(const char *text)
{
    static char out[1024];
    kvkit_error_t err = {0};
    kvkit_qexpr_t *q = NULL;
    int rc = kvkit_query_parse(text, &q, &err);
    ck_assert_msg(rc == KVKIT_OK, "%s: %s", text, err.text);
    snprintf(out, sizeof out, "%s", kvkit_query_text(q));
    kvkit_query_free(q);
    return out;
}

/* Parse text that must fail; return the message (static buffer). */
static const char *error_of(const char *text)
{
    static kvkit_error_t err;
    kvkit_error_clear(&err);
    kvkit_qexpr_t *q = (kvkit_qexpr_t *)&err; /* must come back NULL */
    int rc = kvkit_query_parse(text, &q, &err);
    ck_assert_msg(rc == KVKIT_INVALID, "%s: parsed (rc %d)", text, rc);
    ck_assert_ptr_null(q);
    return err.text;
}

START_TEST(test_kvkit_query_parse_predicates)
{
    ck_assert_str_eq(canon("a = 1"), "a = 1");
    ck_assert_str_eq(canon("a!=\"x\""), "a != \"x\"");
    ck_assert_str_eq(canon("a < -2.5"), "a < -2.5");
    ck_assert_str_eq(canon("a <= 1e3"), "a <= 1000.0");
    ck_assert_str_eq(canon("a > 0"), "a > 0");
    ck_assert_str_eq(canon("x.y_2 >= \"b\""), "x.y_2 >= \"b\"");
    ck_assert_str_eq(canon("tags IN (\"c\", 2, 3.5)"), "tags in (\"c\", 2, 3.5)");
    ck_assert_str_eq(canon("name Starts With \"al\""), "name starts with \"al\"");
    ck_assert_str_eq(canon("$key >= \"k1\""), "$key >= \"k1\"");
}
END_TEST

START_TEST(test_kvkit_query_parse_precedence)
{
    ck_assert_str_eq(canon("a = 1 or b = 2 and c = 3"), "(a = 1 or (b = 2 and c = 3))");
    ck_assert_str_eq(canon("(a = 1 or b = 2) and c = 3"), "((a = 1 or b = 2) and c = 3)");
    ck_assert_str_eq(canon("not a = 1 and b = 2"), "(not a = 1 and b = 2)");
    ck_assert_str_eq(canon("NOT (a = 1 OR b = 2)"), "not (a = 1 or b = 2)");
    ck_assert_str_eq(canon("not not a = 1"), "not not a = 1");
}
END_TEST

START_TEST(test_kvkit_query_parse_tail)
{
    ck_assert_str_eq(canon("a = 1 order by b"), "a = 1 order by b asc");
    ck_assert_str_eq(canon("a = 1 ORDER BY b DESC LIMIT 20"), "a = 1 order by b desc limit 20");
    ck_assert_str_eq(canon("a = 1 limit 0"), "a = 1 limit 0");
    ck_assert_str_eq(canon("a = 1 order by $key asc"), "a = 1 order by $key asc");
}
END_TEST

START_TEST(test_kvkit_query_parse_values)
{
    /* JSON escapes, integers past int64 as reals */
    ck_assert_str_eq(canon("a = \"q\\\"\\u00e9\\n\""), "a = \"q\\\"\xc3\xa9\\n\"");
    ck_assert_str_eq(canon("a = 9223372036854775807"), "a = 9223372036854775807");
    ck_assert_str_eq(canon("a = 99999999999999999999"), "a = 1e20");
    ck_assert_str_eq(canon("a = -0"), "a = 0");
}
END_TEST

START_TEST(test_kvkit_query_parse_errors)
{
    ck_assert_str_eq(error_of(""), "query: at byte 0 (end of query): empty query, expected a "
                                   "predicate such as: field = \"value\"");
    ck_assert_str_eq(error_of("a = 1 xor b = 2"),
                     "query: at byte 6 (\"xor\"): unknown keyword, expected \"and\", \"or\", "
                     "\"order by\", \"limit\" or the end of the query");
    ck_assert_str_eq(error_of("a = \"abc"), "query: at byte 4: unterminated string (no closing '\"')");
    ck_assert_str_eq(error_of("a starts with 5"),
                     "query: at byte 14 (\"5\"): \"starts with\" takes a string, not a number");
    ck_assert_str_eq(error_of("a = "), "query: at byte 4 (end of query): expected a value (a JSON "
                                       "number or string)");
    ck_assert_str_eq(error_of("a == 1"), "query: at byte 3 (\"=\"): expected a value (a JSON number "
                                         "or string)");
    ck_assert_str_eq(error_of("and = 1"),
                     "query: at byte 0 (\"and\"): expected a field name, \"$key\", \"not\" or \"(\"");
    ck_assert_str_eq(error_of("a 1"), "query: at byte 2 (\"1\"): expected an operator (=, !=, <, "
                                      "<=, >, >=, \"in\" or \"starts with\")");
    ck_assert_str_eq(error_of("a like 1"), "query: at byte 2 (\"like\"): unknown keyword, expected an "
                                           "operator (=, !=, <, <=, >, >=, \"in\" or \"starts with\")");
    ck_assert_str_eq(error_of("(a = 1"), "query: at byte 6 (end of query): expected \")\", \"and\" or "
                                         "\"or\"");
    ck_assert_str_eq(error_of("a in 1"), "query: at byte 5 (\"1\"): expected \"(\" after \"in\"");
    ck_assert_str_eq(error_of("a in (1 2)"), "query: at byte 8 (\"2\"): expected \",\" or \")\" in "
                                             "the \"in\" list");
    ck_assert_str_eq(error_of("a = 01"), "query: at byte 4 (\"01\"): invalid number (JSON numbers: "
                                         "-12, 3.5, 1e6)");
    ck_assert_str_eq(error_of("a = 1e999"), "query: at byte 4 (\"1e999\"): number out of range");
    ck_assert_str_eq(error_of("a = \"\\x\""), "query: at byte 4 (\"\"\\x\"\"): invalid string: invalid "
                                              "escape near '\"\\x'");
    ck_assert_str_eq(error_of("a = 1 @"), "query: at byte 6 (\"@\"): unexpected character");
    ck_assert_str_eq(error_of("$bucket = 1"), "query: at byte 0 (\"$bucket\"): unknown pseudo-field, "
                                              "expected \"$key\"");
    ck_assert_str_eq(error_of("a = 1 order b"), "query: at byte 12 (\"b\"): unknown keyword, expected "
                                                "\"by\" after \"order\"");
    ck_assert_str_eq(error_of("a = 1 order by 5"), "query: at byte 15 (\"5\"): expected a field name "
                                                   "after \"order by\"");
    ck_assert_str_eq(error_of("a = 1 limit -1"), "query: at byte 12 (\"-1\"): expected a whole number "
                                                 "from 0 after \"limit\"");
    ck_assert_str_eq(error_of("a = 1 limit 2.5"), "query: at byte 12 (\"2.5\"): expected a whole "
                                                  "number from 0 after \"limit\"");
    ck_assert_str_eq(error_of("a = 1 limit 2 order by b"),
                     "query: at byte 14 (\"order\"): expected the end of the query");
    ck_assert_str_eq(error_of("a = 1 order by b desc x"),
                     "query: at byte 22 (\"x\"): unknown keyword, expected \"limit\" or the end of "
                     "the query");
}
END_TEST

START_TEST(test_kvkit_query_parse_depth)
{
    char text[1024] = "";
    for (int i = 0; i < 150; i++)
        strcat(text, "(");
    ck_assert_str_eq(error_of(text), "query: at byte 100 (\"(\"): expression nested too deeply "
                                     "(more than 100 levels)");
    char nots[1024] = "";
    for (int i = 0; i < 99; i++)
        strcat(nots, "not ");
    strcat(nots, "a = 1");
    kvkit_qexpr_t *q = NULL;
    ck_assert_int_eq(kvkit_query_parse(nots, &q, NULL), KVKIT_OK);
    kvkit_query_free(q);
}
END_TEST

START_TEST(test_kvkit_query_parse_null)
{
    kvkit_error_t err = {0};
    ck_assert_int_eq(kvkit_query_parse(NULL, NULL, &err), KVKIT_INVALID);
    ck_assert_str_eq(err.text, "query: text or result pointer is NULL");
    kvkit_query_free(NULL);
    ck_assert_str_eq(kvkit_query_text(NULL), "");
}
END_TEST

int main(void)
{
    Suite *s = suite_create("query_parse");
    TCase *tc = tcase_create("parse");
    tcase_add_test(tc, test_kvkit_query_parse_predicates);
    tcase_add_test(tc, test_kvkit_query_parse_precedence);
    tcase_add_test(tc, test_kvkit_query_parse_tail);
    tcase_add_test(tc, test_kvkit_query_parse_values);
    tcase_add_test(tc, test_kvkit_query_parse_errors);
    tcase_add_test(tc, test_kvkit_query_parse_depth);
    tcase_add_test(tc, test_kvkit_query_parse_null);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
