/*
 * client.h - a small etcd v3 JSON-gateway client for the etcd backend:
 * endpoint list with failover, a pool of keep-alive libcurl handles,
 * base64, lenient response parsing and gRPC error mapping.
 * Internal to plugins/etcd; not part of libkvkit.
 */
#ifndef KVKIT_ETCD_CLIENT_H
#define KVKIT_ETCD_CLIENT_H

#include <kvkit/backend.h>

#include <jansson.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

/* A write whose fate is unknown (timed out or cut off after it was sent).
 * Never returned by libkvkit-facing ops: the backend settles it by
 * re-reading, or reports KVKIT_OUTCOME_UNKNOWN. */
#define EC_AMBIGUOUS (-1)

typedef struct ec_client {
    char **endpoints; /* "http://host:port", no trailing slash */
    size_t n_endpoints;
    size_t current; /* index of the endpoint in use (guarded by lock) */
    long timeout_ms;
    long connect_timeout_ms;
    unsigned retries;
    pthread_mutex_t lock; /* current, pool */
    void **pool;          /* idle CURL easy handles (keep-alive) */
    size_t pool_n, pool_cap;
} ec_client_t;

typedef enum ec_kind {
    EC_READ,  /* idempotent: retried on any endpoint */
    EC_WRITE, /* may commit: a failure after sending is EC_AMBIGUOUS */
} ec_kind_t;

/* Parse "http://h1:2379,http://h2:2379" into c (other fields untouched). */
int ec_client_init(ec_client_t *c, const char *location, kvkit_error_t *err);
void ec_client_free(ec_client_t *c);

/* POST `req` (borrowed) to path ("/v3/kv/range" ...).  On KVKIT_OK *resp is a
 * new reference to the parsed body.  On failure, err names `subject` and
 * carries the server's or libcurl's text.  Writes return EC_AMBIGUOUS when
 * the request may have been applied. */
int ec_call(ec_client_t *c, const char *path, json_t *req, ec_kind_t kind, json_t **resp,
            const char *subject, kvkit_error_t *err);

/*** base64 and lenient JSON ***/

/* New JSON string holding base64(p[0..n)); NULL when out of memory. */
json_t *ec_b64(const void *p, size_t n);

/* Decode the base64 string field `name` of obj (absent or null: empty).
 * *out is malloc'd (NUL-terminated); returns false on bad base64 or no memory. */
bool ec_get_bytes(const json_t *obj, const char *name, unsigned char **out, size_t *out_len);

/* int64 field that may be a JSON string or number; absent: 0. */
int64_t ec_get_int(const json_t *obj, const char *name);

/* bool field; absent: false. */
bool ec_get_bool(const json_t *obj, const char *name);

#endif /* KVKIT_ETCD_CLIENT_H */
