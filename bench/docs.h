/*
 * docs.h - the documents the benchmarks store, on every side alike.
 *
 * ~250 bytes of JSON with 5 indexed values (email: unique, age: integer,
 * city: 200 values, group: 1000 documents each, kind: one value for all).
 * Document i has key "u" + 7 digits of a bijective scramble of i, so keys
 * arrive in random order as real ones do.
 */
#ifndef KVKIT_BENCH_DOCS_H
#define KVKIT_BENCH_DOCS_H

#include <jansson.h>
#include <stddef.h>

#define BD_FIELDS 5
extern const char *const bd_fields[BD_FIELDS]; /* the indexed ones */
#define BD_GROUP_SIZE 1000

/* Key of document i ("u%07zu" of a scramble of i, i < 10^7). */
void bd_key(char buf[16], size_t i);
/* Document i (new reference); kind NULL: "user". */
json_t *bd_make(size_t i, const char *kind);
/* Document number `i` of a random draw among ids [0, n). */
size_t bd_pick(size_t i, size_t n);
/* Group value of the documents [g*BD_GROUP_SIZE, (g+1)*BD_GROUP_SIZE). */
void bd_group(char buf[16], size_t g);

#endif
