/*
 * cmd_admin.c - store maintenance: compact, repair, conformance.
 *
 * compact works on an open store; repair works on a closed one (a damaged
 * store may not open).  Backends without the operation answer "not
 * supported by this backend".  conformance runs the installed
 * kvkit-conformance program.
 */
#include <config.h>

#include <errno.h>
#include <getopt.h>
#include <libgen.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

#ifndef KVKIT_BINDIR
#define KVKIT_BINDIR "/usr/local/bin"
#endif

static int maintenance(cli_t *cli, const char *cmd, int argc, char **argv)
{
    static const struct option opts[] = {{NULL, 0, NULL, 0}};
    if (getopt_long(argc, argv, "", opts, NULL) != -1 || optind != argc)
        return cli_usage(cmd, "no arguments expected");
    kvkit_error_t err = {0};
    int rc;
    if (strcmp(cmd, "repair") == 0) {
        /* like a refused open (cli_open): the store string is at fault */
        if ((rc = kvkit_repair(cli->store, &err)) == KVKIT_INVALID)
            return cli_error(EXIT_USAGE, "%s: %s", cmd, err.text);
    } else {
        int status = EXIT_OK;
        kvkit_store_t *s = cli_open(cli->store, &status);
        if (s == NULL)
            return status;
        rc = kvkit_store_compact(s, &err);
        kvkit_store_close(s);
    }
    if (rc != KVKIT_OK)
        return cli_error(cli_exit_status(rc), "%s: %s", cmd, err.text);
    return EXIT_OK;
}

int cmd_compact(cli_t *cli, int argc, char **argv)
{
    return maintenance(cli, "compact", argc, argv);
}

int cmd_repair(cli_t *cli, int argc, char **argv)
{
    return maintenance(cli, "repair", argc, argv);
}

/*** conformance ***/

static int executable(const char *path)
{
    return access(path, X_OK) == 0;
}

/* $KVKIT_CONFORMANCE, next to this program (and, for an uninstalled
 * libtool build, the in-tree tests/conformance), then the bindir. */
static int find_conformance(char *out, size_t n)
{
    const char *env = getenv("KVKIT_CONFORMANCE");
    if (env != NULL && *env != '\0') {
        snprintf(out, n, "%s", env);
        return executable(out);
    }
    char exe[PATH_MAX];
    ssize_t len = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (len > 0) {
        exe[len] = '\0';
        char *dir = dirname(exe);
        snprintf(out, n, "%s/kvkit-conformance", dir);
        if (executable(out))
            return 1;
        size_t dlen = strlen(dir);
        if (dlen >= 12 && strcmp(dir + dlen - 12, "/tools/.libs") == 0) {
            snprintf(out, n, "%.*s/tests/conformance/kvkit-conformance", (int)(dlen - 12), dir);
            if (executable(out))
                return 1;
        }
    }
    snprintf(out, n, "%s/kvkit-conformance", KVKIT_BINDIR);
    return executable(out);
}

/* -P directories reach the child through KVKIT_PLUGIN_PATH, first. */
static int collect_api_dir(void *ctx, const char *dir, const char *origin)
{
    char **path = ctx;
    if (strcmp(origin, "api") != 0)
        return 0;
    size_t old = *path ? strlen(*path) : 0;
    char *grown = realloc(*path, old + strlen(dir) + 2);
    if (grown == NULL)
        return 1;
    sprintf(grown + old, "%s%s", old ? ":" : "", dir);
    *path = grown;
    return 0;
}

int cmd_conformance(cli_t *cli, int argc, char **argv)
{
    /* "+": everything after STORE goes to kvkit-conformance as it is */
    static const struct option opts[] = {{NULL, 0, NULL, 0}};
    if (getopt_long(argc, argv, "+", opts, NULL) != -1)
        return cli_usage("conformance", "unknown option");
    if (argc - optind < 1)
        return cli_usage("conformance", "expected STORE");
    char prog[PATH_MAX + 64];
    if (!find_conformance(prog, sizeof prog))
        return cli_error(EXIT_BACKEND,
                         "conformance: kvkit-conformance not found (looked in "
                         "$KVKIT_CONFORMANCE, next to kvkit, and in %s)",
                         KVKIT_BINDIR);
    char *path = NULL;
    kvkit_plugin_dirs_each(collect_api_dir, &path);
    if (path != NULL) {
        const char *env = getenv("KVKIT_PLUGIN_PATH");
        char *joined = NULL;
        if (asprintf(&joined, "%s%s%s", path, env && *env ? ":" : "", env ? env : "") < 0)
            joined = NULL;
        if (joined == NULL || setenv("KVKIT_PLUGIN_PATH", joined, 1) != 0) {
            free(joined);
            free(path);
            return cli_error(EXIT_BACKEND, "out of memory");
        }
        free(joined);
        free(path);
    }
    char **args = calloc((size_t)(argc - optind) + 2, sizeof *args);
    if (args == NULL)
        return cli_error(EXIT_BACKEND, "out of memory");
    args[0] = prog;
    for (int i = optind; i < argc; i++)
        args[i - optind + 1] = argv[i];
    fflush(NULL);
    execv(prog, args);
    int e = errno;
    free(args);
    return cli_error(EXIT_BACKEND, "conformance: cannot run \"%s\": %s", prog, strerror(e));
}
