/*
 * cmd_query.c - listings: ls (key ranges) and index (index queries).
 *
 * Both stream through a kvkit_iter_t, so memory stays constant however
 * many keys match.
 */
#include <config.h>

#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

/* Print every result of `it`; returns the exit status. */
static int drain(kvkit_iter_t *it, int docs, int json)
{
    if (it == NULL)
        return cli_error(EXIT_BACKEND, "out of memory");
    for (; kvkit_iter_valid(it); kvkit_iter_next(it)) {
        size_t klen, vlen = 0;
        const char *key = kvkit_iter_key(it, &klen);
        const char *value = docs ? kvkit_iter_value(it, &vlen) : NULL;
        int rc = docs ? cli_print_doc(stdout, key, klen, value, vlen)
                      : cli_print_key(stdout, key, klen, json);
        if (rc != 0) {
            kvkit_iter_destroy(it);
            return cli_error(EXIT_BACKEND, "write error on standard output");
        }
    }
    kvkit_error_t err = {0};
    int status = kvkit_iter_status(it, &err) == KVKIT_OK ? EXIT_OK : cli_fail(&err);
    kvkit_iter_destroy(it);
    return status;
}

static const struct option list_opts[] = {
    {"docs", no_argument, NULL, 'd'},
    {"json", no_argument, NULL, 'j'},
    {"string", no_argument, NULL, 'S'},
    {"schema", required_argument, NULL, 's'},
    {NULL, 0, NULL, 0},
};

typedef struct list_args {
    int docs, json, force_string;
    const char *schema;
} list_args_t;

static int parse_list_opts(const char *cmd, int argc, char **argv, int allow_value, list_args_t *a)
{
    int c;
    memset(a, 0, sizeof *a);
    while ((c = getopt_long(argc, argv, "", list_opts, NULL)) != -1) {
        switch (c) {
        case 'd':
            a->docs = 1;
            break;
        case 'j':
            a->json = 1;
            break;
        case 'S':
        case 's':
            if (allow_value) {
                if (c == 'S')
                    a->force_string = 1;
                else
                    a->schema = optarg;
                break;
            }
            /* fall through */
        default:
            if (c != '?')
                fprintf(stderr, "kvkit %s: option '%s' applies to 'index' only\n", cmd,
                        argv[optind - 1]);
            fprintf(stderr, "Try 'kvkit %s --help'.\n", cmd);
            return EXIT_USAGE;
        }
    }
    return EXIT_OK;
}

int cmd_ls(cli_t *cli, int argc, char **argv)
{
    list_args_t a;
    int status = parse_list_opts("ls", argc, argv, 0, &a);
    if (status != EXIT_OK)
        return status;
    int n = argc - optind;
    if (n < 1 || n > 3)
        return cli_usage("ls", "expected BUCKET [START [END]]");
    const char *bucket = argv[optind];
    const char *lo = n > 1 ? argv[optind + 1] : NULL, *hi = n > 2 ? argv[optind + 2] : NULL;
    if ((status = cli_check_names("ls", bucket, NULL)) != EXIT_OK)
        return status;
    kvkit_store_t *s = cli_open(cli->store, &status);
    if (s == NULL)
        return status;
    status = drain(kvkit_store_keys_iter(s, bucket, lo, hi, a.docs), a.docs, a.json);
    kvkit_store_close(s);
    return status;
}

int cmd_index(cli_t *cli, int argc, char **argv)
{
    list_args_t a;
    int status = parse_list_opts("index", argc, argv, 1, &a);
    if (status != EXIT_OK)
        return status;
    int n = argc - optind;
    const char *bucket = n >= 2 ? argv[optind] : NULL, *field = n >= 2 ? argv[optind + 1] : NULL;
    int is_bucket = field != NULL && strcmp(field, "$bucket") == 0;
    if (n < 2 || n > 4 || (n < 3 && !is_bucket))
        return cli_usage("index", "expected BUCKET FIELD VALUE [END]");
    if ((status = cli_check_names("index", bucket, NULL)) != EXIT_OK)
        return status;

    cli_indexer_t *ix = cli_indexer_create(a.schema, NULL, 0, &status);
    if (ix == NULL)
        return status;
    kvkit_error_t err = {0};
    json_t *lo = NULL, *hi = NULL;
    kvkit_store_t *s = NULL;
    if (cli_indexer_bind(ix, bucket, &err) != KVKIT_OK)
        goto fail;
    if (n >= 3 &&
        cli_indexer_query_value(ix, field, argv[optind + 2], a.force_string, &lo, &err) != KVKIT_OK)
        goto fail;
    if (n == 4 &&
        cli_indexer_query_value(ix, field, argv[optind + 3], a.force_string, &hi, &err) != KVKIT_OK)
        goto fail;
    if (lo != NULL && hi != NULL && json_is_string(lo) != json_is_string(hi)) {
        status = cli_usage("index", "VALUE and END must both be numbers or both strings "
                                    "(use --string for string bounds)");
        goto out;
    }
    if (!is_bucket && strcmp(field, "$key") != 0) { /* an index field, by the library's rule */
        kvkit_index_set_t *set = kvkit_index_set_create();
        int rc = set != NULL ? kvkit_index_set_add(set, field, lo, &err) : KVKIT_NOMEM;
        kvkit_index_set_destroy(set);
        if (rc == KVKIT_INVALID) {
            status = cli_usage("index", "%s", err.text);
            goto out;
        }
        if (rc != KVKIT_OK)
            goto fail;
    }
    if ((s = cli_open(cli->store, &status)) == NULL)
        goto out;
    if (cli_indexer_schema(ix) != NULL)
        status =
            cli_schema_run_query(cli_indexer_schema(ix), s, bucket, field, lo, hi, a.docs, a.json);
    else
        status = drain(kvkit_store_index_iter(s, bucket, field, lo, hi, a.docs), a.docs, a.json);
    goto out;
fail:
    status = cli_fail(&err);
out:
    kvkit_store_close(s);
    json_decref(lo);
    json_decref(hi);
    cli_indexer_destroy(ix);
    return status;
}
