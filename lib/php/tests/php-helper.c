/* php-helper.c - what the PHP binding's tests need to know from C.
 *
 *   php-helper layout           sizes, field offsets and constants of
 *                               include/warmth.h, one per line, for the
 *                               layout test of lib/php/src/warmth.ffi.h
 *   php-helper demand SHM SLOT  one demand slot of table SHM (read-only,
 *                               fetched from its coordinator like a worker,
 *                               lib/dsock.h), to check that touch() and
 *                               report() landed
 *
 * Exit status 0, or 2 with a message on stderr.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "dsock.h"
#include "layout.h"
#include "warmth.h"

#define FIELD(s, f)                                                            \
  printf("field %s %s %zu %zu\n", #s, #f, offsetof(struct s, f),               \
         sizeof(((struct s *)0)->f))

/* The struct may grow at its end (warmth.h): fail the build of this helper
 * when a field is appended to the header but not listed below, so the
 * layout test cannot pass on a partial list. */
#define ENDS_AT(s, f)                                                          \
  _Static_assert(((offsetof(struct s, f) + sizeof(((struct s *)0)->f) +        \
                   _Alignof(struct s) - 1) /                                   \
                  _Alignof(struct s) * _Alignof(struct s)) ==                  \
                     sizeof(struct s),                                         \
                 #f " is not the last field of struct " #s                     \
                    ": list the new fields here and in warmth.ffi.h")
ENDS_AT(warmth_model_info, warm_ttl_ms);
ENDS_AT(warmth_status, index_generation);

static void layout(void) {
  printf("sizeof warmth_model_info %zu\n", sizeof(struct warmth_model_info));
  FIELD(warmth_model_info, size);
  FIELD(warmth_model_info, state);
  FIELD(warmth_model_info, http_status);
  FIELD(warmth_model_info, name);
  FIELD(warmth_model_info, warm_until);
  FIELD(warmth_model_info, last_probe);
  FIELD(warmth_model_info, last_ok);
  FIELD(warmth_model_info, retry_after_until);
  FIELD(warmth_model_info, successes);
  FIELD(warmth_model_info, failures);
  FIELD(warmth_model_info, tokens_in);
  FIELD(warmth_model_info, tokens_out);
  FIELD(warmth_model_info, tokens_cached);
  FIELD(warmth_model_info, cost_nusd);
  FIELD(warmth_model_info, last_latency_us);
  FIELD(warmth_model_info, ewma_latency_us);
  FIELD(warmth_model_info, dns_us);
  FIELD(warmth_model_info, connect_us);
  FIELD(warmth_model_info, tls_us);
  FIELD(warmth_model_info, ttfb_us);
  FIELD(warmth_model_info, fails_in_row);
  FIELD(warmth_model_info, flags);
  FIELD(warmth_model_info, error_class);
  FIELD(warmth_model_info, endpoint);
  FIELD(warmth_model_info, headroom_requests);
  FIELD(warmth_model_info, headroom_tokens);
  FIELD(warmth_model_info, slot);
  FIELD(warmth_model_info, generation);
  FIELD(warmth_model_info, interval_ms);
  FIELD(warmth_model_info, warm_ttl_ms);

  printf("sizeof warmth_status %zu\n", sizeof(struct warmth_status));
  FIELD(warmth_status, size);
  FIELD(warmth_status, pid);
  FIELD(warmth_status, heartbeat_age_ns);
  FIELD(warmth_status, stale_after_ns);
  FIELD(warmth_status, created_ns);
  FIELD(warmth_status, retired);
  FIELD(warmth_status, stale);
  FIELD(warmth_status, models);
  FIELD(warmth_status, capacity);
  FIELD(warmth_status, index_generation);

  /* Every error code, from the header's own X-macro: a code added there
   * shows up here and fails the test until the PHP side has it too. */
#define ERR(name, num, msg) printf("error %s %d\n", #name, WARMTH_E##name);
  WARMTH_ERRNO_MAP(ERR)
#undef ERR
  printf("state UNKNOWN %d\nstate WARMING %d\nstate WARM %d\n", WARMTH_UNKNOWN,
         WARMTH_WARMING, WARMTH_WARM);
  printf("state FAILING %d\nstate IDLE %d\nstate DISABLED %d\n", WARMTH_FAILING,
         WARMTH_IDLE, WARMTH_DISABLED);
  printf("state_count %d\n", WARMTH_STATE_COUNT);
  printf("flag F_SLOW %u\nflag F_KEY_PROBLEM %u\nflag F_BUDGET %u\n",
         WARMTH_F_SLOW, WARMTH_F_KEY_PROBLEM, WARMTH_F_BUDGET);
  printf("flag F_PAUSED %u\nflag F_THROTTLED %u\nflag F_REAL_TRAFFIC %u\n",
         WARMTH_F_PAUSED, WARMTH_F_THROTTLED, WARMTH_F_REAL_TRAFFIC);
  printf("flag F_PREFIX_CACHED %u\nflag F_FLEET %u\n", WARMTH_F_PREFIX_CACHED,
         WARMTH_F_FLEET);
  printf("name_max %d\n", WARMTH_NAME_MAX);
  printf("version %s\n", WARMTH_VERSION_STRING);
}

/* The demand segment's descriptor, fetched as any worker fetches it
 * (lib/dsock.h), or -1. */
static int demand_fd(const char *shm) {
  int fd = shm_open(shm, O_RDONLY, 0);
  uint64_t id = 0;
  if (fd < 0 || pread(fd, &id, sizeof id,
                      offsetof(struct warmth__hdr, demand_id)) != sizeof id) {
    perror("php-helper: state segment");
    return -1;
  }
  close(fd);
  int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  struct sockaddr_un a;
  socklen_t alen = warmth__dsock_addr(id, &a);
  struct timeval tv = {5, 0};
  setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  struct warmth__dmsg m;
  struct iovec iov = {.iov_base = &m, .iov_len = sizeof m};
  union {
    struct cmsghdr h;
    char buf[CMSG_SPACE(sizeof(int))];
  } u;
  struct msghdr mh = {.msg_iov = &iov,
                      .msg_iovlen = 1,
                      .msg_control = u.buf,
                      .msg_controllen = sizeof u.buf};
  fd = -1;
  if (id && connect(s, (struct sockaddr *)&a, alen) == 0 &&
      recvmsg(s, &mh, MSG_CMSG_CLOEXEC) == (ssize_t)sizeof m &&
      m.status == WARMTH__DS_OK && CMSG_FIRSTHDR(&mh))
    memcpy(&fd, CMSG_DATA(CMSG_FIRSTHDR(&mh)), sizeof fd);
  close(s);
  if (fd < 0)
    fputs("php-helper: no demand segment from the coordinator\n", stderr);
  return fd;
}

static int demand(const char *shm, const char *slot_s) {
  int fd = demand_fd(shm);
  if (fd < 0)
    return 2;
  struct stat st;
  if (fstat(fd, &st) != 0 || (size_t)st.st_size < sizeof(struct warmth__dhdr)) {
    fputs("php-helper: demand segment too small\n", stderr);
    return 2;
  }
  void *m = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_SHARED, fd, 0);
  close(fd);
  if (m == MAP_FAILED) {
    perror("php-helper: mmap");
    return 2;
  }
  const struct warmth__dhdr *h = m;
  unsigned long slot = strtoul(slot_s, NULL, 10);
  if (slot >= h->capacity ||
      h->off_slots + (slot + 1) * sizeof(struct warmth__dslot) >
          (uint64_t)st.st_size) {
    fputs("php-helper: slot out of range\n", stderr);
    return 2;
  }
  const struct warmth__dslot *d =
      (const struct warmth__dslot *)((const char *)m + h->off_slots) + slot;
  printf("touches=%llu real_ok=%llu real_fail=%llu real_latency_us=%u\n",
         (unsigned long long)atomic_load(&d->touches),
         (unsigned long long)atomic_load(&d->real_ok),
         (unsigned long long)atomic_load(&d->real_fail),
         (unsigned)atomic_load(&d->real_latency_us));
  munmap(m, (size_t)st.st_size);
  return 0;
}

int main(int argc, char **argv) {
  if (argc == 2 && strcmp(argv[1], "layout") == 0) {
    layout();
    return 0;
  }
  if (argc == 4 && strcmp(argv[1], "demand") == 0)
    return demand(argv[2], argv[3]);
  fputs("usage: php-helper layout | php-helper demand SHM SLOT\n", stderr);
  return 2;
}
