/*
 * client.h - a small etcd v3 JSON-gateway client for the etcd backend,
 * internal to plugins/etcd (not part of libkvkit), in layers that only
 * call downwards:
 *   client.c   requests: endpoint failover, a pool of keep-alive libcurl
 *              handles, deadlines, tokens, gRPC error mapping; open
 *   session.c  concurrent probes of every endpoint, the circuit breaker
 *   wire.c     the current endpoint, TLS options, response buffers, clock
 *   codec.c    base64 and lenient response parsing
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
    long deadline_ms; /* one operation, every attempt and pause included */
    long probe_ms;    /* one probe of the endpoints (open, circuit breaker) */
    unsigned retries;
    /* TLS: PEM paths, NULL when not given (libcurl's default CA store, no
     * client certificate).  Verification is always on. */
    char *cacert, *cert, *key;
    /* Authentication: NULL user, no token is sent.  The password stays in
     * memory to authenticate again when a token expires; wiped on free. */
    char *user;
    char *password;
    char *token;        /* guarded by lock; NULL: not authenticated yet */
    unsigned token_gen; /* bumped by every new token (guarded by lock) */
    /* Circuit breaker (guarded by lock): set when an operation saw every
     * endpoint fail until its deadline; while set, each operation first
     * probes all endpoints at once (probe_ms) and fails at once when none
     * answers with a leader.  Cleared by any successful answer. */
    bool tripped;
    kvkit_error_t trip_why; /* the failure that tripped it */
    pthread_mutex_t lock;   /* current, pool, token, breaker */
    void **pool;            /* idle CURL easy handles (keep-alive) */
    size_t pool_n, pool_cap;
} ec_client_t;

typedef enum ec_kind {
    EC_READ,  /* idempotent: retried on any endpoint */
    EC_WRITE, /* may commit: a failure after sending is EC_AMBIGUOUS */
} ec_kind_t;

/* Clear c and parse "http://h1:2379,http://h2:2379" into it; the caller
 * sets the timeouts, TLS paths and user afterwards. */
int ec_client_init(ec_client_t *c, const char *location, kvkit_error_t *err);
/* Frees the endpoints, the pool, the TLS paths, the user and token, and
 * wipes the password before freeing it. */
void ec_client_free(ec_client_t *c);

/* At open: probe every endpoint at once (probe_ms), make the first that
 * answers with a leader current, and authenticate when c->user is set.
 * KVKIT_IO naming the endpoint when TLS fails everywhere (wrong CA, wrong
 * host, bad client certificate), KVKIT_AUTH / KVKIT_PERMISSION when the
 * credentials are refused.  No endpoint answering is not an error here: the
 * circuit breaker is set and the first operation probes again. */
int ec_client_connect(ec_client_t *c, kvkit_error_t *err);

/* POST `req` (borrowed) to path ("/v3/kv/range" ...).  On KVKIT_OK *resp is a
 * new reference to the parsed body.  On failure, err names `subject` and
 * carries the server's or libcurl's text.  Writes return EC_AMBIGUOUS when
 * the request may have been applied. */
int ec_call(ec_client_t *c, const char *path, json_t *req, ec_kind_t kind, json_t **resp,
            const char *subject, kvkit_error_t *err);

/* ec_call with the body already serialized; auth false: no token (the
 * authentication request itself); deadline 0: the operation's, or now +
 * deadline_ms. */
int ec_post(ec_client_t *c, const char *path, const char *body, ec_kind_t kind, bool auth,
            int64_t deadline, json_t **resp, const char *subject, kvkit_error_t *err);

/*** deadlines ***/

/* Monotonic milliseconds. */
int64_t ec_now_ms(void);

/* Begin an operation of several calls (a write, its retries and its
 * settling) that share one deadline, now + deadline_ms, in this thread.
 * Returns what ec_op_end restores; an operation begun inside another keeps
 * the outer deadline.  A call outside any operation gets its own. */
int64_t ec_op_begin(const ec_client_t *c);
void ec_op_end(int64_t saved);

/*** session.c: probes and the circuit breaker ***/

/* Probe every endpoint at once (POST /v3/maintenance/status) for at most
 * timeout_ms: the index of the first that answers with a leader, or -1 and
 * why (KVKIT_IO: refused or TLS failed, KVKIT_TIMEOUT: silent); *tls: a TLS
 * refusal is among the failures. */
long ec_probe(ec_client_t *c, long timeout_ms, kvkit_error_t *why, bool *tls);

/* The circuit breaker: fail at once (after one probe) while it is open. */
int ec_breaker_check(ec_client_t *c, int64_t deadline, const char *subject, kvkit_error_t *err);
void ec_breaker_trip(ec_client_t *c, const kvkit_error_t *why);
void ec_breaker_clear(ec_client_t *c);

/*** wire.c ***/

/* A response body being read (libcurl write callback ec_on_data). */
typedef struct ec_rbuf {
    char *p;
    size_t len, cap;
    bool failed;
} ec_rbuf_t;
size_t ec_on_data(char *data, size_t size, size_t nmemb, void *rbuf);
/* The current endpoint; make endpoint i the current one; move on from
 * endpoint `failed` (unless another thread already did). */
size_t ec_endpoint_get(ec_client_t *c);
void ec_endpoint_set(ec_client_t *c, size_t i);
void ec_endpoint_next(ec_client_t *c, size_t failed);

/* TLS options on a libcurl easy handle (CA, client certificate and key,
 * verification on, http/https only). */
void ec_tls_setup(const ec_client_t *c, void *curl_handle);
/* A libcurl code that says the TLS configuration, not the network, failed. */
bool ec_tls_refused(int curl_code);
/* Wipe a NUL-terminated secret, then free it (NULL: nothing). */
void ec_wipe_free(char *s);

/*** codec.c: base64 and lenient JSON ***/

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
