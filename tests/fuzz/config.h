/* config.h for the libFuzzer builds of tests/fuzz (no configure run there). */
#define PACKAGE_VERSION "fuzz"
#define HAVE_SECURE_GETENV 1
#define HAVE_GETRANDOM 1
#define HAVE_DLFCN_H 1
