/*
 * store.c - stores: open a backend by store string, check arguments, and
 * dispatch operations through the backend's table.
 */
#include "kvkit_private.h"

#include <stdlib.h>
#include <string.h>

/*** argument checks ***/

static bool utf8_valid(const unsigned char *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        unsigned char c = s[i];
        size_t len;
        uint32_t cp;
        if (c < 0x80) {
            i++;
            continue;
        } else if ((c & 0xE0) == 0xC0) {
            len = 2;
            cp = c & 0x1F;
        } else if ((c & 0xF0) == 0xE0) {
            len = 3;
            cp = c & 0x0F;
        } else if ((c & 0xF8) == 0xF0) {
            len = 4;
            cp = c & 0x07;
        } else {
            return false;
        }
        if (i + len > n)
            return false;
        for (size_t k = 1; k < len; k++) {
            if ((s[i + k] & 0xC0) != 0x80)
                return false;
            cp = (cp << 6) | (s[i + k] & 0x3F);
        }
        if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) ||
            (len == 4 && (cp < 0x10000 || cp > 0x10FFFF)) || (cp >= 0xD800 && cp <= 0xDFFF))
            return false;
        i += len;
    }
    return true;
}

static int check_name(const char *what, const char *s, size_t max, kvkit_error_t *err)
{
    if (s == NULL)
        return kvkit__error(err, KVKIT_INVALID, "", "%s is NULL", what);
    size_t n = strlen(s);
    if (n == 0)
        return kvkit__error(err, KVKIT_INVALID, "", "empty %s: a %s is 1 to %zu bytes", what, what, max);
    if (n > max)
        return kvkit__error(err, KVKIT_INVALID, "", "%s \"%.40s...\" is %zu bytes, longer than the limit of %zu",
                            what, s, n, max);
    if (!utf8_valid((const unsigned char *)s, n))
        return kvkit__error(err, KVKIT_INVALID, "", "%s \"%.40s\" is not valid UTF-8", what, s);
    return KVKIT_OK;
}

int kvkit__check_bucket_key(const char *bucket, const char *key, kvkit_error_t *err)
{
    int rc = check_name("bucket", bucket, KVKIT_BUCKET_MAX, err);
    if (rc == KVKIT_OK && key != NULL)
        rc = check_name("key", key, KVKIT_KEY_MAX, err);
    return rc;
}

#define CHECK_STORE(store, err)                                                \
    do {                                                                       \
        if ((store) == NULL)                                                   \
            return kvkit__error(err, KVKIT_INVALID, "", "store is NULL");      \
    } while (0)

/*** locking for backends that are not thread-safe ***/

static void enter(kvkit_store_t *s)
{
    if (s->serialize)
        pthread_mutex_lock(&s->lock);
}

static void leave(kvkit_store_t *s)
{
    if (s->serialize)
        pthread_mutex_unlock(&s->lock);
}

/* Map a failed backend call into the caller's report. */
static int fail(kvkit_store_t *s, kvkit_error_t *err, const kvkit_error_t *berr,
                int rc, const char *op, const char *subject)
{
    return kvkit__error_from_backend(err, berr, rc, s->backend->name, op, subject);
}

/*** open / close ***/

kvkit_store_t *kvkit_store_open(const char *uri, kvkit_error_t *err)
{
    kvkit__uri_t u;
    if (kvkit__uri_parse(uri, &u, err) != KVKIT_OK)
        return NULL;
    kvkit_store_t *s = kvkit__calloc(1, sizeof *s);
    if (s == NULL) {
        kvkit__uri_free(&u);
        kvkit__error(err, KVKIT_NOMEM, uri, "out of memory opening store");
        return NULL;
    }
    if (kvkit__backend_acquire(u.name, &s->backend, err) != KVKIT_OK) {
        kvkit__uri_free(&u);
        kvkit__free(s);
        return NULL;
    }
    kvkit_error_t berr = {0};
    int rc = s->backend->ops.open(u.location, u.options, u.n_options, &s->handle, &berr);
    if (rc != KVKIT_OK) {
        fail(s, err, &berr, rc, "open", u.location);
        kvkit__uri_free(&u);
        kvkit__backend_release(s->backend);
        kvkit__free(s);
        return NULL;
    }
    kvkit__uri_free(&u);
    s->serialize = !(s->backend->desc->flags & KVKIT_BACKEND_THREAD_SAFE);
    pthread_mutex_init(&s->lock, NULL);
    return s;
}

void kvkit_store_close(kvkit_store_t *s)
{
    if (s == NULL)
        return;
    s->backend->ops.close(s->handle);
    pthread_mutex_destroy(&s->lock);
    kvkit__backend_release(s->backend);
    kvkit__free(s);
}

const char *kvkit_store_backend(const kvkit_store_t *s)
{
    return s ? s->backend->name : NULL;
}

const kvkit_backend_descriptor_t *kvkit_store_descriptor(const kvkit_store_t *s)
{
    return s ? s->backend->desc : NULL;
}

int kvkit_store_supports(const kvkit_store_t *s, const char *op)
{
    if (s == NULL || op == NULL)
        return 0;
    const kvkit_backend_ops_t *o = &s->backend->ops;
    if (strcmp(op, "index_lookup") == 0)
        return o->index_lookup != NULL;
    if (strcmp(op, "list_keys") == 0)
        return o->list_keys != NULL;
    if (strcmp(op, "index_docs") == 0)
        return o->index_docs != NULL;
    if (strcmp(op, "write_batch") == 0)
        return o->write_batch != NULL;
    if (strcmp(op, "get_rev") == 0)
        return o->get_rev != NULL;
    if (strcmp(op, "save_if") == 0)
        return o->save_if != NULL;
    return 0;
}

static int unsupported(kvkit_store_t *s, const char *op, kvkit_error_t *err)
{
    return kvkit__error(err, KVKIT_NOT_SUPPORTED, op,
                        "%s: %s is not supported by this backend", s->backend->name, op);
}

/*** get / save / delete ***/

int kvkit_store_get(kvkit_store_t *s, const char *bucket, const char *key,
                    char **value, size_t *value_len, kvkit_error_t *err)
{
    CHECK_STORE(s, err);
    int rc = kvkit__check_bucket_key(bucket, key, err);
    if (rc != KVKIT_OK)
        return rc;
    if (value == NULL || value_len == NULL)
        return kvkit__error(err, KVKIT_INVALID, key, "kvkit_store_get: value and value_len are required");
    kvkit_error_t berr = {0};
    enter(s);
    rc = s->backend->ops.get(s->handle, bucket, key, value, value_len, &berr);
    leave(s);
    if (rc == KVKIT_OK || rc == KVKIT_NOTFOUND)
        return rc;
    return fail(s, err, &berr, rc, "get", key);
}

int kvkit_store_save(kvkit_store_t *s, const char *bucket, const char *key,
                     const char *value, size_t value_len,
                     const kvkit_index_set_t *index, kvkit_error_t *err)
{
    CHECK_STORE(s, err);
    int rc = kvkit__check_bucket_key(bucket, key, err);
    if (rc != KVKIT_OK)
        return rc;
    if (value == NULL && value_len > 0)
        return kvkit__error(err, KVKIT_INVALID, key, "kvkit_store_save: value is NULL");
    size_t n;
    const kvkit_index_entry_t *entries = kvkit__index_set_entries(index, &n);
    kvkit_error_t berr = {0};
    enter(s);
    rc = s->backend->ops.save(s->handle, bucket, key, value ? value : "", value_len,
                              entries, n, &berr);
    leave(s);
    return rc == KVKIT_OK ? rc : fail(s, err, &berr, rc, "save", key);
}

int kvkit_store_delete(kvkit_store_t *s, const char *bucket, const char *key,
                       kvkit_error_t *err)
{
    CHECK_STORE(s, err);
    int rc = kvkit__check_bucket_key(bucket, key, err);
    if (rc != KVKIT_OK)
        return rc;
    kvkit_error_t berr = {0};
    enter(s);
    rc = s->backend->ops.del(s->handle, bucket, key, &berr);
    leave(s);
    return rc == KVKIT_OK || rc == KVKIT_NOTFOUND ? KVKIT_OK
                                                  : fail(s, err, &berr, rc, "delete", key);
}

int kvkit_store_get_rev(kvkit_store_t *s, const char *bucket, const char *key,
                        char **value, size_t *value_len, uint64_t *revision,
                        kvkit_error_t *err)
{
    CHECK_STORE(s, err);
    int rc = kvkit__check_bucket_key(bucket, key, err);
    if (rc != KVKIT_OK)
        return rc;
    if (value == NULL || value_len == NULL || revision == NULL)
        return kvkit__error(err, KVKIT_INVALID, key, "kvkit_store_get_rev: value, value_len and revision are required");
    if (s->backend->ops.get_rev == NULL)
        return unsupported(s, "get_rev", err);
    kvkit_error_t berr = {0};
    enter(s);
    rc = s->backend->ops.get_rev(s->handle, bucket, key, value, value_len, revision, &berr);
    leave(s);
    if (rc == KVKIT_OK || rc == KVKIT_NOTFOUND)
        return rc;
    return fail(s, err, &berr, rc, "get", key);
}

int kvkit_store_save_if(kvkit_store_t *s, const char *bucket, const char *key,
                        const char *value, size_t value_len,
                        const kvkit_index_set_t *index, uint64_t expected,
                        uint64_t *new_revision, kvkit_error_t *err)
{
    CHECK_STORE(s, err);
    int rc = kvkit__check_bucket_key(bucket, key, err);
    if (rc != KVKIT_OK)
        return rc;
    if (value == NULL && value_len > 0)
        return kvkit__error(err, KVKIT_INVALID, key, "kvkit_store_save_if: value is NULL");
    if (s->backend->ops.save_if == NULL)
        return unsupported(s, "save_if", err);
    size_t n;
    const kvkit_index_entry_t *entries = kvkit__index_set_entries(index, &n);
    uint64_t rev = 0;
    kvkit_error_t berr = {0};
    enter(s);
    rc = s->backend->ops.save_if(s->handle, bucket, key, value ? value : "", value_len,
                                 entries, n, expected, &rev, &berr);
    leave(s);
    if (rc != KVKIT_OK)
        return fail(s, err, &berr, rc, "save", key);
    if (new_revision)
        *new_revision = rev;
    return KVKIT_OK;
}

/*** queries ***/

/* A parsed query: which backend call answers it and with what bounds. */
typedef struct query {
    enum { Q_INDEX, Q_KEYS } kind;
    const char *field;
    kvkit_index_value_t lo, hi;
    unsigned char *lo_buf, *hi_buf;
    const char *klo, *khi; /* Q_KEYS; NULL = open */
    bool empty;            /* lo > hi: nothing can match */
} query_t;

static void query_free(query_t *q)
{
    kvkit__free(q->lo_buf);
    kvkit__free(q->hi_buf);
    q->lo_buf = q->hi_buf = NULL;
}

static int bound(const json_t *v, const char *field, unsigned char **buf,
                 kvkit_index_value_t *out, kvkit_error_t *err)
{
    if (!json_is_number(v) && !json_is_string(v))
        return kvkit__error(err, KVKIT_INVALID, field,
                            "query bound for \"%s\" must be a number or a string", field);
    if ((*buf = kvkit__malloc(kvkit__sortable_size(v))) == NULL)
        return kvkit__error(err, KVKIT_NOMEM, field, "out of memory encoding query bound");
    return kvkit__index_value(v, *buf, out, field, err);
}

static int sortable_cmp(const kvkit_index_value_t *a, const kvkit_index_value_t *b)
{
    size_t n = a->sortable_len < b->sortable_len ? a->sortable_len : b->sortable_len;
    int c = memcmp(a->sortable, b->sortable, n);
    return c ? c : (a->sortable_len > b->sortable_len) - (a->sortable_len < b->sortable_len);
}

static int query_parse(kvkit_store_t *s, const char *bucket, const char *field,
                       const json_t *lo, const json_t *hi, query_t *q,
                       kvkit_error_t *err)
{
    memset(q, 0, sizeof *q);
    CHECK_STORE(s, err);
    int rc = kvkit__check_bucket_key(bucket, NULL, err);
    if (rc != KVKIT_OK)
        return rc;
    if (field == NULL)
        return kvkit__error(err, KVKIT_INVALID, "", "query field is NULL");
    q->field = field;
    if (strcmp(field, "$bucket") == 0) {
        q->kind = Q_KEYS;
        return KVKIT_OK;
    }
    if (hi == NULL)
        hi = lo;
    if (strcmp(field, "$key") == 0) {
        if (!json_is_string(lo) || !json_is_string(hi))
            return kvkit__error(err, KVKIT_INVALID, field, "\"$key\" bounds must be strings");
        q->kind = Q_KEYS;
        q->klo = json_string_value(lo);
        q->khi = json_string_value(hi);
        q->empty = strcmp(q->klo, q->khi) > 0;
        return KVKIT_OK;
    }
    size_t flen = strlen(field);
    if (flen == 0 || flen > KVKIT_FIELD_MAX || field[0] == '$')
        return kvkit__error(err, KVKIT_INVALID, field,
                            "invalid query field \"%s\" (pseudo-fields are $key and $bucket)", field);
    if (lo == NULL)
        return kvkit__error(err, KVKIT_INVALID, field, "query on \"%s\" has no value", field);
    if (json_is_string(lo) != json_is_string(hi))
        return kvkit__error(err, KVKIT_INVALID, field,
                            "range bounds for \"%s\" must both be numbers or both be strings", field);
    q->kind = Q_INDEX;
    if ((rc = bound(lo, field, &q->lo_buf, &q->lo, err)) != KVKIT_OK ||
        (rc = bound(hi, field, &q->hi_buf, &q->hi, err)) != KVKIT_OK) {
        query_free(q);
        return rc;
    }
    q->empty = sortable_cmp(&q->lo, &q->hi) > 0;
    if (s->backend->ops.index_lookup == NULL) {
        query_free(q);
        return unsupported(s, "index_lookup", err);
    }
    return KVKIT_OK;
}

/* Adapts a backend key stream to the public callback, NUL-terminating keys. */
typedef struct key_adapter {
    kvkit_key_fn fn;
    void *ctx;
    const char *hi; /* list_keys upper bound re-checked here: cheap insurance */
} key_adapter_t;

static int key_adapter(void *vctx, const char *key, size_t len,
                       const unsigned char *sortable, size_t sortable_len)
{
    key_adapter_t *a = vctx;
    char buf[KVKIT_KEY_MAX + 1];
    if (len > KVKIT_KEY_MAX)
        len = KVKIT_KEY_MAX;
    memcpy(buf, key, len);
    buf[len] = '\0';
    return a->fn(a->ctx, buf, len);
}

static int list_keys_call(kvkit_store_t *s, const char *bucket, const char *lo,
                          const char *hi, kvkit_backend_key_fn fn, void *ctx,
                          kvkit_error_t *err)
{
    if (s->backend->ops.list_keys == NULL)
        return unsupported(s, "list_keys", err);
    kvkit_error_t berr = {0};
    enter(s);
    int rc = s->backend->ops.list_keys(s->handle, bucket, lo, hi, fn, ctx, &berr);
    leave(s);
    return rc == KVKIT_OK ? rc : fail(s, err, &berr, rc, "list_keys", bucket);
}

static int index_lookup_call(kvkit_store_t *s, const char *bucket, const query_t *q,
                             const kvkit_index_position_t *after,
                             kvkit_backend_key_fn fn, void *ctx, kvkit_error_t *err)
{
    kvkit_error_t berr = {0};
    enter(s);
    int rc = s->backend->ops.index_lookup(s->handle, bucket, q->field, &q->lo, &q->hi,
                                          after, fn, ctx, &berr);
    leave(s);
    return rc == KVKIT_OK ? rc : fail(s, err, &berr, rc, "index_lookup", q->field);
}

int kvkit_store_index_keys(kvkit_store_t *s, const char *bucket, const char *field,
                           const json_t *lo, const json_t *hi, kvkit_key_fn fn,
                           void *ctx, kvkit_error_t *err)
{
    query_t q;
    int rc = query_parse(s, bucket, field, lo, hi, &q, err);
    if (rc != KVKIT_OK)
        return rc;
    if (fn == NULL) {
        query_free(&q);
        return kvkit__error(err, KVKIT_INVALID, field, "result callback is NULL");
    }
    key_adapter_t a = {fn, ctx, NULL};
    if (q.empty)
        rc = KVKIT_OK;
    else if (q.kind == Q_KEYS)
        rc = list_keys_call(s, bucket, q.klo, q.khi, key_adapter, &a, err);
    else
        rc = index_lookup_call(s, bucket, &q, NULL, key_adapter, &a, err);
    query_free(&q);
    return rc;
}

int kvkit_store_list_keys(kvkit_store_t *s, const char *bucket, const char *lo,
                          const char *hi, kvkit_key_fn fn, void *ctx,
                          kvkit_error_t *err)
{
    CHECK_STORE(s, err);
    int rc = kvkit__check_bucket_key(bucket, NULL, err);
    if (rc != KVKIT_OK)
        return rc;
    if (fn == NULL)
        return kvkit__error(err, KVKIT_INVALID, bucket, "result callback is NULL");
    if (lo != NULL && hi != NULL && strcmp(lo, hi) > 0)
        return KVKIT_OK;
    key_adapter_t a = {fn, ctx, NULL};
    return list_keys_call(s, bucket, lo, hi, key_adapter, &a, err);
}

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
    query_t q;
    char *field_copy;
    json_t *lo, *hi; /* kept alive: q points into them */
    bool want_docs;
    iter_item_t items[ITER_PAGE];
    size_t n, pos;
    bool more;       /* the backend may have further results */
    bool have_after; /* a previous page exists; resume after its last item */
    char *after_key;
    size_t after_key_len;
    unsigned char *after_sortable;
    size_t after_sortable_len;
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
    if (it->q.kind == Q_KEYS && it->have_after && key_len == it->after_key_len &&
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

static void fetch_page(kvkit_iter_t *it)
{
    kvkit_store_t *s = it->store;
    page_clear(it);
    if (!it->more || it->err.code != KVKIT_OK)
        return;
    int rc;
    bool fused = false;
    if (it->q.kind == Q_KEYS) {
        rc = list_keys_call(s, it->bucket, it->have_after ? it->after_key : it->q.klo,
                            it->q.khi, page_key, it, &it->err);
    } else {
        kvkit_index_position_t after = {it->after_sortable, it->after_sortable_len,
                                        it->after_key, it->after_key_len};
        const kvkit_index_position_t *ap = it->have_after ? &after : NULL;
        if (it->want_docs && s->backend->ops.index_docs != NULL) {
            kvkit_error_t berr = {0};
            fused = true;
            enter(s);
            rc = s->backend->ops.index_docs(s->handle, it->bucket, it->q.field, &it->q.lo,
                                            &it->q.hi, ap, page_doc, it, &berr);
            leave(s);
            if (rc != KVKIT_OK)
                fail(s, &it->err, &berr, rc, "index_docs", it->q.field);
        } else {
            rc = index_lookup_call(s, it->bucket, &it->q, ap, page_key, it, &it->err);
        }
    }
    if (it->err.code != KVKIT_OK) {
        page_clear(it);
        it->more = false;
        return;
    }
    /* one page short of full (after dropping a repeated key) means the end */
    it->more = it->n == ITER_PAGE;
    if (it->n > 0) {
        iter_item_t *last = &it->items[it->n - 1];
        char *k = kvkit__strndup(last->key, last->key_len);
        unsigned char *so = last->sortable_len ? kvkit__malloc(last->sortable_len) : NULL;
        if (k == NULL || (last->sortable_len && so == NULL)) {
            kvkit__free(k);
            kvkit__free(so);
            kvkit__error(&it->err, KVKIT_NOMEM, it->bucket, "out of memory in query iterator");
            page_clear(it);
            it->more = false;
            return;
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
    }
    if (it->want_docs && !fused) {
        size_t w = 0;
        for (size_t i = 0; i < it->n; i++) {
            iter_item_t *item = &it->items[i];
            rc = kvkit_store_get(s, it->bucket, item->key, &item->value, &item->value_len, &it->err);
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
                page_clear(it);
                it->more = false;
                return;
            }
        }
        it->n = w;
    }
}

static void iter_settle(kvkit_iter_t *it)
{
    /* skip empty pages (every key of a page deleted meanwhile) */
    while (it->pos >= it->n && it->more && it->err.code == KVKIT_OK)
        fetch_page(it);
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
    if (query_parse(s, bucket, it->field_copy, it->lo, it->hi, &it->q, &it->err) != KVKIT_OK ||
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
    it->q.kind = Q_KEYS;
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
    if (it->q.kind == Q_INDEX)
        query_free(&it->q);
    json_decref(it->lo);
    json_decref(it->hi);
    kvkit__free(it->field_copy);
    kvkit__free(it->bucket);
    kvkit__free(it->after_key);
    kvkit__free(it->after_sortable);
    kvkit__free(it);
}

/* Callback form of a document query: the fused op straight through when the
 * backend has it, else the iterator (which reads documents outside the
 * backend's lookup, so no backend lock is held across a get). */
typedef struct doc_adapter {
    kvkit_doc_fn fn;
    void *ctx;
} doc_adapter_t;

static int doc_adapter(void *vctx, const char *key, size_t key_len, const char *value,
                       size_t value_len, const unsigned char *sortable, size_t sortable_len)
{
    doc_adapter_t *a = vctx;
    char buf[KVKIT_KEY_MAX + 1];
    if (key_len > KVKIT_KEY_MAX)
        key_len = KVKIT_KEY_MAX;
    memcpy(buf, key, key_len);
    buf[key_len] = '\0';
    return a->fn(a->ctx, buf, key_len, value, value_len);
}

int kvkit_store_index_docs(kvkit_store_t *s, const char *bucket, const char *field,
                           const json_t *lo, const json_t *hi, kvkit_doc_fn fn,
                           void *ctx, kvkit_error_t *err)
{
    if (fn == NULL)
        return kvkit__error(err, KVKIT_INVALID, field ? field : "", "result callback is NULL");
    query_t q;
    int rc = query_parse(s, bucket, field, lo, hi, &q, err);
    if (rc != KVKIT_OK)
        return rc;
    if (q.kind == Q_INDEX && !q.empty && s->backend->ops.index_docs != NULL) {
        doc_adapter_t a = {fn, ctx};
        kvkit_error_t berr = {0};
        enter(s);
        rc = s->backend->ops.index_docs(s->handle, bucket, field, &q.lo, &q.hi, NULL,
                                        doc_adapter, &a, &berr);
        leave(s);
        query_free(&q);
        return rc == KVKIT_OK ? rc : fail(s, err, &berr, rc, "index_docs", field);
    }
    bool empty = q.empty;
    if (q.kind == Q_INDEX)
        query_free(&q);
    if (empty)
        return KVKIT_OK;
    kvkit_iter_t *it = kvkit_store_index_iter(s, bucket, field, lo, hi, 1);
    if (it == NULL)
        return kvkit__error(err, KVKIT_NOMEM, field, "out of memory creating query iterator");
    for (; kvkit_iter_valid(it); kvkit_iter_next(it)) {
        const iter_item_t *item = &it->items[it->pos];
        if (fn(ctx, item->key, item->key_len, item->value, item->value_len) != 0)
            break;
    }
    rc = kvkit_iter_status(it, err);
    kvkit_iter_destroy(it);
    return rc;
}
