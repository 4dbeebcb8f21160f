/*
 * skiplist.c - see skiplist.h: a skip list of byte keys whose nodes hold
 * versions, newest first, for the snapshots views read.
 */
#include "skiplist.h"

#include <kvkit/backend.h>

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define MAX_LEVEL 24

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

struct sl_node {
    unsigned char *key; /* in the node's own allocation */
    size_t key_len;
    version_t *v; /* newest first; never NULL while linked */
    bool pending; /* on the store's list of nodes to prune */
    struct sl_node *next_pending;
    int level;
    struct sl_node *next[]; /* level entries */
};

typedef sl_node_t node_t;

/* An open view: the commit it reads at.  Views are kept in opening order,
 * so the oldest (the one that needs the most history) is first. */
struct sl_snap {
    uint64_t seq;
    struct sl_snap *prev, *next;
};

typedef sl_snap_t snap_t;

/* The map: a skip list of nodes under a head node of every level. */
struct sl {
    node_t *head;
    int level;
    uint64_t rng;
    uint64_t seq; /* the last commit */
    /* snapshots: opened concurrently (snap_lock orders them), closed alone */
    pthread_mutex_t snap_lock;
    snap_t *snaps, *snaps_tail;
    node_t *pending; /* nodes holding history that snapshots may need */
};

/* keys order bytewise, as sortable values do */
#define key_cmp kvkit_sortable_cmp

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

/* The oldest commit an open view reads at (SL_SEQ_LIVE: no view is open).
 * Called with the write lock held. */
static uint64_t horizon(const sl_t *m)
{
    return m->snaps ? m->snaps->seq : SL_SEQ_LIVE;
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
    return n->v->dead && n->v->older == NULL && (h == SL_SEQ_LIVE || n->v->seq <= h);
}

static int random_level(sl_t *m)
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
static node_t *find_ge(const sl_t *m, const unsigned char *k, size_t klen, node_t **update)
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

static void unlink_node(sl_t *m, node_t *x, node_t **update)
{
    for (int i = 0; i < x->level; i++)
        update[i]->next[i] = x->next[i];
}

static void mark_pending(sl_t *m, node_t *n)
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
static void write_one(sl_t *m, uint64_t seq, const unsigned char *k, size_t klen, version_t *ver,
                      node_t **spare)
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
            unlink_node(m, x, update);
            node_free(x);
        }
        /* a pending node leaves at the next sweep, which owns the list */
        return;
    }
    mark_pending(m, x);
}

/* Prune every node that held history for views; called with the write lock
 * after a view closed. */
static void sweep(sl_t *m)
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
            unlink_node(m, n, update);
            node_free(n);
        }
    }
}

sl_t *sl_new(void)
{
    sl_t *m = calloc(1, sizeof *m);
    if (m == NULL)
        return NULL;
    m->head = node_new(MAX_LEVEL, NULL, 0);
    if (m->head == NULL) {
        free(m);
        return NULL;
    }
    m->level = 1;
    m->rng = 0x9E3779B97F4A7C15ULL ^ (uint64_t)(uintptr_t)m;
    pthread_mutex_init(&m->snap_lock, NULL);
    return m;
}

void sl_free(sl_t *m)
{
    if (m == NULL)
        return;
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
    pthread_mutex_destroy(&m->snap_lock);
    free(m);
}

const unsigned char *sl_get(const sl_t *m, uint64_t seq, const unsigned char *k, size_t klen,
                            size_t *vlen)
{
    node_t *x = find_ge(m, k, klen, NULL);
    if (x == NULL || key_cmp(x->key, x->key_len, k, klen) != 0)
        return NULL;
    const version_t *ver = visible(x, seq);
    if (ver == NULL)
        return NULL;
    *vlen = ver->value_len;
    return ver->value;
}

/*** batches ***/

/* A batch holds fully built versions (and a node for each put, in case its
 * key is new) in order, so committing only links: it cannot fail halfway. */
struct sl_batch {
    sl_t *m;
    struct op {
        version_t *ver;
        node_t *node;             /* a put's node, linked if its key is new */
        unsigned char *key_copy;  /* a delete's copy of the key */
        const unsigned char *key; /* in node or key_copy */
        size_t key_len;
    } * ops;
    size_t n, cap;
};

sl_batch_t *sl_batch_new(sl_t *m)
{
    sl_batch_t *b = calloc(1, sizeof *b);
    if (b)
        b->m = m;
    return b;
}

static int batch_push(sl_batch_t *b, struct op op)
{
    if (b->n == b->cap) {
        size_t cap = b->cap ? 2 * b->cap : 16;
        struct op *g = realloc(b->ops, cap * sizeof *g);
        if (g == NULL)
            return -1;
        b->ops = g;
        b->cap = cap;
    }
    b->ops[b->n++] = op;
    return 0;
}

int sl_batch_put(sl_batch_t *b, const unsigned char *k, size_t klen, const void *v, size_t vlen)
{
    node_t *n = node_new(random_level(b->m), k, klen);
    version_t *ver = version_new(v, vlen, false);
    if (n == NULL || ver == NULL || batch_push(b, (struct op){ver, n, NULL, n->key, klen}) != 0) {
        free(n);
        free(ver);
        return -1;
    }
    return 0;
}

int sl_batch_del(sl_batch_t *b, const unsigned char *k, size_t klen)
{
    unsigned char *copy = malloc(klen ? klen : 1);
    version_t *ver = version_new(NULL, 0, true);
    if (copy == NULL || ver == NULL) {
        free(copy);
        free(ver);
        return -1;
    }
    memcpy(copy, k, klen);
    if (batch_push(b, (struct op){ver, NULL, copy, copy, klen}) != 0) {
        free(copy);
        free(ver);
        return -1;
    }
    return 0;
}

void sl_batch_commit(sl_batch_t *b)
{
    uint64_t seq = ++b->m->seq; /* the whole batch is one commit */
    for (size_t i = 0; i < b->n; i++) {
        struct op *op = &b->ops[i];
        write_one(b->m, seq, op->key, op->key_len, op->ver, &op->node);
        op->ver = NULL; /* now owned by the list (or freed) */
    }
}

void sl_batch_free(sl_batch_t *b)
{
    for (size_t i = 0; i < b->n; i++) {
        free(b->ops[i].ver);
        free(b->ops[i].node); /* NULL once linked */
        free(b->ops[i].key_copy);
    }
    free(b->ops);
    free(b);
}

/*** snapshots ***/

sl_snap_t *sl_snap_open(sl_t *m)
{
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

void sl_snap_close(sl_t *m, sl_snap_t *sn)
{
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
        sweep(m); /* only the oldest snapshot held history back */
}

uint64_t sl_snap_seq(const sl_snap_t *sn)
{
    return sn ? sn->seq : SL_SEQ_LIVE;
}

/*** positions ***/

static const node_t *settle(const node_t *n, uint64_t seq)
{
    while (n && visible(n, seq) == NULL)
        n = n->next[0];
    return n;
}

const sl_node_t *sl_seek(const sl_t *m, uint64_t seq, const unsigned char *k, size_t klen)
{
    return settle(find_ge(m, k, klen, NULL), seq);
}

const sl_node_t *sl_next(const sl_node_t *n, uint64_t seq)
{
    return settle(n->next[0], seq);
}

const unsigned char *sl_node_key(const sl_node_t *n, size_t *len)
{
    *len = n->key_len;
    return n->key;
}

const unsigned char *sl_node_value(const sl_node_t *n, uint64_t seq, size_t *len)
{
    const version_t *x = visible(n, seq);
    *len = x->value_len;
    return x->value;
}
