/* alloc.c - the one place libkvkit allocates, so hooks can replace it. */
#include "kvkit_private.h"

#include <stdlib.h>
#include <string.h>

void *kvkit__malloc(size_t size)
{
    return malloc(size ? size : 1);
}

void *kvkit__calloc(size_t n, size_t size)
{
    return calloc(n ? n : 1, size ? size : 1);
}

void *kvkit__realloc(void *ptr, size_t size)
{
    return realloc(ptr, size ? size : 1);
}

void kvkit__free(void *ptr)
{
    free(ptr);
}

char *kvkit__strndup(const char *s, size_t n)
{
    char *d = kvkit__malloc(n + 1);
    if (d == NULL)
        return NULL;
    memcpy(d, s, n);
    d[n] = '\0';
    return d;
}

char *kvkit__strdup(const char *s)
{
    return kvkit__strndup(s, strlen(s));
}
