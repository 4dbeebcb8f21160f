/*
 * iter.c - streaming query results in constant memory: pages of at most
 * ITER_PAGE results, each fetched by resuming the backend's scan strictly
 * after the last position seen, with no backend lock held between pages.
 *
 * On a backend with views (KVKIT_BACKEND_SNAPSHOT) every page, and every
 * document fetched for it, is read in one view opened with the first page:
 * the iteration sees the store as it was when it began, so a loop that
 * writes what it reads (moves a document forward in the index) meets each
 * key once.  Elsewhere pages read the live store.
 *
 * The backend is reached only through the scan layer (query.c).
 */
#include "qprivate.h"

#include <stdlib.h>
#include <string.h>

/*** iterators: pages of results, resumed by position, so memory stays flat ***/

#define ITER_PAGE 256

typedef struct iter_item {
    char *key;
    size_t key_len;
    char *value; /* malloc'd by the backend (get) or copied (index_docs) */
    size_t value_len;
    unsigned char *sortable;
    size_t sortable_len;
} iter_item_t;

struct kvkit_iter {
    kvkit_store_t *store;
    char *bucket;
    kvkit__query_t q;
    char *field_copy;
    json_t *lo, *hi; /* kept alive: q points into them */
    bool want_docs;
    void *view;        /* the backend's view, or NULL: pages read the live store */
    bool view_tried;   /* the first page opened it (or found no view support) */
    iter_item_t items[ITER_PAGE];
    size_t n, pos;
    bool more;       /* the backend may have further results */
    bool have_after; /* a previous page exists; resume after its last item */
    char *after_key;
    size_t after_key_len;
    unsigned char *after_sortable;
    size_t after_sortable_len;
    /* a compound query (kvkit_store_query_iter): pages of kvkit_query_exec,
     * each resumed from the cursor the previous one handed back */
    const kvkit_qexpr_t *expr; /* NULL: an index or key scan */
    kvkit_qexpr_t *expr_own;   /* freed with the iterator */
    char *cursor;
    kvkit_error_t err;
};

static void page_clear(kvkit_iter_t *it)
{
    for (size_t i = 0; i < it->n; i++) {
        kvkit__free(it->items[i].key);
        free(it->items[i].value); /* backend memory or our own copy via malloc */
        kvkit__free(it->items[i].sortable);
    }
    it->n = it->pos = 0;
}

static int page_add(kvkit_iter_t *it, const char *key, size_t key_len,
                    const char *value, size_t value_len,
                    const unsigned char *sortable, size_t sortable_len)
{
    /* keys-mode resume is inclusive: drop the key the last page ended on */
    if (it->q.kind == KVKIT__Q_KEYS && it->have_after && key_len == it->after_key_len &&
        memcmp(key, it->after_key, key_len) == 0)
        return 0;
    iter_item_t *item = &it->items[it->n];
    memset(item, 0, sizeof *item);
    item->key = kvkit__strndup(key, key_len);
    item->key_len = key_len;
    if (sortable_len > 0 && (item->sortable = kvkit__malloc(sortable_len)) != NULL) {
        memcpy(item->sortable, sortable, sortable_len);
        item->sortable_len = sortable_len;
    }
    if (value != NULL && (item->value = malloc(value_len + 1)) != NULL) {
        memcpy(item->value, value, value_len);
        item->value[value_len] = '\0';
        item->value_len = value_len;
    }
    if (item->key == NULL || (sortable_len > 0 && item->sortable == NULL) ||
        (value != NULL && item->value == NULL)) {
        kvkit__free(item->key);
        kvkit__free(item->sortable);
        free(item->value);
        kvkit__error(&it->err, KVKIT_NOMEM, it->bucket, "out of memory in query iterator");
        return 1;
    }
    it->n++;
    return it->n == ITER_PAGE; /* page full: stop the backend here */
}

static int page_key(void *vctx, const char *key, size_t key_len,
                    const unsigned char *sortable, size_t sortable_len)
{
    return page_add(vctx, key, key_len, NULL, 0, sortable, sortable_len);
}

static int page_doc(void *vctx, const char *key, size_t key_len, const char *value,
                    size_t value_len, const unsigned char *sortable, size_t sortable_len)
{
    return page_add(vctx, key, key_len, value, value_len, sortable, sortable_len);
}

/* A document of the page: from the view when there is one, so documents and
 * index agree; else through kvkit_store_get (siblings resolved). */
static int page_get(kvkit_iter_t *it, iter_item_t *item)
{
    if (it->view == NULL)
        return kvkit_store_get(it->store, it->bucket, item->key, &item->value,
                               &item->value_len, &it->err);
    return kvkit__view_get(it->store, it->view, it->bucket, item->key, &item->value,
                           &item->value_len, &it->err);
}

static int page_result(void *vctx, const char *key, size_t key_len, const char *value,
                       size_t value_len)
{
    return page_add(vctx, key, key_len, value, value_len, NULL, 0);
}

/* One page of a compound query, in the iteration's view, resumed from the
 * previous page's cursor; sets it->more. */
static void query_page(kvkit_iter_t *it)
{
    char *next = NULL;
    kvkit__query_exec_view(it->store, it->view, it->bucket, it->expr, it->want_docs, ITER_PAGE,
                           it->cursor, &next, page_result, it, &it->err);
    free(it->cursor);
    it->cursor = next;
    it->more = it->err.code == KVKIT_OK && next != NULL;
}

/* One page from the backend's scan, resumed after the previous page; sets
 * *fused when the documents came with the keys. */
static void scan_page(kvkit_iter_t *it, bool *fused)
{
    kvkit_store_t *s = it->store;
    *fused = false;
    if (it->expr != NULL) {
        *fused = true; /* kvkit_query_exec hands over the documents */
        query_page(it);
        return;
    }
    if (it->q.kind == KVKIT__Q_KEYS) {
        kvkit__list_keys_call(s, it->view, it->bucket,
                              it->have_after ? it->after_key : it->q.klo, it->q.khi, page_key,
                              it, &it->err);
        return;
    }
    kvkit_index_position_t after = {it->after_sortable, it->after_sortable_len, it->after_key,
                                    it->after_key_len};
    const kvkit_index_position_t *ap = it->have_after ? &after : NULL;
    if (it->want_docs && kvkit__store_fused_docs(s)) {
        *fused = true;
        kvkit__index_docs_call(s, it->view, it->bucket, &it->q, ap, page_doc, it, &it->err);
    } else {
        kvkit__index_lookup_call(s, it->view, it->bucket, &it->q, ap, page_key, it, &it->err);
    }
}

/* Remember where the page ended: the next page resumes after it. */
static int remember_last(kvkit_iter_t *it)
{
    iter_item_t *last = &it->items[it->n - 1];
    char *k = kvkit__strndup(last->key, last->key_len);
    unsigned char *so = last->sortable_len ? kvkit__malloc(last->sortable_len) : NULL;
    if (k == NULL || (last->sortable_len && so == NULL)) {
        kvkit__free(k);
        kvkit__free(so);
        return kvkit__error(&it->err, KVKIT_NOMEM, it->bucket, "out of memory in query iterator");
    }
    if (so)
        memcpy(so, last->sortable, last->sortable_len);
    kvkit__free(it->after_key);
    kvkit__free(it->after_sortable);
    it->after_key = k;
    it->after_key_len = last->key_len;
    it->after_sortable = so;
    it->after_sortable_len = last->sortable_len;
    it->have_after = true;
    return KVKIT_OK;
}

/* Read the page's documents, dropping keys deleted since the scan. */
static int page_docs(kvkit_iter_t *it)
{
    size_t w = 0;
    for (size_t i = 0; i < it->n; i++) {
        iter_item_t *item = &it->items[i];
        int rc = page_get(it, item);
        if (rc == KVKIT_OK) {
            it->items[w++] = *item;
            continue;
        }
        kvkit__free(item->key); /* deleted since the lookup, or failed */
        kvkit__free(item->sortable);
        if (rc != KVKIT_NOTFOUND) {
            for (size_t j = i + 1; j < it->n; j++) {
                kvkit__free(it->items[j].key);
                kvkit__free(it->items[j].sortable);
            }
            it->n = w;
            return rc;
        }
    }
    it->n = w;
    return KVKIT_OK;
}

static void fetch_page(kvkit_iter_t *it)
{
    page_clear(it);
    if (!it->more || it->err.code != KVKIT_OK)
        return;
    /* pin the view every page of the iteration reads, before the first */
    if (!it->view_tried) {
        it->view_tried = true;
        if (kvkit__view_open(it->store, &it->view, it->bucket, &it->err) != KVKIT_OK) {
            it->more = false;
            return;
        }
    }
    bool fused;
    scan_page(it, &fused);
    /* a scan ends at a page short of full (after dropping a repeated key);
     * a compound query's cursor says whether more follow (query_page) */
    if (it->expr == NULL)
        it->more = it->err.code == KVKIT_OK && it->n == ITER_PAGE;
    bool resume = it->n > 0 && it->expr == NULL;
    if (it->err.code != KVKIT_OK || (resume && remember_last(it) != KVKIT_OK) ||
        (it->want_docs && !fused && page_docs(it) != KVKIT_OK)) {
        page_clear(it);
        it->more = false;
    }
}

static void view_close(kvkit_iter_t *it)
{
    kvkit__view_close(it->store, it->view);
    it->view = NULL;
}

static void iter_settle(kvkit_iter_t *it)
{
    /* skip empty pages (every key of a page deleted meanwhile) */
    while (it->pos >= it->n && it->more && it->err.code == KVKIT_OK)
        fetch_page(it);
    if (!it->more)
        view_close(it); /* the scan is done: release the pinned state early */
}

static kvkit_iter_t *iter_new(kvkit_store_t *s, const char *bucket, int want_docs)
{
    kvkit_iter_t *it = kvkit__calloc(1, sizeof *it);
    if (it == NULL)
        return NULL;
    it->store = s;
    it->want_docs = want_docs != 0;
    it->more = true;
    if (bucket != NULL && (it->bucket = kvkit__strdup(bucket)) == NULL) {
        kvkit__free(it);
        return NULL;
    }
    return it;
}

kvkit_iter_t *kvkit_store_index_iter(kvkit_store_t *s, const char *bucket,
                                     const char *field, const json_t *lo,
                                     const json_t *hi, int want_docs)
{
    kvkit_iter_t *it = iter_new(s, bucket, want_docs);
    if (it == NULL)
        return NULL;
    /* keep private copies of the bounds: the query points into them */
    it->lo = lo ? json_deep_copy(lo) : NULL;
    it->hi = hi ? json_deep_copy(hi) : NULL;
    it->field_copy = field ? kvkit__strdup(field) : NULL;
    if ((lo && !it->lo) || (hi && !it->hi) || (field && !it->field_copy)) {
        kvkit__error(&it->err, KVKIT_NOMEM, "", "out of memory creating query iterator");
        it->more = false;
        return it;
    }
    if (kvkit__query_parse(s, bucket, it->field_copy, it->lo, it->hi, &it->q, &it->err) != KVKIT_OK ||
        it->q.empty)
        it->more = false;
    iter_settle(it);
    return it;
}

kvkit_iter_t *kvkit_store_keys_iter(kvkit_store_t *s, const char *bucket,
                                    const char *lo, const char *hi, int want_docs)
{
    kvkit_iter_t *it = iter_new(s, bucket, want_docs);
    if (it == NULL)
        return NULL;
    it->q.kind = KVKIT__Q_KEYS;
    it->lo = lo ? json_string(lo) : NULL;
    it->hi = hi ? json_string(hi) : NULL;
    if ((lo && !it->lo) || (hi && !it->hi)) {
        kvkit__error(&it->err, KVKIT_NOMEM, "", "out of memory creating key iterator");
        it->more = false;
        return it;
    }
    it->q.klo = it->lo ? json_string_value(it->lo) : NULL;
    it->q.khi = it->hi ? json_string_value(it->hi) : NULL;
    if (s == NULL) {
        kvkit__error(&it->err, KVKIT_INVALID, "", "store is NULL");
        it->more = false;
    } else if (kvkit__check_bucket_key(bucket, NULL, &it->err) != KVKIT_OK ||
               (lo && hi && strcmp(lo, hi) > 0)) {
        it->more = false;
    }
    iter_settle(it);
    return it;
}

kvkit_iter_t *kvkit__store_query_iter(kvkit_store_t *s, const char *bucket,
                                      const kvkit_qexpr_t *q, kvkit_qexpr_t *own, int want_docs)
{
    kvkit_iter_t *it = iter_new(s, bucket, want_docs);
    if (it == NULL) {
        kvkit_query_free(own);
        return NULL;
    }
    it->expr = q;
    it->expr_own = own;
    if (s == NULL) {
        kvkit__error(&it->err, KVKIT_INVALID, "", "store is NULL");
        it->more = false;
    } else if (q == NULL) {
        kvkit__error(&it->err, KVKIT_INVALID, "", "query iterator: the query is NULL");
        it->more = false;
    } else if (kvkit__check_bucket_key(bucket, NULL, &it->err) != KVKIT_OK) {
        it->more = false;
    }
    iter_settle(it);
    return it;
}

kvkit_iter_t *kvkit_store_query_iter(kvkit_store_t *s, const char *bucket, const kvkit_qexpr_t *q,
                                     int want_docs)
{
    return kvkit__store_query_iter(s, bucket, q, NULL, want_docs);
}

int kvkit_iter_valid(const kvkit_iter_t *it)
{
    return it != NULL && it->pos < it->n;
}

void kvkit_iter_next(kvkit_iter_t *it)
{
    if (!kvkit_iter_valid(it))
        return;
    it->pos++;
    iter_settle(it);
}

const char *kvkit_iter_key(const kvkit_iter_t *it, size_t *len)
{
    if (!kvkit_iter_valid(it))
        return NULL;
    if (len)
        *len = it->items[it->pos].key_len;
    return it->items[it->pos].key;
}

const char *kvkit_iter_value(const kvkit_iter_t *it, size_t *len)
{
    if (!kvkit_iter_valid(it) || !it->want_docs)
        return NULL;
    if (len)
        *len = it->items[it->pos].value_len;
    return it->items[it->pos].value;
}

int kvkit_iter_status(const kvkit_iter_t *it, kvkit_error_t *err)
{
    if (it == NULL)
        return kvkit__error(err, KVKIT_NOMEM, "", "iterator could not be created");
    if (it->err.code != KVKIT_OK && err != NULL && err->code == KVKIT_OK)
        *err = it->err;
    return it->err.code;
}

void kvkit_iter_destroy(kvkit_iter_t *it)
{
    if (it == NULL)
        return;
    page_clear(it);
    view_close(it);
    if (it->q.kind == KVKIT__Q_INDEX)
        kvkit__query_free(&it->q);
    json_decref(it->lo);
    json_decref(it->hi);
    kvkit__free(it->field_copy);
    kvkit__free(it->bucket);
    kvkit__free(it->after_key);
    kvkit__free(it->after_sortable);
    kvkit_query_free(it->expr_own);
    free(it->cursor);
    kvkit__free(it);
}
