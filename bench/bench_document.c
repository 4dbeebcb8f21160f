/*
 * bench_document.c - the document layer on LevelDB against the hand-written
 * LevelDB C API + jansson program (handwritten.h) doing the same work, in
 * one run, at 10k, 100k and 1M documents (BENCH_SCALE=1: 10k only).
 *
 * The documents and index entries are bench_leveldb's (5 indexed values).
 *   save: the baseline builds the document (json_pack) and saves it blind
 *         or exact (handwritten.h); the document layer sets the same
 *         values into a kvkit_doc_new document (kvkit_doc_attr_set), then
 *         kvkit_doc_save (validates, converts, indexes, saves) and
 *         kvkit_doc_destroy.
 *   get:  the baseline gets, parses and reads every field; the document
 *         layer kvkit_doc_get + the typed getters + kvkit_doc_destroy.
 * Three stores grow side by side (each saved to by its own code, then
 * compacted); sides alternate in rounds; figures are medians [min-max]
 * over rounds, instructions per operation under `make bench-callgrind`.
 */
#include <kvkit/kvkit.h>

#include "bench_util.h"
#include "handwritten.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct {
    hw_stores_t st;
    kvkit_schema_t *schema;
    size_t n;      /* documents in every store: ids [0, n) */
    size_t rounds; /* per measurement */
    size_t chunk;  /* saves and gets per round */
} D;

/* The properties of bd_make's documents: s string, i integer, r real,
 * b boolean; the indexed ones are bd_fields. */
static const struct {
    const char *name;
    char kind;
    int indexed;
} PROPS[] = {{"name", 's', 0},  {"email", 's', 1},  {"age", 'i', 1},
             {"city", 's', 1},  {"group", 's', 1},  {"kind", 's', 1},
             {"score", 'r', 0}, {"active", 'b', 0}, {"bio", 's', 0}};
#define N_PROPS (sizeof PROPS / sizeof PROPS[0])

static volatile size_t sink;

static kvkit_schema_t *make_schema(kvkit_store_t *st)
{
    static const kvkit_prop_kind_t kinds[] = {['s'] = KVKIT_PROP_STRING,
                                              ['i'] = KVKIT_PROP_INTEGER,
                                              ['r'] = KVKIT_PROP_NUMBER,
                                              ['b'] = KVKIT_PROP_BOOLEAN};
    kvkit_error_t err = {0};
    kvkit_schema_t *s;
    if (kvkit_schema_create("user", NULL, st, &s, &err))
        bu_die("schema", err.text);
    for (size_t p = 0; p < N_PROPS; p++)
        if (kvkit_schema_add(s, PROPS[p].name, kinds[(int)PROPS[p].kind],
                             PROPS[p].indexed ? KVKIT_PROP_INDEX : 0, NULL, &err))
            bu_die("schema", err.text);
    return s;
}

/*** the sides ***/

static size_t save_doc(void *ctx, size_t from, size_t to)
{
    for (size_t i = from; i < to; i++) {
        kvkit_error_t err = {0};
        char key[16];
        bd_key(key, i);
        json_t *values = bd_make(i, NULL), *v;
        const char *name;
        kvkit_doc_t *d;
        if (kvkit_doc_new(ctx, key, &d, &err))
            bu_die("document new", err.text);
        json_object_foreach(values, name, v)
        {
            if (kvkit_doc_attr_set(d, name, v, &err))
                bu_die("document set", err.text);
        }
        if (kvkit_doc_save(d, &err))
            bu_die("document save", err.text);
        kvkit_doc_destroy(d);
        json_decref(values);
    }
    return to - from;
}

static size_t get_hw(void *ctx, size_t from, size_t to)
{
    for (size_t i = from; i < to; i++) {
        char key[16];
        bd_key(key, bd_pick(i, D.n));
        json_t *o = hw_get(ctx, key);
        size_t acc = 0;
        for (size_t p = 0; p < N_PROPS; p++) {
            json_t *v = json_object_get(o, PROPS[p].name);
            if (PROPS[p].kind == 's')
                acc += strlen(json_string_value(v));
            else if (PROPS[p].kind == 'i')
                acc += (size_t)json_integer_value(v);
            else if (PROPS[p].kind == 'r')
                acc += (size_t)json_real_value(v);
            else
                acc += json_is_true(v);
        }
        sink += acc;
        json_decref(o);
    }
    return to - from;
}

/* Read property p of d through its typed getter. */
static size_t read_prop(const kvkit_doc_t *d, size_t p, kvkit_error_t *err)
{
    const char *s;
    int64_t n;
    double r;
    int b;
    const char *name = PROPS[p].name;
    if (PROPS[p].kind == 's')
        return kvkit_doc_attr_get_string(d, name, &s, err) ? 0 : strlen(s);
    if (PROPS[p].kind == 'i')
        return kvkit_doc_attr_get_integer(d, name, &n, err) ? 0 : (size_t)n;
    if (PROPS[p].kind == 'r')
        return kvkit_doc_attr_get_real(d, name, &r, err) ? 0 : (size_t)r;
    return kvkit_doc_attr_get_bool(d, name, &b, err) ? 0 : (size_t)b;
}

static size_t get_doc(void *ctx, size_t from, size_t to)
{
    for (size_t i = from; i < to; i++) {
        kvkit_error_t err = {0};
        char key[16];
        bd_key(key, bd_pick(i, D.n));
        kvkit_doc_t *d;
        if (kvkit_doc_get(ctx, key, &d, &err))
            bu_die("document get", err.text);
        size_t acc = 0;
        for (size_t p = 0; p < N_PROPS; p++)
            acc += read_prop(d, p, &err);
        if (err.code)
            bu_die("document getter", err.text);
        sink += acc;
        kvkit_doc_destroy(d);
    }
    return to - from;
}

/*** one store size ***/

static void grow(size_t scale)
{
    double t0 = bu_now();
    bu_side_t sides[3] = {{"blind", hw_run_save_blind, D.st.blind},
                          {"exact", hw_run_save_exact, D.st.exact},
                          {"document", save_doc, D.schema}};
    if (D.n < scale)
        bu_fill(sides, 3, D.n, scale, 5000);
    D.n = D.n > scale ? D.n : scale;
    kvkit_schema_destroy(D.schema);
    hw_stores_compact(&D.st);
    D.schema = make_schema(D.st.kv);
    printf("-- %zu documents in each store (filled and compacted in %.0f s)\n", D.n, bu_now() - t0);
}

static void measure(size_t scale)
{
    bu_side_t save[3] = {{"blind", hw_run_save_blind, D.st.blind},
                         {"exact", hw_run_save_exact, D.st.exact},
                         {"document", save_doc, D.schema}};
    bu_side_t get[2] = {{"blind", get_hw, D.st.blind}, {"document", get_doc, D.schema}};
    bu_result_t r;
    bu_compare(save, 3, D.n, D.chunk, D.rounds, &r);
    D.n += D.chunk * D.rounds;
    bu_print("document save of a new document", "document", save, &r);
    bu_print_ratio("exact", "blind", bu_ratio(&r, 1, 0));
    bu_goal("document save", scale, save, &r, 2, 0, 1.10);
    bu_goal("document save", scale, save, &r, 2, 1, 1.02);
    bu_compare(get, 2, 0, D.chunk, D.rounds, &r);
    bu_print("document get (random keys) + reading every field", "document", get, &r);
    bu_goal("document get", scale, get, &r, 1, 0, 1.10);
}

int main(void)
{
    bu_init("bench_document");
    size_t scales[BU_MAX_SCALES], n_scales = bu_scales(scales);
    D.rounds = bu_counting() ? 5 : 11;
    D.chunk = bu_counting() ? 200 : 500;
    hw_stores_open(&D.st, "bench-document");
    D.schema = make_schema(D.st.kv);
    printf("bench_document: the document layer on LevelDB against hand-written LevelDB +\n"
           "  jansson (blind and exact, see bench_leveldb), %zu documents per round%s\n",
           D.chunk, bu_counting() ? " (instructions counted: callgrind)" : "");
    for (size_t k = 0; k < n_scales; k++) {
        grow(scales[k]);
        measure(scales[k]);
    }
    kvkit_schema_destroy(D.schema);
    hw_stores_close(&D.st);
    return 0;
}
