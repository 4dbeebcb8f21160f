/*
 * index.c - index values: the order-preserving ("sortable") encoding and
 * the per-document set of index entries.
 *
 * The encoding itself (memcmp order == value order, prefix-free; numbers
 * before strings) is written by the encoders in <kvkit/backend.h>, which the
 * plugins share; this file feeds them JSON values and decodes their bytes.
 */
#include "kvkit_private.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/*** encoding (the encoders are backend.h's, shared with the plugins) ***/

static uint64_t get_be64(const unsigned char *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = (v << 8) | p[i];
    return v;
}

size_t kvkit__sortable_size(const json_t *v)
{
    if (json_is_string(v))
        return KVKIT_SORTABLE_STRING_MAX(json_string_length(v));
    return KVKIT_SORTABLE_NUMBER_LEN;
}

int kvkit__index_value(const json_t *v, unsigned char *buf,
                       kvkit_index_value_t *out, const char *field,
                       kvkit_error_t *err)
{
    memset(out, 0, sizeof *out);
    out->sortable = buf;
    switch (json_typeof(v)) {
    case JSON_INTEGER:
        out->kind = KVKIT_INDEX_INTEGER;
        out->integer = json_integer_value(v);
        out->sortable_len = kvkit_sortable_integer(buf, out->integer);
        return KVKIT_OK;
    case JSON_REAL:
        out->kind = KVKIT_INDEX_REAL;
        out->real = json_real_value(v);
        if (!isfinite(out->real))
            return kvkit__error(err, KVKIT_INVALID, field,
                                "index value for \"%s\" is not a finite number", field);
        out->sortable_len = kvkit_sortable_real(buf, out->real);
        return KVKIT_OK;
    case JSON_STRING:
        out->kind = KVKIT_INDEX_STRING;
        out->string = json_string_value(v);
        out->string_len = json_string_length(v);
        out->sortable_len = kvkit_sortable_string(buf, out->string, out->string_len);
        return KVKIT_OK;
    default:
        return kvkit__error(err, KVKIT_INVALID, field,
                            "index value for \"%s\" must be a number or a string, not %s",
                            field,
                            json_is_object(v) ? "an object" : json_is_array(v) ? "an array"
                            : json_is_boolean(v) ? "a boolean" : "null");
    }
}

int kvkit_index_encode(const json_t *value, unsigned char **out, size_t *out_len,
                       kvkit_error_t *err)
{
    if (value == NULL || out == NULL || out_len == NULL)
        return kvkit__error(err, KVKIT_INVALID, "", "kvkit_index_encode: NULL argument");
    unsigned char *buf = malloc(kvkit__sortable_size(value));
    if (buf == NULL)
        return kvkit__error(err, KVKIT_NOMEM, "", "out of memory encoding index value");
    kvkit_index_value_t iv;
    int rc = kvkit__index_value(value, buf, &iv, "value", err);
    if (rc != KVKIT_OK) {
        free(buf);
        return rc;
    }
    *out = buf;
    *out_len = iv.sortable_len;
    return KVKIT_OK;
}

int kvkit_index_decode(const unsigned char *in, size_t len, json_t **out,
                       kvkit_error_t *err)
{
    if (in == NULL || out == NULL)
        return kvkit__error(err, KVKIT_INVALID, "", "kvkit_index_decode: NULL argument");
    if (len == 0 || kvkit_sortable_length(in, len) != len)
        return kvkit__error(err, KVKIT_CORRUPT, "", "malformed sortable index value (%zu bytes)", len);
    if (in[0] == KVKIT_SORTABLE_NUMBER) {
        uint64_t bits = get_be64(in + 1);
        bits = (bits >> 63) ? bits & ~(1ULL << 63) : ~bits;
        double d;
        memcpy(&d, &bits, sizeof d);
        int64_t c = (int64_t)(get_be64(in + 9) ^ (1ULL << 63));
        if (isnan(d))
            return kvkit__error(err, KVKIT_CORRUPT, "", "malformed sortable index value: NaN");
        if (d == floor(d) && d >= -9223372036854775808.0 && d <= 9223372036854775808.0) {
            __int128 i = (__int128)d + c;
            if (i >= INT64_MIN && i <= INT64_MAX && (c != 0 || d < 9223372036854775808.0)) {
                *out = json_integer((json_int_t)i);
                goto done;
            }
        }
        if (c != 0)
            return kvkit__error(err, KVKIT_CORRUPT, "", "malformed sortable index value: correction on a non-integer");
        *out = json_real(d);
    } else {
        char *s = malloc(len);
        size_t n = 0;
        if (s == NULL)
            return kvkit__error(err, KVKIT_NOMEM, "", "out of memory decoding index value");
        for (size_t i = 1; i + 2 < len; i++) {
            s[n++] = (char)in[i];
            if (in[i] == 0x00)
                i++;
        }
        *out = json_stringn_nocheck(s, n);
        free(s);
    }
done:
    if (*out == NULL)
        return kvkit__error(err, KVKIT_NOMEM, "", "out of memory decoding index value");
    return KVKIT_OK;
}

/*** index sets ***/

/* Entries point into memory owned by the set: chunks carved by bump
 * allocation (one malloc per few KiB, not per call), kept across clears.
 * Entries are sorted and deduplicated once, when they are handed out
 * (kvkit__index_set_entries), not on every add. */
#define CHUNK_SIZE 2048

struct kvkit_index_set {
    kvkit_index_entry_t *entries;
    size_t n, cap;
    bool sorted;   /* entries are sorted and unique */
    void **blocks; /* every chunk; the last one is being carved */
    size_t n_blocks, cap_blocks;
    unsigned char *chunk; /* free space of the last chunk */
    size_t chunk_left;
    bool chunk_std;       /* the last block is a standard CHUNK_SIZE chunk */
};

kvkit_index_set_t *kvkit_index_set_create(void)
{
    kvkit_index_set_t *set = kvkit__calloc(1, sizeof(kvkit_index_set_t));
    if (set != NULL)
        set->sorted = true;
    return set;
}

void kvkit_index_set_clear(kvkit_index_set_t *set)
{
    if (set == NULL)
        return;
    /* keep the chunk being carved when it is a standard one: a set reused
     * per document then allocates nothing */
    bool keep = set->n_blocks > 0 && set->chunk_std;
    size_t last = keep ? set->n_blocks - 1 : set->n_blocks;
    for (size_t i = 0; i < last; i++)
        kvkit__free(set->blocks[i]);
    if (keep) {
        set->blocks[0] = set->blocks[last];
        set->chunk = set->blocks[0];
        set->chunk_left = CHUNK_SIZE;
        set->n_blocks = 1;
    } else {
        set->n_blocks = 0;
        set->chunk = NULL;
        set->chunk_left = 0;
    }
    set->n = 0;
    set->sorted = true;
}

void kvkit_index_set_destroy(kvkit_index_set_t *set)
{
    if (set == NULL)
        return;
    for (size_t i = 0; i < set->n_blocks; i++)
        kvkit__free(set->blocks[i]);
    kvkit__free(set->blocks);
    kvkit__free(set->entries);
    kvkit__free(set);
}

size_t kvkit_index_set_size(const kvkit_index_set_t *set)
{
    size_t n = 0;
    kvkit__index_set_entries(set, &n); /* duplicates count once */
    return n;
}

/* bytes from the set's chunks (NULL when out of memory) */
static unsigned char *set_alloc(kvkit_index_set_t *set, size_t bytes)
{
    if (bytes > set->chunk_left) {
        if (set->n_blocks == set->cap_blocks) {
            size_t cap = set->cap_blocks ? 2 * set->cap_blocks : 4;
            void **grown = kvkit__realloc(set->blocks, cap * sizeof *grown);
            if (grown == NULL)
                return NULL;
            set->blocks = grown;
            set->cap_blocks = cap;
        }
        /* a large request gets a block of its own; the chunk being carved
         * stays the last one only when the new block is a standard chunk */
        size_t size = bytes > CHUNK_SIZE ? bytes : CHUNK_SIZE;
        unsigned char *block = kvkit__malloc(size);
        if (block == NULL)
            return NULL;
        if (size > CHUNK_SIZE && set->n_blocks > 0) {
            /* insert before the chunk being carved */
            set->blocks[set->n_blocks] = set->blocks[set->n_blocks - 1];
            set->blocks[set->n_blocks - 1] = block;
            set->n_blocks++;
            return block;
        }
        set->blocks[set->n_blocks++] = block;
        set->chunk = block;
        set->chunk_left = size;
        set->chunk_std = size == CHUNK_SIZE;
    }
    unsigned char *p = set->chunk;
    set->chunk += bytes;
    set->chunk_left -= bytes;
    return p;
}

static int entry_cmp(const void *a, const void *b)
{
    const kvkit_index_entry_t *x = a, *y = b;
    int c = strcmp(x->field, y->field);
    return c ? c
             : kvkit_sortable_cmp(x->value.sortable, x->value.sortable_len, y->value.sortable,
                                  y->value.sortable_len);
}

/* Up to this many entries (a document's usual handful) are sorted in
 * place by insertion: qsort may allocate a buffer and calls through a
 * pointer per comparison. */
#define INSERTION_SORT_MAX 16

/* Stable, as glibc's qsort (a merge sort) is for sets this small: of equal
 * entries, the first added is the one kept. */
static void insertion_sort(kvkit_index_entry_t *e, size_t n)
{
    for (size_t i = 1; i < n; i++) {
        kvkit_index_entry_t x = e[i];
        size_t j = i;
        for (; j > 0 && entry_cmp(&e[j - 1], &x) > 0; j--)
            e[j] = e[j - 1];
        e[j] = x;
    }
}

/* Sort and drop duplicates, keeping the contract of kvkit_index_entry_t. */
static void normalize(kvkit_index_set_t *set)
{
    if (set->n > 1) {
        if (set->n <= INSERTION_SORT_MAX)
            insertion_sort(set->entries, set->n);
        else
            qsort(set->entries, set->n, sizeof *set->entries, entry_cmp);
        size_t w = 1;
        for (size_t r = 1; r < set->n; r++)
            if (entry_cmp(&set->entries[w - 1], &set->entries[r]) != 0)
                set->entries[w++] = set->entries[r];
        set->n = w;
    }
    set->sorted = true;
}

static int reserve(kvkit_index_set_t *set, size_t more)
{
    if (set->n + more > set->cap) {
        size_t cap = set->cap ? 2 * set->cap : 8;
        while (cap < set->n + more)
            cap *= 2;
        kvkit_index_entry_t *grown = kvkit__realloc(set->entries, cap * sizeof *grown);
        if (grown == NULL)
            return KVKIT_NOMEM;
        set->entries = grown;
        set->cap = cap;
    }
    return KVKIT_OK;
}

int kvkit_index_set_add(kvkit_index_set_t *set, const char *field,
                        const json_t *value, kvkit_error_t *err)
{
    if (set == NULL || field == NULL || value == NULL)
        return kvkit__error(err, KVKIT_INVALID, field ? field : "",
                            "kvkit_index_set_add: NULL argument");
    size_t flen = strlen(field);
    if (flen == 0 || flen > KVKIT_FIELD_MAX || field[0] == '$')
        return kvkit__error(err, KVKIT_INVALID, field,
                            "invalid index field name \"%s\": 1 to %d bytes, not starting with '$'",
                            field, KVKIT_FIELD_MAX);
    /* backend.h promises plugins UTF-8 field names; this is where they enter */
    if (!kvkit__utf8_valid((const unsigned char *)field, flen))
        return kvkit__error(err, KVKIT_INVALID, field, "index field name \"%s\" is not valid UTF-8",
                            field);
    bool list = json_is_array(value);
    size_t count = list ? json_array_size(value) : 1;
    /* one block per call: the field name, then per value its sortable bytes
     * and, for strings, a NUL-terminated copy of the typed value */
    size_t bytes = flen + 1;
    for (size_t i = 0; i < count; i++) {
        const json_t *v = list ? json_array_get(value, i) : value;
        if (list && json_is_null(v))
            continue;
        if (!json_is_number(v) && !json_is_string(v))
            return kvkit__error(err, KVKIT_INVALID, field,
                                "index value for \"%s\"%s must be a number or a string",
                                field, list ? " (list element)" : "");
        bytes += kvkit__sortable_size(v);
        if (json_is_string(v))
            bytes += json_string_length(v) + 1;
    }
    unsigned char *block;
    if (reserve(set, count) != KVKIT_OK || (block = set_alloc(set, bytes)) == NULL)
        return kvkit__error(err, KVKIT_NOMEM, field, "out of memory adding index entries for \"%s\"", field);
    memcpy(block, field, flen + 1);
    unsigned char *p = block + flen + 1;
    size_t first = set->n;
    for (size_t i = 0; i < count; i++) {
        const json_t *v = list ? json_array_get(value, i) : value;
        if (json_is_null(v))
            continue;
        kvkit_index_entry_t *e = &set->entries[set->n];
        int rc = kvkit__index_value(v, p, &e->value, field, err);
        if (rc != KVKIT_OK) {
            set->n = first; /* the bytes stay with the set until clear */
            return rc;
        }
        e->field = (const char *)block;
        p += e->value.sortable_len;
        if (e->value.kind == KVKIT_INDEX_STRING) { /* own the typed bytes too */
            memcpy(p, e->value.string, e->value.string_len);
            p[e->value.string_len] = '\0';
            e->value.string = (const char *)p;
            p += e->value.string_len + 1;
        }
        set->n++;
    }
    if (set->n > 1)
        set->sorted = false;
    return KVKIT_OK;
}

const kvkit_index_entry_t *kvkit__index_set_entries(const kvkit_index_set_t *set,
                                                    size_t *n)
{
    if (set == NULL) {
        *n = 0;
        return NULL;
    }
    /* sorting on first use is a cache fill: the set is logically unchanged,
     * and sets belong to one thread at a time */
    if (!set->sorted)
        normalize((kvkit_index_set_t *)set);
    *n = set->n;
    return set->entries;
}
