/* ops/softmax.c: Softmax over each row (kernels.h ln_softmax_rows). */
#include "../op.h"
#include "../../kernels/kernels.h"

static void softmax_forward(const ln_Node *n, size_t rows, const float *in, float *out, float *scratch) {
  (void)scratch;
  ln_softmax_rows(rows, n->in, in, out);
}

const ln_OpDef ln_op_softmax = { "Softmax", 0, { NULL }, ln_op_keepwidth, softmax_forward };
