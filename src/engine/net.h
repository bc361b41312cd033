/*
** net.h: a network without Lua: the nodes of a model file (op.h), their
** parameters, and inference over any number of rows on the engine's
** threads.  Built from the bytes of a file that Model:save wrote (the
** safetensors layout with the architecture's JSON in its metadata, read
** with cJSON).  The C API (src/lunet_c.h) is a thin layer over this.
**
** Rows are independent in inference, so a prediction splits them between
** the threads at multiples of LN_GEMM_MB (kernels.h) and runs each part in
** blocks of LN_NET_BLOCK rows through every layer: every row is computed by
** the same calls as in Model:predict's one batch, so the outputs equal
** Lua's bit for bit whatever the thread count and the row count.
*/
#ifndef LUNET_NET_H
#define LUNET_NET_H

#include <stddef.h>
#include "op.h"
#include "pool.h"

#define LN_NET_BLOCK 256   /* rows per block of a part at most (a multiple of LN_GEMM_MB) */
#define LN_NET_MAXLAYERS 4096
#define LN_NET_MAXW ((size_t)1 << 28) /* values a row of any layer at most (1 GiB of floats) */

typedef struct ln_Net {
  int n;                   /* nodes */
  ln_Node *node;
  size_t inputs, outputs;  /* values per row */
  size_t maxw;             /* widest row of any node */
  size_t block;            /* rows a block (LN_NET_BLOCK, less for wide rows; a multiple of LN_GEMM_MB) */
  size_t scratch;          /* floats of a part's scratch (block x maxw, or a node's larger need) */
  float *buf;              /* per part: 2 blocks of block x maxw floats and the scratch */
  int bufparts;            /* parts buf has room for */
  ln_Pool pool;
  int poolparts;           /* parts the pool was started with (0: none) */
} ln_Net;

/* the network of a model file's bytes (n of them); NULL with a reason in
** err (errlen bytes) when they are not one, or hold a layer the engine has
** no op for (a Lua layer) */
ln_Net *ln_net_parse(const void *bytes, size_t n, char *err, size_t errlen);
/* out (rows x outputs) = the network on x (rows x inputs), on up to
** threads threads; 0, or -1 with a reason (out of memory) */
int ln_net_run(ln_Net *net, const float *x, size_t rows, float *out, int threads, char *err, size_t errlen);
/* release everything (NULL is fine) */
void ln_net_destroy(ln_Net *net);

#endif
