/*
** data_csv.c: lunet.data.csv, a CSV file as a float tensor, through libcsv
** (Debian's libcsv-dev: RFC 4180 quoting, any delimiter, streaming, no
** allocation per field).  The file is read in blocks; the parser calls back
** per field and per record.  Feature cells must be numbers (strtof, the
** whole cell); the label column may hold numbers (kept as they are) or text
** (mapped to 1..K in sorted order, the names returned).  Errors name the
** path, the line and the column.  A pipe or FIFO is fine: the file is read
** as a stream.
*/
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <csv.h>
#include "lunet.h"

#define WHO "lunet.data.csv"
#define BLOCK 65536

typedef struct Csv {
  lua_State *L;
  const char *path;
  struct csv_parser p;
  int pinit;              /* p needs csv_free */
  FILE *f;
  float *vals;            /* the features, row after row */
  size_t nvals, cap;
  int header;             /* the first record is the header (still to come: 2, done: 1) */
  size_t ncols;           /* fields per record, from the first */
  size_t col;             /* fields of the current record so far */
  size_t rows;            /* data records done */
  size_t line;            /* the line the current record started on */
  size_t nl;              /* newlines seen (record ends and inside quoted fields) */
  int after_cr;
  lua_Integer label;      /* 1-based label column, 0 none, -1 named (resolved at the header) */
  const char *label_name;
  int names;              /* stack index of the column names table */
  int labels;             /* stack index of the label strings table */
  char cell[64];
} Csv;

typedef struct Name { const char *s; size_t n; } Name;

static int cmpname(const void *a, const void *b) {
  const Name *x = (const Name *)a, *y = (const Name *)b;
  int c = memcmp(x->s, y->s, x->n < y->n ? x->n : y->n);
  return c ? c : (x->n > y->n) - (x->n < y->n);
}

static int csv_gc(lua_State *L) {
  Csv *c = (Csv *)lua_touserdata(L, 1);
  if (c->pinit) csv_free(&c->p);
  c->pinit = 0;
  if (c->f) fclose(c->f);
  c->f = NULL;
  free(c->vals);
  c->vals = NULL;
  return 0;
}

/* the cell as text for messages, shortened */
static const char *celltext(Csv *c, const char *s, size_t n) {
  size_t k = n < sizeof c->cell - 4 ? n : sizeof c->cell - 4;
  memcpy(c->cell, s, k);
  strcpy(c->cell + k, n > k ? "..." : "");
  return c->cell;
}

/* "column 3 ('petal_width')" */
static const char *colname(Csv *c, size_t col, char *buf, size_t n) {
  lua_rawgeti(c->L, c->names, (lua_Integer)col);
  if (lua_type(c->L, -1) == LUA_TSTRING) snprintf(buf, n, "column %zu ('%s')", col, lua_tostring(c->L, -1));
  else snprintf(buf, n, "column %zu", col);
  lua_pop(c->L, 1);
  return buf;
}

static void on_field(void *s, size_t n, void *data) {
  Csv *c = (Csv *)data;
  const char *txt = (const char *)s;
  size_t k, col = ++c->col;
  char name[160];
  for (k = 0; k < n; k++) if (txt[k] == '\n') c->nl++; /* inside quotes */
  if (c->header == 2) { /* a column name */
    lua_pushlstring(c->L, txt ? txt : "", n);
    lua_rawseti(c->L, c->names, (lua_Integer)col);
    return;
  }
  if (c->ncols && col > c->ncols)
    ln_error(c->L, WHO ": %s:%zu: %zu fields, more than the %zu of the first line", c->path, c->line, col, c->ncols);
  if ((lua_Integer)col == c->label) { /* kept as text until every row is read */
    lua_pushlstring(c->L, txt ? txt : "", n);
    lua_rawseti(c->L, c->labels, (lua_Integer)c->rows + 1);
    return;
  }
  {
    char buf[64], *end;
    float v;
    if (n == 0 || txt == NULL)
      ln_error(c->L, WHO ": %s:%zu: %s is empty (a missing value)", c->path, c->line, colname(c, col, name, sizeof name));
    if (n >= sizeof buf)
      ln_error(c->L, WHO ": %s:%zu: %s: '%s' is not a number", c->path, c->line, colname(c, col, name, sizeof name),
               celltext(c, txt, n));
    memcpy(buf, txt, n);
    buf[n] = '\0';
    errno = 0;
    v = strtof(buf, &end);
    if (end == buf || *end != '\0')
      ln_error(c->L, WHO ": %s:%zu: %s: '%s' is not a number", c->path, c->line, colname(c, col, name, sizeof name),
               celltext(c, txt, n));
    if (c->nvals == c->cap) {
      size_t cap = c->cap ? 2 * c->cap : 4096;
      float *p = (float *)realloc(c->vals, cap * sizeof(float));
      if (p == NULL) ln_error(c->L, WHO ": %s: out of memory after %zu rows", c->path, c->rows);
      c->vals = p;
      c->cap = cap;
    }
    c->vals[c->nvals++] = v;
  }
}

static void on_record(int ch, void *data) {
  Csv *c = (Csv *)data;
  int crlf = ch == '\n' && c->after_cr;
  c->after_cr = ch == '\r';
  if (!crlf && (ch == '\n' || ch == '\r')) c->nl++;
  if (c->col == 0) { c->line = c->nl + 1; return; } /* an empty line (CSV_REPALL_NL reports them) */
  if (c->header == 2) {
    c->header = 1;
    c->ncols = c->col;
    if (c->label < 0) { /* find the named label column */
      size_t k;
      for (k = 1; k <= c->ncols; k++) {
        lua_rawgeti(c->L, c->names, (lua_Integer)k);
        if (strcmp(lua_tostring(c->L, -1), c->label_name) == 0) c->label = (lua_Integer)k;
        lua_pop(c->L, 1);
      }
      if (c->label < 0) ln_error(c->L, WHO ": %s: no column named '%s' in the header", c->path, c->label_name);
    }
  } else {
    if (c->ncols == 0) c->ncols = c->col;
    if (c->col != c->ncols)
      ln_error(c->L, WHO ": %s:%zu: %zu fields, but the first line has %zu", c->path, c->line, c->col, c->ncols);
    c->rows++;
  }
  if (c->label > (lua_Integer)c->ncols)
    ln_error(c->L, WHO ": %s: label column %lld, but the file has %zu columns", c->path, (long long)c->label, c->ncols);
  c->col = 0;
  c->line = c->nl + 1;
}

/* lunet.data.csv(path, { header = true, sep = ",", label = nil }) -> X, y, info */
static int l_csv(lua_State *L) {
  static const char *const keys[] = {"header", "sep", "label", NULL};
  const char *path = luaL_checkstring(L, 1);
  Csv *c;
  char buf[BLOCK];
  size_t n, k, feats, i;
  const char *sep = ",";
  ln_Tensor *X;
  ln_checkoptions(L, 2, WHO, keys);
  lua_settop(L, 2);
  c = (Csv *)lua_newuserdatauv(L, sizeof *c, 0); /* 3 */
  memset(c, 0, sizeof *c);
  lua_newtable(L);
  lua_pushcfunction(L, csv_gc);
  lua_setfield(L, -2, "__gc");
  lua_pushcfunction(L, csv_gc);
  lua_setfield(L, -2, "__close");
  lua_setmetatable(L, 3);
  lua_toclose(L, 3);
  c->L = L;
  c->path = path;
  c->header = ln_optboolean(L, 2, "header", 1, WHO) ? 2 : 0;
  if (!lua_isnil(L, 2) && lua_getfield(L, 2, "sep") != LUA_TNIL) {
    if (lua_type(L, -1) != LUA_TSTRING || lua_rawlen(L, -1) != 1)
      ln_error(L, WHO ": option 'sep' must be a one-character string, got %s", ln_typename(L, -1));
    sep = lua_tostring(L, -1);
  }
  lua_settop(L, 3);
  if (!lua_isnil(L, 2) && lua_getfield(L, 2, "label") != LUA_TNIL) {
    if (lua_type(L, -1) == LUA_TSTRING) {
      if (!c->header) ln_error(L, WHO ": option 'label' names a column, which needs header = true");
      c->label = -1;
      c->label_name = lua_tostring(L, -1); /* kept alive by the options table at 2 */
    } else {
      int isnum;
      c->label = lua_tointegerx(L, -1, &isnum);
      if (!isnum || c->label < 1)
        ln_error(L, WHO ": option 'label' must be a column name or a 1-based column number, got %s",
                 lua_type(L, -1) == LUA_TNUMBER ? lua_tostring(L, -1) : ln_typename(L, -1));
    }
  }
  lua_settop(L, 3);
  lua_newtable(L); c->names = 4;
  lua_newtable(L); c->labels = 5;
  c->line = 1;
  if (csv_init(&c->p, CSV_STRICT | CSV_REPALL_NL | CSV_STRICT_FINI) != 0) ln_error(L, WHO ": %s: out of memory", path);
  c->pinit = 1;
  csv_set_delim(&c->p, (unsigned char)sep[0]);
  c->f = fopen(path, "rb");
  if (c->f == NULL) ln_error(L, WHO ": %s: %s", path, strerror(errno));
  while ((n = fread(buf, 1, sizeof buf, c->f)) > 0)
    if (csv_parse(&c->p, buf, n, on_field, on_record, c) != n)
      ln_error(L, WHO ": %s:%zu: %s", path, c->line, csv_strerror(csv_error(&c->p)));
  if (ferror(c->f)) ln_error(L, WHO ": %s: %s", path, strerror(errno));
  if (csv_fini(&c->p, on_field, on_record, c) != 0)
    ln_error(L, WHO ": %s:%zu: %s (an unterminated quote?)", path, c->line, csv_strerror(csv_error(&c->p)));
  if (c->rows == 0) ln_error(L, WHO ": %s: no data rows", path);
  feats = c->ncols - (c->label > 0 ? 1 : 0);
  if (feats == 0) ln_error(L, WHO ": %s: no feature columns besides the label", path);
  {
    size_t d[2];
    d[0] = c->rows;
    d[1] = feats;
    X = ln_newtensor_uninit(L, 2, d); /* 6 */
  }
  memcpy(X->data, c->vals, c->rows * feats * sizeof(float));
  /* y: numbers as they are, else text labels mapped to 1..K (sorted names) */
  lua_newtable(L); /* 7: info */
  lua_newtable(L);
  for (k = 1, i = 1; k <= c->ncols; k++) {
    if ((lua_Integer)k == c->label) continue;
    if (lua_rawgeti(L, c->names, (lua_Integer)k) != LUA_TSTRING) { lua_pop(L, 1); lua_pushfstring(L, "%d", (int)k); }
    lua_rawseti(L, -2, (lua_Integer)i++);
  }
  lua_setfield(L, 7, "columns");
  if (c->label > 0) {
    ln_Tensor *y = ln_newvector(L, c->rows); /* 8 */
    int numeric = 1;
    for (i = 0; i < c->rows && numeric; i++) {
      char *end;
      const char *s;
      lua_rawgeti(L, c->labels, (lua_Integer)i + 1);
      s = lua_tostring(L, -1);
      y->data[i] = strtof(s, &end);
      numeric = *s != '\0' && *end == '\0';
      lua_pop(L, 1);
    }
    if (lua_rawgeti(L, c->names, c->label) == LUA_TSTRING) lua_setfield(L, 7, "label");
    else lua_pop(L, 1);
    if (!numeric) {
      size_t K = 0;
      lua_newtable(L); /* 9: name -> true */
      for (i = 1; i <= c->rows; i++) {
        lua_rawgeti(L, c->labels, (lua_Integer)i);
        lua_pushvalue(L, -1);
        if (lua_rawget(L, 9) == LUA_TNIL) { lua_pop(L, 1); lua_pushboolean(L, 1); lua_rawset(L, 9); K++; }
        else lua_pop(L, 2);
      }
      { /* the names in byte order (the same in every locale), anchored by table 9 */
        Name *names = (Name *)lua_newuserdatauv(L, K * sizeof *names, 0);
        lua_pushnil(L);
        for (k = 0; lua_next(L, 9); k++) { lua_pop(L, 1); names[k].s = lua_tolstring(L, -1, &names[k].n); }
        qsort(names, K, sizeof *names, cmpname);
        lua_createtable(L, (int)K, 0); /* classes */
        for (k = 0; k < K; k++) {
          lua_pushlstring(L, names[k].s, names[k].n);
          lua_pushvalue(L, -1);
          lua_rawseti(L, -3, (lua_Integer)k + 1);
          lua_pushinteger(L, (lua_Integer)k + 1);
          lua_rawset(L, 9);
        }
        lua_replace(L, 10); /* 10: classes (the names' array goes) */
      }
      for (i = 1; i <= c->rows; i++) {
        lua_rawgeti(L, c->labels, (lua_Integer)i);
        lua_rawget(L, 9);
        y->data[i - 1] = (float)lua_tointeger(L, -1);
        lua_pop(L, 1);
      }
      lua_pushvalue(L, 10);
      lua_setfield(L, 7, "classes");
      lua_settop(L, 8);
    }
    lua_pushvalue(L, 6);
    lua_pushvalue(L, 8);
    lua_pushvalue(L, 7);
    return 3;
  }
  lua_pushvalue(L, 6);
  lua_pushnil(L);
  lua_pushvalue(L, 7);
  return 3;
}

void ln_open_data_csv(lua_State *L) {
  lua_getfield(L, -1, "data");
  lua_pushcfunction(L, l_csv);
  lua_setfield(L, -2, "csv");
  lua_pop(L, 1);
}
