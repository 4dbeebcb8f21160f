/* cases_icursor.c - index cursors (index_cursor_open, _next, _close; ABI
 * 1.3, kvkit-backend(7)).  libkvkit reads the indexes through them when a
 * backend exports them: zigzag joins seek within one index value and
 * across values, merges step, range and prefix scans step and resume from
 * a position.  Through compound queries whose plans do each of those, on
 * documents with several values per field and keys that are prefixes of
 * each other ("k1", "k10", "k100"), a backend's cursors must give the
 * answer a brute-force filter gives, whole and page by page.  A backend
 * without them is skipped here, saying so: its queries page with
 * index_lookup, which cases_query.c holds to the same answers. */
#include "conformance.h"

#include <kvkit/query.h>

#include <stdbool.h>

#define N_DOCS 200

/* Document i: t its tags, n its numbers, u always "x". */
static int tags(int i, int out[3])
{
    int n = 0, cand[3] = {i % 5, (i * 7 + 1) % 5, (i / 3) % 5};
    for (int j = 0; j < 3; j++) {
        bool dup = false;
        for (int k = 0; k < n; k++)
            dup = dup || out[k] == cand[j];
        if (!dup)
            out[n++] = cand[j];
    }
    return n;
}

static double num(int i, int j)
{
    return j == 0 ? (double)(i % 17) : (i % 11) + 0.5;
}

static bool has_tag(int i, int t)
{
    int ts[3], n = tags(i, ts);
    for (int j = 0; j < n; j++)
        if (ts[j] == t)
            return true;
    return false;
}

static bool has_num(int i, double lo, bool lo_excl, double hi, bool hi_excl)
{
    for (int j = 0; j < 2; j++) {
        double v = num(i, j);
        if ((lo_excl ? v > lo : v >= lo) && (hi_excl ? v < hi : v <= hi))
            return true;
    }
    return false;
}

static const char *const queries[] = {
    "t = \"t1\" and t = \"t3\"",
    "u = \"x\" and t = \"t4\" and n = 3",
    "t in (\"t0\", \"t2\") or n = 5",
    "t starts with \"t\"",
    "n >= 2.5 and n <= 7",
    "n > 3 and n < 9 and t = \"t2\"",
};

static bool matches(size_t q, int i)
{
    switch (q) {
    case 0:
        return has_tag(i, 1) && has_tag(i, 3);
    case 1:
        return has_tag(i, 4) && has_num(i, 3, false, 3, false);
    case 2:
        return has_tag(i, 0) || has_tag(i, 2) || has_num(i, 5, false, 5, false);
    case 3:
        return true;
    case 4: /* each predicate on its own: some value >= 2.5, some <= 7 */
        return has_num(i, 2.5, false, 1e9, false) && has_num(i, -1e9, false, 7, false);
    default:
        return has_num(i, 3, true, 1e9, false) && has_num(i, -1e9, false, 9, true) &&
               has_tag(i, 2);
    }
}

static void fill(kvkit_store_t *s, const char *b)
{
    for (int i = 0; i < N_DOCS; i++) {
        char key[16], t[64] = "[", n[64], doc[192];
        int ts[3], nt = tags(i, ts);
        for (int j = 0; j < nt; j++)
            snprintf(t + strlen(t), sizeof t - strlen(t), "%s\"t%d\"", j ? "," : "", ts[j]);
        strcat(t, "]");
        snprintf(n, sizeof n, "[%d,%.1f]", (int)num(i, 0), num(i, 1));
        snprintf(key, sizeof key, "k%d", i);
        snprintf(doc, sizeof doc, "{\"t\":%s,\"n\":%s,\"u\":\"x\"}", t, n);
        save(s, b, key, doc, "t", t, "n", n, "u", "\"x\"", NULL);
    }
}

static int collect_q(void *ctx, const char *key, size_t len, const char *value, size_t vlen)
{
    (void)value, (void)vlen;
    keys_t *k = ctx;
    ck_assert_uint_eq(strlen(key), len); /* NUL-terminated at its length */
    snprintf(k->text + strlen(k->text), sizeof k->text - strlen(k->text), "%s%.*s",
             k->n ? "," : "", (int)len, key);
    k->n++;
    return 0;
}

/* The query's keys, sorted; pages of `page` (0: one run) resumed by cursor. */
static void run_query(kvkit_store_t *s, const char *b, const char *text, size_t page, keys_t *out)
{
    kvkit_error_t err = {0};
    kvkit_qexpr_t *q = NULL;
    ck_assert_msg(kvkit_query_parse(text, &q, &err) == KVKIT_OK, "%s: %s", text, err.text);
    memset(out, 0, sizeof *out);
    char *cursor = NULL;
    size_t runs = 0;
    do {
        char *next = NULL;
        int rc = kvkit_query_exec(s, b, q, 0, page, cursor, &next, collect_q, out, &err);
        ck_assert_msg(rc == KVKIT_OK, "%s: %s", text, err.text);
        free(cursor);
        cursor = next;
        ck_assert_msg(++runs <= N_DOCS + 1, "%s: paging does not end", text);
    } while (cursor != NULL);
    kvkit_query_free(q);
    sort_keys(out);
}

START_TEST(test_index_cursor_queries)
{
    kvkit_store_t *s = open_store();
    if (!kvkit_store_supports(s, "index_cursor_open")) {
        const char *req = getenv("KVKIT_CONFORMANCE_REQUIRE");
        ck_assert_msg(req == NULL || strstr(req, "index_cursor") == NULL,
                      "KVKIT_CONFORMANCE_REQUIRE=%s, but the backend has no index_cursor_open",
                      req);
        fprintf(stderr, "conformance: index cursor case skipped: the backend does not export "
                        "index_cursor_open (optional, ABI 1.3); its queries use index_lookup\n");
        kvkit_store_close(s);
        return;
    }
    ck_assert(kvkit_store_supports(s, "index_cursor_next"));
    ck_assert(kvkit_store_supports(s, "index_cursor_close"));
    const char *b = bucket("icursor");
    fill(s, b);
    static keys_t want, whole, paged;
    for (size_t q = 0; q < sizeof queries / sizeof queries[0]; q++) {
        memset(&want, 0, sizeof want);
        for (int i = 0; i < N_DOCS; i++)
            if (matches(q, i))
                snprintf(want.text + strlen(want.text), sizeof want.text - strlen(want.text),
                         "%sk%d", want.n++ ? "," : "", i);
        sort_keys(&want);
        ck_assert_msg(want.n > 0, "%s: the data should match some documents", queries[q]);
        run_query(s, b, queries[q], 0, &whole);
        ck_assert_msg(strcmp(whole.text, want.text) == 0, "%s:\n got  %s\n want %s", queries[q],
                      whole.text, want.text);
        run_query(s, b, queries[q], 3, &paged);
        ck_assert_msg(strcmp(paged.text, want.text) == 0, "%s, pages of 3:\n got  %s\n want %s",
                      queries[q], paged.text, want.text);
    }
    kvkit_store_close(s);
}
END_TEST

TCase *conformance_icursor_cases(void)
{
    TCase *tc = tcase_create("icursor");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_index_cursor_queries);
    return tc;
}
