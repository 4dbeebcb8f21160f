/*
 * test_loader.c - store strings, plugin search, binding and its errors.
 * The odd plugins come from tests/plugins (ODD_DIR); memory from MEMORY_DIR.
 * Every test runs in its own process (Check's fork mode), so environment
 * changes and loaded plugins never leak between tests.
 */
#include <kvkit/backend.h> /* in-process backends */
#include <kvkit/kvkit.h>

#include <check.h>
#include <dlfcn.h>
#include <elf.h>
#include <fcntl.h>
#include <link.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#ifndef ODD_DIR
#error "ODD_DIR must name tests/plugins/.libs"
#endif

/* Open `uri` expecting failure with `code`; return the message. */
static const char *open_fails(const char *uri, int code)
{
    static kvkit_error_t err;
    kvkit_error_clear(&err);
    kvkit_store_t *s = kvkit_store_open(uri, &err);
    ck_assert_msg(s == NULL, "open \"%s\" should fail", uri);
    ck_assert_msg(err.code == code, "open \"%s\": expected %s, got %s: %s", uri,
                  kvkit_status_name(code), kvkit_status_name(err.code), err.text);
    return err.text;
}

#define ASSERT_HAS(text, needle)                                               \
    ck_assert_msg(strstr((text), (needle)) != NULL, "\"%s\" lacks \"%s\"", (text), (needle))

static void use_odd_plugins(void)
{
    setenv("KVKIT_PLUGIN_PATH", ODD_DIR, 1);
}

/* A temp dir holding copies of plugin files under chosen names. */
static char *temp_dir(void)
{
    char *d = strdup("/tmp/kvkit-loader-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(d));
    return d;
}

static void copy_file(const char *from, const char *dir, const char *name)
{
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "cp '%s' '%s/%s'", from, dir, name);
    ck_assert_int_eq(system(cmd), 0);
}

static void remove_tree(const char *dir)
{
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    ck_assert_int_eq(system(cmd), 0);
}

static const char *version_of(const char *uri)
{
    kvkit_error_t err = {0};
    kvkit_store_t *s = kvkit_store_open(uri, &err);
    ck_assert_msg(s != NULL, "open %s: %s", uri, err.text);
    static char v[64];
    snprintf(v, sizeof v, "%s", kvkit_store_descriptor(s)->version);
    kvkit_store_close(s);
    return v;
}

/*** store strings ***/

START_TEST(test_store_open_bad_names)
{
    ASSERT_HAS(open_fails("memory", KVKIT_INVALID), "expected NAME:LOCATION");
    ck_assert_str_eq(open_fails(":x", KVKIT_BAD_NAME),
                     "invalid backend name \"\": a name is 1 to 64 characters of a-z, 0-9 and _");
    ck_assert_str_eq(open_fails("Memory:", KVKIT_BAD_NAME),
                     "invalid backend name \"Memory\": character 'M' is not allowed (only a-z, 0-9 and _)");
    ASSERT_HAS(open_fails("../memory:", KVKIT_BAD_NAME), "character '.' is not allowed");
    ASSERT_HAS(open_fails("/tmp/x:", KVKIT_BAD_NAME), "character '/' is not allowed");
    ASSERT_HAS(open_fails("a/b:", KVKIT_BAD_NAME), "character '/' is not allowed");
    ASSERT_HAS(open_fails("mem-ory:", KVKIT_BAD_NAME), "character '-' is not allowed");
    char longname[80];
    memset(longname, 'a', 65);
    strcpy(longname + 65, ":");
    ASSERT_HAS(open_fails(longname, KVKIT_BAD_NAME), "longer than 64 characters");
    ASSERT_HAS(open_fails(NULL, KVKIT_INVALID), "store string is NULL");
}
END_TEST

START_TEST(test_store_open_bad_name_touches_no_file)
{
    /* a name that would traverse is refused before any file access: even a
     * readable "../x.so" relative to a plugin directory is never opened */
    char *dir = temp_dir();
    char sub[1100];
    snprintf(sub, sizeof sub, "%s/sub", dir);
    ck_assert_int_eq(mkdir(sub, 0700), 0);
    copy_file(ODD_DIR "/minimal.so", dir, "escape.so");
    setenv("KVKIT_PLUGIN_PATH", sub, 1);
    open_fails("../escape:", KVKIT_BAD_NAME);
    ASSERT_HAS(open_fails("escape:", KVKIT_NO_BACKEND), "escape.so");
    remove_tree(dir);
    free(dir);
}
END_TEST

START_TEST(test_store_open_options)
{
    setenv("KVKIT_PLUGIN_PATH", MEMORY_DIR, 1);
    ck_assert_str_eq(open_fails("memory:?cache=1", KVKIT_BAD_OPTION),
                     "memory: unknown option \"cache\" (the memory backend takes none)");
    ck_assert_str_eq(open_fails("memory:?novalue", KVKIT_BAD_OPTION),
                     "malformed store option \"novalue\": expected key=value");
    ck_assert_str_eq(open_fails("memory:?=v", KVKIT_BAD_OPTION),
                     "malformed store option \"=v\": expected key=value");
    ASSERT_HAS(open_fails("memory:?a=%zz", KVKIT_BAD_OPTION), "bad percent-escape");
    ASSERT_HAS(open_fails("memory:?a=%2", KVKIT_BAD_OPTION), "bad percent-escape");
    ASSERT_HAS(open_fails("memory:?a=%00", KVKIT_BAD_OPTION), "bad percent-escape");
    ck_assert_str_eq(open_fails("memory:?a=1&a=2", KVKIT_BAD_OPTION),
                     "store option \"a\" is given twice");
    /* percent-decoding reaches the backend: the key is decoded */
    ck_assert_str_eq(open_fails("memory:?c%61che=1", KVKIT_BAD_OPTION),
                     "memory: unknown option \"cache\" (the memory backend takes none)");
    /* empty option lists are fine */
    kvkit_error_t err = {0};
    kvkit_store_t *s = kvkit_store_open("memory:?", &err);
    ck_assert_msg(s != NULL, "%s", err.text);
    kvkit_store_close(s);
    s = kvkit_store_open("memory:x?&", &err);
    ck_assert_msg(s != NULL, "%s", err.text);
    kvkit_store_close(s);
}
END_TEST

/*** finding plugins ***/

START_TEST(test_unknown_backend_names_every_path)
{
    char *dir = temp_dir();
    char path[2048];
    snprintf(path, sizeof path, "%s:%s", dir, ODD_DIR);
    setenv("KVKIT_PLUGIN_PATH", path, 1);
    const char *msg = open_fails("nosuch:", KVKIT_NO_BACKEND);
    char want[4096];
    snprintf(want, sizeof want,
             "no backend \"nosuch\": tried %s/nosuch.so, %s/nosuch.so, %s/nosuch.so "
             "(add the plugin's directory to KVKIT_PLUGIN_PATH)",
             dir, ODD_DIR, kvkit_plugin_dir_default());
    ck_assert_str_eq(msg, want);
    remove_tree(dir);
    free(dir);
}
END_TEST

START_TEST(test_plugin_path_precedence)
{
    char *a = temp_dir(), *b = temp_dir();
    copy_file(ODD_DIR "/twin_a.so", a, "twin.so");
    copy_file(ODD_DIR "/twin_b.so", b, "twin.so");
    char path[4096];
    snprintf(path, sizeof path, "%s:%s", a, b);
    setenv("KVKIT_PLUGIN_PATH", path, 1);
    ck_assert_str_eq(version_of("twin:"), "A");
    snprintf(path, sizeof path, "%s:%s", b, a);
    setenv("KVKIT_PLUGIN_PATH", path, 1);
    ck_assert_str_eq(version_of("twin:"), "B");
    /* empty entries are skipped */
    snprintf(path, sizeof path, "::%s::%s:", a, b);
    setenv("KVKIT_PLUGIN_PATH", path, 1);
    ck_assert_str_eq(version_of("twin:"), "A");
    /* a directory added through the API comes before the environment */
    kvkit_error_t err = {0};
    ck_assert_int_eq(kvkit_plugin_dir_add(b, &err), KVKIT_OK);
    ck_assert_str_eq(version_of("twin:"), "B");
    kvkit_plugin_dirs_clear();
    ck_assert_str_eq(version_of("twin:"), "A");
    ck_assert_int_eq(kvkit_plugin_dir_add("relative/dir", &err), KVKIT_INVALID);
    ASSERT_HAS(err.text, "is not an absolute path");
    remove_tree(a);
    remove_tree(b);
    free(a);
    free(b);
}
END_TEST

START_TEST(test_plugin_path_relative_ignored)
{
    /* a relative entry would resolve against the working directory: it is
     * dropped, even when it holds a matching plugin */
    char *cwd = temp_dir(), *b = temp_dir();
    char rel[1100];
    snprintf(rel, sizeof rel, "%s/rel", cwd);
    ck_assert_int_eq(mkdir(rel, 0700), 0);
    copy_file(ODD_DIR "/twin_a.so", rel, "twin.so");
    copy_file(ODD_DIR "/twin_b.so", b, "twin.so");
    ck_assert_int_eq(chdir(cwd), 0);
    char path[4096];
    snprintf(path, sizeof path, "rel:./rel:%s", b);
    setenv("KVKIT_PLUGIN_PATH", path, 1);
    ck_assert_str_eq(version_of("twin:"), "B");
    setenv("KVKIT_PLUGIN_PATH", "rel", 1);
    ASSERT_HAS(open_fails("twin:", KVKIT_NO_BACKEND), "tried " /* only the default */);
    ck_assert_ptr_null(strstr(open_fails("twin:", KVKIT_NO_BACKEND), "rel/twin.so"));
    ck_assert_int_eq(chdir("/"), 0); /* leave the directory before removing it */
    remove_tree(cwd);
    remove_tree(b);
    free(cwd);
    free(b);
}
END_TEST

typedef struct dirs {
    char text[4096];
} dirs_t;

static int collect_dir(void *ctx, const char *dir, const char *origin)
{
    dirs_t *d = ctx;
    size_t used = strlen(d->text);
    snprintf(d->text + used, sizeof d->text - used, "%s=%s;", origin, dir);
    return 0;
}

START_TEST(test_plugin_dirs_each_order)
{
    setenv("KVKIT_PLUGIN_PATH", "/e1:rel:/e2", 1);
    kvkit_error_t err = {0};
    ck_assert_int_eq(kvkit_plugin_dir_add("/api1", &err), KVKIT_OK);
    dirs_t d = {{0}};
    kvkit_plugin_dirs_each(collect_dir, &d);
    char want[1024];
    snprintf(want, sizeof want, "api=/api1;KVKIT_PLUGIN_PATH=/e1;KVKIT_PLUGIN_PATH=/e2;default=%s;",
             kvkit_plugin_dir_default());
    ck_assert_str_eq(d.text, want);
    kvkit_plugin_dirs_clear(); /* later cases share the process without fork (valgrind.sh) */
}
END_TEST

typedef struct notes {
    char text[2048];
} notes_t;

static int collect_ignored(void *ctx, const char *entry, const char *origin, const char *why)
{
    notes_t *n = ctx;
    size_t used = strlen(n->text);
    snprintf(n->text + used, sizeof n->text - used, "%s|%s|%s;", origin, entry, why);
    return 0;
}

START_TEST(test_plugin_path_ignored_entries_named)
{
    /* issue 11, item 8: relative and empty entries are not searched, and
     * both kvkit_plugin_dirs_ignored and the no-backend error say so */
    char *b = temp_dir();
    char path[2048];
    snprintf(path, sizeof path, "rel/dir:%s::./x:", b);
    setenv("KVKIT_PLUGIN_PATH", path, 1);
    notes_t n = {{0}};
    kvkit_plugin_dirs_ignored(collect_ignored, &n);
    ck_assert_str_eq(n.text, "KVKIT_PLUGIN_PATH|rel/dir|not an absolute path;"
                             "KVKIT_PLUGIN_PATH||empty entry;"
                             "KVKIT_PLUGIN_PATH|./x|not an absolute path;"
                             "KVKIT_PLUGIN_PATH||empty entry;");
    const char *msg = open_fails("nosuch:", KVKIT_NO_BACKEND);
    char want[4096];
    snprintf(want, sizeof want,
             "no backend \"nosuch\": tried %s/nosuch.so, %s/nosuch.so; "
             "ignored in KVKIT_PLUGIN_PATH: \"rel/dir\" (not an absolute path), "
             "\"\" (empty entry), \"./x\" (not an absolute path), \"\" (empty entry) "
             "(add the plugin's directory to KVKIT_PLUGIN_PATH)",
             b, kvkit_plugin_dir_default());
    ck_assert_str_eq(msg, want);
    /* nothing ignored: nothing said */
    setenv("KVKIT_PLUGIN_PATH", b, 1);
    memset(&n, 0, sizeof n);
    kvkit_plugin_dirs_ignored(collect_ignored, &n);
    ck_assert_str_eq(n.text, "");
    ck_assert_ptr_null(strstr(open_fails("nosuch:", KVKIT_NO_BACKEND), "ignored"));
    remove_tree(b);
    free(b);
}
END_TEST

/*** binding and its errors ***/

START_TEST(test_plugin_no_descriptor)
{
    use_odd_plugins();
    ck_assert_str_eq(open_fails("nodesc:", KVKIT_PLUGIN_SYMBOL),
                     "backend \"nodesc\" (" ODD_DIR "/nodesc.so) lacks the descriptor symbol "
                     "kvkit_backend_descriptor: is it a kvkit backend, and is its file named after it?");
}
END_TEST

START_TEST(test_plugin_abi_major)
{
    use_odd_plugins();
    char want[1024];
    snprintf(want, sizeof want,
             "backend \"abimajor\" (" ODD_DIR "/abimajor.so) speaks backend ABI 2.%d, but this "
             "libkvkit speaks %d.%d: the major versions must match (rebuild the plugin against "
             "this kvkit)",
             KVKIT_BACKEND_ABI_MINOR, KVKIT_BACKEND_ABI_MAJOR, KVKIT_BACKEND_ABI_MINOR);
    ck_assert_str_eq(open_fails("abimajor:", KVKIT_ABI), want);
}
END_TEST

START_TEST(test_plugin_abi_newer_minor)
{
    use_odd_plugins();
    char want[1024];
    snprintf(want, sizeof want,
             "backend \"abiminor\" (" ODD_DIR "/abiminor.so) needs backend ABI %d.%d, newer than "
             "this libkvkit's %d.%d (upgrade kvkit)",
             KVKIT_BACKEND_ABI_MAJOR, KVKIT_BACKEND_ABI_MINOR + 1, KVKIT_BACKEND_ABI_MAJOR,
             KVKIT_BACKEND_ABI_MINOR);
    ck_assert_str_eq(open_fails("abiminor:", KVKIT_ABI), want);
}
END_TEST

START_TEST(test_plugin_name_mismatch)
{
    use_odd_plugins();
    ck_assert_str_eq(open_fails("misnamed:", KVKIT_PLUGIN_NAME),
                     "backend file " ODD_DIR "/misnamed.so declares the name \"other\", expected "
                     "\"misnamed\" (a plugin's file must be named after its backend)");
}
END_TEST

START_TEST(test_plugin_missing_required_op)
{
    use_odd_plugins();
    ck_assert_str_eq(open_fails("noget:", KVKIT_PLUGIN_SYMBOL),
                     "backend \"noget\" (" ODD_DIR "/noget.so) lacks the required symbol "
                     "kvkit_backend_get");
}
END_TEST

START_TEST(test_plugin_open_fails)
{
    use_odd_plugins();
    kvkit_error_t err = {0};
    ck_assert_ptr_null(kvkit_store_open("failopen:/some/where", &err));
    ck_assert_int_eq(err.code, KVKIT_IO);
    ck_assert_str_eq(err.text, "failopen: open \"/some/where\": disk on fire");
    ck_assert_str_eq(err.subject, "/some/where");
}
END_TEST

START_TEST(test_plugin_self_named_message_not_doubled)
{
    /* issue 11, item 14: a plugin whose message already starts with its
     * name is not prefixed a second time ("selfnamed: selfnamed ...") */
    use_odd_plugins();
    kvkit_error_t err = {0};
    ck_assert_ptr_null(kvkit_store_open("selfnamed:/some/where", &err));
    ck_assert_int_eq(err.code, KVKIT_IO);
    ck_assert_str_eq(err.text, "selfnamed /some/where: disk on fire");
    ck_assert_str_eq(err.subject, "/some/where");
}
END_TEST

START_TEST(test_plugin_unresolved_symbol)
{
    /* immediate binding: the missing function is reported at load, with
     * the dynamic linker's text, instead of crashing at first call */
    use_odd_plugins();
    const char *msg = open_fails("unresolved:", KVKIT_PLUGIN_LOAD);
    ASSERT_HAS(msg, "backend \"unresolved\": cannot load " ODD_DIR "/unresolved.so: ");
    ASSERT_HAS(msg, "undefined symbol: kvkit_test_function_that_exists_nowhere");
}
END_TEST

START_TEST(test_plugin_not_a_shared_object)
{
    char *dir = temp_dir();
    char path[1100];
    snprintf(path, sizeof path, "%s/junk.so", dir);
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs("not an ELF file\n", f);
    fclose(f);
    setenv("KVKIT_PLUGIN_PATH", dir, 1);
    const char *msg = open_fails("junk:", KVKIT_PLUGIN_LOAD);
    ASSERT_HAS(msg, "backend \"junk\": cannot load ");
    ASSERT_HAS(msg, "junk.so: ");
    /* the broken first match is the error: no fall-through to later dirs */
    char both[2048];
    snprintf(both, sizeof both, "%s:%s", dir, ODD_DIR);
    setenv("KVKIT_PLUGIN_PATH", both, 1);
    copy_file(ODD_DIR "/minimal.so", dir, "minimal2.so"); /* unrelated file: never opened */
    open_fails("junk:", KVKIT_PLUGIN_LOAD);
    remove_tree(dir);
    free(dir);
}
END_TEST

static int collect_key(void *ctx, const char *key, size_t len)
{
    return 0;
}

START_TEST(test_plugin_optional_ops_missing)
{
    use_odd_plugins();
    kvkit_error_t err = {0};
    kvkit_store_t *s = kvkit_store_open("minimal:", &err);
    ck_assert_msg(s != NULL, "%s", err.text);
    ck_assert_int_eq(kvkit_store_save(s, "b", "k", "{}", 2, NULL, &err), KVKIT_OK);
    char *v;
    size_t n;
    ck_assert_int_eq(kvkit_store_get(s, "b", "k", &v, &n, &err), KVKIT_OK);
    ck_assert_uint_eq(n, 2);
    free(v);
    ck_assert_int_eq(kvkit_store_supports(s, "index_lookup"), 0);
    ck_assert_int_eq(kvkit_store_supports(s, "list_keys"), 0);
    json_t *one = json_integer(1);
    ck_assert_int_eq(kvkit_store_index_keys(s, "b", "f", one, NULL, collect_key, NULL, &err),
                     KVKIT_NOT_SUPPORTED);
    ck_assert_str_eq(err.text, "minimal: index_lookup is not supported by this backend");
    kvkit_error_clear(&err);
    ck_assert_int_eq(kvkit_store_list_keys(s, "b", NULL, NULL, collect_key, NULL, &err),
                     KVKIT_NOT_SUPPORTED);
    ck_assert_str_eq(err.text, "minimal: list_keys is not supported by this backend");
    kvkit_error_clear(&err);
    kvkit_iter_t *it = kvkit_store_index_iter(s, "b", "f", one, NULL, 1);
    ck_assert(!kvkit_iter_valid(it));
    ck_assert_int_eq(kvkit_iter_status(it, &err), KVKIT_NOT_SUPPORTED);
    kvkit_iter_destroy(it);
    kvkit_error_clear(&err);
    ck_assert_int_eq(kvkit_store_save_if(s, "b", "k", "{}", 2, NULL, 0, NULL, &err),
                     KVKIT_NOT_SUPPORTED);
    /* batches fall back to one write after another */
    kvkit_batch_t *batch = kvkit_batch_create();
    ck_assert_int_eq(kvkit_batch_save(batch, "b", "k2", "[]", 2, NULL, &err), KVKIT_OK);
    ck_assert_int_eq(kvkit_batch_delete(batch, "b", "k", &err), KVKIT_OK);
    ck_assert_int_eq(kvkit_store_write(s, batch, &err), KVKIT_OK);
    ck_assert_int_eq(kvkit_store_get(s, "b", "k", &v, &n, &err), KVKIT_NOTFOUND);
    ck_assert_int_eq(kvkit_store_get(s, "b", "k2", &v, &n, &err), KVKIT_OK);
    free(v);
    kvkit_batch_destroy(batch);
    json_decref(one);
    kvkit_store_close(s);
}
END_TEST

START_TEST(test_plugin_plain_symbols)
{
    use_odd_plugins();
    ck_assert_str_eq(version_of("plainsym:"), "1");
}
END_TEST

static int is_loaded(const char *path)
{
    void *h = dlopen(path, RTLD_NOW | RTLD_NOLOAD);
    if (h == NULL)
        return 0;
    dlclose(h);
    return 1;
}

START_TEST(test_plugin_refcount_and_unload)
{
    use_odd_plugins();
    kvkit_error_t err = {0};
    const char *path = ODD_DIR "/minimal.so";
    ck_assert_int_eq(is_loaded(path), 0);
    kvkit_store_t *a = kvkit_store_open("minimal:", &err);
    kvkit_store_t *b = kvkit_store_open("minimal:", &err);
    ck_assert_ptr_nonnull(a);
    ck_assert_ptr_nonnull(b);
    ck_assert_int_eq(is_loaded(path), 1);
    kvkit_store_close(a);
    ck_assert_int_eq(is_loaded(path), 1); /* b still uses it */
    ck_assert_int_eq(kvkit_store_save(b, "x", "k", "{}", 2, NULL, &err), KVKIT_OK);
    kvkit_store_close(b);
    ck_assert_int_eq(is_loaded(path), 0); /* last close unloads */
    /* and it loads again */
    a = kvkit_store_open("minimal:", &err);
    ck_assert_ptr_nonnull(a);
    kvkit_store_close(a);
    /* a resident plugin stays */
    a = kvkit_store_open("resident:", &err);
    ck_assert_ptr_nonnull(a);
    kvkit_store_close(a);
    ck_assert_int_eq(is_loaded(ODD_DIR "/resident.so"), 1);
    kvkit_store_close(NULL); /* NULL is fine */
}
END_TEST

/*** in-process backends ***/

static const kvkit_backend_descriptor_t inproc_desc = {
    .abi_major = KVKIT_BACKEND_ABI_MAJOR,
    .abi_minor = KVKIT_BACKEND_ABI_MINOR,
    .struct_size = sizeof(kvkit_backend_descriptor_t),
    .name = "inproc",
    .version = "7",
    .description = "registered in the test",
};

static int inproc_open(const char *loc, const kvkit_backend_option_t *o, size_t n, void **h,
                       kvkit_error_t *err)
{
    *h = strdup(loc);
    return KVKIT_OK;
}

static void inproc_close(void *h)
{
    free(h);
}

static int inproc_get(void *h, const char *b, const char *k, char **v, size_t *n,
                      kvkit_error_t *err)
{
    /* every key holds the location string */
    *v = strdup(h);
    *n = strlen(h);
    return KVKIT_OK;
}

static int inproc_save(void *h, const char *b, const char *k, const char *v, size_t n,
                       const kvkit_index_entry_t *e, size_t ne, kvkit_error_t *err)
{
    return kvkit_backend_error(err, KVKIT_IO, k, "read-only store");
}

static int inproc_delete(void *h, const char *b, const char *k, kvkit_error_t *err)
{
    return KVKIT_OK;
}

/* The required operations of the in-process backend, under descriptor d. */
static kvkit_backend_ops_t inproc_ops(const kvkit_backend_descriptor_t *d)
{
    kvkit_backend_ops_t ops = {
        .descriptor = d,
        .open = inproc_open,
        .close = inproc_close,
        .get = inproc_get,
        .save = inproc_save,
        .del = inproc_delete,
    };
    return ops;
}

START_TEST(test_backend_register_inprocess)
{
    kvkit_backend_ops_t ops = inproc_ops(&inproc_desc);
    kvkit_error_t err = {0};
    ck_assert_int_eq(kvkit_backend_register(&ops, &err), KVKIT_OK);
    ck_assert_int_eq(kvkit_backend_register(&ops, &err), KVKIT_INVALID);
    ck_assert_str_eq(err.text, "backend \"inproc\" is already registered");
    kvkit_error_clear(&err);
    kvkit_store_t *s = kvkit_store_open("inproc:hello", &err);
    ck_assert_msg(s != NULL, "%s", err.text);
    char *v;
    size_t n;
    ck_assert_int_eq(kvkit_store_get(s, "b", "k", &v, &n, &err), KVKIT_OK);
    ck_assert_str_eq(v, "hello");
    free(v);
    ck_assert_int_eq(kvkit_store_save(s, "b", "k", "{}", 2, NULL, &err), KVKIT_IO);
    ck_assert_str_eq(err.text, "inproc: read-only store");
    kvkit_error_clear(&err);
    ck_assert_int_eq(kvkit_backend_unregister("inproc", &err), KVKIT_INVALID);
    ck_assert_str_eq(err.text, "backend \"inproc\" is still used by 1 open store");
    kvkit_error_clear(&err);
    kvkit_store_close(s);
    ck_assert_int_eq(kvkit_backend_unregister("inproc", &err), KVKIT_OK);
    ck_assert_int_eq(kvkit_backend_unregister("inproc", &err), KVKIT_NOTFOUND);
    kvkit_error_clear(&err);
    open_fails("inproc:", KVKIT_NO_BACKEND);
    /* a table without a required op is refused, naming it */
    ops.get = NULL;
    ck_assert_int_eq(kvkit_backend_register(&ops, &err), KVKIT_PLUGIN_SYMBOL);
    ck_assert_str_eq(err.text, "backend \"inproc\" (built-in) lacks the required operation "
                               "kvkit_backend_get");
}
END_TEST

static int inproc_list_keys(void *h, const char *b, const char *lo, const char *hi,
                            kvkit_backend_key_fn fn, void *ctx, kvkit_error_t *err)
{
    return KVKIT_OK;
}

static int inproc_view_open(void *h, void **view, kvkit_error_t *err)
{
    *view = h;
    return KVKIT_OK;
}

static void inproc_view_close(void *h, void *view)
{
}

static const kvkit_backend_descriptor_t inproc_snapshot_desc = {
    .abi_major = KVKIT_BACKEND_ABI_MAJOR,
    .abi_minor = KVKIT_BACKEND_ABI_MINOR,
    .struct_size = sizeof(kvkit_backend_descriptor_t),
    .flags = KVKIT_BACKEND_SNAPSHOT,
    .name = "inproc",
    .version = "7",
    .description = "registered in the test, with views",
};

/* Register ops expecting `code`; with a message, expect that text. */
static void register_expect(const kvkit_backend_ops_t *ops, int code, const char *text)
{
    kvkit_error_t err = {0};
    ck_assert_int_eq(kvkit_backend_register(ops, &err), code);
    if (text != NULL)
        ck_assert_str_eq(err.text, text);
}

START_TEST(test_backend_register_snapshot_needs_views)
{
    kvkit_backend_ops_t ops = inproc_ops(&inproc_snapshot_desc);
    ops.list_keys = inproc_list_keys;
    /* "((built-in))": check_views wraps its `where` in parentheses too */
    const char *lacks = "backend \"inproc\" ((built-in)) declares KVKIT_BACKEND_SNAPSHOT but "
                        "lacks kvkit_backend_";
    char want[256];
    /* view_open, view_close and view_get always; view_OP for each scan OP bound */
    snprintf(want, sizeof want, "%sview_open", lacks);
    register_expect(&ops, KVKIT_PLUGIN_SYMBOL, want);
    ops.view_open = inproc_view_open;
    snprintf(want, sizeof want, "%sview_close", lacks);
    register_expect(&ops, KVKIT_PLUGIN_SYMBOL, want);
    ops.view_close = inproc_view_close;
    snprintf(want, sizeof want, "%sview_get", lacks);
    register_expect(&ops, KVKIT_PLUGIN_SYMBOL, want);
    ops.view_get = inproc_get;
    snprintf(want, sizeof want, "%sview_list_keys", lacks);
    register_expect(&ops, KVKIT_PLUGIN_SYMBOL, want);
    ops.view_list_keys = inproc_list_keys;
    /* no index_lookup or index_docs: their view forms are not needed */
    register_expect(&ops, KVKIT_OK, NULL);
    kvkit_error_t err = {0};
    kvkit_store_t *s = kvkit_store_open("inproc:", &err);
    ck_assert_msg(s != NULL, "%s", err.text);
    ck_assert_int_eq(kvkit_store_supports(s, "snapshot"), 1);
    ck_assert_int_eq(kvkit_store_supports(s, "list_keys"), 1);
    ck_assert_int_eq(kvkit_store_supports(s, "index_lookup"), 0);
    kvkit_store_close(s);
    ck_assert_int_eq(kvkit_backend_unregister("inproc", &err), KVKIT_OK);
    /* without the flag the view operations are ignored */
    ops.descriptor = &inproc_desc;
    register_expect(&ops, KVKIT_OK, NULL);
    s = kvkit_store_open("inproc:", &err);
    ck_assert_msg(s != NULL, "%s", err.text);
    ck_assert_int_eq(kvkit_store_supports(s, "snapshot"), 0);
    kvkit_store_close(s);
    ck_assert_int_eq(kvkit_backend_unregister("inproc", &err), KVKIT_OK);
}
END_TEST

START_TEST(test_store_supports_names_optional_ops)
{
    kvkit_backend_ops_t ops = inproc_ops(&inproc_desc);
    ops.list_keys = inproc_list_keys;
    register_expect(&ops, KVKIT_OK, NULL);
    kvkit_error_t err = {0};
    kvkit_store_t *s = kvkit_store_open("inproc:", &err);
    ck_assert_msg(s != NULL, "%s", err.text);
    ck_assert_int_eq(kvkit_store_supports(s, "list_keys"), 1);
    /* only optional operations are answered: required ones, view ones
     * (asked as "snapshot"), unknown names and NULL are 0 */
    const char *no[] = {"get", "delete", "del", "view_open", "view_list_keys",
                        "index_docs", "", "kvkit_backend_list_keys", "snapshot"};
    for (size_t i = 0; i < sizeof no / sizeof no[0]; i++)
        ck_assert_msg(kvkit_store_supports(s, no[i]) == 0, "supports(\"%s\")", no[i]);
    ck_assert_int_eq(kvkit_store_supports(s, NULL), 0);
    ck_assert_int_eq(kvkit_store_supports(NULL, "list_keys"), 0);
    kvkit_store_close(s);
}
END_TEST

/*** listing ***/

typedef struct listing {
    char text[8192];
} listing_t;

static int collect_info(void *ctx, const kvkit_backend_info_t *info)
{
    listing_t *l = ctx;
    size_t used = strlen(l->text);
    snprintf(l->text + used, sizeof l->text - used, "%s|%s|%s|%s%s\n", info->name,
             info->version ? info->version : "-", kvkit_status_name(info->status),
             info->shadowed ? "shadowed|" : "", info->error);
    return 0;
}

START_TEST(test_backends_list)
{
    char *a = temp_dir();
    copy_file(ODD_DIR "/twin_a.so", a, "twin.so");
    copy_file(ODD_DIR "/minimal.so", a, "minimal.so");
    copy_file(ODD_DIR "/minimal.so", a, "Not-A-Name.so"); /* not a backend name: skipped */
    copy_file(ODD_DIR "/minimal.so", a, "minimal.so.bak"); /* not *.so: skipped */
    char path[2048];
    snprintf(path, sizeof path, "%s:%s", a, ODD_DIR);
    setenv("KVKIT_PLUGIN_PATH", path, 1);
    listing_t l = {{0}};
    kvkit_error_t err = {0};
    ck_assert_int_eq(kvkit_backends_list(collect_info, &l, &err), KVKIT_OK);
    /* first directory, sorted */
    ck_assert_ptr_nonnull(strstr(l.text, "minimal|1|OK|\ntwin|A|OK|\n"));
    /* second directory: the same names are shadowed; broken plugins show why */
    ck_assert_ptr_nonnull(strstr(l.text, "minimal|1|OK|shadowed|\n"));
    ck_assert_ptr_nonnull(strstr(l.text, "abimajor|-|ABI|backend \"abimajor\""));
    ck_assert_ptr_nonnull(strstr(l.text, "nodesc|-|PLUGIN_SYMBOL|"));
    ck_assert_ptr_nonnull(strstr(l.text, "misnamed|-|PLUGIN_NAME|"));
    ck_assert_ptr_nonnull(strstr(l.text, "unresolved|-|PLUGIN_LOAD|"));
    ck_assert_ptr_null(strstr(l.text, "Not-A-Name"));
    /* twin_a.so's symbols carry twin's prefix: a renamed file does not bind */
    ck_assert_ptr_nonnull(strstr(l.text, "twin_a|-|PLUGIN_SYMBOL|"));
    /* listing loaded and unloaded again */
    ck_assert_int_eq(is_loaded(ODD_DIR "/minimal.so"), 0);
    remove_tree(a);
    free(a);
}
END_TEST

/*** files that are not this machine's shared objects (issue 11, item 6) ***/

static long file_size(const char *path)
{
    struct stat st;
    ck_assert_int_eq(stat(path, &st), 0);
    return (long)st.st_size;
}

/* dir/NAME.so := the first n bytes of `from` */
static void write_prefix(const char *from, const char *dir, const char *name, long n)
{
    char to[1200];
    snprintf(to, sizeof to, "%s/%s", dir, name);
    FILE *in = fopen(from, "rb"), *out = fopen(to, "wb");
    ck_assert_ptr_nonnull(in);
    ck_assert_ptr_nonnull(out);
    char buf[65536];
    for (long left = n; left > 0;) {
        size_t want = left < (long)sizeof buf ? (size_t)left : sizeof buf;
        ck_assert_uint_eq(fread(buf, 1, want, in), want);
        ck_assert_uint_eq(fwrite(buf, 1, want, out), want);
        left -= (long)want;
    }
    fclose(in);
    ck_assert_int_eq(fclose(out), 0);
    chmod(to, 0755);
}

START_TEST(test_plugin_truncated_refused)
{
    /* dlopen of a truncated shared object maps pages past the end of the
     * file and dies of SIGBUS; the loader must refuse it first */
    const char *memory = MEMORY_DIR "/memory.so";
    long size = file_size(memory);
    const long cuts[] = {1000, 3000, 8000, 20000, size / 2, size - 1};
    char *dir = temp_dir();
    setenv("KVKIT_PLUGIN_PATH", dir, 1);
    for (size_t i = 0; i < sizeof cuts / sizeof cuts[0]; i++) {
        if (cuts[i] >= size)
            continue;
        write_prefix(memory, dir, "memory.so", cuts[i]);
        const char *msg = open_fails("memory:", KVKIT_PLUGIN_LOAD);
        char want[1200];
        snprintf(want, sizeof want, "backend \"memory\": cannot load %s/memory.so: ", dir);
        ASSERT_HAS(msg, want);
        ASSERT_HAS(msg, "truncated");
        snprintf(want, sizeof want, "the file has %ld bytes", cuts[i]);
        ASSERT_HAS(msg, want);
    }
    /* the whole file loads */
    write_prefix(memory, dir, "memory.so", size);
    kvkit_error_t err = {0};
    kvkit_store_t *s = kvkit_store_open("memory:", &err);
    ck_assert_msg(s != NULL, "whole copy: %s", err.text);
    kvkit_store_close(s);
    remove_tree(dir);
    free(dir);
}
END_TEST

/* dir/minimal.so := a copy of minimal.so with `len` bytes at `off` replaced */
static void write_patched(const char *dir, size_t off, const void *bytes, size_t len)
{
    char to[1200];
    copy_file(ODD_DIR "/minimal.so", dir, "minimal.so");
    snprintf(to, sizeof to, "%s/minimal.so", dir);
    int fd = open(to, O_WRONLY);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(pwrite(fd, bytes, len, (off_t)off), (ssize_t)len);
    close(fd);
}

START_TEST(test_plugin_foreign_elf_refused)
{
    char *dir = temp_dir();
    setenv("KVKIT_PLUGIN_PATH", dir, 1);
    unsigned char other_class = sizeof(void *) == 8 ? ELFCLASS32 : ELFCLASS64;
    write_patched(dir, EI_CLASS, &other_class, 1);
    ASSERT_HAS(open_fails("minimal:", KVKIT_PLUGIN_LOAD),
               sizeof(void *) == 8 ? "is a 32-bit ELF file, this process is 64-bit"
                                   : "is a 64-bit ELF file, this process is 32-bit");
    const union {
        uint16_t u;
        unsigned char c[2];
    } one = {1};
    unsigned char other_data = one.c[0] ? ELFDATA2MSB : ELFDATA2LSB;
    write_patched(dir, EI_DATA, &other_data, 1);
    ASSERT_HAS(open_fails("minimal:", KVKIT_PLUGIN_LOAD), "byte order");
    uint16_t machine = EM_SPARC;
    write_patched(dir, offsetof(ElfW(Ehdr), e_machine), &machine, sizeof machine);
    ASSERT_HAS(open_fails("minimal:", KVKIT_PLUGIN_LOAD), "is for ELF machine 2, this process runs on machine ");
    uint16_t type = ET_EXEC;
    write_patched(dir, offsetof(ElfW(Ehdr), e_type), &type, sizeof type);
    ASSERT_HAS(open_fails("minimal:", KVKIT_PLUGIN_LOAD), "not a shared object");
    remove_tree(dir);
    free(dir);
}
END_TEST

START_TEST(test_backends_list_skips_fifo)
{
    /* issue 11, item 7: a FIFO named like a plugin would block open(2)
     * forever; listing reports it without opening it (Check's timeout
     * fails this test if it hangs) */
    char *dir = temp_dir();
    char fifo[1200];
    snprintf(fifo, sizeof fifo, "%s/x.so", dir);
    ck_assert_int_eq(mkfifo(fifo, 0644), 0);
    copy_file(ODD_DIR "/minimal.so", dir, "minimal.so");
    setenv("KVKIT_PLUGIN_PATH", dir, 1);
    listing_t l = {{0}};
    ck_assert_int_eq(kvkit_backends_list(collect_info, &l, NULL), KVKIT_OK);
    ASSERT_HAS(l.text, "minimal|1|OK|\n");
    ASSERT_HAS(l.text, "x|-|PLUGIN_LOAD|backend \"x\": cannot load ");
    ASSERT_HAS(l.text, "x.so: not a regular file (a FIFO)");
    remove_tree(dir);
    free(dir);
}
END_TEST

/*** errors ***/

START_TEST(test_strerror_every_code)
{
#define CHECK_CODE(name, value, text)                                          \
    ck_assert_str_eq(kvkit_strerror(KVKIT_##name), text);                      \
    ck_assert_str_eq(kvkit_status_name(KVKIT_##name), #name);
    KVKIT_STATUS_LIST(CHECK_CODE)
#undef CHECK_CODE
    ck_assert_str_eq(kvkit_strerror(-1), "unknown status code");
    ck_assert_str_eq(kvkit_status_name(9999), "UNKNOWN");
    kvkit_error_t err;
    memset(&err, 'x', sizeof err);
    kvkit_error_clear(&err);
    ck_assert_int_eq(err.code, KVKIT_OK);
    ck_assert_str_eq(err.text, "");
    kvkit_error_clear(NULL);
    /* first error wins */
    kvkit_backend_error(&err, KVKIT_IO, "a", "first %d", 1);
    kvkit_backend_error(&err, KVKIT_NOMEM, "b", "second");
    ck_assert_int_eq(err.code, KVKIT_IO);
    ck_assert_str_eq(err.text, "first 1");
    ck_assert_str_eq(err.subject, "a");
    ck_assert_int_eq(kvkit_backend_error(NULL, KVKIT_IO, NULL, "x"), KVKIT_IO);
}
END_TEST

START_TEST(test_null_arguments)
{
    kvkit_error_t err = {0};
    char *v;
    size_t n;
    ck_assert_int_eq(kvkit_store_get(NULL, "b", "k", &v, &n, &err), KVKIT_INVALID);
    ck_assert_str_eq(err.text, "store is NULL");
    kvkit_index_set_destroy(NULL);
    kvkit_batch_destroy(NULL);
    kvkit_iter_destroy(NULL);
    ck_assert_int_eq(kvkit_iter_valid(NULL), 0);
    ck_assert_int_eq(kvkit_backends_list(NULL, NULL, NULL), KVKIT_INVALID);
}
END_TEST

static Suite *loader_suite(void)
{
    Suite *s = suite_create("loader");
    TCase *uri = tcase_create("store strings");
    tcase_add_test(uri, test_store_open_bad_names);
    tcase_add_test(uri, test_store_open_bad_name_touches_no_file);
    tcase_add_test(uri, test_store_open_options);
    suite_add_tcase(s, uri);
    TCase *find = tcase_create("finding");
    tcase_add_test(find, test_unknown_backend_names_every_path);
    tcase_add_test(find, test_plugin_path_precedence);
    tcase_add_test(find, test_plugin_path_relative_ignored);
    tcase_add_test(find, test_plugin_dirs_each_order);
    tcase_add_test(find, test_plugin_path_ignored_entries_named);
    suite_add_tcase(s, find);
    TCase *bind = tcase_create("binding");
    tcase_add_test(bind, test_plugin_no_descriptor);
    tcase_add_test(bind, test_plugin_abi_major);
    tcase_add_test(bind, test_plugin_abi_newer_minor);
    tcase_add_test(bind, test_plugin_name_mismatch);
    tcase_add_test(bind, test_plugin_missing_required_op);
    tcase_add_test(bind, test_plugin_open_fails);
    tcase_add_test(bind, test_plugin_self_named_message_not_doubled);
    tcase_add_test(bind, test_plugin_unresolved_symbol);
    tcase_add_test(bind, test_plugin_not_a_shared_object);
    tcase_add_test(bind, test_plugin_optional_ops_missing);
    tcase_add_test(bind, test_plugin_plain_symbols);
    tcase_add_test(bind, test_plugin_refcount_and_unload);
    tcase_add_test(bind, test_backend_register_inprocess);
    tcase_add_test(bind, test_backend_register_snapshot_needs_views);
    tcase_add_test(bind, test_store_supports_names_optional_ops);
    tcase_add_test(bind, test_backends_list);
    suite_add_tcase(s, bind);
    TCase *elf = tcase_create("odd files");
    tcase_set_timeout(elf, 60); /* copies of memory.so; slow under sanitizers */
    tcase_add_test(elf, test_plugin_truncated_refused);
    tcase_add_test(elf, test_plugin_foreign_elf_refused);
    tcase_add_test(elf, test_backends_list_skips_fifo);
    suite_add_tcase(s, elf);
    TCase *errs = tcase_create("errors");
    tcase_add_test(errs, test_strerror_every_code);
    tcase_add_test(errs, test_null_arguments);
    suite_add_tcase(s, errs);
    return s;
}

int main(void)
{
    umask(022); /* copies made here must pass the plugin-path rule */
    SRunner *sr = srunner_create(loader_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? 0 : 1;
}
