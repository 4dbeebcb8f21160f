/* fuzz_common.h - small helpers shared by the libFuzzer targets. */
#ifndef KVKIT_FUZZ_COMMON_H
#define KVKIT_FUZZ_COMMON_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A property the target checks failed: report it and abort, so libFuzzer
 * keeps the input as a crash. */
#define FUZZ_CHECK(cond, ...)                                                  \
    do {                                                                       \
        if (!(cond)) {                                                         \
            fprintf(stderr, "fuzz property violated: %s (%s:%d): ", #cond,     \
                    __FILE__, __LINE__);                                       \
            fprintf(stderr, __VA_ARGS__);                                      \
            fputc('\n', stderr);                                               \
            abort();                                                           \
        }                                                                      \
    } while (0)

/* The input as a NUL-terminated string (malloc'd; free it). */
static inline char *fuzz_cstr(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);
    if (s == NULL)
        abort();
    memcpy(s, data, size);
    s[size] = '\0';
    return s;
}

/* Consume the input front to back (FuzzedDataProvider, the C way). */
typedef struct fuzz_in {
    const uint8_t *p;
    size_t n;
} fuzz_in_t;

static inline unsigned fuzz_byte(fuzz_in_t *in)
{
    if (in->n == 0)
        return 0;
    in->n--;
    return *in->p++;
}

/* Next chunk up to the separator byte sequence `sep` (or the end). */
static inline const uint8_t *fuzz_chunk(fuzz_in_t *in, const char *sep, size_t *len)
{
    size_t sl = strlen(sep);
    const uint8_t *start = in->p;
    const uint8_t *hit = in->n >= sl ? memmem(in->p, in->n, sep, sl) : NULL;
    if (hit == NULL) {
        *len = in->n;
        in->p += in->n;
        in->n = 0;
    } else {
        *len = (size_t)(hit - in->p);
        in->n -= *len + sl;
        in->p = hit + sl;
    }
    return start;
}

#endif
