/*
 * kvkit-conformance - prove a backend against the kvkit store contract.
 *
 *   kvkit-conformance STORE_STRING        e.g. memory:   leveldb:/tmp/x
 *
 * Every case opens the store anew and works in buckets of its own (named
 * after the run and the case), so it can run against a store that already
 * holds data, and leaves its documents behind only when a case fails.
 * Exit status 0 when every case passes.
 */
#include <kvkit/kvkit.h>

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/wait.h>
#include <unistd.h>

static const char *store_uri;
static char run_id[64];

/*** helpers ***/

static kvkit_store_t *open_store(void)
{
    kvkit_error_t err = {0};
    kvkit_store_t *s = kvkit_store_open(store_uri, &err);
    ck_assert_msg(s != NULL, "open \"%s\": %s", store_uri, err.text);
    return s;
}

/* A bucket name unique to this run and case. */
static const char *bucket(const char *name)
{
    static char buf[2][200];
    static int which;
    which ^= 1;
    snprintf(buf[which], sizeof buf[which], "%s-%s", run_id, name);
    return buf[which];
}

/* Save `doc` (JSON text) with index entries given as alternating field
 * name / JSON text pairs, NULL-terminated. */
static void save(kvkit_store_t *s, const char *b, const char *key, const char *doc, ...)
{
    kvkit_error_t err = {0};
    kvkit_index_set_t *set = kvkit_index_set_create();
    ck_assert_ptr_nonnull(set);
    va_list ap;
    va_start(ap, doc);
    const char *field;
    while ((field = va_arg(ap, const char *)) != NULL) {
        const char *text = va_arg(ap, const char *);
        json_t *v = json_loads(text, JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
        ck_assert_msg(v != NULL, "bad test JSON %s", text);
        ck_assert_int_eq(kvkit_index_set_add(set, field, v, &err), KVKIT_OK);
        json_decref(v);
    }
    va_end(ap);
    int rc = kvkit_store_save(s, b, key, doc, strlen(doc), set, &err);
    ck_assert_msg(rc == KVKIT_OK, "save \"%s\": %s", key, err.text);
    kvkit_index_set_destroy(set);
}

static char *get(kvkit_store_t *s, const char *b, const char *key, int *rc_out)
{
    kvkit_error_t err = {0};
    char *v = NULL;
    size_t n = 0;
    int rc = kvkit_store_get(s, b, key, &v, &n, &err);
    *rc_out = rc;
    if (rc != KVKIT_OK)
        return NULL;
    char *copy = malloc(n + 1);
    memcpy(copy, v, n);
    copy[n] = '\0';
    free(v);
    return copy;
}

static void expect_doc(kvkit_store_t *s, const char *b, const char *key, const char *want)
{
    int rc;
    char *v = get(s, b, key, &rc);
    ck_assert_msg(rc == KVKIT_OK, "get \"%s\": %s", key, kvkit_strerror(rc));
    ck_assert_str_eq(v, want);
    free(v);
}

static void expect_absent(kvkit_store_t *s, const char *b, const char *key)
{
    int rc;
    char *v = get(s, b, key, &rc);
    ck_assert_msg(rc == KVKIT_NOTFOUND, "get \"%s\": expected NOTFOUND, got %s", key,
                  kvkit_status_name(rc));
    free(v);
}

/* Collected keys, in arrival order, joined by ','. */
typedef struct keys {
    char text[65536];
    size_t n;
} keys_t;

static int collect(void *ctx, const char *key, size_t len)
{
    keys_t *k = ctx;
    size_t used = strlen(k->text);
    ck_assert_uint_eq(strlen(key), len); /* keys arrive NUL-terminated */
    snprintf(k->text + used, sizeof k->text - used, "%s%s", k->n ? "," : "", key);
    k->n++;
    return 0;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Sort a comma-joined list so unordered backends compare equal. */
static void sort_keys(keys_t *k)
{
    char *items[4096];
    size_t n = 0;
    char copy[sizeof k->text];
    memcpy(copy, k->text, sizeof copy);
    for (char *t = strtok(copy, ","); t && n < 4096; t = strtok(NULL, ","))
        items[n++] = t;
    qsort(items, n, sizeof *items, cmp_str);
    k->text[0] = '\0';
    for (size_t i = 0; i < n; i++) {
        size_t used = strlen(k->text);
        snprintf(k->text + used, sizeof k->text - used, "%s%s", i ? "," : "", items[i]);
    }
}

/* Run an index query (lo/hi JSON text; hi NULL for exact) and return the
 * sorted keys.  Fails the test on an error. */
static keys_t *query(kvkit_store_t *s, const char *b, const char *field, const char *lo,
                     const char *hi)
{
    static keys_t k;
    memset(&k, 0, sizeof k);
    json_t *l = lo ? json_loads(lo, JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL) : NULL;
    json_t *h = hi ? json_loads(hi, JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL) : NULL;
    kvkit_error_t err = {0};
    int rc = kvkit_store_index_keys(s, b, field, l, h, collect, &k, &err);
    ck_assert_msg(rc == KVKIT_OK, "query %s [%s, %s]: %s", field, lo, hi ? hi : lo, err.text);
    json_decref(l);
    json_decref(h);
    sort_keys(&k);
    return &k;
}

#define EXPECT_QUERY(s, b, field, lo, hi, want)                                \
    ck_assert_str_eq(query(s, b, field, lo, hi)->text, want)

/*** get / save / delete ***/

START_TEST(test_save_get_delete)
{
    kvkit_store_t *s = open_store();
    const char *b = bucket("crud");
    expect_absent(s, b, "k");
    save(s, b, "k", "{\"a\":1}", NULL);
    expect_doc(s, b, "k", "{\"a\":1}");
    save(s, b, "k", "{\"a\":2}", NULL); /* overwrite */
    expect_doc(s, b, "k", "{\"a\":2}");
    kvkit_error_t err = {0};
    ck_assert_int_eq(kvkit_store_delete(s, b, "k", &err), KVKIT_OK);
    expect_absent(s, b, "k");
    ck_assert_int_eq(kvkit_store_delete(s, b, "k", &err), KVKIT_OK); /* absent: fine */
    ck_assert_int_eq(kvkit_store_delete(s, b, "never-was", &err), KVKIT_OK);
    ck_assert_int_eq(err.code, KVKIT_OK);
    kvkit_store_close(s);
}
END_TEST

START_TEST(test_save_empty_value)
{
    kvkit_store_t *s = open_store();
    const char *b = bucket("emptyval");
    kvkit_error_t err = {0};
    ck_assert_int_eq(kvkit_store_save(s, b, "e", "", 0, NULL, &err), KVKIT_OK);
    char *v = NULL;
    size_t n = 99;
    ck_assert_int_eq(kvkit_store_get(s, b, "e", &v, &n, &err), KVKIT_OK);
    ck_assert_uint_eq(n, 0);
    free(v);
    kvkit_store_close(s);
}
END_TEST

START_TEST(test_bucket_isolation)
{
    kvkit_store_t *s = open_store();
    const char *b1 = bucket("iso1"), *b2 = bucket("iso2");
    char b1c[200];
    snprintf(b1c, sizeof b1c, "%s", b1);
    save(s, b1c, "same", "{\"in\":1}", "tag", "\"x\"", NULL);
    save(s, b2, "same", "{\"in\":2}", "tag", "\"y\"", NULL);
    expect_doc(s, b1c, "same", "{\"in\":1}");
    expect_doc(s, b2, "same", "{\"in\":2}");
    EXPECT_QUERY(s, b1c, "tag", "\"x\"", NULL, "same");
    EXPECT_QUERY(s, b1c, "tag", "\"y\"", NULL, "");
    EXPECT_QUERY(s, b2, "tag", "\"x\"", NULL, "");
    kvkit_error_t err = {0};
    ck_assert_int_eq(kvkit_store_delete(s, b1c, "same", &err), KVKIT_OK);
    expect_doc(s, b2, "same", "{\"in\":2}");
    EXPECT_QUERY(s, b2, "tag", "\"y\"", NULL, "same");
    /* a bucket whose name is a prefix of another's stays apart */
    char pre[200];
    snprintf(pre, sizeof pre, "%s-p", b2);
    char prelong[200];
    snprintf(prelong, sizeof prelong, "%s-pp", b2);
    save(s, pre, "k", "{}", "f", "1", NULL);
    save(s, prelong, "k", "{}", "f", "1", NULL);
    keys_t k = {0};
    ck_assert_int_eq(kvkit_store_list_keys(s, pre, NULL, NULL, collect, &k, &err), KVKIT_OK);
    ck_assert_str_eq(k.text, "k");
    EXPECT_QUERY(s, pre, "f", "1", NULL, "k");
    kvkit_store_close(s);
}
END_TEST

/*** indexes ***/

START_TEST(test_index_exact_strings)
{
    kvkit_store_t *s = open_store();
    const char *b = bucket("exs");
    save(s, b, "a", "{}", "name", "\"alice\"", NULL);
    save(s, b, "b", "{}", "name", "\"bob\"", NULL);
    save(s, b, "c", "{}", "name", "\"alice\"", NULL);
    save(s, b, "d", "{}", "name", "\"alic\"", NULL);     /* prefix of alice */
    save(s, b, "e", "{}", "name", "\"alice \"", NULL);   /* alice + space */
    save(s, b, "f", "{}", "name", "\"\"", NULL);         /* empty string */
    save(s, b, "g", "{}", "name", "\"al\\u0000x\"", NULL); /* embedded NUL */
    EXPECT_QUERY(s, b, "name", "\"alice\"", NULL, "a,c");
    EXPECT_QUERY(s, b, "name", "\"alic\"", NULL, "d");
    EXPECT_QUERY(s, b, "name", "\"\"", NULL, "f");
    EXPECT_QUERY(s, b, "name", "\"al\\u0000x\"", NULL, "g");
    EXPECT_QUERY(s, b, "name", "\"al\"", NULL, "");
    EXPECT_QUERY(s, b, "other", "\"alice\"", NULL, "");
    kvkit_store_close(s);
}
END_TEST

START_TEST(test_index_range_strings)
{
    kvkit_store_t *s = open_store();
    const char *b = bucket("rgs");
    save(s, b, "1", "{}", "w", "\"apple\"", NULL);
    save(s, b, "2", "{}", "w", "\"banana\"", NULL);
    save(s, b, "3", "{}", "w", "\"cherry\"", NULL);
    save(s, b, "4", "{}", "w", "\"b\"", NULL);
    save(s, b, "5", "{}", "w", "\"\xc3\xa9t\xc3\xa9\"", NULL); /* é sorts after ASCII bytewise */
    save(s, b, "6", "{}", "w", "5", NULL);                       /* a number: never in a string range */
    EXPECT_QUERY(s, b, "w", "\"b\"", "\"banana\"", "2,4"); /* inclusive both ends */
    EXPECT_QUERY(s, b, "w", "\"a\"", "\"c\"", "1,2,4");
    EXPECT_QUERY(s, b, "w", "\"\"", "\"\xf4\x8f\xbf\xbf\"", "1,2,3,4,5");
    EXPECT_QUERY(s, b, "w", "\"z\"", "\"\xc3\xbf\"", "5");
    EXPECT_QUERY(s, b, "w", "\"c\"", "\"a\"", ""); /* lo > hi */
    kvkit_store_close(s);
}
END_TEST

START_TEST(test_index_numbers)
{
    kvkit_store_t *s = open_store();
    const char *b = bucket("num");
    save(s, b, "neg", "{}", "n", "-10", NULL);
    save(s, b, "zero", "{}", "n", "0", NULL);
    save(s, b, "negzero", "{}", "n", "-0.0", NULL);
    save(s, b, "half", "{}", "n", "0.5", NULL);
    save(s, b, "one", "{}", "n", "1", NULL);
    save(s, b, "onef", "{}", "n", "1.0", NULL);
    save(s, b, "big", "{}", "n", "9007199254740993", NULL); /* 2^53 + 1: not a double */
    save(s, b, "bigm", "{}", "n", "9007199254740992", NULL);
    save(s, b, "max", "{}", "n", "9223372036854775807", NULL);
    save(s, b, "min", "{}", "n", "-9223372036854775808", NULL);
    save(s, b, "str", "{}", "n", "\"1\"", NULL); /* a string: never in a numeric range */
    /* integers and reals in one numeric order */
    EXPECT_QUERY(s, b, "n", "1", NULL, "one,onef");
    EXPECT_QUERY(s, b, "n", "1.0", NULL, "one,onef");
    EXPECT_QUERY(s, b, "n", "0", NULL, "negzero,zero");
    EXPECT_QUERY(s, b, "n", "-1", "0.5", "half,negzero,zero");
    EXPECT_QUERY(s, b, "n", "0.25", "0.75", "half");
    EXPECT_QUERY(s, b, "n", "-100.5", "-9.99", "neg");
    EXPECT_QUERY(s, b, "n", "9007199254740993", NULL, "big");
    EXPECT_QUERY(s, b, "n", "9007199254740992.0", NULL, "bigm");
    EXPECT_QUERY(s, b, "n", "9007199254740993", "9223372036854775807", "big,max");
    EXPECT_QUERY(s, b, "n", "-9223372036854775808", "-10", "min,neg");
    EXPECT_QUERY(s, b, "n", "-1e300", "1e300", "big,bigm,half,max,min,neg,negzero,one,onef,zero");
    EXPECT_QUERY(s, b, "n", "\"0\"", "\"9\"", "str");
    kvkit_store_close(s);
}
END_TEST

START_TEST(test_index_lists)
{
    kvkit_store_t *s = open_store();
    const char *b = bucket("lst");
    save(s, b, "p1", "{}", "tags", "[\"c\", \"a\", 3, 1.5, \"a\"]", NULL);
    save(s, b, "p2", "{}", "tags", "[\"b\", 2]", NULL);
    save(s, b, "p3", "{}", "tags", "[]", NULL);
    save(s, b, "p4", "{}", "tags", "[\"a\", \"b\", \"c\", \"d\"]", NULL);
    EXPECT_QUERY(s, b, "tags", "\"a\"", NULL, "p1,p4");
    EXPECT_QUERY(s, b, "tags", "3", NULL, "p1");
    EXPECT_QUERY(s, b, "tags", "1.5", NULL, "p1");
    /* each key once however many of its values match */
    keys_t *k = query(s, b, "tags", "\"a\"", "\"z\"");
    ck_assert_str_eq(k->text, "p1,p2,p4");
    ck_assert_uint_eq(k->n, 3);
    k = query(s, b, "tags", "\"b\"", "\"c\"");
    ck_assert_str_eq(k->text, "p1,p2,p4");
    k = query(s, b, "tags", "0", "100");
    ck_assert_str_eq(k->text, "p1,p2");
    ck_assert_uint_eq(k->n, 2);
    kvkit_store_close(s);
}
END_TEST

START_TEST(test_index_resave_replaces_entries)
{
    kvkit_store_t *s = open_store();
    const char *b = bucket("resave");
    save(s, b, "doc", "{\"v\":1}", "color", "\"red\"", "size", "1", NULL);
    /* two in-memory copies of the document, each saved in turn: only the
     * last save's entries may remain */
    save(s, b, "doc", "{\"v\":2}", "color", "\"green\"", "size", "2", NULL);
    save(s, b, "doc", "{\"v\":3}", "color", "\"blue\"", NULL);
    EXPECT_QUERY(s, b, "color", "\"red\"", NULL, "");
    EXPECT_QUERY(s, b, "color", "\"green\"", NULL, "");
    EXPECT_QUERY(s, b, "color", "\"blue\"", NULL, "doc");
    EXPECT_QUERY(s, b, "size", "0", "10", "");
    EXPECT_QUERY(s, b, "color", "\"a\"", "\"z\"", "doc");
    expect_doc(s, b, "doc", "{\"v\":3}");
    /* list shrinking and growing */
    save(s, b, "l", "{}", "t", "[1,2,3]", NULL);
    save(s, b, "l", "{}", "t", "[2]", NULL);
    EXPECT_QUERY(s, b, "t", "1", NULL, "");
    EXPECT_QUERY(s, b, "t", "3", NULL, "");
    EXPECT_QUERY(s, b, "t", "0", "5", "l");
    save(s, b, "l", "{}", "t", "[0,2,4]", NULL);
    keys_t *k = query(s, b, "t", "1", "5");
    ck_assert_str_eq(k->text, "l");
    ck_assert_uint_eq(k->n, 1);
    /* entries removed entirely */
    save(s, b, "l", "{}", NULL);
    EXPECT_QUERY(s, b, "t", "0", "5", "");
    kvkit_store_close(s);
}
END_TEST

START_TEST(test_index_delete_removes_entries)
{
    kvkit_store_t *s = open_store();
    const char *b = bucket("del");
    save(s, b, "x", "{}", "f", "\"v\"", "g", "[1,2]", NULL);
    save(s, b, "y", "{}", "f", "\"v\"", NULL);
    kvkit_error_t err = {0};
    ck_assert_int_eq(kvkit_store_delete(s, b, "x", &err), KVKIT_OK);
    EXPECT_QUERY(s, b, "f", "\"v\"", NULL, "y");
    EXPECT_QUERY(s, b, "g", "0", "9", "");
    /* re-created after delete: fresh entries only */
    save(s, b, "x", "{}", "g", "5", NULL);
    EXPECT_QUERY(s, b, "f", "\"v\"", NULL, "y");
    EXPECT_QUERY(s, b, "g", "0", "9", "x");
    kvkit_store_close(s);
}
END_TEST

START_TEST(test_index_bad_queries)
{
    kvkit_store_t *s = open_store();
    const char *b = bucket("badq");
    kvkit_error_t err = {0};
    keys_t k = {0};
    json_t *n = json_integer(1), *str = json_string("a"), *t = json_true();
    ck_assert_int_eq(kvkit_store_index_keys(s, b, "f", n, str, collect, &k, &err), KVKIT_INVALID);
    ck_assert_ptr_nonnull(strstr(err.text, "both be numbers or both be strings"));
    kvkit_error_clear(&err);
    ck_assert_int_eq(kvkit_store_index_keys(s, b, "f", t, NULL, collect, &k, &err), KVKIT_INVALID);
    ck_assert_ptr_nonnull(strstr(err.text, "must be a number or a string"));
    kvkit_error_clear(&err);
    ck_assert_int_eq(kvkit_store_index_keys(s, b, "$nope", n, NULL, collect, &k, &err),
                     KVKIT_INVALID);
    ck_assert_ptr_nonnull(strstr(err.text, "$key and $bucket"));
    kvkit_error_clear(&err);
    kvkit_index_set_t *set = kvkit_index_set_create();
    ck_assert_int_eq(kvkit_index_set_add(set, "f", t, &err), KVKIT_INVALID);
    ck_assert_str_eq(err.subject, "f");
    json_decref(n);
    json_decref(str);
    json_decref(t);
    kvkit_index_set_destroy(set);
    kvkit_store_close(s);
}
END_TEST

/*** key listings and pseudo-fields ***/

START_TEST(test_list_keys)
{
    kvkit_store_t *s = open_store();
    const char *b = bucket("ls");
    const char *keys[] = {"a", "b", "ba", "bb", "c", "d"};
    for (size_t i = 0; i < 6; i++)
        save(s, b, keys[i], "{}", NULL);
    kvkit_error_t err = {0};
    keys_t k = {0};
    ck_assert_int_eq(kvkit_store_list_keys(s, b, NULL, NULL, collect, &k, &err), KVKIT_OK);
    sort_keys(&k);
    ck_assert_str_eq(k.text, "a,b,ba,bb,c,d");
    memset(&k, 0, sizeof k);
    ck_assert_int_eq(kvkit_store_list_keys(s, b, "b", "bb", collect, &k, &err), KVKIT_OK);
    sort_keys(&k);
    ck_assert_str_eq(k.text, "b,ba,bb");
    memset(&k, 0, sizeof k);
    ck_assert_int_eq(kvkit_store_list_keys(s, b, "bz", NULL, collect, &k, &err), KVKIT_OK);
    sort_keys(&k);
    ck_assert_str_eq(k.text, "c,d");
    memset(&k, 0, sizeof k);
    ck_assert_int_eq(kvkit_store_list_keys(s, b, NULL, "b", collect, &k, &err), KVKIT_OK);
    sort_keys(&k);
    ck_assert_str_eq(k.text, "a,b");
    memset(&k, 0, sizeof k);
    ck_assert_int_eq(kvkit_store_list_keys(s, bucket("ls-empty"), NULL, NULL, collect, &k, &err),
                     KVKIT_OK);
    ck_assert_uint_eq(k.n, 0);
    kvkit_store_close(s);
}
END_TEST

START_TEST(test_pseudo_fields)
{
    kvkit_store_t *s = open_store();
    const char *b = bucket("pseudo");
    save(s, b, "k1", "{}", NULL);
    save(s, b, "k2", "{}", "f", "1", NULL);
    save(s, b, "k3", "{}", NULL);
    EXPECT_QUERY(s, b, "$key", "\"k1\"", "\"k2\"", "k1,k2");
    EXPECT_QUERY(s, b, "$key", "\"k3\"", NULL, "k3");
    EXPECT_QUERY(s, b, "$bucket", NULL, NULL, "k1,k2,k3");
    kvkit_error_t err = {0};
    keys_t k = {0};
    json_t *n = json_integer(1);
    ck_assert_int_eq(kvkit_store_index_keys(s, b, "$key", n, NULL, collect, &k, &err),
                     KVKIT_INVALID);
    ck_assert_ptr_nonnull(strstr(err.text, "\"$key\" bounds must be strings"));
    json_decref(n);
    kvkit_store_close(s);
}
END_TEST

/*** values and keys ***/

START_TEST(test_large_value)
{
    kvkit_store_t *s = open_store();
    const char *b = bucket("big");
    size_t n = 1 << 20;
    char *doc = malloc(n + 1);
    /* a 1 MiB JSON string value */
    doc[0] = '"';
    for (size_t i = 1; i < n - 1; i++)
        doc[i] = (char)('a' + i % 26);
    doc[n - 1] = '"';
    doc[n] = '\0';
    kvkit_error_t err = {0};
    ck_assert_msg(kvkit_store_save(s, b, "big", doc, n, NULL, &err) == KVKIT_OK, "%s", err.text);
    char *v = NULL;
    size_t vn = 0;
    ck_assert_int_eq(kvkit_store_get(s, b, "big", &v, &vn, &err), KVKIT_OK);
    ck_assert_uint_eq(vn, n);
    ck_assert(memcmp(v, doc, n) == 0);
    free(v);
    free(doc);
    kvkit_store_close(s);
}
END_TEST

static const char *awkward_keys[] = {
    "with space", "sl/ash", "que?ry", "per%25cent", "pl+us", "ha#sh", "amp&ersand",
    "\xc3\xa9t\xc3\xa9", "\xe6\x97\xa5\xe6\x9c\xac", "\xf0\x9f\x98\x80", "..", "a:b", "-",
};
#define N_AWKWARD (sizeof awkward_keys / sizeof awkward_keys[0])

START_TEST(test_awkward_keys)
{
    kvkit_store_t *s = open_store();
    const char *b = bucket("awk w/ar?d%");
    char bb[256];
    snprintf(bb, sizeof bb, "%s", b);
    for (size_t i = 0; i < N_AWKWARD; i++) {
        char doc[64];
        snprintf(doc, sizeof doc, "{\"i\":%zu}", i);
        save(s, bb, awkward_keys[i], doc, "f", "\"same\"", NULL);
    }
    for (size_t i = 0; i < N_AWKWARD; i++) {
        char doc[64];
        snprintf(doc, sizeof doc, "{\"i\":%zu}", i);
        expect_doc(s, bb, awkward_keys[i], doc);
    }
    keys_t k = {0}, want = {0};
    for (size_t i = 0; i < N_AWKWARD; i++)
        collect(&want, awkward_keys[i], strlen(awkward_keys[i]));
    sort_keys(&want);
    kvkit_error_t err = {0};
    ck_assert_int_eq(kvkit_store_list_keys(s, bb, NULL, NULL, collect, &k, &err), KVKIT_OK);
    sort_keys(&k);
    ck_assert_str_eq(k.text, want.text);
    EXPECT_QUERY(s, bb, "f", "\"same\"", NULL, want.text);
    for (size_t i = 0; i < N_AWKWARD; i++)
        ck_assert_int_eq(kvkit_store_delete(s, bb, awkward_keys[i], &err), KVKIT_OK);
    EXPECT_QUERY(s, bb, "f", "\"same\"", NULL, "");
    kvkit_store_close(s);
}
END_TEST

START_TEST(test_bad_keys_refused)
{
    kvkit_store_t *s = open_store();
    const char *b = bucket("badkey");
    kvkit_error_t err = {0};
    ck_assert_int_eq(kvkit_store_save(s, b, "", "{}", 2, NULL, &err), KVKIT_INVALID);
    ck_assert_str_eq(err.text, "empty key: a key is 1 to 1024 bytes");
    char *longkey = malloc(KVKIT_KEY_MAX + 2);
    memset(longkey, 'k', KVKIT_KEY_MAX + 1);
    longkey[KVKIT_KEY_MAX + 1] = '\0';
    kvkit_error_clear(&err);
    ck_assert_int_eq(kvkit_store_save(s, b, longkey, "{}", 2, NULL, &err), KVKIT_INVALID);
    ck_assert_ptr_nonnull(strstr(err.text, "is 1025 bytes, longer than the limit of 1024"));
    longkey[KVKIT_KEY_MAX] = '\0'; /* exactly at the limit: accepted */
    kvkit_error_clear(&err);
    ck_assert_msg(kvkit_store_save(s, b, longkey, "{}", 2, NULL, &err) == KVKIT_OK, "%s", err.text);
    expect_doc(s, b, longkey, "{}");
    free(longkey);
    kvkit_error_clear(&err);
    char *v;
    size_t n;
    ck_assert_int_eq(kvkit_store_get(s, "", "k", &v, &n, &err), KVKIT_INVALID);
    ck_assert_str_eq(err.text, "empty bucket: a bucket is 1 to 255 bytes");
    kvkit_error_clear(&err);
    ck_assert_int_eq(kvkit_store_get(s, b, "bad\xff", &v, &n, &err), KVKIT_INVALID);
    ck_assert_ptr_nonnull(strstr(err.text, "is not valid UTF-8"));
    kvkit_error_clear(&err);
    ck_assert_int_eq(kvkit_store_delete(s, b, "", &err), KVKIT_INVALID);
    kvkit_store_close(s);
}
END_TEST

/*** streaming: pages, resumption, documents ***/

START_TEST(test_iterator_pages)
{
    kvkit_store_t *s = open_store();
    const char *b = bucket("iter");
    char bb[256];
    snprintf(bb, sizeof bb, "%s", b);
    kvkit_batch_t *batch = kvkit_batch_create();
    kvkit_index_set_t *set = kvkit_index_set_create();
    kvkit_error_t err = {0};
    /* 700 documents; each has two values in range, so deduplication must
     * hold across page boundaries (pages are 256 results) */
    for (int i = 0; i < 700; i++) {
        char key[32], doc[64];
        snprintf(key, sizeof key, "k%04d", i);
        snprintf(doc, sizeof doc, "{\"i\":%d}", i);
        json_t *vals = json_pack("[i,i]", i % 50, 100 + i % 7);
        kvkit_index_set_clear(set);
        ck_assert_int_eq(kvkit_index_set_add(set, "v", vals, &err), KVKIT_OK);
        json_decref(vals);
        ck_assert_int_eq(kvkit_batch_save(batch, bb, key, doc, strlen(doc), set, &err), KVKIT_OK);
        if (kvkit_batch_size(batch) == 100) {
            ck_assert_msg(kvkit_store_write(s, batch, &err) == KVKIT_OK, "%s", err.text);
            kvkit_batch_destroy(batch);
            batch = kvkit_batch_create();
        }
    }
    ck_assert_int_eq(kvkit_store_write(s, batch, &err), KVKIT_OK);
    kvkit_batch_destroy(batch);
    kvkit_index_set_destroy(set);

    json_t *lo = json_integer(0), *hi = json_integer(1000);
    kvkit_iter_t *it = kvkit_store_index_iter(s, bb, "v", lo, hi, 1);
    int seen[700] = {0};
    size_t count = 0;
    for (; kvkit_iter_valid(it); kvkit_iter_next(it)) {
        size_t kl, vl;
        const char *key = kvkit_iter_key(it, &kl);
        const char *val = kvkit_iter_value(it, &vl);
        int i = atoi(key + 1);
        ck_assert_int_ge(i, 0);
        ck_assert_int_lt(i, 700);
        seen[i]++;
        char want[64];
        snprintf(want, sizeof want, "{\"i\":%d}", i);
        ck_assert_uint_eq(vl, strlen(want));
        ck_assert(memcmp(val, want, vl) == 0);
        count++;
    }
    ck_assert_int_eq(kvkit_iter_status(it, &err), KVKIT_OK);
    kvkit_iter_destroy(it);
    ck_assert_uint_eq(count, 700);
    for (int i = 0; i < 700; i++)
        ck_assert_int_eq(seen[i], 1);

    /* keys-only iterator over a sub-range: values 10..19 -> 14 keys each */
    json_decref(lo);
    json_decref(hi);
    lo = json_integer(10);
    hi = json_integer(19);
    it = kvkit_store_index_iter(s, bb, "v", lo, hi, 0);
    count = 0;
    for (; kvkit_iter_valid(it); kvkit_iter_next(it)) {
        ck_assert_ptr_null(kvkit_iter_value(it, NULL));
        count++;
    }
    ck_assert_int_eq(kvkit_iter_status(it, NULL), KVKIT_OK);
    kvkit_iter_destroy(it);
    ck_assert_uint_eq(count, 140);

    /* keys iterator over the whole bucket */
    it = kvkit_store_keys_iter(s, bb, NULL, NULL, 0);
    count = 0;
    for (; kvkit_iter_valid(it); kvkit_iter_next(it))
        count++;
    ck_assert_int_eq(kvkit_iter_status(it, NULL), KVKIT_OK);
    kvkit_iter_destroy(it);
    ck_assert_uint_eq(count, 700);
    it = kvkit_store_keys_iter(s, bb, "k0100", "k0399", 1);
    count = 0;
    for (; kvkit_iter_valid(it); kvkit_iter_next(it)) {
        ck_assert_ptr_nonnull(kvkit_iter_value(it, NULL));
        count++;
    }
    kvkit_iter_destroy(it);
    ck_assert_uint_eq(count, 300);
    json_decref(lo);
    json_decref(hi);
    kvkit_store_close(s);
}
END_TEST

typedef struct docs {
    int n;
    char last[64];
} docs_t;

static int collect_doc(void *ctx, const char *key, size_t kl, const char *v, size_t vl)
{
    docs_t *d = ctx;
    d->n++;
    snprintf(d->last, sizeof d->last, "%s=%.*s", key, (int)vl, v);
    return 0;
}

static int stop_at_two(void *ctx, const char *key, size_t len)
{
    return ++*(int *)ctx == 2;
}

START_TEST(test_index_docs_and_stop)
{
    kvkit_store_t *s = open_store();
    const char *b = bucket("docs");
    save(s, b, "a", "{\"x\":1}", "f", "\"v\"", NULL);
    save(s, b, "b", "{\"x\":2}", "f", "\"w\"", NULL);
    save(s, b, "c", "{\"x\":3}", "f", "\"v\"", NULL);
    docs_t d = {0};
    kvkit_error_t err = {0};
    json_t *v = json_string("w");
    ck_assert_int_eq(kvkit_store_index_docs(s, b, "f", v, NULL, collect_doc, &d, &err), KVKIT_OK);
    ck_assert_int_eq(d.n, 1);
    ck_assert_str_eq(d.last, "b={\"x\":2}");
    json_decref(v);
    /* a callback that stops early ends the query without an error */
    int calls = 0;
    ck_assert_int_eq(kvkit_store_list_keys(s, b, NULL, NULL, stop_at_two, &calls, &err), KVKIT_OK);
    ck_assert_int_eq(calls, 2);
    kvkit_store_close(s);
}
END_TEST

/*** batches ***/

START_TEST(test_batch)
{
    kvkit_store_t *s = open_store();
    const char *b = bucket("batch");
    save(s, b, "gone", "{}", "f", "1", NULL);
    kvkit_batch_t *batch = kvkit_batch_create();
    kvkit_index_set_t *set = kvkit_index_set_create();
    kvkit_error_t err = {0};
    json_t *one = json_integer(1), *two = json_integer(2);
    kvkit_index_set_add(set, "f", one, &err);
    ck_assert_int_eq(kvkit_batch_save(batch, b, "x", "{\"v\":1}", 7, set, &err), KVKIT_OK);
    kvkit_index_set_clear(set);
    kvkit_index_set_add(set, "f", two, &err);
    /* the same key twice in one batch: the second write wins, entries too */
    ck_assert_int_eq(kvkit_batch_save(batch, b, "x", "{\"v\":2}", 7, set, &err), KVKIT_OK);
    ck_assert_int_eq(kvkit_batch_delete(batch, b, "gone", &err), KVKIT_OK);
    ck_assert_uint_eq(kvkit_batch_size(batch), 3);
    ck_assert_msg(kvkit_store_write(s, batch, &err) == KVKIT_OK, "%s", err.text);
    expect_doc(s, b, "x", "{\"v\":2}");
    expect_absent(s, b, "gone");
    EXPECT_QUERY(s, b, "f", "1", NULL, "");
    EXPECT_QUERY(s, b, "f", "2", NULL, "x");
    kvkit_batch_destroy(batch);
    kvkit_index_set_destroy(set);
    json_decref(one);
    json_decref(two);
    kvkit_store_close(s);
}
END_TEST

/*** optional operations ***/

START_TEST(test_unsupported_ops_reported)
{
    kvkit_store_t *s = open_store();
    const char *b = bucket("unsup");
    kvkit_error_t err = {0};
    keys_t k = {0};
    json_t *v = json_integer(1);
    int rc = kvkit_store_index_keys(s, b, "f", v, NULL, collect, &k, &err);
    if (kvkit_store_supports(s, "index_lookup")) {
        ck_assert_int_eq(rc, KVKIT_OK);
    } else {
        ck_assert_int_eq(rc, KVKIT_NOT_SUPPORTED);
        ck_assert_ptr_nonnull(strstr(err.text, "index_lookup is not supported"));
    }
    kvkit_error_clear(&err);
    rc = kvkit_store_list_keys(s, b, NULL, NULL, collect, &k, &err);
    ck_assert_int_eq(rc, kvkit_store_supports(s, "list_keys") ? KVKIT_OK : KVKIT_NOT_SUPPORTED);
    kvkit_error_clear(&err);
    char *val;
    size_t n;
    uint64_t rev;
    rc = kvkit_store_get_rev(s, b, "none", &val, &n, &rev, &err);
    ck_assert_int_eq(rc, kvkit_store_supports(s, "get_rev") ? KVKIT_NOTFOUND : KVKIT_NOT_SUPPORTED);
    if (rc == KVKIT_NOT_SUPPORTED)
        ck_assert_ptr_nonnull(strstr(err.text, "get_rev is not supported"));
    ck_assert_int_eq(kvkit_store_supports(s, "no_such_op"), 0);
    json_decref(v);
    kvkit_store_close(s);
}
END_TEST

START_TEST(test_save_if_unchanged)
{
    kvkit_store_t *s = open_store();
    if (!kvkit_store_supports(s, "save_if")) {
        /* the contract for a backend without it: a clear NOT_SUPPORTED */
        kvkit_error_t err = {0};
        ck_assert_int_eq(kvkit_store_save_if(s, bucket("cas"), "k", "{}", 2, NULL, 0, NULL, &err),
                         KVKIT_NOT_SUPPORTED);
        ck_assert_ptr_nonnull(strstr(err.text, "save_if is not supported"));
        kvkit_store_close(s);
        return;
    }
    const char *b = bucket("cas");
    kvkit_error_t err = {0};
    uint64_t r1 = 0, r2 = 0, rev = 0;
    ck_assert_int_eq(kvkit_store_save_if(s, b, "k", "{\"v\":1}", 7, NULL, 0, &r1, &err), KVKIT_OK);
    ck_assert_uint_ne(r1, 0);
    /* expected 0 = must not exist: now it does */
    ck_assert_int_eq(kvkit_store_save_if(s, b, "k", "{\"v\":9}", 7, NULL, 0, NULL, &err),
                     KVKIT_CONFLICT);
    kvkit_error_clear(&err);
    /* two copies read at r1: the first save wins, the second conflicts */
    char *v;
    size_t n;
    ck_assert_int_eq(kvkit_store_get_rev(s, b, "k", &v, &n, &rev, &err), KVKIT_OK);
    ck_assert_uint_eq(rev, r1);
    free(v);
    kvkit_index_set_t *set = kvkit_index_set_create();
    json_t *t = json_string("first");
    kvkit_index_set_add(set, "f", t, &err);
    ck_assert_int_eq(kvkit_store_save_if(s, b, "k", "{\"v\":2}", 7, set, r1, &r2, &err), KVKIT_OK);
    ck_assert_uint_ne(r2, r1);
    kvkit_index_set_clear(set);
    json_decref(t);
    t = json_string("second");
    kvkit_index_set_add(set, "f", t, &err);
    ck_assert_int_eq(kvkit_store_save_if(s, b, "k", "{\"v\":3}", 7, set, r1, NULL, &err),
                     KVKIT_CONFLICT);
    ck_assert_ptr_nonnull(strstr(err.text, "changed"));
    expect_doc(s, b, "k", "{\"v\":2}"); /* nothing changed */
    EXPECT_QUERY(s, b, "f", "\"first\"", NULL, "k");
    EXPECT_QUERY(s, b, "f", "\"second\"", NULL, "");
    /* a plain save moves the revision too */
    save(s, b, "k", "{\"v\":4}", NULL);
    ck_assert_int_eq(kvkit_store_get_rev(s, b, "k", &v, &n, &rev, &err), KVKIT_OK);
    free(v);
    ck_assert_uint_ne(rev, r2);
    /* delete and re-create: the old revision never matches again */
    ck_assert_int_eq(kvkit_store_delete(s, b, "k", &err), KVKIT_OK);
    ck_assert_int_eq(kvkit_store_save_if(s, b, "k", "{\"v\":5}", 7, NULL, 0, NULL, &err), KVKIT_OK);
    kvkit_error_clear(&err);
    ck_assert_int_eq(kvkit_store_save_if(s, b, "k", "{\"v\":6}", 7, NULL, rev, NULL, &err),
                     KVKIT_CONFLICT);
    json_decref(t);
    kvkit_index_set_destroy(set);
    kvkit_store_close(s);
}
END_TEST

static Suite *conformance_suite(void)
{
    Suite *s = suite_create("conformance");
    TCase *tc = tcase_create("store");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_save_get_delete);
    tcase_add_test(tc, test_save_empty_value);
    tcase_add_test(tc, test_bucket_isolation);
    tcase_add_test(tc, test_index_exact_strings);
    tcase_add_test(tc, test_index_range_strings);
    tcase_add_test(tc, test_index_numbers);
    tcase_add_test(tc, test_index_lists);
    tcase_add_test(tc, test_index_resave_replaces_entries);
    tcase_add_test(tc, test_index_delete_removes_entries);
    tcase_add_test(tc, test_index_bad_queries);
    tcase_add_test(tc, test_list_keys);
    tcase_add_test(tc, test_pseudo_fields);
    tcase_add_test(tc, test_large_value);
    tcase_add_test(tc, test_awkward_keys);
    tcase_add_test(tc, test_bad_keys_refused);
    tcase_add_test(tc, test_iterator_pages);
    tcase_add_test(tc, test_index_docs_and_stop);
    tcase_add_test(tc, test_batch);
    tcase_add_test(tc, test_unsupported_ops_reported);
    tcase_add_test(tc, test_save_if_unchanged);
    suite_add_tcase(s, tc);
    return s;
}

/* Open and close the store in a child process; print its error and
 * return non-zero when it cannot open. */
static int probe_store(void)
{
    int fds[2];
    if (pipe(fds) != 0) {
        perror("kvkit-conformance: pipe");
        return 1;
    }
    fflush(stdout);
    pid_t pid = fork();
    if (pid < 0) {
        perror("kvkit-conformance: fork");
        return 1;
    }
    if (pid == 0) {
        close(fds[0]);
        kvkit_error_t err = {0};
        kvkit_store_t *s = kvkit_store_open(store_uri, &err);
        if (s == NULL) {
            ssize_t w = write(fds[1], err.text, strlen(err.text));
            _exit(w < 0 ? 2 : 1);
        }
        kvkit_store_close(s);
        _exit(0);
    }
    close(fds[1]);
    char msg[KVKIT_ERROR_TEXT_LENGTH + 1];
    ssize_t n = read(fds[0], msg, sizeof msg - 1);
    close(fds[0]);
    msg[n > 0 ? n : 0] = '\0';
    int status;
    if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        fprintf(stderr, "kvkit-conformance: %s\n", msg[0] ? msg : "the store could not be opened");
        return 1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    if (argc == 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        printf("usage: kvkit-conformance STORE\n"
               "Runs the kvkit backend conformance suite against STORE (e.g. memory:,\n"
               "leveldb:/tmp/db).  Plugins are found as by any kvkit program\n"
               "(KVKIT_PLUGIN_PATH, then %s).  Exit status 0 when every case passes.\n",
               kvkit_plugin_dir_default());
        return 0;
    }
    store_uri = argc > 1 ? argv[1] : getenv("KVKIT_CONFORMANCE_STORE");
    if (store_uri == NULL || argc > 2) {
        fprintf(stderr, "usage: kvkit-conformance STORE (or set KVKIT_CONFORMANCE_STORE)\n");
        return 2;
    }
    /* fail fast with the library's own message when the store cannot open.
     * The probe runs in a child: an engine may start threads on open
     * (LevelDB's compaction thread) that a fork would not carry into the
     * forked test cases, which then wait on them forever. */
    if (probe_store() != 0)
        return 1;
    snprintf(run_id, sizeof run_id, "conf%ld-%ld", (long)getpid(), (long)time(NULL));
    printf("kvkit-conformance: %s (run %s)\n", store_uri, run_id);
    SRunner *sr = srunner_create(conformance_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? 0 : 1;
}
