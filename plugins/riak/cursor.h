/*
 * cursor.h - Riak 2i scans shared by cursor.c (paging Riak's index
 * streams, merging them into (sortable, key) order, deduplicating keys,
 * parking a stopped scan) and query.c (the backend operations on top).
 */
#ifndef KVKIT_RIAK_CURSOR_H
#define KVKIT_RIAK_CURSOR_H

#include "riak_private.h"

#include <jansson.h>

enum { CLS_INT, CLS_BIN, CLS_REAL, CLS_KEY };

typedef struct item {
    unsigned char *sortable;
    size_t slen;
    char *key;
    size_t klen;
} item_t;

typedef struct stream {
    int cls;
    char *path;        /* encoded ".../index/NAME/start[/end]" */
    bool range;        /* ask for return_terms */
    unsigned char *eq; /* sortable of the only term (keys-only answers) */
    size_t eq_len;
    char *continuation; /* NULL: first page */
    bool done;          /* no further page on the server */
    item_t *items;
    size_t n, pos;
} stream_t;

typedef struct seen {
    uint64_t *hash;
    char **key;
    size_t *klen;
    size_t n, cap;
} seen_t;

typedef struct cursor {
    char *bucket, *field;
    unsigned char *lo, *hi; /* sortables of the query */
    size_t lo_len, hi_len;
    stream_t s[2];
    int ns;
    seen_t seen;
    item_t *pending; /* fetched ahead by index_docs, not yet handed over */
    size_t n_pending, pos_pending;
    item_t last; /* last item handed over */
} cursor_t;

void riak_item_free(item_t *it);
const char *riak_json_err_text(const json_error_t *e);
cursor_t *riak_cursor_new(riak_t *r, const char *bucket, const char *field,
                          const kvkit_index_value_t *lo, const kvkit_index_value_t *hi);
cursor_t *riak_cursor_new_keys(riak_t *r, const char *bucket, const char *lo, const char *hi);
int riak_cursor_next(riak_t *r, cursor_t *c, const char *subject, item_t *out, bool *got,
                     kvkit_error_t *err);
bool riak_item_after(const item_t *it, const kvkit_index_position_t *after);
cursor_t *riak_cursor_resume(riak_t *r, const char *bucket, const char *field,
                             const kvkit_index_value_t *lo, const kvkit_index_value_t *hi,
                             const kvkit_index_position_t *after);
void riak_cursor_park(riak_t *r, cursor_t *c);
void riak_cursor_set_last(cursor_t *c, item_t *it);

#endif /* KVKIT_RIAK_CURSOR_H */
