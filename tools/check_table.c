/*
 * check_table.c - what `kvkit check` remembers about a bucket: every
 * document key and every index entry the documents should have, packed in
 * arena memory and sorted for merging and binary search.
 *
 * About 50 bytes per entry plus the key once: a million documents with two
 * indexed fields fit in ~150 MB (a jansson object per entry took ~1.4 GB).
 */
#include <config.h>

#include <stdlib.h>
#include <string.h>

#include "cli.h"

#define BLOCK_SIZE (256 * 1024)

typedef struct block {
    struct block *next;
    size_t used, size;
    unsigned char data[];
} block_t;

struct check_table {
    block_t *blocks;
    const char **docs, **skip;
    size_t n_docs, cap_docs, n_skip, cap_skip;
    ct_entry_t *e; /* by (field, sortable, key) once sealed */
    size_t n_e, cap_e;
    ct_entry_t **by_key; /* the same entries by (field, key) */
};

static void *arena_alloc(check_table_t *t, size_t n)
{
    block_t *b = t->blocks;
    if (b == NULL || b->size - b->used < n) {
        size_t size = n > BLOCK_SIZE ? n : BLOCK_SIZE;
        if ((b = malloc(sizeof *b + size)) == NULL)
            return NULL;
        b->next = t->blocks;
        b->used = 0;
        b->size = size;
        t->blocks = b;
    }
    void *p = b->data + b->used;
    b->used += n;
    return p;
}

static int grow(void *vp, size_t *cap, size_t n, size_t size)
{
    void **p = vp;
    if (n < *cap)
        return 0;
    size_t c = *cap ? 2 * *cap : 1024;
    void *g = realloc(*p, c * size);
    if (g == NULL)
        return -1;
    *p = g;
    *cap = c;
    return 0;
}

check_table_t *ct_create(void)
{
    return calloc(1, sizeof(check_table_t));
}

void ct_destroy(check_table_t *t)
{
    if (t == NULL)
        return;
    while (t->blocks) {
        block_t *b = t->blocks;
        t->blocks = b->next;
        free(b);
    }
    free(t->docs);
    free(t->skip);
    free(t->e);
    free(t->by_key);
    free(t);
}

const char *ct_add_doc(check_table_t *t, const char *key)
{
    size_t len = strlen(key) + 1;
    char *copy = arena_alloc(t, len);
    if (copy == NULL || grow(&t->docs, &t->cap_docs, t->n_docs, sizeof *t->docs) != 0)
        return NULL;
    memcpy(copy, key, len);
    t->docs[t->n_docs++] = copy;
    return copy;
}

int ct_add_skip(check_table_t *t, const char *key)
{
    if (grow(&t->skip, &t->cap_skip, t->n_skip, sizeof *t->skip) != 0)
        return -1;
    t->skip[t->n_skip++] = key;
    return 0;
}

int ct_add_entry(check_table_t *t, uint32_t field, const unsigned char *sortable, size_t len,
                 const char *key)
{
    unsigned char *copy = arena_alloc(t, len);
    if (copy == NULL || grow(&t->e, &t->cap_e, t->n_e, sizeof *t->e) != 0)
        return -1;
    memcpy(copy, sortable, len);
    t->e[t->n_e++] = (ct_entry_t){copy, key, field, (uint32_t)len};
    return 0;
}

int ct_sortable_cmp(const ct_entry_t *a, const ct_entry_t *b)
{
    size_t n = a->len < b->len ? a->len : b->len;
    int c = n ? memcmp(a->sortable, b->sortable, n) : 0;
    return c ? c : (a->len > b->len) - (a->len < b->len);
}

static int by_value(const void *va, const void *vb)
{
    const ct_entry_t *a = va, *b = vb;
    if (a->field != b->field)
        return a->field < b->field ? -1 : 1;
    int c = ct_sortable_cmp(a, b);
    return c ? c : strcmp(a->key, b->key);
}

static int by_key(const void *va, const void *vb)
{
    const ct_entry_t *a = *(ct_entry_t *const *)va, *b = *(ct_entry_t *const *)vb;
    if (a->field != b->field)
        return a->field < b->field ? -1 : 1;
    return strcmp(a->key, b->key);
}

static int str_cmp(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

int ct_seal(check_table_t *t)
{
    if (t->n_docs > 1)
        qsort(t->docs, t->n_docs, sizeof *t->docs, str_cmp);
    if (t->n_skip > 1)
        qsort(t->skip, t->n_skip, sizeof *t->skip, str_cmp);
    if (t->n_e > 1)
        qsort(t->e, t->n_e, sizeof *t->e, by_value);
    size_t n = 0; /* a list holding a value twice gives one entry */
    for (size_t i = 0; i < t->n_e; i++)
        if (n == 0 || by_value(&t->e[n - 1], &t->e[i]) != 0)
            t->e[n++] = t->e[i];
    t->n_e = n;
    if ((t->by_key = malloc((n ? n : 1) * sizeof *t->by_key)) == NULL)
        return -1;
    for (size_t i = 0; i < n; i++)
        t->by_key[i] = &t->e[i];
    if (n > 1)
        qsort(t->by_key, n, sizeof *t->by_key, by_key);
    return 0;
}

static int find_str(const char *const *v, size_t n, const char *key)
{
    return n > 0 && bsearch(&key, v, n, sizeof *v, str_cmp) != NULL;
}

int ct_is_doc(const check_table_t *t, const char *key)
{
    return find_str(t->docs, t->n_docs, key);
}

int ct_is_skipped(const check_table_t *t, const char *key)
{
    return find_str(t->skip, t->n_skip, key);
}

int ct_has(const check_table_t *t, uint32_t field, const char *key)
{
    ct_entry_t probe = {NULL, key, field, 0}, *pp = &probe;
    return t->n_e > 0 && bsearch(&pp, t->by_key, t->n_e, sizeof *t->by_key, by_key) != NULL;
}

size_t ct_size(const check_table_t *t)
{
    return t->n_e;
}

const ct_entry_t *ct_at(const check_table_t *t, size_t i)
{
    return &t->e[i];
}
