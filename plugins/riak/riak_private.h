/*
 * riak_private.h - shared state of the riak backend's files.
 *
 *   riak.c     open/close, get/save/delete, siblings, the vclock cache
 *   options.c  the store string's options (one table)
 *   http.c     libcurl: a locked pool of easy handles, one request with
 *              retries and deadline, concurrent GETs with curl multi
 *   codec.c    URL and header encodings, the float text form, multipart
 *              (sortable bytes: kvkit/backend.h's kvkit_sortable_*)
 *   cursor.c   paging, merging and parking 2i scans (cursor.h)
 *   query.c    index_lookup / index_docs / list_keys
 *
 * Functions shared between these files are riak_<noun>_<verb> (see the
 * naming rule at the top of riak.c); codec.c's are not renamed yet.
 */
#ifndef KVKIT_RIAK_PRIVATE_H
#define KVKIT_RIAK_PRIVATE_H

/* every file of the plugin spells its exported symbols riak_LTX_... */
#define KVKIT_BACKEND_NAME riak
#include <kvkit/backend.h>

#include <curl/curl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#define RIAK_POOL_MAX 32
#define RIAK_MPOOL_MAX 4
#define MAX_SIBLINGS 512 /* parts of one 300 answer that are read */

enum { SIBLINGS_CONFLICT, SIBLINGS_NEWEST };

typedef struct vc_slot {
    uint64_t hash;
    char *id; /* bucket NUL key */
    size_t id_len;
    char *vclock;
} vc_slot_t;

struct cursor;

typedef struct riak {
    char *base;     /* scheme://[userinfo@]host:port[/prefix], no trailing '/' */
    char *endpoint; /* scheme://host:port, for messages (never credentials) */
    /* TLS (https:// only; verification is always on): PEM paths or NULL */
    char *cacert, *cert, *key;
    /* HTTP basic auth (Riak security, https:// only): user or NULL, and the
     * password read through kvsecret_password, wiped at close */
    char *user, *password_file, *password;
    char *prefix; /* "/buckets/" or "/types/<T>/buckets/" (encoded) */
    char *q_get;  /* prebuilt query parameters, "" or "a=b&c=d" */
    char *q_put;
    char *q_del;
    long timeout_ms;
    long connect_timeout_ms;
    unsigned retries;
    unsigned max_results;
    unsigned concurrency;
    bool blind_writes;
    bool check_tombstones; /* list_keys GETs each key (delete_mode != immediate) */
    int siblings;

    pthread_mutex_t pool_lock;
    CURL *pool[RIAK_POOL_MAX];
    size_t n_pool;
    CURLM *mpool[RIAK_MPOOL_MAX]; /* multi handles keep their connections */
    size_t n_mpool;

    pthread_mutex_t vc_lock;
    vc_slot_t *vc;
    size_t n_vc; /* a power of two */

    pthread_mutex_t cur_lock;
    struct cursor *cursor; /* where the last stopped index scan can resume */
} riak_t;

/*** growable buffers ***/

typedef struct buf {
    char *data;
    size_t len, cap;
    bool oom;
} buf_t;

void buf_add(buf_t *b, const void *p, size_t n);
void buf_adds(buf_t *b, const char *s);
void buf_addf(buf_t *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void buf_free(buf_t *b);

/*** http.c ***/

typedef struct resp {
    long status;
    buf_t body;
    char *vclock;       /* X-Riak-Vclock, malloc'd or NULL */
    char *content_type; /* malloc'd or NULL */
    char *last_modified;
    bool deleted; /* X-Riak-Deleted: true */
} resp_t;

typedef struct req {
    const char *method; /* "GET", "PUT", "DELETE" */
    const char *path;   /* encoded path + query, starting with '/' */
    const struct curl_slist *headers;
    const char *body;
    size_t body_len;
    bool idempotent; /* may be retried after a connection-level failure */
    const char *subject;
} req_t;

/* Send one request (retrying connection-level failures of idempotent
 * requests within the deadline).  KVKIT_OK when any HTTP answer arrived
 * (look at out->status); else KVKIT_IO / KVKIT_TIMEOUT / KVKIT_OUTCOME_UNKNOWN
 * with err filled.  Free out with riak_resp_free. */
int riak_http_do(riak_t *r, const req_t *q, resp_t *out, kvkit_error_t *err);
void riak_resp_free(resp_t *p);

/* Fill err from a non-success HTTP answer: status, Riak's text, the path. */
int riak_http_fail(const req_t *q, const resp_t *p, kvkit_error_t *err);

/* Riak security's refusals: 401 (KVKIT_AUTH) and 403 "Permission denied"
 * (KVKIT_PERMISSION), err naming the user and the endpoint; KVKIT_OK for
 * any other answer. */
int riak_http_refused(const riak_t *r, const req_t *q, const resp_t *p, kvkit_error_t *err);

/* GET every path in paths[0..n) with up to r->concurrency in flight on
 * kept-alive connections; out[i] receives the answer of paths[i].  A
 * transport failure of one is retried once alone with riak_http_do. */
int riak_http_get_many(riak_t *r, const char *const *paths, size_t n,
                       const struct curl_slist *headers, resp_t *out, kvkit_error_t *err);

/*** codec.c ***/

/* Percent-encode every byte outside A-Za-z0-9-._~ */
void url_escape(buf_t *b, const char *s, size_t n);
/* Index name for a field: [a-z0-9_-] kept, other bytes ".xx" (lowercase
 * hex), so Riak's lowercasing cannot merge two fields; then the suffix. */
void field_name(buf_t *b, const char *field, const char *suffix);
/* A string index value as sent in an X-Riak-Index header (order-preserving
 * escape of bytes Riak or HTTP would mangle) and back. */
void bin_escape(buf_t *b, const char *s, size_t n);
int bin_unescape(const char *s, size_t n, buf_t *out);
/* The order-preserving text form of a double, and back. */
void real_text(buf_t *b, double d);
int real_parse(const char *s, size_t n, double *out);

typedef struct part {
    const char *body;
    size_t body_len;
    const char *headers; /* raw header block of the part */
    size_t headers_len;
    bool deleted;
    time_t last_modified;
} part_t;

/* Split a multipart/mixed body (boundary taken from content_type) into at
 * most max parts.  Returns the number of parts, or -1 when malformed.
 * Parts point into body. */
int multipart_split(const char *content_type, const char *body, size_t len, part_t *parts, int max);

/*** options.c ***/

/* The TLS and user options against the location (https:// only), and the
 * user's password read (KVKIT_RIAK_PASSWORD or password_file). */
int riak_options_secure(riak_t *r, const char *location, kvkit_error_t *err);

/* Check the store's options and apply them: settings into r, query
 * parameters into the GET (qg), PUT (qp) and DELETE (qd) query strings, the
 * bucket path prefix into prefix.  The buffers are the caller's. */
int riak_options_parse(riak_t *r, const kvkit_backend_option_t *opts, size_t n, buf_t *qg,
                       buf_t *qp, buf_t *qd, buf_t *prefix, kvkit_error_t *err);

/*** riak.c ***/

/* "/buckets/B/keys/K" (plus the type prefix) into b. */
void riak_key_path(const riak_t *r, buf_t *b, const char *bucket, const char *key);
/* The path of a GET of bucket/key, with the store's read parameters. */
void riak_get_path(const riak_t *r, buf_t *b, const char *bucket, const char *key);
/* The headers of a GET of an object (free with curl_slist_free_all); *oom
 * is set when one of them could not be added. */
struct curl_slist *riak_get_headers(bool *oom);
void riak_vc_put(riak_t *r, const char *bucket, const char *key, const char *vclock);
/* Handle a 200/300 GET answer: siblings policy, vclock cache.  On KVKIT_OK
 * *value is malloc'd. */
int riak_object_answer(riak_t *r, const char *bucket, const char *key, const req_t *q, resp_t *p,
                       char **value, size_t *value_len, kvkit_error_t *err);

/*** cursor.c ***/

void riak_cursor_free(struct cursor *c);

#endif
