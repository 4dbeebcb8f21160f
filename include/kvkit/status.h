/*
 * kvkit/status.h - status codes shared by libkvkit and its backend plugins.
 *
 * This header has no dependencies and declares no functions, so a plugin can
 * use the codes without linking libkvkit.  Codes are appended, never
 * renumbered or reused: a plugin built against an older list stays correct.
 */
#ifndef KVKIT_STATUS_H
#define KVKIT_STATUS_H

/* X(NAME, value, "message") - the one list that generates the enum,
 * kvkit_strerror() and kvkit_status_name(). */
#define KVKIT_STATUS_LIST(X)                                                   \
    X(OK, 0, "success")                                                        \
    X(NOTFOUND, 1, "not found")                                                \
    X(VALIDATION, 2, "validation failed")                                      \
    X(NOT_INDEXED, 3, "field is not indexed")                                  \
    X(NOT_SUPPORTED, 4, "operation not supported by this backend")            \
    X(INVALID, 5, "invalid argument")                                          \
    X(NOMEM, 6, "out of memory")                                               \
    X(IO, 7, "input/output error")                                             \
    X(CONFLICT, 8, "conflict: the stored value changed")                       \
    X(BACKEND, 9, "backend error")                                             \
    X(TIMEOUT, 10, "timed out")                                                \
    X(CORRUPT, 11, "stored data is corrupt")                                   \
    X(NO_BACKEND, 12, "no such backend")                                       \
    X(PLUGIN_LOAD, 13, "backend plugin failed to load")                        \
    X(ABI, 14, "backend plugin ABI mismatch")                                  \
    X(PLUGIN_NAME, 15, "backend plugin declares another name")                 \
    X(PLUGIN_SYMBOL, 16, "backend plugin lacks a required symbol")             \
    X(BAD_NAME, 17, "invalid backend name")                                    \
    X(BAD_OPTION, 18, "unknown or malformed store option")                     \
    X(LOCKED, 19, "store is locked by another process")                        \
    X(OUTCOME_UNKNOWN, 20, "outcome unknown: the write may have committed")    \
    X(TOO_LARGE, 21, "value or request too large")                             \
    X(REF_MISSING, 22, "referenced document not found")                       \
    X(AUTH, 23, "authentication failed: wrong user or password")              \
    X(PERMISSION, 24, "permission denied")

typedef enum kvkit_status {
#define KVKIT_STATUS_ENUM_(name, value, text) KVKIT_##name = value,
    KVKIT_STATUS_LIST(KVKIT_STATUS_ENUM_)
#undef KVKIT_STATUS_ENUM_
} kvkit_status_t;

/* Caller-owned error report, filled by every fallible call (first error
 * wins; a NULL pointer means "don't report").  Plain data, no heap: it can
 * live on the stack and be copied.  The layout only grows at the end. */
#define KVKIT_ERROR_SUBJECT_LENGTH 160
#define KVKIT_ERROR_TEXT_LENGTH 512
typedef struct kvkit_error {
    int code;                                 /* a kvkit_status_t; KVKIT_OK when clear */
    char subject[KVKIT_ERROR_SUBJECT_LENGTH]; /* what it is about: key, field, plugin, path */
    char text[KVKIT_ERROR_TEXT_LENGTH];       /* full message, lower layer's text after ':' */
} kvkit_error_t;

#endif /* KVKIT_STATUS_H */
