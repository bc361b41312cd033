/*
** st_format.c: parse, validate and write safetensors headers (see
** st_format.h).  Plain C over cJSON: no Lua, no I/O, no globals, so it can
** be fuzzed on its own.  Every failure returns a reason in a caller buffer.
*/
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cJSON.h>
#include "st_format.h"

#define MAXINT53 9007199254740992.0 /* 2^53: larger JSON integers are inexact */

/* ============================================================ helpers */

/* printf into err (errlen bytes) and return -1 */
static int fail(char *err, size_t errlen, const char *fmt, ...)
#if defined(__GNUC__)
  __attribute__((format(printf, 3, 4)))
#endif
  ;
static int fail(char *err, size_t errlen, const char *fmt, ...) {
  va_list ap;
  if (errlen == 0) return -1;
  va_start(ap, fmt);
  vsnprintf(err, errlen, fmt, ap);
  va_end(ap);
  return -1;
}

uint64_t ln_st_getu64le(const unsigned char *p) {
  uint64_t v = 0;
  int i;
  for (i = 7; i >= 0; i--) v = (v << 8) | p[i];
  return v;
}

void ln_st_putu64le(unsigned char *p, uint64_t v) {
  int i;
  for (i = 0; i < 8; i++) { p[i] = (unsigned char)(v & 0xff); v >>= 8; }
}

int ln_st_utf8ok(const char *s, size_t n) {
  const unsigned char *p = (const unsigned char *)s, *e = p + n;
  while (p < e) {
    unsigned c = *p, need, cp, min;
    if (c == 0) return 0;
    if (c < 0x80) { p++; continue; }
    if ((c & 0xe0) == 0xc0) { need = 1; cp = c & 0x1f; min = 0x80; }
    else if ((c & 0xf0) == 0xe0) { need = 2; cp = c & 0x0f; min = 0x800; }
    else if ((c & 0xf8) == 0xf0) { need = 3; cp = c & 0x07; min = 0x10000; }
    else return 0;
    if ((size_t)(e - p) <= need) return 0;
    for (p++; need > 0; need--, p++) {
      if ((*p & 0xc0) != 0x80) return 0;
      cp = (cp << 6) | (*p & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return 0;
  }
  return 1;
}

/* short name of a JSON value's type, for messages */
static const char *jtype(const cJSON *j) {
  if (j == NULL) return "nothing";
  if (cJSON_IsNumber(j)) return "a number";
  if (cJSON_IsString(j)) return "a string";
  if (cJSON_IsArray(j)) return "an array";
  if (cJSON_IsObject(j)) return "an object";
  if (cJSON_IsBool(j)) return "a boolean";
  if (cJSON_IsNull(j)) return "null";
  return "an unknown value";
}

/* 1 and *v when j is an integer number in 0..2^53 */
static int juint(const cJSON *j, uint64_t *v) {
  double d;
  if (!cJSON_IsNumber(j)) return 0;
  d = j->valuedouble;
  if (!(d >= 0.0 && d <= MAXINT53) || d != (double)(uint64_t)d) return 0;
  *v = (uint64_t)d;
  return 1;
}

/* "[2, 3]" of a shape into buf */
static const char *shapestr(const ln_StTensor *t, char *buf, size_t n) {
  size_t used;
  int i;
  snprintf(buf, n, "[");
  for (i = 0; i < t->ndim; i++) {
    used = strlen(buf);
    snprintf(buf + used, n - used, "%s%llu", i ? ", " : "", (unsigned long long)t->dims[i]);
  }
  used = strlen(buf);
  snprintf(buf + used, n - used, "]");
  return buf;
}

/* the JSON text of a (bad) value for messages, e.g. "-3" or "\"x\"" */
static const char *jvalstr(const cJSON *j, char *buf, size_t n) {
  if (cJSON_IsNumber(j)) snprintf(buf, n, "%.17g", j->valuedouble);
  else snprintf(buf, n, "%s", jtype(j));
  return buf;
}

static int cmpname(const void *a, const void *b) {
  return strcmp(((const ln_StTensor *)a)->name, ((const ln_StTensor *)b)->name);
}

static int cmpbegin(const void *a, const void *b) {
  const ln_StTensor *x = (const ln_StTensor *)a, *y = (const ln_StTensor *)b;
  if (x->begin != y->begin) return x->begin < y->begin ? -1 : 1;
  return x->end < y->end ? -1 : x->end > y->end;
}

static int cmpkey(const void *a, const void *b) {
  return strcmp(((const ln_StMeta *)a)->key, ((const ln_StMeta *)b)->key);
}

/* ============================================================= parsing */

/* the offset of the first \u0000 escape inside a JSON string of s, or len:
** cJSON would end the string there (a name "a\u0000b" loads as "a") */
size_t ln_json_nul_escape(const char *s, size_t len) {
  size_t i;
  int in = 0;
  for (i = 0; i < len; i++) {
    if (!in) { in = s[i] == '"'; continue; }
    if (s[i] == '"') in = 0;
    else if (s[i] == '\\' && i + 1 < len) {
      if (s[i + 1] == 'u' && i + 5 < len && memcmp(s + i + 2, "0000", 4) == 0) return i;
      i++; /* the escaped character */
    }
  }
  return len;
}

/* validate one tensor entry e named t->name into t */
/* the data_offsets of t, checked against its size and the data section */
static int parse_offsets(ln_StTensor *t, const cJSON *offs, uint64_t data_len, char *err, size_t errlen) {
  char sb[160];
  uint64_t b, en, bytes = t->i64 ? 8 : 4 * t->numel;
  if (offs == NULL) return fail(err, errlen, "tensor '%s': missing data_offsets", t->name);
  if (!cJSON_IsArray(offs) || cJSON_GetArraySize(offs) != 2 || !juint(offs->child, &b) ||
      !juint(offs->child->next, &en))
    return fail(err, errlen, "tensor '%s': data_offsets must be two non-negative integers [begin, end]",
                t->name);
  t->begin = b; t->end = en;
  if (b > en)
    return fail(err, errlen, "tensor '%s': data_offsets [%llu, %llu] end before they begin", t->name,
                (unsigned long long)b, (unsigned long long)en);
  if (en > data_len)
    return fail(err, errlen, "tensor '%s': data_offsets [%llu, %llu] exceed the data section (%llu bytes)",
                t->name, (unsigned long long)b, (unsigned long long)en, (unsigned long long)data_len);
  if (en - b != bytes)
    return fail(err, errlen,
                "tensor '%s': data_offsets [%llu, %llu] hold %llu bytes but shape %s needs %llu",
                t->name, (unsigned long long)b, (unsigned long long)en, (unsigned long long)(en - b),
                t->i64 ? "[] (I64)" : shapestr(t, sb, sizeof sb), (unsigned long long)bytes);
  return 0;
}

static int parse_tensor(const cJSON *e, uint64_t data_len, ln_StTensor *t, char *err, size_t errlen) {
  const cJSON *dtype, *shape, *offs, *d;
  char vb[40];
  uint64_t v;
  int i, n;
  if (!cJSON_IsObject(e))
    return fail(err, errlen, "tensor '%s': entry is %s, expected an object", t->name, jtype(e));
  for (d = e->child; d != NULL; d = d->next) { /* a reader would keep the first or the last */
    const cJSON *x;
    for (x = e->child; x != d; x = x->next)
      if (strcmp(x->string, d->string) == 0)
        return fail(err, errlen, "tensor '%s': key '%.40s' appears twice", t->name, d->string);
  }
  dtype = cJSON_GetObjectItemCaseSensitive(e, "dtype");
  shape = cJSON_GetObjectItemCaseSensitive(e, "shape");
  offs = cJSON_GetObjectItemCaseSensitive(e, "data_offsets");
  if (dtype == NULL) return fail(err, errlen, "tensor '%s': missing dtype", t->name);
  if (!cJSON_IsString(dtype))
    return fail(err, errlen, "tensor '%s': dtype is %s, expected a string", t->name, jtype(dtype));
  t->i64 = strcmp(dtype->valuestring, "I64") == 0;
  if (strcmp(dtype->valuestring, "F32") != 0 && !t->i64)
    return fail(err, errlen, "tensor '%s': dtype %.32s not supported (only F32, and I64 scalars)", t->name,
                dtype->valuestring);
  if (shape == NULL) return fail(err, errlen, "tensor '%s': missing shape", t->name);
  if (t->i64 && (!cJSON_IsArray(shape) || cJSON_GetArraySize(shape) != 0))
    return fail(err, errlen, "tensor '%s': an I64 tensor must be a scalar (shape [])", t->name);
  if (t->i64) {
    t->ndim = 0;
    t->numel = 1;
    for (i = 0; i < LN_ST_MAXDIM; i++) t->dims[i] = 1;
    return parse_offsets(t, offs, data_len, err, errlen);
  }
  if (!cJSON_IsArray(shape))
    return fail(err, errlen, "tensor '%s': shape is %s, expected an array of 1 to %d positive integers",
                t->name, jtype(shape), LN_ST_MAXDIM);
  n = cJSON_GetArraySize(shape);
  if (n < 1 || n > LN_ST_MAXDIM)
    return fail(err, errlen, "tensor '%s': shape has %d dimensions (only 1 to %d supported)",
                t->name, n, LN_ST_MAXDIM);
  t->ndim = n;
  t->numel = 1;
  for (i = 0, d = shape->child; d != NULL && i < n; d = d->next, i++) {
    if (!juint(d, &v) || v == 0)
      return fail(err, errlen, "tensor '%s': shape size %d (%s) is not a positive integer",
                  t->name, i + 1, jvalstr(d, vb, sizeof vb));
    t->dims[i] = v;
    if (v > (UINT64_MAX / 4) / t->numel)
      return fail(err, errlen, "tensor '%s': shape element count overflows", t->name);
    t->numel *= v;
  }
  for (; i < LN_ST_MAXDIM; i++) t->dims[i] = 1;
  return parse_offsets(t, offs, data_len, err, errlen);
}

/* validate __metadata__ (m) into h->meta */
static int parse_meta(const cJSON *m, ln_StHeader *h, char *err, size_t errlen) {
  const cJSON *e;
  size_t i, n = 0;
  if (!cJSON_IsObject(m))
    return fail(err, errlen, "__metadata__ is %s, expected an object of strings", jtype(m));
  for (e = m->child; e != NULL; e = e->next) n++;
  if (n == 0) return 0;
  h->meta = (ln_StMeta *)calloc(n, sizeof *h->meta);
  if (h->meta == NULL) return fail(err, errlen, "out of memory");
  for (e = m->child; e != NULL; e = e->next) {
    if (!cJSON_IsString(e))
      return fail(err, errlen, "__metadata__ value of '%s' is %s, expected a string", e->string, jtype(e));
    h->meta[h->nmeta].key = e->string;
    h->meta[h->nmeta].value = e->valuestring;
    h->nmeta++;
  }
  /* duplicate keys would make the result depend on the reader */
  {
    ln_StMeta *s = (ln_StMeta *)malloc(n * sizeof *s);
    if (s == NULL) return fail(err, errlen, "out of memory");
    memcpy(s, h->meta, n * sizeof *s);
    qsort(s, n, sizeof *s, cmpkey);
    for (i = 1; i < n; i++)
      if (strcmp(s[i - 1].key, s[i].key) == 0) {
        fail(err, errlen, "__metadata__ key '%s' appears twice", s[i].key);
        free(s);
        return -1;
      }
    free(s);
  }
  return 0;
}

/* check names are unique and the tensors tile [0, data_len) exactly;
** sorts h->tensors by begin offset */
static int check_layout(ln_StHeader *h, uint64_t data_len, char *err, size_t errlen) {
  size_t i, n = h->ntensors;
  uint64_t at = 0;
  if (n > 1) {
    qsort(h->tensors, n, sizeof *h->tensors, cmpname);
    for (i = 1; i < n; i++)
      if (strcmp(h->tensors[i - 1].name, h->tensors[i].name) == 0)
        return fail(err, errlen, "tensor '%s' appears twice", h->tensors[i].name);
    qsort(h->tensors, n, sizeof *h->tensors, cmpbegin);
  }
  for (i = 0; i < n; i++) {
    const ln_StTensor *t = &h->tensors[i];
    if (t->begin > at)
      return fail(err, errlen, "bytes [%llu, %llu) of the data section belong to no tensor (hole before '%s')",
                  (unsigned long long)at, (unsigned long long)t->begin, t->name);
    if (t->begin < at)
      return fail(err, errlen, "tensor '%s' data_offsets [%llu, %llu] overlap tensor '%s' [%llu, %llu]",
                  t->name, (unsigned long long)t->begin, (unsigned long long)t->end, h->tensors[i - 1].name,
                  (unsigned long long)h->tensors[i - 1].begin, (unsigned long long)h->tensors[i - 1].end);
    at = t->end;
  }
  if (at != data_len)
    return fail(err, errlen, "bytes [%llu, %llu) at the end of the data section belong to no tensor",
                (unsigned long long)at, (unsigned long long)data_len);
  return 0;
}

int ln_st_parse(const char *json, size_t len, uint64_t data_len, ln_StHeader *out,
                char *err, size_t errlen) {
  const char *end = NULL;
  const cJSON *e, *meta = NULL;
  cJSON *root;
  size_t n = 0, i;
  memset(out, 0, sizeof *out);
  if (errlen > 0) err[0] = '\0';
  if (len == 0) return fail(err, errlen, "header is empty");
  if (!ln_st_utf8ok(json, len)) return fail(err, errlen, "header is not valid UTF-8 (or holds a NUL byte)");
  if ((i = ln_json_nul_escape(json, len)) < len)
    return fail(err, errlen, "header holds \\u0000 (a NUL character) in a string at byte %zu: names and "
                "metadata cannot contain it", i);
  root = cJSON_ParseWithLengthOpts(json, len, &end, 0);
  if (root == NULL) {
    size_t at = (end != NULL && end >= json && end <= json + len) ? (size_t)(end - json) : 0;
    return fail(err, errlen, "header is not valid JSON (error near byte %zu of %zu)", at, len);
  }
  out->owner = root;
  for (i = (size_t)(end - json); i < len; i++)
    if (json[i] != ' ' && json[i] != '\t' && json[i] != '\n' && json[i] != '\r') {
      fail(err, errlen, "header has data after the JSON value (byte %zu of %zu)", i, len);
      goto bad;
    }
  if (!cJSON_IsObject(root)) {
    fail(err, errlen, "header is %s, expected a JSON object", jtype(root));
    goto bad;
  }
  for (e = root->child; e != NULL; e = e->next) {
    if (strcmp(e->string, "__metadata__") == 0) {
      if (meta != NULL) { fail(err, errlen, "__metadata__ appears twice"); goto bad; }
      meta = e;
    } else {
      n++;
    }
  }
  if (meta != NULL && parse_meta(meta, out, err, errlen) != 0) goto bad;
  if (n > 0) {
    out->tensors = (ln_StTensor *)calloc(n, sizeof *out->tensors);
    if (out->tensors == NULL) { fail(err, errlen, "out of memory"); goto bad; }
  }
  for (e = root->child; e != NULL; e = e->next) {
    ln_StTensor *t;
    if (e == meta) continue;
    t = &out->tensors[out->ntensors++];
    t->name = e->string;
    if (t->name[0] == '\0') { /* ln_st_format refuses it: a loaded file must save back */
      fail(err, errlen, "a tensor has an empty name");
      goto bad;
    }
    if (parse_tensor(e, data_len, t, err, errlen) != 0) goto bad;
  }
  if (check_layout(out, data_len, err, errlen) != 0) goto bad;
  return 0;
bad:
  ln_st_free(out);
  return -1;
}

void ln_st_free(ln_StHeader *h) {
  if (h->owner != NULL) cJSON_Delete((cJSON *)h->owner);
  free(h->tensors);
  free(h->meta);
  memset(h, 0, sizeof *h);
}

/* ============================================================= writing */

/* add a raw unsigned integer (exact, never in exponent form) to array a */
static int addu64(cJSON *a, uint64_t v) {
  char buf[24];
  cJSON *x;
  snprintf(buf, sizeof buf, "%llu", (unsigned long long)v);
  x = cJSON_CreateRaw(buf);
  return x != NULL && cJSON_AddItemToArray(a, x);
}

/* build the cJSON tree of h into root; 0 or -1 */
static int build(cJSON *root, ln_StHeader *h, uint64_t *data_len, char *err, size_t errlen) {
  size_t i;
  int k;
  uint64_t at = 0;
  if (h->nmeta > 0) {
    cJSON *m = cJSON_AddObjectToObject(root, "__metadata__");
    if (m == NULL) return fail(err, errlen, "out of memory");
    for (i = 0; i < h->nmeta; i++) {
      const ln_StMeta *x = &h->meta[i];
      if (!ln_st_utf8ok(x->key, strlen(x->key)) || !ln_st_utf8ok(x->value, strlen(x->value)))
        return fail(err, errlen, "metadata '%s' is not valid UTF-8", x->key);
      if (cJSON_AddStringToObject(m, x->key, x->value) == NULL) return fail(err, errlen, "out of memory");
    }
  }
  for (i = 0; i < h->ntensors; i++) {
    ln_StTensor *t = &h->tensors[i];
    cJSON *e, *s, *o;
    if (t->name == NULL || t->name[0] == '\0' || strcmp(t->name, "__metadata__") == 0)
      return fail(err, errlen, "tensor names must be non-empty strings other than __metadata__");
    if (!ln_st_utf8ok(t->name, strlen(t->name)))
      return fail(err, errlen, "tensor name '%s' is not valid UTF-8", t->name);
    if (t->i64) {
      t->numel = 1;
      t->begin = at;
      t->end = at = at + 8;
      e = cJSON_AddObjectToObject(root, t->name);
      if (e == NULL || cJSON_AddStringToObject(e, "dtype", "I64") == NULL ||
          cJSON_AddArrayToObject(e, "shape") == NULL || (o = cJSON_AddArrayToObject(e, "data_offsets")) == NULL ||
          !addu64(o, t->begin) || !addu64(o, t->end))
        return fail(err, errlen, "out of memory");
      continue;
    }
    if (t->ndim < 1 || t->ndim > LN_ST_MAXDIM)
      return fail(err, errlen, "tensor '%s' has %d dimensions (only 1 to %d supported)", t->name, t->ndim,
                  LN_ST_MAXDIM);
    t->numel = 1;
    for (k = 0; k < t->ndim; k++) {
      if (t->dims[k] == 0 || t->dims[k] > (UINT64_MAX / 4) / t->numel)
        return fail(err, errlen, "tensor '%s' has a bad size %d", t->name, k + 1);
      t->numel *= t->dims[k];
    }
    if (4 * t->numel > UINT64_MAX - at) return fail(err, errlen, "tensors too large");
    t->begin = at;
    t->end = at = at + 4 * t->numel;
    e = cJSON_AddObjectToObject(root, t->name);
    if (e == NULL || cJSON_AddStringToObject(e, "dtype", "F32") == NULL ||
        (s = cJSON_AddArrayToObject(e, "shape")) == NULL)
      return fail(err, errlen, "out of memory");
    for (k = 0; k < t->ndim; k++)
      if (!addu64(s, t->dims[k])) return fail(err, errlen, "out of memory");
    if ((o = cJSON_AddArrayToObject(e, "data_offsets")) == NULL || !addu64(o, t->begin) ||
        !addu64(o, t->end))
      return fail(err, errlen, "out of memory");
  }
  *data_len = at;
  return 0;
}

char *ln_st_format(ln_StHeader *h, size_t *len, uint64_t *data_len, char *err, size_t errlen) {
  cJSON *root = cJSON_CreateObject();
  char *s, *out;
  size_t n, padded;
  if (errlen > 0) err[0] = '\0';
  *len = 0;
  *data_len = 0;
  if (root == NULL) { fail(err, errlen, "out of memory"); return NULL; }
  if (build(root, h, data_len, err, errlen) != 0) { cJSON_Delete(root); return NULL; }
  s = cJSON_PrintUnformatted(root);
  cJSON_Delete(root);
  if (s == NULL) { fail(err, errlen, "out of memory"); return NULL; }
  n = strlen(s);
  padded = (n + LN_ST_ALIGN - 1) / LN_ST_ALIGN * LN_ST_ALIGN;
  out = (char *)malloc(padded + 1);
  if (out == NULL) { cJSON_free(s); fail(err, errlen, "out of memory"); return NULL; }
  memcpy(out, s, n);
  memset(out + n, ' ', padded - n);
  out[padded] = '\0';
  cJSON_free(s);
  *len = padded;
  return out;
}
