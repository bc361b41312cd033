/* test/export_c_driver.c: runs a network exported by Model:export_c (name
** "net") on rows read from a file of float32 values and writes its outputs:
**   driver IN OUT ROWS  (test/export_c.lua builds and runs it) */
#include <stdio.h>
#include <stdlib.h>
#include "net.h"

int main(int argc, char **argv) {
  size_t rows;
  float *x, *out, scratch[NET_SCRATCH];
  FILE *f;
  if (argc != 4) return 2;
  rows = (size_t)strtoul(argv[3], NULL, 10);
  x = malloc(rows * NET_INPUTS * sizeof *x);
  out = malloc(rows * NET_OUTPUTS * sizeof *out);
  if (x == NULL || out == NULL || (f = fopen(argv[1], "rb")) == NULL) return 1;
  if (fread(x, sizeof *x, rows * NET_INPUTS, f) != rows * NET_INPUTS) return 1;
  fclose(f);
  net_predict(x, rows, out, scratch);
  if ((f = fopen(argv[2], "wb")) == NULL || fwrite(out, sizeof *out, rows * NET_OUTPUTS, f) != rows * NET_OUTPUTS)
    return 1;
  fclose(f);
  free(x);
  free(out);
  return 0;
}
