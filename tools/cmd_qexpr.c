/*
 * cmd_qexpr.c - `kvkit query`: a compound query (kvkit-query(7)) on one
 * bucket, its plan (--explain), and paging by cursor.
 */
#include <config.h>

#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include <kvkit/query.h>

#include "cli.h"

typedef struct qargs {
    int docs, json, explain;
    const char *cursor;
    size_t page;
    const char **indexed; /* --index, borrowed from argv */
    size_t n_indexed;
    int have_index;
} qargs_t;

static int parse_page(const char *arg, size_t *out)
{
    char *end;
    unsigned long long v = strtoull(arg, &end, 10);
    if (arg[0] < '0' || arg[0] > '9' || *end != '\0' || v == 0 || v > 1000000)
        return cli_usage("query", "--page: expected a number of results from 1 to 1000000, got \"%s\"",
                         arg);
    *out = (size_t)v;
    return EXIT_OK;
}

static int parse_opts(int argc, char **argv, qargs_t *a)
{
    static const struct option opts[] = {
        {"docs", no_argument, NULL, 'd'},         {"json", no_argument, NULL, 'j'},
        {"explain", no_argument, NULL, 'e'},      {"cursor", required_argument, NULL, 'c'},
        {"page", required_argument, NULL, 'p'},   {"index", required_argument, NULL, 'i'},
        {NULL, 0, NULL, 0},
    };
    int c, status;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'd':
            a->docs = 1;
            break;
        case 'j':
            a->json = 1;
            break;
        case 'e':
            a->explain = 1;
            break;
        case 'c':
            a->cursor = optarg;
            break;
        case 'p':
            if ((status = parse_page(optarg, &a->page)) != EXIT_OK)
                return status;
            break;
        case 'i':
            a->have_index = 1;
            if (cli_add_fields(&a->indexed, &a->n_indexed, optarg) != 0)
                return cli_error(EXIT_BACKEND, "out of memory");
            break;
        default:
            fprintf(stderr, "Try 'kvkit query --help'.\n");
            return EXIT_USAGE;
        }
    }
    if (argc - optind != 2)
        return cli_usage("query", "expected BUCKET 'EXPRESSION'");
    return EXIT_OK;
}

typedef struct qout {
    int docs, json, failed;
} qout_t;

static int print_result(void *ctx, const char *key, size_t key_len, const char *value,
                        size_t value_len)
{
    qout_t *o = ctx;
    int rc = o->docs ? cli_print_doc(stdout, key, key_len, value, value_len)
                     : cli_print_key(stdout, key, key_len, o->json);
    if (rc != 0)
        o->failed = 1;
    return rc != 0;
}

/* Run the parsed query and print its results, then the next cursor. */
static int run(cli_t *cli, const qargs_t *a, const char *bucket, kvkit_qexpr_t *q)
{
    int status;
    kvkit_store_t *s = cli_open(cli->store, &status);
    if (s == NULL)
        return status;
    kvkit_error_t err = {0};
    qout_t o = {a->docs, a->json, 0};
    char *next = NULL;
    int rc = kvkit_query_exec(s, bucket, q, a->docs, a->page, a->cursor, &next, print_result, &o,
                              &err);
    kvkit_store_close(s);
    if (o.failed) {
        free(next);
        return cli_error(EXIT_BACKEND, "write error on standard output");
    }
    if (rc == KVKIT_INVALID && strncmp(err.text, "query:", 6) == 0)
        return free(next), cli_error(EXIT_USAGE, "%s", err.text);
    if (rc != KVKIT_OK)
        return free(next), cli_fail(&err);
    if (next != NULL)
        fprintf(stderr, "kvkit: next page: --cursor %s\n", next);
    free(next);
    return EXIT_OK;
}

int cmd_query(cli_t *cli, int argc, char **argv)
{
    qargs_t a = {0};
    int status = parse_opts(argc, argv, &a);
    const char *bucket = status == EXIT_OK ? argv[optind] : NULL;
    const char *text = status == EXIT_OK ? argv[optind + 1] : NULL;
    if (status == EXIT_OK)
        status = cli_check_names("query", bucket, NULL);
    kvkit_qexpr_t *q = NULL;
    kvkit_error_t err = {0};
    if (status == EXIT_OK && kvkit_query_parse(text, &q, &err) != KVKIT_OK)
        status = cli_error(err.code == KVKIT_INVALID ? EXIT_USAGE : EXIT_BACKEND, "%s", err.text);
    if (status == EXIT_OK && a.have_index &&
        kvkit_query_set_indexed(q, a.indexed, a.n_indexed, &err) != KVKIT_OK)
        status = cli_fail(&err);
    if (status == EXIT_OK && a.explain) {
        char *plan = NULL;
        if (kvkit_query_explain(q, &plan, &err) != KVKIT_OK)
            status = cli_error(EXIT_USAGE, "%s", err.text);
        else
            fputs(plan, stdout);
        free(plan);
    } else if (status == EXIT_OK) {
        status = run(cli, &a, bucket, q);
    }
    kvkit_query_free(q);
    free(a.indexed);
    return status;
}
