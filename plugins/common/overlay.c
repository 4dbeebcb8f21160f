/* overlay.c - see overlay.h. */
#include "overlay.h"

#include <stdlib.h>
#include <string.h>

void kvl_overlay_free(kvl_overlay_t *o)
{
    for (size_t i = 0; i < o->n; i++) {
        free(o->v[i].mkey);
        free(o->v[i].manifest);
    }
    free(o->v);
    free(o->slots);
}

static uint64_t hash_bytes(const unsigned char *p, size_t n)
{
    uint64_t h = 14695981039346656037ULL; /* FNV-1a */
    for (size_t i = 0; i < n; i++)
        h = (h ^ p[i]) * 1099511628211ULL;
    return h;
}

/* The slot holding mkey, or the empty slot where it would go. */
static size_t overlay_slot(const kvl_overlay_t *o, const unsigned char *k, size_t klen)
{
    size_t mask = o->n_slots - 1, i = (size_t)hash_bytes(k, klen) & mask;
    for (;; i = (i + 1) & mask) {
        uint32_t e = o->slots[i];
        if (e == 0)
            return i;
        if (o->v[e - 1].mkey_len == klen && memcmp(o->v[e - 1].mkey, k, klen) == 0)
            return i;
    }
}

/* 1 + the index of mkey in o->v, or 0. */
static uint32_t overlay_find(const kvl_overlay_t *o, const unsigned char *mkey, size_t len)
{
    return o->n_slots == 0 ? 0 : o->slots[overlay_slot(o, mkey, len)];
}

bool kvl_overlay_get(const kvl_overlay_t *o, const unsigned char *mkey, size_t len,
                     const unsigned char **manifest, size_t *manifest_len)
{
    uint32_t e = overlay_find(o, mkey, len);
    if (e == 0)
        return false;
    *manifest = o->v[e - 1].manifest;
    *manifest_len = o->v[e - 1].manifest_len;
    return true;
}

static int overlay_grow(kvl_overlay_t *o)
{
    size_t n_slots = o->n_slots ? 2 * o->n_slots : 32;
    uint32_t *slots = calloc(n_slots, sizeof *slots);
    if (slots == NULL)
        return KVKIT_NOMEM;
    free(o->slots);
    o->slots = slots;
    o->n_slots = n_slots;
    for (size_t i = 0; i < o->n; i++)
        o->slots[overlay_slot(o, o->v[i].mkey, o->v[i].mkey_len)] = (uint32_t)(i + 1);
    return KVKIT_OK;
}

/* A new entry for mkey (no manifest yet); its index in *i. */
static int overlay_add(kvl_overlay_t *o, const unsigned char *mkey, size_t len, size_t *i)
{
    if (o->n >= KVL_OVERLAY_MAX)
        return KVKIT_TOO_LARGE;
    if (2 * (o->n + 1) > o->n_slots && overlay_grow(o) != KVKIT_OK)
        return KVKIT_NOMEM;
    if (o->n == o->cap) {
        size_t cap = o->cap ? 2 * o->cap : 16;
        void *g = realloc(o->v, cap * sizeof *o->v);
        if (g == NULL)
            return KVKIT_NOMEM;
        o->v = g;
        o->cap = cap;
    }
    *i = o->n;
    if ((o->v[*i].mkey = malloc(len)) == NULL)
        return KVKIT_NOMEM;
    memcpy(o->v[*i].mkey, mkey, len);
    o->v[*i].mkey_len = len;
    o->v[*i].manifest = NULL;
    o->n++;
    o->slots[overlay_slot(o, mkey, len)] = (uint32_t)o->n;
    return KVKIT_OK;
}

int kvl_overlay_set(kvl_overlay_t *o, const unsigned char *mkey, size_t len,
                    const unsigned char *manifest, size_t manifest_len)
{
    uint32_t e = overlay_find(o, mkey, len);
    size_t i = e - 1;
    int rc = e == 0 ? overlay_add(o, mkey, len, &i) : KVKIT_OK;
    if (rc != KVKIT_OK)
        return rc;
    free(o->v[i].manifest);
    o->v[i].manifest = NULL;
    o->v[i].manifest_len = 0;
    if (manifest != NULL) {
        if ((o->v[i].manifest = malloc(manifest_len ? manifest_len : 1)) == NULL)
            return KVKIT_NOMEM;
        memcpy(o->v[i].manifest, manifest, manifest_len);
        o->v[i].manifest_len = manifest_len;
    }
    return KVKIT_OK;
}
