/* kvlfilter.c - see kvlfilter.h. */
#include "kvlfilter.h"

#include <stdlib.h>
#include <string.h>

enum { UNLOADED, READY, OFF }; /* filter_state: UNLOADED is 0, as kvl_t is made */

static const unsigned char header_key[1] = {KVL_FILTER};
static const char magic[4] = {'K', 'V', 'F', 2}; /* 2: 16 bits a key, 9 probes */
#define HEADER_FIXED 13 /* magic, ceiling, level count */

static void page_key(unsigned char k[6], size_t level, size_t page)
{
    k[0] = KVL_FILTER;
    k[1] = (unsigned char)level;
    for (int i = 0; i < 4; i++)
        k[2 + i] = (unsigned char)(page >> (24 - 8 * i));
}

/* The header of a stored filter, if the store's ceiling says it saw every
 * save: its level count, else -1. */
static int header_ok(const kvl_t *l, const unsigned char *h, size_t len)
{
    if (len < HEADER_FIXED || memcmp(h, magic, 4) != 0 || h[12] > KVL_FILTER_MAX_LEVELS ||
        len != HEADER_FIXED + 8 * (size_t)h[12] || kvl_be64_get(h + 4) != l->ceiling)
        return -1;
    return h[12];
}

/* The stored filter, read with one iterator (the header key 'f' sorts
 * before its pages, which sort by level, then page): 0, or -1 (absent,
 * stale, damaged or out of memory: build it instead). */
static int load(kvl_t *l)
{
    kvkit_error_t ignored = {0};
    void *it = l->ops->iter_new(l->eng, NULL);
    if (it == NULL)
        return -1;
    size_t len;
    const unsigned char *k, *v;
    l->ops->iter_seek(it, header_key, 1);
    int n = -1;
    if (l->ops->iter_valid(it) && (k = l->ops->iter_key(it, &len)) != NULL && len == 1 &&
        k[0] == KVL_FILTER) {
        v = l->ops->iter_value(it, &len);
        if ((n = header_ok(l, v, len)) >= 0)
            for (int j = 0; j < n; j++)
                l->filter.level[j].n_keys = kvl_be64_get(v + HEADER_FIXED + 8 * j);
    }
    int rc = n < 0 ? -1 : 0;
    for (int j = 0; rc == 0 && j < n; j++) {
        uint64_t n_keys = l->filter.level[j].n_keys;
        rc = kvl_filter_grow(&l->filter);
        kvl_filter_level_t *lv = &l->filter.level[j];
        lv->n_keys = n_keys;
        for (size_t p = 0; rc == 0 && p < kvl_filter_pages(&l->filter, j); p++) {
            unsigned char want[6];
            page_key(want, (size_t)j, p);
            l->ops->iter_next(it);
            rc = l->ops->iter_valid(it) && (k = l->ops->iter_key(it, &len)) != NULL &&
                         len == sizeof want && memcmp(k, want, len) == 0 &&
                         (v = l->ops->iter_value(it, &len)) != NULL && len == KVL_FILTER_PAGE
                     ? 0
                     : -1;
            if (rc == 0)
                memcpy(lv->bits + p * KVL_FILTER_PAGE, v, KVL_FILTER_PAGE);
            lv->dirty[p] = 0;
        }
    }
    if (rc == 0 && l->ops->iter_status(it, &ignored) != KVKIT_OK)
        rc = -1;
    l->ops->iter_free(it);
    if (rc == 0)
        l->filter_ceiling = l->ceiling;
    return rc;
}

/* The filter from the store's manifests: one scan of the 'm' keys. */
static int build(kvl_t *l)
{
    const unsigned char prefix[1] = {KVL_MANIFEST};
    kvkit_error_t ignored = {0};
    void *it = l->ops->iter_new(l->eng, NULL);
    if (it == NULL)
        return -1;
    int rc = 0;
    for (l->ops->iter_seek(it, prefix, 1); rc == 0 && l->ops->iter_valid(it);
         l->ops->iter_next(it)) {
        size_t klen;
        const unsigned char *k = l->ops->iter_key(it, &klen);
        if (klen == 0 || k[0] != KVL_MANIFEST)
            break;
        rc = kvl_filter_add(&l->filter, kvl_filter_hash(k, klen));
    }
    if (rc == 0 && l->ops->iter_status(it, &ignored) != KVKIT_OK)
        rc = -1;
    l->ops->iter_free(it);
    return rc;
}

static void prepare(kvl_t *l)
{
    l->filter_ceiling = UINT64_MAX; /* nothing valid is stored */
    if (l->filter_mode == KVL_FILTER_STORED && load(l) == 0) {
        l->filter_state = READY;
        return;
    }
    kvl_filter_free(&l->filter);
    l->filter_state = build(l) == 0 ? READY : OFF;
    if (l->filter_state == OFF)
        kvl_filter_free(&l->filter);
}

int kvl_filter_absent(kvl_t *l, const unsigned char *mkey, size_t len, uint64_t *hash)
{
    if (l->filter_mode == KVL_FILTER_NONE)
        return 0;
    if (l->filter_state == UNLOADED)
        prepare(l);
    if (l->filter_state != READY)
        return 0;
    *hash = kvl_filter_hash(mkey, len);
    return !kvl_filter_maybe(&l->filter, *hash);
}

void kvl_filter_note(kvl_t *l, uint64_t hash)
{
    if (l->filter_state == READY && kvl_filter_add(&l->filter, hash) != 0) {
        kvl_filter_free(&l->filter); /* it cannot hold every key any more */
        l->filter_state = OFF;
    }
}

/* Write the changed pages and the header in one batch. */
static void store(kvl_t *l)
{
    kvl_filter_t *f = &l->filter;
    unsigned char head[HEADER_FIXED + 8 * KVL_FILTER_MAX_LEVELS];
    memcpy(head, magic, 4);
    kvl_be64_put(head + 4, l->ceiling);
    head[12] = (unsigned char)f->n_levels;
    void *batch = l->ops->batch_new(l->eng);
    int rc = batch ? KVKIT_OK : KVKIT_NOMEM;
    for (size_t j = 0; rc == KVKIT_OK && j < f->n_levels; j++) {
        kvl_be64_put(head + HEADER_FIXED + 8 * j, f->level[j].n_keys);
        for (size_t p = 0; rc == KVKIT_OK && p < kvl_filter_pages(f, j); p++) {
            unsigned char k[6];
            page_key(k, j, p);
            if (f->level[j].dirty[p])
                rc = l->ops->batch_put(batch, k, sizeof k,
                                       f->level[j].bits + p * KVL_FILTER_PAGE, KVL_FILTER_PAGE);
        }
    }
    if (rc == KVKIT_OK)
        rc = l->ops->batch_put(batch, header_key, 1, head, HEADER_FIXED + 8 * f->n_levels);
    kvkit_error_t ignored = {0}; /* not stored: the next open rebuilds it */
    if (rc == KVKIT_OK)
        l->ops->batch_commit(l->eng, batch, &ignored);
    if (batch != NULL)
        l->ops->batch_free(batch);
}

static int changed(const kvl_t *l)
{
    if (l->filter_ceiling != l->ceiling)
        return 1;
    for (size_t j = 0; j < l->filter.n_levels; j++)
        for (size_t p = 0; p < kvl_filter_pages(&l->filter, j); p++)
            if (l->filter.level[j].dirty[p])
                return 1;
    return 0;
}

void kvl_filter_close(kvl_t *l)
{
    if (l->filter_mode == KVL_FILTER_STORED && l->filter_state == READY && changed(l))
        store(l);
    kvl_filter_free(&l->filter);
    l->filter_state = UNLOADED;
}
