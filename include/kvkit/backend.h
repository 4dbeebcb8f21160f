/*
 * kvkit/backend.h - the ABI between libkvkit and a backend plugin.
 *
 * This is the only header a backend needs.  A backend is a shared object
 * named NAME.so (NAME matches [a-z0-9_]{1,64}) in a plugin directory.  It
 * does not link libkvkit and sees no jansson type: everything crossing this
 * boundary is plain C data.
 *
 * Rules of the boundary:
 *
 *  - Symbols.  A plugin exports one data symbol, the descriptor, and one
 *    function symbol per operation, all named below.  Spell them with
 *    libtool's module prefix (NAME_LTX_kvkit_backend_open ...) so several
 *    plugins can be preloaded into one binary; KVKIT_BACKEND_SYMBOL() does it.
 *    Plain spellings are accepted as well.
 *  - Required operations: open, close, get, save, delete.  Everything else is
 *    optional: a missing one makes libkvkit answer KVKIT_NOT_SUPPORTED.  New
 *    operations are only ever added as optional ones, with a minor ABI bump.
 *  - Strings (location, option keys and values, bucket, key, field) are UTF-8
 *    and NUL-terminated; they are borrowed for the duration of the call only.
 *    libkvkit has already checked that bucket and key are 1..KVKIT_BUCKET_MAX
 *    and 1..KVKIT_KEY_MAX bytes and contain no NUL, and that field names do
 *    not start with '$' (pseudo-fields are handled in libkvkit).
 *  - Values are opaque bytes (pointer + length).  A value returned to
 *    libkvkit (get) is allocated with malloc(3) and freed by libkvkit with
 *    free(3).  Everything libkvkit passes in is borrowed.
 *  - Errors: every fallible operation returns a kvkit_status_t and, on
 *    failure, fills *err (never NULL when libkvkit calls) - use
 *    kvkit_backend_error() below.  KVKIT_NOTFOUND from get is an outcome and
 *    needs no message.  libkvkit shows the text prefixed with the backend
 *    name and ": " ("memory: put \"k\": ..."), so a message need not name
 *    its backend; one that starts with the name followed by ':' or ' '
 *    ("hashlog /path: ...") is shown as is, never named twice.
 *  - Threads: a backend whose descriptor carries KVKIT_BACKEND_THREAD_SAFE
 *    may be called concurrently on one handle; otherwise libkvkit serializes
 *    calls per store.
 */
#ifndef KVKIT_BACKEND_H
#define KVKIT_BACKEND_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <kvkit/backend_types.h>
#include <kvkit/status.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The ABI itself - limits, the descriptor, the data crossing the boundary,
 * one function type per operation and the list of operations - is in
 * <kvkit/backend_types.h>, which kvkit.h shares. */

/*** helpers for plugin authors (header-only: no libkvkit symbol needed) ***/

/* Symbol spelling: in NAME.c, `#define KVKIT_BACKEND_NAME NAME` before
 * including this header and write KVKIT_BACKEND_SYMBOL(kvkit_backend_get):
 * it expands to NAME_LTX_kvkit_backend_get (plain kvkit_backend_get when
 * KVKIT_BACKEND_NAME is not defined). */
#define KVKIT_BACKEND_CONCAT2_(a, b) a##_LTX_##b
#define KVKIT_BACKEND_CONCAT_(a, b) KVKIT_BACKEND_CONCAT2_(a, b)
#ifdef KVKIT_BACKEND_NAME
#define KVKIT_BACKEND_SYMBOL(sym) KVKIT_BACKEND_CONCAT_(KVKIT_BACKEND_NAME, sym)
#else
#define KVKIT_BACKEND_SYMBOL(sym) sym
#endif

/* KVKIT_BACKEND_DECLARE(get);  declares the exported kvkit_backend_get with
 * the ABI's signature (kvkit_backend_get_f). */
#define KVKIT_BACKEND_DECLARE(op)                                              \
    kvkit_backend_##op##_f KVKIT_BACKEND_SYMBOL(kvkit_backend_##op)

/* Fill an error report: code, subject and a printf-formatted message.  The
 * first error wins: a report that already holds an error is kept.  Returns
 * `code`, so `return kvkit_backend_error(err, KVKIT_IO, key, "...")` reads
 * naturally. */
#if defined(__GNUC__)
__attribute__((format(printf, 4, 5)))
#endif
static inline int kvkit_backend_error(kvkit_error_t *err, int code,
                                      const char *subject, const char *fmt, ...)
{
    if (err == NULL || err->code != KVKIT_OK)
        return code;
    err->code = code;
    snprintf(err->subject, sizeof err->subject, "%s", subject ? subject : "");
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->text, sizeof err->text, fmt, ap);
    va_end(ap);
    return code;
}

/* Sortable encoding tags. */
#define KVKIT_SORTABLE_NUMBER 0x10
#define KVKIT_SORTABLE_STRING 0x20
#define KVKIT_SORTABLE_NUMBER_LEN 17 /* tag + 8-byte double + 8-byte correction */

/* Length of the sortable value at the start of p[0..n), or 0 when the bytes
 * do not start with a complete, well-formed sortable value. */
static inline size_t kvkit_sortable_length(const unsigned char *p, size_t n)
{
    if (n == 0)
        return 0;
    if (p[0] == KVKIT_SORTABLE_NUMBER)
        return n >= KVKIT_SORTABLE_NUMBER_LEN ? KVKIT_SORTABLE_NUMBER_LEN : 0;
    if (p[0] != KVKIT_SORTABLE_STRING)
        return 0;
    for (size_t i = 1; i + 1 < n; i++) {
        if (p[i] != 0x00)
            continue;
        if (p[i + 1] == 0x01)
            return i + 2;
        if (p[i + 1] != 0xFF)
            return 0;
        i++;
    }
    return 0;
}

/* Parse an option value as a boolean (true/false, yes/no, on/off, 1/0).
 * Returns 0 and sets *out, or fills err with KVKIT_BAD_OPTION naming the key. */
static inline int kvkit_backend_option_bool(const kvkit_backend_option_t *opt,
                                            int *out, kvkit_error_t *err)
{
    static const char *const yes[] = {"true", "yes", "on", "1"};
    static const char *const no[] = {"false", "no", "off", "0"};
    for (size_t i = 0; i < 4; i++) {
        if (strcmp(opt->value, yes[i]) == 0) {
            *out = 1;
            return KVKIT_OK;
        }
        if (strcmp(opt->value, no[i]) == 0) {
            *out = 0;
            return KVKIT_OK;
        }
    }
    return kvkit_backend_error(err, KVKIT_BAD_OPTION, opt->key,
                               "option \"%s\": expected true or false, got \"%s\"",
                               opt->key, opt->value);
}

/* Parse an option value as an unsigned integer in [min, max]. */
static inline int kvkit_backend_option_uint(const kvkit_backend_option_t *opt,
                                            uint64_t min, uint64_t max,
                                            uint64_t *out, kvkit_error_t *err)
{
    const char *s = opt->value;
    uint64_t v = 0;
    if (*s == '\0')
        goto bad;
    for (; *s; s++) {
        if (*s < '0' || *s > '9' || v > (UINT64_MAX - 9) / 10)
            goto bad;
        v = v * 10 + (uint64_t)(*s - '0');
    }
    if (v < min || v > max)
        goto bad;
    *out = v;
    return KVKIT_OK;
bad:
    return kvkit_backend_error(err, KVKIT_BAD_OPTION, opt->key,
                               "option \"%s\": expected a whole number from %llu to %llu, got \"%s\"",
                               opt->key, (unsigned long long)min,
                               (unsigned long long)max, opt->value);
}

#ifdef __cplusplus
}
#endif

#endif /* KVKIT_BACKEND_H */
