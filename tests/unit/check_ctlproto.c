/* check_ctlproto.c - unit tests of the control protocol codec
 * (tools/common/ctlproto.c): round trips of every command and of replies,
 * and the rejection of each kind of malformed request, with the status the
 * server answers it with. */
#define _GNU_SOURCE
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "check_run.h"
#include "ctlproto.h"
#include "warmd.h"

/* ---- helpers ------------------------------------------------------------- */

/* Builds a payload by hand with a packer (any shape, valid or not). */
struct raw {
  msgpack_sbuffer b;
  msgpack_packer pk;
};

static msgpack_packer *raw_init(struct raw *r) {
  msgpack_sbuffer_init(&r->b);
  msgpack_packer_init(&r->pk, &r->b, msgpack_sbuffer_write);
  return &r->pk;
}

static void str(msgpack_packer *pk, const char *s) { wctl_pack_str(pk, s); }

/* Decodes r's payload, frees it, and returns the status. */
static int decode_raw(struct raw *r, struct wctl_req *q, char *why, size_t n) {
  int st = wctl_req_decode(r->b.data, r->b.size, q, why, n);
  msgpack_sbuffer_destroy(&r->b);
  return st;
}

/* A request [version, seq, cmd, {model: name}] (model NULL: no field). */
static int decode_req(uint64_t version, uint64_t seq, uint64_t cmd,
                      const char *model, struct wctl_req *q, char *why,
                      size_t n) {
  struct raw r;
  msgpack_packer *pk = raw_init(&r);
  msgpack_pack_array(pk, 4);
  msgpack_pack_uint64(pk, version);
  msgpack_pack_uint64(pk, seq);
  msgpack_pack_uint64(pk, cmd);
  msgpack_pack_map(pk, model ? 1 : 0);
  if (model) {
    str(pk, "model");
    str(pk, model);
  }
  return decode_raw(&r, q, why, n);
}

#define EXPECT(st, want, why)                                                  \
  ck_assert_msg((st) == (want), "status %d (%s), want %d: %s", (st),           \
                wctl_status_text((unsigned)(st)), (want), (why))

/* ---- core ---------------------------------------------------------------- */

START_TEST(request_round_trip) {
  static const struct {
    unsigned cmd;
    const char *model;
  } cases[] = {{WCTL_CMD_STATUS, NULL},         {WCTL_CMD_STATS, NULL},
               {WCTL_CMD_STATS, "gpt-4o-mini"}, {WCTL_CMD_WARM, "m1"},
               {WCTL_CMD_PAUSE, "a/b:c"},       {WCTL_CMD_RESUME, "m1"},
               {WCTL_CMD_RELOAD, NULL}};
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    struct wctl_req in = {.version = WCTL_VERSION,
                          .seq = 0x1234567890ull + i,
                          .cmd = cases[i].cmd};
    if (cases[i].model) {
      in.has_model = 1;
      snprintf(in.model, sizeof in.model, "%s", cases[i].model);
    }
    msgpack_sbuffer b;
    msgpack_sbuffer_init(&b);
    ck_assert_int_eq(wctl_req_encode(&in, &b), 0);
    ck_assert_uint_gt(b.size, WCTL_HEADER);
    ck_assert_uint_eq(wctl_get_len((unsigned char *)b.data),
                      b.size - WCTL_HEADER);
    struct wctl_req out;
    char why[160];
    int st = wctl_req_decode(b.data + WCTL_HEADER, b.size - WCTL_HEADER, &out,
                             why, sizeof why);
    EXPECT(st, WCTL_OK, why);
    ck_assert_uint_eq(out.version, WCTL_VERSION);
    ck_assert_uint_eq(out.seq, in.seq);
    ck_assert_uint_eq(out.cmd, in.cmd);
    ck_assert_int_eq(out.has_model, in.has_model);
    ck_assert_str_eq(out.model, in.model);
    msgpack_sbuffer_destroy(&b);
  }
}
END_TEST

START_TEST(model_of_max_length) {
  char name[WARMTH_NAME_MAX + 1];
  memset(name, 'x', WARMTH_NAME_MAX);
  name[WARMTH_NAME_MAX] = 0;
  struct wctl_req q;
  char why[160];
  EXPECT(decode_req(WCTL_VERSION, 1, WCTL_CMD_WARM, name, &q, why, sizeof why),
         WCTL_OK, why);
  ck_assert_str_eq(q.model, name);
}
END_TEST

START_TEST(reply_round_trip) {
  msgpack_sbuffer b;
  msgpack_packer pk;
  msgpack_sbuffer_init(&b);
  wctl_reply_begin(&b, &pk, WCTL_VERSION, 77, WCTL_OK, 3);
  str(&pk, "pid");
  msgpack_pack_int64(&pk, 4242);
  str(&pk, "config");
  str(&pk, "/etc/warmth/warmd.conf");
  str(&pk, "models");
  msgpack_pack_array(&pk, 1);
  msgpack_pack_map(&pk, 1);
  str(&pk, "model");
  str(&pk, "m1");
  ck_assert_int_eq(wctl_frame_finish(&b, WCTL_MAX_REPLY), 0);
  ck_assert_uint_eq(wctl_get_len((unsigned char *)b.data),
                    b.size - WCTL_HEADER);
  msgpack_unpacked u;
  msgpack_unpacked_init(&u);
  struct wctl_reply r;
  char why[160];
  ck_assert_int_eq(wctl_reply_decode(b.data + WCTL_HEADER, b.size - WCTL_HEADER,
                                     &u, &r, why, sizeof why),
                   0);
  ck_assert_uint_eq(r.seq, 77);
  ck_assert_uint_eq(r.status, WCTL_OK);
  const msgpack_object *pid = wctl_map_get(r.fields, "pid");
  ck_assert_ptr_nonnull(pid);
  ck_assert_int_eq(pid->via.i64, 4242);
  const msgpack_object *cfg = wctl_map_get(r.fields, "config");
  ck_assert_ptr_nonnull(cfg);
  ck_assert_int_eq(cfg->type, MSGPACK_OBJECT_STR);
  ck_assert_ptr_null(wctl_map_get(r.fields, "nope"));
  msgpack_unpacked_destroy(&u);
  msgpack_sbuffer_destroy(&b);
}
END_TEST

START_TEST(error_reply_says_why) {
  msgpack_sbuffer b;
  msgpack_sbuffer_init(&b);
  ck_assert_int_eq(
      wctl_reply_error(&b, WCTL_VERSION, 9, WCTL_BAD_VERSION, "version 7"), 0);
  msgpack_unpacked u;
  msgpack_unpacked_init(&u);
  struct wctl_reply r;
  char why[160];
  ck_assert_int_eq(wctl_reply_decode(b.data + WCTL_HEADER, b.size - WCTL_HEADER,
                                     &u, &r, why, sizeof why),
                   0);
  ck_assert_uint_eq(r.status, WCTL_BAD_VERSION);
  ck_assert_uint_eq(r.seq, 9);
  const msgpack_object *e = wctl_map_get(r.fields, "error");
  ck_assert_ptr_nonnull(e);
  ck_assert_int_eq((int)e->via.str.size, 9);
  ck_assert_int_eq(memcmp(e->via.str.ptr, "version 7", 9), 0);
  const msgpack_object *v = wctl_map_get(r.fields, "version");
  ck_assert_ptr_nonnull(v);
  ck_assert_uint_eq(v->via.u64, WCTL_VERSION);
  msgpack_unpacked_destroy(&u);
  msgpack_sbuffer_destroy(&b);
}
END_TEST

START_TEST(names_for_every_number) {
  for (unsigned s = 0; s < WCTL_STATUS__END; s++)
    ck_assert_str_ne(wctl_status_text(s), wctl_status_text(WCTL_STATUS__END));
  for (unsigned c = 1; c < WCTL_CMD__END; c++)
    ck_assert_ptr_nonnull(wctl_cmd_name(c));
  ck_assert_ptr_null(wctl_cmd_name(0));
  ck_assert_ptr_null(wctl_cmd_name(WCTL_CMD__END));
  ck_assert(!wctl_cmd_mutating(WCTL_CMD_STATUS));
  ck_assert(!wctl_cmd_mutating(WCTL_CMD_STATS));
  ck_assert(wctl_cmd_mutating(WCTL_CMD_WARM));
  ck_assert(wctl_cmd_mutating(WCTL_CMD_RELOAD));
  /* Numbers are part of the wire format: they never move. */
  ck_assert_int_eq(WCTL_CMD_STATUS, 1);
  ck_assert_int_eq(WCTL_CMD_RELOAD, 6);
  ck_assert_int_eq(WCTL_DENIED, 5);
  ck_assert_int_eq(WCTL_INTERNAL, 14);
}
END_TEST

START_TEST(default_socket_matches_config) {
  static const char text[] = "[warmd]\nshm = /t\n"
                             "[endpoint e]\nkind = openai\n"
                             "base_url = http://127.0.0.1:1/v1\n"
                             "[model m]\nendpoint = e\n";
  struct wd_config *c = NULL;
  char err[512];
  ck_assert_msg(
      wd_config_parse("./t.conf", text, strlen(text), &c, err, sizeof err) == 0,
      "parse: %s", err);
  ck_assert_str_eq(c->control_socket, WCTL_DEFAULT_SOCKET);
  wd_config_free(c);
}
END_TEST

/* ---- limits: each malformed request and its status ----------------------- */

START_TEST(rejects_bad_header) {
  struct wctl_req q;
  char why[160];
  EXPECT(decode_req(0, 1, WCTL_CMD_STATUS, NULL, &q, why, sizeof why),
         WCTL_BAD_VERSION, why);
  EXPECT(decode_req(WCTL_VERSION + 1, 5, WCTL_CMD_STATUS, NULL, &q, why,
                    sizeof why),
         WCTL_BAD_VERSION, why);
  ck_assert_uint_eq(q.seq, 5); /* read first, so the error can echo it */
  ck_assert_uint_eq(q.version, WCTL_VERSION + 1);
  ck_assert_ptr_nonnull(strstr(why, "version"));
  EXPECT(decode_req(1ull << 40, 1, WCTL_CMD_STATUS, NULL, &q, why, sizeof why),
         WCTL_BAD_FRAME, why);
  EXPECT(decode_req(WCTL_VERSION, 6, 0, NULL, &q, why, sizeof why),
         WCTL_BAD_COMMAND, why);
  ck_assert_uint_eq(q.seq, 6);
  EXPECT(decode_req(WCTL_VERSION, 1, WCTL_CMD__END, NULL, &q, why, sizeof why),
         WCTL_BAD_COMMAND, why);
  EXPECT(decode_req(WCTL_VERSION, 1, 1ull << 40, NULL, &q, why, sizeof why),
         WCTL_BAD_FRAME, why);

  struct raw r;
  msgpack_packer *pk = raw_init(&r); /* version as a string */
  msgpack_pack_array(pk, 4);
  str(pk, "1");
  msgpack_pack_uint64(pk, 1);
  msgpack_pack_uint64(pk, 1);
  msgpack_pack_map(pk, 0);
  EXPECT(decode_raw(&r, &q, why, sizeof why), WCTL_BAD_FRAME, why);

  pk = raw_init(&r); /* negative seq */
  msgpack_pack_array(pk, 4);
  msgpack_pack_uint64(pk, 1);
  msgpack_pack_int64(pk, -1);
  msgpack_pack_uint64(pk, 1);
  msgpack_pack_map(pk, 0);
  EXPECT(decode_raw(&r, &q, why, sizeof why), WCTL_BAD_FRAME, why);

  pk = raw_init(&r); /* three elements */
  msgpack_pack_array(pk, 3);
  msgpack_pack_uint64(pk, 1);
  msgpack_pack_uint64(pk, 1);
  msgpack_pack_uint64(pk, 1);
  EXPECT(decode_raw(&r, &q, why, sizeof why), WCTL_BAD_FRAME, why);

  pk = raw_init(&r); /* fields as an array */
  msgpack_pack_array(pk, 4);
  msgpack_pack_uint64(pk, 1);
  msgpack_pack_uint64(pk, 1);
  msgpack_pack_uint64(pk, 1);
  msgpack_pack_array(pk, 0);
  EXPECT(decode_raw(&r, &q, why, sizeof why), WCTL_BAD_FRAME, why);

  pk = raw_init(&r); /* a map at the top */
  msgpack_pack_map(pk, 0);
  EXPECT(decode_raw(&r, &q, why, sizeof why), WCTL_BAD_FRAME, why);
}
END_TEST

START_TEST(rejects_bad_fields) {
  struct wctl_req q;
  char why[160];
  char name[WARMTH_NAME_MAX + 2];
  memset(name, 'x', sizeof name - 1);
  name[sizeof name - 1] = 0;
  EXPECT(decode_req(1, 1, WCTL_CMD_WARM, NULL, &q, why, sizeof why),
         WCTL_BAD_FIELD, why);
  ck_assert_ptr_nonnull(strstr(why, "missing"));
  EXPECT(decode_req(1, 1, WCTL_CMD_STATUS, "m1", &q, why, sizeof why),
         WCTL_BAD_FIELD, why);
  ck_assert_ptr_nonnull(strstr(why, "unknown field 'model'"));
  EXPECT(decode_req(1, 1, WCTL_CMD_WARM, name, &q, why, sizeof why),
         WCTL_BAD_FIELD, why);
  EXPECT(decode_req(1, 1, WCTL_CMD_WARM, "", &q, why, sizeof why),
         WCTL_BAD_FIELD, why);
  EXPECT(decode_req(1, 1, WCTL_CMD_WARM, "a b", &q, why, sizeof why),
         WCTL_BAD_FIELD, why);
  EXPECT(decode_req(1, 1, WCTL_CMD_WARM, "caf\xc3\xa9", &q, why, sizeof why),
         WCTL_BAD_FIELD, why);

  struct raw r;
  msgpack_packer *pk;
  for (int kind = 0; kind < 5; kind++) {
    pk = raw_init(&r);
    msgpack_pack_array(pk, 4);
    msgpack_pack_uint64(pk, 1);
    msgpack_pack_uint64(pk, 1);
    msgpack_pack_uint64(pk, WCTL_CMD_PAUSE);
    switch (kind) {
    case 0: /* model as an integer */
      msgpack_pack_map(pk, 1);
      str(pk, "model");
      msgpack_pack_uint64(pk, 3);
      break;
    case 1: /* model twice */
      msgpack_pack_map(pk, 2);
      str(pk, "model");
      str(pk, "a");
      str(pk, "model");
      str(pk, "b");
      break;
    case 2: /* an integer key */
      msgpack_pack_map(pk, 1);
      msgpack_pack_uint64(pk, 1);
      str(pk, "a");
      break;
    case 3: /* an unknown key besides model */
      msgpack_pack_map(pk, 2);
      str(pk, "model");
      str(pk, "a");
      str(pk, "force");
      msgpack_pack_true(pk);
      break;
    case 4: { /* model with a NUL inside (str carries a length) */
      msgpack_pack_map(pk, 1);
      str(pk, "model");
      msgpack_pack_str(pk, 3);
      msgpack_pack_str_body(pk, "a\0b", 3);
      break;
    }
    }
    EXPECT(decode_raw(&r, &q, why, sizeof why), WCTL_BAD_FIELD, why);
  }
}
END_TEST

START_TEST(rejects_bad_bytes) {
#define B(s) s, sizeof s - 1
  static const struct {
    const char *bytes;
    size_t len;
    const char *what;
  } cases[] = {
      {B(""), "empty"},
      {B("\xc1"), "never-used byte"},
      {B("GET / HTTP/1.0\r\n"), "text"},
      {B("\x94\x01\x01\x01"), "array short of an element"},
      {B("\x94\x01\x01\x01\x80\x00"), "a byte after the message"},
      {B("\xdd\xff\xff\xff\xff"), "array32 of 4G elements"},
      {B("\xdf\xff\xff\xff\xff\x00"), "map32 of 4G pairs"},
      {B("\xdb\xff\xff\xff\xff"), "str32 of 4 GB"},
      {B("\xc9\xff\xff\xff\xff\x01"), "ext32 of 4 GB"},
      {B("\x94\x01\x01\x01\x81\xa5model\xd9\xff"), "str8 past the end"},
      {B("\x91\x91\x91\x91\x91\x91\x91\x91\x91\x90"), "nested 10 deep"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    struct wctl_req q;
    char why[160];
    int st = wctl_req_decode(cases[i].bytes, cases[i].len, &q, why, sizeof why);
    ck_assert_msg(st == WCTL_BAD_FRAME, "%s: status %d", cases[i].what, st);
    ck_assert_msg(why[0], "%s: no reason given", cases[i].what);
  }
  char *big = calloc(1, WCTL_MAX_REQUEST + 1);
  struct wctl_req q;
  char why[160];
  EXPECT(wctl_req_decode(big, WCTL_MAX_REQUEST + 1, &q, why, sizeof why),
         WCTL_BAD_FRAME, why);
  free(big);
}
END_TEST

START_TEST(encode_refuses_bad_model) {
  struct wctl_req in = {
      .version = 1, .seq = 1, .cmd = WCTL_CMD_WARM, .has_model = 1};
  strcpy(in.model, "two words");
  msgpack_sbuffer b;
  msgpack_sbuffer_init(&b);
  ck_assert_int_eq(wctl_req_encode(&in, &b), -1);
  msgpack_sbuffer_destroy(&b);
}
END_TEST

START_TEST(frame_too_large) {
  msgpack_sbuffer b;
  msgpack_packer pk;
  msgpack_sbuffer_init(&b);
  wctl_reply_begin(&b, &pk, 1, 1, WCTL_OK, 1);
  str(&pk, "x");
  char *blob = calloc(1, 5000);
  msgpack_pack_bin(&pk, 5000);
  msgpack_pack_bin_body(&pk, blob, 5000);
  free(blob);
  ck_assert_int_eq(wctl_frame_finish(&b, WCTL_MAX_REQUEST), -1);
  ck_assert_int_eq(wctl_frame_finish(&b, WCTL_MAX_REPLY), 0);
  msgpack_sbuffer_destroy(&b);
}
END_TEST

static Suite *ctlproto_suite(void) {
  Suite *s = suite_create("ctlproto");
  TCase *core = tcase_create("core");
  tcase_add_test(core, request_round_trip);
  tcase_add_test(core, model_of_max_length);
  tcase_add_test(core, reply_round_trip);
  tcase_add_test(core, error_reply_says_why);
  tcase_add_test(core, names_for_every_number);
  tcase_add_test(core, default_socket_matches_config);
  suite_add_tcase(s, core);
  TCase *limits = tcase_create("limits");
  tcase_add_test(limits, rejects_bad_header);
  tcase_add_test(limits, rejects_bad_fields);
  tcase_add_test(limits, rejects_bad_bytes);
  tcase_add_test(limits, encode_refuses_bad_model);
  tcase_add_test(limits, frame_too_large);
  suite_add_tcase(s, limits);
  return s;
}

int main(void) { return tu_run(ctlproto_suite()); }
