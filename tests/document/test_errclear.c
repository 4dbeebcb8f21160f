/*
 * test_errclear.c - the rule of kvkit_errors(3): a call that returns
 * KVKIT_OK leaves its error report untouched, and so does KVKIT_NOTFOUND
 * where it is an outcome (no message).  A message left behind by a call that
 * succeeded would be reported by the next real failure instead of its own,
 * since the first error wins.  One report is reused across a sweep of the
 * public API on the memory backend, success paths only, with emphasis on
 * paths where a lower layer answers "not found" and the call carries on.
 */
#include "helpers.h"

#include <kvkit/query.h>

#include <stdlib.h>

/* The report every call of a test shares. */
static kvkit_error_t err;

#define ASSERT_CLEAN(what)                                                                         \
    ck_assert_msg(err.code == KVKIT_OK && err.subject[0] == '\0' && err.text[0] == '\0',           \
                  "%s left the report filled: %s [%s] %s", what, kvkit_status_name(err.code),      \
                  err.subject, err.text)

/* `call` must succeed and leave err as it found it (clean). */
#define CLEAN(call)                                                                                \
    do {                                                                                           \
        int rc_ = (call);                                                                          \
        ck_assert_msg(rc_ == KVKIT_OK, "%s -> %s: %s", #call, kvkit_status_name(rc_), err.text);   \
        ASSERT_CLEAN(#call);                                                                       \
    } while (0)

/* `call` must answer the outcome `want` (NOTFOUND) without a message. */
#define OUTCOME(want, call)                                                                        \
    do {                                                                                           \
        int rc_ = (call);                                                                          \
        ck_assert_msg(rc_ == (want), "%s -> %s, want %s: %s", #call, kvkit_status_name(rc_),       \
                      kvkit_status_name(want), err.text);                                          \
        ASSERT_CLEAN(#call);                                                                       \
    } while (0)

/* Whatever `call` answers, KVKIT_OK means a clean report; a failure is
 * cleared for the next call. */
#define RULE(call)                                                                                 \
    do {                                                                                           \
        int rc_ = (call);                                                                          \
        if (rc_ == KVKIT_OK)                                                                       \
            ASSERT_CLEAN(#call);                                                                   \
        kvkit_error_clear(&err);                                                                   \
    } while (0)

static kvkit_store_t *store;
static kvkit_schema_t *user, *post, *note;

/* User (name indexed), Post (title indexed, strict eager author, lenient
 * eager editor, lazy reviewer), Note (strict schema, enum, password). */
static void setup(void)
{
    static const char *const colors[] = {"red", "green"};
    kvkit_error_clear(&err);
    store = mem_store();
    CLEAN(kvkit_schema_create("User", NULL, store, &user, &err));
    CLEAN(kvkit_schema_add(user, "name", KVKIT_PROP_STRING, KVKIT_PROP_INDEX, NULL, &err));
    CLEAN(kvkit_schema_create("Post", NULL, store, &post, &err));
    CLEAN(kvkit_schema_add(post, "title", KVKIT_PROP_STRING, KVKIT_PROP_INDEX, NULL, &err));
    CLEAN(kvkit_schema_add_ref(post, "author", user, KVKIT_PROP_INDEX, NULL, &err));
    CLEAN(kvkit_schema_add_ref(post, "editor", user, KVKIT_PROP_LENIENT, NULL, &err));
    CLEAN(kvkit_schema_add_ref(post, "reviewer", user, KVKIT_PROP_LOAD_ON_DEMAND | KVKIT_PROP_LENIENT,
                               NULL, &err));
    CLEAN(kvkit_schema_create("Note", NULL, store, &note, &err));
    kvkit_schema_set_strict(note, 1);
    CLEAN(kvkit_schema_add_enum(note, "color", colors, 2, KVKIT_PROP_INDEX, NULL, &err));
    CLEAN(kvkit_schema_add(note, "pw", KVKIT_PROP_PASSWORD, 0, NULL, &err));
    CLEAN(kvkit_schema_add(note, "n", KVKIT_PROP_INTEGER, KVKIT_PROP_INDEX, NULL, &err));
}

static void teardown(void)
{
    kvkit_schema_destroy(note);
    kvkit_schema_destroy(post);
    kvkit_schema_destroy(user);
    kvkit_store_close(store);
}

static json_t *dflt(void *ctx)
{
    (void)ctx;
    return json_integer(7);
}

static int positive(void *ctx, const json_t *v)
{
    (void)ctx;
    return json_is_integer(v) && json_integer_value(v) > 0;
}

static int count_key(void *ctx, const char *key, size_t len)
{
    (void)key, (void)len;
    (*(int *)ctx)++;
    return 0;
}

static int count_doc(void *ctx, kvkit_doc_t *doc)
{
    (void)doc;
    (*(int *)ctx)++;
    return 0;
}

static int stop_doc(void *ctx, kvkit_doc_t *doc)
{
    (void)ctx, (void)doc;
    return 1;
}

static int count_raw(void *ctx, const char *key, size_t key_len, const char *value,
                     size_t value_len)
{
    (void)key, (void)key_len, (void)value, (void)value_len;
    (*(int *)ctx)++;
    return 0;
}

static int count_backend(void *ctx, const kvkit_backend_info_t *info)
{
    (void)info;
    (*(int *)ctx)++;
    return 0;
}

/*** process-wide calls, raw store, index sets, batches, iterators ***/

START_TEST(test_errclear_store_layer)
{
    int n = 0;
    CLEAN(kvkit_plugin_dir_add("/nonexistent/kvkit-errclear", &err));
    CLEAN(kvkit_backends_list(count_backend, &n, &err)); /* a missing directory is skipped */
    ck_assert_int_gt(n, 0);
    kvkit_plugin_dirs_clear();
    kvkit_store_t *st = kvkit_store_open("memory:errclear", &err);
    ck_assert_ptr_nonnull(st);
    ASSERT_CLEAN("kvkit_store_open");
    if (kvkit_store_supports(st, "compact"))
        CLEAN(kvkit_store_compact(st, &err));

    /* index sets */
    kvkit_index_set_t *set = kvkit_index_set_create();
    json_t *list = json_pack("[s,i,n,f]", "a", 1, 2.5);
    CLEAN(kvkit_index_set_add(set, "tags", list, &err));
    json_decref(list);
    json_t *one = json_string("x");
    unsigned char *enc;
    size_t enc_len;
    CLEAN(kvkit_index_encode(one, &enc, &enc_len, &err));
    json_t *back;
    CLEAN(kvkit_index_decode(enc, enc_len, &back, &err));
    ck_assert(json_equal(back, one));
    free(enc);
    json_decref(back);

    /* raw get / save / delete; absent keys are outcomes */
    char *value;
    size_t len;
    uint64_t rev, rev2;
    OUTCOME(KVKIT_NOTFOUND, kvkit_store_get(st, "b", "absent", &value, &len, &err));
    OUTCOME(KVKIT_NOTFOUND, kvkit_store_get_rev(st, "b", "absent", &value, &len, &rev, &err));
    CLEAN(kvkit_store_delete(st, "b", "absent", &err));
    CLEAN(kvkit_store_save(st, "b", "k1", "{}", 2, set, &err));
    CLEAN(kvkit_store_get(st, "b", "k1", &value, &len, &err));
    free(value);
    CLEAN(kvkit_store_get_rev(st, "b", "k1", &value, &len, &rev, &err));
    free(value);
    CLEAN(kvkit_store_save_if(st, "b", "k1", "{}", 2, set, rev, &rev2, &err));
    CLEAN(kvkit_store_save_if(st, "b", "k2", "{}", 2, NULL, 0, NULL, &err));

    /* queries with and without results */
    n = 0;
    CLEAN(kvkit_store_index_keys(st, "b", "tags", one, NULL, count_key, &n, &err));
    ck_assert_int_eq(n, 0);
    json_t *a = json_string("a");
    CLEAN(kvkit_store_index_keys(st, "b", "tags", a, NULL, count_key, &n, &err));
    ck_assert_int_eq(n, 1);
    n = 0;
    CLEAN(kvkit_store_index_docs(st, "b", "tags", a, NULL, count_raw, &n, &err));
    CLEAN(kvkit_store_index_docs(st, "b", "tags", one, NULL, count_raw, &n, &err));
    ck_assert_int_eq(n, 1);
    n = 0;
    CLEAN(kvkit_store_list_keys(st, "b", NULL, NULL, count_key, &n, &err));
    CLEAN(kvkit_store_list_keys(st, "empty", NULL, NULL, count_key, &n, &err));
    ck_assert_int_eq(n, 2);
    CLEAN(kvkit_store_index_keys(st, "b", "$bucket", NULL, NULL, count_key, &n, &err));

    /* iterators that run to their end, and one that finds nothing */
    for (int docs = 0; docs <= 1; docs++) {
        kvkit_iter_t *it = kvkit_store_index_iter(st, "b", "tags", a, NULL, docs);
        for (n = 0; kvkit_iter_valid(it); kvkit_iter_next(it))
            n++;
        ck_assert_int_eq(n, 1);
        CLEAN(kvkit_iter_status(it, &err));
        kvkit_iter_destroy(it);
        it = kvkit_store_keys_iter(st, "b", "k0", "k9", docs);
        for (n = 0; kvkit_iter_valid(it); kvkit_iter_next(it))
            n++;
        ck_assert_int_eq(n, 2);
        CLEAN(kvkit_iter_status(it, &err));
        kvkit_iter_destroy(it);
        it = kvkit_store_keys_iter(st, "nothing", NULL, NULL, docs);
        ck_assert_int_eq(kvkit_iter_valid(it), 0);
        CLEAN(kvkit_iter_status(it, &err));
        kvkit_iter_destroy(it);
    }

    /* batches, deleting a key that is not there among them */
    kvkit_batch_t *batch = kvkit_batch_create();
    CLEAN(kvkit_batch_save(batch, "b", "k3", "{}", 2, set, &err));
    CLEAN(kvkit_batch_delete(batch, "b", "k2", &err));
    CLEAN(kvkit_batch_delete(batch, "b", "never", &err));
    CLEAN(kvkit_store_write(st, batch, &err));
    kvkit_batch_destroy(batch);
    OUTCOME(KVKIT_NOTFOUND, kvkit_store_get(st, "b", "k2", &value, &len, &err));

    json_decref(a);
    json_decref(one);
    kvkit_index_set_destroy(set);
    kvkit_store_close(st);
}
END_TEST

/*** schemas and properties ***/

START_TEST(test_errclear_schemas)
{
    kvkit_schema_t *s, *child, *emb;
    kvkit_prop_t *p;
    CLEAN(kvkit_schema_create("S", NULL, store, &s, &err));
    CLEAN(kvkit_schema_set_bucket(s, "s_bucket", &err));
    CLEAN(kvkit_schema_create("E", NULL, NULL, &emb, &err));
    CLEAN(kvkit_schema_add(emb, "zip", KVKIT_PROP_STRING, KVKIT_PROP_REQUIRED, NULL, &err));
    CLEAN(kvkit_schema_add(s, "n", KVKIT_PROP_INTEGER, 0, &p, &err));
    CLEAN(kvkit_prop_set_flags(p, KVKIT_PROP_INDEX, &err));
    json_t *three = json_integer(3);
    CLEAN(kvkit_prop_set_default(p, three, &err));
    CLEAN(kvkit_prop_set_default_fn(p, dflt, NULL, &err));
    CLEAN(kvkit_prop_add_validator(p, positive, NULL, "positive", &err));
    CLEAN(kvkit_schema_add_embedded(s, "addr", emb, 0, 0, NULL, &err));
    CLEAN(kvkit_schema_add_embedded(s, "addrs", emb, 1, 0, NULL, &err));
    CLEAN(kvkit_schema_add(s, "r", KVKIT_PROP_REFERENCE, 0, &p, &err));
    CLEAN(kvkit_prop_set_target(p, user, &err));
    CLEAN(kvkit_schema_add(s, "e", KVKIT_PROP_ENUM, 0, &p, &err));
    json_t *vals = json_pack("[ss]", "x", "y");
    CLEAN(kvkit_prop_set_enum(p, vals, &err));
    json_decref(vals);
    CLEAN(kvkit_schema_add(s, "pw", KVKIT_PROP_PASSWORD, 0, &p, &err));
    CLEAN(kvkit_prop_set_password_prefix(p, "$6$", &err));
    CLEAN(kvkit_schema_create("Child", s, NULL, &child, &err));
    CLEAN(kvkit_schema_add(child, "n", KVKIT_PROP_NUMBER, 0, NULL, &err)); /* override */

    char *hash;
    int match;
    CLEAN(kvkit_prop_password_hash(NULL, "secret", &hash, &err));
    CLEAN(kvkit_prop_password_check(hash, "secret", &match, &err));
    ck_assert_int_eq(match, 1);
    CLEAN(kvkit_prop_password_check(hash, "wrong", &match, &err));
    ck_assert_int_eq(match, 0);
    free(hash);

    /* plain JSON operations */
    json_t *obj = json_pack("{s:i,s:s,s:{s:s}}", "n", 2, "e", "y", "addr", "zip", "1");
    json_t *db, *js;
    CLEAN(kvkit_schema_validate(s, obj, &err));
    CLEAN(kvkit_schema_to_db(s, obj, &db, &err));
    CLEAN(kvkit_schema_from_db(s, db, &js, &err));
    json_decref(js);
    kvkit_index_set_t *set = kvkit_index_set_create();
    CLEAN(kvkit_schema_index_set(s, obj, set, &err));
    json_decref(db);
    CLEAN(kvkit_schema_prepare(s, obj, &db, set, &err));
    json_decref(db);
    kvkit_index_set_destroy(set);
    json_decref(obj);
    json_decref(three);

    /* descriptions */
    kvkit_schema_list_t *l;
    CLEAN(kvkit_schema_list_load_file(SRCDIR "/fixtures/blog.json", store, &l, &err));
    ck_assert_ptr_nonnull(kvkit_schema_list_find(l, "Post"));
    kvkit_schema_list_destroy(l);
    CLEAN(kvkit_schema_list_load_string("{\"A\": {\"properties\": {\"b\": {\"type\": \"reference\", "
                                        "\"schema\": \"A\", \"strict\": false}}}}",
                                        store, &l, &err));
    kvkit_schema_list_destroy(l);
    json_t *desc = json_pack("{s:{}}", "Empty");
    CLEAN(kvkit_schema_list_load_json(desc, NULL, &l, &err));
    json_decref(desc);
    kvkit_schema_list_destroy(l);

    kvkit_schema_destroy(child);
    kvkit_schema_destroy(s);
    kvkit_schema_destroy(emb);
}
END_TEST

/*** documents ***/

static void save_user(const char *key, const char *name)
{
    kvkit_doc_t *u;
    CLEAN(kvkit_doc_new(user, key, &u, &err));
    CLEAN(kvkit_doc_attr_set_string(u, "name", name, &err));
    CLEAN(kvkit_doc_save(u, &err));
    kvkit_doc_destroy(u);
}

START_TEST(test_errclear_documents)
{
    kvkit_doc_t *d, *t, *g;
    int created = -1;
    save_user("ann", "Ann");

    /* absent documents: outcomes, and get_or_new creating */
    OUTCOME(KVKIT_NOTFOUND, kvkit_doc_get(post, "absent", &g, &err));
    CLEAN(kvkit_doc_get_or_new(post, "p", &d, &created, &err));
    ck_assert_int_eq(created, 1);
    CLEAN(kvkit_doc_delete(d, &err)); /* never saved */
    CLEAN(kvkit_doc_delete_key(post, "absent", &err));

    /* attributes, references unset and set, lenient targets missing */
    CLEAN(kvkit_doc_attr_set_string(d, "title", "T", &err));
    CLEAN(kvkit_doc_ref_get(d, "author", &t, &err));
    ck_assert_ptr_null(t);
    CLEAN(kvkit_doc_attr_set_string(d, "author", "ann", &err));
    CLEAN(kvkit_doc_attr_set_string(d, "editor", "ghost", &err));
    CLEAN(kvkit_doc_attr_set_string(d, "reviewer", "ghost", &err));
    CLEAN(kvkit_doc_ref_get(d, "editor", &t, &err));
    ck_assert_ptr_null(t);
    CLEAN(kvkit_doc_save_checked(d, &err)); /* a new document: the key must be free */
    kvkit_doc_destroy(d);
    CLEAN(kvkit_doc_get(post, "p", &d, &err)); /* eager lenient editor: missing */
    CLEAN(kvkit_doc_get_or_new(post, "p", &g, &created, &err));
    ck_assert_int_eq(created, 0);
    kvkit_doc_destroy(g);
    CLEAN(kvkit_doc_ref_get(d, "author", &t, &err));
    ck_assert_ptr_nonnull(t);
    CLEAN(kvkit_doc_ref_get(d, "editor", &t, &err));
    ck_assert_ptr_null(t);
    CLEAN(kvkit_doc_ref_get(d, "reviewer", &t, &err)); /* on demand, lenient, missing */
    ck_assert_ptr_null(t);
    CLEAN(kvkit_doc_reload(d, &err));
    CLEAN(kvkit_doc_save_checked(d, &err));
    CLEAN(kvkit_doc_get(user, "ann", &t, &err));
    CLEAN(kvkit_doc_ref_set(d, "author", t, &err));
    CLEAN(kvkit_doc_ref_set(d, "editor", NULL, &err));
    kvkit_doc_destroy(t);

    json_t *v;
    const char *s;
    int64_t i;
    double r, when;
    int b;
    CLEAN(kvkit_doc_attr_get(d, "title", &v, &err));
    CLEAN(kvkit_doc_attr_get(d, "editor", &v, &err)); /* declared, null */
    CLEAN(kvkit_doc_attr_set(d, "extra", v, &err));
    CLEAN(kvkit_doc_attr_set_new(d, "extra2", json_string("x"), &err));
    CLEAN(kvkit_doc_attr_set_integer(d, "i", 5, &err));
    CLEAN(kvkit_doc_attr_set_real(d, "r", 1.5, &err));
    CLEAN(kvkit_doc_attr_set_bool(d, "b", 1, &err));
    CLEAN(kvkit_doc_attr_set_datetime(d, "when", 1e9, &err));
    CLEAN(kvkit_doc_attr_get_string(d, "title", &s, &err));
    CLEAN(kvkit_doc_attr_get_integer(d, "i", &i, &err));
    CLEAN(kvkit_doc_attr_get_real(d, "r", &r, &err));
    CLEAN(kvkit_doc_attr_get_bool(d, "b", &b, &err));
    CLEAN(kvkit_doc_attr_get_datetime(d, "when", &when, &err));
    OUTCOME(KVKIT_NOTFOUND, kvkit_doc_attr_get_string(d, "editor", &s, &err));
    OUTCOME(KVKIT_NOTFOUND, kvkit_doc_attr_get_integer(d, "extra", &i, &err));
    CLEAN(kvkit_doc_attr_unset(d, "extra", &err));
    CLEAN(kvkit_doc_attr_unset(d, "never-set", &err));

    /* whole-document operations */
    json_t *obj = json_pack("{s:s,s:n}", "title", "U", "gone");
    json_t *out, *paths;
    CLEAN(kvkit_doc_merge(d, obj, 0, &err));
    CLEAN(kvkit_doc_merge(d, obj, KVKIT_MERGE_NULLS, &err));
    json_decref(obj);
    static const char *const hide[] = {"i", NULL};
    CLEAN(kvkit_doc_serialize(d, hide, KVKIT_SERIALIZE_KEY, &out, &err));
    CLEAN(kvkit_doc_deserialize(d, out, &err));
    json_decref(out);
    CLEAN(kvkit_doc_invalids(d, &paths, &err));
    ck_assert_uint_eq(json_array_size(paths), 0);
    json_decref(paths);
    ck_assert_int_eq(kvkit_doc_is_valid(d), 1);
    CLEAN(kvkit_doc_save(d, &err));
    CLEAN(kvkit_doc_clear(d, 0, &err));
    CLEAN(kvkit_doc_clear(d, KVKIT_CLEAR_NULLS, &err));
    CLEAN(kvkit_doc_delete(d, &err));
    CLEAN(kvkit_doc_delete(d, &err)); /* already gone */
    kvkit_doc_destroy(d);

    /* passwords, enums, a generated key */
    CLEAN(kvkit_doc_new(note, NULL, &d, &err));
    int match;
    CLEAN(kvkit_doc_password_check(d, "pw", "x", &match, &err)); /* unset never matches */
    ck_assert_int_eq(match, 0);
    CLEAN(kvkit_doc_password_set(d, "pw", "hunter2", &err));
    CLEAN(kvkit_doc_password_check(d, "pw", "hunter2", &match, &err));
    ck_assert_int_eq(match, 1);
    CLEAN(kvkit_doc_attr_set_string(d, "color", "green", &err));
    CLEAN(kvkit_doc_save(d, &err));
    CLEAN(kvkit_doc_reload(d, &err));
    kvkit_doc_destroy(d);

    /* the data-loss path of issue 11: whatever it answers, OK is clean */
    save_user("bob", "Bob");
    CLEAN(kvkit_doc_new(post, "q", &d, &err));
    CLEAN(kvkit_doc_attr_set_string(d, "author", "bob", &err));
    CLEAN(kvkit_doc_save(d, &err));
    kvkit_doc_destroy(d);
    CLEAN(kvkit_doc_delete_key(user, "bob", &err));
    d = NULL;
    RULE(kvkit_doc_get_or_new(post, "q", &d, &created, &err));
    kvkit_doc_destroy(d);
}
END_TEST

/*** queries ***/

/* Posts p0, p1, p2 by ann, titled "T". */
static void save_posts(void)
{
    save_user("ann", "Ann");
    for (int k = 0; k < 3; k++) {
        char key[16];
        kvkit_doc_t *d;
        snprintf(key, sizeof key, "p%d", k);
        CLEAN(kvkit_doc_new(post, key, &d, &err));
        CLEAN(kvkit_doc_attr_set_string(d, "title", "T", &err));
        CLEAN(kvkit_doc_attr_set_string(d, "author", "ann", &err));
        CLEAN(kvkit_doc_attr_set_string(d, "editor", "ghost", &err)); /* lenient, missing */
        CLEAN(kvkit_doc_save(d, &err));
        kvkit_doc_destroy(d);
    }
}

START_TEST(test_errclear_queries)
{
    save_posts();
    json_t *t = json_string("T"), *none = json_string("none");
    int n;
    for (unsigned flags = 0; flags <= KVKIT_QUERY_KEYS; flags += KVKIT_QUERY_KEYS) {
        kvkit_query_t *q;
        CLEAN(kvkit_query_index(post, "title", t, NULL, flags, &q, &err));
        for (n = 0; kvkit_query_valid(q); kvkit_query_next(q), n++) {
            ck_assert_ptr_nonnull(kvkit_query_key(q));
            if (!flags)
                ck_assert_ptr_nonnull(kvkit_query_doc(q));
        }
        ck_assert_int_eq(n, 3);
        CLEAN(kvkit_query_status(q, &err));
        kvkit_query_destroy(q);
        CLEAN(kvkit_query_index(post, "title", none, NULL, flags, &q, &err));
        ck_assert_int_eq(kvkit_query_valid(q), 0);
        CLEAN(kvkit_query_status(q, &err));
        kvkit_query_destroy(q);
        CLEAN(kvkit_query_all(post, "p1", NULL, flags, &q, &err));
        for (n = 0; kvkit_query_valid(q); kvkit_query_next(q), n++)
            if (!flags)
                kvkit_doc_destroy(kvkit_query_take_doc(q));
        ck_assert_int_eq(n, 2);
        CLEAN(kvkit_query_status(q, &err));
        kvkit_query_destroy(q);
        CLEAN(kvkit_query_all(user, "zzz", NULL, flags, &q, &err));
        CLEAN(kvkit_query_status(q, &err));
        kvkit_query_destroy(q);
    }
    n = 0;
    CLEAN(kvkit_query_index_docs(post, "title", t, NULL, count_doc, &n, &err));
    CLEAN(kvkit_query_index_docs(post, "title", none, NULL, count_doc, &n, &err));
    CLEAN(kvkit_query_index_docs(post, "title", t, NULL, stop_doc, NULL, &err));
    CLEAN(kvkit_query_all_docs(post, NULL, NULL, count_doc, &n, &err));
    CLEAN(kvkit_query_all_docs(user, "x", "y", count_doc, &n, &err));
    ck_assert_int_eq(n, 6);
    n = 0;
    CLEAN(kvkit_query_index_keys(post, "title", t, NULL, count_key, &n, &err));
    CLEAN(kvkit_query_index_keys(post, "title", none, NULL, count_key, &n, &err));
    json_t *ann = json_string("ann");
    CLEAN(kvkit_query_index_keys(post, "author", ann, NULL, count_key, &n, &err));
    CLEAN(kvkit_query_index_keys(post, "$key", t, NULL, count_key, &n, &err));
    CLEAN(kvkit_query_all_keys(post, NULL, NULL, count_key, &n, &err));
    CLEAN(kvkit_query_all_keys(note, NULL, NULL, count_key, &n, &err));
    ck_assert_int_eq(n, 9);
    json_decref(ann);
    json_decref(t);
    json_decref(none);
}
END_TEST

/* Compound queries run to their end, where the backend's index cursors
 * answer "no more" (NOTFOUND): on the document layer and the store's
 * iterator, keys and documents, and with an enum value converted. */
START_TEST(test_errclear_compound_queries)
{
    static const struct {
        const char *text;
        int n;
    } cases[] = {{"title = \"T\" and author = \"ann\"", 3}, /* a zigzag join */
                 {"title = \"none\" or author = \"ann\"", 3}, /* a merge */
                 {"title starts with \"T\" order by title limit 2", 2},
                 {"$key >= \"p1\" and not title = \"none\"", 2}};
    save_posts();
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        kvkit_qexpr_t *x;
        CLEAN(kvkit_query_parse(cases[i].text, &x, &err));
        for (unsigned flags = 0; flags <= KVKIT_QUERY_KEYS; flags += KVKIT_QUERY_KEYS) {
            kvkit_query_t *q;
            int n = 0;
            CLEAN(kvkit_query_expr(post, x, flags, &q, &err));
            for (; kvkit_query_valid(q); kvkit_query_next(q), n++)
                ck_assert_ptr_nonnull(flags ? kvkit_query_key(q) : (void *)kvkit_query_doc(q));
            ck_assert_msg(n == cases[i].n, "%s: %d results", cases[i].text, n);
            CLEAN(kvkit_query_status(q, &err));
            kvkit_query_destroy(q);
            kvkit_iter_t *it = kvkit_store_query_iter(store, kvkit_schema_bucket(post), x, !flags);
            for (n = 0; kvkit_iter_valid(it); kvkit_iter_next(it))
                n++;
            ck_assert_msg(n == cases[i].n, "%s: %d results from the iterator", cases[i].text, n);
            CLEAN(kvkit_iter_status(it, &err));
            kvkit_iter_destroy(it);
        }
        kvkit_query_free(x);
    }
    kvkit_doc_t *d;
    CLEAN(kvkit_doc_new(note, "n1", &d, &err));
    CLEAN(kvkit_doc_attr_set_string(d, "color", "green", &err));
    CLEAN(kvkit_doc_save(d, &err));
    kvkit_doc_destroy(d);
    kvkit_qexpr_t *x;
    kvkit_query_t *q;
    CLEAN(kvkit_query_parse("color = \"green\"", &x, &err));
    CLEAN(kvkit_query_expr(note, x, 0, &q, &err));
    ck_assert_int_eq(kvkit_query_valid(q), 1);
    ck_assert_str_eq(kvkit_query_key(q), "n1");
    kvkit_query_next(q);
    CLEAN(kvkit_query_status(q, &err));
    kvkit_query_destroy(q);
    kvkit_query_free(x);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("errclear");
    TCase *tc = tcase_create("errclear");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_errclear_store_layer);
    tcase_add_test(tc, test_errclear_schemas);
    tcase_add_test(tc, test_errclear_documents);
    tcase_add_test(tc, test_errclear_queries);
    tcase_add_test(tc, test_errclear_compound_queries);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
