/*
 * manifest.h - a document's index manifest, and the diff that turns a
 * stored manifest and a save's new entries into index writes.  Shared by
 * the ordered-keyspace layout (kvlayout.c: memory, LevelDB) and etcd;
 * compiled into each plugin that uses it; pure (no engine, no I/O).
 *
 * A manifest is a header of the caller's (kvlayout: the revision; etcd:
 * 'M', 1 and the write id), then the document's index entries, each
 * [flen][field][sortable], in (field, sortable) order without duplicates:
 * what libkvkit passes to save.  The sortable encoding is prefix-free, so
 * an entry splits without a separator.
 *
 * Each index key of a document is stored with its predecessor: 0x00, or
 * 0x01 followed by the sortable bytes of the previous (smaller) value of
 * the same field of the same document.  A range scan uses it to return a
 * document once, at its first value in range.
 */
#ifndef KVKIT_MANIFEST_H
#define KVKIT_MANIFEST_H

#include <kvkit/backend.h>

#include "bytes.h"

/* One entry of a manifest; the pointers point into the manifest (or into
 * the kvkit_index_entry_t it was made from). */
typedef struct kvl_mentry {
    const char *field; /* not NUL-terminated */
    size_t field_len;
    const unsigned char *sortable;
    size_t sortable_len;
} kvl_mentry_t;

/* Parse the entries of manifest m[0..mlen) that follow its head_len-byte
 * header into a malloc'd array (*out, NULL when there are none; the caller
 * frees it) pointing into m.  KVKIT_OK, KVKIT_CORRUPT on bad bytes (a
 * manifest shorter than its header included) or KVKIT_NOMEM; no message. */
int kvl_manifest_parse(const unsigned char *m, size_t mlen, size_t head_len,
                       kvl_mentry_t **out, size_t *n);

/* Order of entries: by field bytes, then by sortable bytes. */
int kvl_mentry_cmp(const kvl_mentry_t *a, const kvl_mentry_t *b);

/* A malloc'd manifest: head[0..head_len) then entries[0..n) (sorted, as
 * libkvkit passes them); *len its length.  NULL when out of memory. */
unsigned char *kvl_manifest_build(const void *head, size_t head_len,
                                  const kvkit_index_entry_t *entries, size_t n, size_t *len);
/* The same, built into b (emptied first; its bytes are the manifest, b->len
 * its length): a writer's buffer, so a save allocates nothing.  NULL when
 * out of memory. */
const unsigned char *kvl_manifest_build_buf(kvl_buf_t *b, const void *head, size_t head_len,
                                            const kvkit_index_entry_t *entries, size_t n);

/* Called by the diff for each index key of the document that must change.
 * value != NULL: write e's index key with this predecessor value (borrowed
 * for the call); value == NULL: delete e's index key.  Return KVKIT_OK to
 * go on; any other status stops the diff, which returns it. */
typedef int (*kvl_manifest_emit_fn)(void *ctx, const kvl_mentry_t *e,
                                    const unsigned char *value, size_t value_len);

/* Walk the stored entries old[0..n_old) (parsed manifest, sorted) against
 * the new ones entries[0..n) (sorted) and emit what changes: the keys of
 * values that are gone are deleted, keys of new values and of values whose
 * predecessor changed are written, the rest is left alone.  Returns
 * KVKIT_OK, the first status an emit returned, or KVKIT_NOMEM (no message:
 * the caller names its backend). */
int kvl_manifest_diff(const kvl_mentry_t *old, size_t n_old,
                      const kvkit_index_entry_t *entries, size_t n,
                      kvl_manifest_emit_fn emit, void *ctx);

#endif /* KVKIT_MANIFEST_H */
