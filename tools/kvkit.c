/*
 * kvkit.c - the kvkit command-line tool: global options and dispatch.
 *
 *   kvkit [-s STORE] [-P DIR]... [-q] COMMAND [ARGS...]
 *
 * Each command parses its own options (cmd_*.c) and returns an exit status
 * from cli.h; kvkit(1) documents both.
 */
#include <config.h>

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"

#define STORE_HELP "  -s, --store STORE   store string NAME:LOCATION[?k=v&...]\n"

#define INDEX_HELP                                                                                 \
    "      --schema FILE   validate and index documents with this schema\n"                        \
    "      --index FIELDS  index these top-level fields (comma-separated)\n"

static const cli_cmd_t commands[] = {
    {"backends", cmd_backends, "[--json]",
     "List every backend found (registered ones and NAME.so files in each plugin\n"
     "directory, in search order) with file, version, ABI and description, broken\n"
     "plugins with the reason, then the plugin search path.\n"
     "      --json          one JSON object per line\n"},
    {"get", cmd_get, "[--pretty] [--schema FILE] BUCKET KEY",
     "Print the document stored under BUCKET/KEY (exit 1 when absent), as stored.\n"
     "      --pretty        indent the JSON document\n"
     "      --schema FILE   print it in its JSON form (enum values, not indexes)\n"},
    {"put", cmd_put, "[--schema FILE | --index FIELDS] BUCKET KEY [JSON|-]",
     "Store a JSON document (from the argument, or stdin with - or no argument).\n" INDEX_HELP
     "      --entry FIELD=JSON  add an explicit index entry (repeatable; raw use)\n"},
    {"delete", cmd_delete, "BUCKET KEY",
     "Delete BUCKET/KEY and its index entries (absent keys are not an error).\n"},
    {"ls", cmd_ls, "[--docs] [--json] BUCKET [START [END]]",
     "List the keys of BUCKET in [START, END] (bytewise, inclusive, open when left out).\n"
     "      --docs          print {\"key\":...,\"value\":...} lines instead of keys\n"
     "      --json          print keys as JSON strings\n"},
    {"index", cmd_index, "[--docs] [--json] [--string] [--schema FILE] BUCKET FIELD VALUE [END]",
     "List the keys whose FIELD equals VALUE, or lies in [VALUE, END].\n"
     "VALUE and END are numbers when they parse as JSON numbers, else strings;\n"
     "--string forces strings, and with --schema the field's declared kind decides.\n"
     "FIELD may be $key (key range) or $bucket (every key).  Put -- before\n"
     "negative numbers.\n"
     "      --docs          print {\"key\":...,\"value\":...} lines instead of keys\n"
     "      --json          print keys as JSON strings\n"
     "      --string        treat VALUE and END as strings\n"
     "      --schema FILE   take value kinds from this schema\n"},
    {"query", cmd_query, "[--docs] [--json] [--explain] [--index FIELDS] [--page N] [--cursor TOKEN] BUCKET 'EXPRESSION'",
     "List the keys matching a compound query (kvkit-query(7)), e.g.\n"
     "  author = \"alice\" and year >= 2020 order by year desc limit 20\n"
     "      --docs          print {\"key\":...,\"value\":...} lines instead of keys\n"
     "      --json          print keys as JSON strings\n"
     "      --explain       print the plan instead of running the query\n"
     "      --index FIELDS  only these fields have an index (default: every field)\n"
     "      --page N        at most N results, then the next page's cursor on stderr\n"
     "      --cursor TOKEN  resume after the page that printed TOKEN\n"},
    {"export", cmd_export, "BUCKET",
     "Write every document of BUCKET to stdout as {\"key\":...,\"value\":...} lines.\n"},
    {"import", cmd_import, "[--schema FILE [--json-form] | --index FIELDS] [--batch N] BUCKET",
     "Read {\"key\":...,\"value\":...} lines from stdin and store them, N per batch\n"
     "(default 1000).  With --schema, values are in the stored form export writes.\n" INDEX_HELP
     "      --json-form     values are in the schema's JSON form, as put takes them\n"
     "      --batch N       documents per batch write\n"},
    {"copy", cmd_copy,
     "(--schema FILE | --index FIELDS | --no-index) [--batch N] SRC_STORE DST_STORE [BUCKET...]",
     "Copy every document of each BUCKET (default: the schema's bucket) from\n"
     "SRC_STORE to DST_STORE.  Index entries cannot be read back from a store, so\n"
     "they are recomputed from --schema or --index; --no-index copies documents only.\n" INDEX_HELP
     "      --no-index      copy documents without index entries\n"
     "      --batch N       documents per batch write\n"},
    {"check", cmd_check, "(--schema FILE | --index FIELDS) [--repair] BUCKET",
     "Verify that the index entries of BUCKET agree with its documents; print each\n"
     "mismatch as a JSON line.  --repair re-saves the documents concerned and removes\n"
     "entries that point at missing documents.  Exit 3 when mismatches remain.\n" INDEX_HELP
     "      --repair        fix what was found\n"},
    {"compact", cmd_compact, "", "Compact the store, where the backend supports it.\n"},
    {"repair", cmd_repair, "", "Repair the store's files, where the backend supports it.\n"},
    {"script", cmd_script, "FILE",
     "Run the commands of FILE (- for stdin), one per line, in this one process,\n"
     "stopping at the first that fails.  A line is [-s STORE] COMMAND ARGS...,\n"
     "split like a shell would ('...' and \"...\" quote, \\ escapes, # comments).\n"
     "Stores that do not outlive a process (memory:NAME) stay alive for the whole\n"
     "script, so commands can share them.\n"},
    {"conformance", cmd_conformance, "STORE [ARGS...]",
     "Run the backend conformance suite (kvkit-conformance) against STORE.\n"
     "The program is looked up in $KVKIT_CONFORMANCE, next to kvkit, then in the\n"
     "installation's bindir.\n"},
};

#define N_COMMANDS (sizeof commands / sizeof commands[0])

const cli_cmd_t *cli_command(const char *name)
{
    for (size_t i = 0; i < N_COMMANDS; i++)
        if (strcmp(commands[i].name, name) == 0)
            return &commands[i];
    return NULL;
}

int cli_help(const cli_cmd_t *cmd, FILE *out)
{
    fprintf(out, "Usage: kvkit [-s STORE] [-P DIR] %s %s\n\n%s", cmd->name, cmd->usage, cmd->help);
    fprintf(out, "      --help          show this help\n");
    return EXIT_OK;
}

static void usage(FILE *out)
{
    fprintf(out, "Usage: kvkit [-s STORE] [-P DIR]... [-q] COMMAND [ARGS...]\n"
                 "       kvkit COMMAND --help | --help | --version\n\n"
                 "Options:\n" STORE_HELP
                 "                      (default: $KVKIT_STORE, else " CLI_DEFAULT_STORE ")\n"
                 "  -P, --plugin-dir DIR  search DIR for backend plugins first (repeatable)\n"
                 "  -q, --quiet         no progress bar and no summary lines\n"
                 "      --max-input BYTES  the most read whole: a document on stdin, one\n"
                 "                      import or script line (default 67108864, 64 MiB)\n"
                 "  -h, --help          show this help\n"
                 "  -V, --version       show the library and plugin ABI versions\n\n"
                 "Commands:\n");
    for (size_t i = 0; i < N_COMMANDS; i++)
        fprintf(out, "  %-12s %s\n", commands[i].name, commands[i].usage);
    fprintf(out, "\nExit status: 0 ok, 1 not found, 2 usage, 3 invalid input, 4 the store\n"
                 "failed or refused, 5 no such backend or it failed to load.  See kvkit(1).\n");
}

/* --max-input BYTES: a plain decimal number, 1 or more. */
static int parse_max_input(const char *arg, size_t *out)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(arg, &end, 10);
    if (arg[0] < '0' || arg[0] > '9' || *end != '\0' || errno != 0 || v == 0 || v > SIZE_MAX / 2)
        return cli_error(EXIT_USAGE,
                         "--max-input: expected a number of bytes from 1 to %zu, got \"%s\"",
                         SIZE_MAX / 2, arg);
    *out = (size_t)v;
    return EXIT_OK;
}

static int version(void)
{
    printf("kvkit %s (libkvkit %s, backend ABI %d.%d)\n", PACKAGE_VERSION, kvkit_version(),
           KVKIT_BACKEND_ABI_MAJOR, KVKIT_BACKEND_ABI_MINOR);
    return EXIT_OK;
}

static int cli_run(cli_t *cli, int argc, char **argv)
{
    const char *name = argv[0];
    if (strcmp(name, "help") == 0) {
        const cli_cmd_t *cmd = argc > 1 ? cli_command(argv[1]) : NULL;
        if (cmd != NULL)
            return cli_help(cmd, stdout);
        usage(stdout);
        return EXIT_OK;
    }
    const cli_cmd_t *cmd = cli_command(name);
    if (cmd == NULL)
        return cli_error(EXIT_USAGE, "unknown command \"%s\" (see 'kvkit --help')", name);
    for (int i = 1; i < argc && strcmp(argv[i], "--") != 0; i++)
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
            return cli_help(cmd, stdout);
    optind = 0; /* glibc: re-initialize getopt for the command's own options */
    return cmd->run(cli, argc, argv);
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"store", required_argument, NULL, 's'},
        {"plugin-dir", required_argument, NULL, 'P'},
        {"quiet", no_argument, NULL, 'q'},
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},
        {"max-input", required_argument, NULL, 'M'},
        {NULL, 0, NULL, 0},
    };
    cli_t cli = {.argv0 = argv[0], .max_input = CLI_MAX_INPUT_DEFAULT, .run = cli_run};
    int c;
    /* "+": stop at the command, whose options are its own */
    while ((c = getopt_long(argc, argv, "+s:P:qhV", opts, NULL)) != -1) {
        switch (c) {
        case 's':
            cli.store = optarg;
            break;
        case 'P': {
            /* a relative DIR is made absolute against the working directory
             * without resolving links (not realpath), so that the library
             * checks every link on the way (kvkit-backend(7)) */
            kvkit_error_t err = {0};
            struct stat st;
            /* an absolute directory may appear later, as with the library */
            if (stat(optarg, &st) == 0 ? !S_ISDIR(st.st_mode) : optarg[0] != '/')
                return cli_error(EXIT_USAGE, "-P \"%s\": no such directory", optarg);
            char cwd[PATH_MAX], abs[2 * PATH_MAX];
            if (optarg[0] != '/' && getcwd(cwd, sizeof cwd) == NULL)
                return cli_error(EXIT_USAGE, "-P \"%s\": cannot find the working directory",
                                 optarg);
            snprintf(abs, sizeof abs, "%s%s%s", optarg[0] == '/' ? "" : cwd,
                     optarg[0] == '/' ? "" : "/", optarg);
            if (kvkit_plugin_dir_add(abs, &err) != KVKIT_OK)
                return cli_fail(&err);
            break;
        }
        case 'q':
            cli.quiet = 1;
            break;
        case 'h':
            usage(stdout);
            return EXIT_OK;
        case 'V':
            return version();
        case 'M':
            if (parse_max_input(optarg, &cli.max_input) != EXIT_OK)
                return EXIT_USAGE;
            break;
        default:
            fprintf(stderr, "Try 'kvkit --help'.\n");
            return EXIT_USAGE;
        }
    }
    if (optind >= argc) {
        usage(stderr);
        return EXIT_USAGE;
    }
    if (cli.store == NULL) {
        const char *env = getenv("KVKIT_STORE");
        cli.store = env != NULL && *env != '\0' ? env : CLI_DEFAULT_STORE;
    }
    cli.progress = !cli.quiet && isatty(STDERR_FILENO);

    int status = cli_run(&cli, argc - optind, argv + optind);
    if (fflush(stdout) != 0 || ferror(stdout)) {
        perror("kvkit: write error on standard output");
        if (status == EXIT_OK)
            status = EXIT_BACKEND;
    }
    return status;
}
