/*
 * options.c - the riak store string's options: one table names each
 * option, how it is checked and where it goes (a setting of the handle, or
 * a query parameter of the GET, PUT and DELETE requests).
 */
#include "riak_private.h"

#include "../common/secret.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int quorum_value(const kvkit_backend_option_t *o, kvkit_error_t *err)
{
    static const char *const words[] = {"one", "quorum", "all", "default"};
    for (size_t i = 0; i < 4; i++)
        if (strcmp(o->value, words[i]) == 0)
            return KVKIT_OK;
    uint64_t v;
    if (o->value[0] && kvkit_backend_option_uint(o, 0, 1000, &v, NULL) == KVKIT_OK)
        return KVKIT_OK;
    return kvkit_backend_error(err, KVKIT_BAD_OPTION, o->key,
                               "riak: option \"%s\": expected a number or one of one, quorum, "
                               "all, default, got \"%s\"",
                               o->key, o->value);
}

static void add_param(buf_t *b, const char *k, const char *v)
{
    if (b->len)
        buf_adds(b, "&");
    buf_adds(b, k);
    buf_adds(b, "=");
    url_escape(b, v, strlen(v));
}

/* What riak_options_parse fills: the handle's settings and the query strings
 * of GET, PUT and DELETE. */
typedef struct opt_out {
    riak_t *r;
    buf_t *q[3]; /* indexed by Q_GET, Q_PUT, Q_DEL */
    buf_t *prefix;
    bool typed;
} opt_out_t;

enum { Q_GET, Q_PUT, Q_DEL };
#define TO(q) (1u << (q))

static void set_timeout(riak_t *r, uint64_t v)
{
    r->timeout_ms = (long)v;
}
static void set_connect_timeout(riak_t *r, uint64_t v)
{
    r->connect_timeout_ms = (long)v;
}
static void set_retries(riak_t *r, uint64_t v)
{
    r->retries = (unsigned)v;
}
static void set_max_results(riak_t *r, uint64_t v)
{
    r->max_results = (unsigned)v;
}
static void set_concurrency(riak_t *r, uint64_t v)
{
    r->concurrency = (unsigned)v;
}

static void set_vclock_cache(riak_t *r, uint64_t v)
{
    size_t p = 1;
    while (p < v)
        p *= 2;
    r->n_vc = v ? p : 0;
}

enum {
    OPT_QUORUM,
    OPT_FLAG,
    OPT_NUMBER,
    OPT_BLIND,
    OPT_SIBLINGS,
    OPT_TYPE,
    OPT_DELETE_MODE,
    OPT_PATH,  /* a readable file, kept */
    OPT_STRING /* a non-empty string, kept */
};

/* Every option, in the order the unknown-option message lists them.
 * Quorums and flags become query parameters of the requests in `to`;
 * numbers are checked against [min, max] and handed to `set`. */
static const struct option_rule {
    const char *key;
    int kind;
    unsigned to;
    uint64_t min, max;
    void (*set)(riak_t *r, uint64_t v);
} option_rules[] = {
    {"r", OPT_QUORUM, TO(Q_GET) | TO(Q_DEL), 0, 0, NULL},
    {"pr", OPT_QUORUM, TO(Q_GET) | TO(Q_DEL), 0, 0, NULL},
    {"w", OPT_QUORUM, TO(Q_PUT) | TO(Q_DEL), 0, 0, NULL},
    {"dw", OPT_QUORUM, TO(Q_PUT) | TO(Q_DEL), 0, 0, NULL},
    {"pw", OPT_QUORUM, TO(Q_PUT) | TO(Q_DEL), 0, 0, NULL},
    {"rw", OPT_QUORUM, TO(Q_DEL), 0, 0, NULL},
    {"basic_quorum", OPT_FLAG, TO(Q_GET), 0, 0, NULL},
    {"notfound_ok", OPT_FLAG, TO(Q_GET), 0, 0, NULL},
    {"timeout_ms", OPT_NUMBER, 0, 1, 86400000, set_timeout},
    {"connect_timeout_ms", OPT_NUMBER, 0, 1, 86400000, set_connect_timeout},
    {"retries", OPT_NUMBER, 0, 0, 10, set_retries},
    {"bucket_type", OPT_TYPE, 0, 0, 0, NULL},
    {"max_results", OPT_NUMBER, 0, 1, 1000000, set_max_results},
    {"concurrency", OPT_NUMBER, 0, 1, 64, set_concurrency},
    {"vclock_cache", OPT_NUMBER, 0, 0, 1u << 24, set_vclock_cache},
    {"blind_writes", OPT_BLIND, 0, 0, 0, NULL},
    {"siblings", OPT_SIBLINGS, 0, 0, 0, NULL},
    {"delete_mode", OPT_DELETE_MODE, 0, 0, 0, NULL},
    {"cacert", OPT_PATH, 0, 0, 0, NULL},
    {"cert", OPT_PATH, 0, 0, 0, NULL},
    {"key", OPT_PATH, 0, 0, 0, NULL},
    {"user", OPT_STRING, 0, 0, 0, NULL},
    {"password_file", OPT_STRING, 0, 0, 0, NULL},
};

#define N_OPTIONS (sizeof option_rules / sizeof option_rules[0])

static void add_params(opt_out_t *out, unsigned to, const char *k, const char *v)
{
    for (int q = Q_GET; q <= Q_DEL; q++)
        if (to & TO(q))
            add_param(out->q[q], k, v);
}

static int unknown_option(const char *k, kvkit_error_t *err)
{
    char known[512] = "";
    size_t len = 0;
    for (size_t i = 0; i < N_OPTIONS && len < sizeof known; i++)
        len += (size_t)snprintf(known + len, sizeof known - len, "%s%s", i ? ", " : "",
                                option_rules[i].key);
    return kvkit_backend_error(err, KVKIT_BAD_OPTION, k, "riak: unknown option \"%s\" (known: %s)",
                               k, known);
}

/* Where a string option is kept. */
static char **string_slot(riak_t *r, const char *key)
{
    if (strcmp(key, "cacert") == 0)
        return &r->cacert;
    if (strcmp(key, "cert") == 0)
        return &r->cert;
    if (strcmp(key, "key") == 0)
        return &r->key;
    if (strcmp(key, "user") == 0)
        return &r->user;
    return &r->password_file;
}

static int keep_string(riak_t *r, const kvkit_backend_option_t *o, bool path, kvkit_error_t *err)
{
    if (o->value[0] == '\0')
        return kvkit_backend_error(err, KVKIT_BAD_OPTION, o->key, "riak: option \"%s\" is empty",
                                   o->key);
    /* a PEM path is checked now, so a typo is not reported as a TLS failure */
    if (path && access(o->value, R_OK) != 0)
        return kvkit_backend_error(err, KVKIT_BAD_OPTION, o->key,
                                   "riak: option \"%s\": cannot read \"%s\": %s", o->key, o->value,
                                   strerror(errno));
    char **slot = string_slot(r, o->key);
    free(*slot);
    if ((*slot = strdup(o->value)) == NULL)
        return kvkit_backend_error(err, KVKIT_NOMEM, o->key, "riak: out of memory");
    return KVKIT_OK;
}

static int apply_option(const struct option_rule *rule, const kvkit_backend_option_t *o,
                        opt_out_t *out, kvkit_error_t *err)
{
    int rc = KVKIT_OK, b = 0;
    uint64_t v = 0;
    switch (rule->kind) {
    case OPT_QUORUM:
        if ((rc = quorum_value(o, err)) == KVKIT_OK)
            add_params(out, rule->to, o->key, o->value);
        return rc;
    case OPT_FLAG:
        if ((rc = kvkit_backend_option_bool(o, &b, err)) == KVKIT_OK)
            add_params(out, rule->to, o->key, b ? "true" : "false");
        return rc;
    case OPT_NUMBER:
        if ((rc = kvkit_backend_option_uint(o, rule->min, rule->max, &v, err)) == KVKIT_OK)
            rule->set(out->r, v);
        return rc;
    case OPT_BLIND:
        if ((rc = kvkit_backend_option_bool(o, &b, err)) == KVKIT_OK)
            out->r->blind_writes = b;
        return rc;
    case OPT_SIBLINGS:
        if (!strcmp(o->value, "conflict"))
            out->r->siblings = SIBLINGS_CONFLICT;
        else if (!strcmp(o->value, "newest"))
            out->r->siblings = SIBLINGS_NEWEST;
        else
            return kvkit_backend_error(err, KVKIT_BAD_OPTION, o->key,
                                       "riak: option \"siblings\": expected conflict or "
                                       "newest, got \"%s\"",
                                       o->value);
        return KVKIT_OK;
    case OPT_PATH:
    case OPT_STRING:
        return keep_string(out->r, o, rule->kind == OPT_PATH, err);
    case OPT_DELETE_MODE:
        /* the cluster's own setting: with "immediate" no tombstone is ever
         * listed, so list_keys need not check each key */
        if (strcmp(o->value, "immediate") == 0)
            out->r->check_tombstones = false;
        else if (strcmp(o->value, "keep") != 0 &&
                 kvkit_backend_option_uint(o, 0, UINT32_MAX, &v, NULL) != KVKIT_OK)
            return kvkit_backend_error(err, KVKIT_BAD_OPTION, o->key,
                                       "riak: option \"delete_mode\": expected immediate, keep "
                                       "or a number of milliseconds (Riak's delete_mode), got "
                                       "\"%s\"",
                                       o->value);
        return KVKIT_OK;
    case OPT_TYPE:
        if (o->value[0] == '\0')
            return kvkit_backend_error(err, KVKIT_BAD_OPTION, o->key,
                                       "riak: option \"bucket_type\" is empty");
        out->prefix->len = 0;
        buf_adds(out->prefix, "/types/");
        url_escape(out->prefix, o->value, strlen(o->value));
        buf_adds(out->prefix, "/buckets/");
        out->typed = true;
        return KVKIT_OK;
    }
    return KVKIT_OK;
}

int riak_options_parse(riak_t *r, const kvkit_backend_option_t *opts, size_t n, buf_t *qg,
                       buf_t *qp, buf_t *qd, buf_t *prefix, kvkit_error_t *err)
{
    opt_out_t out = {r, {qg, qp, qd}, prefix, false};
    for (size_t i = 0; i < n; i++) {
        size_t j = 0;
        while (j < N_OPTIONS && strcmp(option_rules[j].key, opts[i].key) != 0)
            j++;
        int rc = j < N_OPTIONS ? apply_option(&option_rules[j], &opts[i], &out, err)
                               : unknown_option(opts[i].key, err);
        if (rc != KVKIT_OK)
            return rc;
    }
    if (!out.typed)
        buf_adds(prefix, "/buckets/");
    /* Riak's own timeout, so a slow quorum answers 503 instead of hanging */
    char t[32];
    snprintf(t, sizeof t, "%ld", r->timeout_ms);
    add_params(&out, TO(Q_GET) | TO(Q_PUT) | TO(Q_DEL), "timeout", t);
    add_param(qp, "returnbody", "true");
    return KVKIT_OK;
}

int riak_options_secure(riak_t *r, const char *location, kvkit_error_t *err)
{
    bool https = strncmp(location, "https://", 8) == 0;
    const char *tls = r->cacert ? "cacert" : r->cert ? "cert" : r->key ? "key" : NULL;
    if (tls && !https)
        return kvkit_backend_error(err, KVKIT_BAD_OPTION, tls,
                                   "riak: option \"%s\" needs an https:// location", tls);
    if (r->key && !r->cert)
        return kvkit_backend_error(err, KVKIT_BAD_OPTION, "key",
                                   "riak: option \"key\" needs \"cert\", the certificate it "
                                   "belongs to");
    if (r->password_file && !r->user)
        return kvkit_backend_error(err, KVKIT_BAD_OPTION, "password_file",
                                   "riak: option \"password_file\" needs \"user\"");
    if (r->user == NULL)
        return KVKIT_OK;
    if (!https)
        return kvkit_backend_error(err, KVKIT_BAD_OPTION, "user",
                                   "riak: option \"user\" (\"%s\") needs an https:// location: "
                                   "Riak security accepts credentials over HTTPS only",
                                   r->user);
    char pw[1024];
    int rc = kvsecret_password("riak", r->user, r->password_file, "KVKIT_RIAK_PASSWORD", pw,
                               sizeof pw, err);
    if (rc == KVKIT_OK && (r->password = strdup(pw)) == NULL)
        rc = kvkit_backend_error(err, KVKIT_NOMEM, "user", "riak: out of memory");
    kvsecret_wipe(pw, sizeof pw);
    return rc;
}
