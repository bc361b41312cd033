/*
** st_fuzz.c: libFuzzer target for the safetensors header parser
** (src/kernels/st_format.c).  The input is an 8-byte little-endian header
** length, the header JSON, then the data section, exactly a .safetensors
** file; the target reads it the way src/safetensors.c does.  A header that
** parses must format back into one that parses the same.
*/
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "st_format.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* abort with a message: libFuzzer records the input as a crash */
static void die(const char *what, const char *err) {
  fprintf(stderr, "st_fuzz: %s: %s\n", what, err);
  abort();
}

/* one file's worth of bytes through parse, format and parse again */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  ln_StHeader h, h2;
  char err[256];
  uint64_t hlen, dlen, dlen2;
  size_t len, i;
  char *s;
  if (size < 8) return 0;
  hlen = ln_st_getu64le(data);
  if (hlen > size - 8 || hlen > LN_ST_MAXHEADER) return 0;
  dlen = (uint64_t)(size - 8 - hlen);
  memset(&h, 0, sizeof h);
  if (ln_st_parse((const char *)data + 8, (size_t)hlen, dlen, &h, err, sizeof err) != 0) {
    if (err[0] == '\0') die("parse failed without a reason", "");
    ln_st_free(&h); /* must be safe on the emptied header */
    return 0;
  }
  for (i = 0; i < h.ntensors; i++) {
    const ln_StTensor *t = &h.tensors[i];
    if (t->end > dlen || t->begin > t->end || t->end - t->begin != t->numel * 4)
      die("accepted tensor outside the data section", t->name);
  }
  s = ln_st_format(&h, &len, &dlen2, err, sizeof err);
  if (s == NULL) die("format of a parsed header failed", err);
  if (len % LN_ST_ALIGN != 0 || dlen2 != dlen) die("formatted header", "bad length");
  memset(&h2, 0, sizeof h2);
  if (ln_st_parse(s, len, dlen2, &h2, err, sizeof err) != 0) die("reparse", err);
  if (h2.ntensors != h.ntensors || h2.nmeta != h.nmeta) die("reparse", "counts differ");
  ln_st_free(&h2);
  free(s);
  ln_st_free(&h);
  ln_st_free(&h); /* twice is documented as safe */
  return 0;
}
