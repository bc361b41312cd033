/* ops/dense.c: the Dense layer, out = in @ weights + biases (nn.h). */
#include <math.h>
#include <stdio.h>
#include "../op.h"
#include "../../kernels/nn.h"

/* a positive integer size of the entry, or -1 with a reason */
static int size(const ln_OpSpec *s, const char *key, size_t *v, char *err, size_t errlen) {
  double d;
  if (!s->number(s, key, &d) || !(d >= 1 && d <= 1099511627776.0) || d != floor(d)) {
    snprintf(err, errlen, "%s must be a positive integer", key);
    return -1;
  }
  *v = (size_t)d;
  return 0;
}

static int dense_setup(ln_Node *n, const ln_OpSpec *s, char *err, size_t errlen) {
  size_t in, out;
  if (size(s, "n_inputs", &in, err, errlen) || size(s, "n_neurons", &out, err, errlen)) return -1;
  n->in = in;
  n->out = out;
  n->pnd[0] = n->pnd[1] = 2;
  n->pdims[0][0] = in;
  n->pdims[0][1] = out;
  n->pdims[1][0] = 1;
  n->pdims[1][1] = out;
  return 0;
}

/* exactly Dense:forward's arithmetic (the split sum from 256 inputs) */
static void dense_forward(const ln_Node *n, size_t rows, const float *in, float *out, float *scratch) {
  ln_nn_dense_forward(rows, n->in, n->out, in, n->param[0], n->param[1], scratch, out);
}

const ln_OpDef ln_op_dense = { "Dense", 2, { "weights", "biases" }, dense_setup, dense_forward };
