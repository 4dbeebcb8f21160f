/* testutil.c - see testutil.h. */
#define _GNU_SOURCE
#include "testutil.h"

#include <check.h>
#include <dlfcn.h>
#include <ftw.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

char *tu_tmpdir(void)
{
    const char *base = getenv("TMPDIR");
    char *path;
    ck_assert_int_gt(asprintf(&path, "%s/kvkit-leveldb-XXXXXX", base && *base ? base : "/tmp"),
                     0);
    ck_assert_ptr_nonnull(mkdtemp(path));
    return path;
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    remove(path);
    return 0;
}

void tu_rmtree(const char *dir)
{
    if (dir != NULL)
        nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

char *tu_uri(const char *dir, const char *opts)
{
    char *uri;
    ck_assert_int_gt(asprintf(&uri, "leveldb:%s/db%s%s", dir, opts ? "?" : "", opts ? opts : ""),
                     0);
    return uri;
}

kvkit_store_t *tu_open(const char *uri)
{
    kvkit_error_t err = {0};
    kvkit_store_t *s = kvkit_store_open(uri, &err);
    ck_assert_msg(s != NULL, "open \"%s\": %s", uri, err.text);
    return s;
}

kvkit_index_set_t *tu_index(const char *field, ...)
{
    kvkit_index_set_t *set = kvkit_index_set_create();
    ck_assert_ptr_nonnull(set);
    va_list ap;
    va_start(ap, field);
    for (; field != NULL; field = va_arg(ap, const char *)) {
        const char *text = va_arg(ap, const char *);
        kvkit_error_t err = {0};
        json_t *v = json_loads(text, JSON_DECODE_ANY, NULL);
        ck_assert_msg(v != NULL, "bad test JSON %s", text);
        ck_assert_msg(kvkit_index_set_add(set, field, v, &err) == KVKIT_OK, "%s", err.text);
        json_decref(v);
    }
    va_end(ap);
    return set;
}

void tu_save(kvkit_store_t *s, const char *bucket, const char *key, const char *doc,
             kvkit_index_set_t *set)
{
    kvkit_error_t err = {0};
    int rc = kvkit_store_save(s, bucket, key, doc, strlen(doc), set, &err);
    ck_assert_msg(rc == KVKIT_OK, "save %s/%s: %s", bucket, key, err.text);
    kvkit_index_set_destroy(set);
}

typedef struct joined {
    char *buf;
    size_t len;
    FILE *f;
} joined_t;

static int join_key(void *ctx, const char *key, size_t len)
{
    joined_t *j = ctx;
    if (ftell(j->f) > 0)
        fputc(',', j->f);
    fwrite(key, 1, len, j->f);
    return 0;
}

char *tu_query(kvkit_store_t *s, const char *bucket, const char *field, const char *lo,
               const char *hi)
{
    joined_t j = {0};
    j.f = open_memstream(&j.buf, &j.len);
    json_t *l = lo ? json_loads(lo, JSON_DECODE_ANY, NULL) : NULL;
    json_t *h = hi ? json_loads(hi, JSON_DECODE_ANY, NULL) : NULL;
    kvkit_error_t err = {0};
    int rc = kvkit_store_index_keys(s, bucket, field, l, h, join_key, &j, &err);
    ck_assert_msg(rc == KVKIT_OK, "query %s: %s", field, err.text);
    json_decref(l);
    json_decref(h);
    fclose(j.f);
    return j.buf;
}

void *tu_plugin_symbol(const char *name)
{
    static void *lib;
    if (lib == NULL) {
        lib = dlopen(LEVELDB_PLUGIN, RTLD_NOW | RTLD_LOCAL);
        ck_assert_msg(lib != NULL, "dlopen %s: %s", LEVELDB_PLUGIN, dlerror());
    }
    char full[128];
    snprintf(full, sizeof full, "leveldb_LTX_%s", name);
    void *p = dlsym(lib, full);
    ck_assert_msg(p != NULL, "no symbol %s in %s", full, LEVELDB_PLUGIN);
    return p;
}
