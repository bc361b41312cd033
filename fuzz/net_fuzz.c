/*
** net_fuzz.c: libFuzzer target for the C API's model reader
** (ln_net_load_memory: src/engine/net.c over st_format.c and cJSON).  The
** input is a whole model file, as Model:save writes it; a program that
** embeds lunet may load such files from anywhere.  Properties: a refused file
** leaves a reason that starts "ln_net_load_memory: "; a loaded net has
** positive sizes and predicts rows (all zeros, then the input's own bytes
** read as floats) without a fault, on one thread and on two.
*/
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "lunet_c.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void die(const char *what) {
  fprintf(stderr, "net_fuzz: %s (%s)\n", what, ln_last_error());
  abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  ln_net *net = ln_net_load_memory(data, size);
  size_t in, out, rows = 3, i;
  float *x, *y;
  int t;
  if (net == NULL) {
    if (strncmp(ln_last_error(), "ln_net_load_memory: ", 20) != 0) die("refused without the prefix");
    return 0;
  }
  in = ln_net_inputs(net);
  out = ln_net_outputs(net);
  if (in == 0 || out == 0) die("a net with no inputs or outputs");
  if (in > ((size_t)1 << 22) || out > ((size_t)1 << 22)) { ln_net_free(net); return 0; } /* memory only */
  x = (float *)calloc(rows * in, sizeof *x);
  y = (float *)malloc(rows * out * sizeof *y);
  if (x == NULL || y == NULL) die("out of memory");
  for (t = 1; t <= 2; t++) {
    ln_set_threads(t);
    if (ln_net_predict(net, x, rows, y) != 0) die("predict failed on zeros");
  }
  for (i = 0; i < rows * in && i * sizeof(float) + sizeof(float) <= size; i++) memcpy(&x[i], data + i * 4, 4);
  if (ln_net_predict(net, x, rows, y) != 0) die("predict failed");
  free(x);
  free(y);
  ln_net_free(net);
  return 0;
}
