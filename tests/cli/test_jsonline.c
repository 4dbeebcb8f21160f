/*
 * test_jsonline.c - import's fast path (tools/jsonline.c) accepts a line
 * only when jansson reads it the same way: the key, and the document
 * byte for byte as json_dumps writes it, with its top-level members.
 * Whatever it turns down goes through jansson, so turning down is always
 * safe; accepting wrongly would store different bytes.
 */
#include <config.h>

#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

/* What jansson makes of the line equals what the scan found. */
static void agree_with_jansson(const char *line, const cli_jsonline_t *jl)
{
    json_t *obj = json_loads(line, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, NULL);
    ck_assert_msg(obj != NULL, "accepted a line jansson refuses: %s", line);
    const json_t *key = json_object_get(obj, "key"), *doc = json_object_get(obj, "value");
    ck_assert(json_is_string(key) && json_is_object(doc));
    ck_assert_uint_eq(json_object_size(obj), 2);
    ck_assert_uint_eq(jl->key_len, json_string_length(key));
    ck_assert(memcmp(jl->key, json_string_value(key), jl->key_len) == 0);
    char *dump = json_dumps(doc, JSON_ENCODE_ANY | JSON_COMPACT | JSON_PRESERVE_ORDER);
    ck_assert_msg(strlen(dump) == jl->value_len && memcmp(dump, jl->value, jl->value_len) == 0,
                  "stored form differs: %s vs %.*s", dump, (int)jl->value_len, jl->value);
    free(dump);
    ck_assert_uint_eq(jl->n_members, json_object_size(doc));
    size_t i = 0;
    for (void *it = json_object_iter((json_t *)doc); it;
         it = json_object_iter_next((json_t *)doc, it), i++) {
        const cli_jsonline_member_t *m = &jl->members[i];
        ck_assert_uint_eq(m->name_len, strlen(json_object_iter_key(it)));
        ck_assert(memcmp(m->name, json_object_iter_key(it), m->name_len) == 0);
        char *v = json_dumps(json_object_iter_value(it),
                             JSON_ENCODE_ANY | JSON_COMPACT | JSON_PRESERVE_ORDER);
        ck_assert(strlen(v) == m->value_len && memcmp(v, m->value, m->value_len) == 0);
        free(v);
    }
    json_decref(obj);
}

static int scan(const char *line, cli_jsonline_t *jl)
{
    int ok = cli_jsonline_scan(line, strlen(line), jl);
    if (ok)
        agree_with_jansson(line, jl);
    return ok;
}

static const char *const canonical[] = {
    "{\"key\":\"u1\",\"value\":{\"name\":\"User 1\",\"age\":31,\"score\":12.375,\"ok\":true}}",
    "  { \"value\" : {\"a\":[1,\"x\",null,{\"b\":false}],\"c\":{}} , \"key\" : \"k\" }  ",
    "{\"key\":\"\\u00e9t\\u00e9 is not here\",\"value\":{}}" /* escaped key: turned down */,
    "{\"key\":\"caf\xc3\xa9\",\"value\":{\"s\":\"\xf0\x9f\x98\x80 \\\"q\\\" \\\\ "
    "\\n\\t\",\"n\":-7}}",
    "{\"key\":\"r\",\"value\":{\"x\":0.5,\"y\":1e20,\"z\":-0.0,\"w\":1.4999999999999999e-7,\"v\":0}"
    "}",
    "{\"key\":\"big\",\"value\":{\"i\":123456789012345678,\"j\":-123456789012345678}}",
};

START_TEST(test_jsonline_scan_canonical_lines_accepted)
{
    cli_jsonline_t jl;
    ck_assert(scan(canonical[0], &jl));
    ck_assert_uint_eq(jl.n_members, 4);
    ck_assert(scan(canonical[1], &jl));
    ck_assert(!scan(canonical[2], &jl));
    ck_assert(scan(canonical[3], &jl));
    ck_assert(scan(canonical[4], &jl));
    ck_assert(scan(canonical[5], &jl));
}
END_TEST

/* Valid JSON that jansson stores differently (or refuses) is turned down. */
START_TEST(test_jsonline_scan_other_forms_turned_down)
{
    static const char *const other[] = {
        "{\"key\":\"k\",\"value\":{\"a\": 1}}",          /* space inside the document */
        "{\"key\":\"k\",\"value\":{\"a\":1,\"a\":2}}",   /* duplicate member */
        "{\"key\":\"k\",\"key\":\"j\",\"value\":{}}",    /* duplicate wrapper member */
        "{\"key\":\"k\",\"value\":{\"a\":-0}}",          /* jansson writes 0 */
        "{\"key\":\"k\",\"value\":{\"a\":0.10}}",        /* jansson writes 0.10000000000000001 */
        "{\"key\":\"k\",\"value\":{\"a\":1E5}}",         /* jansson writes 100000.0 */
        "{\"key\":\"k\",\"value\":{\"a\":1.5e-07}}",     /* jansson writes 1.4999999999999999e-7 */
        "{\"key\":\"k\",\"value\":{\"a\":\"\\u0041\"}}", /* jansson writes A */
        "{\"key\":\"k\",\"value\":{\"a\":\"\\/\"}}",     /* jansson writes / */
        "{\"key\":\"k\",\"value\":{\"a\":1234567890123456789}}", /* long integer */
        "{\"key\":\"k\",\"value\":{\"a\":01}}",                  /* not JSON */
        "{\"key\":\"k\",\"value\":{\"a\":\"\xc0\xaf\"}}",        /* overlong UTF-8 */
        "{\"key\":\"k\",\"value\":{\"a\":\"\xed\xa0\x80\"}}",    /* surrogate */
        "{\"key\":\"k\",\"value\":{\"a\":\"tab\there\"}}",       /* raw control character */
        "{\"key\":\"k\",\"value\":[1]}",                         /* not an object */
        "{\"key\":1,\"value\":{}}",                              /* key not a string */
        "{\"key\":\"k\",\"value\":{},\"x\":1}",                  /* a third member */
        "{\"key\":\"k\",\"value\":{}} x",                        /* trailing text */
        "{\"key\":\"k\",\"value\":{\"a\":tru}}",
        "{\"key\":\"k\",\"value\":{\"a\":[1,]}}",
        "{\"key\":\"k\"}",
        "",
    };
    cli_jsonline_t jl;
    for (size_t i = 0; i < sizeof other / sizeof *other; i++)
        ck_assert_msg(!scan(other[i], &jl), "accepted: %s", other[i]);
}
END_TEST

/* Members beyond CLI_JSONLINE_MEMBERS and nesting beyond the scan's depth
 * are turned down, not truncated. */
START_TEST(test_jsonline_scan_limits_turned_down)
{
    char line[4096] = "{\"key\":\"k\",\"value\":{";
    for (int i = 0; i <= CLI_JSONLINE_MEMBERS; i++)
        snprintf(line + strlen(line), sizeof line - strlen(line), "%s\"m%d\":%d", i ? "," : "", i,
                 i);
    strcat(line, "}}");
    cli_jsonline_t jl;
    ck_assert(!scan(line, &jl));
    strcpy(line, "{\"key\":\"k\",\"value\":{\"a\":");
    for (int i = 0; i < 40; i++)
        strcat(line, "[");
    for (int i = 0; i < 40; i++)
        strcat(line, "]");
    strcat(line, "}}");
    ck_assert(!scan(line, &jl));
}
END_TEST

/* Every one-byte change of the canonical lines: whatever the scan accepts,
 * jansson reads the same way (agree_with_jansson fails the test if not). */
START_TEST(test_jsonline_scan_mutations_agree_with_jansson)
{
    static const char subst[] = " \t\"\\{}[],:0-.eE+9anul\x80\xc3\xa9\x01/";
    size_t accepted = 0;
    for (size_t c = 0; c < sizeof canonical / sizeof *canonical; c++) {
        size_t len = strlen(canonical[c]);
        char *line = malloc(len + 2);
        for (size_t pos = 0; pos < len; pos++)
            for (size_t k = 0; k < sizeof subst - 1; k++) {
                memcpy(line, canonical[c], len + 1);
                line[pos] = subst[k];
                cli_jsonline_t jl;
                accepted += (size_t)scan(line, &jl);
                memcpy(line, canonical[c], pos); /* and with the byte deleted */
                memcpy(line + pos, canonical[c] + pos + 1, len - pos);
                accepted += (size_t)scan(line, &jl);
            }
        free(line);
    }
    ck_assert_uint_gt(accepted, 100); /* the check ran on accepted lines */
}
END_TEST

int main(void)
{
    Suite *s = suite_create("jsonline");
    TCase *tc = tcase_create("scan");
    tcase_add_test(tc, test_jsonline_scan_canonical_lines_accepted);
    tcase_add_test(tc, test_jsonline_scan_other_forms_turned_down);
    tcase_add_test(tc, test_jsonline_scan_limits_turned_down);
    tcase_add_test(tc, test_jsonline_scan_mutations_agree_with_jansson);
    tcase_set_timeout(tc, 60);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
