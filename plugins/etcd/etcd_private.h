/*
 * etcd_private.h - shared by the etcd backend's files: etcd.c (the
 * operations and scans), layout.c (keys, manifests, the manifest cache,
 * request pieces) and write.c (one txn per write, retries, settling).
 */
#ifndef KVKIT_ETCD_PRIVATE_H
#define KVKIT_ETCD_PRIVATE_H

#include <kvkit/backend.h>

#include <jansson.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "../common/bytes.h"
#include "client.h"

#define PAGE 500     /* keys per range request when scanning */
#define NONCE_LEN 16 /* write id in a manifest */
#define MANIFEST_HEAD (2 + NONCE_LEN)
#define HISTORY_STEPS 16 /* how far back settling walks a manifest's history */

/* A small direct-mapped cache of manifests this handle saw last, so a
 * re-save can skip reading the manifest first.  Only a hint: the txn still
 * compares the manifest's mod_revision, and a stale entry costs one failed
 * txn whose failure branch returns the current manifest. */
#define CACHE_SLOTS 4096

typedef struct centry {
    unsigned char *mkey; /* NULL: empty slot */
    size_t mkey_len;
    bool present;
    int64_t mod_revision;
    unsigned char *manifest;
    size_t manifest_len;
} centry_t;

typedef struct etcd {
    ec_client_t c;
    char *prefix;
    size_t prefix_len;
    pthread_mutex_t cache_lock;
    centry_t *cache; /* CACHE_SLOTS */
    /* What this handle's uncached saves found lately: up on a key without a
     * manifest, down on one with (saturating; read and written atomically).
     * At >= 0 a save sends its txn assuming no manifest (see write.c). */
    int new_keys;
} etcd_t;

typedef kvl_buf_t buf_t; /* ../common/bytes.h */
int et_nomem(kvkit_error_t *err, const char *subject);

/* P 'T' lp(bucket) key, and P 'i' lp(bucket) lp(field) [sortable [key]] */
void et_key_doclike(buf_t *b, const etcd_t *e, char type, const char *bucket, const char *key,
                    size_t key_len);
void et_key_index(buf_t *b, const etcd_t *e, const char *bucket, const char *field,
                  size_t field_len, const unsigned char *sortable, size_t sortable_len,
                  const char *key, size_t key_len);
/* Turn b into etcd's range_end for "every key starting with b". */
void et_prefix_end(buf_t *b);

json_t *et_req_key(const buf_t *k);
json_t *et_rev_string(int64_t rev);

/* One stored key-value as the gateway returns it. */
typedef struct kv {
    bool present;
    unsigned char *value; /* malloc'd, NUL-terminated */
    size_t value_len;
    int64_t mod_revision;
    int64_t create_revision; /* of the key's current lifetime */
} kv_t;

int et_kv_from_json(const json_t *kvs, kv_t *out, const char *subject, kvkit_error_t *err);
/* Point read of k: revision > 0: at that revision; 0: linearizable, the
 * latest; ET_LOCAL: what the member has applied (serializable: no round to
 * the leader, possibly stale - for hints the txn compare double-checks). */
#define ET_LOCAL (-1)
int et_range_one(etcd_t *e, const buf_t *k, int64_t revision, kv_t *out, const char *subject,
                 kvkit_error_t *err);

bool et_cache_get(etcd_t *e, const buf_t *k, kv_t *out);
void et_cache_put(etcd_t *e, const buf_t *k, const kv_t *kv);
void et_centry_clear(centry_t *c);

bool et_has_nonce(const kv_t *m, const unsigned char *nonce);
void et_nonce_new(unsigned char *nonce);

typedef struct wr {
    const char *bucket;
    const char *key;
    size_t key_len;
    const char *value; /* NULL: delete */
    size_t value_len;
    const kvkit_index_entry_t *entries;
    size_t n_entries;
    /* what the engine holds now, as last read (or guessed: absent) */
    kv_t manifest;
    buf_t mkey;
    buf_t new_manifest; /* what the txn being built writes */
    bool guessed;       /* manifest not read but assumed absent: unconfirmed */
} wr_t;

void et_wr_free(wr_t *w);
int et_op_range(json_t *ops, const buf_t *k, bool keys_only);
int et_compare_mod(json_t *cmp, const buf_t *k, int64_t rev);
/* Append w's operations (index keys lost and gained, document, manifest). */
int et_wr_ops(const etcd_t *e, wr_t *w, const unsigned char *nonce, json_t *ops,
              kvkit_error_t *err);

typedef struct wctx {
    etcd_t *e;
    wr_t *w;
    size_t n;
    bool checked;      /* save_if: compare the document's revision too (n == 1) */
    uint64_t expected; /* its expected mod_revision (0: absent) */
    unsigned char nonce[NONCE_LEN];
    const char *subject;
} wctx_t;

/* Apply x's writes as one txn (see etcd.c); *new_rev: its revision. */
int et_write_docs(wctx_t *x, uint64_t *new_rev, kvkit_error_t *err);
/* One save (value != NULL) or delete; checked: save-if-unchanged. */
int et_write_one(etcd_t *e, const char *bucket, const char *key, const char *value,
                 size_t value_len, const kvkit_index_entry_t *entries, size_t n_entries,
                 bool checked, uint64_t expected, uint64_t *new_rev, kvkit_error_t *err);

#endif /* KVKIT_ETCD_PRIVATE_H */
