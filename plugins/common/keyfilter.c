/* keyfilter.c - see keyfilter.h. */
#include "keyfilter.h"

#include <stdlib.h>
#include <string.h>

#define BLOCK 64 /* bytes: 512 bits */

static uint64_t mix(uint64_t x)
{
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ULL;
    x ^= x >> 33;
    return x;
}

uint64_t kvl_filter_hash(const void *key, size_t len)
{
    const unsigned char *p = key;
    uint64_t h = 0x9e3779b97f4a7c15ULL ^ len;
    while (len >= 8) {
        uint64_t w = 0;
        for (int i = 0; i < 8; i++)
            w |= (uint64_t)p[i] << (8 * i);
        h = mix(h ^ w);
        p += 8;
        len -= 8;
    }
    uint64_t w = 0;
    for (size_t i = 0; i < len; i++)
        w |= (uint64_t)p[i] << (8 * i);
    return mix(h ^ w ^ 0x5bd1e995ULL);
}

/* The block of level lv that h uses, and its probe sequence (a, a+b, ...). */
static unsigned char *block_of(const kvl_filter_level_t *lv, uint64_t h, unsigned *a,
                               unsigned *b)
{
    size_t i = (size_t)(((h >> 32) * (uint64_t)lv->n_blocks) >> 32);
    *a = (unsigned)(h & 511);
    *b = (unsigned)((h >> 9) & 511) | 1;
    return lv->bits + i * BLOCK;
}

static bool level_maybe(const kvl_filter_level_t *lv, uint64_t h)
{
    unsigned a, b;
    const unsigned char *blk = block_of(lv, h, &a, &b);
    for (int i = 0; i < KVL_FILTER_PROBES; i++, a += b)
        if (!(blk[(a & 511) >> 3] & (1u << (a & 7))))
            return false;
    return true;
}

bool kvl_filter_maybe(const kvl_filter_t *f, uint64_t h)
{
    for (size_t j = 0; j < f->n_levels; j++)
        if (level_maybe(&f->level[j], h))
            return true;
    return false;
}

size_t kvl_filter_pages(const kvl_filter_t *f, size_t j)
{
    return f->level[j].n_blocks * BLOCK / KVL_FILTER_PAGE;
}

int kvl_filter_grow(kvl_filter_t *f)
{
    if (f->n_levels == KVL_FILTER_MAX_LEVELS)
        return -1;
    kvl_filter_level_t *lv = &f->level[f->n_levels];
    size_t n_blocks = (size_t)KVL_FILTER_BASE_BLOCKS << f->n_levels;
    lv->bits = calloc(n_blocks, BLOCK);
    lv->dirty = malloc(n_blocks * BLOCK / KVL_FILTER_PAGE);
    if (lv->bits == NULL || lv->dirty == NULL) {
        free(lv->bits);
        free(lv->dirty);
        memset(lv, 0, sizeof *lv);
        return -1;
    }
    memset(lv->dirty, 1, n_blocks * BLOCK / KVL_FILTER_PAGE); /* never stored */
    lv->n_blocks = n_blocks;
    lv->n_keys = 0;
    f->n_levels++;
    return 0;
}

int kvl_filter_add(kvl_filter_t *f, uint64_t h)
{
    kvl_filter_level_t *lv = f->n_levels ? &f->level[f->n_levels - 1] : NULL;
    if (lv == NULL || lv->n_keys >= lv->n_blocks * BLOCK * 8 / KVL_FILTER_BITS_PER_KEY) {
        if (kvl_filter_grow(f) != 0)
            return -1;
        lv = &f->level[f->n_levels - 1];
    }
    unsigned a, b;
    unsigned char *blk = block_of(lv, h, &a, &b);
    for (int i = 0; i < KVL_FILTER_PROBES; i++, a += b)
        blk[(a & 511) >> 3] |= (unsigned char)(1u << (a & 7));
    lv->dirty[(size_t)(blk - lv->bits) / KVL_FILTER_PAGE] = 1;
    lv->n_keys++;
    return 0;
}

void kvl_filter_free(kvl_filter_t *f)
{
    for (size_t j = 0; j < f->n_levels; j++) {
        free(f->level[j].bits);
        free(f->level[j].dirty);
    }
    memset(f, 0, sizeof *f);
}
