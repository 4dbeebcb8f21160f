/*
 * qprivate.h - compound queries inside libkvkit: the parsed expression
 * (qparse.c), its evaluation on one document (qeval.c), the plan
 * (qplan.c) and its execution (qexec.c).  Files depend in that order:
 * qexec calls qplan and qeval, qplan calls qparse's helpers, never back.
 */
#ifndef KVKIT_QPRIVATE_H
#define KVKIT_QPRIVATE_H

#include "kvkit_private.h"

#include <kvkit/query.h>

/*** the expression (qparse.c) ***/

typedef enum { QN_AND, QN_OR, QN_NOT, QN_PRED } qn_kind_t;

/* Predicate operators; QP_HAS_* are made by the planner only. */
typedef enum {
    QP_EQ, QP_NE, QP_LT, QP_LE, QP_GT, QP_GE, QP_IN, QP_PREFIX,
    QP_HAS_NUMBER, /* the field has a numeric value */
    QP_HAS_ANY     /* the field has any value */
} qp_op_t;

/* A query value: the JSON scalar and its index form (sortable bytes). */
typedef struct qval {
    json_t *json;
    unsigned char *buf; /* the sortable bytes (iv.sortable points here) */
    kvkit_index_value_t iv;
} qval_t;

typedef struct qnode {
    qn_kind_t kind;
    qp_op_t op;         /* QN_PRED */
    char *field;        /* QN_PRED: a field or "$key" */
    qval_t *vals;       /* QN_PRED: one, or the IN list */
    size_t n_vals;
    struct qnode **kids; /* QN_AND, QN_OR (2 or more), QN_NOT (1) */
    size_t n_kids;
} qnode_t;

struct kvkit_qexpr {
    qnode_t *root;
    char *order;       /* order by FIELD, or NULL */
    bool desc;
    bool has_limit;
    uint64_t limit;
    bool all_indexed;  /* kvkit_query_set_indexed never called */
    char **indexed;
    size_t n_indexed;
    char *canon;       /* kvkit_query_text */
    /* A plan kept between runs (qplan.c), taken and given back atomically
     * so that concurrent runs never share one; freed by spare_free. */
    void *spare;
    void (*spare_free)(void *plan);
};

/* Free the query's spare plan, if any (NULL ok). */
void kvkit__q_spare_drop(kvkit_qexpr_t *q);

/* Whether the query may read `field` from an index. */
bool kvkit__q_indexed(const kvkit_qexpr_t *q, const char *field);
/* Make a value node's index form; KVKIT_OK or KVKIT_NOMEM. */
int kvkit__qval_set(qval_t *v, json_t *json_new, kvkit_error_t *err);
/* Free a node tree (NULL ok). */
void kvkit__qnode_free(qnode_t *n);
/* A new predicate node of the planner's own (QP_HAS_*) on `field`. */
qnode_t *kvkit__qnode_has(qp_op_t op, const char *field);
/* Append the node in canonical text to a growing buffer (NULL text: no
 * memory); returns the new length. */
void kvkit__qnode_text(const qnode_t *n, char **buf, size_t *len, size_t *cap);
/* Append printf text to a growing buffer; sets *buf NULL when out of memory. */
void kvkit__qbuf_add(char **buf, size_t *len, size_t *cap, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 4, 5)))
#endif
    ;

/*** evaluation on a document (qeval.c) ***/

/* Whether the document (parsed JSON, NULL when it is none) with this key
 * matches the node, by the semantics of kvkit-query(7). */
bool kvkit__qeval(const qnode_t *n, const char *key, size_t key_len, const json_t *doc);
/* The document's smallest value of `field` in index order, as sortable
 * bytes (malloc'd with kvkit__malloc into *out); 0 when it has none, -1
 * when out of memory, 1 when found. */
int kvkit__qsortkey(const json_t *doc, const char *key, size_t key_len, const char *field,
                    unsigned char **out, size_t *out_len);

/*** the plan (qplan.c) ***/

#define QPAGE 128

/* One buffered page of a scan: keys with the index value they came at,
 * their bytes in the page's one arena (no allocation per key). */
typedef struct qitem {
    char *key;
    size_t key_len;
    unsigned char *sortable; /* NULL when not kept */
    size_t sortable_len;
    size_t key_off, sortable_off; /* in the arena, while the page fills */
} qitem_t;

typedef struct qpage {
    qitem_t items[QPAGE];
    unsigned char *arena;
    size_t arena_len, arena_cap;
    size_t n, pos;
    size_t cap; /* how many to fetch next (0: QPAGE) */
    bool more;  /* the scan stopped at a full page */
} qpage_t;

/* A stream of keys in ascending key order, each once: an index equality, a
 * $key range, a zigzag join (AND) or a merge (OR) of such streams. */
typedef enum { KS_EQ, KS_KEYS, KS_AND, KS_OR, KS_EMPTY } ks_type_t;

typedef struct ks {
    ks_type_t type;
    const qnode_t *pred;     /* KS_EQ, KS_KEYS: its predicate */
    const qval_t *val;       /* KS_EQ: the value; KS_KEYS: lo (NULL: open) */
    char *klo, *khi;         /* KS_KEYS bounds (NULL: open), inclusive */
    bool klo_excl, khi_excl; /* KS_KEYS: strict bounds */
    struct ks **kids;
    size_t n_kids;
    size_t lead;             /* KS_AND: the kid to seek first */
    uint64_t mark, tie;      /* KS_OR: kids whose tie is its mark stand at its key */
    qpage_t *page;           /* leaves paged with index_lookup (made on first use) */
    void *icur;              /* KS_EQ: its index cursor, when the backend has them */
    kvkit_index_position_t *hits; /* the cursor's last entries (room for QPAGE) */
    size_t n_hits, hit_pos, want; /* read on from hit_pos; how many to ask next */
    bool icur_end;           /* the cursor has no more */
    bool started, done;
    char *cur;               /* the current key (own copy) */
    size_t cur_len, cur_cap;
} ks_t;

typedef enum { PH_KS, PH_RANGE, PH_BUCKET } ph_type_t;

/* One phase: a source of candidate keys, what to check on each candidate's
 * document, and the expressions whose matches an earlier phase produced. */
typedef struct qphase {
    ph_type_t type;
    ks_t *ks;                 /* PH_KS */
    const char *field;        /* PH_RANGE */
    kvkit_index_value_t lo, hi;
    unsigned char *lo_buf, *hi_buf;
    char *lo_str, *hi_str;    /* typed string bounds with their byte */
    bool hi_excl;             /* PH_RANGE: a key met at hi does not match */
    const qnode_t *check;     /* NULL: every candidate matches */
    bool need_doc;            /* check or excl reads a field (not only $key) */
    const qnode_t **excl;     /* skip candidates matching one of these */
    size_t n_excl;
    qpage_t *page;            /* PH_RANGE, PH_BUCKET paged (made on first use) */
    void *icur;               /* PH_RANGE: its index cursor, when the backend has them */
    char *what;               /* for EXPLAIN */
} qphase_t;

typedef enum { QM_STREAM, QM_TOPN } qmode_t;

typedef struct qplan {
    qmode_t mode;
    qphase_t *phases;
    size_t n_phases, cap_phases;
    qnode_t **own;    /* nodes the planner made */
    size_t n_own;
    char *order_what; /* EXPLAIN's order line */
} qplan_t;

/*** index cursors (query.c): the backend's index_cursor_* ***/

/* Whether the store has index cursors (all three operations). */
bool kvkit__icur_able(const kvkit_store_t *s);
/* Open a cursor over field's entries in [lo, hi] (all borrowed until
 * kvkit__icur_close), live or in the view. */
int kvkit__icur_open(kvkit_store_t *s, void *view, const char *bucket, const char *field,
                     const kvkit_index_value_t *lo, const kvkit_index_value_t *hi, void **cur,
                     kvkit_error_t *err);
/* Up to max entries from the next one (at NULL) or from the first at or
 * after `at`: KVKIT_OK with hits[0 .. *n) (valid until the cursor's next
 * call), KVKIT_NOTFOUND at the end; a backend answering 0 or more than max
 * entries with KVKIT_OK is an error (KVKIT_BACKEND). */
int kvkit__icur_next(kvkit_store_t *s, void *cur, const char *field,
                     const kvkit_index_position_t *at, kvkit_index_position_t *hits, size_t max,
                     size_t *n, kvkit_error_t *err);
void kvkit__icur_close(kvkit_store_t *s, void *cur); /* NULL ok */

/* Plan the query; KVKIT_INVALID naming what to add when it needs an
 * unbounded sort.  Free with kvkit__qplan_free (also frees pages). */
int kvkit__qplan(const kvkit_qexpr_t *q, qplan_t **out, kvkit_error_t *err);
void kvkit__qplan_free(qplan_t *p);
/* A plan for one run: the query's spare one when no run holds it (a plan
 * depends on the query alone), else a new one; kvkit__qplan_give hands it
 * back when the run is over (its cursors closed), reset for the next run,
 * or frees it when another run gave one back first.  The query is const
 * to its callers; its spare plan is a cache. */
int kvkit__qplan_take(const kvkit_qexpr_t *q, qplan_t **out, kvkit_error_t *err);
void kvkit__qplan_give(const kvkit_qexpr_t *q, qplan_t *p);
/* Empty a page (its arena is kept for the next fill); free: also the arena. */
void kvkit__qpage_clear(qpage_t *pg);
void kvkit__qpage_free(qpage_t *pg);

/*** running (qexec.c) ***/

/* kvkit_query_exec reading in `view` (a view of bucket opened with
 * kvkit__view_open and kept by the caller, as an iterator keeps one for all
 * its pages); NULL: the run opens its own. */
int kvkit__query_exec_view(kvkit_store_t *store, void *view, const char *bucket,
                           const kvkit_qexpr_t *q, int want_docs, size_t page, const char *cursor,
                           char **next, kvkit_query_fn fn, void *ctx, kvkit_error_t *err);

#endif /* KVKIT_QPRIVATE_H */
