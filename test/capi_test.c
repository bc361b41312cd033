/*
** test/capi_test.c DIR: the C API (src/lunet_c.h) against Lua.  For each
** model named in DIR/models.txt (made by test/capi_models.lua), loads
** DIR/<name>.safetensors from its path and from memory and checks that
** ln_net_predict on the rows X of DIR/<name>.data.safetensors gives Lua's
** predictions Y bit for bit: all rows, one row, 7 rows from row 6, on 1, 2,
** 3 and 8 threads.  Then the errors: a missing file, garbage, a truncated
** file, a Lua layer, NULL arguments.  Ends with "N passed, N failed".
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "lunet_c.h"
#include "kernels/st_format.h"

static int passed, failed;

static void check(int ok, const char *what, const char *name) {
  if (ok) passed++;
  else {
    failed++;
    printf("FAILED: %s: %s (%s)\n", name, what, ln_last_error());
  }
}

/* the whole file, or NULL */
static unsigned char *slurp(const char *path, size_t *n) {
  FILE *f = fopen(path, "rb");
  unsigned char *b;
  long len;
  if (f == NULL) return NULL;
  fseek(f, 0, SEEK_END);
  len = ftell(f);
  fseek(f, 0, SEEK_SET);
  b = (unsigned char *)malloc((size_t)len + 1);
  if (b && fread(b, 1, (size_t)len, f) != (size_t)len) { free(b); b = NULL; }
  fclose(f);
  *n = (size_t)len;
  return b;
}

/* tensor `name` (F32, little-endian host) of a safetensors file's bytes:
** a malloc'd copy, its rows and columns */
static float *tensor(const unsigned char *b, size_t n, const char *name, size_t *rows, size_t *cols) {
  ln_StHeader h;
  char err[256];
  uint64_t hl = ln_st_getu64le(b);
  float *out = NULL;
  size_t i;
  if (ln_st_parse((const char *)b + 8, (size_t)hl, n - 8 - hl, &h, err, sizeof err) != 0) return NULL;
  for (i = 0; i < h.ntensors; i++)
    if (strcmp(h.tensors[i].name, name) == 0) {
      const ln_StTensor *t = &h.tensors[i];
      *rows = (size_t)t->dims[0];
      *cols = t->ndim > 1 ? (size_t)(t->numel / t->dims[0]) : 1;
      out = (float *)malloc((size_t)t->numel * sizeof(float));
      memcpy(out, b + 8 + hl + t->begin, (size_t)t->numel * sizeof(float));
    }
  ln_st_free(&h);
  return out;
}

/* predict rows [r0, r0 + m) and compare them with Y's */
static void compare(ln_net *net, const float *X, const float *Y, size_t r0, size_t m, const char *what,
                    const char *name) {
  size_t in = ln_net_inputs(net), out = ln_net_outputs(net);
  float *got = (float *)malloc(m * out * sizeof(float) + 1);
  int rc = ln_net_predict(net, X + r0 * in, m, got);
  check(rc == 0 && memcmp(got, Y + r0 * out, m * out * sizeof(float)) == 0, what, name);
  free(got);
}

static void model(const char *dir, const char *name) {
  char path[1024];
  size_t n, nd, rows, in, yr, yc;
  unsigned char *bytes, *data;
  float *X, *Y;
  ln_net *byfile, *bymem;
  int t;
  static const int threads[] = { 1, 2, 3, 8 };
  snprintf(path, sizeof path, "%s/%s.data.safetensors", dir, name);
  data = slurp(path, &nd);
  X = data ? tensor(data, nd, "X", &rows, &in) : NULL;
  Y = data ? tensor(data, nd, "Y", &yr, &yc) : NULL;
  check(X != NULL && Y != NULL && yr == rows, "reading X and Y", name);
  if (X == NULL || Y == NULL) return;
  snprintf(path, sizeof path, "%s/%s.safetensors", dir, name);
  byfile = ln_net_load(path);
  bytes = slurp(path, &n);
  bymem = ln_net_load_memory(bytes, n);
  free(bytes); /* the net keeps nothing of them */
  check(byfile != NULL && bymem != NULL, "loading", name);
  if (byfile && bymem) {
    check(ln_net_inputs(byfile) == in && ln_net_outputs(byfile) == yc, "inputs and outputs", name);
    for (t = 0; t < 4; t++) {
      ln_set_threads(threads[t]);
      compare(byfile, X, Y, 0, rows, "all rows", name);
      compare(bymem, X, Y, 0, rows, "all rows, loaded from memory", name);
      compare(byfile, X, Y, 0, 1, "one row", name);
      compare(byfile, X, Y, 5, 7, "7 rows from row 6", name);
    }
    printf("ok: %s (%zu rows, %zu -> %zu)\n", name, rows, in, yc);
  }
  ln_net_free(byfile);
  ln_net_free(bymem);
  free(X);
  free(Y);
  free(data);
}

/* a failing call and the words its error must contain */
static void fails(ln_net *net, const char *words, const char *what) {
  check(net == NULL && strstr(ln_last_error(), words) != NULL, what, words);
  ln_net_free(net);
}

int main(int argc, char **argv) {
  char path[1024], line[256];
  FILE *list;
  size_t n;
  unsigned char *bytes;
  static const unsigned char junk[] = "this is not a model file at all";
  float x[4] = { 0 }, y[4];
  if (argc != 2) { fprintf(stderr, "usage: capi_test DIR\n"); return 2; }
  snprintf(path, sizeof path, "%s/models.txt", argv[1]);
  list = fopen(path, "r");
  if (list == NULL) { fprintf(stderr, "capi_test: no %s\n", path); return 2; }
  while (fgets(line, sizeof line, list)) {
    line[strcspn(line, "\n")] = '\0';
    if (line[0]) model(argv[1], line);
  }
  fclose(list);
  /* errors */
  fails(ln_net_load("/nonexistent/model.safetensors"), "No such file", "missing file");
  fails(ln_net_load("/"), "/", "a directory");
  fails(ln_net_load_memory(junk, sizeof junk), "ln_net_load_memory: ", "garbage");
  fails(ln_net_load_memory(NULL, 0), "not a model file", "NULL bytes");
  snprintf(path, sizeof path, "%s/lua.safetensors", argv[1]);
  fails(ln_net_load(path), "layer 2 is a Lua layer (capi.Identity)", "a Lua layer");
  snprintf(path, sizeof path, "%s/mlp.safetensors", argv[1]);
  bytes = slurp(path, &n);
  fails(ln_net_load_memory(bytes, n / 2), "ln_net_load_memory: ", "half a file");
  fails(ln_net_load_memory(bytes, 100), "ln_net_load_memory: ", "100 bytes");
  free(bytes);
  check(ln_net_predict(NULL, x, 1, y) == -1 && strstr(ln_last_error(), "net is NULL") != NULL, "NULL net", "predict");
  ln_set_threads(0);
  check(strstr(ln_last_error(), "1..1024, got 0") != NULL, "threads 0", "ln_set_threads");
  ln_set_threads(2);
  printf("%d passed, %d failed\n", passed, failed);
  return failed ? 1 : 0;
}
