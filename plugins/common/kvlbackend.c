/*
 * kvlbackend.c - the backend operations of a kvlayout plugin: the store's
 * locks around the kvlayout call, and views as engine snapshots.
 */
#include "kvlbackend.h"

#include <stdlib.h>

/*** locks ***/

static void read_lock(kvl_t *l)
{
    if (l->rwlock)
        pthread_rwlock_rdlock(l->rwlock);
}

static void write_lock(kvl_t *l)
{
    if (l->rwlock)
        pthread_rwlock_wrlock(l->rwlock);
    else if (l->write_mutex)
        pthread_mutex_lock(l->write_mutex);
}

static void unlock(kvl_t *l)
{
    if (l->rwlock)
        pthread_rwlock_unlock(l->rwlock);
    else if (l->write_mutex)
        pthread_mutex_unlock(l->write_mutex);
}

/* Readers unlock only what they took. */
static void read_unlock(kvl_t *l)
{
    if (l->rwlock)
        pthread_rwlock_unlock(l->rwlock);
}

/*** reads, live (`store` a kvl_t) or in a view (`view` a kvl_view_t) ***/

static int get_in(kvl_t *l, void *snap, const char *bucket, const char *key, char **value,
                  size_t *value_len, kvkit_error_t *err)
{
    read_lock(l);
    int rc = kvl_get(l, snap, bucket, key, value, value_len, err);
    read_unlock(l);
    return rc;
}

static int lookup_in(kvl_t *l, void *snap, const char *bucket, const char *field,
                     const kvkit_index_value_t *lo, const kvkit_index_value_t *hi,
                     const kvkit_index_position_t *after, kvkit_backend_key_fn key_fn,
                     kvkit_backend_doc_fn doc_fn, void *ctx, kvkit_error_t *err)
{
    read_lock(l);
    int rc = kvl_index_lookup(l, snap, bucket, field, lo, hi, after, key_fn, doc_fn, ctx, err);
    read_unlock(l);
    return rc;
}

static int list_in(kvl_t *l, void *snap, const char *bucket, const char *lo, const char *hi,
                   kvkit_backend_key_fn fn, void *ctx, kvkit_error_t *err)
{
    read_lock(l);
    int rc = kvl_list_keys(l, snap, bucket, lo, hi, fn, ctx, err);
    read_unlock(l);
    return rc;
}

int kvl_op_get(void *store, const char *bucket, const char *key, char **value, size_t *value_len,
               kvkit_error_t *err)
{
    return get_in(store, NULL, bucket, key, value, value_len, err);
}

int kvl_op_get_rev(void *store, const char *bucket, const char *key, char **value,
                   size_t *value_len, uint64_t *revision, kvkit_error_t *err)
{
    kvl_t *l = store;
    read_lock(l);
    int rc = kvl_get_rev(l, bucket, key, value, value_len, revision, err);
    read_unlock(l);
    return rc;
}

int kvl_op_index_lookup(void *store, const char *bucket, const char *field,
                        const kvkit_index_value_t *lo, const kvkit_index_value_t *hi,
                        const kvkit_index_position_t *after, kvkit_backend_key_fn fn, void *ctx,
                        kvkit_error_t *err)
{
    return lookup_in(store, NULL, bucket, field, lo, hi, after, fn, NULL, ctx, err);
}

int kvl_op_index_docs(void *store, const char *bucket, const char *field,
                      const kvkit_index_value_t *lo, const kvkit_index_value_t *hi,
                      const kvkit_index_position_t *after, kvkit_backend_doc_fn fn, void *ctx,
                      kvkit_error_t *err)
{
    return lookup_in(store, NULL, bucket, field, lo, hi, after, NULL, fn, ctx, err);
}

int kvl_op_list_keys(void *store, const char *bucket, const char *lo, const char *hi,
                     kvkit_backend_key_fn fn, void *ctx, kvkit_error_t *err)
{
    return list_in(store, NULL, bucket, lo, hi, fn, ctx, err);
}

/*** writes ***/

int kvl_op_save(void *store, const char *bucket, const char *key, const char *value,
                size_t value_len, const kvkit_index_entry_t *entries, size_t n_entries,
                kvkit_error_t *err)
{
    kvl_t *l = store;
    write_lock(l);
    int rc = kvl_save(l, bucket, key, value, value_len, entries, n_entries, err);
    unlock(l);
    return rc;
}

int kvl_op_save_if(void *store, const char *bucket, const char *key, const char *value,
                   size_t value_len, const kvkit_index_entry_t *entries, size_t n_entries,
                   uint64_t expected, uint64_t *new_revision, kvkit_error_t *err)
{
    kvl_t *l = store;
    write_lock(l);
    int rc = kvl_save_if(l, bucket, key, value, value_len, entries, n_entries, expected,
                         new_revision, err);
    unlock(l);
    return rc;
}

int kvl_op_delete(void *store, const char *bucket, const char *key, kvkit_error_t *err)
{
    kvl_t *l = store;
    write_lock(l);
    int rc = kvl_delete(l, bucket, key, err);
    unlock(l);
    return rc;
}

int kvl_op_write_batch(void *store, const kvkit_backend_write_t *writes, size_t n_writes,
                       kvkit_error_t *err)
{
    kvl_t *l = store;
    write_lock(l);
    int rc = kvl_write_batch(l, writes, n_writes, err);
    unlock(l);
    return rc;
}

/*** views ***/

/* Pin the engine's state; NULL when out of memory. */
static void *snap_take(kvl_t *l)
{
    read_lock(l); /* the snapshot is of a state no writer is halfway through */
    void *snap = l->ops->snap_new(l->eng);
    read_unlock(l);
    return snap;
}

static void snap_release(kvl_t *l, void *snap)
{
    /* releasing may prune what the snapshot kept, under the readers' lock */
    if (l->rwlock)
        pthread_rwlock_wrlock(l->rwlock);
    l->ops->snap_free(l->eng, snap);
    if (l->rwlock)
        pthread_rwlock_unlock(l->rwlock);
}

int kvl_op_view_open(void *store, void **view, kvkit_error_t *err)
{
    kvl_t *l = store;
    kvl_view_t *v = malloc(sizeof *v);
    if (v != NULL) {
        v->l = l;
        v->snap = snap_take(l);
    }
    if (v == NULL || v->snap == NULL) {
        free(v);
        return kvkit_backend_error(err, KVKIT_NOMEM, "", "%s: out of memory opening a view",
                                   l->name);
    }
    *view = v;
    return KVKIT_OK;
}

void kvl_op_view_close(void *store, void *view)
{
    kvl_view_t *v = view;
    if (v == NULL)
        return;
    snap_release(store, v->snap);
    free(v);
}

int kvl_op_view_get(void *view, const char *bucket, const char *key, char **value,
                    size_t *value_len, kvkit_error_t *err)
{
    kvl_view_t *v = view;
    return get_in(v->l, v->snap, bucket, key, value, value_len, err);
}

int kvl_op_view_index_lookup(void *view, const char *bucket, const char *field,
                             const kvkit_index_value_t *lo, const kvkit_index_value_t *hi,
                             const kvkit_index_position_t *after, kvkit_backend_key_fn fn,
                             void *ctx, kvkit_error_t *err)
{
    kvl_view_t *v = view;
    return lookup_in(v->l, v->snap, bucket, field, lo, hi, after, fn, NULL, ctx, err);
}

int kvl_op_view_index_docs(void *view, const char *bucket, const char *field,
                           const kvkit_index_value_t *lo, const kvkit_index_value_t *hi,
                           const kvkit_index_position_t *after, kvkit_backend_doc_fn fn,
                           void *ctx, kvkit_error_t *err)
{
    kvl_view_t *v = view;
    return lookup_in(v->l, v->snap, bucket, field, lo, hi, after, NULL, fn, ctx, err);
}

int kvl_op_view_list_keys(void *view, const char *bucket, const char *lo, const char *hi,
                          kvkit_backend_key_fn fn, void *ctx, kvkit_error_t *err)
{
    kvl_view_t *v = view;
    return list_in(v->l, v->snap, bucket, lo, hi, fn, ctx, err);
}

/*** index cursors ***/

/* A cursor, and the snapshot it owns when it was opened on the store (the
 * memory engine's iterators read the live map, which writers change
 * between the cursor's calls). */
typedef struct bcur {
    kvl_t *l;
    void *own_snap;
    kvl_icur_t *c;
} bcur_t;

void kvl_op_index_cursor_close(void *cursor)
{
    bcur_t *b = cursor;
    if (b == NULL)
        return;
    read_lock(b->l);
    kvl_icur_close(b->c);
    read_unlock(b->l);
    if (b->own_snap != NULL)
        snap_release(b->l, b->own_snap);
    free(b);
}

static int cursor_open(kvl_t *l, void *snap, bool own, const char *bucket, const char *field,
                       const kvkit_index_value_t *lo, const kvkit_index_value_t *hi,
                       void **cursor, kvkit_error_t *err)
{
    bcur_t *b = snap != NULL ? malloc(sizeof *b) : NULL;
    if (b == NULL) {
        if (own && snap != NULL)
            snap_release(l, snap);
        return kvkit_backend_error(err, KVKIT_NOMEM, field,
                                   "%s: out of memory opening an index cursor", l->name);
    }
    *b = (bcur_t){l, own ? snap : NULL, NULL};
    read_lock(l);
    int rc = kvl_icur_open(l, snap, bucket, field, lo, hi, &b->c, err);
    read_unlock(l);
    if (rc != KVKIT_OK) {
        kvl_op_index_cursor_close(b);
        return rc;
    }
    *cursor = b;
    return KVKIT_OK;
}

int kvl_op_index_cursor_open(void *store, void *view, const char *bucket, const char *field,
                             const kvkit_index_value_t *lo, const kvkit_index_value_t *hi,
                             void **cursor, kvkit_error_t *err)
{
    kvl_view_t *v = view;
    if (v != NULL)
        return cursor_open(v->l, v->snap, false, bucket, field, lo, hi, cursor, err);
    return cursor_open(store, snap_take(store), true, bucket, field, lo, hi, cursor, err);
}

int kvl_op_index_cursor_next(void *cursor, const kvkit_index_position_t *at,
                             kvkit_index_position_t *hits, size_t max, size_t *n,
                             kvkit_error_t *err)
{
    bcur_t *b = cursor;
    read_lock(b->l);
    int rc = kvl_icur_next(b->c, at, hits, max, n, err);
    read_unlock(b->l);
    return rc;
}
