/*
 * qexec.c - running a plan (qplan.c): key streams that seek (zigzag joins
 * and merges), paged index and key scans, the check of each candidate on
 * its document (qeval.c), the top-N heap, and cursors.
 *
 * Every scan is paged (QPAGE keys) and resumed by position, and every page
 * is read in one view of the store when the backend has views, so memory
 * stays bounded by the pages, the heap (limit or page) and one document.
 */
#include "qprivate.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A byte buffer the run owns. */
typedef struct bbuf {
    unsigned char *p;
    size_t len, cap;
} bbuf_t;

typedef struct hitem {
    char *key;
    size_t key_len;
    unsigned char *sortable; /* NULL: the document has no value for the field */
    size_t sortable_len;
    char *value;
    size_t value_len;
} hitem_t;

typedef struct qrun {
    kvkit_store_t *s;
    const char *bucket;
    void *view;
    bool own_view; /* opened by this run (else the caller's: an iterator's) */
    const kvkit_qexpr_t *q;
    qplan_t *plan;
    bool want_docs;
    kvkit_query_fn fn;
    void *ctx;
    uint64_t count; /* results handed over, this run and the ones it resumes */
    size_t page, emitted;
    uint64_t lim; /* the limit, or UINT64_MAX */
    size_t cut;   /* the page, or SIZE_MAX */
    bool stop, more;
    /* resume position (from a cursor) and the last result's position */
    bool resume;
    size_t rphase;
    bbuf_t rsort, rkey;
    size_t lphase;
    bbuf_t lsort, lkey;
    bbuf_t psort, pkey; /* a paged scan's position */
    bbuf_t scratch;
    bbuf_t succ; /* ks_after's key (the top-level stream's only) */
    bool icur;   /* read the indexes with the backend's cursors */
    hitem_t *heap; /* QM_TOPN: max-heap of the best cap_heap so far */
    size_t n_heap, cap_heap, alloc_heap;
    kvkit_error_t *err;
} qrun_t;

static int nomem(qrun_t *r)
{
    return kvkit__error(r->err, KVKIT_NOMEM, r->bucket, "out of memory running the query");
}

static int bset(qrun_t *r, bbuf_t *b, const void *p, size_t len)
{
    if (len + 1 > b->cap) {
        unsigned char *n = kvkit__realloc(b->p, len + 1);
        if (n == NULL)
            return nomem(r);
        b->p = n;
        b->cap = len + 1;
    }
    if (len > 0)
        memmove(b->p, p, len);
    b->p[len] = '\0';
    b->len = len;
    return KVKIT_OK;
}

static int bapp(qrun_t *r, bbuf_t *b, unsigned char c)
{
    if (b->len + 2 > b->cap) {
        unsigned char *n = kvkit__realloc(b->p, b->len + 2);
        if (n == NULL)
            return nomem(r);
        b->p = n;
        b->cap = b->len + 2;
    }
    b->p[b->len++] = c;
    b->p[b->len] = '\0';
    return KVKIT_OK;
}

static int keycmp(const char *a, size_t alen, const char *b, size_t blen)
{
    return kvkit_sortable_cmp((const unsigned char *)a, alen, (const unsigned char *)b, blen);
}

/*** pages ***/

typedef struct collect {
    qpage_t *pg;
    const ks_t *keys; /* KS_KEYS: strict bounds to drop */
    bool sortable;
    bool nomem;
} collect_t;

static int collect_fn(void *vctx, const char *key, size_t key_len, const unsigned char *sortable,
                      size_t sortable_len)
{
    collect_t *c = vctx;
    const ks_t *ks = c->keys;
    if (ks != NULL && ((ks->klo_excl && strlen(ks->klo) == key_len && memcmp(key, ks->klo, key_len) == 0) ||
                       (ks->khi_excl && strlen(ks->khi) == key_len && memcmp(key, ks->khi, key_len) == 0)))
        return 0;
    qpage_t *pg = c->pg;
    size_t keep = c->sortable ? sortable_len : 0;
    if (pg->arena_len + key_len + 1 + keep > pg->arena_cap) {
        size_t cap = 2 * (pg->arena_len + key_len + 1 + keep) + 1024;
        unsigned char *a = kvkit__realloc(pg->arena, cap);
        if (a == NULL) {
            c->nomem = true;
            return 1;
        }
        pg->arena = a;
        pg->arena_cap = cap;
    }
    qitem_t *it = &pg->items[pg->n];
    it->key_off = pg->arena_len;
    it->key_len = key_len;
    memcpy(pg->arena + pg->arena_len, key, key_len);
    pg->arena[pg->arena_len + key_len] = '\0';
    pg->arena_len += key_len + 1;
    it->sortable_off = pg->arena_len;
    it->sortable_len = keep;
    if (keep > 0)
        memcpy(pg->arena + pg->arena_len, sortable, keep);
    pg->arena_len += keep;
    return ++c->pg->n == (c->pg->cap ? c->pg->cap : QPAGE);
}

/* A filled page: its items point into the arena, which no longer moves. */
static void page_done(qpage_t *pg)
{
    for (size_t i = 0; i < pg->n; i++) {
        qitem_t *it = &pg->items[i];
        it->key = (char *)pg->arena + it->key_off;
        it->sortable = it->sortable_len ? pg->arena + it->sortable_off : NULL;
    }
    pg->more = pg->n == (pg->cap ? pg->cap : QPAGE);
}

static int page_index(qrun_t *r, qpage_t *pg, const char *field, const kvkit_index_value_t *lo,
                      const kvkit_index_value_t *hi, const kvkit_index_position_t *after,
                      bool sortable)
{
    kvkit__qpage_clear(pg);
    if (r->s->backend->ops.index_lookup == NULL)
        return kvkit__store_unsupported(r->s, "index_lookup", r->err);
    kvkit__query_t q = {.kind = KVKIT__Q_INDEX, .field = field, .lo = *lo, .hi = *hi};
    collect_t c = {pg, NULL, sortable, false};
    int rc = kvkit__index_lookup_call(r->s, r->view, r->bucket, &q, after, collect_fn, &c, r->err);
    page_done(pg);
    return rc != KVKIT_OK ? rc : c.nomem ? nomem(r) : KVKIT_OK;
}

static int page_keys(qrun_t *r, qpage_t *pg, const ks_t *ks, const char *lo, const char *hi)
{
    kvkit__qpage_clear(pg);
    collect_t c = {pg, ks, false, false};
    int rc = kvkit__list_keys_call(r->s, r->view, r->bucket, lo, hi, collect_fn, &c, r->err);
    page_done(pg);
    return rc != KVKIT_OK ? rc : c.nomem ? nomem(r) : KVKIT_OK;
}

/*** key streams: seek to the first key >= k ***/

static int ks_seek(qrun_t *r, ks_t *ks, const char *k, size_t klen);

static int set_cur(qrun_t *r, ks_t *ks, const char *k, size_t klen)
{
    if (klen + 1 > ks->cur_cap) {
        char *n = kvkit__realloc(ks->cur, klen + 1);
        if (n == NULL)
            return nomem(r);
        ks->cur = n;
        ks->cur_cap = klen + 1;
    }
    memmove(ks->cur, k, klen);
    ks->cur[klen] = '\0';
    ks->cur_len = klen;
    return KVKIT_OK;
}

/* Fetch a leaf's page starting at the first key >= k (k NULL: the start). */
static int leaf_fetch(qrun_t *r, ks_t *ks, const char *k, size_t klen)
{
    if (ks->type == KS_KEYS) {
        const char *lo = ks->klo;
        if (k != NULL && (lo == NULL || keycmp(k, klen, lo, strlen(lo)) > 0)) {
            int rc = bset(r, &r->scratch, k, klen);
            if (rc != KVKIT_OK)
                return rc;
            lo = (const char *)r->scratch.p;
        }
        return page_keys(r, ks->page, ks, lo, ks->khi);
    }
    if (k == NULL || klen == 0)
        return page_index(r, ks->page, ks->pred->field, &ks->val->iv, &ks->val->iv, NULL, false);
    /* strictly after the greatest key below k: keys are UTF-8 without NUL,
     * so none lies between k less its last byte (when that is 0x01) or
     * k's last byte lowered by one and followed by 0xff, and k */
    unsigned char last = (unsigned char)k[klen - 1];
    int rc = bset(r, &r->scratch, k, last == 1 ? klen - 1 : klen);
    if (rc == KVKIT_OK && last != 1) {
        r->scratch.p[klen - 1] = (unsigned char)(last - 1);
        rc = bapp(r, &r->scratch, 0xFF);
    }
    if (rc != KVKIT_OK)
        return rc;
    kvkit_index_position_t after = {ks->val->iv.sortable, ks->val->iv.sortable_len,
                                    (const char *)r->scratch.p, r->scratch.len};
    return page_index(r, ks->page, ks->pred->field, &ks->val->iv, &ks->val->iv,
                      r->scratch.len ? &after : NULL, false);
}

/* Read an index equality's next entries by its cursor: on from the last
 * one read when k is NULL or the key after it (keys hold no NUL, so that
 * is the key followed by 0x01), one entry and then twice as many each time
 * up to QPAGE; else one entry, at (value, k) - a zigzag join pays one
 * entry a jump or a step, and a stream read whole pays full pages. */
static int leaf_cursor_fetch(qrun_t *r, ks_t *ks, const char *k, size_t klen)
{
    const kvkit_index_value_t *v = &ks->val->iv;
    const char *field = ks->pred->field;
    int rc;
    if (ks->icur == NULL) {
        /* kept with the plan between runs (freed with it) */
        if (ks->hits == NULL && (ks->hits = kvkit__malloc(QPAGE * sizeof *ks->hits)) == NULL)
            return nomem(r);
        if ((rc = kvkit__icur_open(r->s, r->view, r->bucket, field, v, v, &ks->icur, r->err)) !=
            KVKIT_OK)
            return rc;
    }
    const kvkit_index_position_t *last = ks->n_hits ? &ks->hits[ks->n_hits - 1] : NULL;
    bool on = k == NULL || (last != NULL && klen == last->key_len + 1 && k[klen - 1] == 0x01 &&
                            memcmp(k, last->key, last->key_len) == 0);
    ks->want = !on ? 0 : !ks->want ? 1 : ks->want < QPAGE / 2 ? 2 * ks->want : QPAGE;
    kvkit_index_position_t at = {v->sortable, v->sortable_len, k, klen};
    rc = kvkit__icur_next(r->s, ks->icur, field, on ? NULL : &at, ks->hits,
                          ks->want ? ks->want : 1, &ks->n_hits, r->err);
    ks->hit_pos = 0;
    if (rc == KVKIT_NOTFOUND) {
        ks->icur_end = true;
        return KVKIT_OK;
    }
    return rc;
}

/* An index equality by its cursor: the first key >= k. */
static int leaf_cursor(qrun_t *r, ks_t *ks, const char *k, size_t klen)
{
    for (;;) {
        while (ks->hit_pos < ks->n_hits && k != NULL &&
               keycmp(ks->hits[ks->hit_pos].key, ks->hits[ks->hit_pos].key_len, k, klen) < 0)
            ks->hit_pos++;
        if (ks->hit_pos < ks->n_hits) {
            const kvkit_index_position_t *h = &ks->hits[ks->hit_pos];
            ks->started = true;
            return set_cur(r, ks, h->key, h->key_len);
        }
        if (ks->icur_end) {
            ks->started = ks->done = true;
            return KVKIT_OK;
        }
        int rc = leaf_cursor_fetch(r, ks, k, klen);
        if (rc != KVKIT_OK)
            return rc;
    }
}

/* A leaf's pages: a seek that jumps reads 1 key; reading on from there
 * doubles the page up to QPAGE, so a zigzag join pays one key per jump and
 * a stream read whole pays full pages. */
static int leaf_seek(qrun_t *r, ks_t *ks, const char *k, size_t klen)
{
    if (ks->page == NULL && (ks->page = kvkit__calloc(1, sizeof *ks->page)) == NULL)
        return nomem(r);
    qpage_t *pg = ks->page;
    bool fetched = false;
    const qitem_t *last = pg->n > 0 ? &pg->items[pg->n - 1] : NULL;
    bool on = last != NULL && k != NULL && klen == last->key_len + 1 && k[klen - 1] == 0x01 &&
              memcmp(k, last->key, last->key_len) == 0; /* the key after the page's last */
    for (;;) {
        while (pg->pos < pg->n && k != NULL &&
               keycmp(pg->items[pg->pos].key, pg->items[pg->pos].key_len, k, klen) < 0)
            pg->pos++;
        if (pg->pos < pg->n) {
            ks->started = true;
            return set_cur(r, ks, pg->items[pg->pos].key, pg->items[pg->pos].key_len);
        }
        if ((ks->started || fetched) && !pg->more) {
            ks->done = true;
            return KVKIT_OK;
        }
        pg->cap = !ks->started ? QPAGE : on ? (pg->cap && pg->cap < QPAGE / 2 ? 2 * pg->cap : QPAGE) : 1;
        int rc = leaf_fetch(r, ks, k, klen);
        if (rc != KVKIT_OK)
            return rc;
        fetched = ks->started = true;
        if (pg->n == 0) {
            ks->done = true;
            return KVKIT_OK;
        }
    }
}

/* A zigzag join.  The side that last moved the join furthest (the
 * sparsest, most often) goes first: the others then seek once to where it
 * lands, rather than each stepping first. */
static int and_seek(qrun_t *r, ks_t *ks, const char *k, size_t klen)
{
    ks_t *lead = ks->kids[ks->lead];
    int rc = ks_seek(r, lead, k, klen);
    if (rc != KVKIT_OK || (ks->done = lead->done))
        return rc;
    if ((rc = set_cur(r, ks, lead->cur, lead->cur_len)) != KVKIT_OK)
        return rc;
    for (size_t agreed = 1, i = ks->lead + 1; agreed < ks->n_kids; i++) {
        ks_t *kid = ks->kids[i % ks->n_kids];
        if ((rc = ks_seek(r, kid, ks->cur, ks->cur_len)) != KVKIT_OK || (ks->done = kid->done))
            return rc;
        if (keycmp(kid->cur, kid->cur_len, ks->cur, ks->cur_len) == 0)
            agreed++;
        else if ((rc = set_cur(r, ks, kid->cur, kid->cur_len)) != KVKIT_OK)
            return rc;
        else {
            agreed = 1;
            ks->lead = i % ks->n_kids;
        }
    }
    return KVKIT_OK;
}

/* A merge's current key: its streams' smallest.  The streams standing at
 * it are marked (tie == the merge's mark), so that its next step moves
 * them without comparing them again. */
static int or_pick(qrun_t *r, ks_t *ks)
{
    ks_t *best = NULL;
    ks->mark++;
    for (size_t i = 0; i < ks->n_kids; i++) {
        ks_t *kid = ks->kids[i];
        if (kid->done)
            continue;
        int c = best == NULL ? -1 : keycmp(kid->cur, kid->cur_len, best->cur, best->cur_len);
        if (c < 0) {
            best = kid;
            ks->mark++; /* the streams marked so far stand past it */
        }
        if (c <= 0)
            kid->tie = ks->mark;
    }
    if (best == NULL) {
        ks->done = true;
        return KVKIT_OK;
    }
    return set_cur(r, ks, best->cur, best->cur_len);
}

static int or_seek(qrun_t *r, ks_t *ks, const char *k, size_t klen)
{
    for (size_t i = 0; i < ks->n_kids; i++) {
        int rc = ks_seek(r, ks->kids[i], k, klen);
        if (rc != KVKIT_OK)
            return rc;
    }
    return or_pick(r, ks);
}

static int ks_seek(qrun_t *r, ks_t *ks, const char *k, size_t klen)
{
    if (ks->done || (ks->started && (k == NULL || keycmp(ks->cur, ks->cur_len, k, klen) >= 0)))
        return KVKIT_OK;
    int rc = KVKIT_OK;
    switch (ks->type) {
    case KS_EMPTY:
        ks->done = true;
        return KVKIT_OK;
    case KS_EQ:
        return r->icur ? leaf_cursor(r, ks, k, klen) : leaf_seek(r, ks, k, klen);
    case KS_KEYS:
        return leaf_seek(r, ks, k, klen);
    case KS_AND:
        rc = and_seek(r, ks, k, klen);
        break;
    case KS_OR:
        rc = or_seek(r, ks, k, klen);
        break;
    }
    ks->started = true;
    return rc;
}

/* Seek to the first key after k: k followed by 0x01 (keys hold no NUL). */
static int ks_after(qrun_t *r, ks_t *ks, const char *k, size_t klen)
{
    int rc = bset(r, &r->succ, k, klen);
    if (rc == KVKIT_OK)
        rc = bapp(r, &r->succ, 0x01);
    return rc == KVKIT_OK ? ks_seek(r, ks, (const char *)r->succ.p, klen + 1) : rc;
}

/* Move a started stream to its next key: an index equality read by its
 * cursor steps through what it read, a merge moves the streams that stood
 * at its key, a join its lead and seeks the others there; the rest seek
 * to the key after theirs. */
static int ks_next(qrun_t *r, ks_t *ks)
{
    if (ks->done)
        return KVKIT_OK;
    int rc = KVKIT_OK;
    if (ks->type == KS_EQ && r->icur) {
        ks->hit_pos++; /* past the current key: it was read, so hit_pos < n_hits */
        return leaf_cursor(r, ks, NULL, 0);
    }
    if (ks->type == KS_AND) {
        ks_t *lead = ks->kids[ks->lead];
        if ((rc = ks_next(r, lead)) != KVKIT_OK || (ks->done = lead->done))
            return rc;
        return and_seek(r, ks, lead->cur, lead->cur_len);
    }
    if (ks->type != KS_OR)
        return ks_after(r, ks, ks->cur, ks->cur_len);
    for (size_t i = 0; i < ks->n_kids; i++) {
        ks_t *kid = ks->kids[i];
        if (!kid->done && kid->tie == ks->mark && (rc = ks_next(r, kid)) != KVKIT_OK)
            return rc;
    }
    return or_pick(r, ks);
}

/*** results ***/

/* Hand one result over, remembering its position for the cursor.  Inline:
 * a scan's cost per key is mostly this call. */
static inline int emit(qrun_t *r, size_t phase, const unsigned char *sortable, size_t slen,
                const char *key, size_t klen, const char *value, size_t vlen)
{
    if (r->count >= r->lim) {
        r->stop = true;
        return KVKIT_OK;
    }
    if (r->emitted >= r->cut) {
        r->stop = r->more = true; /* one more exists: the page is cut */
        return KVKIT_OK;
    }
    r->count++;
    r->emitted++;
    bool stop = r->fn(r->ctx, key, klen, value, value ? vlen : 0) != 0;
    /* the position, for the cursor: only a result a run can end at needs it */
    if (stop || r->emitted == r->cut) {
        int rc;
        r->lphase = phase;
        if ((rc = bset(r, &r->lsort, sortable, slen)) != KVKIT_OK ||
            (rc = bset(r, &r->lkey, key, klen)) != KVKIT_OK)
            return rc;
    }
    if (stop)
        r->stop = r->more = true;
    else if (r->count >= r->lim)
        r->stop = true;
    return KVKIT_OK;
}

static int ord_cmp(const qrun_t *r, const hitem_t *a, const hitem_t *b)
{
    int c;
    if ((a->sortable == NULL) != (b->sortable == NULL))
        c = a->sortable == NULL ? 1 : -1;
    else if (a->sortable != NULL &&
             (c = kvkit_sortable_cmp(a->sortable, a->sortable_len, b->sortable, b->sortable_len)) != 0)
        ;
    else
        c = keycmp(a->key, a->key_len, b->key, b->key_len);
    return r->q->desc ? -c : c;
}

static void hitem_free(hitem_t *h)
{
    kvkit__free(h->key);
    kvkit__free(h->sortable);
    free(h->value);
}

static void sift_down(qrun_t *r, size_t i, size_t n)
{
    for (;;) {
        size_t m = i, a = 2 * i + 1, b = a + 1;
        if (a < n && ord_cmp(r, &r->heap[a], &r->heap[m]) > 0)
            m = a;
        if (b < n && ord_cmp(r, &r->heap[b], &r->heap[m]) > 0)
            m = b;
        if (m == i)
            return;
        hitem_t t = r->heap[i];
        r->heap[i] = r->heap[m];
        r->heap[m] = t;
        i = m;
    }
}

/* Keep the candidate if it is among the first cap_heap after the cursor;
 * the heap's root is the last of those kept. */
static int heap_push(qrun_t *r, const char *key, size_t klen, const json_t *doc, char **value,
                     size_t vlen)
{
    hitem_t c = {(char *)key, klen, NULL, 0, NULL, 0};
    int found = kvkit__qsortkey(doc, key, klen, r->q->order, &c.sortable, &c.sortable_len);
    if (found < 0)
        return nomem(r);
    hitem_t pos = {(char *)r->rkey.p, r->rkey.len, r->rphase ? NULL : r->rsort.p, r->rsort.len,
                   NULL, 0};
    bool keep = r->cap_heap > 0 && (!r->resume || ord_cmp(r, &c, &pos) > 0) &&
                (r->n_heap < r->cap_heap || ord_cmp(r, &c, &r->heap[0]) < 0);
    if (!keep) {
        kvkit__free(c.sortable);
        return KVKIT_OK;
    }
    if ((c.key = kvkit__strndup(key, klen)) == NULL) {
        kvkit__free(c.sortable);
        return nomem(r);
    }
    c.value = *value; /* taken */
    c.value_len = vlen;
    *value = NULL;
    if (r->n_heap == r->cap_heap) {
        hitem_free(&r->heap[0]);
        r->heap[0] = c;
        sift_down(r, 0, r->n_heap);
        return KVKIT_OK;
    }
    if (r->n_heap == r->alloc_heap) { /* grown as filled: a big limit costs what it holds */
        size_t n = r->alloc_heap ? 2 * r->alloc_heap : 16;
        hitem_t *h = kvkit__realloc(r->heap, (n < r->cap_heap ? n : r->cap_heap) * sizeof *h);
        if (h == NULL) {
            hitem_free(&c);
            return nomem(r);
        }
        r->heap = h;
        r->alloc_heap = n < r->cap_heap ? n : r->cap_heap;
    }
    size_t i = r->n_heap++;
    r->heap[i] = c;
    while (i > 0 && ord_cmp(r, &r->heap[(i - 1) / 2], &r->heap[i]) < 0) {
        hitem_t t = r->heap[i];
        r->heap[i] = r->heap[(i - 1) / 2];
        r->heap[(i - 1) / 2] = t;
        i = (i - 1) / 2;
    }
    return KVKIT_OK;
}

/* Sort the heap in place (ascending) and hand over its first results. */
static int heap_emit(qrun_t *r, size_t want)
{
    for (size_t n = r->n_heap; n > 1; n--) {
        hitem_t t = r->heap[0];
        r->heap[0] = r->heap[n - 1];
        r->heap[n - 1] = t;
        sift_down(r, 0, n - 1);
    }
    int rc = KVKIT_OK;
    for (size_t i = 0; i < r->n_heap && i < want && !r->stop && rc == KVKIT_OK; i++) {
        hitem_t *h = &r->heap[i];
        rc = emit(r, h->sortable == NULL, h->sortable, h->sortable_len, h->key, h->key_len,
                  r->want_docs ? h->value : NULL, h->value_len);
    }
    if (r->n_heap > want && !r->stop)
        r->more = true;
    return rc;
}

/*** candidates and phases ***/

static int candidate(qrun_t *r, size_t i, const unsigned char *sortable, size_t slen,
                     const char *key, size_t klen)
{
    const qphase_t *ph = &r->plan->phases[i];
    bool topn = r->plan->mode == QM_TOPN;
    bool parse = ph->need_doc || (topn && strcmp(r->q->order, "$key") != 0);
    char *value = NULL;
    size_t vlen = 0;
    json_t *doc = NULL;
    if (r->want_docs || parse) {
        int rc = r->view ? kvkit__view_get(r->s, r->view, r->bucket, key, &value, &vlen, r->err)
                         : kvkit_store_get(r->s, r->bucket, key, &value, &vlen, r->err);
        if (rc == KVKIT_NOTFOUND)
            return KVKIT_OK; /* deleted meanwhile (no view) */
        if (rc != KVKIT_OK)
            return rc;
        if (parse)
            doc = json_loadb(value, vlen, JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
    }
    bool ok = ph->check == NULL || kvkit__qeval(ph->check, key, klen, doc);
    for (size_t j = 0; ok && j < ph->n_excl; j++)
        ok = !kvkit__qeval(ph->excl[j], key, klen, doc);
    int rc = KVKIT_OK;
    if (ok && topn)
        rc = heap_push(r, key, klen, doc, &value, vlen);
    else if (ok)
        rc = emit(r, i, sortable, slen, key, klen, value, vlen);
    json_decref(doc);
    free(value);
    return rc;
}

/* Whether the phase's candidates are results as they come: nothing to
 * read, check or sort (the scans call emit for them directly). */
static bool plain(const qrun_t *r, const qphase_t *ph)
{
    return r->plan->mode != QM_TOPN && !r->want_docs && ph->check == NULL && ph->n_excl == 0;
}

static int run_ks(qrun_t *r, size_t i, bool resume)
{
    ks_t *ks = r->plan->phases[i].ks;
    bool direct = plain(r, &r->plan->phases[i]);
    int rc = resume ? ks_after(r, ks, (const char *)r->rkey.p, r->rkey.len)
                    : ks_seek(r, ks, NULL, 0);
    while (rc == KVKIT_OK && !ks->done && !r->stop) {
        rc = direct ? emit(r, i, NULL, 0, ks->cur, ks->cur_len, NULL, 0)
                    : candidate(r, i, NULL, 0, ks->cur, ks->cur_len);
        if (rc == KVKIT_OK && !r->stop)
            rc = ks_next(r, ks);
    }
    return rc;
}

/* A paged scan (index range, or the bucket's keys), resumed by position:
 * the run's resume buffers carry it from page to page. */
static int run_scan(qrun_t *r, size_t i, bool resume)
{
    qphase_t *ph = &r->plan->phases[i];
    if (ph->page == NULL && (ph->page = kvkit__calloc(1, sizeof *ph->page)) == NULL)
        return nomem(r);
    qpage_t *pg = ph->page;
    int rc = KVKIT_OK;
    if (resume && ((rc = bset(r, &r->psort, r->rsort.p, r->rsort.len)) != KVKIT_OK ||
                   (rc = bset(r, &r->pkey, r->rkey.p, r->rkey.len)) != KVKIT_OK))
        return rc;
    /* with a limit, the first page holds what the limit can take, and
     * pages double from there */
    uint64_t left = r->q->has_limit ? r->q->limit - r->count + 1 : QPAGE;
    pg->cap = left < QPAGE ? (size_t)left : QPAGE;
    for (bool have = resume; rc == KVKIT_OK && !r->stop;) {
        if (ph->type == PH_RANGE) {
            kvkit_index_position_t after = {r->psort.p, r->psort.len, (const char *)r->pkey.p,
                                            r->pkey.len};
            rc = page_index(r, pg, ph->field, &ph->lo, &ph->hi, have ? &after : NULL, true);
        } else {
            if (have && (rc = bapp(r, &r->pkey, 0x01)) != KVKIT_OK)
                return rc;
            rc = page_keys(r, pg, NULL, have ? (const char *)r->pkey.p : NULL, NULL);
        }
        for (pg->pos = 0; rc == KVKIT_OK && pg->pos < pg->n && !r->stop; pg->pos++) {
            const qitem_t *it = &pg->items[pg->pos];
            if (ph->hi_excl && kvkit_sortable_cmp(it->sortable, it->sortable_len, ph->hi.sortable,
                                                  ph->hi.sortable_len) == 0)
                continue; /* its smallest value in range is the excluded bound */
            rc = candidate(r, i, it->sortable, it->sortable_len, it->key, it->key_len);
        }
        if (rc != KVKIT_OK || r->stop || !pg->more)
            break;
        const qitem_t *last = &pg->items[pg->n - 1];
        pg->cap = pg->cap < QPAGE / 2 ? 2 * pg->cap : QPAGE;
        if ((rc = bset(r, &r->psort, last->sortable, last->sortable_len)) == KVKIT_OK)
            rc = bset(r, &r->pkey, last->key, last->key_len);
        have = true;
    }
    return rc;
}

/* An index range scan by its cursor, resumed strictly after (rsort, rkey):
 * at (rsort, rkey followed by 0x01), as keys hold no NUL.  With a limit,
 * the first page holds what the limit can take, and pages double from
 * there. */
static int run_range_cursor(qrun_t *r, size_t i, bool resume)
{
    qphase_t *ph = &r->plan->phases[i];
    kvkit_index_position_t hits[QPAGE];
    int rc = kvkit__icur_open(r->s, r->view, r->bucket, ph->field, &ph->lo, &ph->hi, &ph->icur,
                              r->err);
    if (rc == KVKIT_OK && resume && (rc = bset(r, &r->pkey, r->rkey.p, r->rkey.len)) == KVKIT_OK)
        rc = bapp(r, &r->pkey, 0x01);
    kvkit_index_position_t at = {r->rsort.p, r->rsort.len, (const char *)r->pkey.p, r->pkey.len};
    /* a page cut needs to know a further result exists: one more */
    uint64_t left = r->q->has_limit ? r->q->limit - r->count + (r->page > 0) : QPAGE;
    size_t want = left < 1 ? 1 : left < QPAGE ? (size_t)left : QPAGE, n = 0;
    bool direct = plain(r, ph);
    for (bool seek = resume; rc == KVKIT_OK && !r->stop; seek = false) {
        rc = kvkit__icur_next(r->s, ph->icur, ph->field, seek ? &at : NULL, hits, want, &n, r->err);
        for (size_t j = 0; rc == KVKIT_OK && j < n && !r->stop; j++) {
            const kvkit_index_position_t *h = &hits[j];
            if (ph->hi_excl && kvkit_sortable_cmp(h->sortable, h->sortable_len, ph->hi.sortable,
                                                  ph->hi.sortable_len) == 0)
                continue; /* its smallest value in range is the excluded bound */
            rc = direct ? emit(r, i, h->sortable, h->sortable_len, h->key, h->key_len, NULL, 0)
                        : candidate(r, i, h->sortable, h->sortable_len, h->key, h->key_len);
        }
        want = want < QPAGE / 2 ? 2 * want : QPAGE;
    }
    return rc == KVKIT_NOTFOUND ? KVKIT_OK : rc;
}

/* Close the cursors a run opened (before its view). */
static void ks_close(qrun_t *r, ks_t *ks)
{
    for (size_t i = 0; i < ks->n_kids; i++)
        ks_close(r, ks->kids[i]);
    kvkit__icur_close(r->s, ks->icur);
    ks->icur = NULL;
}

static void cursors_close(qrun_t *r)
{
    for (size_t i = 0; r->plan != NULL && i < r->plan->n_phases; i++) {
        qphase_t *ph = &r->plan->phases[i];
        if (ph->ks != NULL)
            ks_close(r, ph->ks);
        kvkit__icur_close(r->s, ph->icur);
        ph->icur = NULL;
    }
}

static int run_phases(qrun_t *r)
{
    bool topn = r->plan->mode == QM_TOPN;
    size_t first = r->resume && !topn ? r->rphase : 0;
    int rc = KVKIT_OK;
    for (size_t i = first; rc == KVKIT_OK && i < r->plan->n_phases && !r->stop; i++) {
        bool resume = r->resume && !topn && i == first;
        ph_type_t type = r->plan->phases[i].type;
        rc = type == PH_KS                 ? run_ks(r, i, resume)
             : type == PH_RANGE && r->icur ? run_range_cursor(r, i, resume)
                                           : run_scan(r, i, resume);
    }
    return rc;
}

/*** cursors: "kq1.HASH.COUNT.PHASE.SORTABLE.KEY" (hex for the bytes) ***/

static uint64_t fnv(uint64_t h, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)s[i]) * 1099511628211ULL;
    return h;
}

/* What a cursor belongs to: the query, its indexed fields, the bucket. */
static uint64_t query_hash(const kvkit_qexpr_t *q, const char *bucket)
{
    uint64_t h = fnv(14695981039346656037ULL, q->canon, strlen(q->canon) + 1);
    h = fnv(h, bucket, strlen(bucket) + 1);
    for (size_t i = 0; !q->all_indexed && i < q->n_indexed; i++)
        h = fnv(h, q->indexed[i], strlen(q->indexed[i]) + 1);
    return fnv(h, q->all_indexed ? "*" : "-", 1);
}

static void hex_put(char *out, const unsigned char *p, size_t n)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        *out++ = digits[p[i] >> 4];
        *out++ = digits[p[i] & 15];
    }
    *out = '\0';
}

static char *cursor_encode(const qrun_t *r)
{
    size_t n = 80 + 2 * (r->lsort.len + r->lkey.len);
    char *c = malloc(n); /* the caller frees with free(3) */
    if (c == NULL)
        return NULL;
    int k = snprintf(c, n, "kq1.%016llx.%llu.%zu.",
                     (unsigned long long)query_hash(r->q, r->bucket),
                     (unsigned long long)r->count, r->lphase);
    hex_put(c + k, r->lsort.p, r->lsort.len);
    k += (int)(2 * r->lsort.len);
    c[k++] = '.';
    hex_put(c + k, r->lkey.p, r->lkey.len);
    return c;
}

static bool hex_get(qrun_t *r, bbuf_t *b, const char *s, size_t n)
{
    if (n % 2 != 0 || bset(r, b, NULL, 0) != KVKIT_OK)
        return false;
    for (size_t i = 0; i < n; i += 2) {
        int v = 0;
        for (size_t j = i; j < i + 2; j++) {
            char c = s[j];
            int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
            if (d < 0)
                return false;
            v = v * 16 + d;
        }
        if (bapp(r, b, (unsigned char)v) != KVKIT_OK)
            return false;
    }
    return true;
}

static int cursor_decode(qrun_t *r, const char *cursor)
{
    unsigned long long hash, count;
    size_t phase;
    int used = 0;
    const char *dot;
    if (sscanf(cursor, "kq1.%16llx.%llu.%zu.%n", &hash, &count, &phase, &used) != 3 || used == 0 ||
        (dot = strchr(cursor + used, '.')) == NULL ||
        !hex_get(r, &r->rsort, cursor + used, (size_t)(dot - cursor - used)) ||
        !hex_get(r, &r->rkey, dot + 1, strlen(dot + 1)) || r->rkey.len == 0 ||
        r->rkey.len > KVKIT_KEY_MAX)
        return kvkit__error(r->err, KVKIT_INVALID, "cursor",
                            "query: malformed cursor \"%.40s\"", cursor);
    if (hash != query_hash(r->q, r->bucket))
        return kvkit__error(r->err, KVKIT_INVALID, "cursor",
                            "query: the cursor belongs to another query or bucket");
    if (phase >= (r->plan->mode == QM_TOPN ? 2 : r->plan->n_phases))
        return kvkit__error(r->err, KVKIT_INVALID, "cursor",
                            "query: malformed cursor \"%.40s\"", cursor);
    r->resume = true;
    r->rphase = phase;
    r->count = count;
    return KVKIT_OK;
}

/*** running ***/

static int run(qrun_t *r, const char *cursor)
{
    int rc = kvkit__qplan_take(r->q, &r->plan, r->err);
    if (rc == KVKIT_OK && cursor != NULL)
        rc = cursor_decode(r, cursor);
    if (rc != KVKIT_OK || (r->q->has_limit && r->count >= r->q->limit))
        return rc;
    size_t want = SIZE_MAX;
    if (r->plan->mode == QM_TOPN) {
        uint64_t left = r->q->limit - r->count;
        want = left < SIZE_MAX - 1 ? (size_t)left : SIZE_MAX - 1;
        r->cap_heap = r->page > 0 && r->page < want ? r->page + 1 : want;
        if (r->page > 0 && r->page < want)
            want = r->page;
    }
    if (r->own_view && (rc = kvkit__view_open(r->s, &r->view, r->bucket, r->err)) != KVKIT_OK)
        return rc;
    r->icur = kvkit__icur_able(r->s);
    rc = run_phases(r);
    cursors_close(r);
    if (rc == KVKIT_OK && r->plan->mode == QM_TOPN)
        rc = heap_emit(r, want);
    if (r->own_view)
        kvkit__view_close(r->s, r->view);
    return rc;
}

int kvkit_query_exec(kvkit_store_t *store, const char *bucket, const kvkit_qexpr_t *q,
                     int want_docs, size_t page, const char *cursor, char **next,
                     kvkit_query_fn fn, void *ctx, kvkit_error_t *err)
{
    return kvkit__query_exec_view(store, NULL, bucket, q, want_docs, page, cursor, next, fn, ctx,
                                  err);
}

int kvkit__query_exec_view(kvkit_store_t *store, void *view, const char *bucket,
                           const kvkit_qexpr_t *q, int want_docs, size_t page, const char *cursor,
                           char **next, kvkit_query_fn fn, void *ctx, kvkit_error_t *err)
{
    if (next != NULL)
        *next = NULL;
    CHECK_STORE(store, err);
    if (q == NULL || fn == NULL)
        return kvkit__error(err, KVKIT_INVALID, "", "query: the query or the callback is NULL");
    int rc = kvkit__check_bucket_key(bucket, NULL, err);
    if (rc != KVKIT_OK)
        return rc;
    qrun_t r = {.s = store, .bucket = bucket, .view = view, .own_view = view == NULL,
                .q = q, .want_docs = want_docs != 0, .fn = fn,
                .ctx = ctx, .page = page, .err = err, .lim = q->has_limit ? q->limit : UINT64_MAX,
                .cut = page > 0 ? page : SIZE_MAX};
    rc = run(&r, cursor);
    if (rc == KVKIT_OK && r.more && next != NULL && (*next = cursor_encode(&r)) == NULL)
        rc = nomem(&r);
    for (size_t i = 0; i < r.n_heap; i++)
        hitem_free(&r.heap[i]);
    kvkit__free(r.heap);
    kvkit__qplan_give(q, r.plan);
    bbuf_t *bufs[] = {&r.rsort, &r.rkey, &r.lsort, &r.lkey, &r.psort, &r.pkey, &r.scratch, &r.succ};
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++)
        kvkit__free(bufs[i]->p);
    return rc;
}
