/* fuzz_ctlproto.c - libFuzzer target for the control-message decoder
 * (tools/common/ctlproto.c): any bytes as a request payload and as a reply
 * payload.  A request that decodes must survive a round trip unchanged;
 * anything else must be refused with a reason, never crash or leak.
 * Built and run by tests/fuzz/run.sh. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ctlproto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const char *buf = (const char *)data;
  struct wctl_req r, again;
  char why[160];
  int st = wctl_req_decode(buf, size, &r, why, sizeof why);
  if (st != WCTL_OK && !why[0])
    abort(); /* every refusal names its reason */
  if (st == WCTL_OK) {
    msgpack_sbuffer b;
    msgpack_sbuffer_init(&b);
    if (wctl_req_encode(&r, &b) != 0 ||
        wctl_get_len((unsigned char *)b.data) != b.size - WCTL_HEADER ||
        wctl_req_decode(b.data + WCTL_HEADER, b.size - WCTL_HEADER, &again, why,
                        sizeof why) != WCTL_OK ||
        again.version != r.version || again.seq != r.seq ||
        again.cmd != r.cmd || again.has_model != r.has_model ||
        strcmp(again.model, r.model) != 0)
      abort();
    msgpack_sbuffer_destroy(&b);
  }
  msgpack_unpacked u;
  msgpack_unpacked_init(&u);
  struct wctl_reply rep;
  if (wctl_reply_decode(buf, size, &u, &rep, why, sizeof why) == 0) {
    const msgpack_object *e = wctl_map_get(rep.fields, "error");
    if (e && e->type == MSGPACK_OBJECT_STR && e->via.str.size > size)
      abort();
  }
  msgpack_unpacked_destroy(&u);
  return 0;
}
