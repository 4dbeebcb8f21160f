/* fuzz_index - the sortable index encoding (lib/index.c).  Properties
 * checked on every input, abort on violation:
 *   - decode(encode(v)) equals v (numerically for numbers; a real with a
 *     fraction stays a real; strings byte for byte, NULs included);
 *   - sign(memcmp(encode(a), encode(b))) == sign(compare(a, b)) where
 *     numbers compare exactly (int64 vs double without rounding) and come
 *     before strings, which compare bytewise;
 *   - the encoding is prefix-free: kvkit_sortable_length finds the end of
 *     encode(a) in encode(a) + encode(b);
 *   - arbitrary bytes never crash decode, and whatever decodes re-encodes to
 *     bytes that decode to the same value;
 *   - an index set holding both values is sorted by (field, sortable) with
 *     no duplicates.
 * Input: two values, each a tag byte (0: int64, 1: double, 2: string with a
 * length byte) then its bytes; the rest is fed raw to decode. */
#include "kvkit_private.h"

#include <math.h>

#include "fuzz_common.h"

static json_t *take_value(fuzz_in_t *in)
{
    unsigned tag = fuzz_byte(in) % 3;
    if (tag == 2) {
        size_t len = fuzz_byte(in);
        if (len > in->n)
            len = in->n;
        json_t *s = json_stringn_nocheck((const char *)in->p, len);
        in->p += len;
        in->n -= len;
        return s;
    }
    uint8_t b[8] = {0};
    for (int i = 0; i < 8; i++)
        b[i] = (uint8_t)fuzz_byte(in);
    if (tag == 0) {
        int64_t v;
        memcpy(&v, b, 8);
        return json_integer(v);
    }
    double d;
    memcpy(&d, b, 8);
    if (!isfinite(d)) /* jansson has no non-finite reals (json_real gives NULL) */
        d = copysign(0.0, d);
    return json_real(d);
}

/* Exact comparison of int64 i and finite double d. */
static int cmp_int_real(int64_t i, double d)
{
    if (d >= 9223372036854775808.0)
        return -1;
    if (d < -9223372036854775808.0)
        return 1;
    double fl = floor(d);
    int64_t t = (int64_t)fl;
    if (i != t)
        return i < t ? -1 : 1;
    return d > fl ? -1 : 0;
}

static int sign(int c) { return (c > 0) - (c < 0); }

static int value_cmp(const json_t *a, const json_t *b)
{
    if (json_is_string(a) || json_is_string(b)) {
        if (!json_is_string(a))
            return -1;
        if (!json_is_string(b))
            return 1;
        size_t la = json_string_length(a), lb = json_string_length(b);
        int c = memcmp(json_string_value(a), json_string_value(b), la < lb ? la : lb);
        return c ? sign(c) : (la > lb) - (la < lb);
    }
    if (json_is_integer(a) && json_is_integer(b)) {
        json_int_t x = json_integer_value(a), y = json_integer_value(b);
        return (x > y) - (x < y);
    }
    if (json_is_real(a) && json_is_real(b)) {
        double x = json_real_value(a), y = json_real_value(b);
        return (x > y) - (x < y);
    }
    if (json_is_integer(a))
        return cmp_int_real(json_integer_value(a), json_real_value(b));
    return -cmp_int_real(json_integer_value(b), json_real_value(a));
}

/* the order ordered engines use (backend.h), as -1, 0 or 1 */
static int bytes_cmp(const unsigned char *a, size_t an, const unsigned char *b, size_t bn)
{
    return sign(kvkit_sortable_cmp(a, an, b, bn));
}

static void check_round_trip(const json_t *v, const unsigned char *enc, size_t len)
{
    json_t *back = NULL;
    kvkit_error_t err = {0};
    int rc = kvkit_index_decode(enc, len, &back, &err);
    FUZZ_CHECK(rc == KVKIT_OK, "decode of an encoding failed: %s", err.text);
    FUZZ_CHECK(value_cmp(v, back) == 0, "round trip changed the value");
    if (json_is_real(v) && json_real_value(v) != floor(json_real_value(v)))
        FUZZ_CHECK(json_is_real(back), "a real with a fraction came back as %d",
                   json_typeof(back));
    FUZZ_CHECK(kvkit_sortable_length(enc, len) == len, "sortable_length != encoded length");
    json_decref(back);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_in_t in = {data, size};
    json_t *a = take_value(&in), *b = take_value(&in);
    if (a == NULL || b == NULL)
        abort();
    unsigned char *ea = NULL, *eb = NULL;
    size_t la = 0, lb = 0;
    kvkit_error_t err = {0};
    int ra = kvkit_index_encode(a, &ea, &la, &err);
    kvkit_error_t err2 = {0};
    int rb = kvkit_index_encode(b, &eb, &lb, &err2);
    FUZZ_CHECK(ra == KVKIT_OK, "encode failed: %s", err.text);
    FUZZ_CHECK(rb == KVKIT_OK, "encode failed: %s", err2.text);

    if (ra == KVKIT_OK)
        check_round_trip(a, ea, la);
    if (rb == KVKIT_OK)
        check_round_trip(b, eb, lb);
    if (ra == KVKIT_OK && rb == KVKIT_OK) {
        FUZZ_CHECK(bytes_cmp(ea, la, eb, lb) == value_cmp(a, b),
                   "order not preserved: bytes %d, values %d", bytes_cmp(ea, la, eb, lb),
                   value_cmp(a, b));
        unsigned char *cat = malloc(la + lb);
        memcpy(cat, ea, la);
        memcpy(cat + la, eb, lb);
        FUZZ_CHECK(kvkit_sortable_length(cat, la + lb) == la, "encoding is not prefix-free");
        free(cat);

        kvkit_index_set_t *set = kvkit_index_set_create();
        json_t *both = json_pack("[OO]", a, b);
        FUZZ_CHECK(kvkit_index_set_add(set, "f", both, NULL) == KVKIT_OK, "set add failed");
        FUZZ_CHECK(kvkit_index_set_add(set, "e", a, NULL) == KVKIT_OK, "set add failed");
        size_t n;
        const kvkit_index_entry_t *en = kvkit__index_set_entries(set, &n);
        size_t want = 1 + (value_cmp(a, b) == 0 ? 1 : 2);
        FUZZ_CHECK(n == want, "set holds %zu entries, expected %zu", n, want);
        for (size_t i = 1; i < n; i++) {
            int c = strcmp(en[i - 1].field, en[i].field);
            if (c == 0)
                c = bytes_cmp(en[i - 1].value.sortable, en[i - 1].value.sortable_len,
                              en[i].value.sortable, en[i].value.sortable_len);
            FUZZ_CHECK(c < 0, "set entries not strictly ascending at %zu", i);
        }
        FUZZ_CHECK(kvkit_index_set_size(set) == n, "set size %zu, %zu entries",
                   kvkit_index_set_size(set), n);
        kvkit_index_set_destroy(set);
        json_decref(both);
    }
    free(ea);
    free(eb);

    /* the rest: arbitrary bytes into decode */
    json_t *d = NULL;
    if (kvkit_index_decode(in.p, in.n, &d, NULL) == KVKIT_OK) {
        unsigned char *e2 = NULL;
        size_t l2 = 0;
        kvkit_error_t e = {0};
        FUZZ_CHECK(kvkit_index_encode(d, &e2, &l2, &e) == KVKIT_OK,
                   "a decoded value does not encode: %s", e.text);
        check_round_trip(d, e2, l2);
        free(e2);
        json_decref(d);
    }
    json_decref(a);
    json_decref(b);
    return 0;
}
