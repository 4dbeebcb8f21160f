/*
 * test_codec.c - the riak backend's spellings (plugins/riak/codec.c), with
 * no server: the real-number text form and the string escape keep order
 * and round-trip; URL and index-name escapes; multipart splitting.
 */
#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../../plugins/riak/riak_private.h"

static uint64_t rng = 0x2545F4914F6CDD1DULL;

static uint64_t next_random(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

static double random_double(void)
{
    for (;;) {
        uint64_t bits = next_random();
        double d;
        memcpy(&d, &bits, sizeof d);
        if (isfinite(d))
            return d;
    }
}

static int cmp_bytes(const char *a, size_t an, const char *b, size_t bn)
{
    int c = memcmp(a, b, an < bn ? an : bn);
    return c ? c : (an > bn) - (an < bn);
}

START_TEST(test_real_text_order_and_roundtrip)
{
    double special[] = {0.0,
                        -0.0,
                        1.0,
                        -1.0,
                        1.5,
                        -1.5,
                        10.0,
                        9.0,
                        1e-300,
                        -1e-300,
                        5e-324,
                        -5e-324,
                        1.7976931348623157e308,
                        -1.7976931348623157e308,
                        0.1,
                        -0.001,
                        123456789.125,
                        2.2250738585072014e-308};
    double v[2000];
    size_t n = 0;
    for (size_t i = 0; i < sizeof special / sizeof *special; i++)
        v[n++] = special[i];
    while (n < 2000)
        v[n++] = random_double();
    for (size_t i = 0; i < n; i++) {
        buf_t a = {0};
        real_text(&a, v[i]);
        double back;
        ck_assert_int_eq(real_parse(a.data, a.len, &back), 0);
        ck_assert_msg(back == v[i], "%.17g -> %s -> %.17g", v[i], a.data, back);
        size_t j = (i * 7 + 3) % n;
        buf_t b = {0};
        real_text(&b, v[j]);
        int want = (v[i] > v[j]) - (v[i] < v[j]);
        int got = cmp_bytes(a.data, a.len, b.data, b.len);
        got = (got > 0) - (got < 0);
        ck_assert_msg(got == want, "%.17g (%s) vs %.17g (%s)", v[i], a.data, v[j], b.data);
        buf_free(&a);
        buf_free(&b);
    }
    buf_t t = {0};
    real_text(&t, 1.5);
    ck_assert_str_eq(t.data, "p500:1.5000000000000000");
    t.len = 0;
    real_text(&t, -1.5);
    ck_assert_str_eq(t.data, "n499:8.4999999999999999");
    buf_free(&t);
    double d;
    ck_assert_int_eq(real_parse("p500:1.5", 8, &d), -1);
    ck_assert_int_eq(real_parse("x500:1.5000000000000000", 23, &d), -1);
}
END_TEST

START_TEST(test_bin_escape_order_and_roundtrip)
{
    const char alphabet[] = {'\0',       '\t',       '\n',       '\r',      ' ', '!',
                             '"',        ',',        'a',        'P',       'Q', '0',
                             (char)0x7f, (char)0xc3, (char)0xa4, (char)0xff};
    char s[2][8];
    size_t len[2];
    for (int round = 0; round < 5000; round++) {
        buf_t e[2] = {{0}, {0}};
        for (int k = 0; k < 2; k++) {
            len[k] = next_random() % 7;
            for (size_t i = 0; i < len[k]; i++)
                s[k][i] = alphabet[next_random() % sizeof alphabet];
            bin_escape(&e[k], s[k], len[k]);
            /* nothing Riak or HTTP would mangle */
            ck_assert(e[k].len > 0);
            for (size_t i = 0; i < e[k].len; i++)
                ck_assert((unsigned char)e[k].data[i] > 0x20);
            buf_t back = {0};
            ck_assert_int_eq(bin_unescape(e[k].data, e[k].len, &back), 0);
            ck_assert_uint_eq(back.len, len[k]);
            ck_assert(len[k] == 0 || memcmp(back.data, s[k], len[k]) == 0);
            buf_free(&back);
        }
        int want = cmp_bytes(s[0], len[0], s[1], len[1]);
        int got = cmp_bytes(e[0].data, e[0].len, e[1].data, e[1].len);
        ck_assert_int_eq((want > 0) - (want < 0), (got > 0) - (got < 0));
        buf_free(&e[0]);
        buf_free(&e[1]);
    }
    buf_t b = {0};
    ck_assert_int_eq(bin_unescape("a!", 2, &b), -1);
    buf_free(&b);
    ck_assert_int_eq(bin_unescape("a!z", 3, &b), -1);
    buf_free(&b);
}
END_TEST

START_TEST(test_url_escape_segments)
{
    buf_t b = {0};
    const char *in = "a b/c?d#e%f+g~h.i_j-k\xc3\xa9";
    url_escape(&b, in, strlen(in));
    ck_assert_str_eq(b.data, "a%20b%2Fc%3Fd%23e%25f%2Bg~h.i_j-k%C3%A9");
    b.len = 0;
    url_escape(&b, "..", 2);
    ck_assert_str_eq(b.data, "%2E%2E");
    b.len = 0;
    url_escape(&b, "a..", 3);
    ck_assert_str_eq(b.data, "a..");
    buf_free(&b);
}
END_TEST

START_TEST(test_field_name_spelling)
{
    buf_t b = {0};
    field_name(&b, "first_name-2", "_bin");
    ck_assert_str_eq(b.data, "first_name-2_bin");
    b.len = 0;
    field_name(&b, "Age", "_int");
    ck_assert_str_eq(b.data, ".41ge_int");
    b.len = 0;
    field_name(&b, "a.b c", "~num_bin");
    ck_assert_str_eq(b.data, "a.2eb.20c~num_bin");
    buf_free(&b);
}
END_TEST

START_TEST(test_multipart_split_siblings)
{
    const char body[] =
        "\r\n--XyZ\r\nContent-Type: application/json\r\nEtag: 1\r\n"
        "Last-Modified: Fri, 27 Nov 2026 10:02:55 GMT\r\n\r\n{\"a\":1}"
        "\r\n--XyZ\r\nContent-Type: application/json\r\nX-Riak-Deleted: true\r\n\r\n"
        "\r\n--XyZ\r\nContent-Type: text/plain\r\n\r\nline1\r\nline2 --XyZ inside"
        "\r\n--XyZ--\r\n";
    part_t p[4];
    int n = multipart_split("multipart/mixed; boundary=XyZ", body, sizeof body - 1, p, 4);
    ck_assert_int_eq(n, 3);
    ck_assert_uint_eq(p[0].body_len, 7);
    ck_assert(memcmp(p[0].body, "{\"a\":1}", 7) == 0);
    ck_assert(!p[0].deleted);
    ck_assert(p[0].last_modified > 0);
    ck_assert(p[1].deleted);
    ck_assert_uint_eq(p[1].body_len, 0);
    ck_assert_uint_eq(p[2].body_len, strlen("line1\r\nline2 --XyZ inside"));
    ck_assert_int_eq(multipart_split("multipart/mixed", body, sizeof body - 1, p, 4), -1);
    ck_assert_int_eq(multipart_split("multipart/mixed; boundary=XyZ", "junk", 4, p, 4), -1);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("riak codec");
    TCase *tc = tcase_create("codec");
    tcase_add_test(tc, test_real_text_order_and_roundtrip);
    tcase_add_test(tc, test_bin_escape_order_and_roundtrip);
    tcase_add_test(tc, test_url_escape_segments);
    tcase_add_test(tc, test_field_name_spelling);
    tcase_add_test(tc, test_multipart_split_siblings);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
