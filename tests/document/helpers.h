/* helpers.h - shared by the document test suites: a memory store per test
 * and assertions that check a status code together with message text. */
#ifndef DOC_TEST_HELPERS_H
#define DOC_TEST_HELPERS_H

#include <kvkit/kvkit.h>

#include <check.h>
#include <string.h>

/* Assert OK, printing the error text otherwise. */
/* Assert OK; `call` may use `&err`, declared here, for its report. */
#define OK(call)                                                                                   \
    do {                                                                                           \
        kvkit_error_t err = {0};                                                                   \
        int rc_ = (call);                                                                          \
        ck_assert_msg(rc_ == KVKIT_OK, "%s -> %s: %s", #call, kvkit_status_name(rc_), err.text);   \
    } while (0)

/* Assert that `call` (which takes &err last) fails with `code` and that the
 * message contains `text`. */
#define FAILS(want_, needle_, call_with_err)                                                       \
    do {                                                                                           \
        kvkit_error_t err = {0};                                                                   \
        int rc_ = (call_with_err);                                                                 \
        ck_assert_msg(rc_ == (want_), "%s: got %s (%s), want %s", #call_with_err,                  \
                      kvkit_status_name(rc_), err.text, kvkit_status_name(want_));                 \
        ck_assert_int_eq(err.code, (want_));                                                       \
        ck_assert_msg(strstr(err.text, (needle_)) != NULL, "message \"%s\" lacks \"%s\"",          \
                      err.text, (needle_));                                                        \
    } while (0)

static inline kvkit_store_t *mem_store(void)
{
    kvkit_error_t err = {0};
    kvkit_store_t *st = kvkit_store_open("memory:", &err);
    ck_assert_msg(st != NULL, "memory store: %s", err.text);
    return st;
}

#endif
