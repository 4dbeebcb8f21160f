/* alloc.c - the one place libkvkit allocates, so an application (or a
 * test that fails the Nth allocation) can replace the allocator. */
#include "kvkit_private.h"

#include <stdlib.h>
#include <string.h>

static kvkit_malloc_fn malloc_fn = malloc;
static kvkit_realloc_fn realloc_fn = realloc;
static kvkit_free_fn free_fn = free;

void kvkit_set_alloc_funcs(kvkit_malloc_fn m, kvkit_realloc_fn r, kvkit_free_fn f)
{
    malloc_fn = m ? m : malloc;
    realloc_fn = r ? r : realloc;
    free_fn = f ? f : free;
}

void *kvkit__malloc(size_t size)
{
    return malloc_fn(size ? size : 1);
}

void *kvkit__calloc(size_t n, size_t size)
{
    if (n == 0 || size == 0)
        n = size = 1;
    if (n > SIZE_MAX / size)
        return NULL;
    void *p = malloc_fn(n * size);
    if (p != NULL)
        memset(p, 0, n * size);
    return p;
}

void *kvkit__realloc(void *ptr, size_t size)
{
    return realloc_fn(ptr, size ? size : 1);
}

void kvkit__free(void *ptr)
{
    if (ptr != NULL)
        free_fn(ptr);
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
