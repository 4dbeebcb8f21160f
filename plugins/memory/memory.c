/*
 * memory.c - the in-process backend: an ordered skip list of byte keys with
 * the shared document/index layout (kvlayout) on top.
 *
 * get/save/delete are O(log n) (plus the document's own index entries);
 * index_lookup and list_keys are O(log n + k).  One rwlock per store: reads
 * share it, a save or delete holds it exclusively, so a document and its
 * index entries change together.  "memory:" is a private store per open;
 * "memory:NAME" is shared by every open of NAME in the process and lives
 * until its last close.  Views (KVKIT_BACKEND_SNAPSHOT) read the skip list
 * as of one commit: nodes keep older versions while a view may need them.
 *
 *   memory.c    the backend operations, the store's lock, shared named
 *               stores, and the kvlayout engine ops over the skip list
 *   skiplist.c  the versioned skip list: nodes, versions, snapshots,
 *               pruning (skiplist.h)
 *
 * Names.  The plugin exports only its descriptor and operations
 * (memory_LTX_kvkit_backend_*).  A function shared between its files
 * carries the prefix of the file's interface: sl_ for the skip list
 * (skiplist.h); everything in memory.c is static and unprefixed.  Common
 * code from plugins/common/ is kvl_.
 */
#define KVKIT_BACKEND_NAME memory
#include <kvkit/backend.h>

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "../common/kvlbackend.h"
#include "skiplist.h"

typedef struct mem {
    pthread_rwlock_t lock;
    kvl_t layout;
    sl_t *list;
    /* for shared stores */
    char *name;
    unsigned refs;
    struct mem *next_shared;
} mem_t;

/*** kvlayout engine ops (called with the store's lock held) ***/

static int get_at(const mem_t *m, uint64_t seq, const unsigned char *k, size_t klen, char **v,
                  size_t *vlen, kvkit_error_t *err)
{
    size_t n;
    const unsigned char *x = sl_get(m->list, seq, k, klen, &n);
    if (x == NULL)
        return KVKIT_NOTFOUND;
    if ((*v = malloc(n + 1)) == NULL)
        return kvkit_backend_error(err, KVKIT_NOMEM, "", "memory: out of memory");
    memcpy(*v, x, n);
    (*v)[n] = '\0';
    *vlen = n;
    return KVKIT_OK;
}

static int e_get(void *eng, const unsigned char *k, size_t klen, char **v, size_t *vlen,
                 kvkit_error_t *err)
{
    return get_at(eng, SL_SEQ_LIVE, k, klen, v, vlen, err);
}

static void *e_batch_new(void *eng)
{
    return sl_batch_new(((mem_t *)eng)->list);
}

static int e_batch_put(void *b, const unsigned char *k, size_t klen, const void *v, size_t vlen)
{
    return sl_batch_put(b, k, klen, v, vlen) == 0 ? KVKIT_OK : KVKIT_NOMEM;
}

static int e_batch_del(void *b, const unsigned char *k, size_t klen)
{
    return sl_batch_del(b, k, klen) == 0 ? KVKIT_OK : KVKIT_NOMEM;
}

static int e_batch_commit(void *eng, void *b, kvkit_error_t *err)
{
    sl_batch_commit(b);
    return KVKIT_OK;
}

static void e_batch_free(void *b)
{
    sl_batch_free(b);
}

/* Called with the read lock held (view_open); the snapshot is the last
 * commit. */
static void *e_snap_new(void *eng)
{
    return sl_snap_open(((mem_t *)eng)->list);
}

/* Called with the write lock held (view_close). */
static void e_snap_free(void *eng, void *snap)
{
    sl_snap_close(((mem_t *)eng)->list, snap);
}

typedef struct iter {
    mem_t *m;
    uint64_t seq;
    const sl_node_t *cur;
} iter_t;

static void *e_iter_new(void *eng, void *snap)
{
    iter_t *it = calloc(1, sizeof *it);
    if (it) {
        it->m = eng;
        it->seq = sl_snap_seq(snap);
    }
    return it;
}

static void e_iter_seek(void *vit, const unsigned char *k, size_t klen)
{
    iter_t *it = vit;
    it->cur = sl_seek(it->m->list, it->seq, k, klen);
}

static int e_iter_valid(void *vit)
{
    return ((iter_t *)vit)->cur != NULL;
}

static void e_iter_next(void *vit)
{
    iter_t *it = vit;
    it->cur = sl_next(it->cur, it->seq);
}

static const unsigned char *e_iter_key(void *vit, size_t *len)
{
    return sl_node_key(((iter_t *)vit)->cur, len);
}

static const unsigned char *e_iter_value(void *vit, size_t *len)
{
    iter_t *it = vit;
    return sl_node_value(it->cur, it->seq, len);
}

static int e_iter_status(void *vit, kvkit_error_t *err)
{
    return KVKIT_OK;
}

static int e_iter_get(void *vit, const unsigned char *k, size_t klen, char **v, size_t *vlen,
                      kvkit_error_t *err)
{
    iter_t *it = vit;
    return get_at(it->m, it->seq, k, klen, v, vlen, err);
}

static void e_iter_free(void *vit)
{
    free(vit);
}

static const struct kvl_ops engine = {
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

static mem_t *mem_new(void)
{
    mem_t *m = calloc(1, sizeof *m);
    if (m == NULL)
        return NULL;
    if ((m->list = sl_new()) == NULL) {
        free(m);
        return NULL;
    }
    pthread_rwlock_init(&m->lock, NULL);
    m->layout = (kvl_t){.ops = &engine,
                        .eng = m,
                        .name = "memory",
                        .rwlock = &m->lock,
                        .filter_mode = KVL_FILTER_EPHEMERAL};
    return m;
}

static void mem_free(mem_t *m)
{
    kvl_close(&m->layout);
    sl_free(m->list);
    pthread_rwlock_destroy(&m->lock);
    free(m->name);
    free(m);
}

/*** shared named stores ***/

static pthread_mutex_t shared_lock = PTHREAD_MUTEX_INITIALIZER;
static mem_t *shared;

/*** the backend ***/

const kvkit_backend_descriptor_t KVKIT_BACKEND_SYMBOL(kvkit_backend_descriptor) = {
    .abi_major = KVKIT_BACKEND_ABI_MAJOR,
    .abi_minor = KVKIT_BACKEND_ABI_MINOR,
    .struct_size = sizeof(kvkit_backend_descriptor_t),
    .flags = KVKIT_BACKEND_THREAD_SAFE | KVKIT_BACKEND_ORDERED | KVKIT_BACKEND_ATOMIC |
             KVKIT_BACKEND_ATOMIC_BATCH | KVKIT_BACKEND_SNAPSHOT,
    .name = "memory",
    .version = "1.0",
    .description = "in-process ordered store (skip list); memory:NAME is shared in the process",
};

KVKIT_BACKEND_DECLARE(open);
int KVKIT_BACKEND_SYMBOL(kvkit_backend_open)(const char *location,
                                             const kvkit_backend_option_t *options,
                                             size_t n_options, void **handle,
                                             kvkit_error_t *err)
{
    if (n_options > 0)
        return kvkit_backend_error(err, KVKIT_BAD_OPTION, options[0].key,
                                   "memory: unknown option \"%s\" (the memory backend takes none)",
                                   options[0].key);
    if (location[0] == '\0') {
        if ((*handle = mem_new()) == NULL)
            return kvkit_backend_error(err, KVKIT_NOMEM, "", "memory: out of memory");
        return KVKIT_OK;
    }
    pthread_mutex_lock(&shared_lock);
    mem_t *m;
    for (m = shared; m; m = m->next_shared)
        if (strcmp(m->name, location) == 0)
            break;
    if (m == NULL) {
        if ((m = mem_new()) == NULL || (m->name = strdup(location)) == NULL) {
            if (m)
                mem_free(m);
            pthread_mutex_unlock(&shared_lock);
            return kvkit_backend_error(err, KVKIT_NOMEM, location, "memory: out of memory");
        }
        m->next_shared = shared;
        shared = m;
    }
    m->refs++;
    pthread_mutex_unlock(&shared_lock);
    *handle = m;
    return KVKIT_OK;
}

KVKIT_BACKEND_DECLARE(close);
void KVKIT_BACKEND_SYMBOL(kvkit_backend_close)(void *handle)
{
    mem_t *m = handle;
    if (m == NULL)
        return;
    if (m->name == NULL) {
        mem_free(m);
        return;
    }
    pthread_mutex_lock(&shared_lock);
    if (--m->refs == 0) {
        for (mem_t **pp = &shared; *pp; pp = &(*pp)->next_shared)
            if (*pp == m) {
                *pp = m->next_shared;
                break;
            }
        mem_free(m);
    }
    pthread_mutex_unlock(&shared_lock);
}

/* get, save, delete, scans and views: the shared kvlayout operations, with
 * the store's rwlock (set at open) */
#define LAYOUT_OF(h) (&((mem_t *)(h))->layout)
KVL_BACKEND_OPS(LAYOUT_OF)
