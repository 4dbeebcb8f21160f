/*
 * tutorial.c - the KVKit tutorial, in C.
 *
 * The original Python tutorial builds a small blog: users and blog posts,
 * with indexes, references loaded on demand, validators, strict documents
 * and embedded comments.  This walks the same steps with libkvkit on the
 * memory backend.  `make check` runs it and compares what it prints with
 * tutorial.expected, so every step here is known to work as shown.
 *
 * Run it by hand:  KVKIT_PLUGIN_PATH=plugins/memory/.libs examples/tutorial
 */
#include <kvkit/kvkit.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Every call either works or the tutorial stops with the library's message. */
static void check(int rc, const kvkit_error_t *err, const char *what)
{
    if (rc != KVKIT_OK) {
        fprintf(stderr, "tutorial: %s: %s (%s)\n", what, err->text, kvkit_status_name(rc));
        exit(1);
    }
}

/* CHECK(call): `call` reports into `err`, which CHECK declares. */
#define CHECK(call)                                                                                \
    do {                                                                                           \
        kvkit_error_t err = {0};                                                                   \
        check((call), &err, #call);                                                                \
    } while (0)

static void print_json(const char *label, const json_t *v)
{
    char *s = json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
    printf("%s%s\n", label, s);
    free(s);
}

static void print_doc(const char *label, const kvkit_doc_t *d)
{
    json_t *ser;
    CHECK(kvkit_doc_serialize(d, NULL, KVKIT_SERIALIZE_KEY, &ser, &err));
    print_json(label, ser);
    json_decref(ser);
}

/* Validators: return non-zero when the value is acceptable. */
static int looks_like_email(void *ctx, const json_t *v)
{
    const char *at = strchr(json_string_value(v), '@');
    return at != NULL && at != json_string_value(v) && strchr(at, '.') != NULL;
}

static int min_length(void *ctx, const json_t *v)
{
    return json_string_length(v) >= *(const size_t *)ctx;
}

static int print_title(void *ctx, kvkit_doc_t *post)
{
    const char *title;
    CHECK(kvkit_doc_attr_get_string(post, "title", &title, &err));
    printf("  %s: %s\n", kvkit_doc_key(post), title);
    return 0;
}

int main(void)
{
    kvkit_error_t e = {0};

    /* 1. A store.  "memory:" is private to this process; "leveldb:/path",
     *    "riak:http://..." or "etcd:http://..." would work the same. */
    puts("== 1. open a store");
    kvkit_store_t *store = kvkit_store_open("memory:", &e);
    check(store ? KVKIT_OK : e.code, &e, "open");
    printf("backend: %s\n", kvkit_store_backend(store));

    /* 2. Document classes become schemas.  class User(Document): name is
     *    required, email must look like one, password is hashed. */
    puts("== 2. schemas");
    kvkit_schema_t *user, *comment, *post;
    kvkit_prop_t *p;
    CHECK(kvkit_schema_create("User", NULL, store, &user, &err));
    CHECK(kvkit_schema_add(user, "name", KVKIT_PROP_STRING, KVKIT_PROP_REQUIRED, NULL, &err));
    CHECK(kvkit_schema_add(user, "email", KVKIT_PROP_STRING, KVKIT_PROP_INDEX, &p, &err));
    CHECK(kvkit_prop_add_validator(p, looks_like_email, NULL, "email", &err));
    CHECK(kvkit_schema_add(user, "password", KVKIT_PROP_PASSWORD, 0, NULL, &err));

    /* class Comment(EmbeddedDocument) */
    CHECK(kvkit_schema_create("Comment", NULL, NULL, &comment, &err));
    CHECK(kvkit_schema_add(comment, "who", KVKIT_PROP_STRING, KVKIT_PROP_REQUIRED, NULL, &err));
    CHECK(kvkit_schema_add(comment, "text", KVKIT_PROP_STRING, KVKIT_PROP_REQUIRED, NULL, &err));

    /* class BlogPost(Document) */
    static const size_t three = 3;
    static const char *const states[] = {"draft", "published"};
    CHECK(kvkit_schema_create("BlogPost", NULL, store, &post, &err));
    CHECK(kvkit_schema_add(post, "title", KVKIT_PROP_STRING, KVKIT_PROP_REQUIRED | KVKIT_PROP_INDEX,
                           &p, &err));
    CHECK(kvkit_prop_add_validator(p, min_length, (void *)&three, "at least 3 characters", &err));
    CHECK(kvkit_schema_add(post, "content", KVKIT_PROP_STRING, 0, NULL, &err));
    CHECK(kvkit_schema_add(post, "tags", KVKIT_PROP_LIST, KVKIT_PROP_INDEX, NULL, &err));
    CHECK(kvkit_schema_add(post, "published", KVKIT_PROP_DATETIME, KVKIT_PROP_INDEX, NULL, &err));
    CHECK(kvkit_schema_add_enum(post, "state", states, 2, KVKIT_PROP_INDEX, &p, &err));
    json_t *draft = json_string("draft");
    CHECK(kvkit_prop_set_default(p, draft, &err));
    json_decref(draft);
    CHECK(kvkit_schema_add_ref(post, "author", user, KVKIT_PROP_LOAD_ON_DEMAND, NULL, &err));
    CHECK(kvkit_schema_add_embedded(post, "comments", comment, 1, 0, NULL, &err));
    printf("BlogPost has %zu properties, bucket \"%s\"\n", kvkit_schema_prop_count(post),
           kvkit_schema_bucket(post));

    /* 3. Create, save, get. */
    puts("== 3. save and get");
    kvkit_doc_t *ann;
    CHECK(kvkit_doc_new(user, "ann", &ann, &err));
    CHECK(kvkit_doc_attr_set_string(ann, "name", "Ann", &err));
    CHECK(kvkit_doc_attr_set_string(ann, "email", "ann@example.org", &err));
    CHECK(kvkit_doc_password_set(ann, "password", "correct horse", &err));
    CHECK(kvkit_doc_save(ann, &err));

    kvkit_doc_t *hello;
    CHECK(kvkit_doc_new(post, "hello-world", &hello, &err));
    json_t *data = json_pack("{s:s,s:s,s:[ss],s:i}", "title", "Hello World", "content",
                             "My first post.", "tags", "hello", "c", "published", 1357000000);
    CHECK(kvkit_doc_merge(hello, data, 0, &err));
    json_decref(data);
    CHECK(kvkit_doc_ref_set(hello, "author", ann, &err));
    CHECK(kvkit_doc_save(hello, &err));

    kvkit_doc_t *same;
    CHECK(kvkit_doc_get(post, "hello-world", &same, &err));
    print_doc("stored: ", same);
    printf("same document: %s\n", kvkit_doc_equal(hello, same) ? "yes" : "no");
    kvkit_doc_destroy(same);

    kvkit_doc_t *anon;
    CHECK(kvkit_doc_new(post, NULL, &anon, &err));
    printf("a generated key has %zu hex digits\n", strlen(kvkit_doc_key(anon)));
    kvkit_doc_destroy(anon);

    /* 4. Validation: every failing field is named. */
    puts("== 4. validation");
    kvkit_doc_t *bad;
    CHECK(kvkit_doc_new(post, "bad", &bad, &err));
    CHECK(kvkit_doc_attr_set_string(bad, "state", "deleted", &err));
    CHECK(kvkit_doc_attr_set_new(bad, "tags", json_string("not a list"), &err));
    e = (kvkit_error_t){0};
    int rc = kvkit_doc_save(bad, &e);
    printf("save: %s: %s\n", kvkit_status_name(rc), e.text);
    CHECK(kvkit_doc_attr_set_string(bad, "title", "Hi", &err));
    json_t *inv;
    e = (kvkit_error_t){0};
    rc = kvkit_doc_invalids(bad, &inv, &e);
    print_json("invalids: ", inv);
    json_decref(inv);
    printf("valid: %d\n", kvkit_doc_is_valid(bad));
    kvkit_doc_destroy(bad);

    kvkit_doc_t *bob;
    CHECK(kvkit_doc_new(user, "bob", &bob, &err));
    CHECK(kvkit_doc_attr_set_string(bob, "name", "Bob", &err));
    CHECK(kvkit_doc_attr_set_string(bob, "email", "bob-at-example", &err));
    e = (kvkit_error_t){0};
    rc = kvkit_doc_save(bob, &e);
    printf("save: %s: %s\n", kvkit_status_name(rc), e.text);
    CHECK(kvkit_doc_attr_set_string(bob, "email", "bob@example.org", &err));
    CHECK(kvkit_doc_save(bob, &err));

    /* 5. Indexes: more posts, then exact and range queries. */
    puts("== 5. indexes");
    static const struct {
        const char *key, *title, *tag;
        int when;
    } more[] = {
        {"kvkit-in-c", "KVKit in C", "c", 1357100000},
        {"leveldb", "LevelDB notes", "storage", 1357200000},
        {"riak", "Riak and 2i", "storage", 1357300000},
    };
    for (size_t i = 0; i < sizeof more / sizeof more[0]; i++) {
        kvkit_doc_t *d;
        CHECK(kvkit_doc_new(post, more[i].key, &d, &err));
        CHECK(kvkit_doc_attr_set_string(d, "title", more[i].title, &err));
        CHECK(kvkit_doc_attr_set_new(d, "tags", json_pack("[s]", more[i].tag), &err));
        CHECK(kvkit_doc_attr_set_datetime(d, "published", more[i].when, &err));
        CHECK(kvkit_doc_ref_set(d, "author", i ? bob : ann, &err));
        if (i == 2)
            CHECK(kvkit_doc_attr_set_string(d, "state", "published", &err));
        CHECK(kvkit_doc_save(d, &err));
        kvkit_doc_destroy(d);
    }
    json_t *c = json_string("c");
    puts("tagged \"c\":");
    CHECK(kvkit_query_index_docs(post, "tags", c, NULL, print_title, NULL, &err));
    json_decref(c);
    json_t *lo = json_integer(1357050000), *hi = json_real(1357250000.0);
    puts("published in a range (the iterator form):");
    kvkit_query_t *q;
    CHECK(kvkit_query_index(post, "published", lo, hi, 0, &q, &err));
    for (; kvkit_query_valid(q); kvkit_query_next(q))
        print_title(NULL, kvkit_query_doc(q));
    CHECK(kvkit_query_status(q, &err));
    kvkit_query_destroy(q);
    json_decref(lo);
    json_decref(hi);
    json_t *pub = json_string("published");
    CHECK(kvkit_query_index(post, "state", pub, NULL, KVKIT_QUERY_KEYS, &q, &err));
    for (; kvkit_query_valid(q); kvkit_query_next(q))
        printf("state published: %s\n", kvkit_query_key(q));
    CHECK(kvkit_query_status(q, &err));
    kvkit_query_destroy(q);
    e = (kvkit_error_t){0};
    rc = kvkit_query_index(post, "content", pub, NULL, 0, &q, &e);
    printf("query on content: %s: %s\n", kvkit_status_name(rc), e.text);
    json_decref(pub);
    puts("all keys from \"k\" on:");
    CHECK(kvkit_query_all(post, "k", NULL, KVKIT_QUERY_KEYS, &q, &err));
    for (; kvkit_query_valid(q); kvkit_query_next(q))
        printf("  %s\n", kvkit_query_key(q));
    CHECK(kvkit_query_status(q, &err));
    kvkit_query_destroy(q);

    /* 6. References: author is stored as a key and loaded on first use. */
    puts("== 6. references");
    kvkit_doc_t *riak, *author;
    CHECK(kvkit_doc_get(post, "riak", &riak, &err));
    json_t *akey;
    CHECK(kvkit_doc_attr_get(riak, "author", &akey, &err));
    print_json("author attribute: ", akey);
    CHECK(kvkit_doc_ref_get(riak, "author", &author, &err));
    const char *name;
    CHECK(kvkit_doc_attr_get_string(author, "name", &name, &err));
    printf("author loaded on demand: %s\n", name);
    int match;
    CHECK(kvkit_doc_password_check(ann, "password", "correct horse", &match, &err));
    printf("ann's password checks: %s\n", match ? "yes" : "no");
    kvkit_doc_destroy(riak);

    /* 7. Embedded documents: comments live inside the post. */
    puts("== 7. embedded documents");
    json_t *comments = json_pack("[{s:s,s:s},{s:s}]", "who", "bob", "text", "Nice!", "who", "eve");
    CHECK(kvkit_doc_attr_set_new(hello, "comments", comments, &err));
    e = (kvkit_error_t){0};
    rc = kvkit_doc_save(hello, &e);
    printf("save: %s: %s\n", kvkit_status_name(rc), e.text);
    json_object_set_new(json_array_get(comments, 1), "text", json_string("First!"));
    CHECK(kvkit_doc_save(hello, &err));
    static const char *const restricted[] = {"content", "published", NULL};
    json_t *ser;
    CHECK(kvkit_doc_serialize(hello, restricted, 0, &ser, &err));
    print_json("serialized without content and date: ", ser);
    json_decref(ser);

    /* 8. Strict documents refuse undeclared attributes. */
    puts("== 8. strict schemas");
    CHECK(kvkit_doc_attr_set_string(bob, "nickname", "bobby", &err));
    CHECK(kvkit_doc_save(bob, &err));
    puts("non-strict User saved an undeclared attribute");
    kvkit_schema_set_strict(user, 1);
    e = (kvkit_error_t){0};
    rc = kvkit_doc_save(bob, &e);
    printf("strict: %s: %s\n", kvkit_status_name(rc), e.text);
    CHECK(kvkit_doc_attr_unset(bob, "nickname", &err));
    CHECK(kvkit_doc_save(bob, &err));

    /* 9. The same schemas from a JSON description (as the kvkit tool and
     *    other languages use them). */
    puts("== 9. schemas from JSON");
    kvkit_schema_list_t *list;
    CHECK(kvkit_schema_list_load_string(
        "{\"Note\": {\"strict\": true, \"properties\": {"
        "  \"text\": {\"type\": \"string\", \"required\": true},"
        "  \"level\": {\"type\": \"enum\", \"values\": [\"low\", \"high\"], \"index\": true}}}}",
        store, &list, &err));
    kvkit_schema_t *note = kvkit_schema_list_find(list, "Note");
    json_t *n1 = json_pack("{s:s,s:s}", "text", "remember the milk", "level", "high");
    CHECK(kvkit_schema_validate(note, n1, &err));
    kvkit_index_set_t *set = kvkit_index_set_create();
    json_t *db;
    CHECK(kvkit_schema_prepare(note, n1, &db, set, &err));
    print_json("stored form: ", db);
    printf("index entries: %zu\n", kvkit_index_set_size(set));
    json_decref(db);
    kvkit_index_set_destroy(set);
    json_decref(n1);
    kvkit_schema_list_destroy(list);
    e = (kvkit_error_t){0};
    rc = kvkit_schema_list_load_string("{\"Bad\": {\"properties\": {\"x\": {\"type\": \"str\"}}}}",
                                       store, &list, &e);
    printf("bad description: %s: %s\n", kvkit_status_name(rc), e.text);

    /* 10. Concurrent edits: a checked save succeeds only if nobody saved the
     *     document since it was read (on backends with revisions). */
    puts("== 10. checked saves");
    kvkit_doc_t *mine, *theirs;
    int created;
    CHECK(kvkit_doc_get_or_new(post, "draft-1", &mine, &created, &err));
    printf("draft-1 created: %s\n", created ? "yes" : "no");
    CHECK(kvkit_doc_attr_set_string(mine, "title", "A draft", &err));
    CHECK(kvkit_doc_save_checked(mine, &err));
    CHECK(kvkit_doc_get(post, "draft-1", &theirs, &err));
    CHECK(kvkit_doc_attr_set_string(theirs, "title", "Their edit", &err));
    CHECK(kvkit_doc_save_checked(theirs, &err));
    CHECK(kvkit_doc_attr_set_string(mine, "title", "My edit", &err));
    e = (kvkit_error_t){0};
    rc = kvkit_doc_save_checked(mine, &e);
    printf("my checked save: %s\n", kvkit_status_name(rc));
    CHECK(kvkit_doc_reload(mine, &err));
    const char *now_title;
    CHECK(kvkit_doc_attr_get_string(mine, "title", &now_title, &err));
    printf("after reload: %s\n", now_title);
    kvkit_doc_destroy(theirs);
    kvkit_doc_destroy(mine);

    /* 11. Delete. */
    puts("== 11. delete");
    CHECK(kvkit_doc_delete(hello, &err));
    kvkit_doc_t *gone;
    rc = kvkit_doc_get(post, "hello-world", &gone, NULL);
    printf("get after delete: %s\n", kvkit_status_name(rc));
    CHECK(kvkit_doc_delete_key(post, "leveldb", &err));
    json_t *storage = json_string("storage");
    puts("tagged \"storage\" after deleting one:");
    CHECK(kvkit_query_index_docs(post, "tags", storage, NULL, print_title, NULL, &err));
    json_decref(storage);

    kvkit_doc_destroy(hello);
    kvkit_doc_destroy(bob);
    kvkit_doc_destroy(ann);
    kvkit_schema_destroy(post);
    kvkit_schema_destroy(comment);
    kvkit_schema_destroy(user);
    kvkit_store_close(store);
    puts("done");
    return 0;
}
