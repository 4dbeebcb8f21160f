/*
 * qparse.c - the query language of kvkit-query(7): tokens, the recursive
 * descent parser into a qnode_t tree, the canonical text, and the query
 * object's small accessors.
 *
 *   query   := expr [ "order" "by" FIELD [ "asc" | "desc" ] ] [ "limit" INTEGER ]
 *   expr    := term { "or" term }
 *   term    := factor { "and" factor }
 *   factor  := "not" factor | "(" expr ")" | pred
 *   pred    := FIELD op VALUE | FIELD "in" "(" VALUE { "," VALUE } ")"
 *            | FIELD "starts" "with" STRING
 */
#include "qprivate.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define QDEPTH_MAX 100 /* nesting of not and parentheses */

/*** growing text buffers (canonical text, EXPLAIN) ***/

void kvkit__qbuf_add(char **buf, size_t *len, size_t *cap, const char *fmt, ...)
{
    if (*buf == NULL && *cap != 0)
        return; /* an earlier append ran out of memory */
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if (*len + (size_t)n + 1 > *cap) {
        size_t ncap = (*cap ? *cap * 2 : 64) + (size_t)n;
        char *nb = kvkit__realloc(*buf, ncap);
        if (nb == NULL) {
            kvkit__free(*buf);
            *buf = NULL;
            *cap = 1;
            return;
        }
        *buf = nb;
        *cap = ncap;
    }
    va_start(ap, fmt);
    vsnprintf(*buf + *len, *cap - *len, fmt, ap);
    va_end(ap);
    *len += (size_t)n;
}

/*** tokens ***/

typedef enum { T_END, T_WORD, T_KEYF, T_NUM, T_STR, T_OP, T_LP, T_RP, T_COMMA } tok_t;

typedef struct parser {
    const char *text;
    size_t at;        /* next byte to read */
    tok_t tok;        /* the current token */
    size_t start, len; /* its bytes */
    qp_op_t op;       /* T_OP */
    json_t *value;    /* T_NUM, T_STR (owned until taken) */
    int depth;
    kvkit_error_t *err;
} parser_t;

static const char *const keywords[] = {"and", "or",   "not", "in",  "starts", "with",
                                       "order", "by", "asc", "desc", "limit"};

static bool is_word(const parser_t *p, const char *kw)
{
    return p->tok == T_WORD && strlen(kw) == p->len &&
           strncasecmp(p->text + p->start, kw, p->len) == 0;
}

static bool is_keyword(const parser_t *p)
{
    for (size_t i = 0; i < sizeof keywords / sizeof keywords[0]; i++)
        if (is_word(p, keywords[i]))
            return true;
    return false;
}

/* "at byte N ("TOKEN"): WHAT" - the token shown up to 40 bytes. */
static int fail(parser_t *p, const char *what)
{
    if (p->tok == T_END)
        return kvkit__error(p->err, KVKIT_INVALID, "", "query: at byte %zu (end of query): %s",
                            p->start, what);
    int n = p->len > 40 ? 40 : (int)p->len;
    return kvkit__error(p->err, KVKIT_INVALID, "", "query: at byte %zu (\"%.*s%s\"): %s", p->start,
                        n, p->text + p->start, p->len > 40 ? "..." : "", what);
}

static int expected(parser_t *p, const char *what)
{
    char msg[512];
    bool unknown = p->tok == T_WORD && !is_keyword(p);
    snprintf(msg, sizeof msg, "%sexpected %s", unknown ? "unknown keyword, " : "", what);
    return fail(p, msg);
}

static bool json_number_ok(const char *s, size_t n)
{
    size_t i = 0;
    if (i < n && s[i] == '-')
        i++;
    if (i < n && s[i] == '0')
        i++;
    else if (i < n && s[i] >= '1' && s[i] <= '9')
        while (i < n && s[i] >= '0' && s[i] <= '9')
            i++;
    else
        return false;
    if (i < n && s[i] == '.') {
        size_t d = ++i;
        while (i < n && s[i] >= '0' && s[i] <= '9')
            i++;
        if (i == d)
            return false;
    }
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
        i++;
        if (i < n && (s[i] == '+' || s[i] == '-'))
            i++;
        size_t d = i;
        while (i < n && s[i] >= '0' && s[i] <= '9')
            i++;
        if (i == d)
            return false;
    }
    return i == n;
}

static int lex_number(parser_t *p)
{
    const char *s = p->text + p->start;
    while (strchr("0123456789+-.eE", p->text[p->at]) != NULL && p->text[p->at] != '\0')
        p->at++;
    p->len = p->at - p->start;
    if (!json_number_ok(s, p->len))
        return fail(p, "invalid number (JSON numbers: -12, 3.5, 1e6)");
    char tmp[128];
    if (p->len >= sizeof tmp)
        return fail(p, "number too long");
    memcpy(tmp, s, p->len);
    tmp[p->len] = '\0';
    errno = 0;
    if (strpbrk(tmp, ".eE") == NULL) {
        long long v = strtoll(tmp, NULL, 10);
        if (errno == 0) {
            p->value = json_integer(v);
            return p->value ? KVKIT_OK : kvkit__error(p->err, KVKIT_NOMEM, "", "out of memory");
        }
    }
    double d = strtod(tmp, NULL);
    if (!isfinite(d))
        return fail(p, "number out of range");
    p->value = json_real(d);
    return p->value ? KVKIT_OK : kvkit__error(p->err, KVKIT_NOMEM, "", "out of memory");
}

static int lex_string(parser_t *p)
{
    p->at++;
    while (p->text[p->at] != '"') {
        if (p->text[p->at] == '\0') {
            p->len = p->at - p->start;
            return kvkit__error(p->err, KVKIT_INVALID, "",
                                "query: at byte %zu: unterminated string (no closing '\"')",
                                p->start);
        }
        if (p->text[p->at] == '\\' && p->text[p->at + 1] != '\0')
            p->at++;
        p->at++;
    }
    p->at++;
    p->len = p->at - p->start;
    json_error_t jerr;
    p->value = json_loadb(p->text + p->start, p->len, JSON_DECODE_ANY | JSON_ALLOW_NUL, &jerr);
    if (p->value == NULL) {
        char msg[256];
        snprintf(msg, sizeof msg, "invalid string: %s", jerr.text);
        return fail(p, msg);
    }
    return KVKIT_OK;
}

static int lex_op(parser_t *p)
{
    const char *s = p->text + p->at;
    static const struct { const char *t; qp_op_t op; } ops[] = {
        {"!=", QP_NE}, {"<=", QP_LE}, {">=", QP_GE}, {"=", QP_EQ}, {"<", QP_LT}, {">", QP_GT}};
    for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++) {
        size_t n = strlen(ops[i].t);
        if (strncmp(s, ops[i].t, n) == 0) {
            p->tok = T_OP;
            p->op = ops[i].op;
            p->at += n;
            p->len = n;
            return KVKIT_OK;
        }
    }
    p->len = 1;
    return fail(p, "unexpected character");
}

static int lex(parser_t *p)
{
    json_decref(p->value);
    p->value = NULL;
    while (strchr(" \t\r\n", p->text[p->at]) != NULL && p->text[p->at] != '\0')
        p->at++;
    p->start = p->at;
    char c = p->text[p->at];
    p->len = 1;
    if (c == '\0') {
        p->tok = T_END;
        p->len = 0;
        return KVKIT_OK;
    }
    if (c == '"')
        return p->tok = T_STR, lex_string(p);
    if (c == '-' || (c >= '0' && c <= '9'))
        return p->tok = T_NUM, lex_number(p);
    if (c == '(' || c == ')' || c == ',') {
        p->tok = c == '(' ? T_LP : c == ')' ? T_RP : T_COMMA;
        p->at++;
        return KVKIT_OK;
    }
    if (c == '_' || c == '$' || ((c | 0x20) >= 'a' && (c | 0x20) <= 'z')) {
        p->at++;
        while (p->text[p->at] == '_' || p->text[p->at] == '.' ||
               (p->text[p->at] >= '0' && p->text[p->at] <= '9') ||
               ((p->text[p->at] | 0x20) >= 'a' && (p->text[p->at] | 0x20) <= 'z'))
            p->at++;
        p->len = p->at - p->start;
        p->tok = c == '$' ? T_KEYF : T_WORD;
        if (c == '$' && (p->len != 4 || strncmp(p->text + p->start, "$key", 4) != 0))
            return fail(p, "unknown pseudo-field, expected \"$key\"");
        return KVKIT_OK;
    }
    return lex_op(p);
}

/*** nodes ***/

void kvkit__qnode_free(qnode_t *n)
{
    if (n == NULL)
        return;
    for (size_t i = 0; i < n->n_kids; i++)
        kvkit__qnode_free(n->kids[i]);
    for (size_t i = 0; i < n->n_vals; i++) {
        json_decref(n->vals[i].json);
        kvkit__free(n->vals[i].buf);
    }
    kvkit__free(n->kids);
    kvkit__free(n->vals);
    kvkit__free(n->field);
    kvkit__free(n);
}

int kvkit__qval_set(qval_t *v, json_t *json_new, kvkit_error_t *err)
{
    v->json = json_new;
    v->buf = kvkit__malloc(kvkit__sortable_size(json_new));
    if (v->buf == NULL)
        return kvkit__error(err, KVKIT_NOMEM, "", "out of memory");
    return kvkit__index_value(json_new, v->buf, &v->iv, "query", err);
}

qnode_t *kvkit__qnode_has(qp_op_t op, const char *field)
{
    qnode_t *n = kvkit__calloc(1, sizeof *n);
    if (n == NULL || (n->field = kvkit__strdup(field)) == NULL) {
        kvkit__free(n);
        return NULL;
    }
    n->kind = QN_PRED;
    n->op = op;
    return n;
}

static qnode_t *node_new(parser_t *p, qn_kind_t kind)
{
    qnode_t *n = kvkit__calloc(1, sizeof *n);
    if (n == NULL)
        kvkit__error(p->err, KVKIT_NOMEM, "", "out of memory");
    else
        n->kind = kind;
    return n;
}

static int add_kid(parser_t *p, qnode_t *n, qnode_t *kid)
{
    qnode_t **k = kvkit__realloc(n->kids, (n->n_kids + 1) * sizeof *k);
    if (k == NULL) {
        kvkit__qnode_free(kid);
        return kvkit__error(p->err, KVKIT_NOMEM, "", "out of memory");
    }
    n->kids = k;
    n->kids[n->n_kids++] = kid;
    return KVKIT_OK;
}

/* Take the current token's value into the predicate's list. */
static int take_value(parser_t *p, qnode_t *n)
{
    if (p->tok != T_NUM && p->tok != T_STR)
        return expected(p, "a value (a JSON number or string)");
    qval_t *v = kvkit__realloc(n->vals, (n->n_vals + 1) * sizeof *v);
    if (v == NULL)
        return kvkit__error(p->err, KVKIT_NOMEM, "", "out of memory");
    n->vals = v;
    memset(&v[n->n_vals], 0, sizeof *v);
    int rc = kvkit__qval_set(&v[n->n_vals++], p->value, p->err);
    p->value = NULL;
    return rc != KVKIT_OK ? rc : lex(p);
}

/*** the grammar ***/

static int parse_expr(parser_t *p, qnode_t **out);

static int parse_field(parser_t *p, char **field, const char *what)
{
    if ((p->tok != T_WORD && p->tok != T_KEYF) || is_keyword(p))
        return fail(p, what);
    if (p->len > KVKIT_FIELD_MAX)
        return fail(p, "field name longer than 255 bytes");
    if ((*field = kvkit__strndup(p->text + p->start, p->len)) == NULL)
        return kvkit__error(p->err, KVKIT_NOMEM, "", "out of memory");
    return lex(p);
}

static int parse_in_list(parser_t *p, qnode_t *n)
{
    int rc;
    if (p->tok != T_LP)
        return expected(p, "\"(\" after \"in\"");
    if ((rc = lex(p)) != KVKIT_OK)
        return rc;
    for (;;) {
        if ((rc = take_value(p, n)) != KVKIT_OK)
            return rc;
        if (p->tok == T_RP)
            return lex(p);
        if (p->tok != T_COMMA)
            return expected(p, "\",\" or \")\" in the \"in\" list");
        if ((rc = lex(p)) != KVKIT_OK)
            return rc;
    }
}

static int parse_pred_rest(parser_t *p, qnode_t *n)
{
    int rc;
    if (p->tok == T_OP) {
        n->op = p->op;
        return (rc = lex(p)) != KVKIT_OK ? rc : take_value(p, n);
    }
    if (is_word(p, "in")) {
        n->op = QP_IN;
        return (rc = lex(p)) != KVKIT_OK ? rc : parse_in_list(p, n);
    }
    if (!is_word(p, "starts"))
        return expected(p, "an operator (=, !=, <, <=, >, >=, \"in\" or \"starts with\")");
    n->op = QP_PREFIX;
    if ((rc = lex(p)) != KVKIT_OK)
        return rc;
    if (!is_word(p, "with"))
        return expected(p, "\"with\" after \"starts\"");
    if ((rc = lex(p)) != KVKIT_OK)
        return rc;
    if (p->tok == T_NUM)
        return fail(p, "\"starts with\" takes a string, not a number");
    if (p->tok != T_STR)
        return expected(p, "a string after \"starts with\"");
    return take_value(p, n);
}

static int parse_factor(parser_t *p, qnode_t **out);

static int parse_factor_at(parser_t *p, qnode_t **out)
{
    int rc;
    if (is_word(p, "not") || p->tok == T_LP) {
        bool neg = p->tok != T_LP;
        if ((rc = lex(p)) != KVKIT_OK)
            return rc;
        if (neg) {
            if ((*out = node_new(p, QN_NOT)) == NULL)
                return KVKIT_NOMEM;
            qnode_t *kid = NULL;
            rc = parse_factor(p, &kid);
            return rc != KVKIT_OK ? (kvkit__qnode_free(kid), rc) : add_kid(p, *out, kid);
        }
        if ((rc = parse_expr(p, out)) != KVKIT_OK)
            return rc;
        if (p->tok != T_RP)
            return expected(p, "\")\", \"and\" or \"or\"");
        return lex(p);
    }
    if ((*out = node_new(p, QN_PRED)) == NULL)
        return KVKIT_NOMEM;
    if ((rc = parse_field(p, &(*out)->field, "expected a field name, \"$key\", \"not\" or \"(\"")) !=
        KVKIT_OK)
        return rc;
    return parse_pred_rest(p, *out);
}

static int parse_factor(parser_t *p, qnode_t **out)
{
    if (++p->depth > QDEPTH_MAX)
        return fail(p, "expression nested too deeply (more than 100 levels)");
    int rc = parse_factor_at(p, out);
    p->depth--;
    return rc;
}

/* One level: items separated by `kw` ("and": factors, "or": terms). */
static int parse_list(parser_t *p, qnode_t **out, qn_kind_t kind, const char *kw)
{
    qnode_t *first = NULL;
    int rc = kind == QN_AND ? parse_factor(p, &first) : parse_list(p, &first, QN_AND, "and");
    if (rc != KVKIT_OK || !is_word(p, kw)) {
        *out = first;
        return rc;
    }
    if ((*out = node_new(p, kind)) == NULL) {
        kvkit__qnode_free(first);
        return KVKIT_NOMEM;
    }
    if ((rc = add_kid(p, *out, first)) != KVKIT_OK)
        return rc;
    while (is_word(p, kw)) {
        qnode_t *kid = NULL;
        if ((rc = lex(p)) != KVKIT_OK)
            return rc;
        rc = kind == QN_AND ? parse_factor(p, &kid) : parse_list(p, &kid, QN_AND, "and");
        if (rc != KVKIT_OK)
            return kvkit__qnode_free(kid), rc;
        if ((rc = add_kid(p, *out, kid)) != KVKIT_OK)
            return rc;
    }
    return KVKIT_OK;
}

static int parse_expr(parser_t *p, qnode_t **out)
{
    return parse_list(p, out, QN_OR, "or");
}

static int parse_tail(parser_t *p, kvkit_qexpr_t *q)
{
    int rc;
    if (is_word(p, "order")) {
        if ((rc = lex(p)) != KVKIT_OK)
            return rc;
        if (!is_word(p, "by"))
            return expected(p, "\"by\" after \"order\"");
        if ((rc = lex(p)) != KVKIT_OK || (rc = parse_field(p, &q->order, "expected a field name after \"order by\"")) != KVKIT_OK)
            return rc;
        if (is_word(p, "asc") || is_word(p, "desc")) {
            q->desc = is_word(p, "desc");
            if ((rc = lex(p)) != KVKIT_OK)
                return rc;
        }
    }
    if (is_word(p, "limit")) {
        if ((rc = lex(p)) != KVKIT_OK)
            return rc;
        if (p->tok != T_NUM || !json_is_integer(p->value) || json_integer_value(p->value) < 0)
            return expected(p, "a whole number from 0 after \"limit\"");
        q->has_limit = true;
        q->limit = (uint64_t)json_integer_value(p->value);
        if ((rc = lex(p)) != KVKIT_OK)
            return rc;
    }
    if (p->tok == T_END)
        return KVKIT_OK;
    return expected(p, q->has_limit ? "the end of the query"
                       : q->order != NULL ? "\"limit\" or the end of the query"
                                          : "\"and\", \"or\", \"order by\", \"limit\" or the end of the query");
}

/*** canonical text ***/

static void value_text(const qval_t *v, char **buf, size_t *len, size_t *cap)
{
    char *s = json_dumps(v->json, JSON_ENCODE_ANY | JSON_COMPACT);
    if (s == NULL) {
        kvkit__free(*buf);
        *buf = NULL;
        *cap = 1;
        return;
    }
    kvkit__qbuf_add(buf, len, cap, "%s", s);
    free(s);
}

void kvkit__qnode_text(const qnode_t *n, char **buf, size_t *len, size_t *cap)
{
    static const char *const ops[] = {"=", "!=", "<", "<=", ">", ">="};
    if (n->kind == QN_NOT) {
        kvkit__qbuf_add(buf, len, cap, "not ");
        kvkit__qnode_text(n->kids[0], buf, len, cap);
    } else if (n->kind != QN_PRED) {
        for (size_t i = 0; i < n->n_kids; i++) {
            kvkit__qbuf_add(buf, len, cap, i == 0 ? "(" : n->kind == QN_AND ? " and " : " or ");
            kvkit__qnode_text(n->kids[i], buf, len, cap);
        }
        kvkit__qbuf_add(buf, len, cap, ")");
    } else if (n->op == QP_IN) {
        kvkit__qbuf_add(buf, len, cap, "%s in ", n->field);
        for (size_t i = 0; i < n->n_vals; i++) {
            kvkit__qbuf_add(buf, len, cap, i == 0 ? "(" : ", ");
            value_text(&n->vals[i], buf, len, cap);
        }
        kvkit__qbuf_add(buf, len, cap, ")");
    } else if (n->op >= QP_HAS_NUMBER) {
        kvkit__qbuf_add(buf, len, cap, "%s has %s", n->field,
                        n->op == QP_HAS_NUMBER ? "a number" : "a value");
    } else {
        kvkit__qbuf_add(buf, len, cap, "%s %s ", n->field,
                        n->op == QP_PREFIX ? "starts with" : ops[n->op]);
        value_text(&n->vals[0], buf, len, cap);
    }
}

static int make_canon(kvkit_qexpr_t *q, kvkit_error_t *err)
{
    size_t len = 0, cap = 0;
    kvkit__qnode_text(q->root, &q->canon, &len, &cap);
    if (q->order != NULL)
        kvkit__qbuf_add(&q->canon, &len, &cap, " order by %s %s", q->order,
                        q->desc ? "desc" : "asc");
    if (q->has_limit)
        kvkit__qbuf_add(&q->canon, &len, &cap, " limit %llu", (unsigned long long)q->limit);
    return q->canon ? KVKIT_OK : kvkit__error(err, KVKIT_NOMEM, "", "out of memory");
}

/*** the query object ***/

int kvkit_query_parse(const char *text, kvkit_qexpr_t **out, kvkit_error_t *err)
{
    if (out != NULL)
        *out = NULL;
    if (text == NULL || out == NULL)
        return kvkit__error(err, KVKIT_INVALID, "", "query: text or result pointer is NULL");
    kvkit_qexpr_t *q = kvkit__calloc(1, sizeof *q);
    if (q == NULL)
        return kvkit__error(err, KVKIT_NOMEM, "", "out of memory");
    q->all_indexed = true;
    parser_t p = {.text = text, .err = err};
    int rc = lex(&p);
    if (rc == KVKIT_OK && p.tok == T_END)
        rc = fail(&p, "empty query, expected a predicate such as: field = \"value\"");
    if (rc == KVKIT_OK)
        rc = parse_expr(&p, &q->root);
    if (rc == KVKIT_OK)
        rc = parse_tail(&p, q);
    if (rc == KVKIT_OK)
        rc = make_canon(q, err);
    json_decref(p.value);
    if (rc != KVKIT_OK) {
        kvkit_query_free(q);
        return rc;
    }
    *out = q;
    return KVKIT_OK;
}

void kvkit__q_spare_drop(kvkit_qexpr_t *q)
{
    void *spare = q->spare;
    q->spare = NULL;
    if (spare != NULL)
        q->spare_free(spare);
}

void kvkit_query_free(kvkit_qexpr_t *q)
{
    if (q == NULL)
        return;
    kvkit__q_spare_drop(q);
    kvkit__qnode_free(q->root);
    for (size_t i = 0; i < q->n_indexed; i++)
        kvkit__free(q->indexed[i]);
    kvkit__free(q->indexed);
    kvkit__free(q->order);
    kvkit__free(q->canon);
    kvkit__free(q);
}

const char *kvkit_query_text(const kvkit_qexpr_t *q)
{
    return q != NULL ? q->canon : "";
}

int kvkit_query_set_indexed(kvkit_qexpr_t *q, const char *const *fields, size_t n,
                            kvkit_error_t *err)
{
    if (q == NULL || (n > 0 && fields == NULL))
        return kvkit__error(err, KVKIT_INVALID, "", "query or field list is NULL");
    char **copy = kvkit__calloc(n + 1, sizeof *copy);
    if (copy == NULL)
        return kvkit__error(err, KVKIT_NOMEM, "", "out of memory");
    for (size_t i = 0; i < n; i++) {
        if (fields[i] == NULL || (copy[i] = kvkit__strdup(fields[i])) == NULL) {
            for (size_t j = 0; j < i; j++)
                kvkit__free(copy[j]);
            kvkit__free(copy);
            return fields[i] == NULL ? kvkit__error(err, KVKIT_INVALID, "", "field %zu is NULL", i)
                                     : kvkit__error(err, KVKIT_NOMEM, "", "out of memory");
        }
    }
    kvkit__q_spare_drop(q); /* planned with the old list */
    for (size_t i = 0; i < q->n_indexed; i++)
        kvkit__free(q->indexed[i]);
    kvkit__free(q->indexed);
    q->indexed = copy;
    q->n_indexed = n;
    q->all_indexed = false;
    return KVKIT_OK;
}

bool kvkit__q_indexed(const kvkit_qexpr_t *q, const char *field)
{
    if (q->all_indexed || strcmp(field, "$key") == 0)
        return true;
    for (size_t i = 0; i < q->n_indexed; i++)
        if (strcmp(q->indexed[i], field) == 0)
            return true;
    return false;
}
