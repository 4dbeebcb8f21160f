/*
 * test_nomem.c - allocation failures inside jansson (injected with
 * json_set_alloc_funcs: the Nth allocation fails) surface from the
 * document layer as KVKIT_NOMEM, never as a crash, a wrong success or
 * (under ASan) a leak.  A scenario runs once per N until it completes.
 */
#include "helpers.h"

#include <stdlib.h>

static long countdown = -1; /* allocations left before failing; -1: never */

static void *failing_malloc(size_t size)
{
    if (countdown == 0)
        return NULL;
    if (countdown > 0)
        countdown--;
    return malloc(size);
}

/* Run `call`; the first failure ends the scenario and must be NOMEM. */
#define STEP(call)                                                                                 \
    do {                                                                                           \
        kvkit_error_t err = {0};                                                                   \
        int rc_ = (call);                                                                          \
        if (rc_ != KVKIT_OK) {                                                                     \
            ck_assert_msg(rc_ == KVKIT_NOMEM, "%s -> %s: %s", #call, kvkit_status_name(rc_),       \
                          err.text);                                                               \
            ck_assert_int_eq(err.code, KVKIT_NOMEM);                                               \
            goto out;                                                                              \
        }                                                                                          \
    } while (0)

/* Returns 1 when every step succeeded. */
static int scenario(kvkit_schema_t *post, json_t *title, json_t *tags, json_t *patch)
{
    int done = 0;
    kvkit_doc_t *d = NULL, *g = NULL;
    json_t *ser = NULL, *inv = NULL;
    kvkit_query_t *q = NULL;
    STEP(kvkit_doc_new(post, "k1", &d, &err));
    STEP(kvkit_doc_attr_set(d, "title", title, &err));
    STEP(kvkit_doc_attr_set(d, "tags", tags, &err));
    STEP(kvkit_doc_attr_set_string(d, "state", "b", &err));
    STEP(kvkit_doc_merge(d, patch, 0, &err));
    STEP(kvkit_doc_save(d, &err));
    STEP(kvkit_doc_get(post, "k1", &g, &err));
    STEP(kvkit_doc_serialize(g, NULL, KVKIT_SERIALIZE_KEY, &ser, &err));
    STEP(kvkit_doc_invalids(g, &inv, &err));
    STEP(kvkit_doc_clear(g, 0, &err));
    STEP(kvkit_query_index(post, "tags", json_array_get(tags, 0), NULL, 0, &q, &err));
    for (; kvkit_query_valid(q); kvkit_query_next(q))
        if (kvkit_query_doc(q) == NULL) {
            ck_assert_int_ne(kvkit_query_status(q, NULL), KVKIT_OK); /* ended by an error */
            break;
        }
    STEP(kvkit_query_status(q, &err));
    done = 1;
out:
    kvkit_query_destroy(q);
    json_decref(ser);
    json_decref(inv);
    kvkit_doc_destroy(g);
    kvkit_doc_destroy(d);
    return done;
}

START_TEST(test_doc_nomem_every_allocation)
{
    kvkit_store_t *store = mem_store();
    kvkit_schema_t *post;
    static const char *const abc[] = {"a", "b", "c"};
    kvkit_prop_t *p;
    OK(kvkit_schema_create("Post", NULL, store, &post, &err));
    OK(kvkit_schema_add(post, "title", KVKIT_PROP_STRING, KVKIT_PROP_REQUIRED, NULL, &err));
    OK(kvkit_schema_add(post, "tags", KVKIT_PROP_LIST, KVKIT_PROP_INDEX, NULL, &err));
    OK(kvkit_schema_add_enum(post, "state", abc, 3, KVKIT_PROP_INDEX, NULL, &err));
    OK(kvkit_schema_add(post, "meta", KVKIT_PROP_DICT, 0, &p, &err));
    json_t *def = json_pack("{s:[i]}", "n", 1);
    OK(kvkit_prop_set_default(p, def, &err));
    json_t *title = json_string("hello");
    json_t *tags = json_pack("[ss]", "x", "y");
    json_t *patch = json_pack("{s:i,s:n}", "views", 3, "gone");
    json_set_alloc_funcs(failing_malloc, free);
    int n;
    for (n = 0; n < 100000; n++) {
        countdown = n;
        int done = scenario(post, title, tags, patch);
        countdown = -1;
        OK(kvkit_doc_delete_key(post, "k1", &err));
        if (done)
            break;
    }
    json_set_alloc_funcs(malloc, free);
    ck_assert_int_gt(n, 20); /* the scenario allocates; failures were exercised */
    ck_assert_int_lt(n, 100000);
    json_decref(title);
    json_decref(tags);
    json_decref(patch);
    json_decref(def);
    kvkit_schema_destroy(post);
    kvkit_store_close(store);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("nomem");
    TCase *tc = tcase_create("nomem");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_doc_nomem_every_allocation);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
