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
 */
#define KVKIT_BACKEND_NAME memory
#include <kvkit/backend.h>

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "../common/kvlayout.h"

#define MAX_LEVEL 24

/*** the skip list, with versions for views ***/

/* A node holds one key and its versions, newest first.  A commit gives each
 * version it writes the commit's sequence number; a deletion is a version
 * too (`dead`) while a view may still need what it hides.  A view reads, at
 * each node, the newest version with seq <= the view's: the store as of the
 * view's commit.  Without open views a node keeps only its newest version
 * and a deleted key leaves the list at once, so the cost of views is paid
 * only while one is open. */
typedef struct version {
    struct version *older;
    uint64_t seq;
    bool dead;
    size_t value_len;
    unsigned char value[];
} version_t;

typedef struct node {
    unsigned char *key; /* in the node's own allocation */
    size_t key_len;
    version_t *v;        /* newest first; never NULL while linked */
    bool pending;        /* on the store's list of nodes to prune */
    struct node *next_pending;
    int level;
    struct node *next[]; /* level entries */
} node_t;

/* An open view: the commit it reads at.  Views are kept in opening order,
 * so the oldest (the one that needs the most history) is first. */
typedef struct snap {
    uint64_t seq;
    struct snap *prev, *next;
} snap_t;

typedef struct mem {
    pthread_rwlock_t lock;
    kvl_t layout;
    node_t *head;
    int level;
    uint64_t rng;
    uint64_t seq; /* the last commit */
    /* views: opened under the read lock (snap_lock orders them), closed
     * under the write lock */
    pthread_mutex_t snap_lock;
    snap_t *snaps, *snaps_tail;
    node_t *pending; /* nodes holding history that views may need */
    /* for shared stores */
    char *name;
    unsigned refs;
    struct mem *next_shared;
} mem_t;

#define SEQ_LIVE UINT64_MAX /* reads of the current state */

static int key_cmp(const unsigned char *a, size_t alen, const unsigned char *b, size_t blen)
{
    int c = memcmp(a, b, alen < blen ? alen : blen);
    return c ? c : (alen > blen) - (alen < blen);
}

static node_t *node_new(int level, const void *k, size_t klen)
{
    node_t *n = malloc(sizeof *n + (size_t)level * sizeof(node_t *) + klen + 1);
    if (n == NULL)
        return NULL;
    n->level = level;
    for (int i = 0; i < level; i++)
        n->next[i] = NULL;
    n->key = (unsigned char *)&n->next[level];
    n->key_len = klen;
    if (klen)
        memcpy(n->key, k, klen);
    n->v = NULL;
    n->pending = false;
    n->next_pending = NULL;
    return n;
}

static version_t *version_new(const void *v, size_t vlen, bool dead)
{
    version_t *x = malloc(sizeof *x + vlen + 1);
    if (x == NULL)
        return NULL;
    x->older = NULL;
    x->seq = 0;
    x->dead = dead;
    x->value_len = vlen;
    if (vlen)
        memcpy(x->value, v, vlen);
    return x;
}

static void versions_free(version_t *x)
{
    while (x) {
        version_t *older = x->older;
        free(x);
        x = older;
    }
}

static void node_free(node_t *n)
{
    versions_free(n->v);
    free(n);
}

/* What a reader at `seq` sees at n: a live version, or NULL. */
static const version_t *visible(const node_t *n, uint64_t seq)
{
    const version_t *x = n->v;
    while (x && x->seq > seq)
        x = x->older;
    return x && !x->dead ? x : NULL;
}

/* The oldest commit an open view reads at (SEQ_LIVE: no view is open).
 * Called with the write lock held. */
static uint64_t horizon(const mem_t *m)
{
    return m->snaps ? m->snaps->seq : SEQ_LIVE;
}

/* Drop the versions no reader can see: every version newer than the oldest
 * view, and the newest of those at or below it, are kept.  Returns true
 * when what is left is one live version (nothing more to prune later). */
static bool prune(node_t *n, uint64_t h)
{
    version_t *x = n->v;
    while (x->seq > h && x->older)
        x = x->older;
    versions_free(x->older);
    x->older = NULL;
    return n->v->older == NULL && !n->v->dead;
}

/* True when the node can leave the list: deleted, and no view sees it. */
static bool gone(const node_t *n, uint64_t h)
{
    return n->v->dead && n->v->older == NULL && (h == SEQ_LIVE || n->v->seq <= h);
}

static int random_level(mem_t *m)
{
    /* xorshift64; a level per 4 nodes keeps lists short and shallow */
    int level = 1;
    while (level < MAX_LEVEL) {
        m->rng ^= m->rng << 13;
        m->rng ^= m->rng >> 7;
        m->rng ^= m->rng << 17;
        if ((m->rng & 3) != 0)
            break;
        level++;
    }
    return level;
}

/* Fill update[] with the last node before k on each level; returns the
 * first node >= k (or NULL). */
static node_t *find_ge(const mem_t *m, const unsigned char *k, size_t klen, node_t **update)
{
    node_t *x = m->head;
    for (int i = m->level - 1; i >= 0; i--) {
        while (x->next[i] && key_cmp(x->next[i]->key, x->next[i]->key_len, k, klen) < 0)
            x = x->next[i];
        if (update)
            update[i] = x;
    }
    return x->next[0];
}

static void sl_unlink(mem_t *m, node_t *x, node_t **update)
{
    for (int i = 0; i < x->level; i++)
        update[i]->next[i] = x->next[i];
}

static void mark_pending(mem_t *m, node_t *n)
{
    if (n->pending)
        return;
    n->pending = true;
    n->next_pending = m->pending;
    m->pending = n;
}

/* Apply one prepared write at commit `seq`: `ver` becomes the key's newest
 * version; `spare` is a node for a key not in the list yet (it is used,
 * and set to NULL, only then).  Cannot fail. */
static void sl_write(mem_t *m, uint64_t seq, const unsigned char *k, size_t klen,
                     version_t *ver, node_t **spare)
{
    node_t *update[MAX_LEVEL];
    uint64_t h = horizon(m);
    ver->seq = seq;
    node_t *x = find_ge(m, k, klen, update);
    if (x == NULL || key_cmp(x->key, x->key_len, k, klen) != 0) {
        if (ver->dead || *spare == NULL) { /* deleting an absent key */
            free(ver);
            return;
        }
        node_t *n = *spare;
        *spare = NULL;
        n->v = ver;
        if (n->level > m->level) {
            for (int i = m->level; i < n->level; i++)
                update[i] = m->head;
            m->level = n->level;
        }
        for (int i = 0; i < n->level; i++) {
            n->next[i] = update[i]->next[i];
            update[i]->next[i] = n;
        }
        return;
    }
    ver->older = x->v;
    x->v = ver;
    if (prune(x, h))
        return;
    if (gone(x, h)) {
        if (!x->pending) {
            sl_unlink(m, x, update);
            node_free(x);
        }
        /* a pending node leaves at the next sweep, which owns the list */
        return;
    }
    mark_pending(m, x);
}

/* Prune every node that held history for views; called with the write lock
 * after a view closed. */
static void sweep(mem_t *m)
{
    uint64_t h = horizon(m);
    node_t **pp = &m->pending;
    while (*pp) {
        node_t *n = *pp;
        bool settled = prune(n, h);
        if (!settled && !gone(n, h)) {
            pp = &n->next_pending;
            continue;
        }
        *pp = n->next_pending;
        n->pending = false;
        n->next_pending = NULL;
        if (gone(n, h)) {
            node_t *update[MAX_LEVEL];
            find_ge(m, n->key, n->key_len, update);
            sl_unlink(m, n, update);
            node_free(n);
        }
    }
}

static const struct kvl_ops engine;

static mem_t *mem_new(void)
{
    mem_t *m = calloc(1, sizeof *m);
    if (m == NULL)
        return NULL;
    m->head = node_new(MAX_LEVEL, NULL, 0);
    if (m->head == NULL) {
        free(m);
        return NULL;
    }
    m->level = 1;
    m->layout = (kvl_t){.ops = &engine, .eng = m, .name = "memory"};
    m->rng = 0x9E3779B97F4A7C15ULL ^ (uint64_t)(uintptr_t)m;
    pthread_rwlock_init(&m->lock, NULL);
    pthread_mutex_init(&m->snap_lock, NULL);
    return m;
}

static void mem_free(mem_t *m)
{
    node_t *x = m->head;
    while (x) {
        node_t *next = x->next[0];
        node_free(x);
        x = next;
    }
    while (m->snaps) { /* views libkvkit never closed: none in practice */
        snap_t *next = m->snaps->next;
        free(m->snaps);
        m->snaps = next;
    }
    pthread_rwlock_destroy(&m->lock);
    pthread_mutex_destroy(&m->snap_lock);
    free(m->name);
    free(m);
}

/*** kvlayout engine ops (called with the store's lock held) ***/

static int copy_out(const version_t *x, char **v, size_t *vlen, kvkit_error_t *err)
{
    if ((*v = malloc(x->value_len + 1)) == NULL)
        return kvkit_backend_error(err, KVKIT_NOMEM, "", "memory: out of memory");
    memcpy(*v, x->value, x->value_len);
    (*v)[x->value_len] = '\0';
    *vlen = x->value_len;
    return KVKIT_OK;
}

static int get_at(const mem_t *m, uint64_t seq, const unsigned char *k, size_t klen, char **v,
                  size_t *vlen, kvkit_error_t *err)
{
    node_t *x = find_ge(m, k, klen, NULL);
    if (x == NULL || key_cmp(x->key, x->key_len, k, klen) != 0)
        return KVKIT_NOTFOUND;
    const version_t *ver = visible(x, seq);
    return ver ? copy_out(ver, v, vlen, err) : KVKIT_NOTFOUND;
}

static int e_get(void *eng, const unsigned char *k, size_t klen, char **v, size_t *vlen,
                 kvkit_error_t *err)
{
    return get_at(eng, SEQ_LIVE, k, klen, v, vlen, err);
}

/* A batch holds fully built versions (and a node for each put, in case its
 * key is new) in order, so committing only links: it cannot fail halfway. */
typedef struct batch {
    mem_t *m;
    struct op {
        version_t *ver;
        node_t *node;           /* a put's node, linked if its key is new */
        unsigned char *key_copy; /* a delete's copy of the key */
        const unsigned char *key; /* in node or key_copy */
        size_t key_len;
    } *ops;
    size_t n, cap;
} batch_t;

static void *e_batch_new(void *eng)
{
    batch_t *b = calloc(1, sizeof *b);
    if (b)
        b->m = eng;
    return b;
}

static int batch_push(batch_t *b, struct op op)
{
    if (b->n == b->cap) {
        size_t cap = b->cap ? 2 * b->cap : 16;
        struct op *g = realloc(b->ops, cap * sizeof *g);
        if (g == NULL)
            return KVKIT_NOMEM;
        b->ops = g;
        b->cap = cap;
    }
    b->ops[b->n++] = op;
    return KVKIT_OK;
}

static int e_batch_put(void *vb, const unsigned char *k, size_t klen, const void *v, size_t vlen)
{
    batch_t *b = vb;
    node_t *n = node_new(random_level(b->m), k, klen);
    version_t *ver = version_new(v, vlen, false);
    if (n == NULL || ver == NULL ||
        batch_push(b, (struct op){ver, n, NULL, n->key, klen}) != KVKIT_OK) {
        free(n);
        free(ver);
        return KVKIT_NOMEM;
    }
    return KVKIT_OK;
}

static int e_batch_del(void *vb, const unsigned char *k, size_t klen)
{
    batch_t *b = vb;
    unsigned char *copy = malloc(klen ? klen : 1);
    version_t *ver = version_new(NULL, 0, true);
    if (copy == NULL || ver == NULL) {
        free(copy);
        free(ver);
        return KVKIT_NOMEM;
    }
    memcpy(copy, k, klen);
    if (batch_push(b, (struct op){ver, NULL, copy, copy, klen}) != KVKIT_OK) {
        free(copy);
        free(ver);
        return KVKIT_NOMEM;
    }
    return KVKIT_OK;
}

static int e_batch_commit(void *eng, void *vb, kvkit_error_t *err)
{
    mem_t *m = eng;
    batch_t *b = vb;
    uint64_t seq = ++m->seq; /* the whole batch is one commit */
    for (size_t i = 0; i < b->n; i++) {
        struct op *op = &b->ops[i];
        sl_write(m, seq, op->key, op->key_len, op->ver, &op->node);
        op->ver = NULL; /* now owned by the list (or freed) */
    }
    return KVKIT_OK;
}

static void e_batch_free(void *vb)
{
    batch_t *b = vb;
    for (size_t i = 0; i < b->n; i++) {
        free(b->ops[i].ver);
        free(b->ops[i].node); /* NULL once linked */
        free(b->ops[i].key_copy);
    }
    free(b->ops);
    free(b);
}

/* Called with the read lock held (view_open); the snapshot is the last
 * commit.  snap_lock keeps concurrent openers in order. */
static void *e_snap_new(void *eng)
{
    mem_t *m = eng;
    snap_t *sn = calloc(1, sizeof *sn);
    if (sn == NULL)
        return NULL;
    pthread_mutex_lock(&m->snap_lock);
    sn->seq = m->seq;
    sn->prev = m->snaps_tail;
    if (m->snaps_tail)
        m->snaps_tail->next = sn;
    else
        m->snaps = sn;
    m->snaps_tail = sn;
    pthread_mutex_unlock(&m->snap_lock);
    return sn;
}

/* Called with the write lock held (view_close). */
static void e_snap_free(void *eng, void *vs)
{
    mem_t *m = eng;
    snap_t *sn = vs;
    bool oldest = sn == m->snaps;
    if (sn->prev)
        sn->prev->next = sn->next;
    else
        m->snaps = sn->next;
    if (sn->next)
        sn->next->prev = sn->prev;
    else
        m->snaps_tail = sn->prev;
    free(sn);
    if (oldest)
        sweep(m); /* only the oldest view held history back */
}

typedef struct iter {
    mem_t *m;
    uint64_t seq;
    node_t *cur;
} iter_t;

static void *e_iter_new(void *eng, void *snap)
{
    iter_t *it = calloc(1, sizeof *it);
    if (it) {
        it->m = eng;
        it->seq = snap ? ((snap_t *)snap)->seq : SEQ_LIVE;
    }
    return it;
}

static void settle(iter_t *it)
{
    while (it->cur && visible(it->cur, it->seq) == NULL)
        it->cur = it->cur->next[0];
}

static void e_iter_seek(void *vit, const unsigned char *k, size_t klen)
{
    iter_t *it = vit;
    it->cur = find_ge(it->m, k, klen, NULL);
    settle(it);
}

static int e_iter_valid(void *vit)
{
    return ((iter_t *)vit)->cur != NULL;
}

static void e_iter_next(void *vit)
{
    iter_t *it = vit;
    it->cur = it->cur->next[0];
    settle(it);
}

static const unsigned char *e_iter_key(void *vit, size_t *len)
{
    iter_t *it = vit;
    *len = it->cur->key_len;
    return it->cur->key;
}

static const unsigned char *e_iter_value(void *vit, size_t *len)
{
    iter_t *it = vit;
    const version_t *x = visible(it->cur, it->seq);
    *len = x->value_len;
    return x->value;
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

#define LAYOUT(m) (&(m)->layout)

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

KVKIT_BACKEND_DECLARE(get);
int KVKIT_BACKEND_SYMBOL(kvkit_backend_get)(void *h, const char *bucket, const char *key,
                                            char **value, size_t *value_len,
                                            kvkit_error_t *err)
{
    mem_t *m = h;
    pthread_rwlock_rdlock(&m->lock);
    int rc = kvl_get(LAYOUT(m), NULL, bucket, key, value, value_len, err);
    pthread_rwlock_unlock(&m->lock);
    return rc;
}

KVKIT_BACKEND_DECLARE(save);
int KVKIT_BACKEND_SYMBOL(kvkit_backend_save)(void *h, const char *bucket, const char *key,
                                             const char *value, size_t value_len,
                                             const kvkit_index_entry_t *entries,
                                             size_t n_entries, kvkit_error_t *err)
{
    mem_t *m = h;
    pthread_rwlock_wrlock(&m->lock);
    int rc = kvl_save(LAYOUT(m), bucket, key, value, value_len, entries, n_entries, err);
    pthread_rwlock_unlock(&m->lock);
    return rc;
}

KVKIT_BACKEND_DECLARE(delete);
int KVKIT_BACKEND_SYMBOL(kvkit_backend_delete)(void *h, const char *bucket, const char *key,
                                               kvkit_error_t *err)
{
    mem_t *m = h;
    pthread_rwlock_wrlock(&m->lock);
    int rc = kvl_delete(LAYOUT(m), bucket, key, err);
    pthread_rwlock_unlock(&m->lock);
    return rc;
}

KVKIT_BACKEND_DECLARE(write_batch);
int KVKIT_BACKEND_SYMBOL(kvkit_backend_write_batch)(void *h, const kvkit_backend_write_t *w,
                                                    size_t n, kvkit_error_t *err)
{
    mem_t *m = h;
    pthread_rwlock_wrlock(&m->lock);
    int rc = kvl_write_batch(LAYOUT(m), w, n, err);
    pthread_rwlock_unlock(&m->lock);
    return rc;
}

KVKIT_BACKEND_DECLARE(index_lookup);
int KVKIT_BACKEND_SYMBOL(kvkit_backend_index_lookup)(
    void *h, const char *bucket, const char *field, const kvkit_index_value_t *lo,
    const kvkit_index_value_t *hi, const kvkit_index_position_t *after,
    kvkit_backend_key_fn fn, void *ctx, kvkit_error_t *err)
{
    mem_t *m = h;
    pthread_rwlock_rdlock(&m->lock);
    int rc = kvl_index_lookup(LAYOUT(m), NULL, bucket, field, lo, hi, after, fn, NULL, ctx, err);
    pthread_rwlock_unlock(&m->lock);
    return rc;
}

KVKIT_BACKEND_DECLARE(index_docs);
int KVKIT_BACKEND_SYMBOL(kvkit_backend_index_docs)(
    void *h, const char *bucket, const char *field, const kvkit_index_value_t *lo,
    const kvkit_index_value_t *hi, const kvkit_index_position_t *after,
    kvkit_backend_doc_fn fn, void *ctx, kvkit_error_t *err)
{
    mem_t *m = h;
    pthread_rwlock_rdlock(&m->lock);
    int rc = kvl_index_lookup(LAYOUT(m), NULL, bucket, field, lo, hi, after, NULL, fn, ctx, err);
    pthread_rwlock_unlock(&m->lock);
    return rc;
}

KVKIT_BACKEND_DECLARE(get_rev);
int KVKIT_BACKEND_SYMBOL(kvkit_backend_get_rev)(void *h, const char *bucket, const char *key,
                                                char **value, size_t *value_len,
                                                uint64_t *revision, kvkit_error_t *err)
{
    mem_t *m = h;
    pthread_rwlock_rdlock(&m->lock);
    int rc = kvl_get_rev(LAYOUT(m), bucket, key, value, value_len, revision, err);
    pthread_rwlock_unlock(&m->lock);
    return rc;
}

KVKIT_BACKEND_DECLARE(save_if);
int KVKIT_BACKEND_SYMBOL(kvkit_backend_save_if)(void *h, const char *bucket, const char *key,
                                                const char *value, size_t value_len,
                                                const kvkit_index_entry_t *entries,
                                                size_t n_entries, uint64_t expected,
                                                uint64_t *new_revision, kvkit_error_t *err)
{
    mem_t *m = h;
    pthread_rwlock_wrlock(&m->lock);
    int rc = kvl_save_if(LAYOUT(m), bucket, key, value, value_len, entries, n_entries,
                         expected, new_revision, err);
    pthread_rwlock_unlock(&m->lock);
    return rc;
}

KVKIT_BACKEND_DECLARE(list_keys);
int KVKIT_BACKEND_SYMBOL(kvkit_backend_list_keys)(void *h, const char *bucket,
                                                  const char *lo, const char *hi,
                                                  kvkit_backend_key_fn fn, void *ctx,
                                                  kvkit_error_t *err)
{
    mem_t *m = h;
    pthread_rwlock_rdlock(&m->lock);
    int rc = kvl_list_keys(LAYOUT(m), NULL, bucket, lo, hi, fn, ctx, err);
    pthread_rwlock_unlock(&m->lock);
    return rc;
}

/*** views: a snapshot of the skip list (see the versions above) ***/

typedef struct view {
    mem_t *m;
    void *snap;
} view_t;

KVKIT_BACKEND_DECLARE(view_open);
int KVKIT_BACKEND_SYMBOL(kvkit_backend_view_open)(void *h, void **view, kvkit_error_t *err)
{
    mem_t *m = h;
    view_t *v = malloc(sizeof *v);
    if (v == NULL)
        return kvkit_backend_error(err, KVKIT_NOMEM, "", "memory: out of memory");
    v->m = m;
    pthread_rwlock_rdlock(&m->lock);
    v->snap = e_snap_new(m);
    pthread_rwlock_unlock(&m->lock);
    if (v->snap == NULL) {
        free(v);
        return kvkit_backend_error(err, KVKIT_NOMEM, "", "memory: out of memory");
    }
    *view = v;
    return KVKIT_OK;
}

KVKIT_BACKEND_DECLARE(view_close);
void KVKIT_BACKEND_SYMBOL(kvkit_backend_view_close)(void *h, void *view)
{
    mem_t *m = h;
    view_t *v = view;
    if (v == NULL)
        return;
    pthread_rwlock_wrlock(&m->lock);
    e_snap_free(m, v->snap);
    pthread_rwlock_unlock(&m->lock);
    free(v);
}

KVKIT_BACKEND_DECLARE(view_get);
int KVKIT_BACKEND_SYMBOL(kvkit_backend_view_get)(void *view, const char *bucket, const char *key,
                                                 char **value, size_t *value_len,
                                                 kvkit_error_t *err)
{
    view_t *v = view;
    pthread_rwlock_rdlock(&v->m->lock);
    int rc = kvl_get(LAYOUT(v->m), v->snap, bucket, key, value, value_len, err);
    pthread_rwlock_unlock(&v->m->lock);
    return rc;
}

KVKIT_BACKEND_DECLARE(view_index_lookup);
int KVKIT_BACKEND_SYMBOL(kvkit_backend_view_index_lookup)(
    void *view, const char *bucket, const char *field, const kvkit_index_value_t *lo,
    const kvkit_index_value_t *hi, const kvkit_index_position_t *after,
    kvkit_backend_key_fn fn, void *ctx, kvkit_error_t *err)
{
    view_t *v = view;
    pthread_rwlock_rdlock(&v->m->lock);
    int rc = kvl_index_lookup(LAYOUT(v->m), v->snap, bucket, field, lo, hi, after, fn, NULL, ctx,
                              err);
    pthread_rwlock_unlock(&v->m->lock);
    return rc;
}

KVKIT_BACKEND_DECLARE(view_index_docs);
int KVKIT_BACKEND_SYMBOL(kvkit_backend_view_index_docs)(
    void *view, const char *bucket, const char *field, const kvkit_index_value_t *lo,
    const kvkit_index_value_t *hi, const kvkit_index_position_t *after,
    kvkit_backend_doc_fn fn, void *ctx, kvkit_error_t *err)
{
    view_t *v = view;
    pthread_rwlock_rdlock(&v->m->lock);
    int rc = kvl_index_lookup(LAYOUT(v->m), v->snap, bucket, field, lo, hi, after, NULL, fn, ctx,
                              err);
    pthread_rwlock_unlock(&v->m->lock);
    return rc;
}

KVKIT_BACKEND_DECLARE(view_list_keys);
int KVKIT_BACKEND_SYMBOL(kvkit_backend_view_list_keys)(void *view, const char *bucket,
                                                       const char *lo, const char *hi,
                                                       kvkit_backend_key_fn fn, void *ctx,
                                                       kvkit_error_t *err)
{
    view_t *v = view;
    pthread_rwlock_rdlock(&v->m->lock);
    int rc = kvl_list_keys(LAYOUT(v->m), v->snap, bucket, lo, hi, fn, ctx, err);
    pthread_rwlock_unlock(&v->m->lock);
    return rc;
}
