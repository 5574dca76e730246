/* ctlproto.h - the control protocol between warmd and warmctl: the one
 * place that numbers its commands, statuses and fields (after chrony's
 * candm.h), and the codec both sides use (ctlproto.c, msgpack-c).
 *
 * Transport: a SOCK_STREAM Unix socket.  Each message is a frame: a 4-byte
 * big-endian payload length, then that many bytes holding exactly one
 * msgpack object.  Requests are at most WCTL_MAX_REQUEST bytes, replies at
 * most WCTL_MAX_REPLY; a larger length is refused before a byte of the
 * payload is read.  Several requests may follow each other on one
 * connection; each gets exactly one reply, in order.
 *
 *   request: [version, seq, command, {field: value, ...}]
 *   reply:   [version, seq, status,  {field: value, ...}]
 *
 * version and command/status are unsigned integers, seq an unsigned integer
 * the client picks and the reply echoes (0 when the request was too broken
 * to read it), fields a map with string keys.  Every reply other than
 * WCTL_OK carries "error": a message naming what was wrong.
 *
 * A request is validated in this order before anything acts on it (see
 * wctl_req_decode): frame size, one well-formed msgpack object with no
 * trailing bytes (container counts checked against the bytes left before
 * msgpack-c allocates anything), a 4-element array, version, command in
 * range, then the command's fields: each key known for that command, its
 * type, its length, no duplicates, required ones present.
 *
 * Numbering rule: command, status and field names are only ever appended.
 * A number or a name is never reused or renumbered; a command whose request
 * or meaning changes gets a new number and the old one stays (or is
 * answered WCTL_BAD_COMMAND once removed).
 *
 * Versioning rule: WCTL_VERSION is bumped when a message changes in a way
 * a peer of the previous version would misread: a field removed or renamed,
 * a field's type, unit or meaning changed, a request field made required,
 * the framing changed.  It is NOT bumped for a new command, a new status or
 * a new reply field: clients ignore reply fields they do not know, and an
 * old warmd answers an unknown command WCTL_BAD_COMMAND.  Requests carry
 * no optional field a server might not know (it would be refused as
 * WCTL_BAD_FIELD), so a new request field means a new command.  warmd
 * accepts versions WCTL_VERSION_MIN..WCTL_VERSION and answers in the
 * version of the request; a refused version is answered with the server's
 * own in the "version" field.
 *
 * Changelog:
 *   1  (warmth 0.1.0) status, stats, warm, pause, resume, reload.
 *      Appended since (no bump, see above): status "fleet" (a map:
 *      state, name, host_id, redis, hosts, ...), stats "skipped_fleet"
 *      per model (fleet mode); status WCTL_RATE_LIMITED (warm, issue 12);
 *      stats "tokens_reasoning" and "tokens_cache_write" per model (parts
 *      of tokens_out and tokens_in); status "reachable" (models a models
 *      probe found listed).
 */
#ifndef WARMTH_CTLPROTO_H
#define WARMTH_CTLPROTO_H

#include <stddef.h>
#include <stdint.h>

#include <msgpack.h>

#include "util.h"
#include "warmth.h"

#define WCTL_VERSION 1
#define WCTL_VERSION_MIN 1

#define WCTL_HEADER 4              /* bytes of the length prefix */
#define WCTL_MAX_REQUEST 4096      /* the longest request is ~300 bytes */
#define WCTL_MAX_REPLY (16u << 20) /* stats of 10,000 models: ~3 MB */
#define WCTL_MAX_DEPTH 8           /* nesting of arrays and maps */

/* Also warmd's default in config.c ([warmd] control_socket); check_ctlproto
 * verifies the two agree. */
#define WCTL_DEFAULT_SOCKET WD_DEFAULT_SOCKET

/* Commands: append only. */
enum wctl_cmd {
  WCTL_CMD_STATUS = 1, /* read-only: daemon summary */
  WCTL_CMD_STATS = 2,  /* read-only: counters per model ("model" optional) */
  WCTL_CMD_WARM = 3,   /* mutating: warm "model" now, reply with the result */
  WCTL_CMD_PAUSE = 4,  /* mutating: stop warming "model" */
  WCTL_CMD_RESUME = 5, /* mutating: resume "model" (clears a key problem) */
  WCTL_CMD_RELOAD = 6, /* mutating: reload the config, as SIGHUP */
  WCTL_CMD__END        /* one past the last; moves as commands are added */
};

/* Statuses: append only. */
enum wctl_status {
  WCTL_OK = 0,
  WCTL_BAD_FRAME = 1,      /* not one msgpack [v, seq, cmd, {}], or too big */
  WCTL_BAD_VERSION = 2,    /* protocol version not supported */
  WCTL_BAD_COMMAND = 3,    /* unknown command number */
  WCTL_BAD_FIELD = 4,      /* a field missing, unknown, of the wrong type */
  WCTL_DENIED = 5,         /* mutating command from an unauthorised peer */
  WCTL_NO_MODEL = 6,       /* no such model in the running config */
  WCTL_WARMUP_FAILED = 7,  /* warm: the warmup ran and failed */
  WCTL_TIMEOUT = 8,        /* warm: no result within the model's timeout */
  WCTL_DISABLED = 9,       /* warm: model paused or with a key problem */
  WCTL_SKIPPED = 10,       /* warm: not sent (budget, throttled, ...) */
  WCTL_RELOAD_FAILED = 11, /* reload: new config refused, old one runs */
  WCTL_BUSY = 12,          /* too many clients at once: try again */
  WCTL_STOPPING = 13,      /* warmd is shutting down */
  WCTL_INTERNAL = 14,      /* out of memory or similar, on warmd's side */
  WCTL_RATE_LIMITED = 15,  /* warm: a forced warmup of it was sent lately */
  WCTL_STATUS__END
};

/* One line per status, for people ("permission denied"). */
const char *wctl_status_text(unsigned status);
/* Command name ("status"), or NULL when out of range. */
const char *wctl_cmd_name(unsigned cmd);
/* 1 for commands that change warmd (need root, warmd's user or
 * [warmd] control_group; the socket's group may only read). */
int wctl_cmd_mutating(unsigned cmd);

/* A decoded request.  Only the fields defined for its command are set. */
struct wctl_req {
  uint32_t version;
  uint64_t seq;
  uint32_t cmd;
  int has_model;
  char model[WARMTH_NAME_MAX + 1];
};

/* Checks that buf holds exactly one msgpack object, nested at most
 * WCTL_MAX_DEPTH deep, whose every array/map count and str/bin/ext length
 * fits in the bytes left (so decoding allocates at most a small multiple
 * of len).  0 or -1, with why. */
int wctl_mp_check(const char *buf, size_t len, char *why, size_t whylen);

/* Frame header: writes / reads the payload length. */
void wctl_put_len(unsigned char hdr[WCTL_HEADER], uint32_t len);
uint32_t wctl_get_len(const unsigned char hdr[WCTL_HEADER]);

/* Encodes a request as a whole frame (header + payload) into out (which
 * the caller initialised).  0, or -1 when a field is invalid. */
int wctl_req_encode(const struct wctl_req *r, msgpack_sbuffer *out);

/* Decodes and validates one request payload (without the header).
 * Returns WCTL_OK or the status to answer with, writing why (for the
 * "error" field).  r->seq is set as soon as it could be read (else 0), and
 * r->version likewise, so an error reply can echo them. */
int wctl_req_decode(const char *buf, size_t len, struct wctl_req *r, char *why,
                    size_t whylen);

/* Reply framing: wctl_reply_begin packs the header and the start of a map
 * of nfields fields into a fresh frame in out; the caller packs the fields
 * (key, value pairs) with pk; wctl_frame_finish fills in the length.
 * Returns -1 when the frame is larger than max. */
void wctl_reply_begin(msgpack_sbuffer *out, msgpack_packer *pk,
                      uint32_t version, uint64_t seq, unsigned status,
                      uint32_t nfields);
int wctl_frame_finish(msgpack_sbuffer *out, size_t max);
/* A reply with only "error" (and "version" for WCTL_BAD_VERSION). */
int wctl_reply_error(msgpack_sbuffer *out, uint32_t version, uint64_t seq,
                     unsigned status, const char *why);
/* Packs a string key / string value. */
void wctl_pack_str(msgpack_packer *pk, const char *s);

/* A decoded reply header; fields points into u (valid while u is). */
struct wctl_reply {
  uint32_t version;
  uint64_t seq;
  uint32_t status;
  const msgpack_object *fields; /* a map */
};
/* Decodes one reply payload into u (msgpack_unpacked_init'ed by the
 * caller, destroyed by the caller).  0 or -1 with why. */
int wctl_reply_decode(const char *buf, size_t len, msgpack_unpacked *u,
                      struct wctl_reply *r, char *why, size_t whylen);
/* The value of a string key in a map object, or NULL. */
const msgpack_object *wctl_map_get(const msgpack_object *map, const char *key);

#endif
