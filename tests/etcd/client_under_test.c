/* The etcd plugin's client, compiled into test_client (the plugin itself
 * exports only the backend operations). */
#include "client.c"
