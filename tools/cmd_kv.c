/*
 * cmd_kv.c - single documents: get, put, delete.
 */
#include <config.h>

#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

/* Unknown option or missing argument: getopt has printed why. */
static int bad_option(const char *cmd)
{
    fprintf(stderr, "Try 'kvkit %s --help'.\n", cmd);
    return EXIT_USAGE;
}

/* The document in its JSON form through the schema (enums as values ...). */
static char *json_form(const char *schema, const char *bucket, const char *value, size_t len,
                       int pretty, int *status)
{
    kvkit_error_t err = {0};
    cli_indexer_t *ix = cli_indexer_create(schema, NULL, 0, status);
    if (ix == NULL)
        return NULL;
    char *out = NULL;
    json_t *stored = NULL, *doc = NULL;
    if (cli_indexer_bind(ix, bucket, &err) == KVKIT_OK &&
        (stored = cli_parse_json(value, len, "stored document", &err)) != NULL &&
        cli_schema_json_form(cli_indexer_schema(ix), stored, &doc, &err) == KVKIT_OK)
        out = json_dumps(doc, JSON_PRESERVE_ORDER | (pretty ? JSON_INDENT(2) : JSON_COMPACT));
    if (out == NULL)
        *status = err.code != KVKIT_OK ? cli_fail(&err) : cli_error(EXIT_BACKEND, "out of memory");
    json_decref(doc);
    json_decref(stored);
    cli_indexer_destroy(ix);
    return out;
}

int cmd_get(cli_t *cli, int argc, char **argv)
{
    static const struct option opts[] = {
        {"pretty", no_argument, NULL, 'p'},
        {"schema", required_argument, NULL, 's'},
        {NULL, 0, NULL, 0},
    };
    const char *schema = NULL;
    int pretty = 0, c;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        if (c == 'p')
            pretty = 1;
        else if (c == 's')
            schema = optarg;
        else
            return bad_option("get");
    }
    if (argc - optind != 2)
        return cli_usage("get", "expected BUCKET KEY");
    const char *bucket = argv[optind], *key = argv[optind + 1];

    int status = cli_check_names("get", bucket, key);
    if (status != EXIT_OK)
        return status;
    kvkit_store_t *s = cli_open(cli->store, &status);
    if (s == NULL)
        return status;
    kvkit_error_t err = {0};
    char *value = NULL, *text = NULL;
    size_t len = 0;
    int rc = kvkit_store_get(s, bucket, key, &value, &len, &err);
    if (rc == KVKIT_NOTFOUND) {
        status = cli_error(EXIT_NOTFOUND, "get \"%s\" in bucket \"%s\": not found", key, bucket);
    } else if (rc != KVKIT_OK) {
        status = cli_fail(&err);
    } else if (schema != NULL) {
        if ((text = json_form(schema, bucket, value, len, pretty, &status)) != NULL)
            puts(text);
    } else {
        json_t *doc = pretty ? json_loadb(value, len, JSON_DECODE_ANY, NULL) : NULL;
        if (doc != NULL) {
            json_dumpf(doc, stdout, JSON_ENCODE_ANY | JSON_INDENT(2) | JSON_PRESERVE_ORDER);
            json_decref(doc);
            putchar('\n');
        } else {
            fwrite(value, 1, len, stdout);
            if (len == 0 || value[len - 1] != '\n')
                putchar('\n');
        }
    }
    free(text);
    free(value);
    kvkit_store_close(s);
    return status;
}

/* --entry FIELD=JSON: an explicit index entry (scalar or array).  What is
 * wrong with it is wrong with the command line: EXIT_USAGE. */
static int add_entry(kvkit_index_set_t *set, const char *spec)
{
    const char *eq = strchr(spec, '=');
    if (eq == NULL || eq == spec)
        return cli_usage("put", "--entry \"%s\": expected FIELD=VALUE", spec);
    char field[KVKIT_FIELD_MAX + 1];
    size_t flen = (size_t)(eq - spec);
    if (flen > KVKIT_FIELD_MAX)
        return cli_usage("put", "--entry: field name too long");
    memcpy(field, spec, flen);
    field[flen] = '\0';
    json_t *v = cli_query_value(eq + 1, 0);
    if (v == NULL)
        return cli_error(EXIT_BACKEND, "out of memory");
    kvkit_error_t err = {0};
    int rc = kvkit_index_set_add(set, field, v, &err);
    json_decref(v);
    if (rc == KVKIT_INVALID)
        return cli_usage("put", "--entry: %s", err.text);
    return rc == KVKIT_OK ? EXIT_OK : cli_fail(&err);
}

/* What `kvkit put` was asked besides BUCKET KEY [JSON|-]. */
typedef struct put_args {
    const char *schema;
    const char **fields, **entries; /* --index FIELD,...; --entry FIELD=JSON */
    size_t n_fields, n_entries;
} put_args_t;

static int put_options(int argc, char **argv, put_args_t *a)
{
    static const struct option opts[] = {
        {"schema", required_argument, NULL, 's'},
        {"index", required_argument, NULL, 'i'},
        {"entry", required_argument, NULL, 'e'},
        {NULL, 0, NULL, 0},
    };
    int c;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        if (c == 's') {
            a->schema = optarg;
        } else if (c == 'i') {
            cli_add_fields(&a->fields, &a->n_fields, optarg);
        } else if (c == 'e') {
            const char **grown = realloc(a->entries, (a->n_entries + 1) * sizeof *grown);
            if (grown == NULL)
                return cli_error(EXIT_BACKEND, "out of memory");
            a->entries = grown;
            a->entries[a->n_entries++] = optarg;
        } else {
            return bad_option("put");
        }
    }
    return EXIT_OK;
}

/* The document's text: the argument, or standard input for "-" (at most
 * --max-input bytes).  *text is the caller's to free. */
static int put_text(cli_t *cli, const char *arg, char **text, size_t *len)
{
    if (strcmp(arg, "-") != 0) {
        *text = strdup(arg);
        *len = strlen(arg);
        return EXIT_OK;
    }
    int too_large;
    if ((*text = cli_slurp(stdin, cli->max_input, len, &too_large)) != NULL)
        return EXIT_OK;
    if (too_large)
        return cli_error(cli_exit_status(KVKIT_TOO_LARGE),
                         "put: standard input is larger than the input limit of %zu bytes "
                         "(--max-input)",
                         cli->max_input);
    return cli_error(EXIT_BACKEND, "put: cannot read standard input");
}

/* Prepare the document (through the schema or the --index fields, plus the
 * --entry entries) and save it. */
static int put_save(cli_t *cli, const put_args_t *a, const char *bucket, const char *key,
                    const char *text, size_t text_len)
{
    kvkit_error_t err = {0};
    cli_indexer_t *ix = NULL;
    kvkit_index_set_t *set = NULL;
    kvkit_store_t *s = NULL;
    char *value = NULL;
    int status = EXIT_OK;
    json_t *doc = cli_parse_json(text, text_len, "document", &err);
    if (doc == NULL) {
        status = cli_fail(&err);
        goto out;
    }
    if ((ix = cli_indexer_create(a->schema, a->fields, a->n_fields, &status)) == NULL)
        goto out;
    if ((set = kvkit_index_set_create()) == NULL) {
        status = cli_error(EXIT_BACKEND, "out of memory");
        goto out;
    }
    if (cli_indexer_bind(ix, bucket, &err) != KVKIT_OK ||
        cli_indexer_prepare(ix, doc, 0, &value, set, &err) != KVKIT_OK) {
        status = cli_fail(&err);
        goto out;
    }
    for (size_t i = 0; i < a->n_entries; i++)
        if ((status = add_entry(set, a->entries[i])) != EXIT_OK)
            goto out;
    if ((s = cli_open(cli->store, &status)) == NULL)
        goto out;
    if (kvkit_store_save(s, bucket, key, value, strlen(value), set, &err) != KVKIT_OK)
        status = cli_fail(&err);
out:
    kvkit_store_close(s);
    free(value);
    kvkit_index_set_destroy(set);
    cli_indexer_destroy(ix);
    json_decref(doc);
    return status;
}

int cmd_put(cli_t *cli, int argc, char **argv)
{
    put_args_t a = {0};
    char *text = NULL;
    size_t text_len = 0;
    int status = put_options(argc, argv, &a);
    if (status == EXIT_OK && (argc - optind < 2 || argc - optind > 3))
        status = cli_usage("put", "expected BUCKET KEY [JSON|-]");
    if (status == EXIT_OK) {
        const char *bucket = argv[optind], *key = argv[optind + 1];
        const char *arg = argc - optind == 3 ? argv[optind + 2] : "-";
        if ((status = cli_check_names("put", bucket, key)) == EXIT_OK &&
            (status = put_text(cli, arg, &text, &text_len)) == EXIT_OK)
            status = put_save(cli, &a, bucket, key, text, text_len);
    }
    free(text);
    free(a.fields);
    free(a.entries);
    return status;
}

int cmd_delete(cli_t *cli, int argc, char **argv)
{
    static const struct option opts[] = {{NULL, 0, NULL, 0}};
    if (getopt_long(argc, argv, "", opts, NULL) != -1)
        return bad_option("delete");
    if (argc - optind != 2)
        return cli_usage("delete", "expected BUCKET KEY");
    int status = cli_check_names("delete", argv[optind], argv[optind + 1]);
    if (status != EXIT_OK)
        return status;
    kvkit_store_t *s = cli_open(cli->store, &status);
    if (s == NULL)
        return status;
    kvkit_error_t err = {0};
    if (kvkit_store_delete(s, argv[optind], argv[optind + 1], &err) != KVKIT_OK)
        status = cli_fail(&err);
    kvkit_store_close(s);
    return status;
}
