/* helpers.c - assertion helpers of the conformance suite (conformance.h). */
#include "conformance.h"

#include <stdarg.h>

const char *store_uri;
char run_id[64];

/*** helpers ***/

kvkit_store_t *open_store(void)
{
    kvkit_error_t err = {0};
    kvkit_store_t *s = kvkit_store_open(store_uri, &err);
    ck_assert_msg(s != NULL, "open \"%s\": %s", store_uri, err.text);
    return s;
}

/* A bucket name unique to this run and case. */
const char *bucket(const char *name)
{
    static char buf[2][200];
    static int which;
    which ^= 1;
    snprintf(buf[which], sizeof buf[which], "%s-%s", run_id, name);
    return buf[which];
}

/* Save `doc` (JSON text) with index entries given as alternating field
 * name / JSON text pairs, NULL-terminated. */
void save(kvkit_store_t *s, const char *b, const char *key, const char *doc, ...)
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

char *get(kvkit_store_t *s, const char *b, const char *key, int *rc_out)
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

void expect_doc(kvkit_store_t *s, const char *b, const char *key, const char *want)
{
    int rc;
    char *v = get(s, b, key, &rc);
    ck_assert_msg(rc == KVKIT_OK, "get \"%s\": %s", key, kvkit_strerror(rc));
    ck_assert_str_eq(v, want);
    free(v);
}

void expect_absent(kvkit_store_t *s, const char *b, const char *key)
{
    int rc;
    char *v = get(s, b, key, &rc);
    ck_assert_msg(rc == KVKIT_NOTFOUND, "get \"%s\": expected NOTFOUND, got %s", key,
                  kvkit_status_name(rc));
    free(v);
}


int collect(void *ctx, const char *key, size_t len)
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
void sort_keys(keys_t *k)
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
keys_t *query(kvkit_store_t *s, const char *b, const char *field, const char *lo,
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
