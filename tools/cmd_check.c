/*
 * cmd_check.c - check BUCKET [--repair]: do the index entries agree with
 * the documents?
 *
 * The store API cannot list a key's index entries, so the check works from
 * both ends with what it can ask:
 *
 *  1. read every document and recompute the entries it should have
 *     (--schema or --index): FIELD=VALUE -> the keys expected there;
 *  2. for each distinct FIELD=VALUE, an exact index query must return
 *     exactly those keys: a key missing is a "missing_entry", an extra key
 *     is a "stale_entry" (its document no longer has that value) or an
 *     "orphan_entry" (no such document);
 *  3. for each field, a query over the whole range (every number, every
 *     string) must return only keys whose document has some value there.
 *
 * Not visible this way (kvkit(1) says so): entries under fields that are
 * not named, and a stale extra value of a field on a document that also
 * has correct values of that field, when no other document has that value.
 *
 * --repair re-saves each document concerned with its recomputed entries
 * (save replaces all of a key's entries) and clears orphans by saving an
 * entry-less placeholder and deleting it; then the check runs again.
 */
#include <config.h>

#include <float.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

typedef struct check {
    const cli_t *cli;
    kvkit_store_t *store;
    cli_indexer_t *ix;
    const char *bucket;
    int quiet_report;
    const char *const *fields; /* the checked fields; ct_entry_t.field indexes them */
    size_t n_fields;
    check_table_t *t;
    json_t *reported; /* report_key(key, field) -> true: one stale/orphan report per pair */
    json_t *fix;      /* key -> true (re-save) or false (orphan: clear) */
    uint64_t n_docs, n_problems;
    kvkit_error_t err;
} check_t;

static int oom(check_t *c)
{
    return kvkit_backend_error(&c->err, KVKIT_NOMEM, "", "check: out of memory");
}

/* One mismatch, as a JSON line on stdout. */
static void report(check_t *c, const char *key, const char *problem, const char *field,
                   const json_t *value, const char *message)
{
    c->n_problems++;
    if (c->quiet_report)
        return;
    json_t *j = json_pack("{s:s,s:s,s:s}", "bucket", c->bucket, "key", key, "problem", problem);
    if (j == NULL)
        return;
    if (field != NULL)
        json_object_set_new(j, "field", json_string(field));
    if (value != NULL)
        json_object_set(j, "value", (json_t *)value);
    if (message != NULL)
        json_object_set_new(j, "message", json_string(message));
    json_dumpf(j, stdout, JSON_COMPACT | JSON_PRESERVE_ORDER);
    putchar('\n');
    json_decref(j);
}

/*** pass 1: documents -> expected entries ***/

static int expect_values(check_t *c, const char *key, json_t *values)
{
    for (size_t f = 0; f < c->n_fields; f++) {
        json_t *list = json_object_get(values, c->fields[f]), *v;
        size_t i;
        json_array_foreach(list, i, v)
        {
            unsigned char *buf;
            size_t len;
            if (kvkit_index_encode(v, &buf, &len, &c->err) != KVKIT_OK)
                return c->err.code;
            int rc = ct_add_entry(c->t, (uint32_t)f, buf, len, key);
            free(buf);
            if (rc != 0)
                return oom(c);
        }
    }
    return KVKIT_OK;
}

static int scan_document(check_t *c, const char *key, const char *value, size_t vlen)
{
    if ((key = ct_add_doc(c->t, key)) == NULL)
        return oom(c);
    c->n_docs++;
    json_t *doc = json_loadb(value, vlen, JSON_DECODE_ANY, NULL);
    if (doc == NULL) {
        report(c, key, "corrupt_document", NULL, NULL, "stored value is not JSON");
        return ct_add_skip(c->t, key) == 0 ? KVKIT_OK : oom(c);
    }
    kvkit_error_t e = {0};
    kvkit_index_set_t *set = kvkit_index_set_create();
    json_t *values = NULL;
    int rc = KVKIT_OK;
    if (set == NULL) {
        rc = oom(c);
    } else if (cli_indexer_prepare(c->ix, doc, 1, NULL, set, &e) != KVKIT_OK) {
        /* nothing to compare against: its entries are whatever was saved */
        report(c, key, "invalid_document", NULL, NULL, e.text);
        rc = ct_add_skip(c->t, key) == 0 ? KVKIT_OK : oom(c);
    } else if ((values = cli_indexer_values(c->ix, doc, &c->err)) == NULL) {
        rc = c->err.code;
    } else {
        rc = expect_values(c, key, values);
    }
    kvkit_index_set_destroy(set);
    json_decref(values);
    json_decref(doc);
    return rc;
}

/*** passes 2 and 3: ask the index ***/

/* "LEN:KEY FIELD": the key's length first, so no key or field name, whatever
 * bytes it holds, can make two pairs spell the same string ("a|b"+"c" and
 * "a"+"b|c" did with "KEY|FIELD"). */
#define REPORT_KEY_MAX (20 + 1 + KVKIT_KEY_MAX + 1 + KVKIT_FIELD_MAX + 1)
static void report_key(char *out, const char *key, const char *field)
{
    snprintf(out, REPORT_KEY_MAX, "%zu:%s %s", strlen(key), key, field);
}

static void extra_key(check_t *c, const char *key, const char *field, const json_t *value)
{
    char rk[REPORT_KEY_MAX];
    report_key(rk, key, field);
    if (json_object_get(c->reported, rk) != NULL || ct_is_skipped(c->t, key))
        return;
    json_object_set_new(c->reported, rk, json_true());
    int is_doc = ct_is_doc(c->t, key);
    report(c, key, is_doc ? "stale_entry" : "orphan_entry", field, value, NULL);
    if (json_object_get(c->fix, key) == NULL)
        json_object_set_new(c->fix, key, json_boolean(is_doc));
}

/* Keys an exact query returned (malloc'd strings). */
typedef struct found {
    char **keys;
    size_t n, cap;
    int failed; /* out of memory: stopped early */
} found_t;

static int collect(void *ctx, const char *key, size_t len)
{
    found_t *f = ctx;
    if (f->n == f->cap) {
        size_t cap = f->cap ? 2 * f->cap : 64;
        char **g = realloc(f->keys, cap * sizeof *g);
        if (g == NULL)
            return f->failed = 1;
        f->keys = g;
        f->cap = cap;
    }
    if ((f->keys[f->n] = strndup(key, len)) == NULL)
        return f->failed = 1;
    f->n++;
    return 0;
}

static int str_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Entries [from, to) share field and value: the exact query for that value
 * must return exactly their keys (sorted, as the table is). */
static int check_exact(check_t *c, size_t from, size_t to)
{
    const ct_entry_t *first = ct_at(c->t, from);
    const char *field = c->fields[first->field];
    json_t *value = NULL;
    if (kvkit_index_decode(first->sortable, first->len, &value, &c->err) != KVKIT_OK)
        return c->err.code;
    found_t f = {0};
    int rc = kvkit_store_index_keys(c->store, c->bucket, field, value, NULL, collect, &f, &c->err);
    if (rc == KVKIT_OK && f.failed)
        rc = oom(c);
    if (rc == KVKIT_OK && f.n > 1)
        qsort(f.keys, f.n, sizeof *f.keys, str_cmp);
    size_t i = from, j = 0;
    while (rc == KVKIT_OK && (i < to || j < f.n)) {
        int cmp = i == to ? 1 : j == f.n ? -1 : strcmp(ct_at(c->t, i)->key, f.keys[j]);
        if (cmp < 0) {
            const char *key = ct_at(c->t, i++)->key;
            report(c, key, "missing_entry", field, value, NULL);
            json_object_set_new(c->fix, key, json_true());
        } else if (cmp > 0) {
            extra_key(c, f.keys[j++], field, value);
        } else {
            i++;
            j++;
        }
    }
    for (size_t k = 0; k < f.n; k++)
        free(f.keys[k]);
    free(f.keys);
    json_decref(value);
    return rc;
}

typedef struct range {
    check_t *c;
    uint32_t field;
} range_t;

static int range_key(void *ctx, const char *key, size_t len)
{
    range_t *r = ctx;
    if (!ct_has(r->c->t, r->field, key))
        extra_key(r->c, key, r->c->fields[r->field], NULL);
    return 0;
}

static int check_range(check_t *c, uint32_t field)
{
    /* every number, then every string (no UTF-8 string sorts after 64 U+10FFFF) */
    char top[64 * 4 + 1];
    for (int i = 0; i < 64; i++)
        memcpy(top + 4 * i, "\xf4\x8f\xbf\xbf", 4);
    top[sizeof top - 1] = '\0';
    json_t *bounds[2][2] = {{json_real(-DBL_MAX), json_real(DBL_MAX)},
                            {json_string(""), json_string(top)}};
    range_t r = {c, field};
    int rc = KVKIT_OK;
    for (int i = 0; i < 2; i++) {
        if (rc == KVKIT_OK)
            rc = kvkit_store_index_keys(c->store, c->bucket, c->fields[field], bounds[i][0],
                                        bounds[i][1], range_key, &r, &c->err);
        json_decref(bounds[i][0]);
        json_decref(bounds[i][1]);
    }
    return rc;
}

/*** one pass ***/

static void free_check(check_t *c)
{
    ct_destroy(c->t);
    json_decref(c->reported);
    json_decref(c->fix);
    c->t = NULL;
    c->reported = c->fix = NULL;
}

static int run_check(check_t *c)
{
    c->t = ct_create();
    c->reported = json_object();
    c->fix = json_object();
    c->n_docs = c->n_problems = 0;
    if (c->t == NULL || c->reported == NULL || c->fix == NULL)
        return oom(c);
    c->n_fields = cli_indexer_fields(c->ix, &c->fields);

    cli_progress_t p;
    cli_progress_start(&p, c->cli, "checked", 0);
    p.quiet = 1;
    int rc = KVKIT_OK;
    kvkit_iter_t *it = kvkit_store_keys_iter(c->store, c->bucket, NULL, NULL, 1);
    for (; it != NULL && rc == KVKIT_OK && kvkit_iter_valid(it); kvkit_iter_next(it)) {
        size_t klen, vlen;
        const char *key = kvkit_iter_key(it, &klen);
        const char *value = kvkit_iter_value(it, &vlen);
        rc = scan_document(c, key, value, vlen);
        cli_progress_update(&p, c->n_docs, 0);
    }
    if (it == NULL)
        rc = oom(c);
    else if (rc == KVKIT_OK)
        rc = kvkit_iter_status(it, &c->err);
    kvkit_iter_destroy(it);
    cli_progress_end(&p, c->n_docs, NULL);
    if (rc == KVKIT_OK && ct_seal(c->t) != 0)
        rc = oom(c);

    for (size_t i = 0, n = ct_size(c->t); rc == KVKIT_OK && i < n;) {
        size_t j = i + 1;
        while (j < n && ct_at(c->t, j)->field == ct_at(c->t, i)->field &&
               ct_sortable_cmp(ct_at(c->t, j), ct_at(c->t, i)) == 0)
            j++;
        rc = check_exact(c, i, j);
        i = j;
    }
    for (uint32_t f = 0; f < c->n_fields && rc == KVKIT_OK; f++)
        rc = check_range(c, f);
    return rc;
}

/* Save the document again with all of its entries.  A plain save only
 * writes the entries its stored manifest says changed, so an entry lost
 * underneath the manifest (a LevelDB repair) would stay lost; where a batch
 * is all-or-nothing, delete and save in one batch, which rewrites every
 * entry without a moment when the document is missing. */
static int resave_document(check_t *c, const char *key, const char *value, size_t len,
                           const kvkit_index_set_t *set)
{
    if (!(kvkit_store_descriptor(c->store)->flags & KVKIT_BACKEND_ATOMIC_BATCH))
        return kvkit_store_save(c->store, c->bucket, key, value, len, set, &c->err);
    kvkit_batch_t *b = kvkit_batch_create();
    int rc = b ? KVKIT_OK : KVKIT_NOMEM;
    if (rc == KVKIT_OK)
        rc = kvkit_batch_delete(b, c->bucket, key, &c->err);
    if (rc == KVKIT_OK)
        rc = kvkit_batch_save(b, c->bucket, key, value, len, set, &c->err);
    if (rc == KVKIT_OK)
        rc = kvkit_store_write(c->store, b, &c->err);
    kvkit_batch_destroy(b);
    return rc;
}

/* Re-save documents with their recomputed entries; clear orphans. */
static int repair(check_t *c, uint64_t *fixed)
{
    const char *key;
    json_t *resave;
    kvkit_index_set_t *set = kvkit_index_set_create();
    int rc = set != NULL ? KVKIT_OK : KVKIT_NOMEM;
    json_object_foreach(c->fix, key, resave)
    {
        if (rc != KVKIT_OK)
            break;
        if (json_is_false(resave)) {
            rc = kvkit_store_save(c->store, c->bucket, key, "null", 4, NULL, &c->err);
            if (rc == KVKIT_OK)
                rc = kvkit_store_delete(c->store, c->bucket, key, &c->err);
        } else {
            char *value = NULL;
            size_t len;
            rc = kvkit_store_get(c->store, c->bucket, key, &value, &len, &c->err);
            json_t *doc = rc == KVKIT_OK ? json_loadb(value, len, JSON_DECODE_ANY, NULL) : NULL;
            if (doc != NULL && cli_indexer_prepare(c->ix, doc, 1, NULL, set, &c->err) == KVKIT_OK)
                rc = resave_document(c, key, value, len, set);
            else if (rc == KVKIT_NOTFOUND)
                rc = KVKIT_OK; /* deleted meanwhile: nothing to fix */
            else if (rc == KVKIT_OK)
                rc = c->err.code;
            json_decref(doc);
            free(value);
        }
        if (rc == KVKIT_OK)
            (*fixed)++;
    }
    kvkit_index_set_destroy(set);
    return rc;
}

int cmd_check(cli_t *cli, int argc, char **argv)
{
    static const struct option opts[] = {
        {"schema", required_argument, NULL, 's'},
        {"index", required_argument, NULL, 'i'},
        {"repair", no_argument, NULL, 'r'},
        {NULL, 0, NULL, 0},
    };
    const char *schema = NULL;
    const char **fields = NULL;
    size_t n_fields = 0;
    int opt, status = EXIT_OK, do_repair = 0;
    while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        if (opt == 's')
            schema = optarg;
        else if (opt == 'i')
            cli_add_fields(&fields, &n_fields, optarg);
        else if (opt == 'r')
            do_repair = 1;
        else {
            free(fields);
            return cli_usage("check", "unknown option");
        }
    }
    if (argc - optind != 1 || (schema == NULL && n_fields == 0)) {
        free(fields);
        return cli_usage("check", "expected --schema FILE or --index FIELDS, and BUCKET");
    }
    check_t c = {.cli = cli, .bucket = argv[optind]};
    if ((status = cli_check_names("check", c.bucket, NULL)) != EXIT_OK)
        goto out;
    if ((c.ix = cli_indexer_create(schema, fields, n_fields, &status)) == NULL)
        goto out;
    if (cli_indexer_bind(c.ix, c.bucket, &c.err) != KVKIT_OK) {
        status = cli_fail(&c.err);
        goto out;
    }
    if ((c.store = cli_open(cli->store, &status)) == NULL)
        goto out;
    int rc = run_check(&c);
    uint64_t found = c.n_problems, fixed = 0, docs = c.n_docs;
    if (rc == KVKIT_OK && do_repair && found > 0) {
        rc = repair(&c, &fixed);
        free_check(&c);
        c.quiet_report = 1; /* verify quietly: the first report stands */
        if (rc == KVKIT_OK)
            rc = run_check(&c);
    }
    if (rc != KVKIT_OK) {
        status = cli_fail(&c.err);
    } else {
        if (!cli->quiet)
            fprintf(stderr, "kvkit: checked %llu document%s in bucket \"%s\": %llu problem%s%s",
                    (unsigned long long)docs, docs == 1 ? "" : "s", c.bucket,
                    (unsigned long long)found, found == 1 ? "" : "s",
                    do_repair && found ? ", " : "\n");
        if (!cli->quiet && do_repair && found)
            fprintf(stderr, "%llu key%s re-saved, %llu problem%s left\n", (unsigned long long)fixed,
                    fixed == 1 ? "" : "s", (unsigned long long)c.n_problems,
                    c.n_problems == 1 ? "" : "s");
        status = c.n_problems == 0 ? EXIT_OK : EXIT_VALIDATION;
    }
    free_check(&c);
out:
    kvkit_store_close(c.store);
    cli_indexer_destroy(c.ix);
    free(fields);
    return status;
}
