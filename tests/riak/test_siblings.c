/*
 * test_siblings.c - riak: concurrent blind writes to an allow_mult bucket
 * make siblings; a get reports them (CONFLICT, every value in the message)
 * or resolves them (siblings=newest); saving a merged value after the
 * CONFLICT resolves them for good.
 */
#include "riaktest.h"

#include <dlfcn.h>
#include <kvkit/backend.h> /* kvkit_backend_error for the resolvers */

static long raw_get(const char *path, char **body)
{
    const char *h[] = {"Accept: multipart/mixed, */*;q=0.5", NULL};
    return emu_http(&E, "GET", path, NULL, h, body);
}

/* Two clients that never read the key write it: two siblings. */
static void make_siblings(const char *bucket, const char *key)
{
    emu_allow_mult(&E, bucket);
    kvkit_store_t *a = open_store("");
    kvkit_store_t *b = open_store("");
    save_str(a, bucket, key, "{\"v\":\"from-a\"}", NULL);
    save_str(b, bucket, key, "{\"v\":\"from-b\"}", NULL);
    kvkit_store_close(a);
    kvkit_store_close(b);
    char path[256];
    snprintf(path, sizeof path, "/buckets/%s/keys/%s", bucket, key);
    ck_assert_int_eq(raw_get(path, NULL), 300);
}

START_TEST(test_get_siblings_conflict)
{
    make_siblings("sib", "k1");
    kvkit_store_t *s = open_store("");
    kvkit_error_t err = {0};
    char *v = NULL;
    size_t n;
    ck_assert_int_eq(kvkit_store_get(s, "sib", "k1", &v, &n, &err), KVKIT_CONFLICT);
    ck_assert_ptr_null(v);
    ck_assert_str_eq(err.subject, "k1");
    ck_assert_ptr_nonnull(strstr(err.text, "\"sib/k1\" has 2 siblings"));
    ck_assert_ptr_nonnull(strstr(err.text, "{\"v\":\"from-a\"}"));
    ck_assert_ptr_nonnull(strstr(err.text, "{\"v\":\"from-b\"}"));
    kvkit_store_close(s);
}
END_TEST

START_TEST(test_get_siblings_resolved_by_merged_save)
{
    make_siblings("sib", "k2");
    kvkit_store_t *s = open_store("");
    kvkit_error_t err = {0};
    char *v = NULL;
    size_t n;
    ck_assert_int_eq(kvkit_store_get(s, "sib", "k2", &v, &n, &err), KVKIT_CONFLICT);
    /* the application merges what the message showed and saves: the save
     * carries the siblings' vclock and replaces both */
    kvkit_index_set_t *ix = kvkit_index_set_create();
    json_t *tag = json_string("merged");
    ck_assert_int_eq(kvkit_index_set_add(ix, "tag", tag, &err), KVKIT_OK);
    json_decref(tag);
    save_str(s, "sib", "k2", "{\"v\":[\"from-a\",\"from-b\"]}", ix);
    kvkit_index_set_destroy(ix);
    char *body = NULL;
    ck_assert_int_eq(raw_get("/buckets/sib/keys/k2", &body), 200);
    ck_assert_str_eq(body, "{\"v\":[\"from-a\",\"from-b\"]}");
    free(body);
    /* a fresh client sees a clean object */
    kvkit_store_t *t = open_store("");
    v = get_str(t, "sib", "k2");
    ck_assert_str_eq(v, "{\"v\":[\"from-a\",\"from-b\"]}");
    free(v);
    kvkit_store_close(t);
    kvkit_store_close(s);
}
END_TEST

START_TEST(test_get_siblings_newest_resolver)
{
    make_siblings("sib", "k3");
    kvkit_store_t *s = open_store("?siblings=newest");
    char *v = get_str(s, "sib", "k3");
    ck_assert_str_eq(v, "{\"v\":\"from-b\"}"); /* the later write */
    free(v);
    /* written back with the vclock: the next get (by anyone) is clean */
    char *body = NULL;
    ck_assert_int_eq(raw_get("/buckets/sib/keys/k3", &body), 200);
    ck_assert_str_eq(body, "{\"v\":\"from-b\"}");
    free(body);
    kvkit_store_t *t = open_store("");
    v = get_str(t, "sib", "k3");
    ck_assert_str_eq(v, "{\"v\":\"from-b\"}");
    free(v);
    kvkit_store_close(t);
    kvkit_store_close(s);
}
END_TEST

START_TEST(test_get_siblings_newest_keeps_index)
{
    emu_allow_mult(&E, "sib");
    kvkit_store_t *a = open_store("");
    kvkit_store_t *b = open_store("");
    kvkit_error_t err = {0};
    kvkit_index_set_t *ix = kvkit_index_set_create();
    json_t *n = json_integer(42);
    ck_assert_int_eq(kvkit_index_set_add(ix, "n", n, &err), KVKIT_OK);
    json_decref(n);
    save_str(a, "sib", "k4", "{\"n\":1}", NULL);
    save_str(b, "sib", "k4", "{\"n\":42}", ix);
    kvkit_index_set_destroy(ix);
    kvkit_store_t *s = open_store("?siblings=newest");
    char *v = get_str(s, "sib", "k4");
    ck_assert_str_eq(v, "{\"n\":42}");
    free(v);
    /* the written-back value kept its index entry */
    char *body = NULL;
    ck_assert_int_eq(emu_http(&E, "GET", "/buckets/sib/index/n_int/42", NULL, NULL, &body), 200);
    ck_assert_ptr_nonnull(strstr(body, "\"k4\""));
    free(body);
    kvkit_store_close(s);
    kvkit_store_close(a);
    kvkit_store_close(b);
}
END_TEST

static int count_doc(void *ctx, const char *key, size_t key_len, const char *value,
                     size_t value_len)
{
    (*(int *)ctx)++;
    return 0;
}

START_TEST(test_index_docs_siblings_conflict)
{
    emu_allow_mult(&E, "sib");
    kvkit_store_t *a = open_store("");
    kvkit_store_t *b = open_store("");
    kvkit_error_t err = {0};
    kvkit_index_set_t *ix = kvkit_index_set_create();
    json_t *tag = json_string("x");
    ck_assert_int_eq(kvkit_index_set_add(ix, "tag", tag, &err), KVKIT_OK);
    save_str(a, "sib", "k5", "{\"w\":\"a\"}", ix);
    save_str(b, "sib", "k5", "{\"w\":\"b\"}", ix);
    kvkit_index_set_destroy(ix);
    int docs = 0;
    ck_assert_int_eq(kvkit_store_index_docs(a, "sib", "tag", tag, NULL, count_doc, &docs, &err),
                     KVKIT_CONFLICT);
    ck_assert_int_eq(docs, 0);
    ck_assert_ptr_nonnull(strstr(err.text, "\"sib/k5\" has 2 siblings"));
    ck_assert_ptr_nonnull(strstr(err.text, "{\"w\":\"b\"}"));
    json_decref(tag);
    kvkit_store_close(a);
    kvkit_store_close(b);
}
END_TEST

/*** the resolver path at the plugin ABI ***/

/* What libkvkit does with an application resolver (get_siblings, ABI 1.1):
 * read every sibling,
 * merge them, save the merged value (its save carries the siblings'
 * vclock), after which the key reads clean. */
typedef kvkit_backend_value_fn value_fn;

static int merge_sibling(void *ctx, const char *value, size_t len)
{
    char *m = ctx;
    strcat(m, m[1] ? "," : "");
    strncat(m, value, len);
    return 0;
}

START_TEST(test_get_siblings_resolver_merges)
{
    make_siblings("sib", "k6");
    void *so = dlopen(RIAK_PLUGIN, RTLD_NOW | RTLD_LOCAL);
    ck_assert_msg(so != NULL, "%s", dlerror());
    kvkit_backend_open_fn op = (kvkit_backend_open_fn)dlsym(so, "riak_LTX_kvkit_backend_open");
    kvkit_backend_close_fn cl = (kvkit_backend_close_fn)dlsym(so, "riak_LTX_kvkit_backend_close");
    kvkit_backend_get_fn get = (kvkit_backend_get_fn)dlsym(so, "riak_LTX_kvkit_backend_get");
    kvkit_backend_save_fn save = (kvkit_backend_save_fn)dlsym(so, "riak_LTX_kvkit_backend_save");
    int (*siblings)(void *, const char *, const char *, value_fn, void *, kvkit_error_t *) =
        (int (*)(void *, const char *, const char *, value_fn, void *, kvkit_error_t *))dlsym(
            so, "riak_LTX_kvkit_backend_get_siblings");
    ck_assert(op && cl && get && save && siblings);
    void *h = NULL;
    kvkit_error_t err = {0};
    ck_assert_int_eq(op(E.base, NULL, 0, &h, &err), KVKIT_OK);
    char merged[256] = "[";
    ck_assert_int_eq(siblings(h, "sib", "k6", merge_sibling, merged, &err), KVKIT_OK);
    strcat(merged, "]");
    ck_assert_str_eq(merged, "[{\"v\":\"from-a\"},{\"v\":\"from-b\"}]");
    ck_assert_int_eq(save(h, "sib", "k6", merged, strlen(merged), NULL, 0, &err), KVKIT_OK);
    char *v = NULL;
    size_t n = 0;
    ck_assert_int_eq(get(h, "sib", "k6", &v, &n, &err), KVKIT_OK);
    ck_assert_str_eq(v, merged);
    free(v);
    ck_assert_int_eq(raw_get("/buckets/sib/keys/k6", NULL), 200);
    /* a key without siblings: one value; a missing key: NOTFOUND */
    char one[256] = "[";
    ck_assert_int_eq(siblings(h, "sib", "k6", merge_sibling, one, &err), KVKIT_OK);
    ck_assert_str_eq(one + 1, merged);
    ck_assert_int_eq(siblings(h, "sib", "none", merge_sibling, one, &err), KVKIT_NOTFOUND);
    cl(h);
    dlclose(so);
}
END_TEST

/*** an application resolver set on the store (kvkit_store_set_resolver) ***/

typedef struct resolver_ctx {
    int calls;
    int fail; /* return this status instead of merging */
} resolver_ctx_t;

/* Merge {"v": X} siblings into {"v": [X, ...]} and index it as tag=merged. */
static int merge_resolver(void *vctx, const char *bucket, const char *key,
                          const kvkit_sibling_t *sib, size_t n, char **merged,
                          size_t *merged_len, kvkit_index_set_t *index, kvkit_error_t *err)
{
    resolver_ctx_t *ctx = vctx;
    ctx->calls++;
    if (ctx->fail)
        return kvkit_backend_error(err, ctx->fail, key, "cannot merge \"%s\"", key);
    ck_assert_uint_eq(n, 2);
    json_t *vals = json_array();
    for (size_t i = 0; i < n; i++) {
        json_t *d = json_loadb(sib[i].value, sib[i].value_len, 0, NULL);
        ck_assert_ptr_nonnull(d);
        json_array_append(vals, json_object_get(d, "v"));
        json_decref(d);
    }
    json_t *doc = json_pack("{s:o}", "v", vals);
    *merged = json_dumps(doc, JSON_COMPACT);
    *merged_len = strlen(*merged);
    json_decref(doc);
    json_t *tag = json_string("merged");
    int rc = kvkit_index_set_add(index, "tag", tag, err);
    json_decref(tag);
    return rc;
}

static int collect_one(void *ctx, const char *key, size_t len)
{
    snprintf(ctx, 64, "%s", key);
    return 0;
}

START_TEST(test_store_resolver_merges_and_saves)
{
    make_siblings("sib", "k7");
    kvkit_store_t *s = open_store("");
    resolver_ctx_t rc = {0};
    kvkit_store_set_resolver(s, merge_resolver, &rc);
    ck_assert_int_eq(kvkit_store_supports(s, "get_siblings"), 1);
    char *v = get_str(s, "sib", "k7");
    ck_assert_str_eq(v, "{\"v\":[\"from-a\",\"from-b\"]}");
    free(v);
    ck_assert_int_eq(rc.calls, 1);
    /* saved: the object is clean for everyone, with the merged index entry */
    char *body = NULL;
    ck_assert_int_eq(raw_get("/buckets/sib/keys/k7", &body), 200);
    ck_assert_str_eq(body, "{\"v\":[\"from-a\",\"from-b\"]}");
    free(body);
    v = get_str(s, "sib", "k7");
    free(v);
    ck_assert_int_eq(rc.calls, 1); /* no siblings left to resolve */
    char found[64] = "";
    kvkit_error_t err = {0};
    json_t *tag = json_string("merged");
    ck_assert_int_eq(kvkit_store_index_keys(s, "sib", "tag", tag, NULL, collect_one, found, &err),
                     KVKIT_OK);
    ck_assert_str_eq(found, "k7");
    json_decref(tag);
    kvkit_store_close(s);
}
END_TEST

START_TEST(test_store_resolver_failure_keeps_siblings)
{
    make_siblings("sib", "k8");
    kvkit_store_t *s = open_store("");
    resolver_ctx_t rc = {.fail = KVKIT_VALIDATION};
    kvkit_store_set_resolver(s, merge_resolver, &rc);
    kvkit_error_t err = {0};
    char *v = NULL;
    size_t n;
    ck_assert_int_eq(kvkit_store_get(s, "sib", "k8", &v, &n, &err), KVKIT_VALIDATION);
    ck_assert_str_eq(err.text, "cannot merge \"k8\"");
    ck_assert_ptr_null(v);
    ck_assert_int_eq(raw_get("/buckets/sib/keys/k8", NULL), 300); /* untouched */
    /* removing the resolver: back to CONFLICT */
    kvkit_store_set_resolver(s, NULL, NULL);
    kvkit_error_clear(&err);
    ck_assert_int_eq(kvkit_store_get(s, "sib", "k8", &v, &n, &err), KVKIT_CONFLICT);
    kvkit_store_close(s);
}
END_TEST

START_TEST(test_store_resolver_index_docs)
{
    emu_allow_mult(&E, "sib");
    kvkit_store_t *a = open_store(""), *b = open_store("");
    kvkit_error_t err = {0};
    kvkit_index_set_t *ix = kvkit_index_set_create();
    json_t *tag = json_string("y");
    ck_assert_int_eq(kvkit_index_set_add(ix, "tag", tag, &err), KVKIT_OK);
    save_str(a, "sib", "k9", "{\"v\":\"a\"}", ix);
    save_str(b, "sib", "k9", "{\"v\":\"b\"}", ix);
    kvkit_index_set_destroy(ix);
    resolver_ctx_t rc = {0};
    kvkit_store_set_resolver(a, merge_resolver, &rc);
    int docs = 0;
    /* the document query resolves instead of failing with CONFLICT */
    ck_assert_int_eq(kvkit_store_index_docs(a, "sib", "tag", tag, NULL, count_doc, &docs, &err),
                     KVKIT_OK);
    ck_assert_int_eq(docs, 1);
    ck_assert_int_eq(rc.calls, 1);
    json_decref(tag);
    kvkit_store_close(a);
    kvkit_store_close(b);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("riak siblings");
    TCase *tc = emu_tcase("siblings");
    tcase_add_test(tc, test_get_siblings_conflict);
    tcase_add_test(tc, test_get_siblings_resolved_by_merged_save);
    tcase_add_test(tc, test_get_siblings_newest_resolver);
    tcase_add_test(tc, test_get_siblings_newest_keeps_index);
    tcase_add_test(tc, test_index_docs_siblings_conflict);
    tcase_add_test(tc, test_get_siblings_resolver_merges);
    tcase_add_test(tc, test_store_resolver_merges_and_saves);
    tcase_add_test(tc, test_store_resolver_failure_keeps_siblings);
    tcase_add_test(tc, test_store_resolver_index_docs);
    suite_add_tcase(s, tc);
    return run_suite(s);
}
