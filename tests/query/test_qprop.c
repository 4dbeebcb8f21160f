/*
 * test_qprop.c - the property test of compound queries (qprop.c) on
 * memory: and leveldb:, which read the indexes through index cursors (ABI
 * 1.3), and on memory without its cursors, which pages with index_lookup
 * as Riak, etcd and older plugins do; 600 documents and 300 expressions
 * each.
 * QPROP_SEED=N picks another seed; the seed and the failing query are
 * printed on failure.
 */
#include <check.h>
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <kvkit/kvkit.h>

#include "qprop.h"

static void property(const char *uri, const char *backend)
{
    kvkit_error_t err = {0};
    const char *env = getenv("QPROP_SEED");
    kvkit_store_t *s = kvkit_store_open(uri, &err);
    ck_assert_msg(s != NULL, "%s: %s", uri, err.text);
    qprop_run(s, "b", backend, env != NULL ? (unsigned)strtoul(env, NULL, 10) : 14u, 600, 300);
    kvkit_store_close(s);
}

START_TEST(test_kvkit_query_exec_property_memory)
{
    property("memory:qprop", "memory");
}
END_TEST

/* The memory plugin's operations but its index cursors, registered
 * in-process as "nocursor". */
static void register_nocursor(void)
{
    static kvkit_backend_descriptor_t desc;
    static kvkit_backend_ops_t ops;
    const char *path = getenv("KVKIT_PLUGIN_PATH");
    ck_assert_ptr_nonnull(path);
    char so[4096];
    snprintf(so, sizeof so, "%.*s/memory.so", (int)strcspn(path, ":"), path);
    void *lib = dlopen(so, RTLD_NOW | RTLD_LOCAL);
    ck_assert_msg(lib != NULL, "%s", dlerror());
    const kvkit_backend_descriptor_t *d = dlsym(lib, "memory_LTX_kvkit_backend_descriptor");
    ck_assert_ptr_nonnull(d);
    desc = *d;
    desc.name = "nocursor";
    ops.descriptor = &desc;
#define BIND_OP(op, field, need, abi_minor)                                    \
    {                                                                          \
        void *sym = dlsym(lib, "memory_LTX_kvkit_backend_" #op);               \
        memcpy(&ops.field, &sym, sizeof sym);                                  \
    }
    KVKIT_BACKEND_OPS(BIND_OP)
#undef BIND_OP
    ck_assert_ptr_nonnull(ops.index_cursor_open); /* memory has them: hide them */
    ops.index_cursor_open = NULL;
    ops.index_cursor_next = NULL;
    ops.index_cursor_close = NULL;
    kvkit_error_t err = {0};
    ck_assert_msg(kvkit_backend_register(&ops, &err) == KVKIT_OK, "%s", err.text);
}

START_TEST(test_kvkit_query_exec_property_without_cursors)
{
    register_nocursor();
    kvkit_error_t err = {0};
    kvkit_store_t *s = kvkit_store_open("nocursor:", &err);
    ck_assert_msg(s != NULL, "%s", err.text);
    ck_assert(!kvkit_store_supports(s, "index_cursor_open"));
    ck_assert(kvkit_store_supports(s, "index_lookup"));
    kvkit_store_close(s);
    property("nocursor:", "memory without index cursors");
}
END_TEST

START_TEST(test_kvkit_query_exec_property_leveldb)
{
    char dir[] = "/tmp/kvkit-qprop-XXXXXX", uri[128];
    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(uri, sizeof uri, "leveldb:%s/db?create_if_missing=true", dir);
    property(uri, "leveldb");
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    ck_assert_int_eq(system(cmd), 0);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("query_property");
    TCase *tc = tcase_create("property");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_kvkit_query_exec_property_memory);
    tcase_add_test(tc, test_kvkit_query_exec_property_without_cursors);
    tcase_add_test(tc, test_kvkit_query_exec_property_leveldb);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
