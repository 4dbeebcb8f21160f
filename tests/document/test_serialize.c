/*
 * test_serialize.c - a saved document's bytes are jansson's compact form
 * exactly: kvkit serializes documents itself (doc_scratch.c) and must write
 * what json_dumps(JSON_COMPACT) writes, for random documents with every
 * kind of value - escapes, control characters, NULs, 2-, 3- and 4-byte
 * UTF-8, integers at their limits, reals of every magnitude, -0.0, deep and
 * empty containers.
 */
#include "helpers.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#define ROUNDS 3000

static uint64_t rng = 0x9e3779b97f4a7c15ULL;

static uint64_t next(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

/* A random string: ASCII with the characters JSON escapes, NUL, and
 * UTF-8 sequences of every length (each one valid). */
static json_t *random_string(void)
{
    static const char *const pieces[] = {
        "a", "Z", "0", " ", "\"", "\\", "/", "\b", "\f", "\n", "\r", "\t", "\x01", "\x1f",
        "\x7f", "\xc3\xa9", "\xe2\x82\xac", "\xef\xbf\xbf", "\xf0\x9f\x98\x80", "\xf4\x8f\xbf\xbf",
        "plain text of some length, plain text of some length"};
    char buf[512];
    size_t len = 0, n = next() % 24;
    for (size_t i = 0; i < n; i++) {
        if (next() % 16 == 0) { /* a NUL byte */
            buf[len++] = '\0';
            continue;
        }
        const char *p = pieces[next() % (sizeof pieces / sizeof pieces[0])];
        size_t plen = strlen(p);
        memcpy(buf + len, p, plen);
        len += plen;
    }
    return json_stringn(buf, len);
}

static json_t *random_real(void)
{
    static const double fixed[] = {0.0,     -0.0,    0.5,   -1.5,   1e300, -1e-300, 5e-324,
                                   1.7976931348623157e308, 1e15,  1e16,  1e17,  123456789.125,
                                   0.1,     1.0 / 3, 100.0, -2.0};
    if (next() % 2)
        return json_real(fixed[next() % (sizeof fixed / sizeof fixed[0])]);
    double d;
    do { /* any finite double, from its bits */
        uint64_t bits = next();
        memcpy(&d, &bits, sizeof d);
    } while (!isfinite(d));
    return json_real(d);
}

static json_t *random_value(int depth);

static json_t *random_container(int depth)
{
    size_t n = next() % 6;
    if (next() % 2) {
        json_t *a = json_array();
        for (size_t i = 0; i < n; i++)
            json_array_append_new(a, random_value(depth + 1));
        return a;
    }
    json_t *o = json_object();
    for (size_t i = 0; i < n; i++) {
        json_t *k = random_string(); /* keys may hold NULs and escapes too */
        json_object_setn_new(o, json_string_value(k), json_string_length(k),
                             random_value(depth + 1));
        json_decref(k);
    }
    return o;
}

static json_t *random_value(int depth)
{
    static const json_int_t ints[] = {0, -1, 1, 9007199254740993LL, INT64_MAX, INT64_MIN};
    switch (next() % (depth < 5 ? 8 : 6)) {
    case 0:
        return random_string();
    case 1:
        return json_integer(next() % 2 ? (json_int_t)next() : ints[next() % 6]);
    case 2:
        return random_real();
    case 3:
        return next() % 2 ? json_true() : json_false();
    case 4:
        return json_null();
    case 5:
        return random_string();
    default:
        return random_container(depth);
    }
}

/* Save `attrs` as a document and compare the stored bytes with jansson's. */
static void check_one(kvkit_store_t *st, kvkit_schema_t *s, json_t *attrs, int round)
{
    char key[32];
    snprintf(key, sizeof key, "d%d", round);
    kvkit_doc_t *doc = NULL;
    OK(kvkit_doc_new(s, key, &doc, &err));
    const char *name;
    json_t *v;
    json_object_foreach(attrs, name, v) OK(kvkit_doc_attr_set(doc, name, v, &err));
    OK(kvkit_doc_save(doc, &err));
    kvkit_doc_destroy(doc);
    char *stored = NULL;
    size_t len = 0;
    OK(kvkit_store_get(st, "s", key, &stored, &len, &err));
    char *want = json_dumps(attrs, JSON_COMPACT);
    ck_assert_ptr_nonnull(want);
    ck_assert_msg(len == strlen(want) && memcmp(stored, want, len) == 0,
                  "round %d:\n kvkit   %.*s\n jansson %s", round, (int)len, stored, want);
    free(want);
    free(stored);
}

static void run(int rounds)
{
    kvkit_store_t *st = mem_store();
    kvkit_schema_t *s = NULL;
    OK(kvkit_schema_create("S", NULL, st, &s, &err));
    OK(kvkit_schema_set_bucket(s, "s", &err));
    for (int r = 0; r < rounds; r++) {
        json_t *attrs = json_object();
        size_t n = 1 + next() % 8;
        for (size_t i = 0; i < n; i++) {
            char name[16];
            snprintf(name, sizeof name, "f%zu_%u", i, (unsigned)(next() % 100));
            json_object_set_new(attrs, name, random_value(0));
        }
        check_one(st, s, attrs, r);
        json_decref(attrs);
    }
    kvkit_schema_destroy(s);
    kvkit_store_close(st);
}

START_TEST(test_saved_bytes_are_janssons)
{
    run(ROUNDS);
}
END_TEST

int main(void)
{
    Suite *su = suite_create("serialize");
    TCase *tc = tcase_create("bytes");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_saved_bytes_are_janssons);
    suite_add_tcase(su, tc);
    SRunner *sr = srunner_create(su);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
