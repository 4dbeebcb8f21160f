/*
 * test_secure.c - riak over https:// with Riak security on the emulator:
 * verified server certificates (cacert), client certificates (cert, key),
 * HTTP basic auth (user + password_file or KVKIT_RIAK_PASSWORD).  Wrong
 * credentials are KVKIT_AUTH, a user without the permission
 * KVKIT_PERMISSION, a CA or host name mismatch KVKIT_IO naming the
 * endpoint; no message ever holds the password.  Certificates come from
 * tests/certs.sh, made once in the build directory.
 */
#include "riaktest.h"

#include <sys/stat.h>
#include <unistd.h>

#define CERTS "riak-certs"
#define PASSWORD "s3cret-pw"

static char pwfile[512];

/* The emulator with TLS, a required client certificate and two users:
 * app (allowed) and ro (no permission). */
static void secure_up(void)
{
    const char *args[] = {"--tls-cert", CERTS "/server.pem", "--tls-key", CERTS "/server.key",
                          "--tls-client-ca", CERTS "/ca.pem", "--user", "app:" PASSWORD,
                          "--user", "ro:ro-pw", "--deny", "ro", "--delete-mode", "immediate",
                          NULL};
    snprintf(E.cacert, sizeof E.cacert, "%s", CERTS "/ca.pem");
    snprintf(E.cert, sizeof E.cert, "%s", CERTS "/client.pem");
    snprintf(E.key, sizeof E.key, "%s", CERTS "/client.key");
    emu_start_args(&E, args, 1);
}

/* The emulator with a certificate for another host name. */
static void wronghost_up(void)
{
    const char *args[] = {"--tls-cert", CERTS "/wronghost.pem", "--tls-key",
                          CERTS "/wronghost.key", NULL};
    emu_start_args(&E, args, 1);
}

/* "riak:https://127.0.0.1:PORT?<tls options>" + extra ("&..." or ""). */
static void secure_uri(const char *tls, const char *extra, char *out, size_t size)
{
    snprintf(out, size, "riak:%s?%s%s", E.base, tls, extra);
}

static const char *tls_ok =
    "cacert=" CERTS "/ca.pem&cert=" CERTS "/client.pem&key=" CERTS "/client.key";

static kvkit_store_t *open_ok(const char *tls, const char *extra, kvkit_error_t *err)
{
    char uri[1024];
    secure_uri(tls, extra, uri, sizeof uri);
    return kvkit_store_open(uri, err);
}

/* open + one save that must fail with code; err.text for the caller. */
static void save_fails(const char *tls, const char *extra, int code, kvkit_error_t *err)
{
    kvkit_store_t *s = open_ok(tls, extra, err);
    ck_assert_msg(s != NULL, "open: %s", err->text);
    int rc = kvkit_store_save(s, "b", "k", "{}", 2, NULL, err);
    kvkit_store_close(s);
    ck_assert_msg(rc == code, "save: %d, expected %d: %s", rc, code, err->text);
    ck_assert_ptr_null(strstr(err->text, PASSWORD));
}

static int count_key(void *ctx, const char *key, size_t len)
{
    (void)key;
    (void)len;
    ++*(int *)ctx;
    return 0;
}

START_TEST(test_secure_password_file)
{
    char extra[600];
    snprintf(extra, sizeof extra, "&user=app&password_file=%s", pwfile);
    kvkit_error_t err = {0};
    kvkit_store_t *s = open_ok(tls_ok, extra, &err);
    ck_assert_msg(s != NULL, "open: %s", err.text);
    save_str(s, "b", "k1", "{\"a\":1}", NULL);
    save_str(s, "b", "k2", "{\"a\":2}", NULL);
    char *v = get_str(s, "b", "k1");
    ck_assert_str_eq(v, "{\"a\":1}");
    free(v);
    int n = 0;
    ck_assert_int_eq(kvkit_store_list_keys(s, "b", NULL, NULL, count_key, &n, &err), KVKIT_OK);
    ck_assert_int_eq(n, 2);
    ck_assert_int_eq(kvkit_store_delete(s, "b", "k1", &err), KVKIT_OK);
    kvkit_store_close(s);
}
END_TEST

START_TEST(test_secure_password_env)
{
    setenv("KVKIT_RIAK_PASSWORD", PASSWORD, 1); /* this test runs in its own process */
    kvkit_error_t err = {0};
    kvkit_store_t *s = open_ok(tls_ok, "&user=app", &err);
    ck_assert_msg(s != NULL, "open: %s", err.text);
    save_str(s, "b", "k", "{}", NULL);
    kvkit_store_close(s);
}
END_TEST

START_TEST(test_secure_wrong_password)
{
    setenv("KVKIT_RIAK_PASSWORD", "not-" PASSWORD, 1);
    kvkit_error_t err = {0};
    save_fails(tls_ok, "&user=app", KVKIT_AUTH, &err);
    ck_assert_ptr_nonnull(strstr(err.text, "user \"app\" at "));
    ck_assert_ptr_nonnull(strstr(err.text, E.base));
    ck_assert_ptr_nonnull(strstr(err.text, "wrong user or password: HTTP 401"));
    ck_assert_ptr_null(strstr(err.text, "not-"));
}
END_TEST

START_TEST(test_secure_no_user)
{
    kvkit_error_t err = {0};
    save_fails(tls_ok, "", KVKIT_AUTH, &err);
    ck_assert_ptr_nonnull(strstr(err.text, "requires a user (options user and password_file)"));
    ck_assert_ptr_nonnull(strstr(err.text, E.base));
}
END_TEST

START_TEST(test_secure_no_permission)
{
    setenv("KVKIT_RIAK_PASSWORD", "ro-pw", 1);
    kvkit_error_t err = {0};
    save_fails(tls_ok, "&user=ro", KVKIT_PERMISSION, &err);
    ck_assert_ptr_nonnull(strstr(err.text, "user \"ro\" at "));
    ck_assert_ptr_nonnull(strstr(err.text, E.base));
    ck_assert_ptr_nonnull(strstr(err.text, "lacks the permission: HTTP 403: Permission denied"));
    ck_assert_ptr_null(strstr(err.text, "ro-pw"));
}
END_TEST

START_TEST(test_secure_ca_mismatch)
{
    setenv("KVKIT_RIAK_PASSWORD", PASSWORD, 1);
    kvkit_error_t err = {0};
    save_fails("cacert=" CERTS "/other-ca.pem&cert=" CERTS "/client.pem&key=" CERTS
               "/client.key",
               "&user=app", KVKIT_IO, &err);
    char want[128];
    snprintf(want, sizeof want, "TLS with %s failed: ", E.base);
    ck_assert_msg(strstr(err.text, want) != NULL, "%s", err.text);
    ck_assert_msg(strstr(err.text, "certificate") != NULL, "%s", err.text);
}
END_TEST

START_TEST(test_secure_no_client_cert)
{
    setenv("KVKIT_RIAK_PASSWORD", PASSWORD, 1);
    kvkit_error_t err = {0};
    save_fails("cacert=" CERTS "/ca.pem", "&user=app", KVKIT_IO, &err);
    char want[128];
    snprintf(want, sizeof want, "TLS with %s failed: ", E.base);
    ck_assert_msg(strstr(err.text, want) != NULL, "%s", err.text);
}
END_TEST

START_TEST(test_secure_wrong_host)
{
    kvkit_error_t err = {0};
    save_fails("cacert=" CERTS "/ca.pem", "", KVKIT_IO, &err);
    char want[128];
    snprintf(want, sizeof want, "TLS with %s failed: ", E.base);
    ck_assert_msg(strstr(err.text, want) != NULL, "%s", err.text);
    ck_assert_msg(strstr(err.text, "127.0.0.1") != NULL, "%s", err.text);
}
END_TEST

/* Options refused at open, before any request. */
static void open_refused(const char *uri, const char *key, const char *text)
{
    kvkit_error_t err = {0};
    ck_assert_ptr_null(kvkit_store_open(uri, &err));
    ck_assert_int_eq(err.code, KVKIT_BAD_OPTION);
    ck_assert_msg(strstr(err.text, text) != NULL, "%s: %s", uri, err.text);
    if (key)
        ck_assert_str_eq(err.subject, key);
}

START_TEST(test_secure_options_refused)
{
    setenv("KVKIT_RIAK_PASSWORD", PASSWORD, 1);
    open_refused("riak:http://127.0.0.1:9?user=app", "user",
                 "option \"user\" (\"app\") needs an https:// location: Riak security accepts "
                 "credentials over HTTPS only");
    open_refused("riak:http://127.0.0.1:9?cacert=" CERTS "/ca.pem", "cacert",
                 "option \"cacert\" needs an https:// location");
    open_refused("riak:https://127.0.0.1:9?cacert=" CERTS "/nope.pem", "cacert",
                 "option \"cacert\": cannot read \"" CERTS "/nope.pem\": No such file");
    open_refused("riak:https://127.0.0.1:9?key=" CERTS "/client.key", "key",
                 "option \"key\" needs \"cert\"");
    open_refused("riak:https://127.0.0.1:9?password_file=/x", "password_file",
                 "option \"password_file\" needs \"user\"");
    unsetenv("KVKIT_RIAK_PASSWORD");
    open_refused("riak:https://127.0.0.1:9?user=app", NULL,
                 "user \"app\" needs a password: give password_file=PATH");
}
END_TEST

int main(void)
{
    emu_certs(CERTS);
    snprintf(pwfile, sizeof pwfile, "%s/riak-password", CERTS);
    FILE *f = fopen(pwfile, "w");
    if (f == NULL || fputs(PASSWORD "\n", f) < 0 || fclose(f) != 0 || chmod(pwfile, 0600) != 0)
        return 99;
    Suite *s = suite_create("riak secure");
    TCase *tc = tcase_create("secure");
    tcase_add_unchecked_fixture(tc, secure_up, emu_down);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_secure_password_file);
    tcase_add_test(tc, test_secure_password_env);
    tcase_add_test(tc, test_secure_wrong_password);
    tcase_add_test(tc, test_secure_no_user);
    tcase_add_test(tc, test_secure_no_permission);
    tcase_add_test(tc, test_secure_ca_mismatch);
    tcase_add_test(tc, test_secure_no_client_cert);
    tcase_add_test(tc, test_secure_options_refused);
    suite_add_tcase(s, tc);
    tc = tcase_create("wronghost");
    tcase_add_unchecked_fixture(tc, wronghost_up, emu_down);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_secure_wrong_host);
    suite_add_tcase(s, tc);
    return run_suite(s);
}
