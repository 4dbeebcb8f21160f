/*
 * setuid_probe [NAME] - prints where libkvkit would look for plugins and
 * whether backend NAME (default memory) opens, for setuid.sh (which runs a
 * set-uid root copy of it as user nobody with KVKIT_PLUGIN_PATH set).
 * Output, one per line:
 *   dir ORIGIN PATH        for each plugin directory in search order
 *   open NAME: STATUS      the status name of kvkit_store_open("NAME:")
 */
#include <kvkit/kvkit.h>

#include <stdio.h>
#include <unistd.h>

static int print_dir(void *ctx, const char *dir, const char *origin)
{
    (void)ctx;
    printf("dir %s %s\n", origin, dir);
    return 0;
}

int main(int argc, char **argv)
{
    const char *name = argc > 1 ? argv[1] : "memory";
    char uri[128];
    snprintf(uri, sizeof uri, "%s:", name);
    printf("uid %d euid %d\n", (int)getuid(), (int)geteuid());
    kvkit_plugin_dirs_each(print_dir, NULL);
    kvkit_error_t err = {0};
    kvkit_store_t *s = kvkit_store_open(uri, &err);
    printf("open %s: %s\n", name, s ? "OK" : kvkit_status_name(err.code));
    kvkit_store_close(s);
    return 0;
}
