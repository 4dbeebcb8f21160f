/*
 * codec.c - how kvkit's names and index values are spelled for Riak.
 *
 * URL segments: every byte outside A-Za-z0-9-._~ is percent-encoded (so '/',
 * '?', '#', '%', '+' and UTF-8 bytes survive Riak's decoding, which also
 * turns a raw '+' into a space), and the dots of a segment made only of
 * dots ("." or "..", which URL normalisation would remove) as well.
 *
 * Index names: Riak lowercases index names and only knows the suffixes
 * _int and _bin.  A kvkit field f is stored under
 *     E(f)_int      integers (Riak compares them as integers)
 *     E(f)_bin      strings (compared bytewise)
 *     E(f)~num_bin  reals, in the order-preserving text form below
 * where E keeps a-z 0-9 '_' '-' and writes any other byte as ".xx" (two
 * lowercase hex digits), so "Age" and "age" stay two fields and no E(f)
 * can end in "~num".
 *
 * String values in X-Riak-Index headers: Riak splits a header on ", " (a
 * comma followed by whitespace) and HTTP cannot carry CR, LF, NUL or
 * leading/trailing blanks, so bytes 0x00-0x20 become '!' followed by
 * 0x30+byte ('0'..'P'), '!' becomes "!Q", and the empty string is "!".
 * Everything else (commas, UTF-8) is sent as it is.  The escape keeps the
 * byte order (escaped codes sort exactly where their byte did), so Riak's
 * bytewise ranges over escaped values are ranges over the values.
 *
 * Reals ("~num_bin"): Python kvkit used str(float), whose ranges were
 * lexicographic ("10.0" < "9.0").  Here a real is written so that byte
 * order is numeric order and the value round-trips exactly:
 *     0            "o"
 *     d > 0        "p" EEE ":" D.DDDDDDDDDDDDDDDD   (17 significant digits,
 *                                                   EEE = exponent + 500)
 *     d < 0        "n" then the same fields of |d| with every digit
 *                  replaced by 9 - digit
 * e.g. 1.5 -> "p500:1.5000000000000000", -1.5 -> "n499:8.4999999999999999".
 * 'n' < 'o' < 'p'; the fields have fixed widths, so comparing bytes
 * compares exponents, then mantissas (reversed for negatives).
 */
#include "riak_private.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/*** buffers ***/

void buf_add(buf_t *b, const void *p, size_t n)
{
    if (b->oom)
        return;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 64;
        while (cap < b->len + n + 1)
            cap *= 2;
        char *d = realloc(b->data, cap);
        if (d == NULL) {
            b->oom = true;
            return;
        }
        b->data = d;
        b->cap = cap;
    }
    if (n)
        memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';
}

void buf_adds(buf_t *b, const char *s)
{
    buf_add(b, s, strlen(s));
}

void buf_addf(buf_t *b, const char *fmt, ...)
{
    char tmp[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if ((size_t)n < sizeof tmp) {
        buf_add(b, tmp, (size_t)n);
        return;
    }
    char *big = malloc((size_t)n + 1);
    if (big == NULL) {
        b->oom = true;
        return;
    }
    va_start(ap, fmt);
    vsnprintf(big, (size_t)n + 1, fmt, ap);
    va_end(ap);
    buf_add(b, big, (size_t)n);
    free(big);
}

void buf_free(buf_t *b)
{
    free(b->data);
    memset(b, 0, sizeof *b);
}

/*** names ***/

static const char hex[] = "0123456789ABCDEF";
static const char lhex[] = "0123456789abcdef";

void url_escape(buf_t *b, const char *s, size_t n)
{
    /* "." and ".." are dot-segments that URL normalisation would remove */
    size_t dots = 0;
    while (dots < n && s[dots] == '.')
        dots++;
    bool all_dots = dots == n;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
            c == '-' || (c == '.' && !all_dots) || c == '_' || c == '~') {
            buf_add(b, &s[i], 1);
        } else {
            char e[3] = {'%', hex[c >> 4], hex[c & 15]};
            buf_add(b, e, 3);
        }
    }
}

void field_name(buf_t *b, const char *field, const char *suffix)
{
    for (const unsigned char *p = (const unsigned char *)field; *p; p++) {
        if ((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_' || *p == '-') {
            buf_add(b, p, 1);
        } else {
            char e[3] = {'.', lhex[*p >> 4], lhex[*p & 15]};
            buf_add(b, e, 3);
        }
    }
    buf_adds(b, suffix);
}

/*** string index values ***/

void bin_escape(buf_t *b, const char *s, size_t n)
{
    if (n == 0) {
        buf_adds(b, "!");
        return;
    }
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c <= 0x20) {
            char e[2] = {'!', (char)(0x30 + c)};
            buf_add(b, e, 2);
        } else if (c == '!') {
            buf_add(b, "!Q", 2);
        } else {
            buf_add(b, &s[i], 1);
        }
    }
}

int bin_unescape(const char *s, size_t n, buf_t *out)
{
    if (n == 1 && s[0] == '!') {
        buf_add(out, "", 0);
        return 0;
    }
    for (size_t i = 0; i < n; i++) {
        if (s[i] != '!') {
            buf_add(out, &s[i], 1);
            continue;
        }
        if (i + 1 >= n)
            return -1;
        unsigned char c = (unsigned char)s[++i];
        if (c == 'Q') {
            buf_add(out, "!", 1);
        } else if (c >= 0x30 && c <= 0x50) {
            char raw = (char)(c - 0x30);
            buf_add(out, &raw, 1);
        } else {
            return -1;
        }
    }
    if (out->len == 0)
        buf_add(out, "", 0);
    return out->oom ? -1 : 0;
}

/*** reals ***/

#define REAL_TEXT_LEN 23 /* "p" EEE ":" D "." 16 digits */

void real_text(buf_t *b, double d)
{
    if (d == 0) {
        buf_adds(b, "o");
        return;
    }
    char tmp[64];
    snprintf(tmp, sizeof tmp, "%.16e", fabs(d)); /* D.DDDDDDDDDDDDDDDDe[+-]XX */
    int e = atoi(strchr(tmp, 'e') + 1) + 500;
    char out[REAL_TEXT_LEN + 1];
    bool neg = d < 0;
    out[0] = neg ? 'n' : 'p';
    /* e is 176..808; digits of negatives are complemented below */
    out[1] = (char)('0' + e / 100);
    out[2] = (char)('0' + e / 10 % 10);
    out[3] = (char)('0' + e % 10);
    out[4] = ':';
    memcpy(out + 5, tmp, 18); /* D.DDDDDDDDDDDDDDDD */
    if (neg)
        for (int i = 1; i < REAL_TEXT_LEN; i++)
            if (out[i] >= '0' && out[i] <= '9' && i != 4)
                out[i] = (char)('9' - (out[i] - '0'));
    buf_add(b, out, REAL_TEXT_LEN);
}

int real_parse(const char *s, size_t n, double *out)
{
    if (n == 1 && s[0] == 'o') {
        *out = 0;
        return 0;
    }
    if (n != REAL_TEXT_LEN || (s[0] != 'n' && s[0] != 'p') || s[4] != ':' || s[6] != '.')
        return -1;
    char t[REAL_TEXT_LEN + 1];
    memcpy(t, s, n);
    t[n] = '\0';
    bool neg = s[0] == 'n';
    for (size_t i = 1; i < n; i++) {
        if (i == 4 || i == 6)
            continue;
        if (t[i] < '0' || t[i] > '9')
            return -1;
        if (neg)
            t[i] = (char)('9' - (t[i] - '0'));
    }
    int e = (t[1] - '0') * 100 + (t[2] - '0') * 10 + (t[3] - '0') - 500;
    char num[64];
    snprintf(num, sizeof num, "%.18se%d", t + 5, e);
    char *end;
    double d = strtod(num, &end);
    if (*end != '\0' || !isfinite(d))
        return -1;
    *out = neg ? -d : d;
    return 0;
}

/*** multipart/mixed ***/

static const char *memfind(const char *h, size_t hn, const char *n, size_t nn)
{
    if (nn == 0 || hn < nn)
        return NULL;
    for (const char *p = h; (p = memchr(p, n[0], hn - (size_t)(p - h))) != NULL; p++) {
        if ((size_t)(h + hn - p) < nn)
            return NULL;
        if (memcmp(p, n, nn) == 0)
            return p;
    }
    return NULL;
}

/* Value of header `name` in a raw header block, or NULL; *len its length. */
static const char *header_value(const char *h, size_t hn, const char *name, size_t *len)
{
    size_t nl = strlen(name);
    const char *end = h + hn;
    for (const char *line = h; line < end;) {
        const char *eol = memfind(line, (size_t)(end - line), "\r\n", 2);
        if (eol == NULL)
            eol = end;
        if ((size_t)(eol - line) > nl && strncasecmp(line, name, nl) == 0 && line[nl] == ':') {
            const char *v = line + nl + 1;
            while (v < eol && (*v == ' ' || *v == '\t'))
                v++;
            *len = (size_t)(eol - v);
            return v;
        }
        line = eol + 2;
    }
    return NULL;
}

int multipart_split(const char *content_type, const char *body, size_t len, part_t *parts, int max)
{
    const char *bp = content_type ? strstr(content_type, "boundary=") : NULL;
    if (bp == NULL)
        return -1;
    bp += 9;
    char delim[200] = "--";
    size_t dl = 2;
    if (*bp == '"')
        bp++;
    while (*bp && *bp != '"' && *bp != ';' && *bp != ' ' && *bp != '\r' && dl + 1 < sizeof delim)
        delim[dl++] = *bp++;
    delim[dl] = '\0';
    if (dl == 2)
        return -1;
    const char *end = body + len;
    const char *p = memfind(body, len, delim, dl);
    int n = 0;
    while (p != NULL) {
        p += dl;
        if (end - p >= 2 && p[0] == '-' && p[1] == '-')
            return n; /* closing delimiter */
        const char *eol = memfind(p, (size_t)(end - p), "\r\n", 2);
        if (eol == NULL)
            return -1;
        const char *start = eol + 2;
        /* the part runs to the next CRLF + delimiter */
        const char *next = start;
        const char *stop = NULL;
        while ((next = memfind(next, (size_t)(end - next), delim, dl)) != NULL) {
            if (next - start >= 2 && next[-2] == '\r' && next[-1] == '\n') {
                stop = next - 2;
                break;
            }
            if (next == start) { /* empty part without headers */
                stop = next;
                break;
            }
            next += dl;
        }
        if (stop == NULL || n >= max)
            return -1;
        part_t *pt = &parts[n++];
        memset(pt, 0, sizeof *pt);
        const char *hdr_end = memfind(start, (size_t)(stop - start), "\r\n\r\n", 4);
        if (start + 2 <= stop && start[0] == '\r' && start[1] == '\n') {
            pt->headers = start;
            pt->body = start + 2;
        } else if (hdr_end != NULL) {
            pt->headers = start;
            pt->headers_len = (size_t)(hdr_end - start) + 2;
            pt->body = hdr_end + 4;
        } else {
            return -1;
        }
        pt->body_len = (size_t)(stop - pt->body);
        size_t vl;
        const char *v = header_value(pt->headers, pt->headers_len, "X-Riak-Deleted", &vl);
        pt->deleted = v != NULL && vl >= 4 && strncasecmp(v, "true", 4) == 0;
        v = header_value(pt->headers, pt->headers_len, "Last-Modified", &vl);
        if (v != NULL && vl < 64) {
            char tmp[64];
            memcpy(tmp, v, vl);
            tmp[vl] = '\0';
            pt->last_modified = curl_getdate(tmp, NULL);
        }
        p = stop + 2;
        if (stop == next)
            p = next;
        p = memfind(p, (size_t)(end - p), delim, dl);
    }
    return -1;
}
