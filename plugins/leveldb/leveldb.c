/*
 * leveldb.c - the embedded on-disk backend: one LevelDB database holding
 * documents, index entries and manifests in the shared ordered layout
 * (plugins/common/kvlayout.h).
 *
 *   leveldb:/path/to/dir?create_if_missing=true&error_if_exists=false
 *          &cache_mb=N&bloom_bits=10&compression=snappy|none
 *          &write_buffer_mb=N&max_open_files=N&block_size_kb=N
 *          &max_file_size_mb=N&bulk_load=false&sync=false&paranoid_checks=false
 *
 * (defaults shown; without cache_mb / write_buffer_mb and the three sizes
 * LevelDB's own 8 MiB block cache, 4 MiB write buffer, 1000 open files,
 * 4 KiB blocks and 2 MiB tables apply; bloom_bits=0 turns the filter off.
 * bulk_load picks smaller sizes for a load, see BULK_*.  paranoid_checks
 * also verifies checksums on every read.)
 *
 * Every save/delete/write_batch is one leveldb_writebatch, built and
 * committed under the store's write mutex so the manifest read and the
 * commit are one step.  Reads take no lock: LevelDB is thread-safe, and
 * scans read from one snapshot, so an index entry and the document it
 * points at come from the same state.
 *
 * Besides the ABI operations the plugin exports two maintenance functions
 * kvkit_backend_compact (an open store) and kvkit_backend_repair (a closed
 * database, by location and options).
 *
 * fork(): LevelDB runs compactions on one background thread per process,
 * started on first need, and that thread does not survive fork().  A child
 * forked after its parent used LevelDB must not use LevelDB (exec first):
 * its compactions would never run and closing a store would wait forever.
 *
 * Files: leveldb.c (this one: options, errors, the kvlayout engine, the
 * operations and views), claims.c (one claim per store in the process),
 * maintenance.c (compact, repair); leveldb_private.h is what they share.
 *
 * Names.  The plugin exports only its descriptor and operations
 * (leveldb_LTX_kvkit_backend_*).  A function shared between its files is
 * ldb_<verb> or ldb_<noun>_<verb> (ldb_claim, ldb_handle_new), after the
 * handle type ldb_t, and is declared in leveldb_private.h; everything else
 * is static and unprefixed.  Common code from plugins/common/ is kvl_.
 */
#include "leveldb_private.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*** errors ***/

int ldb_nomem(kvkit_error_t *err, const char *subject)
{
    return kvkit_backend_error(err, KVKIT_NOMEM, subject, "out of memory");
}

/* The kvkit code for a LevelDB status text ("Corruption: ...", ...). */
static int status_code(const char *msg)
{
    static const struct {
        const char *prefix;
        int code;
    } map[] = {
        {"Corruption:", KVKIT_CORRUPT},  {"IO error:", KVKIT_IO},
        {"Invalid argument:", KVKIT_INVALID}, {"Not implemented:", KVKIT_NOT_SUPPORTED},
        {"NotFound:", KVKIT_IO},
    };
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
        if (strncmp(msg, map[i].prefix, strlen(map[i].prefix)) == 0)
            return map[i].code;
    return KVKIT_BACKEND;
}

int ldb_engine_error(kvkit_error_t *err, const char *what, const char *subject, char *msg)
{
    int code = status_code(msg);
    kvkit_backend_error(err, code, subject, "%s \"%s\": %s%s", what, subject, msg,
                        code == KVKIT_CORRUPT
                            ? " (the database is damaged: repair it with `kvkit repair` or kvkit_repair(3))"
                            : "");
    leveldb_free(msg);
    return code;
}

/* "bucket/key" of a layout key, for messages; the raw bytes otherwise. */
static void describe_key(const unsigned char *k, size_t klen, char *out, size_t n)
{
    kvl_key_t d;
    if (kvl_key_decode(k, klen, &d) != KVKIT_OK)
        snprintf(out, n, "%.*s", (int)klen, (const char *)k);
    else if (d.type == KVL_REVISION)
        snprintf(out, n, "(revision counter)");
    else if (d.type == KVL_FILTER)
        snprintf(out, n, "(manifest filter)");
    else
        snprintf(out, n, "%.*s/%.*s", (int)d.bucket_len, d.bucket, (int)d.key_len, d.key);
}

/* The verb for a failed read of key k. */
static const char *read_verb(const unsigned char *k)
{
    return k[0] == KVL_DOC ? "get" : k[0] == KVL_MANIFEST ? "read index manifest of" : "read";
}

/*** kvlayout engine ***/

/* Point read with `ro`; the value comes back NUL-terminated (kvkit_store_get
 * promises it), in memory the caller frees with free(). */
static int read_key(ldb_t *h, const leveldb_readoptions_t *ro, const unsigned char *k,
                    size_t klen, char **v, size_t *vlen, kvkit_error_t *err)
{
    char *msg = NULL;
    size_t len = 0;
    char *p = leveldb_get(h->db, ro, (const char *)k, klen, &len, &msg);
    if (msg != NULL) {
        char subject[KVKIT_ERROR_SUBJECT_LENGTH];
        describe_key(k, klen, subject, sizeof subject);
        free(p);
        return ldb_engine_error(err, read_verb(k), subject, msg);
    }
    if (p == NULL)
        return KVKIT_NOTFOUND;
    char *t = realloc(p, len + 1); /* LevelDB allocates with malloc */
    if (t == NULL) {
        free(p);
        return ldb_nomem(err, "");
    }
    t[len] = '\0';
    *v = t;
    *vlen = len;
    return KVKIT_OK;
}

static int e_get(void *eng, const unsigned char *k, size_t klen, char **v, size_t *vlen,
                 kvkit_error_t *err)
{
    ldb_t *h = eng;
    return read_key(h, h->read, k, klen, v, vlen, err);
}

/* A batch: writers hold write_lock, so each store reuses one (its buffer
 * keeps its capacity); a second batch while it is busy gets its own. */
typedef struct batch batch_t;

static void *e_batch_new(void *eng)
{
    ldb_t *h = eng;
    if (!h->batch_busy) {
        h->batch_busy = true;
        leveldb_writebatch_clear(h->batch.wb);
        h->batch.bytes = 0;
        return &h->batch;
    }
    batch_t *b = malloc(sizeof *b);
    if (b != NULL) {
        b->h = h;
        b->wb = leveldb_writebatch_create();
        b->bytes = 0;
    }
    return b;
}

static int e_batch_put(void *vb, const unsigned char *k, size_t klen, const void *v,
                       size_t vlen)
{
    batch_t *b = vb;
    b->bytes += klen + vlen;
    leveldb_writebatch_put(b->wb, (const char *)k, klen, v, vlen);
    return KVKIT_OK;
}

static int e_batch_del(void *b, const unsigned char *k, size_t klen)
{
    leveldb_writebatch_delete(((batch_t *)b)->wb, (const char *)k, klen);
    return KVKIT_OK;
}

/* What a failed batch was about: its documents, found again in the batch. */
typedef struct batch_docs {
    size_t puts, dels;
    char first[KVKIT_ERROR_SUBJECT_LENGTH];
} batch_docs_t;

static void note_doc(batch_docs_t *d, const char *k, size_t klen, bool put)
{
    if (klen == 0 || k[0] != KVL_DOC)
        return;
    if (d->puts + d->dels == 0)
        describe_key((const unsigned char *)k, klen, d->first, sizeof d->first);
    put ? d->puts++ : d->dels++;
}

static void note_put(void *d, const char *k, size_t klen, const char *v, size_t vlen)
{
    note_doc(d, k, klen, true);
}

static void note_del(void *d, const char *k, size_t klen)
{
    note_doc(d, k, klen, false);
}

static int e_batch_commit(void *eng, void *b, kvkit_error_t *err)
{
    ldb_t *h = eng;
    char *msg = NULL;
    leveldb_writebatch_t *wb = ((batch_t *)b)->wb;
    leveldb_write(h->db, h->write, wb, &msg);
    if (msg == NULL)
        return KVKIT_OK;
    batch_docs_t d = {0};
    leveldb_writebatch_iterate(wb, &d, note_put, note_del);
    if (d.puts + d.dels == 1)
        return ldb_engine_error(err, d.puts ? "put" : "delete", d.first, msg);
    char what[64];
    snprintf(what, sizeof what, "write batch of %zu documents, first", d.puts + d.dels);
    return ldb_engine_error(err, what, d.first, msg);
}

static void e_batch_free(void *vb)
{
    batch_t *b = vb;
    if (b == &b->h->batch) {
        b->h->batch_busy = false;
        if (b->bytes > (1u << 20)) { /* give the memory of a big batch back */
            leveldb_writebatch_destroy(b->wb);
            b->wb = leveldb_writebatch_create();
        }
        return;
    }
    leveldb_writebatch_destroy(b->wb);
    free(b);
}

/* A view's snapshot is LevelDB's own. */
static void *e_snap_new(void *eng)
{
    return (void *)leveldb_create_snapshot(((ldb_t *)eng)->db);
}

static void e_snap_free(void *eng, void *snap)
{
    leveldb_release_snapshot(((ldb_t *)eng)->db, snap);
}

/* A scan or consistent read: a snapshot (the view's, or one of its own),
 * and an iterator over it made on the first seek (get_rev and iter_get
 * alone need no iterator). */
typedef struct iter {
    ldb_t *h;
    const leveldb_snapshot_t *snap;
    bool own_snap;
    leveldb_readoptions_t *ro;
    leveldb_iterator_t *it;
} iter_t;

static void *e_iter_new(void *eng, void *snap)
{
    ldb_t *h = eng;
    iter_t *it = calloc(1, sizeof *it);
    if (it == NULL)
        return NULL;
    it->h = h;
    it->own_snap = snap == NULL;
    it->snap = snap ? snap : leveldb_create_snapshot(h->db);
    it->ro = leveldb_readoptions_create();
    leveldb_readoptions_set_snapshot(it->ro, it->snap);
    leveldb_readoptions_set_verify_checksums(it->ro, h->paranoid);
    return it;
}

static void e_iter_seek(void *vit, const unsigned char *k, size_t klen)
{
    iter_t *it = vit;
    if (it->it == NULL)
        it->it = leveldb_create_iterator(it->h->db, it->ro);
    leveldb_iter_seek(it->it, (const char *)k, klen);
}

static int e_iter_valid(void *vit)
{
    iter_t *it = vit;
    return it->it != NULL && leveldb_iter_valid(it->it);
}

static void e_iter_next(void *vit)
{
    leveldb_iter_next(((iter_t *)vit)->it);
}

static const unsigned char *e_iter_key(void *vit, size_t *len)
{
    return (const unsigned char *)leveldb_iter_key(((iter_t *)vit)->it, len);
}

static const unsigned char *e_iter_value(void *vit, size_t *len)
{
    return (const unsigned char *)leveldb_iter_value(((iter_t *)vit)->it, len);
}

static int e_iter_status(void *vit, kvkit_error_t *err)
{
    iter_t *it = vit;
    char *msg = NULL;
    if (it->it != NULL)
        leveldb_iter_get_error(it->it, &msg);
    if (msg == NULL)
        return KVKIT_OK;
    char subject[KVKIT_ERROR_SUBJECT_LENGTH] = "";
    if (leveldb_iter_valid(it->it)) {
        size_t klen;
        const char *k = leveldb_iter_key(it->it, &klen);
        describe_key((const unsigned char *)k, klen, subject, sizeof subject);
    }
    return ldb_engine_error(err, "scan at", subject, msg);
}

static int e_iter_get(void *vit, const unsigned char *k, size_t klen, char **v, size_t *vlen,
                      kvkit_error_t *err)
{
    iter_t *it = vit;
    return read_key(it->h, it->ro, k, klen, v, vlen, err);
}

static void e_iter_free(void *vit)
{
    iter_t *it = vit;
    if (it->it != NULL)
        leveldb_iter_destroy(it->it);
    leveldb_readoptions_destroy(it->ro);
    if (it->own_snap)
        leveldb_release_snapshot(it->h->db, it->snap);
    free(it);
}

static const kvl_ops_t engine = {
    .get = e_get,
    .batch_new = e_batch_new,
    .batch_put = e_batch_put,
    .batch_del = e_batch_del,
    .batch_commit = e_batch_commit,
    .batch_free = e_batch_free,
    .snap_new = e_snap_new,
    .snap_free = e_snap_free,
    .iter_new = e_iter_new,
    .iter_seek = e_iter_seek,
    .iter_valid = e_iter_valid,
    .iter_next = e_iter_next,
    .iter_key = e_iter_key,
    .iter_value = e_iter_value,
    .iter_status = e_iter_status,
    .iter_get = e_iter_get,
    .iter_free = e_iter_free,
};

/*** options ***/

#define KNOWN_OPTIONS                                                                     \
    "create_if_missing, error_if_exists, cache_mb, bloom_bits, compression, "            \
    "write_buffer_mb, max_open_files, block_size_kb, max_file_size_mb, bulk_load, "      \
    "sync, paranoid_checks"

/* bulk_load=true: a load writes far more than it reads, and LevelDB reads
 * its tables through mmap, so every page a compaction reads stays in the
 * process's resident set until the table is closed: keep few tables open
 * (the table cache holds max_open_files - 10), make them small, and keep
 * the block cache, which only reads fill, small too. */
#define BULK_MAX_OPEN_FILES 74
#define BULK_MAX_FILE_SIZE_MB 1
#define BULK_CACHE_MB 1

/* The whole-number options: name, range, and where the value goes. */
static const struct uint_option {
    const char *name;
    uint64_t min, max;
    size_t offset;
} uint_options[] = {
    {"cache_mb", 1, 65536, offsetof(settings_t, cache_mb)},
    {"bloom_bits", 0, 64, offsetof(settings_t, bloom_bits)},
    {"write_buffer_mb", 1, 1024, offsetof(settings_t, write_buffer_mb)},
    /* the ranges LevelDB would clip these to (10 descriptors are its own) */
    {"max_open_files", 74, 50000, offsetof(settings_t, max_open_files)},
    {"block_size_kb", 1, 4096, offsetof(settings_t, block_size_kb)},
    {"max_file_size_mb", 1, 1024, offsetof(settings_t, max_file_size_mb)},
};

/* One option that is not a whole number; KVKIT_BAD_OPTION if it is unknown. */
static int parse_flag(const kvkit_backend_option_t *o, settings_t *s, kvkit_error_t *err)
{
    const char *k = o->key;
    if (strcmp(k, "create_if_missing") == 0)
        return kvkit_backend_option_bool(o, &s->create_if_missing, err);
    if (strcmp(k, "error_if_exists") == 0)
        return kvkit_backend_option_bool(o, &s->error_if_exists, err);
    if (strcmp(k, "sync") == 0)
        return kvkit_backend_option_bool(o, &s->sync, err);
    if (strcmp(k, "paranoid_checks") == 0)
        return kvkit_backend_option_bool(o, &s->paranoid, err);
    if (strcmp(k, "bulk_load") == 0)
        return kvkit_backend_option_bool(o, &s->bulk_load, err);
    if (strcmp(k, "compression") != 0)
        return kvkit_backend_error(err, KVKIT_BAD_OPTION, k,
                                   "unknown option \"%s\" (known: " KNOWN_OPTIONS ")", k);
    if (strcmp(o->value, "snappy") == 0)
        s->compression = leveldb_snappy_compression;
    else if (strcmp(o->value, "none") == 0)
        s->compression = leveldb_no_compression;
    else
        return kvkit_backend_error(err, KVKIT_BAD_OPTION, k,
                                   "option \"compression\": expected snappy or none, got \"%s\"",
                                   o->value);
    return KVKIT_OK;
}

static int parse_options(const kvkit_backend_option_t *o, size_t n, settings_t *s,
                         kvkit_error_t *err)
{
    *s = (settings_t){.create_if_missing = 1,
                      .bloom_bits = DEFAULT_BLOOM_BITS,
                      .compression = leveldb_snappy_compression};
    for (size_t i = 0; i < n; i++) {
        const struct uint_option *u = NULL;
        for (size_t j = 0; j < sizeof uint_options / sizeof uint_options[0] && !u; j++)
            if (strcmp(o[i].key, uint_options[j].name) == 0)
                u = &uint_options[j];
        int rc = u ? kvkit_backend_option_uint(&o[i], u->min, u->max,
                                               (uint64_t *)((char *)s + u->offset), err)
                   : parse_flag(&o[i], s, err);
        if (rc != KVKIT_OK)
            return rc;
    }
    if (s->bulk_load) { /* what the options left to LevelDB, sized for a load */
        s->max_open_files = s->max_open_files ? s->max_open_files : BULK_MAX_OPEN_FILES;
        s->max_file_size_mb = s->max_file_size_mb ? s->max_file_size_mb : BULK_MAX_FILE_SIZE_MB;
        s->cache_mb = s->cache_mb ? s->cache_mb : BULK_CACHE_MB;
    }
    return KVKIT_OK;
}

/* LevelDB options for `s`; the cache and filter are stored in h. */
static leveldb_options_t *make_options(const settings_t *s, ldb_t *h)
{
    leveldb_options_t *o = leveldb_options_create();
    leveldb_options_set_create_if_missing(o, (unsigned char)s->create_if_missing);
    leveldb_options_set_error_if_exists(o, (unsigned char)s->error_if_exists);
    leveldb_options_set_paranoid_checks(o, (unsigned char)s->paranoid);
    leveldb_options_set_compression(o, s->compression);
    if (s->write_buffer_mb)
        leveldb_options_set_write_buffer_size(o, (size_t)s->write_buffer_mb << 20);
    if (s->max_open_files)
        leveldb_options_set_max_open_files(o, (int)s->max_open_files);
    if (s->block_size_kb)
        leveldb_options_set_block_size(o, (size_t)s->block_size_kb << 10);
    if (s->max_file_size_mb)
        leveldb_options_set_max_file_size(o, (size_t)s->max_file_size_mb << 20);
    if (s->cache_mb) {
        h->cache = leveldb_cache_create_lru((size_t)s->cache_mb << 20);
        leveldb_options_set_cache(o, h->cache);
    }
    if (s->bloom_bits) {
        h->filter = leveldb_filterpolicy_create_bloom((int)s->bloom_bits);
        leveldb_options_set_filter_policy(o, h->filter);
    }
    return o;
}

/* Open/repair failures: a held lock gets its own code and a plain message. */
static int open_error(kvkit_error_t *err, const char *what, const char *path, char *msg)
{
    if (strncmp(msg, "IO error: lock ", 15) == 0) {
        bool here = strstr(msg, "already held by process") != NULL;
        kvkit_backend_error(err, KVKIT_LOCKED, path, "%s \"%s\": locked by %s: %s", what, path,
                            here ? "another open store in this process"
                                 : "another process",
                            msg);
        leveldb_free(msg);
        return KVKIT_LOCKED;
    }
    return ldb_engine_error(err, what, path, msg);
}

void ldb_free(ldb_t *h)
{
    if (h->db)
        leveldb_close(h->db);
    if (h->options)
        leveldb_options_destroy(h->options);
    if (h->cache)
        leveldb_cache_destroy(h->cache);
    if (h->filter)
        leveldb_filterpolicy_destroy(h->filter);
    if (h->read)
        leveldb_readoptions_destroy(h->read);
    if (h->write)
        leveldb_writeoptions_destroy(h->write);
    if (h->batch.wb)
        leveldb_writebatch_destroy(h->batch.wb);
    ldb_unclaim(h); /* after leveldb_close: the claim covers the whole life of the db */
    pthread_mutex_destroy(&h->write_lock);
    free(h);
}

/*** the backend ***/

const kvkit_backend_descriptor_t KVKIT_BACKEND_SYMBOL(kvkit_backend_descriptor) = {
    .abi_major = KVKIT_BACKEND_ABI_MAJOR,
    .abi_minor = KVKIT_BACKEND_ABI_MINOR,
    .struct_size = sizeof(kvkit_backend_descriptor_t),
    /* resident: LevelDB's background compaction thread lives as long as the
     * process, so libleveldb must never be unmapped under it */
    .flags = KVKIT_BACKEND_THREAD_SAFE | KVKIT_BACKEND_ORDERED | KVKIT_BACKEND_ATOMIC |
             KVKIT_BACKEND_ATOMIC_BATCH | KVKIT_BACKEND_DURABLE | KVKIT_BACKEND_RESIDENT |
             KVKIT_BACKEND_SNAPSHOT,
    .name = "leveldb",
    .version = "1.0",
    .description = "LevelDB database in a directory: leveldb:/path/to/dir?cache_mb=..&sync=..",
};

int ldb_handle_new(const char *location, const kvkit_backend_option_t *options,
                      size_t n_options, settings_t *s, ldb_t **out, kvkit_error_t *err)
{
    int rc = parse_options(options, n_options, s, err);
    if (rc != KVKIT_OK)
        return rc;
    if (location[0] == '\0')
        return kvkit_backend_error(err, KVKIT_INVALID, "",
                                   "a database directory is required (leveldb:/path/to/dir)");
    ldb_t *h = calloc(1, sizeof *h);
    if (h == NULL)
        return ldb_nomem(err, location);
    pthread_mutex_init(&h->write_lock, NULL);
    h->options = make_options(s, h);
    *out = h;
    return KVKIT_OK;
}

/* The directory of the store to open, made if missing: LevelDB makes it
 * anyway (whatever create_if_missing says), and making it first gives a new
 * store an identity to claim before LevelDB starts on it. */
static int open_dir(const char *location, struct stat *st, kvkit_error_t *err)
{
    int made = mkdir(location, 0755) == 0 ? 0 : errno;
    if (stat(location, st) == 0)
        return KVKIT_OK;
    int e = made != 0 && made != EEXIST ? made : errno;
    return kvkit_backend_error(err, KVKIT_IO, location, "open \"%s\": IO error: %s: %s",
                               location, location, strerror(e));
}

KVKIT_BACKEND_DECLARE(open);
int KVKIT_BACKEND_SYMBOL(kvkit_backend_open)(const char *location,
                                             const kvkit_backend_option_t *options,
                                             size_t n_options, void **handle,
                                             kvkit_error_t *err)
{
    settings_t s;
    ldb_t *h;
    struct stat st;
    int rc = ldb_handle_new(location, options, n_options, &s, &h, err);
    if (rc != KVKIT_OK)
        return rc;
    if ((rc = open_dir(location, &st, err)) != KVKIT_OK ||
        (rc = ldb_claim(h, "open", location, &st, "already open", err)) != KVKIT_OK) {
        ldb_free(h);
        return rc;
    }
    h->paranoid = s.paranoid;
    h->read = leveldb_readoptions_create();
    leveldb_readoptions_set_verify_checksums(h->read, (unsigned char)s.paranoid);
    h->write = leveldb_writeoptions_create();
    leveldb_writeoptions_set_sync(h->write, (unsigned char)s.sync);
    h->batch.h = h;
    h->batch.wb = leveldb_writebatch_create();
    char *msg = NULL;
    h->db = leveldb_open(h->options, location, &msg);
    if (msg != NULL) {
        h->db = NULL;
        ldb_free(h);
        return open_error(err, "open", location, msg);
    }
    h->layout = (kvl_t){
        .ops = &engine, .eng = h, .name = "leveldb", .write_mutex = &h->write_lock,
        .filter_mode = KVL_FILTER_STORED};
    if ((rc = kvl_open(&h->layout, err)) != KVKIT_OK) {
        ldb_free(h);
        return rc;
    }
    *handle = h;
    return KVKIT_OK;
}

KVKIT_BACKEND_DECLARE(close);
void KVKIT_BACKEND_SYMBOL(kvkit_backend_close)(void *handle)
{
    if (handle != NULL) {
        kvl_close(&((ldb_t *)handle)->layout); /* stores the manifest filter */
        ldb_free(handle);
    }
}

/* get, save, delete, scans and views: the shared kvlayout operations;
 * writers hold write_lock (set at open), readers read snapshots */
#define LAYOUT_OF(h) (&((ldb_t *)(h))->layout)
KVL_BACKEND_OPS(LAYOUT_OF)

