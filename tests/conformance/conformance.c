/*
 * kvkit-conformance - prove a backend against the kvkit store contract.
 *
 *   kvkit-conformance STORE_STRING        e.g. memory:   leveldb:/tmp/x
 *
 * Every case opens the store anew and works in buckets of its own (named
 * after the run and the case), so it can run against a store that already
 * holds data, and leaves its documents behind only when a case fails.
 * Exit status 0 when every case passes.
 */
#include "conformance.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/wait.h>
#include <unistd.h>

static Suite *conformance_suite(void)
{
    Suite *s = suite_create("conformance");
    suite_add_tcase(s, conformance_store_cases());
    suite_add_tcase(s, conformance_index_cases());
    suite_add_tcase(s, conformance_stream_cases());
    suite_add_tcase(s, conformance_view_cases());
    suite_add_tcase(s, conformance_safety_cases());
    suite_add_tcase(s, conformance_query_cases());
    suite_add_tcase(s, conformance_icursor_cases());
    return s;
}

/* Open and close the store in a child process; print its error and
 * return non-zero when it cannot open. */
static int probe_store(void)
{
    int fds[2];
    if (pipe(fds) != 0) {
        perror("kvkit-conformance: pipe");
        return 1;
    }
    fflush(stdout);
    pid_t pid = fork();
    if (pid < 0) {
        perror("kvkit-conformance: fork");
        return 1;
    }
    if (pid == 0) {
        close(fds[0]);
        kvkit_error_t err = {0};
        kvkit_store_t *s = kvkit_store_open(store_uri, &err);
        if (s == NULL) {
            ssize_t w = write(fds[1], err.text, strlen(err.text));
            _exit(w < 0 ? 2 : 1);
        }
        kvkit_store_close(s);
        _exit(0);
    }
    close(fds[1]);
    char msg[KVKIT_ERROR_TEXT_LENGTH + 1];
    ssize_t n = read(fds[0], msg, sizeof msg - 1);
    close(fds[0]);
    msg[n > 0 ? n : 0] = '\0';
    int status;
    if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        fprintf(stderr, "kvkit-conformance: %s\n", msg[0] ? msg : "the store could not be opened");
        return 1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    if (argc == 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        printf("usage: kvkit-conformance STORE\n"
               "Runs the kvkit backend conformance suite against STORE (e.g. memory:,\n"
               "leveldb:/tmp/db).  Plugins are found as by any kvkit program\n"
               "(KVKIT_PLUGIN_PATH, then %s).  Exit status 0 when every case passes.\n",
               kvkit_plugin_dir_default());
        return 0;
    }
    store_uri = argc > 1 ? argv[1] : getenv("KVKIT_CONFORMANCE_STORE");
    if (store_uri == NULL || argc > 2) {
        fprintf(stderr, "usage: kvkit-conformance STORE (or set KVKIT_CONFORMANCE_STORE)\n");
        return 2;
    }
    /* fail fast with the library's own message when the store cannot open.
     * The probe runs in a child: an engine may start threads on open
     * (LevelDB's compaction thread) that a fork would not carry into the
     * forked test cases, which then wait on them forever. */
    if (probe_store() != 0)
        return 1;
    snprintf(run_id, sizeof run_id, "conf%ld-%ld", (long)getpid(), (long)time(NULL));
    printf("kvkit-conformance: %s (run %s)\n", store_uri, run_id);
    SRunner *sr = srunner_create(conformance_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? 0 : 1;
}
