/* layoutcheck.c - see layoutcheck.h. */
#include "layoutcheck.h"

#include <kvkit/kvkit.h>
#include <leveldb/c.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "keyfilter.h"
#include "kvlayout.h"

/* The stored manifest filter's keys ('f'), as found by the scan. */
typedef struct fpage {
    unsigned level;
    size_t page;
    unsigned char *bytes;
    size_t len;
} fpage_t;

typedef struct fkeys {
    unsigned char *header;
    size_t header_len;
    fpage_t *pages;
    size_t n_pages;
} fkeys_t;

typedef struct entry {
    char *field;
    unsigned char *sortable;
    size_t sortable_len;
} entry_t;

typedef struct doc {
    char *bucket, *key;
    size_t key_len;
    entry_t *e;
    size_t n;
} doc_t;

typedef struct checker {
    leveldb_t *db;
    leveldb_readoptions_t *ro;
    char *msg;
    size_t msg_size;
    int failed;
} checker_t;

#if defined(__GNUC__)
__attribute__((format(printf, 2, 3)))
#endif
static int fail(checker_t *c, const char *fmt, ...)
{
    if (c->failed++)
        return 1;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->msg, c->msg_size, fmt, ap);
    va_end(ap);
    return 1;
}

static int entry_cmp(const void *va, const void *vb)
{
    const entry_t *a = va, *b = vb;
    int r = strcmp(a->field, b->field);
    if (r)
        return r;
    size_t n = a->sortable_len < b->sortable_len ? a->sortable_len : b->sortable_len;
    r = memcmp(a->sortable, b->sortable, n);
    return r ? r : (a->sortable_len > b->sortable_len) - (a->sortable_len < b->sortable_len);
}

static void add_entry(doc_t *d, const char *field, const json_t *v)
{
    unsigned char *s;
    size_t n;
    if (kvkit_index_encode(v, &s, &n, NULL) != KVKIT_OK)
        return;
    d->e = realloc(d->e, (d->n + 1) * sizeof *d->e);
    d->e[d->n++] = (entry_t){strdup(field), s, n};
}

/* The document's expected entries, sorted and distinct. */
static int doc_entries(checker_t *c, doc_t *d, const char *json, size_t len)
{
    json_t *root = json_loadb(json, len, 0, NULL);
    if (root == NULL)
        return fail(c, "document %s/%s is not JSON", d->bucket, d->key);
    json_t *idx = json_object_get(root, "idx");
    const char *field;
    json_t *v;
    json_object_foreach(idx, field, v) {
        if (json_is_array(v)) {
            size_t i;
            json_t *x;
            json_array_foreach(v, i, x) add_entry(d, field, x);
        } else {
            add_entry(d, field, v);
        }
    }
    json_decref(root);
    if (d->n > 1)
        qsort(d->e, d->n, sizeof *d->e, entry_cmp);
    size_t w = 0;
    for (size_t i = 0; i < d->n; i++) {
        if (w > 0 && entry_cmp(&d->e[w - 1], &d->e[i]) == 0) {
            free(d->e[i].field);
            free(d->e[i].sortable);
            continue;
        }
        d->e[w++] = d->e[i];
    }
    d->n = w;
    return 0;
}

static void put_lp(unsigned char **p, const void *s, size_t n)
{
    *(*p)++ = (unsigned char)n;
    memcpy(*p, s, n);
    *p += n;
}

static uint64_t be64(const unsigned char *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = v << 8 | p[i];
    return v;
}

/* Check one document's index entries and manifest; returns its revision. */
static uint64_t check_doc(checker_t *c, const doc_t *d)
{
    unsigned char k[4096], want[8192];
    unsigned char *mp = want;
    for (size_t i = 0; i < d->n; i++) {
        const entry_t *e = &d->e[i];
        unsigned char *p = k;
        *p++ = KVL_INDEX;
        put_lp(&p, d->bucket, strlen(d->bucket));
        put_lp(&p, e->field, strlen(e->field));
        memcpy(p, e->sortable, e->sortable_len);
        p += e->sortable_len;
        memcpy(p, d->key, d->key_len);
        p += d->key_len;
        char *err = NULL;
        size_t vlen;
        char *v = leveldb_get(c->db, c->ro, (char *)k, (size_t)(p - k), &vlen, &err);
        if (err || v == NULL) {
            fail(c, "document %s/%s lacks its index entry %s%s", d->bucket, d->key, e->field,
                 err ? err : "");
            free(err);
            return 0;
        }
        /* the predecessor: the previous value of the same field */
        const entry_t *pred = i > 0 && strcmp(d->e[i - 1].field, e->field) == 0 ? &d->e[i - 1]
                                                                                 : NULL;
        int ok = pred ? vlen == pred->sortable_len + 1 && v[0] == 1 &&
                            memcmp(v + 1, pred->sortable, pred->sortable_len) == 0
                      : vlen == 1 && v[0] == 0;
        free(v);
        if (!ok) {
            fail(c, "index entry %s of %s/%s has a wrong predecessor", e->field, d->bucket,
                 d->key);
            return 0;
        }
        put_lp(&mp, e->field, strlen(e->field));
        memcpy(mp, e->sortable, e->sortable_len);
        mp += e->sortable_len;
    }
    unsigned char *p = k;
    *p++ = KVL_MANIFEST;
    put_lp(&p, d->bucket, strlen(d->bucket));
    memcpy(p, d->key, d->key_len);
    p += d->key_len;
    char *err = NULL;
    size_t mlen;
    char *m = leveldb_get(c->db, c->ro, (char *)k, (size_t)(p - k), &mlen, &err);
    uint64_t rev = 0;
    if (err || m == NULL)
        fail(c, "document %s/%s has no manifest", d->bucket, d->key);
    else if (mlen != 8 + (size_t)(mp - want) || memcmp(m + 8, want, mlen - 8) != 0)
        fail(c, "manifest of %s/%s does not list its index entries", d->bucket, d->key);
    else if ((rev = be64((unsigned char *)m)) == 0)
        fail(c, "manifest of %s/%s has revision 0", d->bucket, d->key);
    free(err);
    free(m);
    return rev;
}

static int u64_cmp(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

static void note_filter_key(fkeys_t *fk, const unsigned char *k, size_t klen, const char *v,
                            size_t vlen)
{
    unsigned char *copy = malloc(vlen ? vlen : 1);
    memcpy(copy, v, vlen);
    if (klen == 1) {
        fk->header = copy;
        fk->header_len = vlen;
        return;
    }
    fk->pages = realloc(fk->pages, (fk->n_pages + 1) * sizeof *fk->pages);
    size_t page = ((size_t)k[2] << 24) | ((size_t)k[3] << 16) | ((size_t)k[4] << 8) | k[5];
    fk->pages[fk->n_pages++] = (fpage_t){k[1], page, copy, vlen};
}

/* A stored manifest filter whose ceiling is the store's ('r') must answer
 * "maybe" for every manifest (kvlfilter.h): rebuild it from its pages and
 * ask it about each document. */
static void check_filter(checker_t *c, const fkeys_t *fk, const doc_t *docs, size_t n,
                         uint64_t counter)
{
    if (fk->header == NULL) {
        if (fk->n_pages > 0)
            fail(c, "%zu manifest filter pages without a header", fk->n_pages);
        return;
    }
    const unsigned char *h = fk->header;
    if (fk->header_len < 13 || memcmp(h, "KVF\2", 4) != 0 ||
        fk->header_len != 13 + 8 * (size_t)h[12]) {
        fail(c, "manifest filter header of %zu bytes is malformed", fk->header_len);
        return;
    }
    if (be64(h + 4) != counter)
        return; /* stale: the plugin rebuilds it, nothing to hold it to */
    kvl_filter_t f = {0};
    for (size_t j = 0; j < h[12]; j++)
        kvl_filter_grow(&f);
    size_t found = 0;
    for (size_t i = 0; i < fk->n_pages; i++) {
        const fpage_t *p = &fk->pages[i];
        if (p->level >= f.n_levels || p->page >= kvl_filter_pages(&f, p->level) ||
            p->len != KVL_FILTER_PAGE) {
            fail(c, "manifest filter page %u/%zu does not fit the header", p->level, p->page);
            break;
        }
        memcpy(f.level[p->level].bits + p->page * KVL_FILTER_PAGE, p->bytes, KVL_FILTER_PAGE);
        found++;
    }
    size_t want = 0;
    for (size_t j = 0; j < f.n_levels; j++)
        want += kvl_filter_pages(&f, j);
    if (!c->failed && found != want)
        fail(c, "manifest filter has %zu pages, its header says %zu", found, want);
    for (size_t i = 0; i < n && !c->failed; i++) {
        size_t blen = strlen(docs[i].bucket);
        unsigned char *mk = malloc(2 + blen + docs[i].key_len);
        mk[0] = KVL_MANIFEST;
        mk[1] = (unsigned char)blen;
        memcpy(mk + 2, docs[i].bucket, blen);
        memcpy(mk + 2 + blen, docs[i].key, docs[i].key_len);
        if (!kvl_filter_maybe(&f, kvl_filter_hash(mk, 2 + blen + docs[i].key_len)))
            fail(c, "the stored manifest filter says %s/%s has no manifest", docs[i].bucket,
                 docs[i].key);
        free(mk);
    }
    kvl_filter_free(&f);
}

static void free_all(fkeys_t *fk, doc_t *docs, size_t n)
{
    for (size_t i = 0; i < fk->n_pages; i++)
        free(fk->pages[i].bytes);
    free(fk->pages);
    free(fk->header);
    for (size_t i = 0; i < n; i++) {
        for (size_t j = 0; j < docs[i].n; j++) {
            free(docs[i].e[j].field);
            free(docs[i].e[j].sortable);
        }
        free(docs[i].e);
        free(docs[i].bucket);
        free(docs[i].key);
    }
    free(docs);
}

int layout_check(const char *path, size_t *n_docs, char *msg, size_t msg_size)
{
    checker_t c = {.msg = msg, .msg_size = msg_size};
    msg[0] = '\0';
    char *err = NULL;
    leveldb_options_t *o = leveldb_options_create();
    c.db = leveldb_open(o, path, &err);
    leveldb_options_destroy(o);
    if (err) {
        fail(&c, "open %s: %s", path, err);
        free(err);
        return 1;
    }
    c.ro = leveldb_readoptions_create();
    leveldb_readoptions_set_verify_checksums(c.ro, 1);
    doc_t *docs = NULL;
    size_t n = 0, n_index = 0, n_manifest = 0, want_index = 0;
    uint64_t counter = 0;
    fkeys_t fk = {0};
    leveldb_iterator_t *it = leveldb_create_iterator(c.db, c.ro);
    for (leveldb_iter_seek_to_first(it); leveldb_iter_valid(it); leveldb_iter_next(it)) {
        size_t klen, vlen;
        const unsigned char *k = (const unsigned char *)leveldb_iter_key(it, &klen);
        const char *v = leveldb_iter_value(it, &vlen);
        if (klen == 1 && k[0] == KVL_REVISION) {
            if (vlen != 8)
                fail(&c, "revision counter has %zu bytes", vlen);
            else
                counter = be64((const unsigned char *)v);
            continue;
        }
        kvl_key_t d;
        if (kvl_key_decode(k, klen, &d) != KVKIT_OK) {
            fail(&c, "undecodable key of %zu bytes (type '%c')", klen, k[0]);
            continue;
        }
        if (d.type == KVL_FILTER) {
            note_filter_key(&fk, k, klen, v, vlen);
        } else if (d.type == KVL_INDEX) {
            n_index++;
        } else if (d.type == KVL_MANIFEST) {
            n_manifest++;
        } else {
            docs = realloc(docs, (n + 1) * sizeof *docs);
            doc_t *doc = &docs[n++];
            *doc = (doc_t){strndup(d.bucket, d.bucket_len), strndup(d.key, d.key_len),
                           d.key_len, NULL, 0};
            doc_entries(&c, doc, v, vlen);
            want_index += doc->n;
        }
    }
    leveldb_iter_get_error(it, &err);
    if (err) {
        fail(&c, "scan: %s", err);
        free(err);
    }
    leveldb_iter_destroy(it);
    uint64_t *revs = calloc(n + 1, sizeof *revs);
    for (size_t i = 0; i < n && !c.failed; i++)
        revs[i] = check_doc(&c, &docs[i]);
    /* every expected key exists, so equal counts mean no stray ones */
    if (!c.failed && n_index != want_index)
        fail(&c, "%zu index entries stored, the documents have %zu", n_index, want_index);
    if (!c.failed && n_manifest != n)
        fail(&c, "%zu manifests stored for %zu documents", n_manifest, n);
    if (!c.failed && n > 0) {
        qsort(revs, n, sizeof *revs, u64_cmp);
        for (size_t i = 0; i < n && !c.failed; i++) {
            if (i > 0 && revs[i] == revs[i - 1])
                fail(&c, "revision %llu used twice", (unsigned long long)revs[i]);
            if (revs[i] > counter)
                fail(&c, "revision %llu above the counter %llu", (unsigned long long)revs[i],
                     (unsigned long long)counter);
        }
    }
    free(revs);
    if (!c.failed)
        check_filter(&c, &fk, docs, n, counter);
    free_all(&fk, docs, n);
    leveldb_readoptions_destroy(c.ro);
    leveldb_close(c.db);
    *n_docs = n;
    return c.failed;
}
