/* test_secure.c - the etcd backend against a member with client-certificate
 * TLS and authentication on (set up by secure.sh): users, password files,
 * the environment variable, permissions, expired tokens, certificate
 * failures.  Environment: ETCD_EPS (https://...), KVKIT_TEST_CERTS (the
 * certificates of tests/certs.sh plus client-nocn.pem), KVKIT_TEST_WRONGHOST
 * (a TLS server whose certificate names another host), KVKIT_TEST_TOKEN_TTL
 * (the member's --auth-token-ttl, seconds). */
#include <kvkit/kvkit.h>

#include <check.h>
#include <curl/curl.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define USER "kvkit"
#define PASSWORD "s3cret-Pw"

static const char *eps, *certs, *wronghost;
static int token_ttl;
static char pwdir[256]; /* password files live here */

/* Write a password file with this mode; returns its path (static). */
static const char *pwfile(const char *name, const char *content, mode_t mode)
{
    static char path[512];
    snprintf(path, sizeof path, "%s/%s", pwdir, name);
    unlink(path);
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(write(fd, content, strlen(content)), (ssize_t)strlen(content));
    ck_assert_int_eq(fchmod(fd, mode), 0);
    close(fd);
    return path;
}

/* "etcd:EPS?cacert=..&cert=..&key=.." plus extra. */
static void uri_tls(char *uri, size_t cap, const char *endpoint, const char *ca, const char *extra)
{
    snprintf(uri, cap, "etcd:%s?cacert=%s/%s&cert=%s/client-nocn.pem&key=%s/client.key%s", endpoint,
             certs, ca, certs, certs, extra);
}

static kvkit_store_t *open_user(const char *password_file, const char *extra, kvkit_error_t *err)
{
    char more[1024], uri[2048];
    snprintf(more, sizeof more, "&user=" USER "%s%s%s", password_file ? "&password_file=" : "",
             password_file ? password_file : "", extra);
    uri_tls(uri, sizeof uri, eps, "ca.pem", more);
    return kvkit_store_open(uri, err);
}

static void assert_no_password(const kvkit_error_t *err)
{
    ck_assert_ptr_null(strstr(err->text, PASSWORD));
    ck_assert_ptr_null(strstr(err->subject, PASSWORD));
}

/*** TLS and a user ***/

START_TEST(test_tls_user_roundtrip)
{
    kvkit_error_t err = {0};
    kvkit_store_t *s = open_user(pwfile("pw", PASSWORD "\n", 0600), "", &err);
    ck_assert_msg(s != NULL, "%s", err.text);
    ck_assert_int_eq(kvkit_store_save(s, "b", "k1", "{\"a\":1}", 7, NULL, &err), KVKIT_OK);
    char *v;
    size_t n;
    ck_assert_int_eq(kvkit_store_get(s, "b", "k1", &v, &n, &err), KVKIT_OK);
    ck_assert_str_eq(v, "{\"a\":1}");
    free(v);
    kvkit_store_close(s);
}
END_TEST

START_TEST(test_password_from_environment)
{
    kvkit_error_t err = {0};
    setenv("KVKIT_ETCD_PASSWORD", PASSWORD, 1);
    kvkit_store_t *s = open_user(NULL, "", &err);
    unsetenv("KVKIT_ETCD_PASSWORD");
    ck_assert_msg(s != NULL, "%s", err.text);
    ck_assert_int_eq(kvkit_store_delete(s, "b", "nothing", &err), KVKIT_OK);
    kvkit_store_close(s);
}
END_TEST

START_TEST(test_no_password_anywhere)
{
    kvkit_error_t err = {0};
    unsetenv("KVKIT_ETCD_PASSWORD");
    ck_assert_ptr_null(open_user(NULL, "", &err));
    ck_assert_int_eq(err.code, KVKIT_BAD_OPTION);
    ck_assert_ptr_nonnull(strstr(err.text, "user \"" USER "\" needs a password"));
    ck_assert_ptr_nonnull(strstr(err.text, "KVKIT_ETCD_PASSWORD"));
}
END_TEST

START_TEST(test_wrong_password_is_auth)
{
    kvkit_error_t err = {0};
    ck_assert_ptr_null(open_user(pwfile("bad", "not-" PASSWORD, 0600), "", &err));
    ck_assert_int_eq(err.code, KVKIT_AUTH);
    ck_assert_ptr_nonnull(strstr(err.text, "user \"" USER "\""));
    ck_assert_ptr_nonnull(strstr(err.text, eps));
    ck_assert_ptr_nonnull(strstr(err.text, "wrong user or password"));
    ck_assert_ptr_null(strstr(err.text, "not-"));
    assert_no_password(&err);
}
END_TEST

START_TEST(test_group_readable_password_file_refused)
{
    kvkit_error_t err = {0};
    const char *path = pwfile("shared", PASSWORD, 0640);
    ck_assert_ptr_null(open_user(path, "", &err));
    ck_assert_int_eq(err.code, KVKIT_BAD_OPTION);
    ck_assert_ptr_nonnull(strstr(err.text, path));
    ck_assert_ptr_nonnull(strstr(err.text, "accessible by group or others (mode 0640)"));
    assert_no_password(&err);
}
END_TEST

START_TEST(test_password_in_store_string_refused)
{
    kvkit_error_t err = {0};
    ck_assert_ptr_null(open_user(NULL, "&password=" PASSWORD, &err));
    ck_assert_int_eq(err.code, KVKIT_BAD_OPTION);
    ck_assert_ptr_nonnull(strstr(err.text, "never goes in a store string"));
    assert_no_password(&err);
}
END_TEST

START_TEST(test_outside_the_role_prefix_is_permission)
{
    kvkit_error_t err = {0};
    kvkit_store_t *s = open_user(pwfile("pw", PASSWORD, 0600), "&prefix=other/", &err);
    ck_assert_msg(s != NULL, "%s", err.text);
    ck_assert_int_eq(kvkit_store_save(s, "b", "k", "{}", 2, NULL, &err), KVKIT_PERMISSION);
    ck_assert_ptr_nonnull(strstr(err.text, "user \"" USER "\" lacks the permission"));
    ck_assert_ptr_nonnull(strstr(err.text, eps));
    ck_assert_ptr_nonnull(strstr(err.text, "etcdserver: permission denied"));
    assert_no_password(&err);
    kvkit_store_close(s);
}
END_TEST

START_TEST(test_no_user_on_an_auth_cluster_is_auth)
{
    kvkit_error_t err = {0};
    char uri[2048];
    uri_tls(uri, sizeof uri, eps, "ca.pem", "");
    kvkit_store_t *s = kvkit_store_open(uri, &err);
    ck_assert_msg(s != NULL, "%s", err.text);
    char *v;
    size_t n;
    ck_assert_int_eq(kvkit_store_get(s, "b", "k", &v, &n, &err), KVKIT_AUTH);
    ck_assert_ptr_nonnull(strstr(err.text, "requires a user"));
    kvkit_store_close(s);
}
END_TEST

/*** expired tokens ***/

static size_t append(char *data, size_t size, size_t nmemb, void *vs)
{
    char *s = vs; /* 4096 bytes */
    size_t n = size * nmemb, have = strlen(s);
    if (have + n < 4096) {
        memcpy(s + have, data, n);
        s[have + n] = '\0';
    }
    return n;
}

/* POST body to the member with the test's TLS files (and a token);
 * the answer into out[4096]. */
static void raw_tls_post(const char *path, const char *body, const char *token, char *out)
{
    char url[512], ca[512], cert[512], key[512], auth[512];
    snprintf(url, sizeof url, "%s%s", eps, path);
    snprintf(ca, sizeof ca, "%s/ca.pem", certs);
    snprintf(cert, sizeof cert, "%s/client-nocn.pem", certs);
    snprintf(key, sizeof key, "%s/client.key", certs);
    snprintf(auth, sizeof auth, "Authorization: %s", token ? token : "");
    struct curl_slist *h = token ? curl_slist_append(NULL, auth) : NULL;
    CURL *c = curl_easy_init();
    out[0] = '\0';
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(c, CURLOPT_CAINFO, ca);
    curl_easy_setopt(c, CURLOPT_SSLCERT, cert);
    curl_easy_setopt(c, CURLOPT_SSLKEY, key);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, append);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, out);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 5L);
    ck_assert_int_eq(curl_easy_perform(c), CURLE_OK);
    curl_easy_cleanup(c);
    curl_slist_free_all(h);
}

START_TEST(test_expired_token_is_renewed)
{
    kvkit_error_t err = {0};
    kvkit_store_t *s = open_user(pwfile("pw", PASSWORD, 0600), "", &err);
    ck_assert_msg(s != NULL, "%s", err.text);
    char answer[4096], token[256];
    raw_tls_post("/v3/auth/authenticate", "{\"name\":\"" USER "\",\"password\":\"" PASSWORD "\"}",
                 NULL, answer);
    const char *t = strstr(answer, "\"token\":\"");
    ck_assert_msg(t != NULL, "%s", answer);
    ck_assert_int_eq(sscanf(t, "\"token\":\"%255[^\"]", token), 1);
    /* both tokens, the handle's and ours, outlive the TTL unused */
    sleep((unsigned)token_ttl + 2);
    raw_tls_post("/v3/kv/range", "{\"key\":\"a3ZraXQv\"}", token, answer);
    ck_assert_msg(strstr(answer, "invalid auth token") != NULL, "%s", answer);
    /* the handle authenticates again, once, and goes on */
    ck_assert_int_eq(kvkit_store_save(s, "b", "k2", "{}", 2, NULL, &err), KVKIT_OK);
    char *v;
    size_t n;
    ck_assert_int_eq(kvkit_store_get(s, "b", "k2", &v, &n, &err), KVKIT_OK);
    free(v);
    kvkit_store_close(s);
}
END_TEST

/*** certificate failures ***/

START_TEST(test_ca_mismatch_is_io)
{
    kvkit_error_t err = {0};
    char uri[2048];
    uri_tls(uri, sizeof uri, eps, "other-ca.pem", "");
    ck_assert_ptr_null(kvkit_store_open(uri, &err));
    ck_assert_int_eq(err.code, KVKIT_IO);
    ck_assert_msg(strstr(err.text, eps) != NULL, "%s", err.text);
    ck_assert_msg(strstr(err.text, "TLS with") != NULL, "%s", err.text);
    ck_assert_msg(strstr(err.text, "certificate") != NULL, "%s", err.text);
}
END_TEST

START_TEST(test_wrong_host_is_io)
{
    kvkit_error_t err = {0};
    char uri[2048];
    uri_tls(uri, sizeof uri, wronghost, "ca.pem", "");
    ck_assert_ptr_null(kvkit_store_open(uri, &err));
    ck_assert_int_eq(err.code, KVKIT_IO);
    ck_assert_msg(strstr(err.text, wronghost) != NULL, "%s", err.text);
    ck_assert_msg(strstr(err.text, "127.0.0.1") != NULL, "%s", err.text);
    ck_assert_msg(strstr(err.text, "subject name") != NULL, "%s", err.text);
}
END_TEST

START_TEST(test_plain_http_to_tls_endpoint_fails)
{
    kvkit_error_t err = {0};
    char uri[1024];
    snprintf(uri, sizeof uri, "etcd:http%s?deadline_ms=500", eps + 5); /* https -> http */
    kvkit_store_t *s = kvkit_store_open(uri, &err);
    ck_assert_msg(s != NULL, "%s", err.text);
    char *v;
    size_t n;
    int rc = kvkit_store_get(s, "b", "k", &v, &n, &err);
    ck_assert_int_ne(rc, KVKIT_OK);
    ck_assert_int_ne(rc, KVKIT_NOTFOUND);
    kvkit_store_close(s);
}
END_TEST

START_TEST(test_client_certificate_with_cn_is_auth)
{
    /* etcd 3.4's gateway refuses it once authentication is on; the probes
     * at open get no answer either, so the first operation reports it */
    kvkit_error_t err = {0};
    char uri[2048];
    snprintf(uri, sizeof uri,
             "etcd:%s?cacert=%s/ca.pem&cert=%s/client.pem&key=%s/client.key&user=" USER
             "&password_file=%s",
             eps, certs, certs, certs, pwfile("pw", PASSWORD, 0600));
    kvkit_store_t *s = kvkit_store_open(uri, &err);
    ck_assert_msg(s != NULL, "%s", err.text);
    char *v;
    size_t n;
    ck_assert_int_eq(kvkit_store_get(s, "b", "k", &v, &n, &err), KVKIT_AUTH);
    ck_assert_msg(strstr(err.text, "refuses a client certificate with a CommonName") != NULL, "%s",
                  err.text);
    ck_assert_ptr_nonnull(strstr(err.text, eps));
    kvkit_store_close(s);
}
END_TEST

START_TEST(test_missing_pem_file_refused)
{
    kvkit_error_t err = {0};
    char uri[1024];
    snprintf(uri, sizeof uri, "etcd:%s?cacert=%s/no-such-ca.pem", eps, certs);
    ck_assert_ptr_null(kvkit_store_open(uri, &err));
    ck_assert_int_eq(err.code, KVKIT_BAD_OPTION);
    ck_assert_str_eq(err.subject, "cacert");
    ck_assert_ptr_nonnull(strstr(err.text, "option cacert: \""));
    ck_assert_ptr_nonnull(strstr(err.text, "no-such-ca.pem\": No such file or directory"));
}
END_TEST

START_TEST(test_cert_without_key_refused)
{
    kvkit_error_t err = {0};
    char uri[1024];
    snprintf(uri, sizeof uri, "etcd:%s?cert=%s/client-nocn.pem", eps, certs);
    ck_assert_ptr_null(kvkit_store_open(uri, &err));
    ck_assert_int_eq(err.code, KVKIT_BAD_OPTION);
    ck_assert_ptr_nonnull(strstr(err.text, "options cert and key go together"));
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("etcd-secure");
    TCase *t = tcase_create("tls-auth");
    tcase_set_timeout(t, 60);
    tcase_add_test(t, test_tls_user_roundtrip);
    tcase_add_test(t, test_password_from_environment);
    tcase_add_test(t, test_no_password_anywhere);
    tcase_add_test(t, test_wrong_password_is_auth);
    tcase_add_test(t, test_group_readable_password_file_refused);
    tcase_add_test(t, test_password_in_store_string_refused);
    tcase_add_test(t, test_outside_the_role_prefix_is_permission);
    tcase_add_test(t, test_no_user_on_an_auth_cluster_is_auth);
    tcase_add_test(t, test_expired_token_is_renewed);
    tcase_add_test(t, test_ca_mismatch_is_io);
    tcase_add_test(t, test_wrong_host_is_io);
    tcase_add_test(t, test_plain_http_to_tls_endpoint_fails);
    tcase_add_test(t, test_client_certificate_with_cn_is_auth);
    tcase_add_test(t, test_cert_without_key_refused);
    tcase_add_test(t, test_missing_pem_file_refused);
    suite_add_tcase(s, t);
    return s;
}

int main(void)
{
    eps = getenv("ETCD_EPS");
    certs = getenv("KVKIT_TEST_CERTS");
    wronghost = getenv("KVKIT_TEST_WRONGHOST");
    const char *ttl = getenv("KVKIT_TEST_TOKEN_TTL");
    if (eps == NULL || certs == NULL || wronghost == NULL || ttl == NULL) {
        fprintf(stderr, "test_secure: run through secure.sh (ETCD_EPS, KVKIT_TEST_CERTS, "
                        "KVKIT_TEST_WRONGHOST, KVKIT_TEST_TOKEN_TTL)\n");
        return 77;
    }
    token_ttl = atoi(ttl);
    snprintf(pwdir, sizeof pwdir, "%s/pw", certs);
    mkdir(pwdir, 0700);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    SRunner *r = srunner_create(suite());
    srunner_run_all(r, CK_NORMAL);
    int failed = srunner_ntests_failed(r);
    srunner_free(r);
    curl_global_cleanup();
    return failed == 0 ? 0 : 1;
}
