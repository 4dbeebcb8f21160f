/*
 * demo.c - store blog posts as JSON documents with indexes, then query them.
 *
 *   demo [STORE]      STORE defaults to "memory:"; try "leveldb:/tmp/demo-db"
 */
#include <kvkit/kvkit.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int print_key(void *ctx, const char *key, size_t len)
{
    printf("  %s\n", key);
    return 0;
}

static int print_doc(void *ctx, const char *key, size_t klen, const char *doc, size_t dlen)
{
    printf("  %s  %.*s\n", key, (int)dlen, doc);
    return 0;
}

static int fail(const char *what, const kvkit_error_t *err)
{
    fprintf(stderr, "demo: %s: %s\n", what, err->text);
    return 1;
}

int main(int argc, char **argv)
{
    const char *uri = argc > 1 ? argv[1] : "memory:";
    kvkit_error_t err = {0};
    kvkit_store_t *store = kvkit_store_open(uri, &err);
    if (store == NULL)
        return fail("open", &err);
    printf("store %s (backend %s %s)\n", uri, kvkit_store_backend(store),
           kvkit_store_descriptor(store)->version);

    static const struct {
        const char *key, *author, *title;
        int year;
        const char *tags[3];
    } posts[] = {
        {"p1", "alice", "Plugins with libltdl", 2023, {"c", "plugins"}},
        {"p2", "bob", "Sortable keys", 2024, {"c", "indexes"}},
        {"p3", "alice", "LevelDB write batches", 2025, {"leveldb", "c"}},
        {"p4", "carol", "Riak secondary indexes", 2021, {"riak", "indexes"}},
    };
    kvkit_index_set_t *index = kvkit_index_set_create();
    for (size_t i = 0; i < sizeof posts / sizeof posts[0]; i++) {
        json_t *tags = json_array();
        for (int t = 0; t < 3 && posts[i].tags[t]; t++)
            json_array_append_new(tags, json_string(posts[i].tags[t]));
        json_t *doc = json_pack("{s:s, s:s, s:i, s:O}", "author", posts[i].author, "title",
                                posts[i].title, "year", posts[i].year, "tags", tags);
        char *text = json_dumps(doc, JSON_COMPACT | JSON_SORT_KEYS);
        kvkit_index_set_clear(index);
        if (kvkit_index_set_add(index, "author", json_object_get(doc, "author"), &err) ||
            kvkit_index_set_add(index, "year", json_object_get(doc, "year"), &err) ||
            kvkit_index_set_add(index, "tags", tags, &err) ||
            kvkit_store_save(store, "posts", posts[i].key, text, strlen(text), index, &err))
            return fail("save", &err);
        free(text);
        json_decref(doc);
        json_decref(tags);
    }
    kvkit_index_set_destroy(index);
    printf("saved 4 posts\n");

    json_t *alice = json_string("alice"), *c = json_string("c");
    json_t *from = json_integer(2022), *to = json_integer(2024);
    printf("posts by alice:\n");
    if (kvkit_store_index_docs(store, "posts", "author", alice, NULL, print_doc, NULL, &err))
        return fail("query", &err);
    printf("posts tagged c:\n");
    if (kvkit_store_index_keys(store, "posts", "tags", c, NULL, print_key, NULL, &err))
        return fail("query", &err);
    printf("posts from 2022 to 2024:\n");
    if (kvkit_store_index_keys(store, "posts", "year", from, to, print_key, NULL, &err))
        return fail("query", &err);

    /* re-save p2 under another year: its old index entry goes with it */
    kvkit_index_set_t *p2 = kvkit_index_set_create();
    json_t *y = json_integer(2019);
    const char *doc = "{\"author\":\"bob\",\"title\":\"Sortable keys\",\"year\":2019}";
    if (kvkit_index_set_add(p2, "year", y, &err) ||
        kvkit_store_save(store, "posts", "p2", doc, strlen(doc), p2, &err))
        return fail("save", &err);
    printf("after moving p2 to 2019, posts from 2022 to 2024:\n");
    kvkit_store_index_keys(store, "posts", "year", from, to, print_key, NULL, &err);

    json_decref(alice), json_decref(c), json_decref(from), json_decref(to), json_decref(y);
    kvkit_index_set_destroy(p2);
    kvkit_store_close(store);
    return 0;
}
