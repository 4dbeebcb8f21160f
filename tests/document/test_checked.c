/*
 * test_checked.c - checked saves of documents read with kvkit_doc_get: a
 * read keeps the stored bytes, and kvkit_doc_save_checked succeeds exactly
 * when the stored bytes are still those (document.h).  Every case runs on
 * the memory backend and on LevelDB.
 */
#define _XOPEN_SOURCE 700 /* nftw */
#include "helpers.h"

#include <ftw.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static kvkit_store_t *store;
static kvkit_schema_t *note;
static char dir[64];

static int remove_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    return remove(path);
}

/* _i: 0 the memory backend, 1 LevelDB in a fresh directory. */
static void open_store(int backend)
{
    kvkit_error_t lerr = {0};
    char uri[128];
    dir[0] = '\0';
    if (backend == 0) {
        store = mem_store();
    } else {
        snprintf(dir, sizeof dir, "/tmp/kvkit-test-checked.XXXXXX");
        ck_assert_ptr_nonnull(mkdtemp(dir));
        snprintf(uri, sizeof uri, "leveldb:%s/db", dir);
        store = kvkit_store_open(uri, &lerr);
        ck_assert_msg(store != NULL, "%s: %s", uri, lerr.text);
    }
    OK(kvkit_schema_create("Note", NULL, store, &note, &err));
    OK(kvkit_schema_add(note, "title", KVKIT_PROP_STRING, KVKIT_PROP_INDEX, NULL, &err));
    OK(kvkit_schema_add(note, "body", KVKIT_PROP_STRING, 0, NULL, &err));
}

static void close_store(void)
{
    kvkit_schema_destroy(note);
    kvkit_store_close(store);
    if (dir[0] != '\0')
        nftw(dir, remove_one, 8, FTW_DEPTH | FTW_PHYS);
}

/* Save `key` unchecked with `title`, as another writer would. */
static void writer_save(const char *key, const char *title)
{
    kvkit_doc_t *w;
    kvkit_error_t lerr = {0};
    int rc = kvkit_doc_get(note, key, &w, &lerr);
    if (rc == KVKIT_NOTFOUND)
        rc = kvkit_doc_new(note, key, &w, &lerr);
    ck_assert_msg(rc == KVKIT_OK, "%s", lerr.text);
    OK(kvkit_doc_attr_set_string(w, "title", title, &err));
    OK(kvkit_doc_attr_set_string(w, "body", "text", &err));
    OK(kvkit_doc_save(w, &err));
    kvkit_doc_destroy(w);
}

/* The stored bytes of `key` (malloc'd) and their revision. */
static char *stored(const char *key, uint64_t *rev)
{
    char *v = NULL;
    size_t n = 0;
    OK(kvkit_store_get_rev(store, "Note", key, &v, &n, rev, &err));
    char *text = strndup(v, n);
    free(v);
    return text;
}

static const char *title_of(const kvkit_doc_t *d)
{
    const char *t = NULL;
    OK(kvkit_doc_attr_get_string(d, "title", &t, &err));
    return t;
}

/*** the rule ***/

START_TEST(test_checked_unchanged_read_saves)
{
    open_store(_i);
    writer_save("n1", "one");
    kvkit_doc_t *d;
    OK(kvkit_doc_get(note, "n1", &d, &err));
    OK(kvkit_doc_attr_set_string(d, "title", "mine", &err));
    OK(kvkit_doc_save_checked(d, &err));
    uint64_t rev;
    char *now = stored("n1", &rev);
    ck_assert_ptr_nonnull(strstr(now, "\"mine\""));
    ck_assert_uint_eq(kvkit_doc_revision(d), rev); /* known after a checked save */
    /* a second checked save compares with the bytes the first one wrote */
    OK(kvkit_doc_attr_set_string(d, "title", "mine again", &err));
    OK(kvkit_doc_save_checked(d, &err));
    free(now);
    kvkit_doc_destroy(d);
    close_store();
}
END_TEST

/* _i / 2: the backend; _i % 2: whether the revision was asked for (and
 * remembered) before the other writer saved. */
START_TEST(test_checked_changed_conflicts)
{
    open_store(_i / 2);
    writer_save("n1", "one");
    kvkit_doc_t *d;
    OK(kvkit_doc_get(note, "n1", &d, &err));
    if (_i % 2)
        ck_assert_uint_gt(kvkit_doc_revision(d), 0);
    writer_save("n1", "theirs");
    uint64_t before_rev, after_rev;
    char *before = stored("n1", &before_rev);
    OK(kvkit_doc_attr_set_string(d, "title", "mine", &err));
    FAILS(KVKIT_CONFLICT, "save \"n1\": the stored document changed since it was read",
          kvkit_doc_save_checked(d, &err));
    char *after = stored("n1", &after_rev);
    ck_assert_str_eq(after, before); /* untouched */
    ck_assert_uint_eq(after_rev, before_rev);
    kvkit_doc_destroy(d);
    free(before);
    free(after);
    close_store();
}
END_TEST

START_TEST(test_checked_changed_back_saves)
{
    open_store(_i / 2);
    writer_save("n1", "one");
    uint64_t r0, r2;
    char *original = stored("n1", &r0);
    kvkit_doc_t *d;
    OK(kvkit_doc_get(note, "n1", &d, &err));
    if (_i % 2)
        ck_assert_uint_eq(kvkit_doc_revision(d), r0);
    writer_save("n1", "theirs");
    writer_save("n1", "one"); /* undone: the same bytes, a new revision */
    char *back = stored("n1", &r2);
    ck_assert_str_eq(back, original);
    ck_assert_uint_ne(r2, r0);
    /* documented: identical bytes do not conflict */
    OK(kvkit_doc_attr_set_string(d, "title", "mine", &err));
    OK(kvkit_doc_save_checked(d, &err));
    ck_assert_str_eq(title_of(d), "mine");
    kvkit_doc_t *g;
    OK(kvkit_doc_get(note, "n1", &g, &err));
    ck_assert_str_eq(title_of(g), "mine");
    kvkit_doc_destroy(g);
    kvkit_doc_destroy(d);
    free(original);
    free(back);
    close_store();
}
END_TEST

START_TEST(test_checked_deleted_conflicts)
{
    open_store(_i);
    writer_save("n1", "one");
    kvkit_doc_t *d, *g = NULL;
    OK(kvkit_doc_get(note, "n1", &d, &err));
    OK(kvkit_doc_delete_key(note, "n1", &err));
    FAILS(KVKIT_CONFLICT, "save \"n1\": the stored document was deleted since it was read",
          kvkit_doc_save_checked(d, &err));
    ck_assert_int_eq(kvkit_doc_get(note, "n1", &g, NULL), KVKIT_NOTFOUND); /* not re-created */
    ck_assert_ptr_null(g);
    ck_assert_uint_eq(kvkit_doc_revision(d), 0);
    kvkit_doc_destroy(d);
    close_store();
}
END_TEST

/*** kvkit_doc_revision ***/

START_TEST(test_checked_revision_on_demand)
{
    open_store(_i);
    writer_save("n1", "one");
    uint64_t r1, r2;
    free(stored("n1", &r1));
    kvkit_doc_t *d, *e;
    OK(kvkit_doc_get(note, "n1", &d, &err));
    OK(kvkit_doc_get(note, "n1", &e, &err));
    ck_assert_uint_eq(kvkit_doc_revision(d), r1); /* looked up, remembered */
    writer_save("n1", "theirs");
    free(stored("n1", &r2));
    ck_assert_uint_ne(r2, r1);
    ck_assert_uint_eq(kvkit_doc_revision(d), r1);
    /* e never asked: its bytes are no longer stored */
    ck_assert_uint_eq(kvkit_doc_revision(e), 0);
    /* unchecked save: nothing kept, nothing to compare with */
    OK(kvkit_doc_save(e, &err));
    ck_assert_uint_eq(kvkit_doc_revision(e), 0);
    FAILS(KVKIT_INVALID, "revision unknown", kvkit_doc_save_checked(e, &err));
    kvkit_doc_destroy(d);
    kvkit_doc_destroy(e);
    close_store();
}
END_TEST

/*** reload ***/

START_TEST(test_checked_reload_keeps_new_bytes)
{
    open_store(_i);
    writer_save("n1", "one");
    kvkit_doc_t *d;
    OK(kvkit_doc_get(note, "n1", &d, &err));
    ck_assert_uint_gt(kvkit_doc_revision(d), 0); /* remembered: reload must drop it */
    writer_save("n1", "theirs");
    uint64_t r2;
    free(stored("n1", &r2));
    OK(kvkit_doc_reload(d, &err));
    ck_assert_str_eq(title_of(d), "theirs");
    ck_assert_uint_eq(kvkit_doc_revision(d), r2);
    OK(kvkit_doc_attr_set_string(d, "title", "mine", &err));
    OK(kvkit_doc_save_checked(d, &err));
    /* after an unchecked save, a reload keeps bytes again */
    OK(kvkit_doc_save(d, &err));
    FAILS(KVKIT_INVALID, "revision unknown", kvkit_doc_save_checked(d, &err));
    OK(kvkit_doc_reload(d, &err));
    OK(kvkit_doc_save_checked(d, &err));
    kvkit_doc_destroy(d);
    close_store();
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("checked");
    TCase *tc = tcase_create("rule");
    tcase_add_loop_test(tc, test_checked_unchanged_read_saves, 0, 2);
    tcase_add_loop_test(tc, test_checked_changed_conflicts, 0, 4);
    tcase_add_loop_test(tc, test_checked_changed_back_saves, 0, 4);
    tcase_add_loop_test(tc, test_checked_deleted_conflicts, 0, 2);
    suite_add_tcase(s, tc);
    tc = tcase_create("revision");
    tcase_add_loop_test(tc, test_checked_revision_on_demand, 0, 2);
    tcase_add_loop_test(tc, test_checked_reload_keeps_new_bytes, 0, 2);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
