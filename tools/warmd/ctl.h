/* ctl.h - warmd's control socket: control.c owns the socket, the threads,
 * framing and peer credentials; ctlcmd.c answers the commands (the
 * protocol itself: tools/common/ctlproto.h). */
#ifndef WARMD_CTL_H
#define WARMD_CTL_H

#include <stdatomic.h>

#include "ctlproto.h"
#include "daemon.h"

struct wd_control;
/* Listens on `path` (a Unix socket, mode 0660, group `group` if set:
 * its members may read); root, warmd's user and members of
 * `control_group` (if set) may also run mutating commands.  A thread
 * serves requests.  err says why on failure. */
int wd_control_start(struct wd_control **out, struct wd_daemon *d,
                     const char *path, const char *group,
                     const char *control_group, char *err, size_t errlen);
void wd_control_stop(struct wd_control *c);

/* How long `warm` waits beyond the model's timeout: the time for the main
 * loop to dispatch it (a tick) and for the publisher to show the result (a
 * tick), with room for a loaded machine. */
#define WD_CTL_WARM_MARGIN_NS (3 * WD_NS_PER_S)
/* How long pause/resume/reload wait for the main loop to act. */
#define WD_CTL_ACT_WAIT_NS (10 * WD_NS_PER_S)

/* Answers one valid request (decoded, authorised) with a whole reply
 * frame in out.  Called from a client thread registered with RCU; returns
 * early with WCTL_STOPPING once *stopping is set. */
void wd_ctl_answer(struct wd_daemon *d, const struct wctl_req *r,
                   const _Atomic int *stopping, msgpack_sbuffer *out);

#endif
