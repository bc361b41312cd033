/*
** capi/lunet_c.c: the C API (src/lunet_c.h) over the engine's network
** (engine/net.h): file reading, the thread count, and each thread's last
** error.  No Lua.
*/
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "../lunet_c.h"
#include "../engine/net.h"
#include "../kernels/fileio.h"

#if defined(__GNUC__)
static __thread char lasterr[512];
#else
static char lasterr[512]; /* without thread-local storage: shared */
#endif

static int threads = 0; /* atomic; 0: the machine's cores */

/* set this thread's last error */
static void seterr(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(lasterr, sizeof lasterr, fmt, ap);
  va_end(ap);
}

const char *ln_last_error(void) { return lasterr; }

ln_net *ln_net_load_memory(const void *bytes, size_t n) {
  char err[400];
  ln_Net *net = ln_net_parse(bytes, n, err, sizeof err);
  if (net == NULL) seterr("ln_net_load_memory: %s", err);
  else lasterr[0] = '\0';
  return net;
}

ln_net *ln_net_load(const char *path) {
  char err[400];
  struct stat st;
  unsigned char *buf = NULL;
  size_t got = 0;
  ln_Net *net;
  int fd;
  if (path == NULL) { seterr("ln_net_load: path is NULL"); return NULL; }
  fd = ln_open_regular(AT_FDCWD, path, err, sizeof err);
  if (fd < 0) { seterr("ln_net_load: %s: %s", path, err); return NULL; }
  if (fstat(fd, &st) != 0 || st.st_size < 0) {
    seterr("ln_net_load: %s: %s", path, strerror(errno));
    close(fd);
    return NULL;
  }
  buf = (unsigned char *)malloc((size_t)st.st_size + 1);
  if (buf == NULL) { seterr("ln_net_load: %s: out of memory for %lld bytes", path, (long long)st.st_size); close(fd); return NULL; }
  while (got < (size_t)st.st_size) {
    ssize_t r = read(fd, buf + got, (size_t)st.st_size - got);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) {
      seterr("ln_net_load: %s: %s", path, r < 0 ? strerror(errno) : "the file shrank while read");
      free(buf);
      close(fd);
      return NULL;
    }
    got += (size_t)r;
  }
  close(fd);
  net = ln_net_parse(buf, got, err, sizeof err);
  free(buf);
  if (net == NULL) seterr("ln_net_load: %s: %s", path, err);
  else lasterr[0] = '\0';
  return net;
}

size_t ln_net_inputs(const ln_net *net) { return net ? net->inputs : 0; }
size_t ln_net_outputs(const ln_net *net) { return net ? net->outputs : 0; }

int ln_net_predict(ln_net *net, const float *x, size_t rows, float *out) {
  char err[400];
  int t = __atomic_load_n(&threads, __ATOMIC_RELAXED);
  if (net == NULL) { seterr("ln_net_predict: net is NULL"); return -1; }
  if (rows == 0) return 0;
  if (x == NULL || out == NULL) { seterr("ln_net_predict: %s is NULL", x == NULL ? "x" : "out"); return -1; }
  if (rows > ((size_t)1 << 40) / (net->inputs > net->outputs ? net->inputs : net->outputs)) {
    seterr("ln_net_predict: %zu rows of %zu values is more than a tensor holds", rows, net->inputs);
    return -1;
  }
  if ((const char *)x < (const char *)(out + rows * net->outputs) &&
      (const char *)out < (const char *)(x + rows * net->inputs)) {
    seterr("ln_net_predict: x and out overlap");
    return -1;
  }
  if (ln_net_run(net, x, rows, out, t > 0 ? t : (int)ln_ncores(), err, sizeof err) != 0) {
    seterr("ln_net_predict: %s", err);
    return -1;
  }
  return 0;
}

void ln_set_threads(int n) {
  if (n < 1 || n > LN_MAXTHREADS) {
    seterr("ln_set_threads: n must be in 1..%d, got %d (clamped)", LN_MAXTHREADS, n);
    n = n < 1 ? 1 : LN_MAXTHREADS;
  }
  __atomic_store_n(&threads, n, __ATOMIC_RELAXED);
}

void ln_net_free(ln_net *net) { ln_net_destroy(net); }
