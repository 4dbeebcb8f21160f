/*
 * cmd_transfer.c - moving many documents: export, import, copy.
 *
 * The line format of export and import is one JSON object per line,
 * {"key": KEY, "value": DOCUMENT}.  Writes go through kvkit_batch_* and
 * kvkit_store_write, --batch documents at a time (all or nothing per batch on
 * KVKIT_BACKEND_ATOMIC_BATCH engines).  A progress bar is drawn when stderr is a
 * terminal; a summary line ends every run unless -q.
 */
#include <config.h>

#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"

#define DEFAULT_BATCH 1000

static int count_key(void *ctx, const char *key, size_t len)
{
    (*(uint64_t *)ctx)++;
    return 0;
}

/* Number of keys in the bucket, for the progress bar's ETA (0 if unknown). */
static uint64_t count_keys(const cli_t *cli, kvkit_store_t *s, const char *bucket)
{
    uint64_t n = 0;
    if (cli->progress && kvkit_store_list_keys(s, bucket, NULL, NULL, count_key, &n, NULL) != 0)
        n = 0;
    return n;
}

/*** export ***/

int cmd_export(cli_t *cli, int argc, char **argv)
{
    static const struct option opts[] = {{NULL, 0, NULL, 0}};
    if (getopt_long(argc, argv, "", opts, NULL) != -1) {
        fprintf(stderr, "Try 'kvkit export --help'.\n");
        return EXIT_USAGE;
    }
    if (argc - optind != 1)
        return cli_usage("export", "expected BUCKET");
    const char *bucket = argv[optind];
    int status = cli_check_names("export", bucket, NULL);
    if (status != EXIT_OK)
        return status;
    kvkit_store_t *s = cli_open(cli->store, &status);
    if (s == NULL)
        return status;
    cli_progress_t p;
    cli_progress_start(&p, cli, "exported", count_keys(cli, s, bucket));
    uint64_t n = 0;
    kvkit_iter_t *it = kvkit_store_keys_iter(s, bucket, NULL, NULL, 1);
    for (; it != NULL && kvkit_iter_valid(it); kvkit_iter_next(it)) {
        size_t klen, vlen;
        const char *key = kvkit_iter_key(it, &klen);
        const char *value = kvkit_iter_value(it, &vlen);
        if (cli_print_doc(stdout, key, klen, value, vlen) != 0) {
            status = cli_error(EXIT_BACKEND, "export: write error on standard output");
            break;
        }
        n++;
        cli_progress_update(&p, n, n);
    }
    kvkit_error_t err = {0};
    if (it == NULL)
        status = cli_error(EXIT_BACKEND, "out of memory");
    else if (status == EXIT_OK && kvkit_iter_status(it, &err) != KVKIT_OK)
        status = cli_fail(&err);
    kvkit_iter_destroy(it);
    char what[300];
    snprintf(what, sizeof what, "from bucket \"%s\"", bucket);
    cli_progress_end(&p, n, what);
    kvkit_store_close(s);
    return status;
}

/*** shared by import and copy ***/

typedef struct writer {
    kvkit_store_t *store;
    kvkit_batch_t *batch;
    size_t limit;
    kvkit_index_set_t *set;
    cli_jsonline_t *scan; /* import's fast path (NULL: not used) */
    uint64_t written;     /* documents in successful writes */
} writer_t;

static int writer_flush(writer_t *w, kvkit_error_t *err)
{
    if (kvkit_batch_size(w->batch) == 0)
        return KVKIT_OK;
    int rc = kvkit_store_write(w->store, w->batch, err);
    if (rc == KVKIT_OK)
        w->written += kvkit_batch_size(w->batch);
    kvkit_batch_destroy(w->batch);
    w->batch = kvkit_batch_create();
    if (rc == KVKIT_OK && w->batch == NULL)
        rc = kvkit_backend_error(err, KVKIT_NOMEM, "", "out of memory");
    return rc;
}

/* Queue one document (its entries in w->set); flushes a full batch.  A key
 * the batch refuses (empty, too long: the library's rule) is the input's
 * fault when it came from input line `lineno` (0: it did not):
 * KVKIT_VALIDATION "line N: ...",
 * like every other bad line, not the store's KVKIT_INVALID. */
static int writer_add(writer_t *w, const char *bucket, const char *key, const char *value,
                      size_t len, uint64_t lineno, kvkit_error_t *err)
{
    kvkit_error_t e = {0};
    int rc = kvkit_batch_save(w->batch, bucket, key, value, len, w->set, &e);
    if (rc == KVKIT_INVALID && lineno != 0)
        return kvkit_backend_error(err, KVKIT_VALIDATION, key, "line %llu: %s",
                                   (unsigned long long)lineno, e.text);
    if (rc != KVKIT_OK) {
        *err = e;
        return rc;
    }
    if (kvkit_batch_size(w->batch) >= w->limit)
        rc = writer_flush(w, err);
    return rc;
}

static int writer_init(writer_t *w, kvkit_store_t *s, size_t limit)
{
    w->store = s;
    w->limit = limit;
    w->batch = kvkit_batch_create();
    w->set = kvkit_index_set_create();
    return w->batch != NULL && w->set != NULL ? 0 : -1;
}

static void writer_fini(writer_t *w)
{
    free(w->scan);
    kvkit_batch_destroy(w->batch);
    kvkit_index_set_destroy(w->set);
}

static int parse_batch(const char *cmd, const char *arg, size_t *out)
{
    char *end;
    unsigned long v = strtoul(arg, &end, 10);
    if (*arg == '\0' || *end != '\0' || v == 0 || v > 1000000)
        return cli_usage(cmd, "--batch: expected a number from 1 to 1000000, got \"%s\"", arg);
    *out = v;
    return EXIT_OK;
}

static const struct option bulk_opts[] = {
    {"schema", required_argument, NULL, 's'}, {"index", required_argument, NULL, 'i'},
    {"no-index", no_argument, NULL, 'n'},     {"json-form", no_argument, NULL, 'j'},
    {"batch", required_argument, NULL, 'b'},  {NULL, 0, NULL, 0},
};

typedef struct bulk_args {
    const char *schema;
    const char **fields;
    size_t n_fields;
    int no_index;
    int json_form; /* import: values in the schema's JSON form, as put takes them */
    size_t batch;
} bulk_args_t;

static int parse_bulk(const char *cmd, int argc, char **argv, bulk_args_t *a)
{
    int c;
    memset(a, 0, sizeof *a);
    a->batch = DEFAULT_BATCH;
    while ((c = getopt_long(argc, argv, "", bulk_opts, NULL)) != -1) {
        int status = EXIT_OK;
        if (c == 's')
            a->schema = optarg;
        else if (c == 'i')
            cli_add_fields(&a->fields, &a->n_fields, optarg);
        else if (c == 'n' && strcmp(cmd, "copy") == 0)
            a->no_index = 1;
        else if (c == 'j' && strcmp(cmd, "import") == 0)
            a->json_form = 1;
        else if (c == 'b')
            status = parse_batch(cmd, optarg, &a->batch);
        else
            status = cli_usage(cmd, "unknown option");
        if (status != EXIT_OK)
            return status;
    }
    return EXIT_OK;
}

/*** import ***/

/* The store string import opens: a LevelDB store gets bulk_load=true
 * (kvkit-leveldb(7): LevelDB sized for a load, in less memory) unless it
 * names bulk_load itself.  Malloc'd; NULL when out of memory. */
static char *import_store(const char *uri)
{
    const char *query = strchr(uri, '?');
    int add = strncmp(uri, "leveldb:", 8) == 0 &&
              (query == NULL || (strncmp(query + 1, "bulk_load=", 10) != 0 &&
                                 strstr(query, "&bulk_load=") == NULL));
    size_t len = strlen(uri);
    char *out = malloc(len + sizeof "?bulk_load=true");
    if (out != NULL)
        snprintf(out, len + sizeof "?bulk_load=true", "%s%s", uri,
                 !add ? "" : query == NULL ? "?bulk_load=true" : "&bulk_load=true");
    return out;
}

static kvkit_store_t *import_open(const char *store, int *status)
{
    char *uri = import_store(store);
    if (uri == NULL) {
        *status = cli_error(EXIT_BACKEND, "out of memory");
        return NULL;
    }
    kvkit_store_t *s = cli_open(uri, status);
    free(uri);
    return s;
}

/* One input line -> a queued save.  Errors name the line.  A line already
 * in stored form (what export writes) is queued straight from its bytes
 * (jsonline.c); any other goes through jansson, which also words every
 * error. */
static int import_line(writer_t *w, cli_indexer_t *ix, int json_form, const char *bucket,
                       char *line, size_t len, uint64_t lineno, kvkit_error_t *err)
{
    if (w->scan != NULL && cli_jsonline_scan(line, len, w->scan) &&
        cli_indexer_prepare_line(ix, w->scan, w->set)) {
        line[w->scan->key - line + w->scan->key_len] = '\0'; /* the key's closing quote */
        return writer_add(w, bucket, w->scan->key, w->scan->value, w->scan->value_len, lineno, err);
    }
    char what[64];
    json_t *obj = json_loadb(line, len, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, NULL);
    if (obj == NULL) { /* the label is formatted only on failure: lines stay cheap */
        snprintf(what, sizeof what, "line %llu", (unsigned long long)lineno);
        cli_parse_json(line, len, what, err); /* again, for the message */
        return KVKIT_VALIDATION;
    }
    int rc = KVKIT_OK;
    json_t *key = json_object_get(obj, "key"), *doc = json_object_get(obj, "value");
    char *value = NULL;
    if (!json_is_string(key) || doc == NULL) {
        snprintf(what, sizeof what, "line %llu", (unsigned long long)lineno);
        rc = kvkit_backend_error(err, KVKIT_VALIDATION, what,
                                 "%s: expected {\"key\": STRING, \"value\": DOCUMENT}", what);
        goto out;
    }
    kvkit_error_t e = {0};
    if ((rc = cli_indexer_prepare(ix, doc, !json_form, &value, w->set, &e)) != KVKIT_OK) {
        if (rc == KVKIT_CORRUPT) /* not a stored form: the input line is what is wrong */
            rc = KVKIT_VALIDATION;
        snprintf(what, sizeof what, "line %llu", (unsigned long long)lineno);
        kvkit_backend_error(err, rc, json_string_value(key), "%s: key \"%s\": %s", what,
                            json_string_value(key), e.text);
        goto out;
    }
    rc = writer_add(w, bucket, json_string_value(key), value, strlen(value), lineno, err);
out:
    free(value);
    json_decref(obj);
    return rc;
}

int cmd_import(cli_t *cli, int argc, char **argv)
{
    bulk_args_t a;
    int status = parse_bulk("import", argc, argv, &a);
    if (status != EXIT_OK)
        goto out_args;
    if (argc - optind != 1) {
        status = cli_usage("import", "expected BUCKET");
        goto out_args;
    }
    const char *bucket = argv[optind];
    if ((status = cli_check_names("import", bucket, NULL)) != EXIT_OK)
        goto out_args;
    cli_indexer_t *ix = cli_indexer_create(a.schema, a.fields, a.n_fields, &status);
    if (ix == NULL)
        goto out_args;
    kvkit_store_t *s = NULL;
    writer_t w = {0};
    kvkit_error_t err = {0};
    if (cli_indexer_bind(ix, bucket, &err) != KVKIT_OK) {
        status = cli_fail(&err);
        goto out;
    }
    if ((s = import_open(cli->store, &status)) == NULL)
        goto out;
    if (!cli_indexer_schema(ix))
        w.scan = malloc(sizeof *w.scan);
    if (writer_init(&w, s, a.batch) != 0 || (!cli_indexer_schema(ix) && w.scan == NULL)) {
        status = cli_error(EXIT_BACKEND, "out of memory");
        goto out;
    }
    struct stat st;
    uint64_t size = fstat(0, &st) == 0 && S_ISREG(st.st_mode) ? (uint64_t)st.st_size : 0;
    cli_progress_t p;
    cli_progress_start(&p, cli, "imported", size);

    char *line = NULL;
    size_t cap = 0;
    long len;
    uint64_t lineno = 0, n = 0, pos = 0;
    int rc = KVKIT_OK;
    while (rc == KVKIT_OK && (len = cli_read_line(stdin, cli->max_input, &line, &cap)) >= 0) {
        lineno++;
        pos += (uint64_t)len;
        while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
            line[--len] = '\0';
        if (strspn(line, " \t") == (size_t)len)
            continue; /* blank line */
        if ((rc = import_line(&w, ix, a.json_form, bucket, line, (size_t)len, lineno, &err)) ==
            KVKIT_OK)
            cli_progress_update(&p, ++n, pos);
    }
    free(line);
    if (rc == KVKIT_OK && len == -2)
        rc = kvkit_backend_error(&err, KVKIT_TOO_LARGE, "stdin",
                                 "import: standard input, line %llu is longer than the input "
                                 "limit of %zu bytes (--max-input)",
                                 (unsigned long long)lineno + 1, cli->max_input);
    else if (rc == KVKIT_OK && len == -3)
        rc = kvkit_backend_error(&err, KVKIT_NOMEM, "stdin", "import: out of memory");
    else if (rc == KVKIT_OK && ferror(stdin))
        rc = kvkit_backend_error(&err, KVKIT_IO, "stdin", "import: cannot read standard input");
    if (rc == KVKIT_OK)
        rc = writer_flush(&w, &err);
    char what[300];
    snprintf(what, sizeof what, "into bucket \"%s\"", bucket);
    cli_progress_end(&p, w.written, what);
    if (rc != KVKIT_OK)
        status = cli_fail(&err);
out:
    writer_fini(&w);
    kvkit_store_close(s);
    cli_indexer_destroy(ix);
out_args:
    free(a.fields);
    return status;
}

/*** copy ***/

static int copy_bucket(const cli_t *cli, kvkit_store_t *src, writer_t *w, cli_indexer_t *ix,
                       const char *bucket, kvkit_error_t *err)
{
    cli_progress_t p;
    cli_progress_start(&p, cli, "copied", count_keys(cli, src, bucket));
    p.quiet = 1; /* one summary for the whole copy */
    int rc = cli_indexer_bind(ix, bucket, err);
    uint64_t n = 0;
    kvkit_iter_t *it = rc == KVKIT_OK ? kvkit_store_keys_iter(src, bucket, NULL, NULL, 1) : NULL;
    for (; it != NULL && rc == KVKIT_OK && kvkit_iter_valid(it); kvkit_iter_next(it)) {
        size_t klen, vlen;
        const char *key = kvkit_iter_key(it, &klen);
        const char *value = kvkit_iter_value(it, &vlen);
        kvkit_index_set_clear(w->set);
        if (cli_indexer_active(ix)) {
            json_t *doc = json_loadb(value, vlen, JSON_DECODE_ANY, NULL);
            if (doc == NULL) { /* the message is built only on failure */
                char what[KVKIT_KEY_MAX + 16];
                snprintf(what, sizeof what, "\"%s\"", key);
                cli_parse_json(value, vlen, what, err);
                break;
            }
            kvkit_error_t e = {0};
            rc = cli_indexer_prepare(ix, doc, 1, NULL, w->set, &e);
            json_decref(doc);
            if (rc != KVKIT_OK) {
                kvkit_backend_error(err, rc, key, "copy \"%s\" in bucket \"%s\": %s", key, bucket,
                                    e.text);
                break;
            }
        }
        /* the stored bytes are copied unchanged */
        if ((rc = writer_add(w, bucket, key, value, vlen, 0, err)) == KVKIT_OK)
            n++;
        cli_progress_update(&p, n, n);
    }
    if (it == NULL && rc == KVKIT_OK)
        rc = kvkit_backend_error(err, KVKIT_NOMEM, "", "out of memory");
    else if (it == NULL || err->code != KVKIT_OK)
        rc = err->code;
    else if ((rc = kvkit_iter_status(it, err)) == KVKIT_OK)
        rc = writer_flush(w, err);
    kvkit_iter_destroy(it);
    cli_progress_end(&p, n, NULL);
    return rc;
}

int cmd_copy(cli_t *cli, int argc, char **argv)
{
    bulk_args_t a;
    int status = parse_bulk("copy", argc, argv, &a);
    if (status != EXIT_OK)
        goto out_args;
    if (argc - optind < 2) {
        status = cli_usage("copy", "expected SRC_STORE DST_STORE [BUCKET...]");
        goto out_args;
    }
    if (a.no_index == (a.schema != NULL || a.n_fields > 0)) {
        status = cli_usage("copy", "give exactly one of --schema, --index or --no-index: "
                                   "index entries cannot be read from a store, only rebuilt");
        goto out_args;
    }
    const char *from = argv[optind], *to = argv[optind + 1];
    cli_indexer_t *ix = cli_indexer_create(a.schema, a.fields, a.n_fields, &status);
    if (ix == NULL)
        goto out_args;
    const char *schema_buckets[64];
    const char **buckets = (const char **)argv + optind + 2;
    int n_buckets = argc - optind - 2;
    if (n_buckets == 0) {
        n_buckets = (int)cli_indexer_buckets(ix, schema_buckets, 64);
        buckets = schema_buckets;
    }
    kvkit_store_t *src = NULL, *dst = NULL;
    writer_t w = {0};
    if (n_buckets == 0) {
        status = cli_usage("copy", "name the buckets to copy (a store cannot list its buckets)");
        goto out;
    }
    for (int i = 0; i < n_buckets; i++)
        if ((status = cli_check_names("copy", buckets[i], NULL)) != EXIT_OK)
            goto out;
    if ((src = cli_open(from, &status)) == NULL || (dst = cli_open(to, &status)) == NULL)
        goto out;
    if (writer_init(&w, dst, a.batch) != 0) {
        status = cli_error(EXIT_BACKEND, "out of memory");
        goto out;
    }
    cli_progress_t total;
    cli_progress_start(&total, cli, "copied", 0);
    kvkit_error_t err = {0};
    int rc = KVKIT_OK;
    for (int i = 0; i < n_buckets && rc == KVKIT_OK; i++)
        rc = copy_bucket(cli, src, &w, ix, buckets[i], &err);
    char what[600];
    snprintf(what, sizeof what, "in %d bucket%s from %s to %s", n_buckets,
             n_buckets == 1 ? "" : "s", from, to);
    cli_progress_end(&total, w.written, what);
    if (rc != KVKIT_OK)
        status = cli_fail(&err);
out:
    writer_fini(&w);
    kvkit_store_close(src);
    kvkit_store_close(dst);
    cli_indexer_destroy(ix);
out_args:
    free(a.fields);
    return status;
}
