/*
 * leveldb.c - the embedded on-disk backend: one LevelDB database holding
 * documents, index entries and manifests in the shared ordered layout
 * (plugins/common/kvlayout.h).
 *
 *   leveldb:/path/to/dir?create_if_missing=true&error_if_exists=false
 *          &cache_mb=N&bloom_bits=10&compression=snappy|none
 *          &write_buffer_mb=N&sync=false&paranoid_checks=false
 *
 * (defaults shown; without cache_mb / write_buffer_mb LevelDB's own 8 MiB
 * block cache and 4 MiB write buffer apply; bloom_bits=0 turns the filter
 * off.  paranoid_checks also verifies checksums on every read.)
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
 */
#define KVKIT_BACKEND_NAME leveldb
#include <kvkit/backend.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <leveldb/c.h>

#include "../common/kvlayout.h"

#define DEFAULT_BLOOM_BITS 10

typedef struct ldb {
    leveldb_t *db;
    leveldb_options_t *options;
    leveldb_cache_t *cache;
    leveldb_filterpolicy_t *filter;
    leveldb_readoptions_t *read;
    leveldb_writeoptions_t *write;
    bool paranoid;
    pthread_mutex_t write_lock; /* guards layout.revision and the batch below */
    struct batch {
        struct ldb *h;
        leveldb_writebatch_t *wb;
        size_t bytes; /* put so far: a big batch is not kept */
    } batch;         /* reused by every write (under write_lock) */
    bool batch_busy;
    kvl_t layout;
    struct claim *claim; /* this process's claim on the store (see below) */
} ldb_t;

/*** errors ***/

static int nomem(kvkit_error_t *err, const char *subject)
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

/* Report a LevelDB error (msg is freed): `what "subject": <LevelDB text>`,
 * with a hint to repair when LevelDB found corruption. */
static int engine_error(kvkit_error_t *err, const char *what, const char *subject, char *msg)
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
        return engine_error(err, read_verb(k), subject, msg);
    }
    if (p == NULL)
        return KVKIT_NOTFOUND;
    char *t = realloc(p, len + 1); /* LevelDB allocates with malloc */
    if (t == NULL) {
        free(p);
        return nomem(err, "");
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
        return engine_error(err, d.puts ? "put" : "delete", d.first, msg);
    char what[64];
    snprintf(what, sizeof what, "write batch of %zu documents, first", d.puts + d.dels);
    return engine_error(err, what, d.first, msg);
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
    return engine_error(err, "scan at", subject, msg);
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
    "write_buffer_mb, sync, paranoid_checks"

typedef struct settings {
    int create_if_missing, error_if_exists, sync, paranoid;
    uint64_t cache_mb, bloom_bits, write_buffer_mb;
    int compression;
} settings_t;

static int parse_options(const kvkit_backend_option_t *o, size_t n, settings_t *s,
                         kvkit_error_t *err)
{
    *s = (settings_t){.create_if_missing = 1,
                      .bloom_bits = DEFAULT_BLOOM_BITS,
                      .compression = leveldb_snappy_compression};
    for (size_t i = 0; i < n; i++) {
        const char *k = o[i].key;
        int rc;
        if (strcmp(k, "create_if_missing") == 0)
            rc = kvkit_backend_option_bool(&o[i], &s->create_if_missing, err);
        else if (strcmp(k, "error_if_exists") == 0)
            rc = kvkit_backend_option_bool(&o[i], &s->error_if_exists, err);
        else if (strcmp(k, "sync") == 0)
            rc = kvkit_backend_option_bool(&o[i], &s->sync, err);
        else if (strcmp(k, "paranoid_checks") == 0)
            rc = kvkit_backend_option_bool(&o[i], &s->paranoid, err);
        else if (strcmp(k, "cache_mb") == 0)
            rc = kvkit_backend_option_uint(&o[i], 1, 65536, &s->cache_mb, err);
        else if (strcmp(k, "bloom_bits") == 0)
            rc = kvkit_backend_option_uint(&o[i], 0, 64, &s->bloom_bits, err);
        else if (strcmp(k, "write_buffer_mb") == 0)
            rc = kvkit_backend_option_uint(&o[i], 1, 1024, &s->write_buffer_mb, err);
        else if (strcmp(k, "compression") == 0) {
            rc = KVKIT_OK;
            if (strcmp(o[i].value, "snappy") == 0)
                s->compression = leveldb_snappy_compression;
            else if (strcmp(o[i].value, "none") == 0)
                s->compression = leveldb_no_compression;
            else
                rc = kvkit_backend_error(err, KVKIT_BAD_OPTION, k,
                                         "option \"compression\": expected snappy or none, "
                                         "got \"%s\"",
                                         o[i].value);
        } else
            rc = kvkit_backend_error(err, KVKIT_BAD_OPTION, k,
                                     "unknown option \"%s\" (known: " KNOWN_OPTIONS ")", k);
        if (rc != KVKIT_OK)
            return rc;
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
    return engine_error(err, what, path, msg);
}

/*** one claim per store in this process ***/

/* LevelDB keeps other processes out of a database with an fcntl() lock on
 * its LOCK file, but that lock cannot tell two opens in one process apart:
 * fcntl locks never conflict with their own process, closing any
 * descriptor of the file drops them, and LevelDB's table of the locks it
 * holds is keyed by the path as spelled.  "/d/db/." (or a symlink, or a
 * relative path) opened beside "/d/db" would succeed, and its close would
 * drop the lock under the other handle and let another process in.
 *
 * So a store is known by its directory's device and inode: this process
 * claims it before LevelDB opens or repairs it, and gives the claim back
 * after LevelDB has closed it.  A second claim is KVKIT_LOCKED. */

typedef struct claim {
    struct claim *next;
    dev_t dev;
    ino_t ino;
    const char *state; /* "already open", "being repaired": for messages */
    char location[];   /* as its claimant spelled it */
} claim_t;

static pthread_mutex_t claims_lock = PTHREAD_MUTEX_INITIALIZER;
static claim_t *claims;
static pthread_once_t claims_once = PTHREAD_ONCE_INIT;

/* A forked child holds none of its parent's stores (fcntl locks are not
 * inherited), so it starts with no claims, and with the mutex free: fork()
 * waits for it.  (These handlers stay mapped: the plugin is resident.) */
static void claims_prepare(void)
{
    pthread_mutex_lock(&claims_lock);
}

static void claims_parent(void)
{
    pthread_mutex_unlock(&claims_lock);
}

static void claims_child(void)
{
    claims = NULL; /* not freed: the parent's handles, copied here, point at them */
    pthread_mutex_unlock(&claims_lock);
}

/* Should registering fail (ENOMEM), a child just inherits the list: its
 * opens of its parent's stores are refused, as the parent's lock would. */
static void claims_init(void)
{
    (void)pthread_atfork(claims_prepare, claims_parent, claims_child);
}

/* Claim the store whose directory is `st` for h, or answer KVKIT_LOCKED
 * naming the spelling it is held under.  `what` is the operation, and
 * `state` what it makes of the store, for the message a second claim gets. */
static int claim(ldb_t *h, const char *what, const char *location, const struct stat *st,
                 const char *state, kvkit_error_t *err)
{
    pthread_once(&claims_once, claims_init);
    size_t n = strlen(location) + 1;
    claim_t *c = malloc(sizeof *c + n);
    if (c == NULL)
        return nomem(err, location);
    *c = (claim_t){.dev = st->st_dev, .ino = st->st_ino, .state = state};
    memcpy(c->location, location, n);
    int rc = KVKIT_OK;
    pthread_mutex_lock(&claims_lock);
    const claim_t *held = claims;
    while (held != NULL && (held->dev != c->dev || held->ino != c->ino))
        held = held->next;
    if (held == NULL) {
        c->next = claims;
        claims = h->claim = c;
    } else
        rc = kvkit_backend_error(err, KVKIT_LOCKED, location,
                                 "%s \"%s\": this store is %s in this process (as \"%s\")",
                                 what, location, held->state, held->location);
    pthread_mutex_unlock(&claims_lock);
    if (rc != KVKIT_OK)
        free(c);
    return rc;
}

/* Give back h's claim, if it has one. */
static void unclaim(ldb_t *h)
{
    if (h->claim == NULL)
        return;
    pthread_mutex_lock(&claims_lock);
    claim_t **p = &claims;
    while (*p != NULL && *p != h->claim)
        p = &(*p)->next;
    if (*p != NULL) { /* else a parent's claim, in a forked child */
        *p = h->claim->next;
        free(h->claim);
    }
    pthread_mutex_unlock(&claims_lock);
    h->claim = NULL;
}

static void ldb_free(ldb_t *h)
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
    unclaim(h); /* after leveldb_close: the claim covers the whole life of the db */
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

/* What open and repair share: parse and check the options and location,
 * and a handle with its LevelDB options built from them. */
static int handle_new(const char *location, const kvkit_backend_option_t *options,
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
        return nomem(err, location);
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
    int rc = handle_new(location, options, n_options, &s, &h, err);
    if (rc != KVKIT_OK)
        return rc;
    if ((rc = open_dir(location, &st, err)) != KVKIT_OK ||
        (rc = claim(h, "open", location, &st, "already open", err)) != KVKIT_OK) {
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
    h->layout = (kvl_t){.ops = &engine, .eng = h, .name = "leveldb"};
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
    if (handle != NULL)
        ldb_free(handle);
}

KVKIT_BACKEND_DECLARE(get);
int KVKIT_BACKEND_SYMBOL(kvkit_backend_get)(void *h, const char *bucket, const char *key,
                                            char **value, size_t *value_len,
                                            kvkit_error_t *err)
{
    return kvl_get(&((ldb_t *)h)->layout, NULL, bucket, key, value, value_len, err);
}

KVKIT_BACKEND_DECLARE(get_rev);
int KVKIT_BACKEND_SYMBOL(kvkit_backend_get_rev)(void *h, const char *bucket, const char *key,
                                                char **value, size_t *value_len,
                                                uint64_t *revision, kvkit_error_t *err)
{
    return kvl_get_rev(&((ldb_t *)h)->layout, bucket, key, value, value_len, revision, err);
}

KVKIT_BACKEND_DECLARE(save);
int KVKIT_BACKEND_SYMBOL(kvkit_backend_save)(void *vh, const char *bucket, const char *key,
                                             const char *value, size_t value_len,
                                             const kvkit_index_entry_t *entries,
                                             size_t n_entries, kvkit_error_t *err)
{
    ldb_t *h = vh;
    pthread_mutex_lock(&h->write_lock);
    int rc = kvl_save(&h->layout, bucket, key, value, value_len, entries, n_entries, err);
    pthread_mutex_unlock(&h->write_lock);
    return rc;
}

KVKIT_BACKEND_DECLARE(save_if);
int KVKIT_BACKEND_SYMBOL(kvkit_backend_save_if)(void *vh, const char *bucket, const char *key,
                                                const char *value, size_t value_len,
                                                const kvkit_index_entry_t *entries,
                                                size_t n_entries, uint64_t expected,
                                                uint64_t *new_revision, kvkit_error_t *err)
{
    ldb_t *h = vh;
    pthread_mutex_lock(&h->write_lock);
    int rc = kvl_save_if(&h->layout, bucket, key, value, value_len, entries, n_entries,
                         expected, new_revision, err);
    pthread_mutex_unlock(&h->write_lock);
    return rc;
}

KVKIT_BACKEND_DECLARE(delete);
int KVKIT_BACKEND_SYMBOL(kvkit_backend_delete)(void *vh, const char *bucket, const char *key,
                                               kvkit_error_t *err)
{
    ldb_t *h = vh;
    pthread_mutex_lock(&h->write_lock);
    int rc = kvl_delete(&h->layout, bucket, key, err);
    pthread_mutex_unlock(&h->write_lock);
    return rc;
}

KVKIT_BACKEND_DECLARE(write_batch);
int KVKIT_BACKEND_SYMBOL(kvkit_backend_write_batch)(void *vh, const kvkit_backend_write_t *w,
                                                    size_t n, kvkit_error_t *err)
{
    ldb_t *h = vh;
    pthread_mutex_lock(&h->write_lock);
    int rc = kvl_write_batch(&h->layout, w, n, err);
    pthread_mutex_unlock(&h->write_lock);
    return rc;
}

KVKIT_BACKEND_DECLARE(index_lookup);
int KVKIT_BACKEND_SYMBOL(kvkit_backend_index_lookup)(
    void *h, const char *bucket, const char *field, const kvkit_index_value_t *lo,
    const kvkit_index_value_t *hi, const kvkit_index_position_t *after,
    kvkit_backend_key_fn fn, void *ctx, kvkit_error_t *err)
{
    return kvl_index_lookup(&((ldb_t *)h)->layout, NULL, bucket, field, lo, hi, after, fn, NULL, ctx,
                            err);
}

KVKIT_BACKEND_DECLARE(index_docs);
int KVKIT_BACKEND_SYMBOL(kvkit_backend_index_docs)(
    void *h, const char *bucket, const char *field, const kvkit_index_value_t *lo,
    const kvkit_index_value_t *hi, const kvkit_index_position_t *after,
    kvkit_backend_doc_fn fn, void *ctx, kvkit_error_t *err)
{
    return kvl_index_lookup(&((ldb_t *)h)->layout, NULL, bucket, field, lo, hi, after, NULL, fn, ctx,
                            err);
}

KVKIT_BACKEND_DECLARE(list_keys);
int KVKIT_BACKEND_SYMBOL(kvkit_backend_list_keys)(void *h, const char *bucket,
                                                  const char *lo, const char *hi,
                                                  kvkit_backend_key_fn fn, void *ctx,
                                                  kvkit_error_t *err)
{
    return kvl_list_keys(&((ldb_t *)h)->layout, NULL, bucket, lo, hi, fn, ctx, err);
}

/*** views: a LevelDB snapshot held across an iteration's pages ***/

typedef struct view {
    ldb_t *h;
    void *snap;
} view_t;

KVKIT_BACKEND_DECLARE(view_open);
int KVKIT_BACKEND_SYMBOL(kvkit_backend_view_open)(void *h, void **view, kvkit_error_t *err)
{
    view_t *v = malloc(sizeof *v);
    if (v == NULL)
        return kvkit_backend_error(err, KVKIT_NOMEM, "", "leveldb: out of memory");
    v->h = h;
    v->snap = e_snap_new(h);
    *view = v;
    return KVKIT_OK;
}

KVKIT_BACKEND_DECLARE(view_close);
void KVKIT_BACKEND_SYMBOL(kvkit_backend_view_close)(void *h, void *view)
{
    view_t *v = view;
    if (v == NULL)
        return;
    e_snap_free(h, v->snap);
    free(v);
}

KVKIT_BACKEND_DECLARE(view_get);
int KVKIT_BACKEND_SYMBOL(kvkit_backend_view_get)(void *view, const char *bucket, const char *key,
                                                 char **value, size_t *value_len,
                                                 kvkit_error_t *err)
{
    view_t *v = view;
    return kvl_get(&v->h->layout, v->snap, bucket, key, value, value_len, err);
}

KVKIT_BACKEND_DECLARE(view_index_lookup);
int KVKIT_BACKEND_SYMBOL(kvkit_backend_view_index_lookup)(
    void *view, const char *bucket, const char *field, const kvkit_index_value_t *lo,
    const kvkit_index_value_t *hi, const kvkit_index_position_t *after,
    kvkit_backend_key_fn fn, void *ctx, kvkit_error_t *err)
{
    view_t *v = view;
    return kvl_index_lookup(&v->h->layout, v->snap, bucket, field, lo, hi, after, fn, NULL, ctx,
                            err);
}

KVKIT_BACKEND_DECLARE(view_index_docs);
int KVKIT_BACKEND_SYMBOL(kvkit_backend_view_index_docs)(
    void *view, const char *bucket, const char *field, const kvkit_index_value_t *lo,
    const kvkit_index_value_t *hi, const kvkit_index_position_t *after,
    kvkit_backend_doc_fn fn, void *ctx, kvkit_error_t *err)
{
    view_t *v = view;
    return kvl_index_lookup(&v->h->layout, v->snap, bucket, field, lo, hi, after, NULL, fn, ctx,
                            err);
}

KVKIT_BACKEND_DECLARE(view_list_keys);
int KVKIT_BACKEND_SYMBOL(kvkit_backend_view_list_keys)(void *view, const char *bucket,
                                                       const char *lo, const char *hi,
                                                       kvkit_backend_key_fn fn, void *ctx,
                                                       kvkit_error_t *err)
{
    view_t *v = view;
    return kvl_list_keys(&v->h->layout, v->snap, bucket, lo, hi, fn, ctx, err);
}

/*** maintenance (ABI 1.1 optional ops) ***/

/* compact: the whole database of an open store - drops deleted and
 * overwritten entries and rewrites it into fewer, sorted files; safe while
 * other threads read and write.  repair: the database at a location no
 * process has open, with LevelDB's repairer, which salvages every readable
 * record into a new manifest (records in damaged blocks are lost). */

KVKIT_BACKEND_DECLARE(compact);
int KVKIT_BACKEND_SYMBOL(kvkit_backend_compact)(void *vh, kvkit_error_t *err)
{
    ldb_t *h = vh;
    leveldb_compact_range(h->db, NULL, 0, NULL, 0);
    /* the C API returns no status: a background error (say, a full disk
     * during compaction) is what the next write sees, so make one */
    char *msg = NULL;
    leveldb_writebatch_t *empty = leveldb_writebatch_create();
    leveldb_write(h->db, h->write, empty, &msg);
    leveldb_writebatch_destroy(empty);
    return msg ? engine_error(err, "compact", "", msg) : KVKIT_OK;
}

/* Whether dir holds files a LevelDB database is made of (tables, logs,
 * manifests), as opposed to being absent or empty. */
static bool has_database_files(const char *dir)
{
    DIR *d = opendir(dir);
    if (d == NULL)
        return false;
    bool found = false;
    struct dirent *e;
    while (!found && (e = readdir(d)) != NULL) {
        const char *n = e->d_name, *dot = strrchr(n, '.');
        found = strncmp(n, "MANIFEST-", 9) == 0 ||
                (dot && (strcmp(dot, ".ldb") == 0 || strcmp(dot, ".sst") == 0 ||
                         strcmp(dot, ".log") == 0));
    }
    closedir(d);
    return found;
}

/* Make sure nobody has the database open and keep everyone out while the
 * repair runs: LevelDB's repairer takes no lock of its own (RepairDB never
 * calls LockFile).  This process is kept out by a claim on the store,
 * other processes by the fcntl lock on LOCK that LevelDB's open takes.
 * The claim comes first: the lock cannot see this process's own opens, and
 * closing *fd drops every lock this process has on the file. */
static int lock_for_repair(ldb_t *h, const char *location, int *fd, kvkit_error_t *err)
{
    struct stat st;
    if (stat(location, &st) != 0)
        return kvkit_backend_error(err, KVKIT_NOTFOUND, location,
                                   "repair \"%s\": no database there: %s", location,
                                   strerror(errno));
    int rc = claim(h, "repair", location, &st, "being repaired", err);
    if (rc != KVKIT_OK)
        return rc;
    /* LevelDB's repairer "repairs" a directory that holds no database by
     * creating an empty one: refuse instead of reporting success.  (A
     * database that lost its CURRENT file still has table and log files:
     * that is what repair is for.) */
    if (!has_database_files(location))
        return kvkit_backend_error(err, KVKIT_NOTFOUND, location,
                                   "repair \"%s\": no database there (no table, log or "
                                   "manifest file)",
                                   location);
    char path[4096];
    if ((size_t)snprintf(path, sizeof path, "%s/LOCK", location) >= sizeof path)
        return kvkit_backend_error(err, KVKIT_INVALID, location,
                                   "repair \"%s\": path too long", location);
    /* created if missing, as LevelDB's open does, so that an open starting
     * now meets the lock */
    if ((*fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644)) < 0)
        return kvkit_backend_error(err, KVKIT_IO, location, "repair \"%s\": lock %s: %s",
                                   location, path, strerror(errno));
    struct flock lk = {.l_type = F_WRLCK, .l_whence = SEEK_SET};
    if (fcntl(*fd, F_SETLK, &lk) == 0)
        return KVKIT_OK;
    int e = errno;
    close(*fd);
    *fd = -1;
    return kvkit_backend_error(err, KVKIT_LOCKED, location,
                               "repair \"%s\": locked by another process: lock %s: %s",
                               location, path, strerror(e));
}

KVKIT_BACKEND_DECLARE(repair);
int KVKIT_BACKEND_SYMBOL(kvkit_backend_repair)(const char *location,
                                               const kvkit_backend_option_t *options,
                                               size_t n_options, kvkit_error_t *err)
{
    settings_t s;
    ldb_t *h;
    int rc = handle_new(location, options, n_options, &s, &h, err);
    if (rc != KVKIT_OK)
        return rc;
    int lock_fd = -1;
    rc = lock_for_repair(h, location, &lock_fd, err);
    /* the repairer keeps only blocks whose checksums match, so that it
     * salvages records rather than garbage */
    leveldb_options_set_paranoid_checks(h->options, 1);
    char *msg = NULL;
    if (rc == KVKIT_OK)
        leveldb_repair_db(h->options, location, &msg);
    if (lock_fd >= 0)
        close(lock_fd);
    ldb_free(h);
    if (rc != KVKIT_OK)
        return rc;
    return msg ? engine_error(err, "repair", location, msg) : KVKIT_OK;
}
