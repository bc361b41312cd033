/*
** lunet_c.h: lunet's C API, for programs without Lua (a game, a tool, an
** embedded device): load a model that Model:save wrote, predict, free.
**
**   ln_net *net = ln_net_load("model.safetensors");
**   if (net == NULL) { fprintf(stderr, "%s\n", ln_last_error()); return 1; }
**   float out[10];
**   ln_net_predict(net, pixels, 1, out);   (ln_net_inputs(net) floats per row in)
**   ln_net_free(net);
**
** Link: cc prog.c -Isrc build/liblunet.a -lpng -lz -lcjson -lm -lpthread
** (plus -lopenblas in the OpenBLAS build; `make capi` prints the line).
** Predictions equal Model:predict's in the same build bit for bit, on any
** thread count.  A net is used by one thread at a time; different nets may
** predict concurrently.  Every built-in layer runs, convolutional ones
** included (such a model starts with lunet.Input(c, h, w); a row is then c x
** h x w values).  Models holding Lua layers cannot be loaded here.
*/
#ifndef LUNET_C_H
#define LUNET_C_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ln_Net ln_net;

/* a file from model:save; NULL on failure (see ln_last_error) */
ln_net *ln_net_load(const char *path);
/* the same from memory (an embedded asset); the bytes may be freed after */
ln_net *ln_net_load_memory(const void *bytes, size_t n);
/* why the last call of this thread failed ("" when none did) */
const char *ln_last_error(void);
/* values per sample in and out */
size_t ln_net_inputs(const ln_net *net);
size_t ln_net_outputs(const ln_net *net);
/* out (rows x outputs) = the model on x (rows x inputs, row-major, not
** overlapping out); 0, or -1 (see ln_last_error) */
int ln_net_predict(ln_net *net, const float *x, size_t rows, float *out);
/* threads predictions may use, 1..1024 (default: the machine's cores);
** values outside are clamped and reported through ln_last_error */
void ln_set_threads(int n);
/* release a net (NULL is fine) */
void ln_net_free(ln_net *net);

#ifdef __cplusplus
}
#endif

#endif
