/*
 * setuid_probe LIBKVKIT [NAME] - prints where libkvkit would look for
 * plugins and whether backend NAME (default memory) opens, for setuid.sh
 * (which runs a set-uid root copy of it as user nobody with
 * KVKIT_PLUGIN_PATH set).
 *
 * libkvkit is opened by path (argv[1]) rather than linked: a set-uid
 * program ignores LD_LIBRARY_PATH and $ORIGIN, so a linked probe could only
 * find the library in the build tree, which user nobody may not be able to
 * read (a clone under /root).  setuid.sh hands it a private copy instead.
 * Output, one per line:
 *   dir ORIGIN PATH        for each plugin directory in search order
 *   ignored ORIGIN: WHY    for each plugin-path entry that is not used
 *   open NAME: STATUS      the status name of kvkit_store_open("NAME:")
 *   error: TEXT            its message, when it failed
 */
#include <kvkit/kvkit.h>

#include <dlfcn.h>
#include <stdio.h>
#include <unistd.h>

static int print_dir(void *ctx, const char *dir, const char *origin)
{
    (void)ctx;
    printf("dir %s %s\n", origin, dir);
    return 0;
}

static int print_ignored(void *ctx, const char *entry, const char *origin, const char *why)
{
    (void)ctx;
    (void)entry;
    printf("ignored %s: %s\n", origin, why);
    return 0;
}

#define BIND(var, sym)                                                                             \
    if ((*(void **)&var = dlsym(lib, #sym)) == NULL) {                                             \
        fprintf(stderr, "setuid_probe: %s: no symbol %s\n", argv[1], #sym);                        \
        return 2;                                                                                  \
    }

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: setuid_probe LIBKVKIT [NAME]\n");
        return 2;
    }
    void *lib = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
    if (lib == NULL) {
        fprintf(stderr, "setuid_probe: %s\n", dlerror());
        return 2;
    }
    void (*dirs_each)(kvkit_plugin_dir_fn, void *);
    void (*dirs_ignored)(kvkit_plugin_ignored_fn, void *);
    kvkit_store_t *(*store_open)(const char *, kvkit_error_t *);
    void (*store_close)(kvkit_store_t *);
    const char *(*status_name)(int);
    BIND(dirs_each, kvkit_plugin_dirs_each);
    BIND(dirs_ignored, kvkit_plugin_dirs_ignored);
    BIND(store_open, kvkit_store_open);
    BIND(store_close, kvkit_store_close);
    BIND(status_name, kvkit_status_name);

    const char *name = argc > 2 ? argv[2] : "memory";
    char uri[128];
    snprintf(uri, sizeof uri, "%s:", name);
    printf("uid %d euid %d\n", (int)getuid(), (int)geteuid());
    dirs_each(print_dir, NULL);
    dirs_ignored(print_ignored, NULL);
    kvkit_error_t err = {0};
    kvkit_store_t *s = store_open(uri, &err);
    printf("open %s: %s\n", name, s ? "OK" : status_name(err.code));
    if (s == NULL)
        printf("error: %s\n", err.text);
    store_close(s);
    return 0;
}
