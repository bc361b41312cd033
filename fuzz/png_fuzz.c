/*
** png_fuzz.c: libFuzzer target for the PNG decoder (src/kernels/png.c,
** libpng with lunet's limits and error handling).  The input is decoded
** from memory twice, in color and in gray, like lunet.image.load; the
** destination is allocated from the header only after the reader bounded
** it by the input's size.  Mutated chunks almost never keep a valid CRC,
** so a copy with every chunk's CRC recomputed is decoded as well: that
** reaches libpng's chunk handlers, the transforms and lunet's limits.
*/
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include "image.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* one decode's outcome: pixels (malloc'd) and their layout, or none */
typedef struct Decoded {
  float *px;
  size_t width, height, n;
  int channels;
} Decoded;

/* decode once; aborts on a broken contract */
static Decoded decode(const uint8_t *data, size_t size, int gray) {
  ln_PngReader r;
  Decoded d;
  memset(&d, 0, sizeof d);
  ln_png_init(&r);
  if (ln_png_open_mem(&r, data, size, gray) == 0) {
    size_t n = r.width * r.height * (size_t)r.channels;
    float *out;
    if (r.width == 0 || r.height == 0 || r.width > LN_PNG_MAXDIM || r.height > LN_PNG_MAXDIM) abort();
    if (r.channels != 1 && r.channels != 3 && r.channels != 4) abort();
    if (gray && r.channels != 1) abort();
    out = (float *)malloc(n * sizeof(float));
    if (out != NULL) {
      if (ln_png_read(&r, out) == 0) {
        size_t i;
        for (i = 0; i < n; i++)
          if (!(out[i] >= 0.0f && out[i] <= 255.0f)) abort();
        d.px = out; d.n = n; d.width = r.width; d.height = r.height; d.channels = r.channels;
      } else {
        if (r.err[0] == '\0') abort();
        free(out);
      }
    }
  } else if (r.err[0] == '\0') {
    abort();
  }
  ln_png_close(&r);
  ln_png_close(&r);
  return d;
}

/* big-endian 32-bit read and write */
static uint32_t get32(const uint8_t *p) {
  return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}
static void put32(uint8_t *p, uint32_t v) {
  p[0] = (uint8_t)(v >> 24); p[1] = (uint8_t)(v >> 16); p[2] = (uint8_t)(v >> 8); p[3] = (uint8_t)v;
}

/* recompute the CRC of every whole chunk after the 8-byte signature */
static void fix_crcs(uint8_t *p, size_t n) {
  size_t pos = 8;
  while (pos + 12 <= n) {
    uint32_t len = get32(p + pos);
    if (len > n - pos - 12) break;
    put32(p + pos + 8 + len, (uint32_t)crc32(0L, p + pos + 4, 4 + len));
    pos += 12 + (size_t)len;
  }
}

/* as given (color), then with fixed CRCs in color and gray */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  uint8_t *copy;
  free(decode(data, size, 0).px);
  copy = (uint8_t *)malloc(size ? size : 1);
  if (copy == NULL) return 0;
  memcpy(copy, data, size);
  fix_crcs(copy, size);
  free(decode(copy, size, 0).px);
  free(decode(copy, size, 1).px);
  free(copy);
  return 0;
}
