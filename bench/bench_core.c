/*
 * bench_core - the cost of the plugin machinery, measured in one run:
 *   1. loading a backend and opening a store (dlopen + bind + open) and,
 *      for comparison, opening a store whose backend is already loaded;
 *   2. a get and a save dispatched through libkvkit (argument checks, lock
 *      decision, table call, error mapping) against the same plugin
 *      function called directly through a pointer from dlsym.
 * Medians of several rounds; ratios printed.  Not a test: no thresholds.
 */
#include <kvkit/kvkit.h>

#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define ROUNDS 7

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v)
{
    qsort(v, ROUNDS, sizeof *v, cmp_double);
    return v[ROUNDS / 2];
}

static void die(const char *what, const kvkit_error_t *err)
{
    fprintf(stderr, "bench_core: %s: %s\n", what, err ? err->text : dlerror());
    exit(1);
}

int main(void)
{
    kvkit_error_t err = {0};
    const char *path = getenv("KVKIT_PLUGIN_PATH");
    if (path == NULL || strchr(path, '/') == NULL) {
        fprintf(stderr, "bench_core: set KVKIT_PLUGIN_PATH (make bench does)\n");
        return 1;
    }
    char so[4096];
    snprintf(so, sizeof so, "%.*s/memory.so", (int)strcspn(path, ":"), path);

    /* 1. load + open */
    double cold[ROUNDS], warm[ROUNDS];
    const int opens = 300;
    for (int r = 0; r < ROUNDS; r++) {
        double t = now();
        for (int i = 0; i < opens; i++) { /* last close unloads: every open loads */
            kvkit_store_t *s = kvkit_store_open("memory:", &err);
            if (s == NULL)
                die("open", &err);
            kvkit_store_close(s);
        }
        cold[r] = (now() - t) / opens;
        kvkit_store_t *keep = kvkit_store_open("memory:", &err);
        t = now();
        for (int i = 0; i < opens; i++) {
            kvkit_store_t *s = kvkit_store_open("memory:", &err);
            if (s == NULL)
                die("open", &err);
            kvkit_store_close(s);
        }
        warm[r] = (now() - t) / opens;
        kvkit_store_close(keep);
    }
    double c = median(cold), w = median(warm);
    printf("load plugin + open store   %8.1f us\n", c * 1e6);
    printf("open store (plugin loaded) %8.1f us\n", w * 1e6);
    printf("loading costs              %8.1fx an open of a loaded backend\n", c / w);

    /* 2. dispatched vs direct, on the same plugin code and data */
    kvkit_store_t *store = kvkit_store_open("memory:bench", &err);
    if (store == NULL)
        die("open", &err);
    void *dl = dlopen(so, RTLD_NOW | RTLD_LOCAL);
    if (dl == NULL)
        die(so, NULL);
    kvkit_backend_open_fn d_open = (kvkit_backend_open_fn)dlsym(dl, "memory_LTX_kvkit_backend_open");
    kvkit_backend_get_fn d_get = (kvkit_backend_get_fn)dlsym(dl, "memory_LTX_kvkit_backend_get");
    kvkit_backend_save_fn d_save = (kvkit_backend_save_fn)dlsym(dl, "memory_LTX_kvkit_backend_save");
    kvkit_backend_close_fn d_close = (kvkit_backend_close_fn)dlsym(dl, "memory_LTX_kvkit_backend_close");
    if (!d_open || !d_get || !d_save || !d_close)
        die("dlsym", NULL);
    void *h;
    if (d_open("", NULL, 0, &h, &err) != KVKIT_OK)
        die("direct open", &err);
    const char *doc = "{\"title\":\"a benchmark document\",\"n\":42}";
    size_t len = strlen(doc);
    const int n = 200000;
    double disp_get[ROUNDS], dir_get[ROUNDS], disp_save[ROUNDS], dir_save[ROUNDS];
    for (int r = 0; r < ROUNDS; r++) {
        double t = now();
        for (int i = 0; i < n; i++)
            if (kvkit_store_save(store, "b", "key", doc, len, NULL, &err) != KVKIT_OK)
                die("save", &err);
        disp_save[r] = (now() - t) / n;
        t = now();
        for (int i = 0; i < n; i++)
            if (d_save(h, "b", "key", doc, len, NULL, 0, &err) != KVKIT_OK)
                die("direct save", &err);
        dir_save[r] = (now() - t) / n;
        t = now();
        for (int i = 0; i < n; i++) {
            char *v;
            size_t vl;
            if (kvkit_store_get(store, "b", "key", &v, &vl, &err) != KVKIT_OK)
                die("get", &err);
            free(v);
        }
        disp_get[r] = (now() - t) / n;
        t = now();
        for (int i = 0; i < n; i++) {
            char *v;
            size_t vl;
            if (d_get(h, "b", "key", &v, &vl, &err) != KVKIT_OK)
                die("direct get", &err);
            free(v);
        }
        dir_get[r] = (now() - t) / n;
    }
    double dg = median(disp_get), xg = median(dir_get), ds = median(disp_save), xs = median(dir_save);
    printf("get   dispatched %7.1f ns  direct %7.1f ns  ratio %.3f  (+%.1f ns per call)\n",
           dg * 1e9, xg * 1e9, dg / xg, (dg - xg) * 1e9);
    printf("save  dispatched %7.1f ns  direct %7.1f ns  ratio %.3f  (+%.1f ns per call)\n",
           ds * 1e9, xs * 1e9, ds / xs, (ds - xs) * 1e9);
    d_close(h);
    dlclose(dl);
    kvkit_store_close(store);
    return 0;
}
