/*
** net.c: see net.h.
*/
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cJSON.h"
#include "net.h"
#include "../kernels/kernels.h"
#include "../kernels/st_format.h"

/* ============================================================ parsing */

/* the number `key` of a cJSON object entry (ln_OpSpec.number) */
static int jsonnumber(const ln_OpSpec *s, const char *key, double *v) {
  const cJSON *item = cJSON_GetObjectItemCaseSensitive((const cJSON *)s->entry, key);
  if (!cJSON_IsNumber(item)) return 0;
  *v = item->valuedouble;
  return 1;
}

/* element idx of the entry's list key (ln_OpSpec.element) */
static int jsonelement(const ln_OpSpec *s, const char *key, int idx, double *v) {
  const cJSON *list = cJSON_GetObjectItemCaseSensitive((const cJSON *)s->entry, key);
  const cJSON *item = cJSON_IsArray(list) ? cJSON_GetArrayItem(list, idx) : NULL;
  if (!cJSON_IsNumber(item)) return 0;
  *v = item->valuedouble;
  return 1;
}

/* the entry's string key (ln_OpSpec.string) */
static const char *jsonstring(const ln_OpSpec *s, const char *key) {
  const cJSON *item = cJSON_GetObjectItemCaseSensitive((const cJSON *)s->entry, key);
  return cJSON_IsString(item) ? item->valuestring : NULL;
}

/* the tensor of the header named name, or NULL */
static const ln_StTensor *findtensor(const ln_StHeader *h, const char *name) {
  size_t i;
  for (i = 0; i < h->ntensors; i++)
    if (strcmp(h->tensors[i].name, name) == 0) return &h->tensors[i];
  return NULL;
}

/* n little-endian float32 values from src into dst */
static void getfloats(float *dst, const unsigned char *src, size_t n) {
  const uint32_t one = 1;
  if (*(const unsigned char *)&one == 1) memcpy(dst, src, n * sizeof(float));
  else {
    size_t i;
    for (i = 0; i < n; i++) {
      uint32_t u = (uint32_t)src[4 * i] | (uint32_t)src[4 * i + 1] << 8 | (uint32_t)src[4 * i + 2] << 16 |
                   (uint32_t)src[4 * i + 3] << 24;
      memcpy(dst + i, &u, sizeof u);
    }
  }
}

/* "Dense(784 -> 128)" or the kind's name */
static const char *describe(const ln_Node *nd, char *buf, size_t n) {
  if (nd->op == &ln_op_dense) snprintf(buf, n, "Dense(%zu -> %zu)", nd->in, nd->out);
  else snprintf(buf, n, "%s", nd->op->name);
  return buf;
}

/* the nodes of the architecture's layer list, sizes chained and checked;
** 0, or -1 with a reason */
static int buildnodes(ln_Net *net, const cJSON *layers, char *err, size_t errlen) {
  int i, first = -1;
  size_t prev = 0;
  char e[160], d1[64], d2[64];
  for (i = 0; i < net->n; i++) {
    const cJSON *entry = cJSON_GetArrayItem(layers, i);
    const cJSON *type = cJSON_GetObjectItemCaseSensitive(entry, "type");
    ln_Node *nd = &net->node[i];
    ln_OpSpec spec;
    if (!cJSON_IsObject(entry) || !cJSON_IsString(type)) {
      snprintf(err, errlen, "layer %d is not an object with a type", i + 1);
      return -1;
    }
    if (strcmp(type->valuestring, "Lua") == 0) {
      const cJSON *name = cJSON_GetObjectItemCaseSensitive(entry, "name");
      snprintf(err, errlen, "layer %d is a Lua layer (%s): the C API runs built-in layers only", i + 1,
               cJSON_IsString(name) ? name->valuestring : "?");
      return -1;
    }
    nd->op = ln_op_find(type->valuestring);
    if (nd->op == NULL) {
      snprintf(err, errlen, "layer %d has unknown type %.40s", i + 1, type->valuestring);
      return -1;
    }
    spec.entry = entry;
    spec.number = jsonnumber;
    spec.element = jsonelement;
    spec.string = jsonstring;
    nd->in = prev;
    if (i > 0) { /* the previous node's row shape */
      nd->ind = net->node[i - 1].ond;
      memcpy(nd->ishape, net->node[i - 1].oshape, sizeof nd->ishape);
    }
    if (nd->op->setup(nd, &spec, e, sizeof e) != 0) {
      snprintf(err, errlen, "layer %d (%s): %s", i + 1, nd->op->name, e);
      return -1;
    }
    if (prev != 0 && nd->in != prev) {
      snprintf(err, errlen, "layer %d (%s) expects %zu inputs but layer %d (%s) gives %zu", i + 1,
               describe(nd, d1, sizeof d1), nd->in, i, describe(&net->node[i - 1], d2, sizeof d2), prev);
      return -1;
    }
    if (nd->in != 0 && first < 0) first = i;
    prev = nd->out;
  }
  if (first < 0) {
    snprintf(err, errlen, "no layer fixes the input width (the C API needs a Dense layer)");
    return -1;
  }
  for (i = 0; i < first; i++) net->node[i].in = net->node[i].out = net->node[first].in;
  net->inputs = net->node[0].in;
  net->outputs = net->node[net->n - 1].out;
  for (i = 0; i < net->n; i++) {
    if (net->node[i].in > net->maxw) net->maxw = net->node[i].in;
    if (net->node[i].out > net->maxw) net->maxw = net->node[i].out;
  }
  if (net->maxw > LN_NET_MAXW) {
    snprintf(err, errlen, "a row of %zu values is more than the C API takes (%zu)", net->maxw, (size_t)LN_NET_MAXW);
    return -1;
  }
  for (i = 0; i < net->n; i++)
    if (net->node[i].scratch > LN_NET_MAXW * (size_t)LN_NET_BLOCK) {
      snprintf(err, errlen, "layer %d (%s) needs more scratch than the C API takes", i + 1, net->node[i].op->name);
      return -1;
    }
  /* rows a block: 256, fewer (a multiple of LN_GEMM_MB) for wide rows, so a
  ** part's three buffers stay near 12 MB; scratch for the widest need */
  net->block = LN_NET_BLOCK;
  while (net->block > LN_GEMM_MB && net->block * net->maxw > ((size_t)1 << 20)) net->block -= LN_GEMM_MB;
  net->scratch = net->block * net->maxw;
  for (i = 0; i < net->n; i++)
    if (net->node[i].scratch > net->scratch) net->scratch = net->node[i].scratch;
  return 0;
}

/* does the file's tensor t have the nd sizes dims (and F32 values)? */
static int sameshape(const ln_StTensor *t, int nd, const size_t *dims) {
  int k;
  if (t->i64 || t->ndim != nd) return 0;
  for (k = 0; k < nd; k++)
    if (t->dims[k] != (uint64_t)dims[k]) return 0;
  return 1;
}

/* "2x3x3" of sizes (an I64 scalar: "[]") */
static char *dimstr(int nd, const uint64_t *dims, char *buf) {
  int k, at = 0;
  buf[0] = '\0';
  if (nd == 0) return strcpy(buf, "[]");
  for (k = 0; k < nd && k < 4; k++) at += snprintf(buf + at, (size_t)(96 - at), k ? "x%llu" : "%llu",
                                                    (unsigned long long)dims[k]);
  return buf;
}

static char *dimstr64(int nd, const size_t *dims, char *buf) {
  uint64_t d[4];
  int k;
  for (k = 0; k < nd && k < 4; k++) d[k] = dims[k];
  return dimstr(nd, d, buf);
}

/* each node's parameters from the file's tensors (layers.<i>.<name>) */
static int loadparams(ln_Net *net, const ln_StHeader *h, const unsigned char *data, char *err, size_t errlen) {
  int i, k;
  char name[64], d[64];
  for (i = 0; i < net->n; i++) {
    ln_Node *nd = &net->node[i];
    for (k = 0; k < nd->op->nparams; k++) {
      const ln_StTensor *t;
      snprintf(name, sizeof name, "layers.%d.%s", i + 1, nd->op->params[k]);
      t = findtensor(h, name);
      if (t == NULL) {
        snprintf(err, errlen, "tensor '%s' is missing (layer %d, %s)", name, i + 1, describe(nd, d, sizeof d));
        return -1;
      }
      if (!sameshape(t, nd->pnd[k], nd->pdims[k])) {
        char want[96], got[96];
        snprintf(err, errlen, "tensor '%s' is %s, layer %d (%s) needs %s", name, dimstr(t->ndim, t->dims, got),
                 i + 1, describe(nd, d, sizeof d), dimstr64(nd->pnd[k], nd->pdims[k], want));
        return -1;
      }
      nd->param[k] = (float *)malloc((size_t)t->numel * sizeof(float) + 1);
      if (nd->param[k] == NULL) {
        snprintf(err, errlen, "out of memory for tensor '%s'", name);
        return -1;
      }
      getfloats(nd->param[k], data + t->begin, (size_t)t->numel);
    }
  }
  return 0;
}

ln_Net *ln_net_parse(const void *bytes, size_t n, char *err, size_t errlen) {
  const unsigned char *b = (const unsigned char *)bytes;
  uint64_t hlen;
  ln_StHeader h;
  cJSON *arch = NULL;
  const cJSON *layers;
  const char *model = NULL;
  ln_Net *net = NULL;
  size_t i;
  char e[256];
  memset(&h, 0, sizeof h);
  if (bytes == NULL || n < 8) {
    snprintf(err, errlen, "not a model file: %zu bytes", bytes == NULL ? (size_t)0 : n);
    return NULL;
  }
  hlen = ln_st_getu64le(b);
  if (hlen > LN_ST_MAXHEADER || hlen > n - 8) {
    snprintf(err, errlen, "not a model file: header length %llu beyond the %zu bytes", (unsigned long long)hlen, n);
    return NULL;
  }
  if (ln_st_parse((const char *)b + 8, (size_t)hlen, (uint64_t)(n - 8 - (size_t)hlen), &h, e, sizeof e) != 0) {
    snprintf(err, errlen, "bad safetensors header: %s", e);
    return NULL;
  }
  for (i = 0; i < h.nmeta; i++)
    if (strcmp(h.meta[i].key, "lunet.model") == 0) model = h.meta[i].value;
  if (model == NULL) {
    snprintf(err, errlen, "no lunet model metadata (a file from save_parameters?)");
    goto fail;
  }
  arch = cJSON_ParseWithLength(model, strlen(model));
  layers = cJSON_GetObjectItemCaseSensitive(arch, "layers");
  if (!cJSON_IsArray(layers) || cJSON_GetArraySize(layers) < 1 || cJSON_GetArraySize(layers) > LN_NET_MAXLAYERS) {
    snprintf(err, errlen, "bad model metadata: no list of 1 to %d layers", LN_NET_MAXLAYERS);
    goto fail;
  }
  net = (ln_Net *)calloc(1, sizeof *net);
  if (net != NULL) {
    net->n = cJSON_GetArraySize(layers);
    net->node = (ln_Node *)calloc((size_t)net->n, sizeof *net->node);
  }
  if (net == NULL || net->node == NULL) {
    snprintf(err, errlen, "out of memory");
    goto fail;
  }
  if (buildnodes(net, layers, err, errlen) != 0) goto fail;
  if (loadparams(net, &h, b + 8 + hlen, err, errlen) != 0) goto fail;
  cJSON_Delete(arch);
  ln_st_free(&h);
  return net;
fail:
  cJSON_Delete(arch);
  ln_st_free(&h);
  ln_net_destroy(net);
  return NULL;
}

/* ============================================================ running */

typedef struct Run {
  ln_Net *net;
  const float *x;
  float *out;
  size_t rows, chunk;  /* each part's rows: chunk of them, a multiple of LN_GEMM_MB */
} Run;

/* rows [r0, r1) through every node, in blocks, with part's buffers */
static void runrows(const ln_Net *net, int part, const float *x, float *out, size_t r0, size_t r1) {
  size_t blk = net->block * net->maxw, s;
  float *a = net->buf + (size_t)part * (2 * blk + net->scratch), *b = a + blk, *scratch = b + blk;
  for (s = r0; s < r1; s += net->block) {
    size_t m = r1 - s < net->block ? r1 - s : net->block;
    const float *in = x + s * net->inputs;
    int i;
    for (i = 0; i < net->n; i++) {
      const ln_Node *nd = &net->node[i];
      float *dst = i == net->n - 1 ? out + s * net->outputs : in == a ? b : a;
      nd->op->forward(nd, m, in, dst, scratch);
      in = dst;
    }
  }
}

/* a part of a prediction */
static void runpart(ln_Pool *p, void *arg, int part, int parts) {
  const Run *r = (const Run *)arg;
  size_t r0 = (size_t)part * r->chunk, r1 = r0 + r->chunk;
  (void)p; (void)parts;
  if (r0 >= r->rows) return;
  if (r1 > r->rows) r1 = r->rows;
  runrows(r->net, part, r->x, r->out, r0, r1);
}

/* room in net->buf for parts parts; 0, or -1 */
static int reserve(ln_Net *net, int parts) {
  float *nb;
  if (net->bufparts >= parts) return 0;
  nb = (float *)realloc(net->buf, (size_t)parts * (2 * net->block * net->maxw + net->scratch) * sizeof(float));
  if (nb == NULL) return -1;
  net->buf = nb;
  net->bufparts = parts;
  return 0;
}

int ln_net_run(ln_Net *net, const float *x, size_t rows, float *out, int threads, char *err, size_t errlen) {
  Run r;
  int parts = 1;
  size_t blocks = (rows + LN_GEMM_MB - 1) / LN_GEMM_MB;
  if (rows == 0) return 0;
  if (threads > LN_MAXTHREADS) threads = LN_MAXTHREADS;
  if (threads >= 2 && blocks >= 2) { /* the pool, (re)started for this thread count */
    if (net->poolparts != threads) {
      ln_pool_stop(&net->pool);
      net->poolparts = 0;
      if (ln_pool_start(&net->pool, threads) == 0) net->poolparts = threads;
    }
    parts = ln_pool_parts(net->poolparts ? &net->pool : NULL);
  }
  if (reserve(net, parts) != 0) {
    snprintf(err, errlen, "out of memory for %d parts of %zu x %zu floats", parts, net->block * 3, net->maxw);
    return -1;
  }
  r.net = net;
  r.x = x;
  r.out = out;
  r.rows = rows;
  r.chunk = (blocks + (size_t)parts - 1) / (size_t)parts * LN_GEMM_MB;
  if (parts == 1) runpart(NULL, &r, 0, 1);
  else {
    int blas = ln_gemm_threads();
    if (blas != 1) ln_gemm_set_threads(1);
    ln_pool_run(&net->pool, runpart, &r);
    ln_pool_park(&net->pool); /* no thread spins once the call returns */
    if (blas != 1) ln_gemm_set_threads(blas);
  }
  return 0;
}

void ln_net_destroy(ln_Net *net) {
  int i, k;
  if (net == NULL) return;
  ln_pool_stop(&net->pool);
  for (i = 0; net->node != NULL && i < net->n; i++)
    for (k = 0; k < LN_OP_MAXPARAMS; k++) free(net->node[i].param[k]);
  free(net->node);
  free(net->buf);
  free(net);
}
