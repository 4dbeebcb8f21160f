/* batch.c - many saves and deletes applied together. */
#include "kvkit_private.h"

#include <string.h>

typedef struct batch_item {
    char *bucket;
    char *key;
    char *value; /* NULL: delete */
    size_t value_len;
    kvkit_index_set_t *index;
} batch_item_t;

struct kvkit_batch {
    batch_item_t *items;
    size_t n, cap;
};

kvkit_batch_t *kvkit_batch_create(void)
{
    return kvkit__calloc(1, sizeof(kvkit_batch_t));
}

void kvkit_batch_destroy(kvkit_batch_t *b)
{
    if (b == NULL)
        return;
    for (size_t i = 0; i < b->n; i++) {
        kvkit__free(b->items[i].bucket);
        kvkit__free(b->items[i].key);
        kvkit__free(b->items[i].value);
        kvkit_index_set_destroy(b->items[i].index);
    }
    kvkit__free(b->items);
    kvkit__free(b);
}

size_t kvkit_batch_size(const kvkit_batch_t *b)
{
    return b ? b->n : 0;
}

static int add(kvkit_batch_t *b, const char *bucket, const char *key,
               const char *value, size_t value_len, bool is_save,
               const kvkit_index_set_t *index, kvkit_error_t *err)
{
    if (b == NULL)
        return kvkit__error(err, KVKIT_INVALID, "", "batch is NULL");
    int rc = kvkit__check_bucket_key(bucket, key, err);
    if (rc != KVKIT_OK)
        return rc;
    if (b->n == b->cap) {
        size_t cap = b->cap ? 2 * b->cap : 16;
        batch_item_t *grown = kvkit__realloc(b->items, cap * sizeof *grown);
        if (grown == NULL)
            return kvkit__error(err, KVKIT_NOMEM, key, "out of memory growing batch");
        b->items = grown;
        b->cap = cap;
    }
    batch_item_t it = {0};
    it.bucket = kvkit__strdup(bucket);
    it.key = kvkit__strdup(key);
    if (is_save) {
        it.value = kvkit__malloc(value_len + 1);
        if (it.value != NULL && value_len > 0)
            memcpy(it.value, value, value_len);
        it.value_len = value_len;
        it.index = kvkit__index_set_copy(index);
    }
    if (it.bucket == NULL || it.key == NULL || (is_save && (it.value == NULL || it.index == NULL))) {
        kvkit__free(it.bucket);
        kvkit__free(it.key);
        kvkit__free(it.value);
        kvkit_index_set_destroy(it.index);
        return kvkit__error(err, KVKIT_NOMEM, key, "out of memory adding to batch");
    }
    b->items[b->n++] = it;
    return KVKIT_OK;
}

int kvkit_batch_save(kvkit_batch_t *b, const char *bucket, const char *key,
                     const char *value, size_t value_len,
                     const kvkit_index_set_t *index, kvkit_error_t *err)
{
    if (value == NULL && value_len > 0)
        return kvkit__error(err, KVKIT_INVALID, key ? key : "", "kvkit_batch_save: value is NULL");
    return add(b, bucket, key, value, value_len, true, index, err);
}

int kvkit_batch_delete(kvkit_batch_t *b, const char *bucket, const char *key,
                       kvkit_error_t *err)
{
    return add(b, bucket, key, NULL, 0, false, NULL, err);
}

int kvkit_store_write(kvkit_store_t *s, const kvkit_batch_t *b, kvkit_error_t *err)
{
    if (s == NULL || b == NULL)
        return kvkit__error(err, KVKIT_INVALID, "", "kvkit_store_write: store and batch are required");
    if (b->n == 0)
        return KVKIT_OK;
    if (s->backend->ops.write_batch == NULL) {
        for (size_t i = 0; i < b->n; i++) {
            const batch_item_t *it = &b->items[i];
            int rc = it->value ? kvkit_store_save(s, it->bucket, it->key, it->value,
                                                  it->value_len, it->index, err)
                               : kvkit_store_delete(s, it->bucket, it->key, err);
            if (rc != KVKIT_OK)
                return rc;
        }
        return KVKIT_OK;
    }
    kvkit_backend_write_t *w = kvkit__calloc(b->n, sizeof *w);
    if (w == NULL)
        return kvkit__error(err, KVKIT_NOMEM, "", "out of memory writing batch");
    for (size_t i = 0; i < b->n; i++) {
        const batch_item_t *it = &b->items[i];
        w[i].bucket = it->bucket;
        w[i].key = it->key;
        w[i].value = it->value;
        w[i].value_len = it->value_len;
        w[i].entries = kvkit__index_set_entries(it->index, &w[i].n_entries);
    }
    kvkit_error_t berr = {0};
    kvkit__store_enter(s);
    int rc = s->backend->ops.write_batch(s->handle, w, b->n, &berr);
    kvkit__store_leave(s);
    kvkit__free(w);
    return rc == KVKIT_OK ? rc : kvkit__store_fail(s, err, &berr, rc, "write_batch", "");
}
