/*
 * batch.c - many saves and deletes applied together.
 *
 * A batch is the backend's write array itself (kvkit_backend_write_t), so
 * kvkit_store_write hands it over without building anything.  What a
 * kvkit_batch_save copies (bucket, key, value, index entries) goes into the
 * batch's arena: chunks carved by bump allocation, one malloc per
 * ARENA_CHUNK bytes rather than several per document, each document taking
 * exactly the bytes it needs.  kvkit_batch_save_borrowed copies nothing: the
 * writes point at the caller's memory.
 */
#include "kvkit_private.h"

#include <stdalign.h>
#include <string.h>

/*** arena ***/

#define ARENA_CHUNK 32768
/* a request above this gets a block of its own, so a chunk never loses
 * more than a quarter of itself to a large value that does not fit */
#define ARENA_LARGE (ARENA_CHUNK / 4)

typedef struct arena_block {
    struct arena_block *next;
    alignas(max_align_t) unsigned char data[];
} arena_block_t;

typedef struct arena {
    arena_block_t *blocks; /* newest first; the chunk being carved is the first standard one */
    unsigned char *next;   /* free space of the chunk being carved */
    size_t left;
} arena_t;

static void *arena_block(arena_t *a, size_t size)
{
    arena_block_t *blk = kvkit__malloc(sizeof *blk + size);
    if (blk == NULL)
        return NULL;
    blk->next = a->blocks;
    a->blocks = blk;
    return blk->data;
}

/* `bytes` from the arena, aligned to `align` (a power of two); NULL when
 * out of memory. */
static void *arena_take(arena_t *a, size_t bytes, size_t align)
{
    size_t pad = (size_t)(-(uintptr_t)a->next & (align - 1));
    if (a->next != NULL && pad + bytes <= a->left) {
        void *p = a->next + pad;
        a->next += pad + bytes;
        a->left -= pad + bytes;
        return p;
    }
    if (bytes > ARENA_LARGE)
        return arena_block(a, bytes); /* the chunk being carved stays as it is */
    unsigned char *chunk = arena_block(a, ARENA_CHUNK);
    if (chunk == NULL)
        return NULL;
    a->next = chunk + bytes; /* block data is aligned for anything */
    a->left = ARENA_CHUNK - bytes;
    return chunk;
}

static char *arena_copy(arena_t *a, const char *s, size_t len)
{
    char *p = arena_take(a, len + 1, 1);
    if (p != NULL) {
        if (len > 0)
            memcpy(p, s, len);
        p[len] = '\0';
    }
    return p;
}

static void arena_free(arena_t *a)
{
    for (arena_block_t *blk = a->blocks, *next; blk != NULL; blk = next) {
        next = blk->next;
        kvkit__free(blk);
    }
}

/*** batches ***/

struct kvkit_batch {
    kvkit_backend_write_t *w; /* what write_batch receives */
    size_t n, cap;
    arena_t arena;
    const char *bucket; /* the arena's copy of the last bucket, reused while it repeats */
};

kvkit_batch_t *kvkit_batch_create(void)
{
    return kvkit__calloc(1, sizeof(kvkit_batch_t));
}

void kvkit_batch_destroy(kvkit_batch_t *b)
{
    if (b == NULL)
        return;
    arena_free(&b->arena); /* borrowed memory is the caller's: never freed here */
    kvkit__free(b->w);
    kvkit__free(b);
}

size_t kvkit_batch_size(const kvkit_batch_t *b)
{
    return b ? b->n : 0;
}

/* Deep copy of n entries into the arena. */
static const kvkit_index_entry_t *copy_entries(arena_t *a, const kvkit_index_entry_t *src, size_t n)
{
    kvkit_index_entry_t *dst = arena_take(a, n * sizeof *dst, alignof(kvkit_index_entry_t));
    if (dst == NULL)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        const kvkit_index_value_t *v = &src[i].value;
        dst[i] = src[i];
        unsigned char *sortable = arena_take(a, v->sortable_len, 1);
        dst[i].field = arena_copy(a, src[i].field, strlen(src[i].field));
        if (sortable == NULL || dst[i].field == NULL)
            return NULL;
        memcpy(sortable, v->sortable, v->sortable_len);
        dst[i].value.sortable = sortable;
        if (v->kind == KVKIT_INDEX_STRING &&
            (dst[i].value.string = arena_copy(a, v->string, v->string_len)) == NULL)
            return NULL;
    }
    return dst;
}

/* Copy the write's strings and entries into the arena (they point at the
 * caller's memory on entry). */
static int own_write(kvkit_batch_t *b, kvkit_backend_write_t *w)
{
    arena_t *a = &b->arena;
    if (b->bucket == NULL || strcmp(b->bucket, w->bucket) != 0) {
        const char *bucket = arena_copy(a, w->bucket, strlen(w->bucket));
        if (bucket == NULL)
            return KVKIT_NOMEM;
        b->bucket = bucket;
    }
    w->bucket = b->bucket;
    if ((w->key = arena_copy(a, w->key, strlen(w->key))) == NULL)
        return KVKIT_NOMEM;
    if (w->value != NULL && (w->value = arena_copy(a, w->value, w->value_len)) == NULL)
        return KVKIT_NOMEM;
    if (w->n_entries > 0 && (w->entries = copy_entries(a, w->entries, w->n_entries)) == NULL)
        return KVKIT_NOMEM;
    return KVKIT_OK;
}

/* Queue one write; value NULL is a delete.  With copy false everything is
 * borrowed.  On failure the batch is unchanged (bytes already taken from
 * the arena stay there until destroy). */
static int add(kvkit_batch_t *b, const char *bucket, const char *key, const char *value,
               size_t value_len, const kvkit_index_set_t *index, bool copy, kvkit_error_t *err)
{
    if (b == NULL)
        return kvkit__error(err, KVKIT_INVALID, "", "batch is NULL");
    int rc = kvkit__check_bucket_key(bucket, key, err);
    if (rc != KVKIT_OK)
        return rc;
    if (b->n == b->cap) {
        size_t cap = b->cap ? 2 * b->cap : 16;
        kvkit_backend_write_t *grown = kvkit__realloc(b->w, cap * sizeof *grown);
        if (grown == NULL)
            return kvkit__error(err, KVKIT_NOMEM, key, "out of memory growing batch");
        b->w = grown;
        b->cap = cap;
    }
    kvkit_backend_write_t w = {
        .bucket = bucket, .key = key, .value = value, .value_len = value_len};
    if (value != NULL)
        w.entries = kvkit__index_set_entries(index, &w.n_entries);
    if (copy && own_write(b, &w) != KVKIT_OK)
        return kvkit__error(err, KVKIT_NOMEM, key, "out of memory adding to batch");
    b->w[b->n++] = w;
    return KVKIT_OK;
}

int kvkit_batch_save(kvkit_batch_t *b, const char *bucket, const char *key, const char *value,
                     size_t value_len, const kvkit_index_set_t *index, kvkit_error_t *err)
{
    if (value == NULL && value_len > 0)
        return kvkit__error(err, KVKIT_INVALID, key ? key : "", "kvkit_batch_save: value is NULL");
    return add(b, bucket, key, value ? value : "", value_len, index, true, err);
}

int kvkit_batch_save_borrowed(kvkit_batch_t *b, const char *bucket, const char *key,
                              const char *value, size_t value_len, const kvkit_index_set_t *index,
                              kvkit_error_t *err)
{
    if (value == NULL && value_len > 0)
        return kvkit__error(err, KVKIT_INVALID, key ? key : "",
                            "kvkit_batch_save_borrowed: value is NULL");
    return add(b, bucket, key, value ? value : "", value_len, index, false, err);
}

int kvkit_batch_delete(kvkit_batch_t *b, const char *bucket, const char *key, kvkit_error_t *err)
{
    return add(b, bucket, key, NULL, 0, NULL, true, err);
}

/*** applying ***/

/* Write by write, for backends without write_batch. */
static int write_each(kvkit_store_t *s, const kvkit_batch_t *b, kvkit_error_t *err)
{
    for (size_t i = 0; i < b->n; i++) {
        const kvkit_backend_write_t *w = &b->w[i];
        kvkit_error_t berr = {0};
        kvkit__store_enter(s);
        int rc = w->value ? s->backend->ops.save(s->handle, w->bucket, w->key, w->value,
                                                 w->value_len, w->entries, w->n_entries, &berr)
                          : s->backend->ops.del(s->handle, w->bucket, w->key, &berr);
        kvkit__store_leave(s);
        if (rc != KVKIT_OK && !(rc == KVKIT_NOTFOUND && w->value == NULL))
            return kvkit__store_fail(s, err, &berr, rc, w->value ? "save" : "delete", w->key);
    }
    return KVKIT_OK;
}

int kvkit_store_write(kvkit_store_t *s, const kvkit_batch_t *b, kvkit_error_t *err)
{
    if (s == NULL || b == NULL)
        return kvkit__error(err, KVKIT_INVALID, "",
                            "kvkit_store_write: store and batch are required");
    if (b->n == 0)
        return KVKIT_OK;
    if (s->backend->ops.write_batch == NULL)
        return write_each(s, b, err);
    kvkit_error_t berr = {0};
    kvkit__store_enter(s);
    int rc = s->backend->ops.write_batch(s->handle, b->w, b->n, &berr);
    kvkit__store_leave(s);
    return rc == KVKIT_OK ? rc : kvkit__store_fail(s, err, &berr, rc, "write_batch", "");
}
