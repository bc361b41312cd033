/*
** idx_fuzz.c: libFuzzer target for the IDX reader (src/kernels/idx.c).
** The input is written to a private temporary file and read with
** ln_idx_open / ln_idx_read, as lunet.data.idx does; inputs that start
** with the gzip magic go through zlib.  The header parser is also driven
** directly on the bytes.  The destination is allocated only after the
** header was checked against the file's size, so a lying header must be
** rejected before the allocation (libFuzzer's -rss_limit_mb catches it).
*/
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "image.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* path of this process's scratch file (per pid: parallel jobs don't clash) */
static const char *scratch(char *buf, size_t n) {
  const char *dir = getenv("TMPDIR");
  snprintf(buf, n, "%s/lunet_idx_fuzz.%ld", dir && *dir ? dir : "/tmp", (long)getpid());
  return buf;
}

/* header parse on the raw bytes, then the whole reader on a file */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  ln_IdxReader r;
  char path[512];
  size_t need = 0;
  long h;
  FILE *fp;
  ln_idx_init(&r);
  h = ln_idx_parse(data, size, &r, &need);
  if (h == 0 && need <= size) abort();          /* asked for bytes it had */
  if (h > 0 && (size_t)h > size) abort();
  scratch(path, sizeof path);
  fp = fopen(path, "wb");
  if (fp == NULL) return 0;
  if (size && fwrite(data, 1, size, fp) != size) { fclose(fp); return 0; }
  fclose(fp);
  ln_idx_init(&r);
  if (ln_idx_open(&r, path) == 0) {
    /* bounded by the file: plain files exactly, gzip by deflate's ratio */
    float *out = (float *)malloc(r.count * sizeof(float));
    if (out != NULL) {
      if (ln_idx_read(&r, out) != 0 && r.err[0] == '\0') abort();
      free(out);
    }
  } else if (r.err[0] == '\0') {
    abort();
  }
  ln_idx_close(&r);
  ln_idx_close(&r);
  return 0;
}
