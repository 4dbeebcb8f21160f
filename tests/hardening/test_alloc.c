/*
 * test_alloc - fail the Nth allocation, for every N, along each public
 * operation, on a memory: and a leveldb: store (the SQLite / jansson
 * technique).  libkvkit's allocations go through kvkit_set_alloc_funcs and
 * jansson's through json_set_alloc_funcs; both are routed to one counter
 * here.  Plugins allocate with plain malloc (outside the hooks) by design:
 * a plugin never links libkvkit, so only libkvkit's and jansson's own
 * allocations are failed.
 *
 * For each operation and N = 1, 2, ... until the operation completes
 * without reaching its Nth allocation:
 *  - one-shot: only the Nth allocation fails; then persistent: every
 *    allocation from the Nth on fails (exercising the cleanup paths, which
 *    must not need memory to succeed);
 *  - the call returns KVKIT_OK or KVKIT_NOMEM (with a message), nothing
 *    crashes, nothing leaks (LeakSanitizer in the sanitizer build,
 *    valgrind in tests/hardening/valgrind.sh);
 *  - a failed write (save, batch, document save) leaves the store exactly
 *    as it was: a full dump (every key and value of the buckets used and
 *    every index entry) is compared before and after.
 * The number of failure points per operation is printed (the report's
 * "allocation-failure points exercised").
 */
#include <kvkit/backend.h> /* kvkit_backend_error for the in-process backends */
#include <kvkit/kvkit.h>

#include <check.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/*** the failing allocator ***/

static long n_allocs;    /* allocations seen while armed */
static long fail_at;     /* 0: never fail */
static bool persistent;  /* fail every allocation from fail_at on */
static bool armed;

static bool should_fail(void)
{
    if (!armed || fail_at == 0)
        return false;
    n_allocs++;
    return persistent ? n_allocs >= fail_at : n_allocs == fail_at;
}

static void *t_malloc(size_t n)
{
    return should_fail() ? NULL : malloc(n);
}

static void *t_realloc(void *p, size_t n)
{
    return should_fail() ? NULL : realloc(p, n);
}

static void arm(void) { armed = true; }
static void disarm(void) { armed = false; }

/*** context ***/

typedef struct ctx {
    const char *backend;
    char uri[600];      /* the store the operations work on */
    char open_uri[600]; /* a separate one for the open operation */
    char dir[256];
    kvkit_store_t *s;
    kvkit_schema_list_t *schemas;
    kvkit_index_set_t *set; /* prebuilt index entries for saves */
    kvkit_error_t err;
    long round; /* changes the saved values between rounds */
} ctx_t;

static ctx_t C;

static const char schema_desc[] =
    "{\"Person\": {\"bucket\": \"docs\", \"properties\": {"
    "  \"name\": {\"type\": \"string\", \"index\": true, \"required\": true},"
    "  \"age\": {\"type\": \"integer\", \"index\": true, \"default\": 30},"
    "  \"tags\": {\"type\": \"list\", \"index\": true},"
    "  \"role\": {\"type\": \"enum\", \"values\": [\"admin\", \"user\"], \"index\": true},"
    "  \"when\": {\"type\": \"datetime\", \"index\": true},"
    "  \"addr\": {\"type\": \"embedded\", \"schema\": {\"properties\": {"
    "      \"zip\": {\"type\": \"string\", \"required\": true}}}},"
    "  \"boss\": {\"type\": \"reference\", \"schema\": \"Person\", \"strict\": false}}}}";

/*** dumps: every key, value and index entry the tests touch ***/

typedef struct sbuf {
    char *p;
    size_t len, cap;
} sbuf_t;

static void sb_add(sbuf_t *b, const char *s, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        b->cap = (b->len + n + 1) * 2;
        b->p = realloc(b->p, b->cap);
        ck_assert_ptr_nonnull(b->p);
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

static int dump_key(void *ctx, const char *key, size_t len)
{
    sbuf_t *b = ctx;
    sb_add(b, " ", 1);
    sb_add(b, key, len);
    return 0;
}

static char *dump(void)
{
    static const char *const buckets[] = {"b", "docs"};
    sbuf_t b = {0};
    sb_add(&b, "", 0);
    for (size_t i = 0; i < 2; i++) {
        sbuf_t keys = {0};
        sb_add(&keys, "", 0);
        ck_assert_int_eq(kvkit_store_list_keys(C.s, buckets[i], NULL, NULL, dump_key, &keys,
                                               NULL), KVKIT_OK);
        char *save = NULL;
        for (char *k = strtok_r(keys.p, " ", &save); k; k = strtok_r(NULL, " ", &save)) {
            char *v = NULL;
            size_t vl = 0;
            ck_assert_int_eq(kvkit_store_get(C.s, buckets[i], k, &v, &vl, NULL), KVKIT_OK);
            sb_add(&b, buckets[i], strlen(buckets[i]));
            sb_add(&b, "/", 1);
            sb_add(&b, k, strlen(k));
            sb_add(&b, "=", 1);
            sb_add(&b, v, vl);
            sb_add(&b, "\n", 1);
            free(v);
        }
        free(keys.p);
    }
    static const struct {
        const char *bucket, *field;
        int strings;
    } idx[] = {{"b", "f", 0}, {"b", "t", 1}, {"docs", "name", 1}, {"docs", "age", 0},
               {"docs", "tags", 1}, {"docs", "tags", 0}, {"docs", "role", 1}};
    json_t *nlo = json_real(-1e300), *nhi = json_real(1e300);
    json_t *slo = json_string(""), *shi = json_string("\xf4\x8f\xbf\xbf");
    for (size_t i = 0; i < sizeof idx / sizeof idx[0]; i++) {
        sb_add(&b, idx[i].field, strlen(idx[i].field));
        sb_add(&b, ":", 1);
        ck_assert_int_eq(kvkit_store_index_keys(C.s, idx[i].bucket, idx[i].field,
                                                idx[i].strings ? slo : nlo,
                                                idx[i].strings ? shi : nhi, dump_key, &b, NULL),
                         KVKIT_OK);
        sb_add(&b, "\n", 1);
    }
    json_decref(nlo);
    json_decref(nhi);
    json_decref(slo);
    json_decref(shi);
    return b.p;
}

/*** the driver ***/


typedef int (*op_fn)(void);

/* Run op for every failure point; returns how many there were. */
static long exercise(const char *name, op_fn op, bool is_write)
{
    long points = 0;
    for (int mode = 0; mode < 2; mode++) {
        persistent = mode == 1;
        for (long n = 1;; n++) {
            char *before = is_write ? dump() : NULL;
            kvkit_error_clear(&C.err);
            n_allocs = 0;
            fail_at = n;
            C.round++;
            int rc = op();
            disarm();
            bool injected = n_allocs >= n;
            fail_at = 0;
            if (!injected) {
                ck_assert_msg(rc == KVKIT_OK, "%s on %s without failures: %s: %s", name,
                              C.backend, kvkit_status_name(rc), C.err.text);
                free(before);
                if (mode == 0)
                    points = n - 1;
                break;
            }
            ck_assert_msg(rc == KVKIT_OK || rc == KVKIT_NOMEM,
                          "%s on %s, %s allocation %ld failing: %s (%s)", name, C.backend,
                          persistent ? "every" : "only", n, kvkit_status_name(rc), C.err.text);
            if (rc == KVKIT_NOMEM)
                ck_assert_msg(C.err.code == KVKIT_NOMEM && C.err.text[0] != '\0',
                              "%s on %s: NOMEM without a report (%d: %s)", name, C.backend,
                              C.err.code, C.err.text);
            if (is_write && rc != KVKIT_OK) {
                char *after = dump();
                ck_assert_msg(strcmp(before, after) == 0,
                              "%s on %s: failed at allocation %ld but changed the store:\n"
                              "before:\n%s\nafter:\n%s", name, C.backend, n, before, after);
                free(after);
            }
            free(before);
            ck_assert_msg(n < 100000, "%s: no end in sight", name);
        }
    }
    printf("alloc points: %-8s %-16s %ld\n", C.backend, name, points);
    fflush(stdout);
    return points;
}

/*** operations (each arms the allocator around the call under test) ***/

static int op_open(void)
{
    arm();
    kvkit_store_t *s = kvkit_store_open(C.open_uri, &C.err);
    disarm();
    if (s == NULL)
        return C.err.code;
    kvkit_store_close(s);
    return KVKIT_OK;
}

static int op_close(void)
{
    kvkit_store_t *s = kvkit_store_open(C.open_uri, &C.err);
    ck_assert_msg(s != NULL, "open: %s", C.err.text);
    arm();
    kvkit_store_close(s);
    disarm();
    return KVKIT_OK;
}

static int op_index_set(void)
{
    json_t *nums = json_pack("[i, f, i, n]", 1, 2.5, 1), *strs = json_pack("[s, s]", "x", "y");
    arm();
    kvkit_index_set_t *set = kvkit_index_set_create();
    int rc = set ? KVKIT_OK : KVKIT_NOMEM;
    if (set == NULL)
        kvkit_backend_error(&C.err, KVKIT_NOMEM, "", "kvkit_index_set_create: no memory");
    if (rc == KVKIT_OK)
        rc = kvkit_index_set_add(set, "f", nums, &C.err);
    if (rc == KVKIT_OK)
        rc = kvkit_index_set_add(set, "t", strs, &C.err);
    if (rc == KVKIT_OK)
        ck_assert_int_eq(kvkit_index_set_size(set), 4);
    kvkit_index_set_destroy(set);
    disarm();
    json_decref(nums);
    json_decref(strs);
    return rc;
}

static int op_save(void)
{
    char value[64];
    int n = snprintf(value, sizeof value, "{\"round\": %ld}", C.round);
    arm();
    int rc = kvkit_store_save(C.s, "b", "k1", value, (size_t)n, C.set, &C.err);
    disarm();
    return rc;
}

static int op_get(void)
{
    char *v = NULL;
    size_t vl = 0;
    arm();
    int rc = kvkit_store_get(C.s, "b", "k0", &v, &vl, &C.err);
    disarm();
    if (rc == KVKIT_OK)
        ck_assert_str_eq(v, "{\"v\": 0}");
    free(v);
    return rc;
}

static int count_key(void *ctx, const char *key, size_t len)
{
    (void)key, (void)len;
    ++*(int *)ctx;
    return 0;
}

static int count_doc(void *ctx, const char *key, size_t kl, const char *v, size_t vl)
{
    (void)v, (void)vl;
    return count_key(ctx, key, kl);
}

/* k0..k9 have f = i (see setup), k1 also gets 1, 2.5 from C.set */
static int op_index_keys(void)
{
    json_t *lo = json_integer(0), *hi = json_integer(100);
    int n = 0;
    arm();
    int rc = kvkit_store_index_keys(C.s, "b", "f", lo, hi, count_key, &n, &C.err);
    disarm();
    if (rc == KVKIT_OK)
        ck_assert_int_eq(n, 10);
    json_decref(lo);
    json_decref(hi);
    return rc;
}

static int op_index_docs(void)
{
    json_t *lo = json_integer(3), *hi = json_real(7.5);
    int n = 0;
    arm();
    int rc = kvkit_store_index_docs(C.s, "b", "f", lo, hi, count_doc, &n, &C.err);
    disarm();
    if (rc == KVKIT_OK)
        ck_assert_int_eq(n, 5);
    json_decref(lo);
    json_decref(hi);
    return rc;
}

static int iterate(kvkit_iter_t *it, int want)
{
    if (it == NULL)
        return kvkit_backend_error(&C.err, KVKIT_NOMEM, "", "iterator: no memory");
    int n = 0;
    for (; kvkit_iter_valid(it); kvkit_iter_next(it))
        n++;
    int rc = kvkit_iter_status(it, &C.err);
    kvkit_iter_destroy(it);
    if (rc == KVKIT_OK)
        ck_assert_int_eq(n, want);
    return rc;
}

static int op_iter(void)
{
    json_t *lo = json_integer(0), *hi = json_integer(100);
    arm();
    int rc = iterate(kvkit_store_index_iter(C.s, "b", "f", lo, hi, 1), 10);
    if (rc == KVKIT_OK)
        rc = iterate(kvkit_store_keys_iter(C.s, "b", "k2", NULL, 1), 8);
    disarm();
    json_decref(lo);
    json_decref(hi);
    return rc;
}

static int op_batch(void)
{
    char value[64];
    int n = snprintf(value, sizeof value, "{\"batch\": %ld}", C.round);
    arm();
    kvkit_batch_t *b = kvkit_batch_create();
    int rc = b ? KVKIT_OK : kvkit_backend_error(&C.err, KVKIT_NOMEM, "", "batch: no memory");
    if (rc == KVKIT_OK)
        rc = kvkit_batch_save(b, "b", "k2", value, (size_t)n, C.set, &C.err);
    if (rc == KVKIT_OK)
        rc = kvkit_batch_save(b, "b", "kb", value, (size_t)n, NULL, &C.err);
    if (rc == KVKIT_OK)
        rc = kvkit_batch_delete(b, "b", "kb", &C.err);
    if (rc == KVKIT_OK)
        rc = kvkit_store_write(C.s, b, &C.err);
    kvkit_batch_destroy(b);
    disarm();
    return rc;
}

static int op_save_if(void)
{
    char *v = NULL;
    size_t vl = 0;
    uint64_t rev = 0, nrev = 0;
    ck_assert_int_eq(kvkit_store_get_rev(C.s, "b", "k3", &v, &vl, &rev, NULL), KVKIT_OK);
    free(v);
    v = NULL;
    char value[64];
    int n = snprintf(value, sizeof value, "{\"if\": %ld}", C.round);
    arm();
    int rc = kvkit_store_get_rev(C.s, "b", "k3", &v, &vl, &rev, &C.err);
    if (rc == KVKIT_OK)
        rc = kvkit_store_save_if(C.s, "b", "k3", value, (size_t)n, C.set, rev, &nrev, &C.err);
    disarm();
    free(v);
    if (rc == KVKIT_OK)
        ck_assert_uint_ne(nrev, rev);
    return rc;
}

static int op_list_keys(void)
{
    json_t *lo = json_string("k2"), *hi = json_string("k5");
    int n1 = 0, n2 = 0, n3 = 0;
    arm();
    int rc = kvkit_store_list_keys(C.s, "b", "k1", "k4", count_key, &n1, &C.err);
    if (rc == KVKIT_OK)
        rc = kvkit_store_index_keys(C.s, "b", "$key", lo, hi, count_key, &n2, &C.err);
    if (rc == KVKIT_OK)
        rc = kvkit_store_index_keys(C.s, "b", "$bucket", NULL, NULL, count_key, &n3, &C.err);
    disarm();
    if (rc == KVKIT_OK) {
        ck_assert_int_eq(n1, 4);
        ck_assert_int_eq(n2, 4);
        ck_assert_int_ge(n3, 10);
    }
    json_decref(lo);
    json_decref(hi);
    return rc;
}

static int op_schema_build(void)
{
    kvkit_schema_list_t *l = NULL;
    arm();
    int rc = kvkit_schema_list_load_string(schema_desc, C.s, &l, &C.err);
    if (rc == KVKIT_OK)
        ck_assert_int_eq(kvkit_schema_list_count(l), 1);
    kvkit_schema_list_destroy(l);
    disarm();
    return rc;
}

static kvkit_schema_t *person(void)
{
    return kvkit_schema_list_find(C.schemas, "Person");
}

static int op_doc_save(void)
{
    kvkit_doc_t *d = NULL;
    ck_assert_int_eq(kvkit_doc_new(person(), "d1", &d, NULL), KVKIT_OK);
    json_t *fields = json_pack("{s:s, s:I, s:[s,i], s:s, s:f, s:{s:s}, s:s}", "name", "bob",
                               "age", (json_int_t)C.round, "tags", "x", 3, "role", "admin",
                               "when", 1700000000.5, "addr", "zip", "12345", "boss", "d0");
    ck_assert_int_eq(kvkit_doc_merge(d, fields, 0, NULL), KVKIT_OK);
    json_decref(fields);
    arm();
    int rc = kvkit_doc_save(d, &C.err);
    disarm();
    kvkit_doc_destroy(d);
    return rc;
}

static int op_doc_get(void)
{
    kvkit_doc_t *d = NULL;
    arm();
    int rc = kvkit_doc_get(person(), "d0", &d, &C.err);
    if (rc == KVKIT_OK) {
        const char *name = NULL;
        ck_assert_int_eq(kvkit_doc_attr_get_string(d, "name", &name, NULL), KVKIT_OK);
        ck_assert_str_eq(name, "alice");
    }
    kvkit_doc_destroy(d);
    disarm();
    return rc;
}

static int op_doc_delete(void)
{
    kvkit_doc_t *d = NULL;
    ck_assert_int_eq(kvkit_doc_new(person(), "d2", &d, NULL), KVKIT_OK);
    ck_assert_int_eq(kvkit_doc_attr_set_string(d, "name", "carol", NULL), KVKIT_OK);
    ck_assert_int_eq(kvkit_doc_save(d, NULL), KVKIT_OK);
    arm();
    int rc = kvkit_doc_delete(d, &C.err);
    disarm();
    kvkit_doc_destroy(d);
    return rc;
}

static int op_schema_json(void)
{
    json_t *obj = json_pack("{s:s, s:i, s:[s], s:s, s:{s:s}}", "name", "x", "age", 3, "tags",
                            "t", "role", "user", "addr", "zip", "1"),
           *db = NULL, *back = NULL;
    arm();
    kvkit_index_set_t *set = kvkit_index_set_create();
    int rc = set ? kvkit_schema_validate(person(), obj, &C.err)
                 : kvkit_backend_error(&C.err, KVKIT_NOMEM, "", "index set: no memory");
    if (rc == KVKIT_OK)
        rc = kvkit_schema_prepare(person(), obj, &db, set, &C.err);
    if (rc == KVKIT_OK)
        rc = kvkit_schema_from_db(person(), db, &back, &C.err);
    /* the result's content under failures is test_regress_nomem's job
     * (jansson's json_copy drops members when it cannot allocate) */
    kvkit_index_set_destroy(set);
    json_decref(db);
    json_decref(back);
    disarm();
    json_decref(obj);
    return rc;
}

static int op_doc_serialize(void)
{
    kvkit_doc_t *d = NULL;
    ck_assert_int_eq(kvkit_doc_get(person(), "d0", &d, NULL), KVKIT_OK);
    json_t *js = NULL, *inv = NULL;
    arm();
    int rc = kvkit_doc_serialize(d, NULL, KVKIT_SERIALIZE_KEY, &js, &C.err);
    if (rc == KVKIT_OK)
        rc = kvkit_doc_deserialize(d, js, &C.err);
    if (rc == KVKIT_OK)
        rc = kvkit_doc_invalids(d, &inv, &C.err);
    disarm();
    json_decref(js);
    json_decref(inv);
    kvkit_doc_destroy(d);
    return rc;
}

static int count_doc_q(void *ctx, kvkit_doc_t *doc)
{
    (void)doc;
    ++*(int *)ctx;
    return 0;
}

static int op_doc_query_all(void)
{
    int n = 0;
    arm();
    int rc = kvkit_query_all_docs(person(), NULL, NULL, count_doc_q, &n, &C.err);
    disarm();
    if (rc == KVKIT_OK)
        ck_assert_int_ge(n, 1);
    return rc;
}

static int op_doc_query(void)
{
    json_t *lo = json_string("a"), *hi = json_string("z");
    kvkit_query_t *q = NULL;
    int n = 0;
    arm();
    int rc = kvkit_query_index(person(), "name", lo, hi, 0, &q, &C.err);
    if (rc == KVKIT_OK) {
        for (; kvkit_query_valid(q); kvkit_query_next(q))
            n++;
        rc = kvkit_query_status(q, &C.err);
        if (rc == KVKIT_OK)
            ck_assert_int_ge(n, 1);
    }
    kvkit_query_destroy(q);
    disarm();
    json_decref(lo);
    json_decref(hi);
    return rc;
}

/*** fixtures ***/

static void setup_backend(const char *backend)
{
    memset(&C, 0, sizeof C);
    C.backend = backend;
    if (strcmp(backend, "leveldb") == 0) {
        snprintf(C.dir, sizeof C.dir, "/tmp/kvkit-alloc-XXXXXX");
        ck_assert_ptr_nonnull(mkdtemp(C.dir));
        snprintf(C.uri, sizeof C.uri, "leveldb:%s/main?create_if_missing=true", C.dir);
        snprintf(C.open_uri, sizeof C.open_uri, "leveldb:%s/open?create_if_missing=true",
                 C.dir);
    } else {
        snprintf(C.uri, sizeof C.uri, "memory:");
        snprintf(C.open_uri, sizeof C.open_uri, "memory:");
    }
}

/* The store the data operations work on, with k0..k9 (f = i, t = "s<i>")
 * and document d0. */
static void open_main(void)
{
    C.s = kvkit_store_open(C.uri, &C.err);
    ck_assert_msg(C.s != NULL, "open %s: %s", C.uri, C.err.text);
    for (int i = 0; i < 10; i++) {
        char key[16], value[32], t[16];
        snprintf(key, sizeof key, "k%d", i);
        snprintf(value, sizeof value, "{\"v\": %d}", i);
        snprintf(t, sizeof t, "s%d", i);
        kvkit_index_set_t *set = kvkit_index_set_create();
        json_t *f = json_integer(i), *ts = json_string(t);
        ck_assert_int_eq(kvkit_index_set_add(set, "f", f, NULL), KVKIT_OK);
        ck_assert_int_eq(kvkit_index_set_add(set, "t", ts, NULL), KVKIT_OK);
        ck_assert_int_eq(kvkit_store_save(C.s, "b", key, value, strlen(value), set, NULL),
                         KVKIT_OK);
        json_decref(f);
        json_decref(ts);
        kvkit_index_set_destroy(set);
    }
    C.set = kvkit_index_set_create();
    json_t *f = json_pack("[i, f]", 1, 2.5), *t = json_string("saved");
    ck_assert_int_eq(kvkit_index_set_add(C.set, "f", f, NULL), KVKIT_OK);
    ck_assert_int_eq(kvkit_index_set_add(C.set, "t", t, NULL), KVKIT_OK);
    json_decref(f);
    json_decref(t);
    kvkit_error_clear(&C.err);
    ck_assert_int_eq(kvkit_schema_list_load_string(schema_desc, C.s, &C.schemas, &C.err),
                     KVKIT_OK);
    kvkit_doc_t *d = NULL;
    ck_assert_int_eq(kvkit_doc_new(person(), "d0", &d, NULL), KVKIT_OK);
    ck_assert_int_eq(kvkit_doc_attr_set_string(d, "name", "alice", NULL), KVKIT_OK);
    json_t *tags = json_pack("[s, s]", "a", "b");
    ck_assert_int_eq(kvkit_doc_attr_set(d, "tags", tags, NULL), KVKIT_OK);
    json_decref(tags);
    kvkit_error_clear(&C.err);
    ck_assert_msg(kvkit_doc_save(d, &C.err) == KVKIT_OK, "save d0: %s", C.err.text);
    kvkit_doc_destroy(d);
}

static void teardown_backend(void)
{
    kvkit_schema_list_destroy(C.schemas);
    kvkit_index_set_destroy(C.set);
    kvkit_store_close(C.s);
    if (C.dir[0]) {
        char cmd[400];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", C.dir);
        ck_assert_int_eq(system(cmd), 0);
    }
}

static void run_all(const char *backend)
{
    setup_backend(backend);
    /* before the main store exists, so the plugin is loaded and unloaded
     * on every round */
    exercise("open", op_open, false);
    exercise("close", op_close, false);
    open_main();
    exercise("index_set", op_index_set, false);
    exercise("save", op_save, true);
    exercise("get", op_get, false);
    exercise("index_keys", op_index_keys, false);
    exercise("index_docs", op_index_docs, false);
    exercise("iterate", op_iter, false);
    exercise("batch_write", op_batch, true);
    exercise("get_rev+save_if", op_save_if, true);
    exercise("list_keys", op_list_keys, false);
    exercise("schema_build", op_schema_build, false);
    exercise("doc_save", op_doc_save, true);
    exercise("doc_get", op_doc_get, false);
    exercise("doc_query", op_doc_query, false);
    exercise("doc_query_all", op_doc_query_all, false);
    exercise("doc_delete", op_doc_delete, true);
    exercise("schema_json", op_schema_json, false);
    exercise("doc_serialize", op_doc_serialize, false);
    teardown_backend();
}

START_TEST(test_alloc_failure_memory)
{
    run_all("memory");
}
END_TEST

START_TEST(test_alloc_failure_leveldb)
{
    run_all("leveldb");
}
END_TEST

int main(void)
{
    kvkit_set_alloc_funcs(t_malloc, t_realloc, free);
    json_set_alloc_funcs(t_malloc, free);
    Suite *s = suite_create("allocation failure");
    TCase *tc = tcase_create("every failure point");
    tcase_set_timeout(tc, 600);
    tcase_add_test(tc, test_alloc_failure_memory);
    tcase_add_test(tc, test_alloc_failure_leveldb);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
