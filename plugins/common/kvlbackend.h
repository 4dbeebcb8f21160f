/*
 * kvlbackend.h - the backend operations of a plugin built on kvlayout
 * (memory, LevelDB), written once.  Compiled into each such plugin.
 *
 * A plugin gives its kvl_t the locks its engine needs (rwlock or
 * write_mutex) and
 * expands KVL_BACKEND_OPS(LAYOUT) once, where LAYOUT(h) is the kvl_t of a
 * handle: that defines and exports get, get_rev, save, save_if, delete,
 * write_batch, index_lookup, index_docs, list_keys, the index cursors
 * (index_cursor_open, _next, _close) and the view operations (declare
 * KVKIT_BACKEND_SNAPSHOT).  The plugin writes open, close, its
 * descriptor and its engine ops (kvlayout.h) itself.
 *
 * Locking, from the kvl_t: with `rwlock`, readers share it and writers and
 * view_close (which may prune what views kept) hold it; with `write_mutex`,
 * writers hold it and readers take nothing (LevelDB reads are snapshots).
 * A view is a kvl_view_t: the layout and an engine snapshot from
 * ops->snap_new.
 */
#ifndef KVKIT_KVLBACKEND_H
#define KVKIT_KVLBACKEND_H

#include "kvlayout.h"

typedef struct kvl_view {
    kvl_t *l;
    void *snap;
} kvl_view_t;

/* The ABI operations over a layout (`store` is its kvl_t *) or a view. */
kvkit_backend_get_f kvl_op_get;
kvkit_backend_get_rev_f kvl_op_get_rev;
kvkit_backend_save_f kvl_op_save;
kvkit_backend_save_if_f kvl_op_save_if;
kvkit_backend_delete_f kvl_op_delete;
kvkit_backend_write_batch_f kvl_op_write_batch;
kvkit_backend_index_lookup_f kvl_op_index_lookup;
kvkit_backend_index_docs_f kvl_op_index_docs;
kvkit_backend_list_keys_f kvl_op_list_keys;
kvkit_backend_view_open_f kvl_op_view_open;
kvkit_backend_view_close_f kvl_op_view_close;
kvkit_backend_view_get_f kvl_op_view_get;
kvkit_backend_view_index_lookup_f kvl_op_view_index_lookup;
kvkit_backend_view_index_docs_f kvl_op_view_index_docs;
kvkit_backend_view_list_keys_f kvl_op_view_list_keys;
kvkit_backend_index_cursor_open_f kvl_op_index_cursor_open;
kvkit_backend_index_cursor_next_f kvl_op_index_cursor_next;
kvkit_backend_index_cursor_close_f kvl_op_index_cursor_close;

/* The exported operations: each hands its handle's layout (the view_
 * reads, their view) to kvl_op_OP. */
#define KVL_BACKEND_OPS(LAYOUT)                                                \
    KVKIT_BACKEND_DECLARE(get);                                                \
    int KVKIT_BACKEND_SYMBOL(kvkit_backend_get)(void *h, const char *b, const char *k, char **v, \
                                                size_t *vl, kvkit_error_t *e)  \
    {                                                                          \
        return kvl_op_get(LAYOUT(h), b, k, v, vl, e);                          \
    }                                                                          \
    KVKIT_BACKEND_DECLARE(get_rev);                                            \
    int KVKIT_BACKEND_SYMBOL(kvkit_backend_get_rev)(void *h, const char *b, const char *k, \
                                                    char **v, size_t *vl, uint64_t *rev, \
                                                    kvkit_error_t *e)          \
    {                                                                          \
        return kvl_op_get_rev(LAYOUT(h), b, k, v, vl, rev, e);                 \
    }                                                                          \
    KVKIT_BACKEND_DECLARE(save);                                               \
    int KVKIT_BACKEND_SYMBOL(kvkit_backend_save)(void *h, const char *b, const char *k, \
                                                 const char *v, size_t vl,     \
                                                 const kvkit_index_entry_t *en, size_t n, \
                                                 kvkit_error_t *e)             \
    {                                                                          \
        return kvl_op_save(LAYOUT(h), b, k, v, vl, en, n, e);                  \
    }                                                                          \
    KVKIT_BACKEND_DECLARE(save_if);                                            \
    int KVKIT_BACKEND_SYMBOL(kvkit_backend_save_if)(void *h, const char *b, const char *k, \
                                                    const char *v, size_t vl,  \
                                                    const kvkit_index_entry_t *en, size_t n, \
                                                    uint64_t want, uint64_t *rev, \
                                                    kvkit_error_t *e)          \
    {                                                                          \
        return kvl_op_save_if(LAYOUT(h), b, k, v, vl, en, n, want, rev, e);    \
    }                                                                          \
    KVKIT_BACKEND_DECLARE(delete);                                             \
    int KVKIT_BACKEND_SYMBOL(kvkit_backend_delete)(void *h, const char *b, const char *k, \
                                                   kvkit_error_t *e)           \
    {                                                                          \
        return kvl_op_delete(LAYOUT(h), b, k, e);                              \
    }                                                                          \
    KVKIT_BACKEND_DECLARE(write_batch);                                        \
    int KVKIT_BACKEND_SYMBOL(kvkit_backend_write_batch)(void *h, const kvkit_backend_write_t *w, \
                                                        size_t n, kvkit_error_t *e) \
    {                                                                          \
        return kvl_op_write_batch(LAYOUT(h), w, n, e);                         \
    }                                                                          \
    KVKIT_BACKEND_DECLARE(index_lookup);                                       \
    int KVKIT_BACKEND_SYMBOL(kvkit_backend_index_lookup)(                      \
        void *h, const char *b, const char *f, const kvkit_index_value_t *lo,  \
        const kvkit_index_value_t *hi, const kvkit_index_position_t *after,    \
        kvkit_backend_key_fn fn, void *ctx, kvkit_error_t *e)                  \
    {                                                                          \
        return kvl_op_index_lookup(LAYOUT(h), b, f, lo, hi, after, fn, ctx, e); \
    }                                                                          \
    KVKIT_BACKEND_DECLARE(index_docs);                                         \
    int KVKIT_BACKEND_SYMBOL(kvkit_backend_index_docs)(                        \
        void *h, const char *b, const char *f, const kvkit_index_value_t *lo,  \
        const kvkit_index_value_t *hi, const kvkit_index_position_t *after,    \
        kvkit_backend_doc_fn fn, void *ctx, kvkit_error_t *e)                  \
    {                                                                          \
        return kvl_op_index_docs(LAYOUT(h), b, f, lo, hi, after, fn, ctx, e);  \
    }                                                                          \
    KVKIT_BACKEND_DECLARE(list_keys);                                          \
    int KVKIT_BACKEND_SYMBOL(kvkit_backend_list_keys)(void *h, const char *b, const char *lo, \
                                                      const char *hi, kvkit_backend_key_fn fn, \
                                                      void *ctx, kvkit_error_t *e) \
    {                                                                          \
        return kvl_op_list_keys(LAYOUT(h), b, lo, hi, fn, ctx, e);             \
    }                                                                          \
    KVKIT_BACKEND_DECLARE(view_open);                                          \
    int KVKIT_BACKEND_SYMBOL(kvkit_backend_view_open)(void *h, void **view, kvkit_error_t *e) \
    {                                                                          \
        return kvl_op_view_open(LAYOUT(h), view, e);                           \
    }                                                                          \
    KVKIT_BACKEND_DECLARE(view_close);                                         \
    void KVKIT_BACKEND_SYMBOL(kvkit_backend_view_close)(void *h, void *view)   \
    {                                                                          \
        kvl_op_view_close(LAYOUT(h), view);                                    \
    }                                                                          \
    KVKIT_BACKEND_DECLARE(view_get);                                           \
    int KVKIT_BACKEND_SYMBOL(kvkit_backend_view_get)(void *view, const char *b, const char *k, \
                                                     char **v, size_t *vl, kvkit_error_t *e) \
    {                                                                          \
        return kvl_op_view_get(view, b, k, v, vl, e);                          \
    }                                                                          \
    KVKIT_BACKEND_DECLARE(view_index_lookup);                                  \
    int KVKIT_BACKEND_SYMBOL(kvkit_backend_view_index_lookup)(                 \
        void *view, const char *b, const char *f, const kvkit_index_value_t *lo, \
        const kvkit_index_value_t *hi, const kvkit_index_position_t *after,    \
        kvkit_backend_key_fn fn, void *ctx, kvkit_error_t *e)                  \
    {                                                                          \
        return kvl_op_view_index_lookup(view, b, f, lo, hi, after, fn, ctx, e); \
    }                                                                          \
    KVKIT_BACKEND_DECLARE(view_index_docs);                                    \
    int KVKIT_BACKEND_SYMBOL(kvkit_backend_view_index_docs)(                   \
        void *view, const char *b, const char *f, const kvkit_index_value_t *lo, \
        const kvkit_index_value_t *hi, const kvkit_index_position_t *after,    \
        kvkit_backend_doc_fn fn, void *ctx, kvkit_error_t *e)                  \
    {                                                                          \
        return kvl_op_view_index_docs(view, b, f, lo, hi, after, fn, ctx, e);  \
    }                                                                          \
    KVKIT_BACKEND_DECLARE(view_list_keys);                                     \
    int KVKIT_BACKEND_SYMBOL(kvkit_backend_view_list_keys)(                    \
        void *view, const char *b, const char *lo, const char *hi,             \
        kvkit_backend_key_fn fn, void *ctx, kvkit_error_t *e)                  \
    {                                                                          \
        return kvl_op_view_list_keys(view, b, lo, hi, fn, ctx, e);             \
    }                                                                          \
    KVKIT_BACKEND_DECLARE(index_cursor_open);                                  \
    int KVKIT_BACKEND_SYMBOL(kvkit_backend_index_cursor_open)(                 \
        void *h, void *view, const char *b, const char *f,                     \
        const kvkit_index_value_t *lo, const kvkit_index_value_t *hi, void **c, \
        kvkit_error_t *e)                                                      \
    {                                                                          \
        return kvl_op_index_cursor_open(LAYOUT(h), view, b, f, lo, hi, c, e);  \
    }                                                                          \
    KVKIT_BACKEND_DECLARE(index_cursor_next);                                  \
    int KVKIT_BACKEND_SYMBOL(kvkit_backend_index_cursor_next)(                 \
        void *c, const kvkit_index_position_t *at, kvkit_index_position_t *hits, \
        size_t max, size_t *n, kvkit_error_t *e)                               \
    {                                                                          \
        return kvl_op_index_cursor_next(c, at, hits, max, n, e);               \
    }                                                                          \
    KVKIT_BACKEND_DECLARE(index_cursor_close);                                 \
    void KVKIT_BACKEND_SYMBOL(kvkit_backend_index_cursor_close)(void *c)       \
    {                                                                          \
        kvl_op_index_cursor_close(c);                                          \
    }

#endif /* KVKIT_KVLBACKEND_H */
