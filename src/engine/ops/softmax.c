/* ops/softmax.c: Softmax over each row (kernels.h ln_softmax_rows). */
#include "../op.h"
#include "../../kernels/kernels.h"

static int softmax_setup(ln_Node *n, const ln_OpSpec *s, char *err, size_t errlen) {
  (void)s; (void)err; (void)errlen;
  n->out = n->in;
  return 0;
}

static void softmax_forward(const ln_Node *n, size_t rows, const float *in, float *out, float *scratch) {
  (void)scratch;
  ln_softmax_rows(rows, n->in, in, out);
}

const ln_OpDef ln_op_softmax = { "Softmax", 0, { NULL }, softmax_setup, softmax_forward };
