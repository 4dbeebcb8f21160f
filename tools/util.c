/*
 * util.c - exit statuses, error messages, parsing and JSON-line output
 * shared by the kvkit commands.
 */
#include <config.h>

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"

/*** errors and exit statuses ***/

/* The table of kvkit(1), EXIT STATUS.  No default: a status added to
 * KVKIT_STATUS_LIST without an exit status here fails to compile. */
int cli_exit_status(int code)
{
    if (code == CLI_USAGE_ERROR)
        return EXIT_USAGE;
    switch ((kvkit_status_t)code) {
    case KVKIT_OK:
        return EXIT_OK;
    case KVKIT_NOTFOUND:
        return EXIT_NOTFOUND;
    case KVKIT_BAD_NAME:   /* the store string is malformed ... */
    case KVKIT_BAD_OPTION: /* ... or has an option the backend does not take */
        return EXIT_USAGE;
    case KVKIT_VALIDATION:
    case KVKIT_NOT_INDEXED:
    case KVKIT_TOO_LARGE:
    case KVKIT_REF_MISSING: /* a document's reference names a missing one */
        return EXIT_VALIDATION;
    /* KVKIT_INVALID past the tool's own checks (cli_open, cli_check_names)
     * is the library or the server refusing the request, e.g. a Riak HTTP
     * 400, which the riak plugin reports as KVKIT_INVALID. */
    case KVKIT_INVALID:
    case KVKIT_NOT_SUPPORTED:
    case KVKIT_NOMEM:
    case KVKIT_IO:
    case KVKIT_CONFLICT:
    case KVKIT_BACKEND:
    case KVKIT_TIMEOUT:
    case KVKIT_CORRUPT:
    case KVKIT_LOCKED:
    case KVKIT_OUTCOME_UNKNOWN:
    case KVKIT_AUTH:       /* the server refused the credentials ... */
    case KVKIT_PERMISSION: /* ... or the user may not do this */
        return EXIT_BACKEND;
    case KVKIT_NO_BACKEND:
    case KVKIT_PLUGIN_LOAD:
    case KVKIT_ABI:
    case KVKIT_PLUGIN_NAME:
    case KVKIT_PLUGIN_SYMBOL:
        return EXIT_NO_BACKEND;
    }
    return EXIT_BACKEND; /* not a status this tool knows */
}

int cli_fail(const kvkit_error_t *err)
{
    const char *text = err->text[0] != '\0' ? err->text : kvkit_strerror(err->code);
    fprintf(stderr, "kvkit: %s\n", text);
    return cli_exit_status(err->code);
}

int cli_error(int status, const char *fmt, ...)
{
    va_list ap;
    fputs("kvkit: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    return status;
}

int cli_usage(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "kvkit %s: ", cmd);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\nTry 'kvkit %s --help'.\n", cmd);
    return EXIT_USAGE;
}

static struct {
    int on;
    kvkit_store_t **stores;
    char **uris;
    size_t n;
} keep;

void cli_keep_begin(void)
{
    keep.on = 1;
}

void cli_keep_end(void)
{
    for (size_t i = 0; i < keep.n; i++) {
        kvkit_store_close(keep.stores[i]);
        free(keep.uris[i]);
    }
    free(keep.stores);
    free(keep.uris);
    memset(&keep, 0, sizeof keep);
}

/* A second handle on a volatile store, so it lives on after `s` closes. */
static void keep_alive(kvkit_store_t *s, const char *uri)
{
    const kvkit_backend_descriptor_t *d = kvkit_store_descriptor(s);
    if (d == NULL || (d->flags & KVKIT_BACKEND_DURABLE))
        return;
    for (size_t i = 0; i < keep.n; i++)
        if (strcmp(keep.uris[i], uri) == 0)
            return;
    kvkit_store_t **stores = realloc(keep.stores, (keep.n + 1) * sizeof *stores);
    if (stores != NULL)
        keep.stores = stores;
    char **uris = realloc(keep.uris, (keep.n + 1) * sizeof *uris);
    if (uris != NULL)
        keep.uris = uris;
    if (stores == NULL || uris == NULL || (uris[keep.n] = strdup(uri)) == NULL)
        return;
    if ((stores[keep.n] = kvkit_store_open(uri, NULL)) != NULL)
        keep.n++;
    else
        free(uris[keep.n]);
}

kvkit_store_t *cli_open(const char *uri, int *status)
{
    kvkit_error_t err = {0};
    kvkit_store_t *s = kvkit_store_open(uri, &err);
    if (s == NULL && err.code == KVKIT_INVALID)
        err.code = CLI_USAGE_ERROR;
    if (s == NULL)
        *status = cli_fail(&err);
    else if (keep.on)
        keep_alive(s, uri);
    return s;
}

int cli_check_names(const char *cmd, const char *bucket, const char *key)
{
    /* a scratch batch checks names as every store call does (one rule, the
     * library's), and touches no store */
    kvkit_batch_t *b = kvkit_batch_create();
    if (b == NULL)
        return cli_error(EXIT_BACKEND, "out of memory");
    kvkit_error_t err = {0};
    int rc = kvkit_batch_delete(b, bucket, key != NULL ? key : "k", &err);
    kvkit_batch_destroy(b);
    return rc == KVKIT_OK ? EXIT_OK : cli_usage(cmd, "%s", err.text);
}

/*** index values ***/

json_t *cli_field_values(const json_t *doc, const char *const *fields, size_t n_fields)
{
    json_t *out = json_object();
    for (size_t i = 0; out != NULL && i < n_fields; i++) {
        const json_t *v = json_is_object(doc) ? json_object_get(doc, fields[i]) : NULL;
        json_t *list = json_array();
        if (list == NULL || json_object_set_new(out, fields[i], list) != 0) {
            json_decref(out);
            return NULL;
        }
        if (json_is_array(v)) {
            size_t j;
            json_t *e;
            json_array_foreach(v, j, e) if (json_is_number(e) || json_is_string(e))
                json_array_append(list, e);
        } else if (json_is_number(v) || json_is_string(v)) {
            json_array_append(list, (json_t *)v);
        }
    }
    return out;
}

/*** parsing ***/

json_t *cli_query_value(const char *text, int force_string)
{
    if (!force_string) {
        json_error_t jerr;
        json_t *v = json_loads(text, JSON_DECODE_ANY, &jerr);
        if (v != NULL && json_is_number(v))
            return v;
        json_decref(v);
    }
    return json_string(text);
}

json_t *cli_parse_json(const char *text, size_t len, const char *what, kvkit_error_t *err)
{
    json_error_t jerr;
    json_t *v = json_loadb(text, len, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, &jerr);
    if (v == NULL)
        kvkit_backend_error(err, KVKIT_VALIDATION, what, "%s is not valid JSON: %s (column %d)",
                            what, jerr.text, jerr.column);
    return v;
}

char *cli_slurp(FILE *in, size_t max, size_t *len, int *too_large)
{
    *too_large = 0;
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap);
    if (buf == NULL)
        return NULL;
    size_t got;
    while ((got = fread(buf + n, 1, cap - n - 1, in)) > 0) {
        n += got;
        if (n > max) {
            free(buf);
            *too_large = 1;
            return NULL;
        }
        if (cap - n - 1 == 0) {
            /* up to max + 2: room for the byte past the limit and the NUL */
            size_t grow = cap * 2 > max + 2 ? max + 2 : cap * 2;
            char *grown = realloc(buf, grow);
            if (grown == NULL) {
                free(buf);
                return NULL;
            }
            buf = grown;
            cap = grow;
        }
    }
    if (ferror(in)) {
        free(buf);
        return NULL;
    }
    buf[n] = '\0';
    *len = n;
    return buf;
}

long cli_read_line(FILE *in, size_t max, char **line, size_t *cap)
{
    size_t n = 0;
    int c;
    flockfile(in);
    while ((c = getc_unlocked(in)) != EOF) {
        if (n + 2 > *cap) {
            size_t grow = *cap ? 2 * *cap : 256;
            char *grown = realloc(*line, grow);
            if (grown == NULL) {
                funlockfile(in);
                return -3;
            }
            *line = grown;
            *cap = grow;
        }
        (*line)[n++] = (char)c;
        if (c == '\n')
            break;
        if (n > max) {
            funlockfile(in);
            return -2;
        }
    }
    funlockfile(in);
    if (n == 0)
        return -1;
    (*line)[n] = '\0';
    return (long)n;
}

int cli_add_fields(const char ***fields, size_t *n, char *list)
{
    for (char *save = NULL, *f = strtok_r(list, ",", &save); f != NULL;
         f = strtok_r(NULL, ",", &save)) {
        const char **grown = realloc(*fields, (*n + 1) * sizeof *grown);
        if (grown == NULL)
            return -1;
        *fields = grown;
        (*fields)[(*n)++] = f;
    }
    return 0;
}

/*** output ***/

static int print_json_string(FILE *out, const char *s, size_t len)
{
    json_t *j = json_stringn(s, len);
    if (j == NULL)
        return -1;
    int rc = json_dumpf(j, out, JSON_ENCODE_ANY);
    json_decref(j);
    return rc;
}

int cli_print_key(FILE *out, const char *key, size_t key_len, int json)
{
    if (json ? print_json_string(out, key, key_len) != 0 : fwrite(key, 1, key_len, out) != key_len)
        return -1;
    return putc('\n', out) == EOF ? -1 : 0;
}

int cli_print_doc(FILE *out, const char *key, size_t key_len, const char *value, size_t value_len)
{
    fputs("{\"key\":", out);
    if (print_json_string(out, key, key_len) != 0)
        return -1;
    fputs(",\"value\":", out);
    json_t *v = json_loadb(value, value_len, JSON_DECODE_ANY, NULL);
    int rc;
    if (v != NULL && memchr(value, '\n', value_len) == NULL) {
        /* valid JSON on one line: keep the stored bytes (cheaper than re-encoding) */
        json_decref(v);
        rc = fwrite(value, 1, value_len, out) == value_len ? 0 : -1;
    } else if (v != NULL) {
        rc = json_dumpf(v, out, JSON_ENCODE_ANY | JSON_COMPACT | JSON_PRESERVE_ORDER);
        json_decref(v);
    } else {
        rc = print_json_string(out, value, value_len); /* not JSON: keep the text */
    }
    if (rc != 0)
        return -1;
    return fputs("}\n", out) == EOF ? -1 : 0;
}

double cli_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}
