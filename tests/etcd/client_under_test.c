/* The etcd plugin's client, compiled into test_client (the plugin itself
 * exports only the backend operations). */
#include "client.c"
#include "session.c"
#include "wire.c"
#include "codec.c"

/* map_grpc is static: reach it from test_client.c */
int ec_test_map_grpc(int64_t code, const char *msg, const char *url, const char *subject,
                     kvkit_error_t *err);
int ec_test_map_grpc(int64_t code, const char *msg, const char *url, const char *subject,
                     kvkit_error_t *err)
{
    return map_grpc(code, msg, url, subject, NULL, err);
}
