/*
 * cmd_backends.c - backends: what kvkit can load, and from where.
 */
#include <config.h>

#include <getopt.h>
#include <string.h>

#include "cli.h"

typedef struct listing {
    int json;
    unsigned n;
} listing_t;

static int show_backend(void *ctx, const kvkit_backend_info_t *info)
{
    listing_t *l = ctx;
    l->n++;
    if (l->json) {
        json_t *j = json_pack("{s:s,s:s,s:s?,s:s?,s:s,s:b,s:s,s:s}", "name", info->name, "file",
                              info->path, "version", info->version, "description",
                              info->description, "status", kvkit_status_name(info->status),
                              "shadowed", info->shadowed, "error", info->error, "abi", "");
        if (j == NULL)
            return 0;
        if (info->version != NULL) {
            char abi[32];
            snprintf(abi, sizeof abi, "%u.%u", info->abi_major, info->abi_minor);
            json_object_set_new(j, "abi", json_string(abi));
        } else {
            json_object_set_new(j, "abi", json_null());
        }
        json_dumpf(j, stdout, JSON_COMPACT | JSON_PRESERVE_ORDER);
        putchar('\n');
        json_decref(j);
        return 0;
    }
    if (info->status != KVKIT_OK) {
        printf("%-10s BROKEN   %s\n           %s\n", info->name, info->path, info->error);
        return 0;
    }
    printf("%-10s %-8s %s%s\n           ABI %u.%u  %s\n", info->name, info->version, info->path,
           info->shadowed ? "  (shadowed by an earlier directory)" : "", info->abi_major,
           info->abi_minor, info->description);
    return 0;
}

static int show_dir(void *ctx, const char *dir, const char *origin)
{
    listing_t *l = ctx;
    if (l->json) {
        json_t *j = json_pack("{s:s,s:s}", "plugin_dir", dir, "origin", origin);
        if (j != NULL) {
            json_dumpf(j, stdout, JSON_COMPACT | JSON_PRESERVE_ORDER);
            putchar('\n');
            json_decref(j);
        }
    } else {
        printf("  %u. %s  (%s)\n", ++l->n, dir, origin);
    }
    return 0;
}

/* Entries of the plugin path that provide nothing, and why (issue 11:
 * never drop one silently). */
static int show_ignored(void *ctx, const char *entry, const char *origin, const char *why)
{
    listing_t *l = ctx;
    if (l->json) {
        json_t *j = json_pack("{s:s,s:s,s:s}", "ignored", entry, "origin", origin, "why", why);
        if (j != NULL) {
            json_dumpf(j, stdout, JSON_COMPACT | JSON_PRESERVE_ORDER);
            putchar('\n');
            json_decref(j);
        }
        return 0;
    }
    if (l->n++ == 0)
        printf("\nIgnored plugin-path entries:\n");
    printf("  %s  (%s: %s)\n", entry[0] ? entry : "\"\"", origin, why);
    return 0;
}

int cmd_backends(cli_t *cli, int argc, char **argv)
{
    static const struct option opts[] = {
        {"json", no_argument, NULL, 'j'},
        {NULL, 0, NULL, 0},
    };
    listing_t l = {0, 0};
    int c;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        if (c != 'j')
            return cli_usage("backends", "unknown option");
        l.json = 1;
    }
    if (optind != argc)
        return cli_usage("backends", "no arguments expected");
    kvkit_error_t err = {0};
    if (kvkit_backends_list(show_backend, &l, &err) != KVKIT_OK)
        return cli_fail(&err);
    if (!l.json) {
        if (l.n == 0)
            printf("(no backends found)\n");
        printf("\nPlugin search path, in order (first match wins):\n");
    }
    l.n = 0;
    kvkit_plugin_dirs_each(show_dir, &l);
    l.n = 0;
    kvkit_plugin_dirs_ignored(show_ignored, &l);
    return EXIT_OK;
}
