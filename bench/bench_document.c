/*
 * bench_document.c - what the document layer costs over doing the same
 * jansson work by hand, on the memory backend, in one process and one run.
 *
 *   save: baseline builds the JSON object, dumps it compact, fills an index
 *         set (title, views, tags) and calls kvkit_store_save; the document
 *         layer does kvkit_doc_new + attribute sets + kvkit_doc_save (which
 *         also validates) + kvkit_doc_destroy.
 *   get:  baseline kvkit_store_get + json_loadb + reading every field; the
 *         document layer kvkit_doc_get + typed getters + kvkit_doc_destroy.
 *
 * Each side runs on its own memory store, alternating in chunks, ROUNDS
 * times; thread CPU time is measured and the best round counts.  Goal (issue 3): ratio <= 1.15 for
 * save and for get.
 *
 * Usage: bench_document [N]   (documents per round, default 20000)
 */
#include <kvkit/kvkit.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define ROUNDS 7
#define CHUNK 500

static const char BODY[] =
    "Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor "
    "incididunt ut labore et dolore magna aliqua. Ut enim ad minim veniam, quis nostrud "
    "exercitation ullamco laboris nisi ut aliquip ex ea commodo consequat.";
static const char *const TAGS[] = {"c", "kvkit", "news", "json", "bench"};

/* Thread CPU time: time spent descheduled (the machine is shared) does not
 * count against either side. */
static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void die(const char *what, const kvkit_error_t *err)
{
    fprintf(stderr, "bench_document: %s: %s\n", what, err->text);
    exit(1);
}

static void key_of(char *buf, size_t size, int i)
{
    snprintf(buf, size, "post%07d", i);
}

static void title_of(char *buf, size_t size, int i)
{
    snprintf(buf, size, "Title number %d", i);
}

static json_t *tags_of(int i)
{
    return json_pack("[sss]", TAGS[i % 5], TAGS[(i + 1) % 5], TAGS[(i + 2) % 5]);
}

/*** baseline: jansson + store directly ***/

static kvkit_index_set_t *base_set;

__attribute__((noinline)) static void base_save(kvkit_store_t *st, int i)
{
    kvkit_error_t err = {0};
    char key[32], title[48];
    key_of(key, sizeof key, i);
    title_of(title, sizeof title, i);
    json_t *o = json_object();
    json_object_set_new(o, "title", json_string(title));
    json_object_set_new(o, "author", json_string("ann"));
    json_object_set_new(o, "body", json_string(BODY));
    json_object_set_new(o, "views", json_integer(i));
    json_object_set_new(o, "score", json_real(i * 0.5));
    json_object_set_new(o, "tags", tags_of(i));
    json_object_set_new(o, "published", json_boolean(i & 1));
    char *bytes = json_dumps(o, JSON_COMPACT);
    kvkit_index_set_clear(base_set);
    if (kvkit_index_set_add(base_set, "title", json_object_get(o, "title"), &err) ||
        kvkit_index_set_add(base_set, "views", json_object_get(o, "views"), &err) ||
        kvkit_index_set_add(base_set, "tags", json_object_get(o, "tags"), &err) ||
        kvkit_store_save(st, "Post", key, bytes, strlen(bytes), base_set, &err))
        die("baseline save", &err);
    free(bytes);
    json_decref(o);
}

static volatile size_t sink;

__attribute__((noinline)) static void base_get(kvkit_store_t *st, int i)
{
    kvkit_error_t err = {0};
    char key[32];
    key_of(key, sizeof key, i);
    char *bytes;
    size_t len;
    if (kvkit_store_get(st, "Post", key, &bytes, &len, &err))
        die("baseline get", &err);
    json_t *o = json_loadb(bytes, len, 0, NULL);
    free(bytes);
    if (!json_is_object(o))
        die("baseline parse", &err);
    size_t acc = strlen(json_string_value(json_object_get(o, "title")));
    acc += strlen(json_string_value(json_object_get(o, "author")));
    acc += strlen(json_string_value(json_object_get(o, "body")));
    acc += (size_t)json_integer_value(json_object_get(o, "views"));
    acc += (size_t)json_real_value(json_object_get(o, "score"));
    acc += json_array_size(json_object_get(o, "tags"));
    acc += json_is_true(json_object_get(o, "published"));
    sink += acc;
    json_decref(o);
}

/*** the document layer ***/

__attribute__((noinline)) static void doc_save(const kvkit_schema_t *schema, int i)
{
    kvkit_error_t err = {0};
    char key[32], title[48];
    key_of(key, sizeof key, i);
    title_of(title, sizeof title, i);
    kvkit_doc_t *d;
    if (kvkit_doc_new(schema, key, &d, &err) ||
        kvkit_doc_attr_set_new(d, "title", json_string(title), &err) ||
        kvkit_doc_attr_set_new(d, "author", json_string("ann"), &err) ||
        kvkit_doc_attr_set_new(d, "body", json_string(BODY), &err) ||
        kvkit_doc_attr_set_new(d, "views", json_integer(i), &err) ||
        kvkit_doc_attr_set_new(d, "score", json_real(i * 0.5), &err) ||
        kvkit_doc_attr_set_new(d, "tags", tags_of(i), &err) ||
        kvkit_doc_attr_set_new(d, "published", json_boolean(i & 1), &err) ||
        kvkit_doc_save(d, &err))
        die("document save", &err);
    kvkit_doc_destroy(d);
}

__attribute__((noinline)) static void doc_get(const kvkit_schema_t *schema, int i)
{
    kvkit_error_t err = {0};
    char key[32];
    key_of(key, sizeof key, i);
    kvkit_doc_t *d;
    const char *s;
    int64_t n;
    double r;
    int b;
    json_t *tags;
    if (kvkit_doc_get(schema, key, &d, &err))
        die("document get", &err);
    size_t acc = 0;
    if (kvkit_doc_attr_get_string(d, "title", &s, &err))
        die("title", &err);
    acc += strlen(s);
    if (kvkit_doc_attr_get_string(d, "author", &s, &err))
        die("author", &err);
    acc += strlen(s);
    if (kvkit_doc_attr_get_string(d, "body", &s, &err))
        die("body", &err);
    acc += strlen(s);
    if (kvkit_doc_attr_get_integer(d, "views", &n, &err) ||
        kvkit_doc_attr_get_real(d, "score", &r, &err) ||
        kvkit_doc_attr_get(d, "tags", &tags, &err) ||
        kvkit_doc_attr_get_bool(d, "published", &b, &err))
        die("fields", &err);
    acc += (size_t)n + (size_t)r + json_array_size(tags) + (size_t)b;
    sink += acc;
    kvkit_doc_destroy(d);
}

static kvkit_schema_t *make_schema(kvkit_store_t *st)
{
    kvkit_error_t err = {0};
    kvkit_schema_t *s;
    if (kvkit_schema_create("Post", NULL, st, &s, &err) ||
        kvkit_schema_add(s, "title", KVKIT_PROP_STRING, KVKIT_PROP_REQUIRED | KVKIT_PROP_INDEX,
                         NULL, &err) ||
        kvkit_schema_add(s, "author", KVKIT_PROP_STRING, 0, NULL, &err) ||
        kvkit_schema_add(s, "body", KVKIT_PROP_STRING, 0, NULL, &err) ||
        kvkit_schema_add(s, "views", KVKIT_PROP_INTEGER, KVKIT_PROP_INDEX, NULL, &err) ||
        kvkit_schema_add(s, "score", KVKIT_PROP_NUMBER, 0, NULL, &err) ||
        kvkit_schema_add(s, "tags", KVKIT_PROP_LIST, KVKIT_PROP_INDEX, NULL, &err) ||
        kvkit_schema_add(s, "published", KVKIT_PROP_BOOLEAN, 0, NULL, &err))
        die("schema", &err);
    return s;
}

int main(int argc, char **argv)
{
    int n = argc > 1 ? atoi(argv[1]) : 20000;
    if (n <= 0)
        n = 20000;
    kvkit_error_t err = {0};
    kvkit_store_t *bst = kvkit_store_open("memory:", &err);
    kvkit_store_t *dst = bst ? kvkit_store_open("memory:", &err) : NULL;
    if (dst == NULL)
        die("open memory store", &err);
    kvkit_schema_t *schema = make_schema(dst);
    base_set = kvkit_index_set_create();

    /* Each round alternates the two sides in chunks of CHUNK documents so a
     * slow patch of the machine hits both alike; the best round counts. */
    double best[4] = {1e99, 1e99, 1e99, 1e99}; /* base save, doc save, base get, doc get */
    for (int round = 0; round < ROUNDS; round++) {
        double t[4] = {0, 0, 0, 0};
        for (int lo = 0; lo < n; lo += CHUNK) {
            int hi = lo + CHUNK < n ? lo + CHUNK : n;
            double t0 = now();
            for (int i = lo; i < hi; i++)
                base_save(bst, i);
            double t1 = now();
            for (int i = lo; i < hi; i++)
                doc_save(schema, i);
            double t2 = now();
            t[0] += t1 - t0;
            t[1] += t2 - t1;
        }
        for (int lo = 0; lo < n; lo += CHUNK) {
            int hi = lo + CHUNK < n ? lo + CHUNK : n;
            double t0 = now();
            for (int i = lo; i < hi; i++)
                base_get(bst, i);
            double t1 = now();
            for (int i = lo; i < hi; i++)
                doc_get(schema, i);
            double t2 = now();
            t[2] += t1 - t0;
            t[3] += t2 - t1;
        }
        for (int k = 0; k < 4; k++)
            if (t[k] < best[k])
                best[k] = t[k];
    }
    printf("documents per round: %d, rounds: %d (best round counts), backend: memory\n", n, ROUNDS);
    printf("%-6s %14s %14s %8s\n", "op", "baseline ns/op", "document ns/op", "ratio");
    printf("%-6s %14.0f %14.0f %8.3f\n", "save", best[0] / n * 1e9, best[1] / n * 1e9,
           best[1] / best[0]);
    printf("%-6s %14.0f %14.0f %8.3f\n", "get", best[2] / n * 1e9, best[3] / n * 1e9,
           best[3] / best[2]);
    printf("goal: ratio <= 1.15 for save and get\n");
    kvkit_index_set_destroy(base_set);
    kvkit_schema_destroy(schema);
    kvkit_store_close(bst);
    kvkit_store_close(dst);
    return 0;
}
