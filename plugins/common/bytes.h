/*
 * bytes.h - a growable byte buffer for building keys and values, shared by
 * the plugins' common code and etcd.  Header-only (inline): it is on every
 * save's path.  An allocation failure sets `failed` and makes every later
 * add a no-op, so a caller builds a whole key and checks once.  The bytes
 * are always followed by a NUL, not counted in len.
 */
#ifndef KVKIT_PLUGIN_BYTES_H
#define KVKIT_PLUGIN_BYTES_H

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef struct kvl_buf {
    unsigned char *p;
    size_t len, cap;
    bool failed;
} kvl_buf_t;

/* Room for n more bytes (and the NUL): false when out of memory. */
static inline bool kvl_buf_reserve(kvl_buf_t *b, size_t n)
{
    if (b->failed)
        return false;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 64;
        while (cap < b->len + n + 1)
            cap *= 2;
        unsigned char *p = realloc(b->p, cap);
        if (p == NULL) {
            b->failed = true;
            return false;
        }
        b->p = p;
        b->cap = cap;
    }
    return true;
}

static inline void kvl_buf_add(kvl_buf_t *b, const void *data, size_t n)
{
    if (!kvl_buf_reserve(b, n))
        return;
    if (n > 0)
        memcpy(b->p + b->len, data, n);
    b->len += n;
    b->p[b->len] = '\0';
}

static inline void kvl_buf_byte(kvl_buf_t *b, unsigned char c)
{
    kvl_buf_add(b, &c, 1);
}

/* lp(x): one length byte, then x (callers guarantee n <= 255) */
static inline void kvl_buf_lp(kvl_buf_t *b, const char *s, size_t n)
{
    kvl_buf_byte(b, (unsigned char)n);
    kvl_buf_add(b, s, n);
}

/* 64-bit big-endian numbers, as the layouts store them */
static inline void kvl_be64_put(unsigned char *p, uint64_t v)
{
    for (int i = 7; i >= 0; i--, v >>= 8)
        p[i] = (unsigned char)(v & 0xff);
}

static inline uint64_t kvl_be64_get(const unsigned char *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = (v << 8) | p[i];
    return v;
}

static inline void kvl_buf_free(kvl_buf_t *b)
{
    free(b->p);
    memset(b, 0, sizeof *b);
}

#endif /* KVKIT_PLUGIN_BYTES_H */
