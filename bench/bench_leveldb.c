/*
 * bench_leveldb - the leveldb backend against hand-written LevelDB + jansson
 * code doing the same work, in the same run.
 *
 *   bench_leveldb [N]           N documents (default 100000), wall-clock
 *   bench_leveldb --callgrind   2000 documents, for valgrind --tool=callgrind
 *                               (`make bench-leveldb-callgrind` prints
 *                               instructions per operation)
 *
 * Documents are ~250 bytes of JSON with 5 indexed values (email: unique,
 * age: integer, city: 200 values, group: N/1000 values, so a query on it
 * returns ~1000 keys; kind: one value for all).  Baseline ("raw"): build the object with jansson, dump it, put it
 * and 5 index keys (field, value, key) in one leveldb_writebatch; get +
 * json_loadb; index query = prefix scan of the index keys (+ one get per
 * key).  kvkit: the same JSON, kvkit_store_save with a kvkit_index_set_t,
 * kvkit_store_get + json_loadb, kvkit_store_index_keys / _index_docs.
 * Both stores use the same LevelDB options (bloom 10 bits, snappy, no
 * sync).  Work is done in alternating rounds (raw, kvkit, raw, ...) so
 * machine noise hits both; each figure is the median over rounds.
 *
 * Last: saving a document whose indexed value ("kind") is shared by all N
 * others against one whose value is unique - both through kvkit.
 */
#include <kvkit/kvkit.h>

#include <jansson.h>
#include <leveldb/c.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define ROUNDS 10
#define NOINLINE __attribute__((noinline))

static size_t n_docs = 100000;
static size_t n_groups = 100; /* "group" values: about 1000 documents each */
static int callgrind;

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* CPU time of the whole process, LevelDB's background thread included. */
static double cpu_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void die(const char *what, const char *msg)
{
    fprintf(stderr, "bench_leveldb: %s: %s\n", what, msg ? msg : "failed");
    exit(1);
}

static int dcmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v, size_t n)
{
    qsort(v, n, sizeof *v, dcmp);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/*** the documents ***/

static void doc_key(char *buf, size_t i)
{
    sprintf(buf, "u%07zu", i);
}

/* The document of i (a new object); `kind` overrides "user". */
static json_t *make_doc(size_t i, const char *kind)
{
    char name[32], email[64], city[32], group[32];
    snprintf(name, sizeof name, "User %zu", i);
    snprintf(email, sizeof email, "user%zu@example.com", i);
    snprintf(city, sizeof city, "city-%03zu", (i * 7) % 200);
    snprintf(group, sizeof group, "g%02zu", i % n_groups);
    return json_pack("{s:s,s:s,s:i,s:s,s:s,s:s,s:f,s:b,s:s}", "name", name, "email", email,
                     "age", (int)(18 + (i * 13) % 70), "city", city, "group", group, "kind",
                     kind ? kind : "user", "score", (double)(i % 1000) / 8.0, "active",
                     (int)(i % 3 != 0), "bio",
                     "Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do "
                     "eiusmod tempor incididunt ut labore et dolore magna aliqua.");
}

static const char *const fields[5] = {"email", "age", "city", "group", "kind"};

/*** the hand-written baseline ***/

typedef struct raw {
    leveldb_t *db;
    leveldb_options_t *opts;
    leveldb_filterpolicy_t *bloom;
    leveldb_readoptions_t *ro;
    leveldb_writeoptions_t *wo;
    leveldb_writebatch_t *wb;
} raw_t;

static void raw_open(raw_t *r, const char *path)
{
    char *err = NULL;
    r->opts = leveldb_options_create();
    r->bloom = leveldb_filterpolicy_create_bloom(10);
    leveldb_options_set_filter_policy(r->opts, r->bloom);
    leveldb_options_set_create_if_missing(r->opts, 1);
    leveldb_options_set_compression(r->opts, leveldb_snappy_compression);
    r->db = leveldb_open(r->opts, path, &err);
    if (err)
        die("raw open", err);
    r->ro = leveldb_readoptions_create();
    r->wo = leveldb_writeoptions_create();
    r->wb = leveldb_writebatch_create();
}

static void raw_close(raw_t *r)
{
    leveldb_writebatch_destroy(r->wb);
    leveldb_readoptions_destroy(r->ro);
    leveldb_writeoptions_destroy(r->wo);
    leveldb_close(r->db);
    leveldb_options_destroy(r->opts);
    leveldb_filterpolicy_destroy(r->bloom);
}

/* 'd' bucket 0 key */
static size_t raw_doc_key(char *out, const char *key)
{
    size_t n = strlen(key);
    memcpy(out, "duser", 6); /* with its NUL */
    memcpy(out + 6, key, n);
    return 6 + n;
}

/* 'x' field 0 value 0 key; integers as 8 sign-flipped big-endian bytes */
static size_t raw_index_key(char *out, const char *field, const json_t *v, const char *key)
{
    size_t o = 0, n = strlen(field);
    out[o++] = 'x';
    memcpy(out + o, field, n + 1);
    o += n + 1;
    if (json_is_integer(v)) {
        uint64_t u = (uint64_t)json_integer_value(v) ^ (1ULL << 63);
        for (int b = 7; b >= 0; b--)
            out[o++] = (char)(u >> (8 * b));
    } else {
        n = json_string_length(v);
        memcpy(out + o, json_string_value(v), n);
        o += n;
    }
    out[o++] = 0;
    n = strlen(key);
    memcpy(out + o, key, n);
    return o + n;
}

static NOINLINE void cg_raw_save(raw_t *r, size_t from, size_t to)
{
    char key[32], k[256];
    for (size_t i = from; i < to; i++) {
        doc_key(key, i);
        json_t *doc = make_doc(i, NULL);
        char *text = json_dumps(doc, JSON_COMPACT);
        leveldb_writebatch_clear(r->wb);
        leveldb_writebatch_put(r->wb, k, raw_doc_key(k, key), text, strlen(text));
        for (int f = 0; f < 5; f++)
            leveldb_writebatch_put(r->wb, k,
                                   raw_index_key(k, fields[f], json_object_get(doc, fields[f]),
                                                 key),
                                   "", 0);
        char *err = NULL;
        leveldb_write(r->db, r->wo, r->wb, &err);
        if (err)
            die("raw write", err);
        free(text);
        json_decref(doc);
    }
}

static NOINLINE void cg_raw_get(raw_t *r, const size_t *order, size_t from, size_t to)
{
    char key[32], k[64];
    for (size_t i = from; i < to; i++) {
        doc_key(key, order[i]);
        char *err = NULL;
        size_t len;
        char *v = leveldb_get(r->db, r->ro, k, raw_doc_key(k, key), &len, &err);
        if (err || v == NULL)
            die("raw get", err);
        json_t *doc = json_loadb(v, len, 0, NULL);
        if (doc == NULL)
            die("raw parse", key);
        json_decref(doc);
        leveldb_free(v);
    }
}

typedef struct sink {
    size_t keys, bytes;
} sink_t;

static int sink_key(void *ctx, const char *key, size_t len)
{
    sink_t *s = ctx;
    s->keys++;
    s->bytes += len + (unsigned char)key[0];
    return 0;
}

static int sink_doc(void *ctx, const char *key, size_t key_len, const char *value,
                    size_t value_len)
{
    sink_t *s = ctx;
    json_t *doc = json_loadb(value, value_len, 0, NULL);
    if (doc == NULL)
        die("parse", key);
    json_decref(doc);
    s->keys++;
    s->bytes += key_len;
    return 0;
}

/* group == g: seek to the prefix, take each key after it. */
static void raw_scan(raw_t *r, const char *group, kvkit_key_fn fn, sink_t *s, int docs)
{
    char prefix[64], k[64];
    json_t *v = json_string(group);
    size_t plen = raw_index_key(prefix, "group", v, "");
    json_decref(v);
    leveldb_iterator_t *it = leveldb_create_iterator(r->db, r->ro);
    for (leveldb_iter_seek(it, prefix, plen); leveldb_iter_valid(it); leveldb_iter_next(it)) {
        size_t klen;
        const char *key = leveldb_iter_key(it, &klen);
        if (klen < plen || memcmp(key, prefix, plen) != 0)
            break;
        if (!docs) {
            fn(s, key + plen, klen - plen);
            continue;
        }
        char ks[32];
        memcpy(ks, key + plen, klen - plen);
        ks[klen - plen] = '\0';
        char *err = NULL;
        size_t len;
        char *doc = leveldb_get(r->db, r->ro, k, raw_doc_key(k, ks), &len, &err);
        if (err || doc == NULL)
            die("raw get", err);
        sink_doc(s, key + plen, klen - plen, doc, len);
        leveldb_free(doc);
    }
    leveldb_iter_destroy(it);
}

static NOINLINE void cg_raw_query_keys(raw_t *r, const char *group, sink_t *s)
{
    raw_scan(r, group, sink_key, s, 0);
}

static NOINLINE void cg_raw_query_docs(raw_t *r, const char *group, sink_t *s)
{
    raw_scan(r, group, NULL, s, 1);
}

/*** the same through kvkit ***/

static void kv_save_doc(kvkit_store_t *s, kvkit_index_set_t *set, size_t i, const char *kind)
{
    char key[32];
    doc_key(key, i);
    json_t *doc = make_doc(i, kind);
    char *text = json_dumps(doc, JSON_COMPACT);
    kvkit_index_set_clear(set);
    kvkit_error_t err = {0};
    for (int f = 0; f < 5; f++)
        if (kvkit_index_set_add(set, fields[f], json_object_get(doc, fields[f]), &err))
            die("index set", err.text);
    if (kvkit_store_save(s, "user", key, text, strlen(text), set, &err) != KVKIT_OK)
        die("kvkit save", err.text);
    free(text);
    json_decref(doc);
}

static NOINLINE void cg_kvkit_save(kvkit_store_t *s, kvkit_index_set_t *set, size_t from,
                                   size_t to)
{
    for (size_t i = from; i < to; i++)
        kv_save_doc(s, set, i, NULL);
}

static NOINLINE void cg_kvkit_get(kvkit_store_t *s, const size_t *order, size_t from,
                                  size_t to)
{
    char key[32];
    for (size_t i = from; i < to; i++) {
        doc_key(key, order[i]);
        char *v = NULL;
        size_t len;
        kvkit_error_t err = {0};
        if (kvkit_store_get(s, "user", key, &v, &len, &err) != KVKIT_OK)
            die("kvkit get", err.text);
        json_t *doc = json_loadb(v, len, 0, NULL);
        if (doc == NULL)
            die("kvkit parse", key);
        json_decref(doc);
        free(v);
    }
}

static NOINLINE void cg_kvkit_query_keys(kvkit_store_t *s, const char *group, sink_t *sink)
{
    json_t *v = json_string(group);
    kvkit_error_t err = {0};
    if (kvkit_store_index_keys(s, "user", "group", v, NULL, sink_key, sink, &err) != KVKIT_OK)
        die("kvkit index_keys", err.text);
    json_decref(v);
}

static NOINLINE void cg_kvkit_query_docs(kvkit_store_t *s, const char *group, sink_t *sink)
{
    json_t *v = json_string(group);
    kvkit_error_t err = {0};
    if (kvkit_store_index_docs(s, "user", "group", v, NULL, sink_doc, sink, &err) != KVKIT_OK)
        die("kvkit index_docs", err.text);
    json_decref(v);
}

/* Extra documents after the load: kind shared by every document, or unique. */
static NOINLINE void cg_kvkit_save_shared(kvkit_store_t *s, kvkit_index_set_t *set,
                                          size_t from, size_t to)
{
    for (size_t i = from; i < to; i++)
        kv_save_doc(s, set, i, "user");
}

static NOINLINE void cg_kvkit_save_unique(kvkit_store_t *s, kvkit_index_set_t *set,
                                          size_t from, size_t to)
{
    char kind[32];
    for (size_t i = from; i < to; i++) {
        snprintf(kind, sizeof kind, "kind-%zu", i);
        kv_save_doc(s, set, i, kind);
    }
}

/* Compact the kvkit store's database (libkvkit has no compact call yet):
 * close the store, compact the directory with the same options, reopen. */
static kvkit_store_t *kv_compact(kvkit_store_t *kv, const char *uri, const char *path)
{
    kvkit_store_close(kv);
    raw_t r;
    raw_open(&r, path);
    leveldb_compact_range(r.db, NULL, 0, NULL, 0);
    raw_close(&r);
    kvkit_error_t err = {0};
    if ((kv = kvkit_store_open(uri, &err)) == NULL)
        die("reopen", err.text);
    return kv;
}

/*** driver ***/

static void report(const char *what, const char *unit, double raw, double kv, double goal)
{
    printf("%-34s raw %8.2f us  kvkit %8.2f us  ratio %5.2fx", what, raw * 1e6, kv * 1e6,
           kv / raw);
    if (goal > 0)
        printf("  (goal <= %.2fx: %s)", goal, kv / raw <= goal ? "met" : "NOT met");
    printf("  per %s\n", unit);
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "--callgrind") == 0) {
        callgrind = 1;
        n_docs = 2000;
    } else if (argc > 1) {
        n_docs = strtoul(argv[1], NULL, 10);
        if (n_docs < 1000)
            die("usage", "bench_leveldb [N >= 1000] | --callgrind");
    }
    n_groups = n_docs / 1000;
    char dir[] = "/tmp/kvkit-bench-leveldb-XXXXXX";
    if (mkdtemp(dir) == NULL)
        die("mkdtemp", dir);
    char path[256], uri[300];
    snprintf(path, sizeof path, "%s/raw", dir);
    raw_t raw;
    raw_open(&raw, path);
    snprintf(uri, sizeof uri, "leveldb:%s/kvkit", dir);
    kvkit_error_t err = {0};
    kvkit_store_t *kv = kvkit_store_open(uri, &err);
    if (kv == NULL)
        die("open", err.text);
    char kv_path[256];
    snprintf(kv_path, sizeof kv_path, "%s/kvkit", dir);
    kvkit_index_set_t *set = kvkit_index_set_create();
    json_t *sample = make_doc(12345, NULL);
    char *sample_text = json_dumps(sample, JSON_COMPACT);
    printf("bench_leveldb: %zu documents of ~%zu bytes, 5 indexed values, LevelDB %d.%d%s\n",
           n_docs, strlen(sample_text), leveldb_major_version(), leveldb_minor_version(),
           callgrind ? " (callgrind)" : "");
    free(sample_text);
    json_decref(sample);

    /* save: halves in turn (raw, kvkit, raw, kvkit), each followed by a full
     * compaction of its own database, so compaction work (LevelDB's one
     * background thread per process) is charged to the store that caused
     * it and both stores are compacted alike for the reads that follow */
    double save_wall[2] = {0, 0}, save_cpu[2] = {0, 0}, comp_wall[2] = {0, 0};
    size_t half = n_docs / 2;
    for (int h = 0; h < 2; h++) {
        for (int side = 0; side < 2; side++) {
            double w0 = now(), c0 = cpu_now();
            if (side == 0)
                cg_raw_save(&raw, h * half, (h + 1) * half);
            else
                cg_kvkit_save(kv, set, h * half, (h + 1) * half);
            double w1 = now();
            if (side == 0)
                leveldb_compact_range(raw.db, NULL, 0, NULL, 0);
            else
                kv = kv_compact(kv, uri, kv_path);
            save_wall[side] += w1 - w0;
            comp_wall[side] += now() - w1;
            save_cpu[side] += cpu_now() - c0;
        }
    }
    double nd = (double)(2 * half);
    report("save (build+dump+put, 5 indexes)", "document", save_wall[0] / nd, save_wall[1] / nd,
           1.15);
    report("  + its compaction, wall", "document", (save_wall[0] + comp_wall[0]) / nd,
           (save_wall[1] + comp_wall[1]) / nd, 0);
    report("  + its compaction, process CPU", "document", save_cpu[0] / nd, save_cpu[1] / nd,
           0);
    size_t chunk = n_docs / ROUNDS;
    double t_raw[ROUNDS], t_kv[ROUNDS];

    /* get + parse, random order */
    size_t *order = malloc(n_docs * sizeof *order);
    uint64_t x = 88172645463325252ULL;
    for (size_t i = 0; i < n_docs; i++)
        order[i] = i;
    for (size_t i = n_docs - 1; i > 0; i--) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        size_t j = (size_t)(x % (i + 1)), t = order[i];
        order[i] = order[j];
        order[j] = t;
    }
    for (int r = 0; r < ROUNDS; r++) {
        double t0 = now();
        cg_raw_get(&raw, order, r * chunk, (r + 1) * chunk);
        double t1 = now();
        cg_kvkit_get(kv, order, r * chunk, (r + 1) * chunk);
        double t2 = now();
        t_raw[r] = (t1 - t0) / (double)chunk;
        t_kv[r] = (t2 - t1) / (double)chunk;
    }
    report("get + json_loadb (random keys)", "document", median(t_raw, ROUNDS),
           median(t_kv, ROUNDS), 1.15);

    /* index queries: group gNN matches n/100 documents */
    int queries = callgrind ? 5 : 50;
    double *q_raw = malloc(queries * sizeof *q_raw), *q_kv = malloc(queries * sizeof *q_kv);
    sink_t sr = {0}, sk = {0};
    for (int q = 0; q < queries; q++) {
        char group[32];
        snprintf(group, sizeof group, "g%02zu", (size_t)q * 37 % n_groups);
        sink_t a = {0}, b = {0};
        double t0 = now();
        cg_raw_query_keys(&raw, group, &a);
        double t1 = now();
        cg_kvkit_query_keys(kv, group, &b);
        double t2 = now();
        if (a.keys != b.keys || a.keys == 0)
            die("query", "raw and kvkit disagree on the number of keys");
        q_raw[q] = (t1 - t0) / (double)a.keys;
        q_kv[q] = (t2 - t1) / (double)b.keys;
        sr.keys += a.keys;
        sk.keys += b.keys;
    }
    report("index query, keys only", "key", median(q_raw, queries), median(q_kv, queries),
           1.5);
    size_t query_keys = sr.keys;
    sr.keys = sk.keys = 0;
    for (int q = 0; q < queries; q++) {
        char group[32];
        snprintf(group, sizeof group, "g%02zu", ((size_t)q * 37 + 11) % n_groups);
        sink_t a = {0}, b = {0};
        double t0 = now();
        cg_raw_query_docs(&raw, group, &a);
        double t1 = now();
        cg_kvkit_query_docs(kv, group, &b);
        double t2 = now();
        if (a.keys != b.keys || a.keys == 0)
            die("query", "raw and kvkit disagree on the number of documents");
        q_raw[q] = (t1 - t0) / (double)a.keys;
        q_kv[q] = (t2 - t1) / (double)b.keys;
        sr.keys += a.keys;
    }
    report("index query + get + parse", "document", median(q_raw, queries),
           median(q_kv, queries), 0);
    size_t doc_keys = sr.keys;

    /* a value shared by all n documents costs what a unique one does */
    size_t extra = callgrind ? 1000 : 5000, part = extra / ROUNDS;
    for (int r = 0; r < ROUNDS; r++) {
        size_t base = n_docs + 2 * (size_t)r * part;
        double t0 = now();
        cg_kvkit_save_shared(kv, set, base, base + part);
        double t1 = now();
        cg_kvkit_save_unique(kv, set, base + part, base + 2 * part);
        double t2 = now();
        t_raw[r] = (t2 - t1) / (double)part; /* unique: the reference */
        t_kv[r] = (t1 - t0) / (double)part;
    }
    double unique = median(t_raw, ROUNDS), shared = median(t_kv, ROUNDS);
    printf("%-34s unique %6.2f us  shared by %zu %6.2f us  ratio %5.2fx\n",
           "save, indexed value shared/unique", unique * 1e6, n_docs, shared * 1e6,
           shared / unique);

    if (callgrind) {
        /* operation counts, for instructions per operation */
        printf("ops cg_raw_save %zu\nops cg_kvkit_save %zu\n", chunk * ROUNDS, chunk * ROUNDS);
        printf("ops cg_raw_get %zu\nops cg_kvkit_get %zu\n", chunk * ROUNDS, chunk * ROUNDS);
        printf("ops cg_raw_query_keys %zu\nops cg_kvkit_query_keys %zu\n", query_keys,
               query_keys);
        printf("ops cg_raw_query_docs %zu\nops cg_kvkit_query_docs %zu\n", doc_keys, doc_keys);
        printf("ops cg_kvkit_save_shared %zu\nops cg_kvkit_save_unique %zu\n", part * ROUNDS,
               part * ROUNDS);
    }
    kvkit_index_set_destroy(set);
    kvkit_store_close(kv);
    raw_close(&raw);
    free(order);
    free(q_raw);
    free(q_kv);
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "bench_leveldb: could not remove %s\n", dir);
    return 0;
}
