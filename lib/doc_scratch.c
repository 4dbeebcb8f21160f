/*
 * doc_scratch.c - per-thread scratch space for saves: an index set and a
 * serialization buffer that keep their capacity from one save to the next,
 * so a save does not grow fresh ones (json_dumps alone reallocates its
 * buffer several times and then copies it).  No user code runs while a
 * save uses them, so uses cannot nest.
 *
 * The serialization is jansson's compact form, byte for byte, written here
 * straight into the buffer: json_dump_callback costs about as much as the
 * whole LevelDB write of a small document (it decodes every character of
 * every string, calls back per run of characters and builds a hash table
 * of the containers it is in).  What this writer does not vouch for - a
 * string that is not UTF-8, nesting past what validation lets through (a
 * cycle) - it leaves to jansson, so those fail, or are written, as before.
 */
#include "doc_private.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

/* A buffer that grew past this is given back after the save. */
#define SCRATCH_KEEP (1u << 20)

static pthread_key_t scratch_key;
static pthread_once_t scratch_once = PTHREAD_ONCE_INIT;
static bool scratch_key_ok;

static void scratch_free(void *p)
{
    kvkit__scratch_t *sc = p;
    kvkit_index_set_destroy(sc->iset);
    kvkit__free(sc->buf);
    kvkit__free(sc);
}

static void scratch_key_create(void)
{
    scratch_key_ok = pthread_key_create(&scratch_key, scratch_free) == 0;
}

kvkit__scratch_t *kvkit__scratch(void)
{
    pthread_once(&scratch_once, scratch_key_create);
    if (!scratch_key_ok)
        return NULL;
    kvkit__scratch_t *sc = pthread_getspecific(scratch_key);
    if (sc != NULL)
        return sc;
    if ((sc = kvkit__calloc(1, sizeof *sc)) == NULL)
        return NULL;
    if ((sc->iset = kvkit_index_set_create()) == NULL ||
        pthread_setspecific(scratch_key, sc) != 0) {
        scratch_free(sc);
        return NULL;
    }
    return sc;
}

/*** the buffer ***/

static int grow(kvkit__scratch_t *sc, size_t need)
{
    size_t cap = sc->cap ? sc->cap : 1024;
    while (cap - sc->len < need) {
        if (cap > SIZE_MAX / 2)
            return -1;
        cap *= 2;
    }
    char *grown = kvkit__realloc(sc->buf, cap);
    if (grown == NULL)
        return -1;
    sc->buf = grown;
    sc->cap = cap;
    return 0;
}

/* Room for `need` more bytes; -1 when out of memory. */
static inline int reserve(kvkit__scratch_t *sc, size_t need)
{
    return sc->cap - sc->len >= need ? 0 : grow(sc, need);
}

static inline int put(kvkit__scratch_t *sc, const char *bytes, size_t n)
{
    if (reserve(sc, n) != 0)
        return -1;
    memcpy(sc->buf + sc->len, bytes, n);
    sc->len += n;
    return 0;
}

/* json_dump_callback's sink, for what the writer below leaves to jansson. */
static int append(const char *buf, size_t size, void *data)
{
    return put(data, buf, size);
}

/*** compact JSON, as json_dump_callback(JSON_COMPACT) writes it ***/

enum { DUMP_OK = 0, DUMP_NOMEM = -1, DUMP_JANSSON = 1 /* not vouched for */ };

/* Nesting the writer follows; validation refuses deeper documents, so
 * past it is a cycle, which jansson detects. */
#define DUMP_MAX_DEPTH (KVKIT_DOC_MAX_DEPTH + 2)

/* A control character, '"' or '\\': jansson's escape for it. */
static int put_escape(kvkit__scratch_t *sc, unsigned char c)
{
    static const char hex[] = "0123456789ABCDEF"; /* "\\u%04X" */
    char u[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
    switch (c) {
    case '"':
        return put(sc, "\\\"", 2);
    case '\\':
        return put(sc, "\\\\", 2);
    case '\b':
        return put(sc, "\\b", 2);
    case '\f':
        return put(sc, "\\f", 2);
    case '\n':
        return put(sc, "\\n", 2);
    case '\r':
        return put(sc, "\\r", 2);
    case '\t':
        return put(sc, "\\t", 2);
    default:
        return put(sc, u, 6);
    }
}

/* The end of the run of bytes from i on that are copied as they are: the
 * first control character, '"', '\\' or, unless `utf8` (already checked),
 * non-ASCII byte; n when there is none.  Eight bytes at a time while no
 * high bit of `m` is set: a set one means the word holds such a byte (a
 * borrow can set more, but only next to one), which the byte loop finds. */
static size_t plain_run(const unsigned char *s, size_t i, size_t n, bool utf8)
{
    const uint64_t ones = 0x0101010101010101ULL, high = 0x8080808080808080ULL;
    for (; i + 8 <= n; i += 8) {
        uint64_t x, q, b;
        memcpy(&x, s + i, 8);
        q = x ^ (ones * '"');
        b = x ^ (ones * '\\');
        uint64_t m = ((x - ones * 0x20) & ~x) | ((q - ones) & ~q) | ((b - ones) & ~b);
        if (((m | (utf8 ? 0 : x)) & high) != 0)
            break;
    }
    for (; i < n; i++) {
        unsigned char c = s[i];
        if (c < 0x20 || c == '"' || c == '\\' || (c >= 0x80 && !utf8))
            break;
    }
    return i;
}

static int put_string(kvkit__scratch_t *sc, const char *str, size_t n)
{
    const unsigned char *s = (const unsigned char *)str;
    bool utf8 = false; /* the rest of the string is known valid UTF-8 */
    if (reserve(sc, n + 2) != 0)
        return DUMP_NOMEM;
    sc->buf[sc->len++] = '"';
    size_t i = 0;
    for (;;) {
        size_t end = plain_run(s, i, n, utf8);
        if (put(sc, str + i, end - i) != 0)
            return DUMP_NOMEM;
        if (end == n)
            break;
        if (s[end] >= 0x80) { /* checked once: the bytes before are ASCII */
            if (!kvkit__utf8_valid(s + end, n - end))
                return DUMP_JANSSON;
            utf8 = true;
            i = end;
            continue;
        }
        if (put_escape(sc, s[end]) != 0)
            return DUMP_NOMEM;
        i = end + 1;
    }
    return put(sc, "\"", 1) != 0 ? DUMP_NOMEM : DUMP_OK;
}

static int put_integer(kvkit__scratch_t *sc, json_int_t v)
{
    char digits[24];
    size_t i = sizeof digits;
    unsigned long long u = v < 0 ? 0ULL - (unsigned long long)v : (unsigned long long)v;
    do
        digits[--i] = (char)('0' + u % 10);
    while ((u /= 10) != 0);
    if (v < 0)
        digits[--i] = '-';
    return put(sc, digits + i, sizeof digits - i) != 0 ? DUMP_NOMEM : DUMP_OK;
}

/* "%.17g", then what jansson does to it: the locale's decimal point made
 * '.', ".0" added to an integral value (so it reads back as a real), the
 * exponent without '+' and leading zeros (1e+20 -> 1e20, 1e-07 -> 1e-7). */
static int put_real(kvkit__scratch_t *sc, double value)
{
    char text[64];
    int w = snprintf(text, sizeof text, "%.17g", value);
    if (w < 0 || (size_t)w + 3 > sizeof text)
        return DUMP_JANSSON;
    size_t n = (size_t)w, e = 0; /* e: where the exponent starts, 0: none */
    bool point = false;
    for (size_t i = 0; i < n; i++) {
        char c = text[i];
        if (c == 'e' && e == 0)
            e = i;
        else if (!point && c != '-' && c != '+' && c != 'e' && (c < '0' || c > '9'))
            text[i] = '.';
        point = point || text[i] == '.';
    }
    if (!point && e == 0) {
        memcpy(text + n, ".0", 2);
        n += 2;
    }
    if (e > 0) { /* drop a '+' and the zeros after the sign */
        size_t from = e + 1, to = e + 1;
        if (text[from] == '-')
            from = to = e + 2;
        else
            from++;
        while (from < n && text[from] == '0')
            from++;
        memmove(text + to, text + from, n - from);
        n -= from - to;
    }
    return put(sc, text, n) != 0 ? DUMP_NOMEM : DUMP_OK;
}

static int put_value(kvkit__scratch_t *sc, const json_t *v, unsigned depth);

static int put_container(kvkit__scratch_t *sc, const json_t *v, unsigned depth)
{
    int rc = DUMP_OK;
    if (depth >= DUMP_MAX_DEPTH)
        return DUMP_JANSSON;
    if (json_is_array(v)) {
        if (put(sc, "[", 1) != 0)
            return DUMP_NOMEM;
        for (size_t i = 0; i < json_array_size(v) && rc == DUMP_OK; i++) {
            if (i > 0 && put(sc, ",", 1) != 0)
                return DUMP_NOMEM;
            rc = put_value(sc, json_array_get(v, i), depth + 1);
        }
        return rc != DUMP_OK ? rc : put(sc, "]", 1);
    }
    if (put(sc, "{", 1) != 0)
        return DUMP_NOMEM;
    /* jansson's own iteration, so the members come in jansson's order */
    bool first = true;
    for (void *it = json_object_iter((json_t *)v); it != NULL && rc == DUMP_OK;
         it = json_object_iter_next((json_t *)v, it)) {
        const char *key = json_object_iter_key(it);
#if JANSSON_VERSION_HEX >= 0x020e00
        size_t key_len = json_object_iter_key_len(it); /* keys may hold NULs */
#else
        size_t key_len = strlen(key);
#endif
        if (!first && put(sc, ",", 1) != 0)
            return DUMP_NOMEM;
        first = false;
        if ((rc = put_string(sc, key, key_len)) != DUMP_OK)
            return rc;
        if (put(sc, ":", 1) != 0)
            return DUMP_NOMEM;
        rc = put_value(sc, json_object_iter_value(it), depth + 1);
    }
    return rc != DUMP_OK ? rc : put(sc, "}", 1);
}

static int put_value(kvkit__scratch_t *sc, const json_t *v, unsigned depth)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT:
    case JSON_ARRAY:
        return put_container(sc, v, depth);
    case JSON_STRING:
        return put_string(sc, json_string_value(v), json_string_length(v));
    case JSON_INTEGER:
        return put_integer(sc, json_integer_value(v));
    case JSON_REAL:
        return put_real(sc, json_real_value(v));
    case JSON_TRUE:
        return put(sc, "true", 4);
    case JSON_FALSE:
        return put(sc, "false", 5);
    case JSON_NULL:
        return put(sc, "null", 4);
    }
    return DUMP_JANSSON;
}

int kvkit__scratch_dump(kvkit__scratch_t *sc, const json_t *value)
{
    sc->len = 0;
    int rc = json_is_object(value) || json_is_array(value) ? put_value(sc, value, 0)
                                                             : DUMP_JANSSON;
    if (rc != DUMP_JANSSON)
        return rc == DUMP_OK ? 0 : -1;
    sc->len = 0;
    return json_dump_callback(value, append, sc, JSON_COMPACT) == 0 ? 0 : -1;
}

void kvkit__scratch_trim(kvkit__scratch_t *sc)
{
    if (sc->cap > SCRATCH_KEEP) {
        kvkit__free(sc->buf);
        sc->buf = NULL;
        sc->cap = sc->len = 0;
    }
}
