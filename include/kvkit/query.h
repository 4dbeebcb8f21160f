/*
 * kvkit/query.h - compound queries over a bucket's indexes (kvkit-query(7)).
 *
 *   author = "alice" and year >= 2020 order by year limit 20
 *
 * A query is parsed once into a kvkit_qexpr_t and run any number of times
 * (kvkit_query_exec), on any store and bucket.  The rules of kvkit.h hold
 * here: every fallible call takes `kvkit_error_t *err` last (NULL allowed),
 * strings are borrowed for the call unless said otherwise.
 *
 * On the store layer a document's values for FIELD are those of its
 * top-level member FIELD, as `kvkit put --index FIELD` indexes them: a
 * number or a string, or each number and string of an array.  A query is
 * answered from the indexes of the fields it names; fields without an index
 * (kvkit_query_set_indexed) are checked on the documents.
 */
#ifndef KVKIT_QUERY_H
#define KVKIT_QUERY_H

#include <stdint.h>

#include <kvkit/kvkit.h>

#ifdef __cplusplus
extern "C" {
#endif

/* kvkit_qexpr_t, a parsed query, is declared by <kvkit/kvkit.h>. */

/* Parse `text` (the language of kvkit-query(7)).  On KVKIT_OK *out is a new
 * query (free it with kvkit_query_free); on a syntax error KVKIT_INVALID
 * with a message naming the byte offset, the token found and what was
 * expected ("at byte 8 (\"xor\"): unknown keyword, expected ..."), and
 * *out NULL. */
int kvkit_query_parse(const char *text, kvkit_qexpr_t **out, kvkit_error_t *err);

/* Free a query; NULL is allowed. */
void kvkit_query_free(kvkit_qexpr_t *q);

/* The query in canonical form (keywords lower case, full parentheses),
 * borrowed until kvkit_query_free. */
const char *kvkit_query_text(const kvkit_qexpr_t *q);

/* Declare which fields have an index in the buckets the query runs on (the
 * `--index FIELDS` they were stored with); the list is copied.  Until this
 * is called every field is taken to be indexed.  n == 0: no field is
 * ("$key" always is).  Changes the plan, so also the cursors. */
int kvkit_query_set_indexed(kvkit_qexpr_t *q, const char *const *fields, size_t n,
                            kvkit_error_t *err);

/* The plan for the query as text, one step a line (which index drives,
 * what is checked on the documents, how the order is produced); *text is
 * allocated with malloc, free it with free.  KVKIT_INVALID when the query
 * cannot be run (an `order by` that needs a sort without a `limit`). */
int kvkit_query_explain(const kvkit_qexpr_t *q, char **text, kvkit_error_t *err);

/* One result: the key and, when documents were asked for, the stored
 * value (else NULL, 0).  Borrowed for the call.  Return 0 to go on,
 * non-zero to stop (not an error). */
typedef int (*kvkit_query_fn)(void *ctx, const char *key, size_t key_len, const char *value,
                              size_t value_len);

/* Run the query on `bucket` of `store`, calling fn once per matching
 * document, in the query's order.
 *   want_docs  hand over the stored documents too;
 *   page       at most this many results in this call (0: no cut);
 *   cursor     NULL to start, or a token a previous run of the same query
 *              on the same bucket returned: resume after its last result
 *              (KVKIT_INVALID when it belongs to another query);
 *   next       if not NULL, receives a new token (malloc'd, free with free)
 *              when the run ended before the end of the results (page cut
 *              or fn stopped), else NULL.
 * Memory is bounded by `page`, the query's limit and a few index pages,
 * never by the number of results. */
int kvkit_query_exec(kvkit_store_t *store, const char *bucket, const kvkit_qexpr_t *q,
                     int want_docs, size_t page, const char *cursor, char **next,
                     kvkit_query_fn fn, void *ctx, kvkit_error_t *err);

/* The results of kvkit_query_exec(store, bucket, q, want_docs, ...) as a
 * streaming iterator (kvkit.h: kvkit_iter_valid, _next, _key, _value,
 * _status, _destroy), fetched a page at a time.  Every page is read in the
 * view the first one opened, on backends with views, so a loop that moves
 * the documents it visits further along the query's order meets each once.
 * `q` is borrowed until kvkit_iter_destroy.  NULL only when out of memory;
 * argument and plan errors surface through kvkit_iter_status. */
kvkit_iter_t *kvkit_store_query_iter(kvkit_store_t *store, const char *bucket,
                                     const kvkit_qexpr_t *q, int want_docs);

#ifdef __cplusplus
}
#endif

#endif /* KVKIT_QUERY_H */
