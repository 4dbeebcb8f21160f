/* write.c - every save/delete of the etcd backend as one txn, retried on
 * lost races and settled when its outcome is ambiguous (see etcd.c). */
#include "etcd_private.h"

#include <stdlib.h>
#include <string.h>

/*** writing: one txn, retried on lost races, settled when ambiguous ***/

/* A save whose manifest the handle has not cached may send its txn at once,
 * assuming there is no manifest (compare: absent).  For a new key that is
 * the whole save in one round trip; for an existing one the compare fails,
 * the failure branch returns the manifest and the retry uses it - a failed
 * txn (a raft round) where a read would have cost a serializable range.  So
 * single saves guess while this handle's recent uncached saves mostly met
 * new keys (e->new_keys); a batch always guesses, since one failed txn
 * costs less than a read per document.  The guess is only a hint: the
 * compare decides, exactly as for a stale cache entry.  Deletes and
 * save_if of an existing revision always read (the key exists). */
#define NEW_KEYS_MAX 4

static bool may_guess(const wctx_t *x, const wr_t *w)
{
    return w->value != NULL && !(x->checked && x->expected != 0);
}

/* The handle's estimate moves towards what one uncached save met. */
static void learn(etcd_t *e, bool present)
{
    int v = __atomic_load_n(&e->new_keys, __ATOMIC_RELAXED);
    if (present ? v > -NEW_KEYS_MAX : v < NEW_KEYS_MAX)
        __atomic_store_n(&e->new_keys, present ? v - 1 : v + 1, __ATOMIC_RELAXED);
}

/* The guessed manifests are now known (the txn applied, or its failure
 * branch returned them): learn from them. */
static void learn_guesses(wctx_t *x)
{
    for (size_t i = 0; i < x->n; i++) {
        if (x->w[i].guessed)
            learn(x->e, x->w[i].manifest.present);
        x->w[i].guessed = false;
    }
}

/* The current manifests, from the cache when allowed (else guessed absent,
 * see above, or read from the member's local state): each may be stale,
 * which only costs a failed txn (its failure branch reads the manifests
 * linearizably). */
static int read_manifests(wctx_t *x, bool cached, kvkit_error_t *err)
{
    bool guess = x->n > 1 || __atomic_load_n(&x->e->new_keys, __ATOMIC_RELAXED) >= 0;
    for (size_t i = 0; i < x->n; i++) {
        wr_t *w = &x->w[i];
        free(w->manifest.value);
        w->guessed = false;
        if (cached && et_cache_get(x->e, &w->mkey, &w->manifest))
            continue;
        if (cached && guess && may_guess(x, w)) {
            memset(&w->manifest, 0, sizeof w->manifest);
            w->guessed = true;
            continue;
        }
        int rc = et_range_one(x->e, &w->mkey, ET_LOCAL, &w->manifest, w->key, err);
        if (rc != KVKIT_OK)
            return rc;
        if (may_guess(x, w))
            learn(x->e, w->manifest.present);
        et_cache_put(x->e, &w->mkey, &w->manifest);
    }
    return KVKIT_OK;
}

/* After the txn: remember what it wrote, or forget what we no longer know. */
static void cache_after(wctx_t *x, bool written, int64_t rev)
{
    for (size_t i = 0; i < x->n; i++) {
        wr_t *w = &x->w[i];
        kv_t kv = {.present = w->value != NULL,
                   .value = w->new_manifest.p,
                   .value_len = w->new_manifest.len,
                   .mod_revision = rev};
        et_cache_put(x->e, &w->mkey, written && !w->new_manifest.failed ? &kv : NULL);
    }
}

static int txn_build(wctx_t *x, json_t **out, kvkit_error_t *err)
{
    json_t *req = json_object(), *cmp = json_array(), *ok = json_array(), *ko = json_array();
    int rc = req && cmp && ok && ko ? KVKIT_OK : KVKIT_NOMEM;
    buf_t dk = {0};
    for (size_t i = 0; rc == KVKIT_OK && i < x->n; i++) {
        wr_t *w = &x->w[i];
        rc = et_compare_mod(cmp, &w->mkey, w->manifest.present ? w->manifest.mod_revision : 0);
        if (rc == KVKIT_OK)
            rc = et_op_range(ko, &w->mkey, false);
    }
    if (rc == KVKIT_OK && x->checked) {
        et_key_doclike(&dk, x->e, 'd', x->w[0].bucket, x->w[0].key, x->w[0].key_len);
        rc = et_compare_mod(cmp, &dk, (int64_t)x->expected);
        if (rc == KVKIT_OK)
            rc = et_op_range(ko, &dk, true);
    }
    kvl_buf_free(&dk);
    if (rc != KVKIT_OK)
        rc = et_nomem(err, x->subject);
    for (size_t i = 0; rc == KVKIT_OK && i < x->n; i++)
        rc = et_wr_ops(x->e, &x->w[i], x->nonce, ok, err);
    if (rc == KVKIT_OK &&
        (json_object_set(req, "compare", cmp) != 0 || json_object_set(req, "success", ok) != 0 ||
         json_object_set(req, "failure", ko) != 0))
        rc = et_nomem(err, x->subject);
    json_decref(cmp);
    json_decref(ok);
    json_decref(ko);
    if (rc != KVKIT_OK) {
        json_decref(req);
        return rc;
    }
    *out = req;
    return KVKIT_OK;
}

/* The write whose manifest carries the write id (a save), or NULL. */
static wr_t *witness(wctx_t *x)
{
    for (size_t i = 0; i < x->n; i++)
        if (x->w[i].value != NULL)
            return &x->w[i];
    return NULL;
}

enum settled { S_COMMITTED, S_PENDING, S_DEAD, S_REDO, S_UNKNOWN };

/* Did the txn that compared the witness manifest against revision `base`
 * (0: absent) commit?  S_PENDING: the manifest is unchanged, so it has not
 * applied (yet) and resubmitting it is safe, since at most one of the two
 * can apply; S_DEAD: it never will apply; S_REDO (deletes only, which leave
 * no write id behind): undecided, but re-reading and deleting again is
 * safe.  *rev: the committed revision. */
static enum settled settle(wctx_t *x, int64_t base, int64_t *rev, kvkit_error_t *rerr)
{
    wr_t *w = witness(x);
    kv_t cur;
    if (w == NULL)
        return S_REDO;
    if (et_range_one(x->e, &w->mkey, 0, &cur, w->key, rerr) != KVKIT_OK)
        return S_UNKNOWN;
    enum settled s = S_UNKNOWN;
    for (int step = 0; step < HISTORY_STEPS; step++) {
        if (et_has_nonce(&cur, x->nonce)) {
            *rev = cur.mod_revision;
            s = S_COMMITTED;
            break;
        }
        /* back at the compared state (a create that was deleted again in
         * between would look the same as "absent all along": accepted) */
        if ((!cur.present && base == 0) || (cur.present && cur.mod_revision == base)) {
            s = step == 0 ? S_PENDING : S_DEAD;
            break;
        }
        if (!cur.present || cur.mod_revision < base)
            break; /* deleted in between: the history is cut */
        /* a txn that compared "absent" (a guess, see read_manifests) can
         * only have written the first version of the key's lifetime: go
         * there at once, however long the history after it */
        int64_t before =
            base == 0 && cur.create_revision > 0 && cur.create_revision < cur.mod_revision
                ? cur.create_revision
                : cur.mod_revision - 1;
        free(cur.value);
        if (et_range_one(x->e, &w->mkey, before, &cur, w->key, rerr) != KVKIT_OK)
            return S_UNKNOWN; /* compacted history, or the cluster is away */
    }
    free(cur.value);
    return s;
}

/* Update the read state from a failed txn's failure-branch ranges (one
 * per manifest, then the document's when checked): the retry, and a
 * guess that was wrong, rely on them, so a missing one is an error. */
static int absorb_failure(wctx_t *x, const json_t *resp, uint64_t *doc_rev, kvkit_error_t *err)
{
    const json_t *rs = json_object_get(resp, "responses");
    if (json_array_size(rs) != x->n + (x->checked ? 1 : 0))
        return kvkit_backend_error(err, KVKIT_BACKEND, x->subject,
                                   "\"%s\": a failed txn answered %zu ranges, not %zu", x->subject,
                                   json_array_size(rs), x->n + (x->checked ? 1 : 0));
    for (size_t i = 0; i < x->n; i++) {
        const json_t *r = json_object_get(json_array_get(rs, i), "response_range");
        wr_t *w = &x->w[i];
        free(w->manifest.value);
        int rc = et_kv_from_json(json_object_get(r, "kvs"), &w->manifest, w->key, err);
        if (rc != KVKIT_OK)
            return rc;
        et_cache_put(x->e, &w->mkey, &w->manifest);
    }
    learn_guesses(x);
    if (x->checked) {
        const json_t *r = json_object_get(json_array_get(rs, x->n), "response_range");
        const json_t *kv = json_array_get(json_object_get(r, "kvs"), 0);
        *doc_rev = kv ? (uint64_t)ec_get_int(kv, "mod_revision") : 0;
    }
    return KVKIT_OK;
}

static int unknown(wctx_t *x, const kvkit_error_t *amb, const kvkit_error_t *rerr,
                   kvkit_error_t *err)
{
    return kvkit_backend_error(err, KVKIT_OUTCOME_UNKNOWN, x->subject,
                               "%s (re-reading could not tell whether it was applied%s%s)",
                               amb->text, rerr->text[0] ? ": " : "", rerr->text);
}

#define AGAIN (-2) /* not a status: send the txn again */

/* What the attempts so far leave open. */
typedef struct tries {
    bool pending; /* an earlier attempt may still commit */
    int64_t pending_base;
    kvkit_error_t amb; /* the ambiguous failure that left it pending */
} tries_t;

/* The txn was answered and failed its compares: take the current state
 * from its failure branch, and settle an earlier attempt still pending. */
static int on_lost(wctx_t *x, tries_t *t, const json_t *resp, uint64_t *new_rev, kvkit_error_t *err)
{
    uint64_t doc_rev = 0;
    int rc = absorb_failure(x, resp, &doc_rev, err);
    if (rc != KVKIT_OK)
        return rc;
    if (t->pending) { /* lost to an earlier attempt of ours, or to someone else? */
        kvkit_error_t rerr = {0};
        int64_t rev = 0;
        enum settled ps = settle(x, t->pending_base, &rev, &rerr);
        if (ps == S_COMMITTED) {
            *new_rev = (uint64_t)rev;
            return KVKIT_OK;
        }
        if (ps == S_UNKNOWN)
            return unknown(x, &t->amb, &rerr, err);
        /* a compared manifest moved on: the earlier attempts cannot apply */
        t->pending = false;
    }
    if (x->checked && doc_rev != x->expected)
        return kvkit_backend_error(err, KVKIT_CONFLICT, x->subject,
                                   "\"%s\" changed since it was read (revision %llu, "
                                   "expected %llu)",
                                   x->subject, (unsigned long long)doc_rev,
                                   (unsigned long long)x->expected);
    return AGAIN;
}

/* The txn (compared against `base`) may or may not have committed: find out. */
static int on_ambiguous(wctx_t *x, tries_t *t, int64_t base, const kvkit_error_t *werr,
                        uint64_t *new_rev, kvkit_error_t *err)
{
    kvkit_error_t rerr = {0};
    int64_t rev = 0;
    int rc;
    t->amb = *werr;
    enum settled s = settle(x, base, &rev, &rerr);
    switch (s) {
    case S_COMMITTED:
        *new_rev = (uint64_t)rev;
        return KVKIT_OK;
    case S_PENDING:
        t->pending = true; /* resubmit the same txn */
        t->pending_base = base;
        return AGAIN;
    case S_DEAD:
    case S_REDO: /* the earlier attempt stays undecided until this one ends */
        t->pending = s == S_REDO;
        rc = read_manifests(x, false, &rerr);
        if (rc == KVKIT_OK)
            return AGAIN;
        if (t->pending)
            return unknown(x, &t->amb, &rerr, err);
        *err = rerr;
        return rc;
    case S_UNKNOWN:
        break;
    }
    return unknown(x, &t->amb, &rerr, err);
}

static int write_docs_once(wctx_t *x, uint64_t *new_rev, kvkit_error_t *err)
{
    et_nonce_new(x->nonce);
    int rc = read_manifests(x, true, err);
    if (rc != KVKIT_OK)
        return rc;
    tries_t t = {0};
    unsigned attempts = x->e->c.retries + 2;
    for (unsigned attempt = 0; attempt < attempts; attempt++) {
        wr_t *wit = witness(x);
        int64_t base = wit && wit->manifest.present ? wit->manifest.mod_revision : 0;
        json_t *req = NULL, *resp = NULL;
        if ((rc = txn_build(x, &req, err)) != KVKIT_OK)
            return rc;
        kvkit_error_t werr = {0};
        rc = ec_call(&x->e->c, "/v3/kv/txn", req, EC_WRITE, &resp, x->subject, &werr);
        json_decref(req);
        if (rc == KVKIT_OK && ec_get_bool(resp, "succeeded")) {
            *new_rev = (uint64_t)ec_get_int(json_object_get(resp, "header"), "revision");
            learn_guesses(x); /* they were right: no manifest */
        } else if (rc == KVKIT_OK)
            rc = on_lost(x, &t, resp, new_rev, err);
        else if (rc == EC_AMBIGUOUS)
            rc = on_ambiguous(x, &t, base, &werr, new_rev, err);
        else if (t.pending) /* the earlier attempt might still apply */
            rc = kvkit_backend_error(err, KVKIT_OUTCOME_UNKNOWN, x->subject, "%s (then: %s)",
                                     t.amb.text, werr.text);
        else
            *err = werr;
        json_decref(resp);
        if (rc != AGAIN)
            return rc;
    }
    if (t.pending)
        return kvkit_backend_error(err, KVKIT_OUTCOME_UNKNOWN, x->subject,
                                   "%s (still unsettled after %u attempts)", t.amb.text, attempts);
    return kvkit_backend_error(err, KVKIT_CONFLICT, x->subject,
                               "\"%s\": lost the race with concurrent writers %u times", x->subject,
                               attempts);
}

int et_write_docs(wctx_t *x, uint64_t *new_rev, kvkit_error_t *err)
{
    /* one deadline for the reads, every txn attempt and the settling */
    int64_t saved = ec_op_begin(&x->e->c);
    int rc = write_docs_once(x, new_rev, err);
    ec_op_end(saved);
    cache_after(x, rc == KVKIT_OK, (int64_t)*new_rev);
    return rc;
}

int et_write_one(etcd_t *e, const char *bucket, const char *key, const char *value,
                 size_t value_len, const kvkit_index_entry_t *entries, size_t n_entries,
                 bool checked, uint64_t expected, uint64_t *new_rev, kvkit_error_t *err)
{
    wr_t w = {.bucket = bucket,
              .key = key,
              .key_len = strlen(key),
              .value = value,
              .value_len = value_len,
              .entries = entries,
              .n_entries = n_entries};
    et_key_doclike(&w.mkey, e, 'm', bucket, key, w.key_len);
    if (w.mkey.failed)
        return et_nomem(err, key);
    wctx_t x = {.e = e, .w = &w, .n = 1, .checked = checked, .expected = expected, .subject = key};
    uint64_t rev = 0;
    int rc = et_write_docs(&x, &rev, err);
    et_wr_free(&w);
    if (new_rev)
        *new_rev = rev;
    return rc;
}
