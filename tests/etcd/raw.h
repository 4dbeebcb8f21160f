/* raw.h - direct v3 JSON-gateway calls for the etcd tests (no kvkit). */
#ifndef KVKIT_TEST_ETCD_RAW_H
#define KVKIT_TEST_ETCD_RAW_H

#include <jansson.h>
#include <stddef.h>

/* POST body (JSON text) to endpoint+path; returns the parsed response (new
 * reference) or NULL on a transport error or a non-200 answer. */
json_t *raw_post(const char *endpoint, const char *path, const char *body);

/* Number of keys starting with prefix; -1 on error. */
long raw_count(const char *endpoint, const char *prefix);

/* Put key=value; 0 on success. */
int raw_put(const char *endpoint, const char *key, const char *value);

/* The same with binary key and value. */
int raw_putn(const char *endpoint, const void *key, size_t klen, const void *value, size_t vlen);

/* The cluster's current revision (a linearizable read); -1 on error. */
long long raw_revision(const char *endpoint);

/* Compact etcd's history up to revision rev (physically); 0 on success. */
int raw_compact(const char *endpoint, long long rev);

/* First endpoint of a comma-separated list, in a static buffer. */
const char *raw_first(const char *endpoints);

#endif
