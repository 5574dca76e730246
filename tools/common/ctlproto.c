/* ctlproto.c - codec of the control protocol (see ctlproto.h). */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "ctlproto.h"
#include "util.h"

/* ---- names --------------------------------------------------------------- */

static const char *const status_text[WCTL_STATUS__END] = {
    [WCTL_OK] = "ok",
    [WCTL_BAD_FRAME] = "malformed message",
    [WCTL_BAD_VERSION] = "protocol version not supported",
    [WCTL_BAD_COMMAND] = "unknown command",
    [WCTL_BAD_FIELD] = "bad field in request",
    [WCTL_DENIED] = "permission denied",
    [WCTL_NO_MODEL] = "no such model",
    [WCTL_WARMUP_FAILED] = "warmup failed",
    [WCTL_TIMEOUT] = "no warmup result in time",
    [WCTL_DISABLED] = "model is paused or has a key problem",
    [WCTL_SKIPPED] = "warmup not sent",
    [WCTL_RELOAD_FAILED] = "reload failed, the running config is kept",
    [WCTL_BUSY] = "warmd is busy with other clients, try again",
    [WCTL_STOPPING] = "warmd is stopping",
    [WCTL_INTERNAL] = "internal error in warmd",
    [WCTL_RATE_LIMITED] = "rate limited",
};

const char *wctl_status_text(unsigned status) {
  if (status < WCTL_STATUS__END && status_text[status])
    return status_text[status];
  return "unknown status (a newer warmd?)";
}

static const char *const cmd_names[WCTL_CMD__END] = {
    [WCTL_CMD_STATUS] = "status", [WCTL_CMD_STATS] = "stats",
    [WCTL_CMD_WARM] = "warm",     [WCTL_CMD_PAUSE] = "pause",
    [WCTL_CMD_RESUME] = "resume", [WCTL_CMD_RELOAD] = "reload",
};

const char *wctl_cmd_name(unsigned cmd) {
  return cmd > 0 && cmd < WCTL_CMD__END ? cmd_names[cmd] : NULL;
}

int wctl_cmd_mutating(unsigned cmd) {
  return cmd == WCTL_CMD_WARM || cmd == WCTL_CMD_PAUSE ||
         cmd == WCTL_CMD_RESUME || cmd == WCTL_CMD_RELOAD;
}

/* Fields a request may carry, per command.  F_MODEL: "model", a table
 * name (1..WARMTH_NAME_MAX bytes of printable ASCII, no space). */
#define F_MODEL 0x1u
static const struct {
  unsigned allowed, required;
} cmd_fields[WCTL_CMD__END] = {
    [WCTL_CMD_STATUS] = {0, 0},
    [WCTL_CMD_STATS] = {F_MODEL, 0},
    [WCTL_CMD_WARM] = {F_MODEL, F_MODEL},
    [WCTL_CMD_PAUSE] = {F_MODEL, F_MODEL},
    [WCTL_CMD_RESUME] = {F_MODEL, F_MODEL},
    [WCTL_CMD_RELOAD] = {0, 0},
};

/* ---- structure check before msgpack-c allocates -------------------------- */

/* msgpack-c sizes an array's storage from its declared count, so five bytes
 * (dd ff ff ff ff) would ask for 100 GB: every count is checked against the
 * bytes left first (each element takes at least one byte). */
static int need(const unsigned char *p, const unsigned char *end, uint64_t n) {
  return (uint64_t)(end - p) >= n;
}

static uint64_t be(const unsigned char *p, int n) {
  uint64_t v = 0;
  for (int i = 0; i < n; i++)
    v = v << 8 | p[i];
  return v;
}

static const unsigned char *skip(const unsigned char *p,
                                 const unsigned char *end, int depth, char *why,
                                 size_t n) {
  if (p >= end) {
    wd_errf(why, n, "truncated msgpack");
    return NULL;
  }
  unsigned b = *p++;
  uint64_t count = 0, len = 0;
  int pairs = 0, w;
  if (b <= 0x7f || b >= 0xe0 || b == 0xc0 || b == 0xc2 || b == 0xc3)
    return p;
  if ((b & 0xe0) == 0xa0) {
    len = b & 0x1f;
    goto bytes;
  }
  if ((b & 0xf0) == 0x90 || (b & 0xf0) == 0x80) {
    count = b & 0x0f;
    pairs = (b & 0xf0) == 0x80;
    goto container;
  }
  switch (b) {
  case 0xcc:
  case 0xd0:
    len = 1;
    goto bytes;
  case 0xcd:
  case 0xd1:
    len = 2;
    goto bytes;
  case 0xca:
  case 0xce:
  case 0xd2:
    len = 4;
    goto bytes;
  case 0xcb:
  case 0xcf:
  case 0xd3:
    len = 8;
    goto bytes;
  case 0xd4:
    len = 2;
    goto bytes; /* fixext: type byte + data */
  case 0xd5:
    len = 3;
    goto bytes;
  case 0xd6:
    len = 5;
    goto bytes;
  case 0xd7:
    len = 9;
    goto bytes;
  case 0xd8:
    len = 17;
    goto bytes;
  case 0xc4:
  case 0xd9:
    w = 1;
    goto sized;
  case 0xc5:
  case 0xda:
    w = 2;
    goto sized;
  case 0xc6:
  case 0xdb:
    w = 4;
    goto sized;
  case 0xc7:
  case 0xc8:
  case 0xc9: /* ext 8/16/32: length, type, data */
    w = b == 0xc7 ? 1 : b == 0xc8 ? 2 : 4;
    if (!need(p, end, (uint64_t)w + 1))
      break;
    len = be(p, w) + 1;
    p += w;
    goto bytes;
  case 0xdc:
  case 0xdd:
  case 0xde:
  case 0xdf:
    w = (b == 0xdc || b == 0xde) ? 2 : 4;
    pairs = b >= 0xde;
    if (!need(p, end, (uint64_t)w))
      break;
    count = be(p, w);
    p += w;
    goto container;
  default: /* 0xc1 is never used */
    wd_errf(why, n, "byte 0x%02x is not msgpack", b);
    return NULL;
  }
  wd_errf(why, n, "truncated msgpack");
  return NULL;
sized:
  if (!need(p, end, (uint64_t)w)) {
    wd_errf(why, n, "truncated msgpack");
    return NULL;
  }
  len = be(p, w);
  p += w;
bytes:
  if (!need(p, end, len)) {
    wd_errf(why, n, "truncated msgpack (%llu bytes declared, %zu left)",
            (unsigned long long)len, (size_t)(end - p));
    return NULL;
  }
  return p + len;
container:
  if (depth >= WCTL_MAX_DEPTH) {
    wd_errf(why, n, "nested deeper than %d", WCTL_MAX_DEPTH);
    return NULL;
  }
  if (pairs)
    count *= 2;
  if (!need(p, end, count)) {
    wd_errf(why, n, "%s of %llu elements in %zu bytes", pairs ? "map" : "array",
            (unsigned long long)count, (size_t)(end - p));
    return NULL;
  }
  for (uint64_t i = 0; i < count && p; i++)
    p = skip(p, end, depth + 1, why, n);
  return p;
}

int wctl_mp_check(const char *buf, size_t len, char *why, size_t whylen) {
  const unsigned char *p = (const unsigned char *)buf, *end = p + len;
  if (len == 0) {
    wd_errf(why, whylen, "empty message");
    return -1;
  }
  p = skip(p, end, 0, why, whylen);
  if (!p)
    return -1;
  if (p != end) {
    wd_errf(why, whylen, "%zu bytes after the message", (size_t)(end - p));
    return -1;
  }
  return 0;
}

/* ---- framing ------------------------------------------------------------- */

void wctl_put_len(unsigned char hdr[WCTL_HEADER], uint32_t len) {
  hdr[0] = (unsigned char)(len >> 24);
  hdr[1] = (unsigned char)(len >> 16);
  hdr[2] = (unsigned char)(len >> 8);
  hdr[3] = (unsigned char)len;
}

uint32_t wctl_get_len(const unsigned char hdr[WCTL_HEADER]) {
  return (uint32_t)be(hdr, WCTL_HEADER);
}

void wctl_pack_str(msgpack_packer *pk, const char *s) {
  size_t n = strlen(s);
  msgpack_pack_str(pk, n);
  msgpack_pack_str_body(pk, s, n);
}

static void frame_begin(msgpack_sbuffer *out, msgpack_packer *pk,
                        uint32_t version, uint64_t seq, unsigned code,
                        uint32_t nfields) {
  static const char zero[WCTL_HEADER];
  msgpack_sbuffer_write(out, zero, sizeof zero); /* length, filled in last */
  msgpack_packer_init(pk, out, msgpack_sbuffer_write);
  msgpack_pack_array(pk, 4);
  msgpack_pack_uint32(pk, version);
  msgpack_pack_uint64(pk, seq);
  msgpack_pack_uint32(pk, code);
  msgpack_pack_map(pk, nfields);
}

int wctl_frame_finish(msgpack_sbuffer *out, size_t max) {
  if (!out->data || out->size < WCTL_HEADER || out->size - WCTL_HEADER > max)
    return -1;
  wctl_put_len((unsigned char *)out->data, (uint32_t)(out->size - WCTL_HEADER));
  return 0;
}

static int name_ok(const char *s, size_t n) {
  if (n == 0 || n > WARMTH_NAME_MAX)
    return 0;
  for (size_t i = 0; i < n; i++)
    if ((unsigned char)s[i] < 0x21 || (unsigned char)s[i] > 0x7e)
      return 0;
  return 1;
}

int wctl_req_encode(const struct wctl_req *r, msgpack_sbuffer *out) {
  msgpack_packer pk;
  if (r->has_model && !name_ok(r->model, strlen(r->model)))
    return -1;
  frame_begin(out, &pk, r->version, r->seq, r->cmd, r->has_model ? 1 : 0);
  if (r->has_model) {
    wctl_pack_str(&pk, "model");
    wctl_pack_str(&pk, r->model);
  }
  return wctl_frame_finish(out, WCTL_MAX_REQUEST);
}

void wctl_reply_begin(msgpack_sbuffer *out, msgpack_packer *pk,
                      uint32_t version, uint64_t seq, unsigned status,
                      uint32_t nfields) {
  frame_begin(out, pk, version, seq, status, nfields);
}

int wctl_reply_error(msgpack_sbuffer *out, uint32_t version, uint64_t seq,
                     unsigned status, const char *why) {
  msgpack_packer pk;
  int bad_version = status == WCTL_BAD_VERSION;
  frame_begin(out, &pk, version, seq, status, bad_version ? 2 : 1);
  wctl_pack_str(&pk, "error");
  wctl_pack_str(&pk, why && *why ? why : wctl_status_text(status));
  if (bad_version) {
    wctl_pack_str(&pk, "version");
    msgpack_pack_uint32(&pk, WCTL_VERSION);
  }
  return wctl_frame_finish(out, WCTL_MAX_REPLY);
}

/* ---- decoding ----------------------------------------------------------- */

static int key_is(const msgpack_object *k, const char *s) {
  size_t n = strlen(s);
  return k->type == MSGPACK_OBJECT_STR && k->via.str.size == n &&
         memcmp(k->via.str.ptr, s, n) == 0;
}

const msgpack_object *wctl_map_get(const msgpack_object *map, const char *key) {
  if (!map || map->type != MSGPACK_OBJECT_MAP)
    return NULL;
  for (uint32_t i = 0; i < map->via.map.size; i++)
    if (key_is(&map->via.map.ptr[i].key, key))
      return &map->via.map.ptr[i].val;
  return NULL;
}

static int uint_of(const msgpack_object *o, uint64_t max, uint64_t *v) {
  if (o->type != MSGPACK_OBJECT_POSITIVE_INTEGER || o->via.u64 > max)
    return -1;
  *v = o->via.u64;
  return 0;
}

/* Parses one object that wctl_mp_check accepted; the header array is
 * [uint32 version, uint64 seq, uint32 code, map]. */
static int unpack_frame(const char *buf, size_t len, msgpack_unpacked *u,
                        uint32_t *version, uint64_t *seq, uint32_t *code,
                        const msgpack_object **fields, char *why,
                        size_t whylen) {
  size_t off = 0;
  if (wctl_mp_check(buf, len, why, whylen) != 0)
    return WCTL_BAD_FRAME;
  int rc = msgpack_unpack_next(u, buf, len, &off);
  if (rc != MSGPACK_UNPACK_SUCCESS || off != len) {
    wd_errf(why, whylen, "%s",
            rc == MSGPACK_UNPACK_NOMEM_ERROR
                ? "out of memory decoding the message"
                : "not a msgpack message");
    return rc == MSGPACK_UNPACK_NOMEM_ERROR ? WCTL_INTERNAL : WCTL_BAD_FRAME;
  }
  const msgpack_object *o = &u->data;
  if (o->type != MSGPACK_OBJECT_ARRAY || o->via.array.size != 4) {
    wd_errf(why, whylen, "not an array [version, seq, code, fields]");
    return WCTL_BAD_FRAME;
  }
  const msgpack_object *a = o->via.array.ptr;
  uint64_t v;
  /* seq first, so that every later error can be matched by the client. */
  if (uint_of(&a[1], UINT64_MAX, seq) != 0) {
    wd_errf(why, whylen, "seq is not an unsigned integer");
    return WCTL_BAD_FRAME;
  }
  if (uint_of(&a[0], UINT32_MAX, &v) != 0) {
    wd_errf(why, whylen, "version is not an unsigned 32-bit integer");
    return WCTL_BAD_FRAME;
  }
  *version = (uint32_t)v;
  if (uint_of(&a[2], UINT32_MAX, &v) != 0) {
    wd_errf(why, whylen, "command/status is not an unsigned 32-bit integer");
    return WCTL_BAD_FRAME;
  }
  *code = (uint32_t)v;
  if (a[3].type != MSGPACK_OBJECT_MAP) {
    wd_errf(why, whylen, "fields are not a map");
    return WCTL_BAD_FRAME;
  }
  *fields = &a[3];
  return WCTL_OK;
}

static int check_fields(struct wctl_req *r, const msgpack_object *fields,
                        char *why, size_t whylen) {
  unsigned seen = 0;
  const char *name = wctl_cmd_name(r->cmd);
  for (uint32_t i = 0; i < fields->via.map.size; i++) {
    const msgpack_object *k = &fields->via.map.ptr[i].key;
    const msgpack_object *val = &fields->via.map.ptr[i].val;
    if (k->type != MSGPACK_OBJECT_STR) {
      wd_errf(why, whylen, "%s: a field name is not a string", name);
      return WCTL_BAD_FIELD;
    }
    if (!key_is(k, "model") || !(cmd_fields[r->cmd].allowed & F_MODEL)) {
      wd_errf(why, whylen, "%s: unknown field '%.*s'", name,
              k->via.str.size > 32 ? 32 : (int)k->via.str.size, k->via.str.ptr);
      return WCTL_BAD_FIELD;
    }
    if (seen & F_MODEL) {
      wd_errf(why, whylen, "%s: field 'model' given twice", name);
      return WCTL_BAD_FIELD;
    }
    seen |= F_MODEL;
    if (val->type != MSGPACK_OBJECT_STR) {
      wd_errf(why, whylen, "%s: field 'model' is not a string", name);
      return WCTL_BAD_FIELD;
    }
    if (!name_ok(val->via.str.ptr, val->via.str.size)) {
      wd_errf(why, whylen,
              "%s: field 'model' is not a model name (1 to %d printable "
              "characters, no space)",
              name, WARMTH_NAME_MAX);
      return WCTL_BAD_FIELD;
    }
    memcpy(r->model, val->via.str.ptr, val->via.str.size);
    r->model[val->via.str.size] = 0;
    r->has_model = 1;
  }
  if (cmd_fields[r->cmd].required & ~seen) {
    wd_errf(why, whylen, "%s: field 'model' is missing", name);
    return WCTL_BAD_FIELD;
  }
  return WCTL_OK;
}

int wctl_req_decode(const char *buf, size_t len, struct wctl_req *r, char *why,
                    size_t whylen) {
  memset(r, 0, sizeof *r);
  wd_errf(why, whylen, "%s", "");
  if (len > WCTL_MAX_REQUEST) {
    wd_errf(why, whylen, "request of %zu bytes (at most %d)", len,
            WCTL_MAX_REQUEST);
    return WCTL_BAD_FRAME;
  }
  msgpack_unpacked u;
  msgpack_unpacked_init(&u);
  const msgpack_object *fields = NULL;
  uint64_t seq = 0;
  uint32_t version = 0;
  int rc =
      unpack_frame(buf, len, &u, &version, &seq, &r->cmd, &fields, why, whylen);
  r->seq = seq;
  r->version = version;
  if (rc == WCTL_OK &&
      (r->version < WCTL_VERSION_MIN || r->version > WCTL_VERSION)) {
    wd_errf(why, whylen, "protocol version %u (this warmd speaks %d to %d)",
            r->version, WCTL_VERSION_MIN, WCTL_VERSION);
    rc = WCTL_BAD_VERSION;
  }
  if (rc == WCTL_OK && !wctl_cmd_name(r->cmd)) {
    wd_errf(why, whylen, "unknown command %u", r->cmd);
    rc = WCTL_BAD_COMMAND;
  }
  if (rc == WCTL_OK)
    rc = check_fields(r, fields, why, whylen);
  msgpack_unpacked_destroy(&u);
  return rc;
}

int wctl_reply_decode(const char *buf, size_t len, msgpack_unpacked *u,
                      struct wctl_reply *r, char *why, size_t whylen) {
  memset(r, 0, sizeof *r);
  if (len > WCTL_MAX_REPLY) {
    wd_errf(why, whylen, "reply of %zu bytes (at most %u)", len,
            WCTL_MAX_REPLY);
    return -1;
  }
  return unpack_frame(buf, len, u, &r->version, &r->seq, &r->status, &r->fields,
                      why, whylen) == WCTL_OK
             ? 0
             : -1;
}
