/* manifest.c - see manifest.h for the manifest and the predecessor rule. */
#include "manifest.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

int kvl_manifest_parse(const unsigned char *m, size_t mlen, size_t head_len,
                       kvl_mentry_t **out, size_t *n)
{
    size_t cap = 0, count = 0, pos = head_len;
    kvl_mentry_t *v = NULL;
    *out = NULL;
    *n = 0;
    if (mlen < head_len)
        return KVKIT_CORRUPT;
    while (pos < mlen) {
        size_t flen = m[pos++];
        if (flen == 0 || pos + flen > mlen)
            goto corrupt;
        size_t slen = kvkit_sortable_length(m + pos + flen, mlen - pos - flen);
        if (slen == 0)
            goto corrupt;
        if (count == cap) {
            cap = cap ? 2 * cap : 8;
            kvl_mentry_t *g = realloc(v, cap * sizeof *g);
            if (g == NULL) {
                free(v);
                return KVKIT_NOMEM;
            }
            v = g;
        }
        v[count++] = (kvl_mentry_t){(const char *)m + pos, flen, m + pos + flen, slen};
        pos += flen + slen;
    }
    *out = v;
    *n = count;
    return KVKIT_OK;
corrupt:
    free(v);
    return KVKIT_CORRUPT;
}

int kvl_mentry_cmp(const kvl_mentry_t *a, const kvl_mentry_t *b)
{
    int c = kvkit_sortable_cmp((const unsigned char *)a->field, a->field_len,
                               (const unsigned char *)b->field, b->field_len);
    return c ? c : kvkit_sortable_cmp(a->sortable, a->sortable_len, b->sortable, b->sortable_len);
}

const unsigned char *kvl_manifest_build_buf(kvl_buf_t *b, const void *head, size_t head_len,
                                            const kvkit_index_entry_t *entries, size_t n)
{
    size_t size = head_len;
    for (size_t i = 0; i < n; i++)
        size += 1 + strlen(entries[i].field) + entries[i].value.sortable_len;
    b->len = 0;
    b->failed = false;
    if (!kvl_buf_reserve(b, size))
        return NULL;
    unsigned char *p = b->p;
    memcpy(p, head, head_len);
    p += head_len;
    for (size_t i = 0; i < n; i++) {
        size_t flen = strlen(entries[i].field); /* <= KVKIT_FIELD_MAX: one byte */
        *p++ = (unsigned char)flen;
        memcpy(p, entries[i].field, flen);
        p += flen;
        memcpy(p, entries[i].value.sortable, entries[i].value.sortable_len);
        p += entries[i].value.sortable_len;
    }
    b->len = size;
    return b->p;
}

unsigned char *kvl_manifest_build(const void *head, size_t head_len,
                                  const kvkit_index_entry_t *entries, size_t n, size_t *len)
{
    kvl_buf_t b = {0};
    if (kvl_manifest_build_buf(&b, head, head_len, entries, n) == NULL) {
        kvl_buf_free(&b);
        return NULL;
    }
    *len = b.len;
    return b.p;
}

static kvl_mentry_t mentry_of(const kvkit_index_entry_t *e)
{
    return (kvl_mentry_t){e->field, strlen(e->field), e->value.sortable, e->value.sortable_len};
}

/* The predecessor of v[i]: the previous entry of the same field, if any. */
static const kvl_mentry_t *pred_of(const kvl_mentry_t *v, size_t i)
{
    if (i == 0 || v[i - 1].field_len != v[i].field_len ||
        memcmp(v[i - 1].field, v[i].field, v[i].field_len) != 0)
        return NULL;
    return &v[i - 1];
}

static bool same_pred(const kvl_mentry_t *a, const kvl_mentry_t *b)
{
    if (a == NULL || b == NULL)
        return a == b;
    return kvkit_sortable_cmp(a->sortable, a->sortable_len, b->sortable, b->sortable_len) == 0;
}

/* Write e's index key with its predecessor value, built in scratch. */
static int emit_put(const kvl_mentry_t *e, const kvl_mentry_t *pred, unsigned char *scratch,
                    kvl_manifest_emit_fn emit, void *ctx)
{
    scratch[0] = (unsigned char)(pred != NULL);
    if (pred != NULL)
        memcpy(scratch + 1, pred->sortable, pred->sortable_len);
    return emit(ctx, e, scratch, pred != NULL ? 1 + pred->sortable_len : 1);
}

int kvl_manifest_diff(const kvl_mentry_t *old, size_t n_old,
                      const kvkit_index_entry_t *entries, size_t n,
                      kvl_manifest_emit_fn emit, void *ctx)
{
    /* the largest predecessor value: 0x01 and the longest sortable */
    unsigned char small[64], *scratch = small;
    size_t longest = 0;
    for (size_t j = 0; j < n; j++)
        if (entries[j].value.sortable_len > longest)
            longest = entries[j].value.sortable_len;
    if (1 + longest > sizeof small && (scratch = malloc(1 + longest)) == NULL)
        return KVKIT_NOMEM;

    /* merge walk of the two sorted lists */
    kvl_mentry_t cur = {0}, prev = {0};
    int rc = KVKIT_OK;
    size_t i = 0, j = 0;
    while (rc == KVKIT_OK && (i < n_old || j < n)) {
        if (j < n)
            cur = mentry_of(&entries[j]);
        int c = i == n_old ? 1 : j == n ? -1 : kvl_mentry_cmp(&old[i], &cur);
        if (c < 0) { /* gone */
            rc = emit(ctx, &old[i++], NULL, 0);
            continue;
        }
        bool same_field = j > 0 && prev.field_len == cur.field_len &&
                          memcmp(prev.field, cur.field, cur.field_len) == 0;
        const kvl_mentry_t *np = same_field ? &prev : NULL;
        if (c > 0 || !same_pred(pred_of(old, i), np)) /* new, or its predecessor changed */
            rc = emit_put(&cur, np, scratch, emit, ctx);
        if (c == 0)
            i++;
        prev = cur;
        j++;
    }
    if (scratch != small)
        free(scratch);
    return rc;
}
