/* test_same_store.c - one store, many spellings: a LevelDB store is known by
 * its directory (device and inode), not by how its path is written, so a
 * second open or a repair of a store this process has open is refused
 * (KVKIT_LOCKED) whatever the spelling, and the process's file lock is never
 * dropped under an open handle. */
#define _GNU_SOURCE
#include "testutil.h"

#include <check.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static char *dir, *uri;

static void setup(void)
{
    dir = tu_tmpdir();
    uri = tu_uri(dir, NULL);
}

static void teardown(void)
{
    tu_rmtree(dir);
    free(dir);
    free(uri);
}

/* "leveldb:" + dir + suffix; malloc'd. */
static char *spelled(const char *suffix)
{
    char *u;
    ck_assert_int_gt(asprintf(&u, "leveldb:%s%s", dir, suffix), 0);
    return u;
}

/* Open `second` while `first` is open: refused, naming both spellings. */
static void assert_second_open_locked(const char *first, const char *second)
{
    kvkit_store_t *s = tu_open(first);
    kvkit_error_t err = {0};
    kvkit_store_t *s2 = kvkit_store_open(second, &err);
    if (s2 != NULL)
        kvkit_store_close(s2); /* the old way: this close dropped s's lock */
    ck_assert_msg(s2 == NULL, "open \"%s\" while \"%s\" is open succeeded", second, first);
    ck_assert_msg(err.code == KVKIT_LOCKED, "open \"%s\": %s: %s", second,
                  kvkit_status_name(err.code), err.text);
    char want[9000];
    snprintf(want, sizeof want,
             "leveldb: open \"%s\": this store is already open in this process (as \"%s\")",
             second + 8, first + 8);
    ck_assert_str_eq(err.text, want);
    kvkit_store_close(s);
    kvkit_store_close(tu_open(second)); /* the claim goes with the close */
}

START_TEST(test_open_same_store_dot)
{
    char *u = spelled("/db/.");
    assert_second_open_locked(uri, u);
    free(u);
}
END_TEST

START_TEST(test_open_same_store_trailing_slash)
{
    char *u = spelled("/db/");
    assert_second_open_locked(uri, u);
    free(u);
}
END_TEST

START_TEST(test_open_same_store_dotdot)
{
    char *a = NULL;
    ck_assert_int_gt(asprintf(&a, "%s/a", dir), 0);
    ck_assert_int_eq(mkdir(a, 0755), 0);
    free(a);
    char *u = spelled("/a/../db");
    assert_second_open_locked(uri, u);
    free(u);
}
END_TEST

START_TEST(test_open_same_store_symlink)
{
    kvkit_store_close(tu_open(uri));
    char *target = NULL, *link = NULL;
    ck_assert_int_gt(asprintf(&target, "%s/db", dir), 0);
    ck_assert_int_gt(asprintf(&link, "%s/link", dir), 0);
    ck_assert_int_eq(symlink(target, link), 0);
    char *u = spelled("/link");
    assert_second_open_locked(uri, u);
    assert_second_open_locked(u, uri); /* either way round */
    free(u);
    free(link);
    free(target);
}
END_TEST

START_TEST(test_open_same_store_relative)
{
    ck_assert_int_eq(chdir(dir), 0); /* Check runs each test in its own process */
    assert_second_open_locked(uri, "leveldb:db");
    assert_second_open_locked("leveldb:./db", uri);
}
END_TEST

START_TEST(test_open_same_store_twice_same_spelling)
{
    assert_second_open_locked(uri, uri);
}
END_TEST

/* Two threads open one new directory, spelled two ways, at once: exactly one
 * gets it (the directory does not exist before either starts). */
struct racer {
    const char *uri;
    pthread_barrier_t *go;
    kvkit_store_t *s;
    kvkit_error_t err;
};

static void *race_open(void *arg)
{
    struct racer *r = arg;
    pthread_barrier_wait(r->go);
    r->s = kvkit_store_open(r->uri, &r->err);
    return NULL;
}

START_TEST(test_open_same_store_new_directory_race)
{
    for (int round = 0; round < 30; round++) {
        char *a = NULL, *b = NULL;
        ck_assert_int_gt(asprintf(&a, "leveldb:%s/new%d", dir, round), 0);
        ck_assert_int_gt(asprintf(&b, "leveldb:%s/new%d/", dir, round), 0);
        pthread_barrier_t go;
        pthread_barrier_init(&go, NULL, 2);
        struct racer r[2] = {{.uri = a, .go = &go}, {.uri = b, .go = &go}};
        pthread_t t[2];
        for (int i = 0; i < 2; i++)
            ck_assert_int_eq(pthread_create(&t[i], NULL, race_open, &r[i]), 0);
        for (int i = 0; i < 2; i++)
            pthread_join(t[i], NULL);
        pthread_barrier_destroy(&go);
        int opened = (r[0].s != NULL) + (r[1].s != NULL);
        for (int i = 0; i < 2; i++) {
            if (r[i].s == NULL)
                ck_assert_msg(r[i].err.code == KVKIT_LOCKED, "round %d, %s: %s: %s", round,
                              r[i].uri, kvkit_status_name(r[i].err.code), r[i].err.text);
            kvkit_store_close(r[i].s);
        }
        ck_assert_msg(opened == 1, "round %d: %d of 2 opens succeeded", round, opened);
        free(a);
        free(b);
    }
}
END_TEST

/* Save `n` documents k<first>..; each one acknowledged. */
static void save_range(kvkit_store_t *s, int first, int n)
{
    for (int i = first; i < first + n; i++) {
        char key[16], doc[64];
        snprintf(key, sizeof key, "k%05d", i);
        snprintf(doc, sizeof doc, "{\"i\":%d}", i);
        tu_save(s, "b", key, doc, NULL);
    }
}

/* Every document k<0>..k<n-1> is there with its own content. */
static void assert_range(kvkit_store_t *s, int n)
{
    for (int i = 0; i < n; i++) {
        char key[16], doc[64];
        snprintf(key, sizeof key, "k%05d", i);
        snprintf(doc, sizeof doc, "{\"i\":%d}", i);
        char *v = NULL;
        size_t len = 0;
        kvkit_error_t err = {0};
        ck_assert_msg(kvkit_store_get(s, "b", key, &v, &len, &err) == KVKIT_OK,
                      "acknowledged save of %s lost: %s", key, err.text);
        ck_assert_str_eq(v, doc);
        free(v);
    }
}

/* Open `u`, save b/intruder and close: the status code of the open. */
static int open_and_save(const char *u)
{
    kvkit_error_t err = {0};
    kvkit_store_t *s = kvkit_store_open(u, &err);
    if (s == NULL)
        return err.code;
    kvkit_store_save(s, "b", "intruder", "{}", 2, NULL, NULL);
    kvkit_store_close(s);
    return KVKIT_OK;
}

START_TEST(test_repair_open_store_other_spelling)
{
    kvkit_store_t *s = tu_open(uri);
    save_range(s, 0, 500);
    const char *suffixes[] = {"/db", "/db/.", "/db/", "/./db"};
    for (size_t i = 0; i < sizeof suffixes / sizeof suffixes[0]; i++) {
        char *u = spelled(suffixes[i]);
        kvkit_error_t err = {0};
        ck_assert_msg(kvkit_repair(u, &err) == KVKIT_LOCKED, "repair \"%s\": %s: %s", u,
                      kvkit_status_name(err.code), err.text);
        char want[9000];
        snprintf(want, sizeof want,
                 "leveldb: repair \"%s\": this store is already open in this process (as "
                 "\"%s\")",
                 u + 8, uri + 8);
        ck_assert_str_eq(err.text, want);
        free(u);
    }
    save_range(s, 500, 500); /* the handle still writes, under its lock */
    kvkit_store_close(s);
    s = tu_open(uri);
    assert_range(s, 1000);
    kvkit_store_close(s);
}
END_TEST

/* What another process's open of `u` answers (it saves one document when it
 * opens): its status code, or -1 if it died.  With `exec` the child runs this
 * program afresh (a process that shares nothing with this one); without, it
 * is a plain fork() of this one. */
static int child_open(const char *u, int exec)
{
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        if (exec) {
            execl("/proc/self/exe", "test_same_store", "--open-and-save", u, (char *)NULL);
            _exit(127);
        }
        _exit(open_and_save(u));
    }
    int status;
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

START_TEST(test_open_same_store_child_process_locked)
{
    kvkit_store_t *s = tu_open(uri);
    char *u = spelled("/db/.");
    for (int exec = 0; exec < 2; exec++) {
        ck_assert_int_eq(child_open(uri, exec), KVKIT_LOCKED);
        ck_assert_int_eq(child_open(u, exec), KVKIT_LOCKED);
    }
    kvkit_store_close(s);
    free(u);
}
END_TEST

/* The scenario: open twice, close the second, another process opens
 * and writes.  Now the second open fails, so the lock is never dropped. */
START_TEST(test_open_same_store_no_lost_writes)
{
    kvkit_store_t *s = tu_open(uri);
    save_range(s, 0, 1000);
    char *u = spelled("/db/.");
    kvkit_error_t err = {0};
    kvkit_store_t *s2 = kvkit_store_open(u, &err);
    if (s2 != NULL)
        kvkit_store_close(s2);
    int child = child_open(uri, 1);
    save_range(s, 1000, 1000);
    kvkit_store_close(s);
    ck_assert_msg(s2 == NULL, "second open of the store as \"%s\" succeeded", u);
    ck_assert_int_eq(err.code, KVKIT_LOCKED);
    ck_assert_msg(child == KVKIT_LOCKED, "another process opened the store: %d", child);
    s = tu_open(uri);
    assert_range(s, 2000);
    char *v = NULL;
    size_t n;
    ck_assert_int_eq(kvkit_store_get(s, "b", "intruder", &v, &n, NULL), KVKIT_NOTFOUND);
    kvkit_store_close(s);
    free(u);
}
END_TEST

START_TEST(test_repair_store_open_in_child_process)
{
    int ready[2], done[2];
    ck_assert_int_eq(pipe(ready), 0);
    ck_assert_int_eq(pipe(done), 0);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        kvkit_store_t *s = kvkit_store_open(uri, NULL);
        char c = s ? 'y' : 'n';
        if (s != NULL)
            kvkit_store_save(s, "b", "k", "{}", 2, NULL, NULL);
        if (write(ready[1], &c, 1) != 1 || read(done[0], &c, 1) < 0)
            _exit(2);
        kvkit_store_close(s);
        _exit(0);
    }
    char c = 0;
    ck_assert_int_eq(read(ready[0], &c, 1), 1);
    ck_assert_int_eq(c, 'y');
    char *u = spelled("/db/.");
    kvkit_error_t err = {0}, err2 = {0};
    int rc = kvkit_repair(uri, &err), rc2 = kvkit_repair(u, &err2);
    ck_assert_int_eq(write(done[1], "x", 1), 1);
    int status;
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert_msg(rc == KVKIT_LOCKED, "%s: %s", kvkit_status_name(rc), err.text);
    ck_assert_msg(rc2 == KVKIT_LOCKED, "%s: %s", kvkit_status_name(rc2), err2.text);
    ck_assert_msg(strstr(err.text, "locked by another process") != NULL, "%s", err.text);
    /* once the other process is gone, repair runs */
    ck_assert_msg(kvkit_repair(u, &err) == KVKIT_OK, "%s", err.text);
    free(u);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("leveldb_same_store");
    TCase *tc = tcase_create("same_store");
    tcase_set_timeout(tc, 60);
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_open_same_store_dot);
    tcase_add_test(tc, test_open_same_store_trailing_slash);
    tcase_add_test(tc, test_open_same_store_dotdot);
    tcase_add_test(tc, test_open_same_store_symlink);
    tcase_add_test(tc, test_open_same_store_relative);
    tcase_add_test(tc, test_open_same_store_twice_same_spelling);
    tcase_add_test(tc, test_open_same_store_new_directory_race);
    tcase_add_test(tc, test_open_same_store_child_process_locked);
    tcase_add_test(tc, test_open_same_store_no_lost_writes);
    tcase_add_test(tc, test_repair_open_store_other_spelling);
    tcase_add_test(tc, test_repair_store_open_in_child_process);
    suite_add_tcase(s, tc);
    return s;
}

int main(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[1], "--open-and-save") == 0)
        return open_and_save(argv[2]);
    SRunner *sr = srunner_create(suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
