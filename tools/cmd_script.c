/*
 * cmd_script.c - script FILE: several commands in one process, the way
 * sqlite3 reads a file of statements.  Volatile stores (memory:NAME) stay
 * alive between the lines, so a script can fill one and copy it out.
 */
#include <config.h>

#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

#define MAX_ARGS 256

/* Split `line` in place into words the way sh would for plain words:
 * blanks separate, '...' is literal, "..." takes \" and \\, a backslash
 * outside quotes escapes the next character, # starts a comment.
 * Returns the word count, or -1 (unterminated quote) / -2 (too many). */
static int split(char *line, char **argv)
{
    int argc = 0;
    char *in = line, *out = line;
    for (;;) {
        while (*in == ' ' || *in == '\t' || *in == '\n' || *in == '\r')
            in++;
        if (*in == '\0' || *in == '#')
            return argc;
        if (argc == MAX_ARGS)
            return -2;
        argv[argc++] = out;
        while (*in != '\0' && *in != ' ' && *in != '\t' && *in != '\n' && *in != '\r') {
            if (*in == '\'') {
                char *end = strchr(in + 1, '\'');
                if (end == NULL)
                    return -1;
                size_t n = (size_t)(end - in - 1);
                memmove(out, in + 1, n);
                out += n;
                in = end + 1;
            } else if (*in == '"') {
                for (in++; *in != '"'; in++) {
                    if (*in == '\0')
                        return -1;
                    if (*in == '\\' && (in[1] == '"' || in[1] == '\\'))
                        in++;
                    *out++ = *in;
                }
                in++;
            } else if (*in == '\\' && in[1] != '\0') {
                *out++ = in[1];
                in += 2;
            } else {
                *out++ = *in++;
            }
        }
        if (*in != '\0')
            in++;
        *out++ = '\0';
    }
}

static int run_line(cli_t *cli, int argc, char **argv)
{
    cli_t line_cli = *cli;
    while (argc >= 2 && (strcmp(argv[0], "-s") == 0 || strcmp(argv[0], "--store") == 0)) {
        line_cli.store = argv[1];
        argc -= 2;
        argv += 2;
    }
    if (argc == 0)
        return cli_error(EXIT_USAGE, "expected a command after -s STORE");
    if (strcmp(argv[0], "script") == 0 || strcmp(argv[0], "conformance") == 0)
        return cli_error(EXIT_USAGE, "\"%s\" cannot run inside a script", argv[0]);
    return line_cli.run(&line_cli, argc, argv);
}

int cmd_script(cli_t *cli, int argc, char **argv)
{
    static const struct option opts[] = {{NULL, 0, NULL, 0}};
    if (getopt_long(argc, argv, "", opts, NULL) != -1 || argc - optind != 1)
        return cli_usage("script", "expected FILE");
    const char *path = argv[optind];
    FILE *in = strcmp(path, "-") == 0 ? stdin : fopen(path, "r");
    if (in == NULL)
        return cli_error(EXIT_BACKEND, "script \"%s\": cannot open: %m", path);
    cli_keep_begin();
    char *line = NULL, *words[MAX_ARGS];
    size_t cap = 0;
    unsigned long lineno = 0;
    int status = EXIT_OK;
    long len = 0;
    while (status == EXIT_OK && (len = cli_read_line(in, cli->max_input, &line, &cap)) >= 0) {
        lineno++;
        int n = split(line, words);
        if (n < 0)
            status = cli_error(EXIT_USAGE, "script \"%s\", line %lu: %s", path, lineno,
                               n == -1 ? "unterminated quote" : "too many words");
        else if (n > 0 && (status = run_line(cli, n, words)) != EXIT_OK)
            fprintf(stderr, "kvkit: script \"%s\" stopped at line %lu (exit status %d)\n", path,
                    lineno, status);
        fflush(stdout);
    }
    if (status == EXIT_OK && len == -2)
        status = cli_error(cli_exit_status(KVKIT_TOO_LARGE),
                           "script \"%s\", line %lu is longer than the input limit of %zu bytes "
                           "(--max-input)",
                           path, lineno + 1, cli->max_input);
    else if (status == EXIT_OK && len == -3)
        status = cli_error(EXIT_BACKEND, "script \"%s\": out of memory", path);
    else if (status == EXIT_OK && ferror(in))
        status = cli_error(EXIT_BACKEND, "script \"%s\": read error", path);
    free(line);
    if (in != stdin)
        fclose(in);
    cli_keep_end();
    return status;
}
