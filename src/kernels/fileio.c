/*
** fileio.c: see fileio.h.
*/
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
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

static int regular_or_close(int fd, char *err, size_t errlen);
static int blocking(int fd, char *err, size_t errlen);

int ln_open_regular(int dirfd, const char *path, char *err, size_t errlen) {
  int fd;
  do fd = openat(dirfd, path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
  while (fd < 0 && errno == EINTR);
  if (fd < 0) {
    snprintf(err, errlen, "%s", strerror(errno));
    return -1;
  }
  if (regular_or_close(fd, err, errlen) != 0 || blocking(fd, err, errlen) != 0) return -1;
  return fd;
}

/* 0 when fd is a regular file, else -1 with the reason in err (fd closed) */
static int regular_or_close(int fd, char *err, size_t errlen) {
  struct stat st;
  if (fstat(fd, &st) != 0) {
    int e = errno;
    close(fd);
    snprintf(err, errlen, "%s", strerror(e));
    return -1;
  }
  if (S_ISREG(st.st_mode)) return 0;
  close(fd);
  if (S_ISDIR(st.st_mode)) snprintf(err, errlen, "%s", strerror(EISDIR));
  else snprintf(err, errlen, "not a regular file (%s)", ln_filekind((unsigned)st.st_mode));
  return -1;
}

/* clear O_NONBLOCK on fd; 0, or -1 with the reason in err (fd closed) */
static int blocking(int fd, char *err, size_t errlen) {
  int fl = fcntl(fd, F_GETFL);
  if (fl == -1 || fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) == -1) {
    int e = errno;
    close(fd);
    snprintf(err, errlen, "%s", strerror(e));
    return -1;
  }
  return 0;
}

int ln_create_regular(const char *path, char *err, size_t errlen) {
  struct stat st;
  int fd;
  if (stat(path, &st) == 0 && !S_ISREG(st.st_mode)) { /* before O_TRUNC touches it */
    if (S_ISDIR(st.st_mode)) snprintf(err, errlen, "%s", strerror(EISDIR));
    else snprintf(err, errlen, "not a regular file (%s)", ln_filekind((unsigned)st.st_mode));
    return -1;
  }
  do fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_NONBLOCK | O_NOCTTY | O_CLOEXEC, 0666);
  while (fd < 0 && errno == EINTR);
  if (fd < 0) {
    snprintf(err, errlen, "%s", strerror(errno));
    return -1;
  }
  if (regular_or_close(fd, err, errlen) != 0 || blocking(fd, err, errlen) != 0) return -1;
  return fd;
}
