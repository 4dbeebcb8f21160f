/* handwritten.c - see handwritten.h. */
#include "handwritten.h"

#include "bench_util.h"

#include <leveldb/c.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/*** the database ***/

struct hw {
    leveldb_t *db;
    leveldb_options_t *opts;
    leveldb_filterpolicy_t *bloom;
    leveldb_readoptions_t *ro;
    leveldb_writeoptions_t *wo;
    leveldb_writebatch_t *wb;
};

static void check(char *err, const char *what)
{
    if (err) {
        fprintf(stderr, "handwritten: %s: %s\n", what, err);
        exit(1);
    }
}

hw_t *hw_open(const char *path, int sync)
{
    hw_t *h = calloc(1, sizeof *h);
    char *err = NULL;
    h->opts = leveldb_options_create();
    h->bloom = leveldb_filterpolicy_create_bloom(10);
    leveldb_options_set_filter_policy(h->opts, h->bloom);
    leveldb_options_set_create_if_missing(h->opts, 1);
    leveldb_options_set_compression(h->opts, leveldb_snappy_compression);
    h->db = leveldb_open(h->opts, path, &err);
    check(err, path);
    h->ro = leveldb_readoptions_create();
    h->wo = leveldb_writeoptions_create();
    leveldb_writeoptions_set_sync(h->wo, (unsigned char)sync);
    h->wb = leveldb_writebatch_create();
    return h;
}

void hw_close(hw_t *h)
{
    leveldb_writebatch_destroy(h->wb);
    leveldb_readoptions_destroy(h->ro);
    leveldb_writeoptions_destroy(h->wo);
    leveldb_close(h->db);
    leveldb_options_destroy(h->opts);
    leveldb_filterpolicy_destroy(h->bloom);
    free(h);
}

void hw_compact(hw_t *h)
{
    leveldb_compact_range(h->db, NULL, 0, NULL, 0);
}

static void hw_compact_path(const char *path)
{
    hw_t *h = hw_open(path, 0);
    hw_compact(h);
    hw_close(h);
}

/*** keys ***/

/* type "user" 0 key */
static size_t doc_like_key(char *out, char type, const char *key)
{
    size_t n = strlen(key);
    out[0] = type;
    memcpy(out + 1, "user", 5); /* with its NUL */
    memcpy(out + 6, key, n);
    return 6 + n;
}

/* 'x' field 0 value 0 key; integers as 8 sign-flipped big-endian bytes */
static size_t index_key(char *out, const char *field, const json_t *v, const char *key)
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

/*** saving ***/

typedef struct entries {
    char k[BD_FIELDS][160];
    size_t len[BD_FIELDS];
} entries_t;

static void doc_entries(const json_t *doc, const char *key, entries_t *e)
{
    for (int f = 0; f < BD_FIELDS; f++)
        e->len[f] = index_key(e->k[f], bd_fields[f], json_object_get(doc, bd_fields[f]), key);
}

/* Put the document (dumped) into the batch. */
static void put_doc(hw_t *h, const char *key, const json_t *doc)
{
    char k[64];
    char *text = json_dumps(doc, JSON_COMPACT);
    leveldb_writebatch_put(h->wb, k, doc_like_key(k, 'd', key), text, strlen(text));
    free(text);
}

static void write_batch(hw_t *h)
{
    char *err = NULL;
    leveldb_write(h->db, h->wo, h->wb, &err);
    check(err, "write");
}

void hw_save_blind(hw_t *h, const char *key, const json_t *doc)
{
    entries_t e;
    doc_entries(doc, key, &e);
    leveldb_writebatch_clear(h->wb);
    put_doc(h, key, doc);
    for (int f = 0; f < BD_FIELDS; f++)
        leveldb_writebatch_put(h->wb, e.k[f], e.len[f], "", 0);
    write_batch(h);
}

/* Is the index key k (len n) in the list [2-byte length][key]...? */
static int in_list(const char *list, size_t list_len, const char *k, size_t n)
{
    for (size_t o = 0; o + 2 <= list_len;) {
        size_t l = (size_t)(unsigned char)list[o] << 8 | (unsigned char)list[o + 1];
        if (l == n && memcmp(list + o + 2, k, n) == 0)
            return 1;
        o += 2 + l;
    }
    return 0;
}

/* The document, its index entries and its index list; the old list is read
 * (and its stale entries deleted) only when `read`. */
static void save_listed(hw_t *h, const char *key, const json_t *doc, int read)
{
    entries_t e;
    doc_entries(doc, key, &e);
    char lk[64], list[BD_FIELDS * 162];
    size_t lklen = doc_like_key(lk, 'l', key), old_len = 0, n = 0;
    char *err = NULL, *old = NULL;
    if (read)
        old = leveldb_get(h->db, h->ro, lk, lklen, &old_len, &err);
    check(err, "read index list");
    leveldb_writebatch_clear(h->wb);
    for (size_t o = 0; old && o + 2 <= old_len;) { /* entries it loses */
        size_t l = (size_t)(unsigned char)old[o] << 8 | (unsigned char)old[o + 1];
        int keep = 0;
        for (int f = 0; f < BD_FIELDS && !keep; f++)
            keep = e.len[f] == l && memcmp(e.k[f], old + o + 2, l) == 0;
        if (!keep)
            leveldb_writebatch_delete(h->wb, old + o + 2, l);
        o += 2 + l;
    }
    for (int f = 0; f < BD_FIELDS; f++) { /* entries it gains, and the new list */
        if (old == NULL || !in_list(old, old_len, e.k[f], e.len[f]))
            leveldb_writebatch_put(h->wb, e.k[f], e.len[f], "", 0);
        list[n++] = (char)(e.len[f] >> 8);
        list[n++] = (char)e.len[f];
        memcpy(list + n, e.k[f], e.len[f]);
        n += e.len[f];
    }
    leveldb_free(old);
    put_doc(h, key, doc);
    leveldb_writebatch_put(h->wb, lk, lklen, list, n);
    write_batch(h);
}

void hw_save_exact(hw_t *h, const char *key, const json_t *doc)
{
    save_listed(h, key, doc, 1);
}

void hw_save_listed(hw_t *h, const char *key, const json_t *doc)
{
    save_listed(h, key, doc, 0);
}

size_t hw_run_save_batch(void *ctx, size_t from, size_t to)
{
    hw_t *h = ctx;
    leveldb_writebatch_clear(h->wb);
    for (size_t i = from; i < to; i++) {
        char key[16];
        entries_t e;
        bd_key(key, i);
        json_t *doc = bd_make(i, NULL);
        doc_entries(doc, key, &e);
        put_doc(h, key, doc);
        for (int f = 0; f < BD_FIELDS; f++)
            leveldb_writebatch_put(h->wb, e.k[f], e.len[f], "", 0);
        json_decref(doc);
    }
    write_batch(h);
    return to - from;
}

static size_t run_saves(hw_t *h, size_t from, size_t to,
                        void (*save)(hw_t *, const char *, const json_t *))
{
    for (size_t i = from; i < to; i++) {
        char key[16];
        bd_key(key, i);
        json_t *doc = bd_make(i, NULL);
        save(h, key, doc);
        json_decref(doc);
    }
    return to - from;
}

size_t hw_run_save_blind(void *h, size_t from, size_t to)
{
    return run_saves(h, from, to, hw_save_blind);
}

size_t hw_run_save_exact(void *h, size_t from, size_t to)
{
    return run_saves(h, from, to, hw_save_exact);
}

size_t hw_run_save_listed(void *h, size_t from, size_t to)
{
    return run_saves(h, from, to, hw_save_listed);
}

/*** reading ***/

json_t *hw_get(hw_t *h, const char *key)
{
    char k[64], *err = NULL;
    size_t len;
    char *v = leveldb_get(h->db, h->ro, k, doc_like_key(k, 'd', key), &len, &err);
    check(err, "get");
    if (v == NULL)
        bu_die("handwritten get: absent", key);
    json_t *doc = json_loadb(v, len, 0, NULL);
    if (doc == NULL)
        bu_die("handwritten parse", key);
    leveldb_free(v);
    return doc;
}

/* The document of key (found in an index) handed to fn with it. */
static void found_doc(hw_t *h, const char *key, size_t key_len, hw_found_fn fn, void *ctx)
{
    char ks[32], k[64], *err = NULL;
    size_t len;
    memcpy(ks, key, key_len);
    ks[key_len] = '\0';
    char *doc = leveldb_get(h->db, h->ro, k, doc_like_key(k, 'd', ks), &len, &err);
    check(err, "get");
    if (doc == NULL)
        bu_die("handwritten lookup: document absent", ks);
    fn(ctx, key, key_len, doc, len);
    leveldb_free(doc);
}

size_t hw_lookup(hw_t *h, const char *field, const char *value, int docs, hw_found_fn fn, void *ctx)
{
    char prefix[128];
    json_t *v = json_string(value);
    size_t plen = index_key(prefix, field, v, ""), found = 0;
    json_decref(v);
    leveldb_iterator_t *it = leveldb_create_iterator(h->db, h->ro);
    for (leveldb_iter_seek(it, prefix, plen); leveldb_iter_valid(it); leveldb_iter_next(it)) {
        size_t klen;
        const char *k = leveldb_iter_key(it, &klen);
        if (klen < plen || memcmp(k, prefix, plen) != 0)
            break;
        if (docs)
            found_doc(h, k + plen, klen - plen, fn, ctx);
        else
            fn(ctx, k + plen, klen - plen, NULL, 0);
        found++;
    }
    leveldb_iter_destroy(it);
    return found;
}

/*** the three stores ***/

void hw_stores_open(hw_stores_t *s, const char *name)
{
    const char *keep = getenv("BENCH_STORES");
    s->kept = keep && *keep;
    if (s->kept) {
        if (strlen(keep) >= sizeof s->dir - 1)
            bu_die("BENCH_STORES", "path too long");
        snprintf(s->dir, sizeof s->dir, "%s", keep);
        if (mkdir(s->dir, 0755) != 0 && errno != EEXIST)
            bu_die("mkdir", s->dir);
    } else {
        snprintf(s->dir, sizeof s->dir, "/tmp/kvkit-%s-XXXXXX", name);
        if (mkdtemp(s->dir) == NULL)
            bu_die("mkdtemp", s->dir);
    }
    char path[600];
    snprintf(path, sizeof path, "%s/blind", s->dir);
    s->blind = hw_open(path, 0);
    snprintf(path, sizeof path, "%s/exact", s->dir);
    s->exact = hw_open(path, 0);
    snprintf(s->kv_path, sizeof s->kv_path, "%s/kvkit", s->dir);
    snprintf(s->uri, sizeof s->uri, "leveldb:%s", s->kv_path);
    kvkit_error_t err = {0};
    if ((s->kv = kvkit_store_open(s->uri, &err)) == NULL)
        bu_die("open", err.text);
}

void hw_stores_compact(hw_stores_t *s)
{
    hw_compact(s->blind);
    hw_compact(s->exact);
    kvkit_store_close(s->kv);
    hw_compact_path(s->kv_path);
    kvkit_error_t err = {0};
    if ((s->kv = kvkit_store_open(s->uri, &err)) == NULL)
        bu_die("reopen", err.text);
}

size_t hw_stores_filled(const hw_stores_t *s)
{
    char path[600];
    unsigned long long n = 0;
    snprintf(path, sizeof path, "%s/filled", s->dir);
    FILE *f = fopen(path, "r");
    if (f != NULL) {
        if (fscanf(f, "%llu", &n) != 1)
            n = 0;
        fclose(f);
    }
    return (size_t)n;
}

void hw_stores_set_filled(const hw_stores_t *s, size_t n)
{
    char path[600];
    snprintf(path, sizeof path, "%s/filled", s->dir);
    FILE *f = s->kept ? fopen(path, "w") : NULL;
    if (f != NULL) {
        fprintf(f, "%zu\n", n);
        fclose(f);
    }
}

void hw_stores_close(hw_stores_t *s)
{
    kvkit_store_close(s->kv);
    hw_close(s->blind);
    hw_close(s->exact);
    if (s->kept)
        return;
    char cmd[320];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", s->dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", s->dir);
}
