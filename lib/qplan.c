/*
 * qplan.c - from an expression to the phases that answer it (and the
 * EXPLAIN text of those phases).
 *
 * A phase is a source of candidate keys, each once, that holds every
 * document the phase stands for, plus what must be checked on a
 * candidate's document.  Sources:
 *   PH_KS      keys in key order: index equalities (and IN lists) and $key
 *              ranges, joined by a zigzag (AND) or merged (OR) - exact, so
 *              an expression made only of those reads no document;
 *   PH_RANGE   one index range scan (a range or a prefix), in index order;
 *   PH_BUCKET  every key of the bucket (NOT, !=, fields without an index).
 * An OR whose branches are not all key-ordered becomes one phase per
 * branch; a candidate of branch i that also matches an earlier branch is
 * skipped (checked on its document), so each key comes once without
 * remembering any.  `order by F` (ascending, F indexed) reads F's index
 * (numbers, then strings, then the documents without F by key); any other
 * order keeps the best `limit` results in a heap (QM_TOPN).
 */
#include "qprivate.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct planner {
    const kvkit_qexpr_t *q;
    qplan_t *p;
    kvkit_error_t *err;
} planner_t;

/*** freeing ***/

void kvkit__qpage_clear(qpage_t *pg)
{
    if (pg == NULL)
        return;
    pg->n = pg->pos = pg->arena_len = 0;
    pg->more = false;
}

void kvkit__qpage_free(qpage_t *pg)
{
    if (pg != NULL)
        kvkit__free(pg->arena);
    kvkit__free(pg);
}

static void ks_free(ks_t *ks)
{
    if (ks == NULL)
        return;
    for (size_t i = 0; i < ks->n_kids; i++)
        ks_free(ks->kids[i]);
    kvkit__free(ks->kids);
    kvkit__qpage_free(ks->page);
    kvkit__free(ks->hits);
    kvkit__free(ks->klo);
    kvkit__free(ks->khi);
    kvkit__free(ks->cur);
    kvkit__free(ks);
}

static void phase_free(qphase_t *ph)
{
    ks_free(ph->ks);
    kvkit__free(ph->lo_buf);
    kvkit__free(ph->hi_buf);
    kvkit__free(ph->lo_str);
    kvkit__free(ph->hi_str);
    kvkit__free(ph->excl);
    kvkit__qpage_free(ph->page);
    kvkit__free(ph->what);
}

void kvkit__qplan_free(qplan_t *p)
{
    if (p == NULL)
        return;
    for (size_t i = 0; i < p->n_phases; i++)
        phase_free(&p->phases[i]);
    for (size_t i = 0; i < p->n_own; i++)
        kvkit__qnode_free(p->own[i]);
    kvkit__free(p->phases);
    kvkit__free(p->own);
    kvkit__free(p->order_what);
    kvkit__free(p);
}

/*** key streams ***/

/* Pages are made by the run on first use: a run with index cursors
 * needs none. */
static ks_t *ks_new(planner_t *pl, ks_type_t type)
{
    ks_t *ks = kvkit__calloc(1, sizeof *ks);
    if (ks == NULL)
        kvkit__error(pl->err, KVKIT_NOMEM, "", "out of memory planning the query");
    else
        ks->type = type;
    return ks;
}

static bool has_nul(const qval_t *v)
{
    return memchr(v->iv.string, '\0', v->iv.string_len) != NULL;
}

/* A $key predicate on one string value as a key range. */
static ks_t *ks_keys(planner_t *pl, const qnode_t *n, const qval_t *v)
{
    qp_op_t op = n->op == QP_IN ? QP_EQ : n->op;
    bool nul = v->iv.kind == KVKIT_INDEX_STRING && has_nul(v);
    if (v->iv.kind != KVKIT_INDEX_STRING || (nul && (op == QP_EQ || op == QP_PREFIX)))
        return ks_new(pl, KS_EMPTY); /* keys are strings without NUL */
    if (nul)
        return NULL; /* a bound a C string cannot carry: checked on the keys */
    ks_t *ks = ks_new(pl, KS_KEYS);
    if (ks == NULL)
        return NULL;
    ks->pred = n;
    const char *s = v->iv.string;
    bool lo = op == QP_EQ || op == QP_GT || op == QP_GE || op == QP_PREFIX;
    bool hi = op == QP_EQ || op == QP_LT || op == QP_LE;
    ks->klo = lo ? kvkit__strdup(s) : NULL;
    ks->khi = hi ? kvkit__strdup(s) : NULL;
    if (op == QP_PREFIX && (ks->khi = kvkit__malloc(strlen(s) + 2)) != NULL)
        strcat(strcpy(ks->khi, s), "\xff"); /* no UTF-8 key holds 0xff */
    ks->klo_excl = op == QP_GT;
    ks->khi_excl = op == QP_LT;
    if ((lo && ks->klo == NULL) || ((hi || op == QP_PREFIX) && ks->khi == NULL)) {
        ks_free(ks);
        kvkit__error(pl->err, KVKIT_NOMEM, "", "out of memory planning the query");
        return NULL;
    }
    return ks;
}

static ks_t *ks_leaf(planner_t *pl, const qnode_t *n, const qval_t *v)
{
    if (strcmp(n->field, "$key") == 0)
        return ks_keys(pl, n, v);
    ks_t *ks = ks_new(pl, KS_EQ);
    if (ks != NULL) {
        ks->pred = n;
        ks->val = v;
    }
    return ks;
}

static int ks_add(planner_t *pl, ks_t *parent, ks_t *kid)
{
    ks_t **k = kvkit__realloc(parent->kids, (parent->n_kids + 1) * sizeof *k);
    if (k == NULL) {
        ks_free(kid);
        return kvkit__error(pl->err, KVKIT_NOMEM, "", "out of memory planning the query");
    }
    parent->kids = k;
    parent->kids[parent->n_kids++] = kid;
    return KVKIT_OK;
}

/* The predicate as a key stream, or NULL. */
static ks_t *ks_pred(planner_t *pl, const qnode_t *n)
{
    bool key = strcmp(n->field, "$key") == 0;
    if (!kvkit__q_indexed(pl->q, n->field) || n->op == QP_NE ||
        (!key && n->op != QP_EQ && n->op != QP_IN))
        return NULL;
    if (n->n_vals == 1)
        return ks_leaf(pl, n, &n->vals[0]);
    ks_t *ks = ks_new(pl, KS_OR);
    for (size_t i = 0; ks != NULL && i < n->n_vals; i++) {
        ks_t *kid = ks_leaf(pl, n, &n->vals[i]);
        if (kid == NULL || ks_add(pl, ks, kid) != KVKIT_OK) {
            ks_free(ks);
            return NULL;
        }
    }
    return ks;
}

/* The expression as a key stream holding all its matches, or NULL; *exact
 * is cleared when the stream also holds keys that do not match. */
static ks_t *ks_build(planner_t *pl, const qnode_t *n, bool *exact)
{
    if (n->kind == QN_PRED)
        return ks_pred(pl, n);
    if (n->kind == QN_NOT)
        return NULL;
    ks_t *ks = ks_new(pl, n->kind == QN_AND ? KS_AND : KS_OR);
    for (size_t i = 0; ks != NULL && i < n->n_kids; i++) {
        bool kid_exact = true;
        ks_t *kid = ks_build(pl, n->kids[i], &kid_exact);
        *exact = *exact && kid_exact && kid != NULL;
        if (kid == NULL && n->kind == QN_OR) {
            ks_free(ks);
            return NULL;
        }
        if (kid != NULL && ks_add(pl, ks, kid) != KVKIT_OK) {
            ks_free(ks);
            return NULL;
        }
    }
    if (ks != NULL && ks->n_kids <= 1) { /* AND with one usable side */
        ks_t *only = ks->n_kids ? ks->kids[0] : NULL;
        ks->n_kids = 0;
        ks_free(ks);
        return only;
    }
    return ks;
}

/*** phases ***/

static qphase_t *phase_add(planner_t *pl, ph_type_t type)
{
    qplan_t *p = pl->p;
    qphase_t *ph = p->phases;
    if (p->n_phases == p->cap_phases) { /* room for 4 first: most plans have up to 3 */
        size_t cap = p->cap_phases ? 2 * p->cap_phases : 4;
        if ((ph = kvkit__realloc(p->phases, cap * sizeof *ph)) == NULL) {
            kvkit__error(pl->err, KVKIT_NOMEM, "", "out of memory planning the query");
            return NULL;
        }
        p->phases = ph;
        p->cap_phases = cap;
    }
    ph = &p->phases[p->n_phases];
    memset(ph, 0, sizeof *ph);
    ph->type = type;
    p->n_phases++;
    return ph;
}

static int excl_add(planner_t *pl, qphase_t *ph, const qnode_t *n)
{
    const qnode_t **e = kvkit__realloc(ph->excl, (ph->n_excl + 1) * sizeof *e);
    if (e == NULL)
        return kvkit__error(pl->err, KVKIT_NOMEM, "", "out of memory planning the query");
    ph->excl = e;
    ph->excl[ph->n_excl++] = n;
    return KVKIT_OK;
}

/* A bound below every number (-DBL_MAX: finite, as the ABI wants reals),
 * above every number (DBL_MAX), or at the start of or past every string. */
static int bound_edge(planner_t *pl, kvkit_index_value_t *iv, unsigned char **buf, bool string,
                      double inf)
{
    if ((*buf = kvkit__malloc(KVKIT_SORTABLE_NUMBER_LEN)) == NULL)
        return kvkit__error(pl->err, KVKIT_NOMEM, "", "out of memory planning the query");
    memset(iv, 0, sizeof *iv);
    iv->sortable = *buf;
    if (!string) {
        iv->kind = KVKIT_INDEX_REAL;
        iv->real = inf;
        iv->sortable_len = kvkit_sortable_real(*buf, inf);
        return KVKIT_OK;
    }
    iv->kind = KVKIT_INDEX_STRING;
    iv->string = inf < 0 ? "" : "\xff";
    iv->string_len = inf < 0 ? 0 : 1;
    if (inf < 0) {
        iv->sortable_len = kvkit_sortable_string(*buf, "", 0);
        return KVKIT_OK;
    }
    (*buf)[0] = KVKIT_SORTABLE_STRING; /* tag, 0xff: past every UTF-8 string */
    (*buf)[1] = 0xFF;
    iv->sortable_len = 2;
    return KVKIT_OK;
}

/* The bound past every string that starts with v. */
static int bound_prefix(planner_t *pl, qphase_t *ph, const qval_t *v)
{
    size_t n = v->iv.string_len;
    ph->hi_buf = kvkit__malloc(KVKIT_SORTABLE_STRING_MAX(n));
    ph->hi_str = kvkit__malloc(n + 1);
    if (ph->hi_buf == NULL || ph->hi_str == NULL)
        return kvkit__error(pl->err, KVKIT_NOMEM, "", "out of memory planning the query");
    memcpy(ph->hi_str, v->iv.string, n);
    ph->hi_str[n] = (char)0xFF;
    size_t len = kvkit_sortable_string(ph->hi_buf, v->iv.string, n);
    ph->hi_buf[len - 2] = 0xFF; /* replaces the 00 01 terminator */
    ph->hi = (kvkit_index_value_t){.kind = KVKIT_INDEX_STRING, .string = ph->hi_str,
                                   .string_len = n + 1, .sortable = ph->hi_buf,
                                   .sortable_len = len - 1};
    return KVKIT_OK;
}

/* A range or prefix predicate on an indexed field as one index scan. */
static int range_phase(planner_t *pl, const qnode_t *n, const qnode_t *check, size_t *added)
{
    const qval_t *v = &n->vals[0];
    bool str = v->iv.kind == KVKIT_INDEX_STRING;
    bool up = n->op == QP_GT || n->op == QP_GE || n->op == QP_PREFIX;
    qphase_t *ph = phase_add(pl, PH_RANGE);
    if (ph == NULL)
        return KVKIT_NOMEM;
    (*added)++;
    ph->field = n->field;
    ph->check = n->op == QP_GT ? n : check; /* a key met at V may have a bigger value */
    ph->hi_excl = n->op == QP_LT;
    int rc = KVKIT_OK;
    if (up) {
        ph->lo = v->iv;
        rc = n->op == QP_PREFIX ? bound_prefix(pl, ph, v)
                                : bound_edge(pl, &ph->hi, &ph->hi_buf, str, DBL_MAX);
    } else {
        ph->hi = v->iv;
        rc = bound_edge(pl, &ph->lo, &ph->lo_buf, str, -DBL_MAX);
    }
    if (n->op == QP_GT && check != NULL)
        ph->check = check;
    return rc;
}

static bool range_able(const planner_t *pl, const qnode_t *n)
{
    return n->kind == QN_PRED && strcmp(n->field, "$key") != 0 &&
           kvkit__q_indexed(pl->q, n->field) &&
           (n->op == QP_LT || n->op == QP_LE || n->op == QP_GT || n->op == QP_GE ||
            n->op == QP_PREFIX);
}

static void phases_drop(planner_t *pl, size_t from)
{
    while (pl->p->n_phases > from)
        phase_free(&pl->p->phases[--pl->p->n_phases]);
}

static int filter_phases(planner_t *pl, const qnode_t *n, size_t *added);

static int or_phases(planner_t *pl, const qnode_t *n, size_t *added)
{
    size_t from = pl->p->n_phases;
    for (size_t i = 0; i < n->n_kids; i++) {
        size_t k = 0, first = pl->p->n_phases;
        int rc = filter_phases(pl, n->kids[i], &k);
        if (rc != KVKIT_OK)
            return rc;
        if (k == 0) { /* a branch no index can find: scan the bucket */
            phases_drop(pl, from);
            *added = 0;
            return KVKIT_OK;
        }
        for (size_t ph = first; ph < pl->p->n_phases; ph++)
            for (size_t j = 0; j < i; j++)
                if ((rc = excl_add(pl, &pl->p->phases[ph], n->kids[j])) != KVKIT_OK)
                    return rc;
    }
    *added = pl->p->n_phases - from;
    return KVKIT_OK;
}

static int and_phases(planner_t *pl, const qnode_t *n, size_t *added)
{
    for (size_t i = 0; i < n->n_kids; i++)
        if (range_able(pl, n->kids[i]))
            return range_phase(pl, n->kids[i], n, added);
    for (size_t i = 0; i < n->n_kids; i++) {
        if (n->kids[i]->kind != QN_OR)
            continue;
        size_t first = pl->p->n_phases;
        int rc = or_phases(pl, n->kids[i], added);
        if (rc != KVKIT_OK || *added == 0)
            return rc;
        for (size_t ph = first; ph < pl->p->n_phases; ph++)
            pl->p->phases[ph].check = n;
        return KVKIT_OK;
    }
    return KVKIT_OK;
}

/* Append the phases that find n's matches; *added = 0 when no index can. */
static int filter_phases(planner_t *pl, const qnode_t *n, size_t *added)
{
    *added = 0;
    bool exact = true;
    ks_t *ks = ks_build(pl, n, &exact);
    if (ks == NULL && pl->err != NULL && pl->err->code != KVKIT_OK)
        return pl->err->code;
    if (ks != NULL) {
        qphase_t *ph = phase_add(pl, PH_KS);
        if (ph == NULL) {
            ks_free(ks);
            return KVKIT_NOMEM;
        }
        ph->ks = ks;
        ph->check = exact ? NULL : n;
        *added = 1;
        return KVKIT_OK;
    }
    if (range_able(pl, n))
        return range_phase(pl, n, NULL, added);
    if (n->kind == QN_AND)
        return and_phases(pl, n, added);
    if (n->kind == QN_OR)
        return or_phases(pl, n, added);
    return KVKIT_OK;
}

/*** the plan ***/

static int own_add(planner_t *pl, qnode_t *n)
{
    qnode_t **o = n ? kvkit__realloc(pl->p->own, (pl->p->n_own + 1) * sizeof *o) : NULL;
    if (o == NULL) {
        kvkit__qnode_free(n);
        return kvkit__error(pl->err, KVKIT_NOMEM, "", "out of memory planning the query");
    }
    pl->p->own = o;
    pl->p->own[pl->p->n_own++] = n;
    return KVKIT_OK;
}

/* order by F (ascending, F indexed): F's numbers, F's strings (documents
 * with a number came already), then the documents without F, by key. */
static int order_phases(planner_t *pl, const char *field)
{
    const qnode_t *root = pl->q->root;
    int rc;
    if ((rc = own_add(pl, kvkit__qnode_has(QP_HAS_NUMBER, field))) != KVKIT_OK ||
        (rc = own_add(pl, kvkit__qnode_has(QP_HAS_ANY, field))) != KVKIT_OK)
        return rc;
    for (int i = 0; i < 3; i++) {
        qphase_t *ph = phase_add(pl, i < 2 ? PH_RANGE : PH_BUCKET);
        if (ph == NULL)
            return KVKIT_NOMEM;
        ph->check = root;
        if (i < 2) {
            ph->field = field;
            if ((rc = bound_edge(pl, &ph->lo, &ph->lo_buf, i == 1, -DBL_MAX)) != KVKIT_OK ||
                (rc = bound_edge(pl, &ph->hi, &ph->hi_buf, i == 1, DBL_MAX)) != KVKIT_OK)
                return rc;
        }
        if (i > 0 && (rc = excl_add(pl, ph, pl->p->own[pl->p->n_own - (i == 1 ? 2 : 1)])) != KVKIT_OK)
            return rc;
    }
    return KVKIT_OK;
}

static int plan_order(planner_t *pl, size_t added)
{
    const kvkit_qexpr_t *q = pl->q;
    bool key = strcmp(q->order, "$key") == 0;
    qphase_t *ph = pl->p->phases;
    if (key && !q->desc) {
        if (added == 1 && (ph->type == PH_KS || ph->type == PH_BUCKET))
            return KVKIT_OK; /* already in key order */
        phases_drop(pl, 0);
        return (ph = phase_add(pl, PH_BUCKET)) != NULL ? (ph->check = q->root, KVKIT_OK)
                                                        : KVKIT_NOMEM;
    }
    if (!q->desc && kvkit__q_indexed(q, q->order)) {
        phases_drop(pl, 0);
        return order_phases(pl, q->order);
    }
    if (!q->has_limit)
        return kvkit__error(pl->err, KVKIT_INVALID, q->order,
                            "query: \"order by %s%s\" needs a sort of every result: add \"limit N\" "
                            "(%s)", q->order, q->desc ? " desc" : "",
                            q->desc ? "no index scan gives descending order"
                                    : "the field has no index to read in order");
    pl->p->mode = QM_TOPN;
    return KVKIT_OK;
}

/* Whether evaluating n reads the document (a field other than $key). */
static bool reads_doc(const qnode_t *n)
{
    if (n->kind == QN_PRED)
        return strcmp(n->field, "$key") != 0;
    for (size_t i = 0; i < n->n_kids; i++)
        if (reads_doc(n->kids[i]))
            return true;
    return false;
}

static void mark_docs(qplan_t *p)
{
    for (size_t i = 0; i < p->n_phases; i++) {
        qphase_t *ph = &p->phases[i];
        ph->need_doc = ph->check != NULL && reads_doc(ph->check);
        for (size_t j = 0; j < ph->n_excl; j++)
            ph->need_doc = ph->need_doc || reads_doc(ph->excl[j]);
    }
}

static int plan_build(planner_t *pl)
{
    size_t added = 0;
    int rc = filter_phases(pl, pl->q->root, &added);
    if (rc == KVKIT_OK && added == 0) {
        qphase_t *ph = phase_add(pl, PH_BUCKET);
        if (ph == NULL)
            return KVKIT_NOMEM;
        ph->check = pl->q->root;
        added = 1;
    }
    if (rc == KVKIT_OK && pl->q->order != NULL)
        rc = plan_order(pl, added);
    if (rc == KVKIT_OK)
        mark_docs(pl->p);
    return rc;
}

int kvkit__qplan(const kvkit_qexpr_t *q, qplan_t **out, kvkit_error_t *err)
{
    kvkit_error_t e = {0};
    planner_t pl = {q, kvkit__calloc(1, sizeof(qplan_t)), &e};
    *out = NULL;
    if (pl.p == NULL)
        return kvkit__error(err, KVKIT_NOMEM, "", "out of memory planning the query");
    int rc = plan_build(&pl);
    if (rc != KVKIT_OK) {
        kvkit__qplan_free(pl.p);
        return kvkit__error_copy(err, &e, rc);
    }
    *out = pl.p;
    return KVKIT_OK;
}

/*** the plan kept between runs ***/

static void ks_reset(ks_t *ks)
{
    for (size_t i = 0; i < ks->n_kids; i++)
        ks_reset(ks->kids[i]);
    kvkit__qpage_clear(ks->page);
    ks->n_hits = ks->hit_pos = ks->want = ks->lead = ks->cur_len = 0;
    ks->mark = ks->tie = 0;
    ks->started = ks->done = ks->icur_end = false;
}

static void plan_free_cb(void *p)
{
    kvkit__qplan_free(p);
}

int kvkit__qplan_take(const kvkit_qexpr_t *q, qplan_t **out, kvkit_error_t *err)
{
    kvkit_qexpr_t *mq = (kvkit_qexpr_t *)q; /* only its cache changes */
    qplan_t *p = __atomic_exchange_n(&mq->spare, NULL, __ATOMIC_ACQ_REL);
    if (p == NULL)
        return kvkit__qplan(q, out, err);
    *out = p;
    return KVKIT_OK;
}

void kvkit__qplan_give(const kvkit_qexpr_t *q, qplan_t *p)
{
    if (p == NULL)
        return;
    for (size_t i = 0; i < p->n_phases; i++) {
        qphase_t *ph = &p->phases[i];
        if (ph->ks != NULL)
            ks_reset(ph->ks);
        kvkit__qpage_clear(ph->page);
    }
    kvkit_qexpr_t *mq = (kvkit_qexpr_t *)q;
    void *none = NULL;
    __atomic_store_n(&mq->spare_free, plan_free_cb, __ATOMIC_RELAXED);
    if (!__atomic_compare_exchange_n(&mq->spare, &none, p, false, __ATOMIC_ACQ_REL,
                                     __ATOMIC_ACQUIRE))
        kvkit__qplan_free(p);
}

/*** EXPLAIN ***/

typedef struct tbuf {
    char *s;
    size_t len, cap;
} tbuf_t;

static void ks_text(const ks_t *ks, tbuf_t *t)
{
    switch (ks->type) {
    case KS_EMPTY:
        kvkit__qbuf_add(&t->s, &t->len, &t->cap, "nothing (no key can match)");
        return;
    case KS_EQ:
        kvkit__qbuf_add(&t->s, &t->len, &t->cap, "index \"%s\" = ", ks->pred->field);
        kvkit__qbuf_add(&t->s, &t->len, &t->cap, "%s",
                        ks->val->iv.kind == KVKIT_INDEX_STRING ? "\"" : "");
        if (ks->val->iv.kind == KVKIT_INDEX_STRING)
            kvkit__qbuf_add(&t->s, &t->len, &t->cap, "%.*s\"", (int)ks->val->iv.string_len,
                            ks->val->iv.string);
        else if (ks->val->iv.kind == KVKIT_INDEX_INTEGER)
            kvkit__qbuf_add(&t->s, &t->len, &t->cap, "%lld", (long long)ks->val->iv.integer);
        else
            kvkit__qbuf_add(&t->s, &t->len, &t->cap, "%.17g", ks->val->iv.real);
        return;
    case KS_KEYS:
        kvkit__qbuf_add(&t->s, &t->len, &t->cap, "key listing %s\"%s\", ",
                        ks->klo_excl ? "(" : "[", ks->klo ? ks->klo : "");
        kvkit__qbuf_add(&t->s, &t->len, &t->cap, ks->khi ? "\"%s\"%s" : "end%s",
                        ks->khi ? ks->khi : (ks->khi_excl ? ")" : "]"), ks->khi_excl ? ")" : "]");
        return;
    case KS_AND:
    case KS_OR:
        kvkit__qbuf_add(&t->s, &t->len, &t->cap, "%s (",
                        ks->type == KS_AND ? "zigzag join in key order of" : "merge in key order, duplicates dropped, of");
        for (size_t i = 0; i < ks->n_kids; i++) {
            kvkit__qbuf_add(&t->s, &t->len, &t->cap, i ? "; " : "");
            ks_text(ks->kids[i], t);
        }
        kvkit__qbuf_add(&t->s, &t->len, &t->cap, ")");
        return;
    }
}

static void bound_text(const kvkit_index_value_t *iv, bool lo, tbuf_t *t)
{
    if (iv->kind == KVKIT_INDEX_REAL && (iv->real == DBL_MAX || iv->real == -DBL_MAX))
        kvkit__qbuf_add(&t->s, &t->len, &t->cap, "%s", lo ? "the smallest number" : "the largest number");
    else if (iv->kind == KVKIT_INDEX_INTEGER)
        kvkit__qbuf_add(&t->s, &t->len, &t->cap, "%lld", (long long)iv->integer);
    else if (iv->kind == KVKIT_INDEX_REAL)
        kvkit__qbuf_add(&t->s, &t->len, &t->cap, "%.17g", iv->real);
    else if (iv->sortable_len == 2 && iv->sortable[1] == 0xFF)
        kvkit__qbuf_add(&t->s, &t->len, &t->cap, "past the last string");
    else if (iv->string_len > 0 && (unsigned char)iv->string[iv->string_len - 1] == 0xFF)
        kvkit__qbuf_add(&t->s, &t->len, &t->cap, "past strings starting \"%.*s\"",
                        (int)iv->string_len - 1, iv->string);
    else
        kvkit__qbuf_add(&t->s, &t->len, &t->cap, "\"%.*s\"", (int)iv->string_len, iv->string);
}

static void phase_text(const qphase_t *ph, size_t i, tbuf_t *t)
{
    kvkit__qbuf_add(&t->s, &t->len, &t->cap, "phase %zu: ", i + 1);
    if (ph->type == PH_KS) {
        ks_text(ph->ks, t);
    } else if (ph->type == PH_BUCKET) {
        kvkit__qbuf_add(&t->s, &t->len, &t->cap, "every key of the bucket, in key order");
    } else {
        kvkit__qbuf_add(&t->s, &t->len, &t->cap, "index scan of \"%s\" from ", ph->field);
        bound_text(&ph->lo, true, t);
        kvkit__qbuf_add(&t->s, &t->len, &t->cap, " to ");
        bound_text(&ph->hi, false, t);
        kvkit__qbuf_add(&t->s, &t->len, &t->cap, "%s", ph->hi_excl ? " (excluded)" : "");
    }
    kvkit__qbuf_add(&t->s, &t->len, &t->cap, "\n  check on the document: ");
    if (ph->check != NULL)
        kvkit__qnode_text(ph->check, &t->s, &t->len, &t->cap);
    else
        kvkit__qbuf_add(&t->s, &t->len, &t->cap, "nothing (the index answers exactly)");
    for (size_t j = 0; j < ph->n_excl; j++) {
        kvkit__qbuf_add(&t->s, &t->len, &t->cap, j ? ", " : "\n  skip (an earlier phase had it): ");
        kvkit__qnode_text(ph->excl[j], &t->s, &t->len, &t->cap);
    }
    kvkit__qbuf_add(&t->s, &t->len, &t->cap, "\n");
}

static void order_text(const kvkit_qexpr_t *q, const qplan_t *p, tbuf_t *t)
{
    if (q->order == NULL)
        kvkit__qbuf_add(&t->s, &t->len, &t->cap, "order: as the phases produce them (no order by)\n");
    else if (p->mode == QM_TOPN)
        kvkit__qbuf_add(&t->s, &t->len, &t->cap,
                        "order: every candidate is read; a heap keeps the first %llu by \"%s\" %s\n",
                        (unsigned long long)q->limit, q->order, q->desc ? "desc" : "asc");
    else if (strcmp(q->order, "$key") == 0)
        kvkit__qbuf_add(&t->s, &t->len, &t->cap, "order: key order, as read\n");
    else
        kvkit__qbuf_add(&t->s, &t->len, &t->cap,
                        "order: the index on \"%s\" as read: numbers, then strings, then the "
                        "documents without \"%s\" by key\n", q->order, q->order);
    if (q->has_limit)
        kvkit__qbuf_add(&t->s, &t->len, &t->cap, "limit: stops after %llu results\n",
                        (unsigned long long)q->limit);
}

int kvkit_query_explain(const kvkit_qexpr_t *q, char **text, kvkit_error_t *err)
{
    if (text != NULL)
        *text = NULL;
    if (q == NULL || text == NULL)
        return kvkit__error(err, KVKIT_INVALID, "", "query or text pointer is NULL");
    qplan_t *p;
    int rc = kvkit__qplan(q, &p, err);
    if (rc != KVKIT_OK)
        return rc;
    tbuf_t t = {0};
    kvkit__qbuf_add(&t.s, &t.len, &t.cap, "query: %s\n", q->canon);
    order_text(q, p, &t);
    for (size_t i = 0; i < p->n_phases; i++)
        phase_text(&p->phases[i], i, &t);
    kvkit__qplan_free(p);
    if (t.s == NULL)
        return kvkit__error(err, KVKIT_NOMEM, "", "out of memory");
    /* the caller frees with free(3): hand over a malloc'd copy */
    *text = malloc(t.len + 1);
    if (*text != NULL)
        memcpy(*text, t.s, t.len + 1);
    kvkit__free(t.s);
    return *text ? KVKIT_OK : kvkit__error(err, KVKIT_NOMEM, "", "out of memory");
}
