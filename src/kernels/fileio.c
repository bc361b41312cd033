/*
** fileio.c: see fileio.h.
*/
#if defined(__linux__) && !defined(_GNU_SOURCE)
#define _GNU_SOURCE /* O_TMPFILE */
#endif
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "fileio.h"

#ifndef O_CLOEXEC
#define O_CLOEXEC 0
#endif
#ifndef O_NOCTTY
#define O_NOCTTY 0
#endif

const char *ln_filekind(unsigned mode) {
  mode_t m = (mode_t)mode;
  if (S_ISFIFO(m)) return "a FIFO";
  if (S_ISCHR(m)) return "a character device";
  if (S_ISBLK(m)) return "a block device";
  if (S_ISSOCK(m)) return "a socket";
  if (S_ISDIR(m)) return "a directory";
  return "not a regular file";
}

/* the reason a file of st's kind cannot be read or saved: -1 */
static int notregular(const struct stat *st, char *err, size_t errlen) {
  if (S_ISDIR(st->st_mode)) snprintf(err, errlen, "%s", strerror(EISDIR));
  else snprintf(err, errlen, "not a regular file (%s)", ln_filekind((unsigned)st->st_mode));
  return -1;
}

/* openat(dirfd, path, flags | O_NONBLOCK, mode) without blocking (a FIFO
** without a peer would block forever), then only a regular file is kept and
** made blocking; the descriptor, or -1 with the reason in err */
static int openchecked(int dirfd, const char *path, int flags, mode_t mode, char *err, size_t errlen) {
  struct stat st;
  int fd, fl, e;
  do fd = openat(dirfd, path, flags | O_NONBLOCK | O_NOCTTY | O_CLOEXEC, mode);
  while (fd < 0 && errno == EINTR);
  if (fd < 0) {
    snprintf(err, errlen, "%s", strerror(errno));
    return -1;
  }
  if (fstat(fd, &st) != 0) goto syserr;
  if (!S_ISREG(st.st_mode)) {
    close(fd);
    return notregular(&st, err, errlen);
  }
  fl = fcntl(fd, F_GETFL);
  if (fl == -1 || fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) == -1) goto syserr;
  return fd;
syserr:
  e = errno;
  close(fd);
  snprintf(err, errlen, "%s", strerror(e));
  return -1;
}

int ln_open_regular(int dirfd, const char *path, char *err, size_t errlen) {
  return openchecked(dirfd, path, O_RDONLY, 0, err, errlen);
}

int ln_create_regular(const char *path, char *err, size_t errlen) {
  struct stat st;
  if (stat(path, &st) == 0 && !S_ISREG(st.st_mode)) return notregular(&st, err, errlen); /* before O_TRUNC */
  return openchecked(AT_FDCWD, path, O_WRONLY | O_CREAT | O_TRUNC, 0666, err, errlen);
}

/* ============================================================ atomic save */

void ln_atomic_init(ln_Atomic *a) {
  a->fd = -1;
  a->unnamed = 0;
  a->tmplive = 0;
  a->target[0] = a->tmp[0] = '\0';
}

/* the folder of path into buf ("." for a bare name); 0 or -1 (too long) */
static int dirof(const char *path, char *buf, size_t n) {
  const char *slash = strrchr(path, '/');
  size_t len;
  if (slash == NULL) { snprintf(buf, n, "."); return 0; }
  len = slash == path ? 1 : (size_t)(slash - path);
  if (len >= n) return -1;
  memcpy(buf, path, len);
  buf[len] = '\0';
  return 0;
}

/* path with its symlinks followed (at most 40, as the kernel does) into
** out: the file a save must replace, which may not exist yet */
static int resolve(const char *path, char *out, size_t n, char *err, size_t errlen) {
  char link[LN_PATHMAX], dir[LN_PATHMAX];
  int hops;
  if (strlen(path) >= n) { snprintf(err, errlen, "path too long"); return -1; }
  strcpy(out, path);
  for (hops = 0; hops < 40; hops++) {
    struct stat st;
    ssize_t k;
    if (lstat(out, &st) != 0 || !S_ISLNK(st.st_mode)) return 0;
    k = readlink(out, link, sizeof link - 1);
    if (k < 0) { snprintf(err, errlen, "%s", strerror(errno)); return -1; }
    link[k] = '\0';
    if (link[0] == '/') {
      if ((size_t)k >= n) { snprintf(err, errlen, "path too long"); return -1; }
      strcpy(out, link);
    } else { /* relative to the link's folder */
      int w;
      if (dirof(out, dir, sizeof dir) != 0) { snprintf(err, errlen, "path too long"); return -1; }
      w = snprintf(out, n, "%s/%s", dir, link);
      if (w < 0 || (size_t)w >= n) { snprintf(err, errlen, "path too long"); return -1; }
    }
  }
  snprintf(err, errlen, "%s", strerror(ELOOP));
  return -1;
}

/* "<dir>/.lunet-XXXXXX" into a->tmp */
static int tmpname(ln_Atomic *a, char *err, size_t errlen) {
  char dir[LN_PATHMAX];
  int w;
  if (dirof(a->target, dir, sizeof dir) != 0) { snprintf(err, errlen, "path too long"); return -1; }
  w = snprintf(a->tmp, sizeof a->tmp, "%s/.lunet-XXXXXX", dir);
  if (w < 0 || (size_t)w >= sizeof a->tmp) { snprintf(err, errlen, "path too long"); return -1; }
  return 0;
}

int ln_atomic_begin(ln_Atomic *a, const char *path, char *err, size_t errlen) {
  struct stat st;
  char dir[LN_PATHMAX];
  int exists;
  mode_t mode;
  ln_atomic_init(a);
  if (resolve(path, a->target, sizeof a->target, err, errlen) != 0) return -1;
  exists = stat(a->target, &st) == 0;
  if (exists && !S_ISREG(st.st_mode)) return notregular(&st, err, errlen); /* never a device, FIFO, folder */
  if (exists) mode = st.st_mode & 07777;
  else { mode_t um = umask(022); umask(um); mode = 0666 & ~um; }
  if (dirof(a->target, dir, sizeof dir) != 0) { snprintf(err, errlen, "path too long"); return -1; }
#ifdef O_TMPFILE
  /* the commit names the file through /proc/self/fd (linkat) */
  a->fd = access("/proc/self/fd", X_OK) == 0 ? open(dir, O_TMPFILE | O_WRONLY | O_CLOEXEC, mode) : -1;
  if (a->fd >= 0) {
    a->unnamed = 1;
    if (exists) (void)fchmod(a->fd, mode);
    return 0;
  }
  if (a->fd < 0 && errno != EOPNOTSUPP && errno != EISDIR && errno != EINVAL && errno != ENOENT) {
    snprintf(err, errlen, "%s", strerror(errno));
    return -1;
  }
#endif
  if (tmpname(a, err, errlen) != 0) return -1;
  a->fd = mkstemp(a->tmp);
  if (a->fd < 0) {
    snprintf(err, errlen, "%s", strerror(errno));
    return -1;
  }
  a->tmplive = 1;
  (void)fchmod(a->fd, mode);
  return 0;
}

/* fsync the folder holding path (best effort: makes the rename durable) */
static void syncdir(const char *path) {
  char dir[LN_PATHMAX];
  int fd;
  if (dirof(path, dir, sizeof dir) != 0) return;
  fd = open(dir, O_RDONLY | O_CLOEXEC);
  if (fd >= 0) { (void)fsync(fd); close(fd); }
}

int ln_atomic_commit(ln_Atomic *a, int fd, char *err, size_t errlen) {
  if (fsync(fd) != 0) { snprintf(err, errlen, "write failed: %s", strerror(errno)); return -1; }
  if (a->unnamed) { /* a short name for the unnamed file, then the rename */
    char proc[64];
    int tries;
    snprintf(proc, sizeof proc, "/proc/self/fd/%d", fd);
    for (tries = 0; tries < 100; tries++) {
      int t;
      if (tmpname(a, err, errlen) != 0) return -1;
      t = mkstemp(a->tmp); /* picks a free name; linkat needs it absent */
      if (t < 0) { snprintf(err, errlen, "cannot name the temporary file: %s", strerror(errno)); return -1; }
      close(t);
      unlink(a->tmp);
      if (linkat(AT_FDCWD, proc, AT_FDCWD, a->tmp, AT_SYMLINK_FOLLOW) == 0) break;
      if (errno != EEXIST) {
        snprintf(err, errlen, "cannot name the temporary file: %s", strerror(errno));
        return -1;
      }
    }
    if (tries == 100) { snprintf(err, errlen, "cannot name the temporary file"); return -1; }
    a->tmplive = 1;
  }
  if (rename(a->tmp, a->target) != 0) {
    snprintf(err, errlen, "cannot replace the file: %s", strerror(errno));
    return -1;
  }
  a->tmplive = 0;
  syncdir(a->target);
  return 0;
}

void ln_atomic_cancel(ln_Atomic *a) {
  if (a->fd >= 0) close(a->fd);
  a->fd = -1;
  if (a->tmplive) unlink(a->tmp);
  a->tmplive = 0;
}
