/*
 * arraystore.c - a complete kvkit backend in one file, built outside the
 * kvkit tree against the installed <kvkit/backend.h> only:
 *
 *   cc -O2 -fPIC -shared $(pkg-config --cflags kvkit) -o arraystore.so arraystore.c
 *   KVKIT_PLUGIN_PATH=$PWD kvkit-conformance arraystore:
 *
 * Documents and index entries live in two sorted arrays.  It is written to
 * be read, not to be fast: inserts are O(n).  It shows every rule a backend
 * follows: the descriptor, the NAME_LTX_ symbol spelling, options, errors,
 * the index contract (each key once, at the first of its values >= lo, in
 * (sortable, key) order, resuming after a position).  libkvkit serializes
 * calls per store because the descriptor does not claim THREAD_SAFE.
 */
#define KVKIT_BACKEND_NAME arraystore
#include <kvkit/backend.h>

#include <stdlib.h>
#include <string.h>

const kvkit_backend_descriptor_t KVKIT_BACKEND_SYMBOL(kvkit_backend_descriptor) = {
    .abi_major = KVKIT_BACKEND_ABI_MAJOR,
    .abi_minor = KVKIT_BACKEND_ABI_MINOR,
    .struct_size = sizeof(kvkit_backend_descriptor_t),
    .flags = KVKIT_BACKEND_ORDERED | KVKIT_BACKEND_ATOMIC,
    .name = "arraystore",
    .version = "1.0",
    .description = "example out-of-tree backend: two sorted arrays in memory",
};

typedef struct doc {
    char *bucket, *key, *value;
    size_t value_len;
} doc_t;

/* One index entry.  `pred` is the sortable value of the same document's
 * previous (smaller) value of the same field, if any: with it a range scan
 * can tell whether the key was already reported at an earlier value. */
typedef struct entry {
    char *bucket, *field, *key;
    unsigned char *sortable, *pred;
    size_t sortable_len, pred_len;
} entry_t;

typedef struct store {
    doc_t *docs;
    size_t n_docs, cap_docs;
    entry_t *entries;
    size_t n_entries, cap_entries;
    size_t max_docs; /* option, 0 = unlimited */
} store_t;

static int bytes_cmp(const unsigned char *a, size_t alen, const unsigned char *b, size_t blen)
{
    int c = memcmp(a, b, alen < blen ? alen : blen);
    return c ? c : (alen > blen) - (alen < blen);
}

static int doc_cmp(const doc_t *d, const char *bucket, const char *key)
{
    int c = strcmp(d->bucket, bucket);
    return c ? c : strcmp(d->key, key);
}

static int entry_cmp(const entry_t *a, const entry_t *b)
{
    int c = strcmp(a->bucket, b->bucket);
    if (c == 0)
        c = strcmp(a->field, b->field);
    if (c == 0)
        c = bytes_cmp(a->sortable, a->sortable_len, b->sortable, b->sortable_len);
    return c ? c : strcmp(a->key, b->key);
}

/* Index of the first doc >= (bucket, key). */
static size_t doc_lower_bound(const store_t *s, const char *bucket, const char *key)
{
    size_t lo = 0, hi = s->n_docs;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (doc_cmp(&s->docs[mid], bucket, key) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static unsigned char *memdup(const void *p, size_t n)
{
    unsigned char *d = malloc(n ? n : 1);
    if (d != NULL && n > 0)
        memcpy(d, p, n);
    return d;
}

static void entry_free(entry_t *e)
{
    free(e->bucket);
    free(e->field);
    free(e->key);
    free(e->sortable);
    free(e->pred);
}

/*** open / close ***/

KVKIT_BACKEND_DECLARE(open);
int KVKIT_BACKEND_SYMBOL(kvkit_backend_open)(const char *location,
                                             const kvkit_backend_option_t *options,
                                             size_t n_options, void **handle,
                                             kvkit_error_t *err)
{
    store_t *s = calloc(1, sizeof *s);
    if (s == NULL)
        return kvkit_backend_error(err, KVKIT_NOMEM, "", "out of memory");
    for (size_t i = 0; i < n_options; i++) {
        uint64_t v = 0;
        if (strcmp(options[i].key, "max_docs") != 0) {
            free(s);
            return kvkit_backend_error(err, KVKIT_BAD_OPTION, options[i].key,
                                       "unknown option \"%s\" (known: max_docs)",
                                       options[i].key);
        }
        if (kvkit_backend_option_uint(&options[i], 1, UINT32_MAX, &v, err) != KVKIT_OK) {
            free(s);
            return KVKIT_BAD_OPTION;
        }
        s->max_docs = (size_t)v;
    }
    *handle = s;
    return KVKIT_OK;
}

KVKIT_BACKEND_DECLARE(close);
void KVKIT_BACKEND_SYMBOL(kvkit_backend_close)(void *handle)
{
    store_t *s = handle;
    if (s == NULL)
        return;
    for (size_t i = 0; i < s->n_docs; i++) {
        free(s->docs[i].bucket);
        free(s->docs[i].key);
        free(s->docs[i].value);
    }
    for (size_t i = 0; i < s->n_entries; i++)
        entry_free(&s->entries[i]);
    free(s->docs);
    free(s->entries);
    free(s);
}

/*** get / save / delete ***/

KVKIT_BACKEND_DECLARE(get);
int KVKIT_BACKEND_SYMBOL(kvkit_backend_get)(void *handle, const char *bucket, const char *key,
                                            char **value, size_t *value_len,
                                            kvkit_error_t *err)
{
    store_t *s = handle;
    size_t i = doc_lower_bound(s, bucket, key);
    if (i == s->n_docs || doc_cmp(&s->docs[i], bucket, key) != 0)
        return KVKIT_NOTFOUND;
    if ((*value = (char *)memdup(s->docs[i].value, s->docs[i].value_len)) == NULL)
        return kvkit_backend_error(err, KVKIT_NOMEM, key, "get \"%s\": out of memory", key);
    *value_len = s->docs[i].value_len;
    return KVKIT_OK;
}

/* Drop every index entry of bucket/key. */
static void remove_entries(store_t *s, const char *bucket, const char *key)
{
    size_t w = 0;
    for (size_t r = 0; r < s->n_entries; r++) {
        entry_t *e = &s->entries[r];
        if (strcmp(e->bucket, bucket) == 0 && strcmp(e->key, key) == 0)
            entry_free(e);
        else
            s->entries[w++] = *e;
    }
    s->n_entries = w;
}

static int insert_entry(store_t *s, entry_t *e)
{
    if (s->n_entries == s->cap_entries) {
        size_t cap = s->cap_entries ? 2 * s->cap_entries : 64;
        entry_t *grown = realloc(s->entries, cap * sizeof *grown);
        if (grown == NULL)
            return KVKIT_NOMEM;
        s->entries = grown;
        s->cap_entries = cap;
    }
    size_t i = s->n_entries;
    while (i > 0 && entry_cmp(&s->entries[i - 1], e) > 0)
        i--;
    memmove(&s->entries[i + 1], &s->entries[i], (s->n_entries - i) * sizeof *e);
    s->entries[i] = *e;
    s->n_entries++;
    return KVKIT_OK;
}

KVKIT_BACKEND_DECLARE(save);
int KVKIT_BACKEND_SYMBOL(kvkit_backend_save)(void *handle, const char *bucket, const char *key,
                                             const char *value, size_t value_len,
                                             const kvkit_index_entry_t *entries,
                                             size_t n_entries, kvkit_error_t *err)
{
    store_t *s = handle;
    size_t i = doc_lower_bound(s, bucket, key);
    int exists = i < s->n_docs && doc_cmp(&s->docs[i], bucket, key) == 0;
    if (!exists && s->max_docs && s->n_docs >= s->max_docs)
        return kvkit_backend_error(err, KVKIT_TOO_LARGE, key,
                                   "save \"%s\": the store is full (max_docs=%zu)", key,
                                   s->max_docs);
    /* build everything first, so a failure changes nothing */
    char *copy = (char *)memdup(value, value_len);
    entry_t *fresh = calloc(n_entries ? n_entries : 1, sizeof *fresh);
    int ok = copy != NULL && fresh != NULL;
    for (size_t j = 0; ok && j < n_entries; j++) {
        const kvkit_index_entry_t *in = &entries[j];
        entry_t *e = &fresh[j];
        e->bucket = strdup(bucket);
        e->field = strdup(in->field);
        e->key = strdup(key);
        e->sortable = memdup(in->value.sortable, in->value.sortable_len);
        e->sortable_len = in->value.sortable_len;
        /* entries arrive sorted by (field, sortable): the predecessor is the
         * previous entry when it has the same field */
        if (j > 0 && strcmp(entries[j - 1].field, in->field) == 0) {
            e->pred = memdup(entries[j - 1].value.sortable, entries[j - 1].value.sortable_len);
            e->pred_len = entries[j - 1].value.sortable_len;
            ok = e->pred != NULL;
        }
        ok = ok && e->bucket && e->field && e->key && e->sortable;
    }
    if (ok && !exists && s->n_docs == s->cap_docs) {
        size_t cap = s->cap_docs ? 2 * s->cap_docs : 64;
        doc_t *grown = realloc(s->docs, cap * sizeof *grown);
        ok = grown != NULL;
        if (ok) {
            s->docs = grown;
            s->cap_docs = cap;
        }
    }
    /* room for the new entries, so the inserts below cannot fail */
    if (ok && s->n_entries + n_entries > s->cap_entries) {
        size_t cap = s->cap_entries ? s->cap_entries : 64;
        while (cap < s->n_entries + n_entries)
            cap *= 2;
        entry_t *grown = realloc(s->entries, cap * sizeof *grown);
        ok = grown != NULL;
        if (ok) {
            s->entries = grown;
            s->cap_entries = cap;
        }
    }
    doc_t d = {0};
    if (ok && !exists) {
        d.bucket = strdup(bucket);
        d.key = strdup(key);
        ok = d.bucket && d.key;
    }
    if (!ok) {
        free(copy);
        free(d.bucket);
        free(d.key);
        for (size_t j = 0; fresh && j < n_entries; j++)
            entry_free(&fresh[j]);
        free(fresh);
        return kvkit_backend_error(err, KVKIT_NOMEM, key, "save \"%s\": out of memory", key);
    }
    if (exists) {
        free(s->docs[i].value);
    } else {
        memmove(&s->docs[i + 1], &s->docs[i], (s->n_docs - i) * sizeof *s->docs);
        s->docs[i] = d;
        s->n_docs++;
    }
    s->docs[i].value = copy;
    s->docs[i].value_len = value_len;
    remove_entries(s, bucket, key);
    for (size_t j = 0; j < n_entries; j++)
        insert_entry(s, &fresh[j]);
    free(fresh);
    return KVKIT_OK;
}

KVKIT_BACKEND_DECLARE(delete);
int KVKIT_BACKEND_SYMBOL(kvkit_backend_delete)(void *handle, const char *bucket,
                                               const char *key, kvkit_error_t *err)
{
    store_t *s = handle;
    size_t i = doc_lower_bound(s, bucket, key);
    if (i == s->n_docs || doc_cmp(&s->docs[i], bucket, key) != 0)
        return KVKIT_OK; /* absent: nothing to do, not an error */
    free(s->docs[i].bucket);
    free(s->docs[i].key);
    free(s->docs[i].value);
    memmove(&s->docs[i], &s->docs[i + 1], (s->n_docs - i - 1) * sizeof *s->docs);
    s->n_docs--;
    remove_entries(s, bucket, key);
    return KVKIT_OK;
}

/*** scans ***/

KVKIT_BACKEND_DECLARE(index_lookup);
int KVKIT_BACKEND_SYMBOL(kvkit_backend_index_lookup)(
    void *handle, const char *bucket, const char *field, const kvkit_index_value_t *lo,
    const kvkit_index_value_t *hi, const kvkit_index_position_t *after,
    kvkit_backend_key_fn fn, void *ctx, kvkit_error_t *err)
{
    store_t *s = handle;
    for (size_t i = 0; i < s->n_entries; i++) {
        const entry_t *e = &s->entries[i];
        if (strcmp(e->bucket, bucket) != 0 || strcmp(e->field, field) != 0)
            continue;
        if (bytes_cmp(e->sortable, e->sortable_len, lo->sortable, lo->sortable_len) < 0)
            continue;
        if (bytes_cmp(e->sortable, e->sortable_len, hi->sortable, hi->sortable_len) > 0)
            break; /* sorted: nothing further can match */
        if (after != NULL) {
            int c = bytes_cmp(e->sortable, e->sortable_len, after->sortable, after->sortable_len);
            if (c < 0 || (c == 0 && bytes_cmp((const unsigned char *)e->key, strlen(e->key),
                                              (const unsigned char *)after->key,
                                              after->key_len) <= 0))
                continue;
        }
        /* reported already at its previous value if that one is in range too */
        if (e->pred != NULL &&
            bytes_cmp(e->pred, e->pred_len, lo->sortable, lo->sortable_len) >= 0)
            continue;
        if (fn(ctx, e->key, strlen(e->key), e->sortable, e->sortable_len))
            break;
    }
    return KVKIT_OK;
}

KVKIT_BACKEND_DECLARE(list_keys);
int KVKIT_BACKEND_SYMBOL(kvkit_backend_list_keys)(void *handle, const char *bucket,
                                                  const char *lo, const char *hi,
                                                  kvkit_backend_key_fn fn, void *ctx,
                                                  kvkit_error_t *err)
{
    store_t *s = handle;
    for (size_t i = doc_lower_bound(s, bucket, lo ? lo : ""); i < s->n_docs; i++) {
        const doc_t *d = &s->docs[i];
        if (strcmp(d->bucket, bucket) != 0 || (hi != NULL && strcmp(d->key, hi) > 0))
            break;
        if (fn(ctx, d->key, strlen(d->key), NULL, 0))
            break;
    }
    return KVKIT_OK;
}
