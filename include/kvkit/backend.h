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
 *    function symbol per operation, all named in KVKIT_BACKEND_OPS
 *    (backend_types.h, included below).  Spell them with
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

/* Order of two sortable values (or any byte strings): memcmp order, a
 * proper prefix first.  Negative, zero or positive, as for memcmp. */
static inline int kvkit_sortable_cmp(const unsigned char *a, size_t alen,
                                     const unsigned char *b, size_t blen)
{
    int c = memcmp(a, b, alen < blen ? alen : blen);
    return c ? c : (alen > blen) - (alen < blen);
}

/* The encoders: the bytes libkvkit puts in kvkit_index_value_t.sortable,
 * for engines that work out sortable values of their own (Riak reads
 * typed values back).  Each writes into `out` and returns the length.
 *   number: tag, the double d [8, big-endian, sign-flipped so memcmp order
 *           is numeric order], then the exact integer correction (value - d,
 *           non-zero only for integers beyond 2^53) [8, offset by 2^63];
 *           -0.0 is written as 0.0.
 *   string: tag, the bytes with 0x00 written as 00 FF, then 00 01. */
static inline void kvkit_sortable_be64_(unsigned char *p, uint64_t v)
{
    for (int i = 7; i >= 0; i--, v >>= 8)
        p[i] = (unsigned char)(v & 0xff);
}

static inline size_t kvkit_sortable_number_(unsigned char *out, double d, int64_t correction)
{
    uint64_t bits;
    if (d == 0)
        d = 0.0; /* -0.0 == 0.0 numerically, so they must encode alike */
    memcpy(&bits, &d, sizeof bits);
    bits = (bits >> 63) ? ~bits : bits | (1ULL << 63);
    out[0] = KVKIT_SORTABLE_NUMBER;
    kvkit_sortable_be64_(out + 1, bits);
    kvkit_sortable_be64_(out + 9, (uint64_t)correction ^ (1ULL << 63));
    return KVKIT_SORTABLE_NUMBER_LEN;
}

/* A finite real; out holds KVKIT_SORTABLE_NUMBER_LEN bytes. */
static inline size_t kvkit_sortable_real(unsigned char *out, double d)
{
    return kvkit_sortable_number_(out, d, 0);
}

/* An integer, exactly (it sorts among reals by value); out holds
 * KVKIT_SORTABLE_NUMBER_LEN bytes. */
static inline size_t kvkit_sortable_integer(unsigned char *out, int64_t i)
{
    double d = (double)i;
    /* d is integral and within [-2^63, 2^63], so i - d is small (at most
     * 2^10 either way); d == 2^63 is the one value int64_t cannot hold */
    int64_t c = d >= 9223372036854775808.0 ? -(int64_t)((1ULL << 63) - (uint64_t)i)
                                           : i - (int64_t)d;
    return kvkit_sortable_number_(out, d, c);
}

/* A string of n bytes (NULs allowed); out holds KVKIT_SORTABLE_STRING_MAX(n)
 * bytes. */
#define KVKIT_SORTABLE_STRING_MAX(n) (2 * (size_t)(n) + 3)
static inline size_t kvkit_sortable_string(unsigned char *out, const char *s, size_t n)
{
    size_t o = 0;
    out[o++] = KVKIT_SORTABLE_STRING;
    while (n > 0) { /* copy runs between NULs; each NUL becomes 00 FF */
        const char *nul = (const char *)memchr(s, '\0', n);
        size_t run = nul ? (size_t)(nul - s) : n;
        memcpy(out + o, s, run);
        o += run;
        if (nul == NULL)
            break;
        out[o++] = 0x00;
        out[o++] = 0xFF;
        s += run + 1;
        n -= run + 1;
    }
    out[o++] = 0x00;
    out[o++] = 0x01;
    return o;
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
