/*
 * jsonline.c - import's fast path: one pass over a document line that is
 * already in the form kvkit stores, without building a jansson tree.
 *
 * A line qualifies when it is {"key": KEY, "value": DOCUMENT} (whitespace
 * allowed around the two members only) and DOCUMENT is exactly what
 * json_dumps(JSON_COMPACT | JSON_PRESERVE_ORDER) would write for it: no
 * whitespace, strings in valid UTF-8 with only the escapes jansson writes
 * itself (\" \\ \b \f \n \r \t), integers as jansson prints them, reals
 * checked against jansson's own output, no duplicate member names.  That
 * is what `kvkit export` writes.  Anything else (and anything invalid) is
 * "not fast": the caller takes the jansson path, which gives the same
 * result or the same error message as before this file existed.  The scan
 * only ever accepts; it never reports errors.
 */
#include <config.h>

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

#define MAX_DEPTH 32
#define MAX_MEMBERS CLI_JSONLINE_MEMBERS /* per object; more takes the jansson path */

typedef struct scan {
    const unsigned char *p, *end;
    int depth;
    cli_jsonline_t *out; /* receives the document's top-level members */
} scan_t;

static bool scan_value(scan_t *s);

/* The UTF-8 sequence at s->p (a byte >= 0x80) is well formed and not a
 * surrogate, overlong or above U+10FFFF (what jansson accepts). */
static bool scan_utf8(scan_t *s)
{
    const unsigned char *p = s->p;
    unsigned c = *p;
    size_t n = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC2 ? 2 : 0;
    if (n == 0 || c > 0xF4 || (size_t)(s->end - p) < n)
        return false;
    unsigned cp = c & (0x3F >> (n - 1));
    for (size_t i = 1; i < n; i++) {
        if ((p[i] & 0xC0) != 0x80)
            return false;
        cp = (cp << 6) | (p[i] & 0x3F);
    }
    if ((n == 3 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) ||
        (n == 4 && (cp < 0x10000 || cp > 0x10FFFF)))
        return false;
    s->p += n;
    return true;
}

/* A string at s->p ('"'); *escaped tells whether it holds an escape. */
static bool scan_string(scan_t *s, bool *escaped)
{
    *escaped = false;
    s->p++;
    while (s->p < s->end) {
        const unsigned char *p = s->p; /* plain ASCII first, in a tight loop */
        while (p < s->end && *p >= 0x20 && *p < 0x80 && *p != '"' && *p != '\\')
            p++;
        s->p = p;
        if (p == s->end)
            break;
        unsigned c = *p;
        if (c == '"') {
            s->p++;
            return true;
        }
        if (c < 0x20)
            return false;
        if (c == '\\') {
            if (s->p + 1 >= s->end || strchr("\"\\bfnrt", s->p[1]) == NULL || s->p[1] == '\0')
                return false; /* \/ and \u are not how jansson writes them */
            *escaped = true;
            s->p += 2;
        } else if (!scan_utf8(s)) { /* c >= 0x80: the loop took the rest */
            return false;
        }
    }
    return false;
}

/* Whether text[0, len) (a number's characters) is what jansson writes for
 * the real it reads.  Jansson would read it with strtod too; its own output
 * is valid JSON, so equal bytes also prove the text is.  strtod and a dump
 * into a buffer on the stack: no lexer, no allocation but the real. */
static bool same_real(const unsigned char *text, size_t len)
{
    char num[64], back[64];
    if (len >= sizeof num)
        return false;
    memcpy(num, text, len);
    num[len] = '\0';
    char *end;
    errno = 0;
    double d = strtod(num, &end);
    if (end != num + len || errno == ERANGE)
        return false; /* overflow (jansson refuses it) or underflow: the slow path decides */
    json_t *v = json_real(d);
    size_t n = v != NULL ? json_dumpb(v, back, sizeof back, JSON_ENCODE_ANY | JSON_COMPACT) : 0;
    json_decref(v);
    return n == len && memcmp(back, text, len) == 0;
}

/* A number: integers as jansson prints them (no "-0", not so long that
 * jansson could refuse them); reals when jansson writes them back the
 * same. */
static bool scan_number(scan_t *s)
{
    const unsigned char *start = s->p, *p = s->p;
    if (p < s->end && *p == '-')
        p++;
    const unsigned char *digits = p;
    while (p < s->end && *p >= '0' && *p <= '9')
        p++;
    size_t nd = (size_t)(p - digits);
    if (nd == 0 || (nd > 1 && *digits == '0'))
        return false;
    bool real = p < s->end && (*p == '.' || *p == 'e' || *p == 'E');
    if (!real) {
        s->p = p;
        return nd <= 18 && !(nd == 1 && *digits == '0' && digits != start);
    }
    while (p < s->end && strchr("0123456789.eE+-", *p) != NULL && *p != '\0')
        p++;
    s->p = p;
    return same_real(start, (size_t)(p - start));
}

static bool scan_literal(scan_t *s, const char *word, size_t len)
{
    if ((size_t)(s->end - s->p) < len || memcmp(s->p, word, len) != 0)
        return false;
    s->p += len;
    return true;
}

static bool scan_array(scan_t *s)
{
    s->p++;
    if (s->p < s->end && *s->p == ']') {
        s->p++;
        return true;
    }
    for (;;) {
        if (!scan_value(s) || s->p >= s->end)
            return false;
        if (*s->p++ == ']')
            return true;
        if (s->p[-1] != ',')
            return false;
    }
}

/* An object; member names must be unescaped (so that equal names are
 * equal bytes) and distinct.  At depth 1 (the document) each member is
 * recorded in s->out. */
static bool scan_object(scan_t *s)
{
    cli_jsonline_member_t m[MAX_MEMBERS];
    size_t n = 0;
    s->p++;
    if (s->p < s->end && *s->p == '}') {
        s->p++;
        goto done;
    }
    for (;; n++) {
        bool escaped;
        if (n == MAX_MEMBERS || s->p >= s->end || *s->p != '"')
            return false;
        m[n].name = (const char *)s->p + 1;
        if (!scan_string(s, &escaped) || escaped || s->p >= s->end || *s->p++ != ':')
            return false;
        m[n].name_len = (size_t)((const char *)s->p - m[n].name) - 2;
        for (size_t i = 0; i < n; i++)
            if (m[i].name_len == m[n].name_len && memcmp(m[i].name, m[n].name, m[n].name_len) == 0)
                return false; /* duplicate: jansson reports it */
        m[n].value = (const char *)s->p;
        if (!scan_value(s) || s->p >= s->end)
            return false;
        m[n].value_len = (size_t)((const char *)s->p - m[n].value);
        if (*s->p++ == '}')
            break;
        if (s->p[-1] != ',')
            return false;
    }
    n++;
done:
    if (s->depth == 1) {
        memcpy(s->out->members, m, n * sizeof *m);
        s->out->n_members = n;
    }
    return true;
}

static bool scan_value(scan_t *s)
{
    if (s->p >= s->end)
        return false;
    bool escaped, ok;
    switch (*s->p) {
    case '{':
    case '[':
        if (++s->depth > MAX_DEPTH)
            return false;
        ok = *s->p == '{' ? scan_object(s) : scan_array(s);
        s->depth--;
        return ok;
    case '"':
        return scan_string(s, &escaped);
    case 't':
        return scan_literal(s, "true", 4);
    case 'f':
        return scan_literal(s, "false", 5);
    case 'n':
        return scan_literal(s, "null", 4);
    default:
        return scan_number(s);
    }
}

static void skip_ws(scan_t *s)
{
    while (s->p < s->end && (*s->p == ' ' || *s->p == '\t' || *s->p == '\n' || *s->p == '\r'))
        s->p++;
}

/* One wrapper member, "key" or "value", with the whitespace around it. */
static bool scan_wrapper_member(scan_t *s, cli_jsonline_t *out, bool *seen_key, bool *seen_value)
{
    skip_ws(s);
    if (scan_literal(s, "\"key\"", 5) && !*seen_key) {
        *seen_key = true;
        skip_ws(s);
        if (s->p >= s->end || *s->p++ != ':')
            return false;
        skip_ws(s);
        bool escaped;
        out->key = (const char *)s->p + 1;
        if (s->p >= s->end || *s->p != '"' || !scan_string(s, &escaped) || escaped)
            return false;
        out->key_len = (size_t)((const char *)s->p - out->key) - 1;
    } else if (scan_literal(s, "\"value\"", 7) && !*seen_value) {
        *seen_value = true;
        skip_ws(s);
        if (s->p >= s->end || *s->p++ != ':')
            return false;
        skip_ws(s);
        out->value = (const char *)s->p;
        s->depth = 0;
        if (s->p >= s->end || *s->p != '{' || !scan_value(s))
            return false;
        out->value_len = (size_t)((const char *)s->p - out->value);
    } else {
        return false;
    }
    skip_ws(s);
    return true;
}

int cli_jsonline_scan(const char *line, size_t len, cli_jsonline_t *out)
{
    scan_t s = {(const unsigned char *)line, (const unsigned char *)line + len, 0, out};
    bool seen_key = false, seen_value = false;
    out->key = out->value = NULL; /* not the members: 2 KiB per line */
    out->n_members = 0;
    skip_ws(&s);
    if (s.p >= s.end || *s.p++ != '{')
        return false;
    if (!scan_wrapper_member(&s, out, &seen_key, &seen_value) || s.p >= s.end || *s.p++ != ',' ||
        !scan_wrapper_member(&s, out, &seen_key, &seen_value) || s.p >= s.end || *s.p++ != '}')
        return false;
    skip_ws(&s);
    return s.p == s.end && seen_key && seen_value;
}
