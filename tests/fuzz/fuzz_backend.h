/* fuzz_backend.h - a tiny in-process backend ("fzmem") for the document
 * targets: a list of (bucket, key, value), no index support beyond
 * accepting entries.  fzmem_reset() empties it between inputs. */
#ifndef KVKIT_FUZZ_BACKEND_H
#define KVKIT_FUZZ_BACKEND_H

#include <kvkit/kvkit.h>
#include <stdlib.h>
#include <string.h>

typedef struct fzrec {
    char *bucket, *key, *value;
    size_t value_len;
    struct fzrec *next;
} fzrec_t;

static fzrec_t *fz_recs;

static fzrec_t **fz_find(const char *bucket, const char *key)
{
    fzrec_t **pp = &fz_recs;
    for (; *pp; pp = &(*pp)->next)
        if (strcmp((*pp)->bucket, bucket) == 0 && strcmp((*pp)->key, key) == 0)
            break;
    return pp;
}

static void fzmem_put(const char *bucket, const char *key, const char *v, size_t n)
{
    fzrec_t **pp = fz_find(bucket, key);
    if (*pp == NULL) {
        *pp = calloc(1, sizeof **pp);
        (*pp)->bucket = strdup(bucket);
        (*pp)->key = strdup(key);
    }
    free((*pp)->value);
    (*pp)->value = malloc(n + 1);
    memcpy((*pp)->value, v, n);
    (*pp)->value[n] = '\0';
    (*pp)->value_len = n;
}

static void fzmem_reset(void)
{
    while (fz_recs) {
        fzrec_t *r = fz_recs;
        fz_recs = r->next;
        free(r->bucket);
        free(r->key);
        free(r->value);
        free(r);
    }
}

static int fzm_open(const char *loc, const kvkit_backend_option_t *o, size_t n, void **h,
                    kvkit_error_t *err)
{
    (void)loc, (void)o, (void)n, (void)err;
    *h = &fz_recs;
    return KVKIT_OK;
}
static void fzm_close(void *h) { (void)h; }
static int fzm_get(void *h, const char *b, const char *k, char **v, size_t *vl,
                   kvkit_error_t *err)
{
    (void)h, (void)err;
    fzrec_t *r = *fz_find(b, k);
    if (r == NULL)
        return KVKIT_NOTFOUND;
    *v = malloc(r->value_len + 1);
    memcpy(*v, r->value, r->value_len + 1);
    *vl = r->value_len;
    return KVKIT_OK;
}
static int fzm_save(void *h, const char *b, const char *k, const char *v, size_t vl,
                    const kvkit_index_entry_t *e, size_t n, kvkit_error_t *err)
{
    (void)h, (void)e, (void)n, (void)err;
    fzmem_put(b, k, v, vl);
    return KVKIT_OK;
}
static int fzm_del(void *h, const char *b, const char *k, kvkit_error_t *err)
{
    (void)h, (void)err;
    fzrec_t **pp = fz_find(b, k), *r = *pp;
    if (r) {
        *pp = r->next;
        free(r->bucket);
        free(r->key);
        free(r->value);
        free(r);
    }
    return KVKIT_OK;
}
static const kvkit_backend_descriptor_t fzm_desc = {
    KVKIT_BACKEND_ABI_MAJOR, KVKIT_BACKEND_ABI_MINOR, sizeof(kvkit_backend_descriptor_t),
    0, "fzmem", "1", "fuzz in-process store", {0}};
static const kvkit_backend_ops_t fzm_ops = {
    .descriptor = &fzm_desc, .open = fzm_open, .close = fzm_close, .get = fzm_get,
    .save = fzm_save, .del = fzm_del};

#endif
