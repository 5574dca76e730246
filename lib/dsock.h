/* dsock.h - how a worker gets the demand segment: the protocol between the
 * reader (lib/reader.c) and the writer's demand server (lib/dsock.c).
 *
 * Why: the demand segment is the one thing workers write.  A named shared
 * memory file that workers may write can also be shrunk by them
 * (ftruncate), and every process that maps it then dies of SIGBUS at its
 * next access: warmd, every worker, and the children of a pre-fork master
 * that mapped it earlier.  File modes cannot forbid a shrink to someone who
 * may write.  So the demand segment is a memfd that the writer seals with
 * F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL before anyone else sees it: no
 * process, the writer included, can change its size any more, and no one
 * can add or remove a seal.  It has no name; a worker gets the descriptor
 * over a Unix socket (SCM_RIGHTS), and the writer decides who gets it.
 *
 * Finding the socket: the state segment header holds demand_id, a random
 * 64-bit id of the current demand segment (0: none).  The writer listens on
 * the abstract Unix socket named WARMTH__DSOCK_PREFIX followed by demand_id
 * in 16 lower-case hex digits (no NUL in the name, abstract namespace: no
 * file to create, nothing left behind when the writer dies).  The name is
 * unguessable before the writer binds it and changes with every demand
 * segment, so another user cannot squat it in advance; it is no secret
 * once bound (/proc/net/unix lists it), so access is decided by the peer's
 * credentials, and one who binds it after a writer died is refused by the
 * reader's check of the server's credentials below.  Abstract names belong to a network namespace: a
 * worker in another network namespace than warmd reads the table but gets
 * WARMTH_ENODEMAND for touch and report.
 *
 * Exchange (SOCK_STREAM): the client connects and sends nothing; the
 * server sends exactly one struct warmth__dmsg (16 bytes) and closes.  With
 * status WARMTH__DS_OK the message carries one descriptor (SCM_RIGHTS):
 * the sealed memfd of demand segment `demand_id`.  With WARMTH__DS_REFUSED
 * it carries none (the peer is not allowed to write demand).
 *
 * Who gets it (server side, from SO_PEERCRED and SO_PEERGROUPS as the
 * kernel recorded them at connect time): root, the writer's own uid, and
 * members of the segments' group (w_opts.group, else the writer's egid),
 * i.e. the same set that could open the group-writable named segment.
 *
 * What the reader checks before it maps a byte: the server's SO_PEERCRED
 * uid is the owner of the state segment (a squatter's fake is refused); the
 * message's magic, version and demand_id; exactly one descriptor; that
 * descriptor has all of F_SEAL_SHRINK, F_SEAL_GROW and F_SEAL_SEAL and the
 * exact size of the demand segment for this capacity; after mapping it,
 * the demand header (magic, ABI, layout) names the state segment's
 * instance and the same demand_id.
 *
 * Versioning rule: WARMTH__DS_VERSION is bumped on any change of the
 * message (size, a field, its meaning) or of the exchange; a reader
 * refuses a version it does not know (WARMTH_ENODEMAND).  The socket name
 * is derived from the header, which carries WARMTH__ABI: a change of the
 * name rule bumps WARMTH__ABI (layout.h).
 *
 * Changelog:
 *   1  (ABI 3) first version.
 */
#ifndef WARMTH_DSOCK_H
#define WARMTH_DSOCK_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/socket.h>
#include <sys/un.h>

#define WARMTH__DSOCK_PREFIX "warmth-demand-"
#define WARMTH__DS_MAGIC 0x44464457u /* "WDFD" little-endian */
#define WARMTH__DS_VERSION 1u

enum { WARMTH__DS_OK = 0, WARMTH__DS_REFUSED = 1 };

struct warmth__dmsg {
  uint32_t magic;   /* WARMTH__DS_MAGIC */
  uint16_t version; /* WARMTH__DS_VERSION */
  uint16_t status;  /* WARMTH__DS_OK / WARMTH__DS_REFUSED */
  uint64_t demand_id;
};

/* The abstract address of demand segment `id`: sun_path[0] is NUL, the name
 * follows without a terminating NUL.  Returns the address length. */
static inline socklen_t warmth__dsock_addr(uint64_t id, struct sockaddr_un *a) {
  char name[sizeof WARMTH__DSOCK_PREFIX + 16];
  int n = snprintf(name, sizeof name, WARMTH__DSOCK_PREFIX "%016llx",
                   (unsigned long long)id);
  *a = (struct sockaddr_un){.sun_family = AF_UNIX};
  __builtin_memcpy(a->sun_path + 1, name, (size_t)n);
  return (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + (size_t)n);
}

#endif /* WARMTH_DSOCK_H */
