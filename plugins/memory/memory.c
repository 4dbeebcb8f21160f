/*
 * memory.c - the in-process backend: an ordered skip list of byte keys with
 * the shared document/index layout (kvlayout) on top.
 *
 * get/save/delete are O(log n) (plus the document's own index entries);
 * index_lookup and list_keys are O(log n + k).  One rwlock per store: reads
 * share it, a save or delete holds it exclusively, so a document and its
 * index entries change together.  "memory:" is a private store per open;
 * "memory:NAME" is shared by every open of NAME in the process and lives
 * until its last close.
 */
#define KVKIT_BACKEND_NAME memory
#include <kvkit/backend.h>

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "../common/kvlayout.h"

#define MAX_LEVEL 24

/*** the skip list ***/

typedef struct node {
    unsigned char *key; /* key and value share one allocation */
    size_t key_len;
    unsigned char *value;
    size_t value_len;
    int level;
    struct node *next[]; /* level entries */
} node_t;

typedef struct mem {
    pthread_rwlock_t lock;
    kvl_t layout;
    node_t *head;
    int level;
    uint64_t rng;
    size_t count;
    /* for shared stores */
    char *name;
    unsigned refs;
    struct mem *next_shared;
} mem_t;

static int key_cmp(const unsigned char *a, size_t alen, const unsigned char *b, size_t blen)
{
    int c = memcmp(a, b, alen < blen ? alen : blen);
    return c ? c : (alen > blen) - (alen < blen);
}

static node_t *node_new(int level, const void *k, size_t klen, const void *v, size_t vlen)
{
    node_t *n = malloc(sizeof *n + (size_t)level * sizeof(node_t *) + klen + vlen + 1);
    if (n == NULL)
        return NULL;
    n->level = level;
    for (int i = 0; i < level; i++)
        n->next[i] = NULL;
    n->key = (unsigned char *)&n->next[level];
    n->key_len = klen;
    n->value = n->key + klen;
    n->value_len = vlen;
    if (klen)
        memcpy(n->key, k, klen);
    if (vlen)
        memcpy(n->value, v, vlen);
    return n;
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
static node_t *find_ge(mem_t *m, const unsigned char *k, size_t klen, node_t **update)
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

/* Link a prepared node (replacing an equal key); cannot fail. */
static void sl_put(mem_t *m, node_t *n)
{
    node_t *update[MAX_LEVEL];
    node_t *x = find_ge(m, n->key, n->key_len, update);
    if (x && key_cmp(x->key, x->key_len, n->key, n->key_len) == 0) {
        for (int i = 0; i < x->level; i++)
            update[i]->next[i] = x->next[i];
        free(x);
        m->count--;
    }
    if (n->level > m->level) {
        for (int i = m->level; i < n->level; i++)
            update[i] = m->head;
        m->level = n->level;
    }
    for (int i = 0; i < n->level; i++) {
        n->next[i] = update[i]->next[i];
        update[i]->next[i] = n;
    }
    m->count++;
}

static void sl_del(mem_t *m, const unsigned char *k, size_t klen)
{
    node_t *update[MAX_LEVEL];
    node_t *x = find_ge(m, k, klen, update);
    if (x == NULL || key_cmp(x->key, x->key_len, k, klen) != 0)
        return;
    for (int i = 0; i < x->level; i++)
        update[i]->next[i] = x->next[i];
    free(x);
    m->count--;
}

static const struct kvl_ops engine;

static mem_t *mem_new(void)
{
    mem_t *m = calloc(1, sizeof *m);
    if (m == NULL)
        return NULL;
    m->head = node_new(MAX_LEVEL, NULL, 0, NULL, 0);
    if (m->head == NULL) {
        free(m);
        return NULL;
    }
    m->level = 1;
    m->layout = (kvl_t){.ops = &engine, .eng = m, .name = "memory"};
    m->rng = 0x9E3779B97F4A7C15ULL ^ (uint64_t)(uintptr_t)m;
    pthread_rwlock_init(&m->lock, NULL);
    return m;
}

static void mem_free(mem_t *m)
{
    node_t *x = m->head;
    while (x) {
        node_t *next = x->next[0];
        free(x);
        x = next;
    }
    pthread_rwlock_destroy(&m->lock);
    free(m->name);
    free(m);
}

/*** kvlayout engine ops (called with the store's lock held) ***/

static int e_get(void *eng, const unsigned char *k, size_t klen, char **v, size_t *vlen,
                 kvkit_error_t *err)
{
    node_t *x = find_ge(eng, k, klen, NULL);
    if (x == NULL || key_cmp(x->key, x->key_len, k, klen) != 0)
        return KVKIT_NOTFOUND;
    if ((*v = malloc(x->value_len + 1)) == NULL)
        return kvkit_backend_error(err, KVKIT_NOMEM, "", "memory: out of memory");
    memcpy(*v, x->value, x->value_len);
    (*v)[x->value_len] = '\0';
    *vlen = x->value_len;
    return KVKIT_OK;
}

/* A batch holds fully built nodes (puts) and keys (deletes) in order, so
 * committing only links and unlinks: it cannot fail halfway. */
typedef struct batch {
    mem_t *m;
    struct op {
        node_t *put;        /* NULL for a delete */
        unsigned char *key; /* delete: owned copy */
        size_t key_len;
    } *ops;
    size_t n, cap;
    bool failed;
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
    node_t *n = node_new(random_level(b->m), k, klen, v, vlen);
    if (n == NULL || batch_push(b, (struct op){n, NULL, 0}) != KVKIT_OK) {
        free(n);
        return KVKIT_NOMEM;
    }
    return KVKIT_OK;
}

static int e_batch_del(void *vb, const unsigned char *k, size_t klen)
{
    batch_t *b = vb;
    unsigned char *copy = malloc(klen ? klen : 1);
    if (copy == NULL)
        return KVKIT_NOMEM;
    memcpy(copy, k, klen);
    if (batch_push(b, (struct op){NULL, copy, klen}) != KVKIT_OK) {
        free(copy);
        return KVKIT_NOMEM;
    }
    return KVKIT_OK;
}

static int e_batch_commit(void *eng, void *vb, kvkit_error_t *err)
{
    batch_t *b = vb;
    for (size_t i = 0; i < b->n; i++) {
        if (b->ops[i].put) {
            sl_put(eng, b->ops[i].put);
            b->ops[i].put = NULL; /* now owned by the list */
        } else {
            sl_del(eng, b->ops[i].key, b->ops[i].key_len);
        }
    }
    return KVKIT_OK;
}

static void e_batch_free(void *vb)
{
    batch_t *b = vb;
    for (size_t i = 0; i < b->n; i++) {
        free(b->ops[i].put);
        free(b->ops[i].key);
    }
    free(b->ops);
    free(b);
}

typedef struct iter {
    mem_t *m;
    node_t *cur;
} iter_t;

static void *e_iter_new(void *eng)
{
    iter_t *it = calloc(1, sizeof *it);
    if (it)
        it->m = eng;
    return it;
}

static void e_iter_seek(void *vit, const unsigned char *k, size_t klen)
{
    iter_t *it = vit;
    it->cur = find_ge(it->m, k, klen, NULL);
}

static int e_iter_valid(void *vit)
{
    return ((iter_t *)vit)->cur != NULL;
}

static void e_iter_next(void *vit)
{
    iter_t *it = vit;
    it->cur = it->cur->next[0];
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
    *len = it->cur->value_len;
    return it->cur->value;
}

static int e_iter_status(void *vit, kvkit_error_t *err)
{
    return KVKIT_OK;
}

static int e_iter_get(void *vit, const unsigned char *k, size_t klen, char **v, size_t *vlen,
                      kvkit_error_t *err)
{
    return e_get(((iter_t *)vit)->m, k, klen, v, vlen, err);
}

static void e_iter_free(void *vit)
{
    free(vit);
}

static const struct kvl_ops engine = {
    e_get,       e_batch_new, e_batch_put,  e_batch_del,    e_batch_commit,
    e_batch_free, e_iter_new, e_iter_seek,  e_iter_valid,   e_iter_next,
    e_iter_key,  e_iter_value, e_iter_status, e_iter_get,   e_iter_free,
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
             KVKIT_BACKEND_ATOMIC_BATCH,
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
    int rc = kvl_get(LAYOUT(m), bucket, key, value, value_len, err);
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
    int rc = kvl_index_lookup(LAYOUT(m), bucket, field, lo, hi, after, fn, NULL, ctx, err);
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
    int rc = kvl_index_lookup(LAYOUT(m), bucket, field, lo, hi, after, NULL, fn, ctx, err);
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
    int rc = kvl_list_keys(LAYOUT(m), bucket, lo, hi, fn, ctx, err);
    pthread_rwlock_unlock(&m->lock);
    return rc;
}
