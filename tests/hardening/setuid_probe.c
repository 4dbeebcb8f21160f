/*
 * setuid_probe - prints where libkvkit would look for plugins and whether
 * "memory:" opens, for setuid.sh (which runs a set-uid root copy of it as
 * user nobody with KVKIT_PLUGIN_PATH set).  Output, one per line:
 *   dir ORIGIN PATH        for each plugin directory in search order
 *   open memory: STATUS    the status name of kvkit_store_open("memory:")
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

int main(void)
{
    printf("uid %d euid %d\n", (int)getuid(), (int)geteuid());
    kvkit_plugin_dirs_each(print_dir, NULL);
    kvkit_error_t err = {0};
    kvkit_store_t *s = kvkit_store_open("memory:", &err);
    printf("open memory: %s\n", s ? "OK" : kvkit_status_name(err.code));
    kvkit_store_close(s);
    return 0;
}
