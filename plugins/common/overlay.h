/*
 * overlay.h - the manifests a write batch has written so far, so a batch
 * that touches one document twice reads its own writes (kvlayout.c's
 * write_batch).  Compiled into each plugin that uses kvlayout.c.
 *
 * Entries in insertion order plus an open-addressing hash index over them:
 * lookups stay O(1) however large the batch (a linear scan made batch
 * writes quadratic in the batch size).
 */
#ifndef KVKIT_OVERLAY_H
#define KVKIT_OVERLAY_H

#include <kvkit/backend.h>

#include <stdbool.h>

/* Zero-initialise before use; release with kvl_overlay_free. */
typedef struct kvl_overlay {
    struct {
        unsigned char *mkey;
        size_t mkey_len;
        unsigned char *manifest; /* NULL: deleted */
        size_t manifest_len;
    } *v;
    size_t n, cap;
    uint32_t *slots; /* index + 1 into v; 0 = empty */
    size_t n_slots;  /* a power of two, at least twice n */
} kvl_overlay_t;

/* The most documents one batch can hold (a test may lower it). */
#ifndef KVL_OVERLAY_MAX
#define KVL_OVERLAY_MAX (UINT32_MAX - 1)
#endif

void kvl_overlay_free(kvl_overlay_t *o);

/* Whether the batch wrote manifest key mkey[0..len); if so, *manifest is
 * what it wrote (borrowed until the next kvl_overlay_set; NULL: deleted). */
bool kvl_overlay_get(const kvl_overlay_t *o, const unsigned char *mkey, size_t len,
                     const unsigned char **manifest, size_t *manifest_len);

/* Record that the batch writes manifest[0..manifest_len) (NULL: deletes)
 * at mkey; both are copied.  KVKIT_OK, KVKIT_NOMEM, or KVKIT_TOO_LARGE
 * past KVL_OVERLAY_MAX documents; no message. */
int kvl_overlay_set(kvl_overlay_t *o, const unsigned char *mkey, size_t len,
                    const unsigned char *manifest, size_t manifest_len);

#endif /* KVKIT_OVERLAY_H */
