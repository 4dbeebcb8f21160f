/*
 * conformance.h - shared by the conformance suite's files: the store under
 * test, per-run bucket names, and assertion helpers over the store API.
 */
#ifndef KVKIT_CONFORMANCE_H
#define KVKIT_CONFORMANCE_H

#include <kvkit/kvkit.h>

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

extern const char *store_uri; /* the store string under test */
extern char run_id[64];       /* makes bucket names unique to this run */

/* Collected keys, in arrival order, joined by ','. */
typedef struct keys {
    char text[65536];
    size_t n;
} keys_t;

/* Open the store under test (fails the test when it cannot). */
kvkit_store_t *open_store(void);
/* A bucket name unique to this run and case (two rotating buffers). */
const char *bucket(const char *name);
/* Save JSON text `doc` with index entries given as field / JSON text pairs,
 * NULL-terminated. */
void save(kvkit_store_t *s, const char *b, const char *key, const char *doc, ...);
/* The value as a new string (free it), or NULL with *rc_out the status. */
char *get(kvkit_store_t *s, const char *b, const char *key, int *rc_out);
void expect_doc(kvkit_store_t *s, const char *b, const char *key, const char *want);
void expect_absent(kvkit_store_t *s, const char *b, const char *key);
/* kvkit_key_fn appending to a keys_t. */
int collect(void *ctx, const char *key, size_t len);
/* Sort a comma-joined list so unordered backends compare equal. */
void sort_keys(keys_t *k);
/* Run an index query (lo/hi JSON text; hi NULL: exact) and return its keys
 * sorted, in a static buffer.  Fails the test on an error. */
keys_t *query(kvkit_store_t *s, const char *b, const char *field, const char *lo,
              const char *hi);

#define EXPECT_QUERY(s, b, field, lo, hi, want)                                \
    ck_assert_str_eq(query(s, b, field, lo, hi)->text, want)

/* The test cases, by concern. */
TCase *conformance_store_cases(void);  /* get/save/delete, values, keys */
TCase *conformance_index_cases(void);  /* index queries, listings, pseudo-fields */
TCase *conformance_stream_cases(void); /* iteration, batches, optional ops */
TCase *conformance_view_cases(void);   /* what an iteration sees while the loop writes */
TCase *conformance_safety_cases(void); /* broken references, clean reports, second opens */
TCase *conformance_query_cases(void);  /* compound queries against a brute-force filter */
TCase *conformance_icursor_cases(void); /* index cursors, through compound queries */

#endif /* KVKIT_CONFORMANCE_H */
