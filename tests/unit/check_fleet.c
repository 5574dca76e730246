/* check_fleet.c - unit tests of fleet mode's pure parts
 * (tools/warmd/fleetproto.c): the Redis URL, fleet = auto's address
 * classification, key names, and the scripts' replies.  The Redis side is
 * tested against a real redis-server by tests/integration/test_fleet.py. */
#define _GNU_SOURCE
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "check_run.h"
#include "fleetproto.h"
#include "warmd.h"

/* Parses a config from text (no file): 0 or -1 with err. */
static int parse(const char *text, struct wd_config **c, char *err,
                 size_t errlen) {
  return wd_config_parse("/tmp/t.conf", text, strlen(text), c, err, errlen);
}

#define BASE                                                                   \
  "[endpoint up]\nbase_url = https://api.example.com/v1\n"                     \
  "[endpoint local]\nbase_url = http://127.0.0.1:8080/v1\n"                    \
  "[model m]\nendpoint = up\n"

START_TEST(url_tcp) {
  struct wd_redis_url u;
  char err[200], out[300];
  ck_assert_int_eq(
      wd_redis_url_parse("redis://127.0.0.1:6380/2", &u, err, sizeof err), 0);
  ck_assert(!u.unix_socket);
  ck_assert_str_eq(u.host, "127.0.0.1");
  ck_assert_int_eq(u.port, 6380);
  ck_assert_int_eq(u.db, 2);
  ck_assert_str_eq(u.user, "");
  wd_redis_url_format(&u, out, sizeof out);
  ck_assert_str_eq(out, "redis://127.0.0.1:6380/2");

  ck_assert_int_eq(
      wd_redis_url_parse("redis://warmd@cache.internal", &u, err, sizeof err),
      0);
  ck_assert_str_eq(u.user, "warmd");
  ck_assert_str_eq(u.host, "cache.internal");
  ck_assert_int_eq(u.port, 6379);
  ck_assert_int_eq(u.db, 0);
  wd_redis_url_format(&u, out, sizeof out);
  ck_assert_str_eq(out, "redis://warmd@cache.internal:6379/0");

  ck_assert_int_eq(
      wd_redis_url_parse("redis://[::1]:7000/", &u, err, sizeof err), 0);
  ck_assert_str_eq(u.host, "::1");
  ck_assert_int_eq(u.port, 7000);
  wd_redis_url_format(&u, out, sizeof out);
  ck_assert_str_eq(out, "redis://[::1]:7000/0");
}
END_TEST

START_TEST(url_unix) {
  struct wd_redis_url u;
  char err[200], out[300];
  ck_assert_int_eq(
      wd_redis_url_parse("unix:/run/redis/redis.sock", &u, err, sizeof err), 0);
  ck_assert(u.unix_socket);
  ck_assert_str_eq(u.path, "/run/redis/redis.sock");
  ck_assert_int_eq(u.db, 0);
  ck_assert_int_eq(
      wd_redis_url_parse("unix:/tmp/r.sock?db=3", &u, err, sizeof err), 0);
  ck_assert_int_eq(u.db, 3);
  wd_redis_url_format(&u, out, sizeof out);
  ck_assert_str_eq(out, "unix:/tmp/r.sock?db=3");
}
END_TEST

START_TEST(url_bad) {
  static const char *const bad[] = {
      "",
      "http://127.0.0.1:6379",
      "rediss://host:6380", /* no TLS in hiredis 0.14 as packaged */
      "redis://",
      "redis://:6379",
      "redis://host:0",
      "redis://host:65536",
      "redis://host:abc",
      "redis://host/x",
      "redis://host/1?x=1",
      "redis://[::1",
      "redis://ho st:1",
      "unix:relative.sock",
      "unix:",
      "unix:/tmp/s?db=x",
  };
  struct wd_redis_url u;
  char err[200];
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    err[0] = 0;
    ck_assert_msg(wd_redis_url_parse(bad[i], &u, err, sizeof err) == -1,
                  "accepted %s", bad[i]);
    ck_assert_msg(err[0], "no message for %s", bad[i]);
  }
}
END_TEST

/* A password in the URL is refused, and the message never repeats it. */
START_TEST(url_password_not_echoed) {
  struct wd_redis_url u;
  char err[200];
  ck_assert_int_eq(wd_redis_url_parse("redis://user:s3cretpw@host:6379/0", &u,
                                      err, sizeof err),
                   -1);
  ck_assert_ptr_null(strstr(err, "s3cretpw"));
  ck_assert_ptr_nonnull(strstr(err, "password_env"));
  ck_assert_int_eq(
      wd_redis_url_parse("redis://:s3cretpw@host", &u, err, sizeof err), -1);
  ck_assert_ptr_null(strstr(err, "s3cretpw"));
}
END_TEST

START_TEST(auto_classify) {
  static const struct {
    const char *url;
    int upstream;
  } cases[] = {
      {"https://api.openai.com/v1", 1},  {"http://10.0.0.5:8000/v1", 1},
      {"http://192.168.1.2/v1", 1},      {"http://127.0.0.1:8080/v1", 0},
      {"http://127.1.2.3:8080", 0},      {"http://localhost:11434", 0},
      {"http://LOCALHOST.:11434/v1", 0}, {"http://ollama.localhost/v1", 0},
      {"http://[::1]:8000/v1", 0},       {"http://[fe80::1%25eth0]:8000/v1", 0},
      {"http://[fe80::abcd]/v1", 0},     {"http://[::ffff:127.0.0.1]:80/v1", 0},
      {"http://169.254.1.1/v1", 0},      {"http://169.255.1.1/v1", 1},
      {"http://[2001:db8::1]/v1", 1},    {"http://user@127.0.0.1:80/v1", 0},
      {"http://126.255.255.255/", 1},    {"http://128.0.0.1/", 1},
      {"http://localhostile.com/", 1},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
    ck_assert_msg(wd_fleet_url_is_upstream(cases[i].url) == cases[i].upstream,
                  "%s: expected %d", cases[i].url, cases[i].upstream);
}
END_TEST

START_TEST(keys) {
  char k[WD_FLEET_KEY_MAX];
  ck_assert_int_gt(
      wd_fleet_key(k, sizeof k, "prod-eu", "gpt-4o", WD_FK_LEASE, 0), 0);
  ck_assert_str_eq(k, "warmth:{prod-eu:gpt-4o}:v1:lease");
  wd_fleet_key(k, sizeof k, "prod-eu", "gpt-4o", WD_FK_REC, 0);
  ck_assert_str_eq(k, "warmth:{prod-eu:gpt-4o}:v1:rec");
  wd_fleet_key(k, sizeof k, "prod-eu", NULL, WD_FK_HOSTS, 0);
  ck_assert_str_eq(k, "warmth:{prod-eu}:v1:hosts");
  wd_fleet_key(k, sizeof k, "prod-eu", NULL, WD_FK_BUDGET, 20426);
  ck_assert_str_eq(k, "warmth:{prod-eu}:v1:budget:20426");
  /* A model's keys share one hash tag: Redis Cluster hashes only what is
   * between the first { and the next }. */
  char a[WD_FLEET_KEY_MAX], b[WD_FLEET_KEY_MAX];
  wd_fleet_key(a, sizeof a, "f", "m", WD_FK_LEASE, 0);
  wd_fleet_key(b, sizeof b, "f", "m", WD_FK_REC, 0);
  ck_assert_int_eq(strchr(a, '}') - strchr(a, '{'),
                   strchr(b, '}') - strchr(b, '{'));
  ck_assert(strncmp(strchr(a, '{'), strchr(b, '{'),
                    (size_t)(strchr(a, '}') - strchr(a, '{'))) == 0);
}
END_TEST

START_TEST(keys_limits) {
  char k[32];
  ck_assert_int_eq(wd_fleet_key(k, sizeof k, "a-long-fleet-name",
                                "a-long-model-name", WD_FK_REC, 0),
                   -1);
  ck_assert_int_eq(wd_fleet_key(k, sizeof k, "f", NULL, WD_FK_LEASE, 0), -1);
}
END_TEST

START_TEST(rec_decode) {
  struct wd_fleet_rec r;
  long long v[] = {
      WD_FC_FRESH, 1700000000500LL, 1700000000000LL, 1234, 0, 0, 0, 0, 0, 0};
  ck_assert_int_eq(wd_fleet_rec_decode(v, 10, &r), 0);
  ck_assert_int_eq(r.status, WD_FC_FRESH);
  ck_assert_int_eq(r.now_ms, 1700000000500LL);
  ck_assert_int_eq(r.ok_ms, 1700000000000LL);
  ck_assert_int_eq(r.lat_us, 1234);
  ck_assert_int_eq(wd_fleet_rec_warm_ms(&r), 1700000000000LL);
  v[4] = 1700000000200LL; /* real traffic newer than the warmup */
  ck_assert_int_eq(wd_fleet_rec_decode(v, 10, &r), 0);
  ck_assert_int_eq(wd_fleet_rec_warm_ms(&r), 1700000000200LL);
  /* Lease time left: -2 (no key) is Redis's PTTL answer, allowed. */
  v[0] = WD_FC_LOST;
  v[9] = -2;
  ck_assert_int_eq(wd_fleet_rec_decode(v, 10, &r), 0);
  /* Appended positions are ignored. */
  long long w[12] = {WD_FC_WON, 5, 0, 0, 0, 0, 0, 0, 0, 1200, 7, 8};
  ck_assert_int_eq(wd_fleet_rec_decode(w, 12, &r), 0);
  ck_assert_int_eq(r.lease_pttl, 1200);
}
END_TEST

START_TEST(rec_garbage) {
  struct wd_fleet_rec r;
  long long ok[] = {0, 5, 0, 0, 0, 0, 0, 0, 0, 0};
  long long v[10];
  ck_assert_int_eq(wd_fleet_rec_decode(ok, 9, &r), -1); /* too short */
  memcpy(v, ok, sizeof v);
  v[0] = WD_FC__END; /* status out of range */
  ck_assert_int_eq(wd_fleet_rec_decode(v, 10, &r), -1);
  memcpy(v, ok, sizeof v);
  v[0] = -1;
  ck_assert_int_eq(wd_fleet_rec_decode(v, 10, &r), -1);
  memcpy(v, ok, sizeof v);
  v[1] = 0; /* no Redis TIME */
  ck_assert_int_eq(wd_fleet_rec_decode(v, 10, &r), -1);
  memcpy(v, ok, sizeof v);
  v[2] = -5; /* a negative time */
  ck_assert_int_eq(wd_fleet_rec_decode(v, 10, &r), -1);
}
END_TEST

/* Ages, not clocks: a record 1.5 s old in Redis time is 1.5 s before the
 * local time at which the reply arrived, whatever either clock says. */
START_TEST(to_local) {
  int64_t at = 5000000000LL; /* our CLOCK_MONOTONIC: 5 s */
  ck_assert_int_eq(wd_fleet_to_local(1700000000000LL, 1700000001500LL, at),
                   at - 1500000000LL);
  ck_assert_int_eq(wd_fleet_to_local(1700000002000LL, 1700000001500LL, at),
                   at + 500000000LL);
}
END_TEST

START_TEST(config_fleet) {
  struct wd_config *c;
  char err[512];
  ck_assert_msg(parse(BASE "[fleet]\nredis = redis://10.0.0.1:6379/1\n"
                           "name = prod-eu\nhost_id = web-12\n"
                           "password_env = REDIS_PASSWORD\ntimeout = 150ms\n"
                           "budget = fleet\n",
                      &c, err, sizeof err) == 0,
                "%s", err);
  ck_assert_str_eq(c->fleet_redis, "redis://10.0.0.1:6379/1");
  ck_assert_str_eq(c->fleet_name, "prod-eu");
  ck_assert_str_eq(c->fleet_host_id, "web-12");
  ck_assert_str_eq(c->fleet_password_env, "REDIS_PASSWORD");
  ck_assert_int_eq(c->fleet_timeout_ns, 150 * 1000000LL);
  ck_assert_int_eq(c->fleet_budget, 1);
  ck_assert_int_eq(c->endpoints[0].fleet, WD_FLEET_AUTO);
  wd_config_free(c);
  /* Defaults: name "default", host_id the host name, 200 ms. */
  ck_assert_int_eq(parse(BASE "[fleet]\nredis = unix:/run/redis.sock\n", &c,
                         err, sizeof err),
                   0);
  ck_assert_str_eq(c->fleet_name, "default");
  ck_assert(c->fleet_host_id && c->fleet_host_id[0]);
  ck_assert_int_eq(c->fleet_timeout_ns, 200 * 1000000LL);
  ck_assert_int_eq(c->fleet_budget, 0);
  wd_config_free(c);
  /* No [fleet]: no fleet mode. */
  ck_assert_int_eq(parse(BASE, &c, err, sizeof err), 0);
  ck_assert_ptr_null(c->fleet_redis);
  ck_assert_int_eq(c->fleet_line, 0);
  wd_config_free(c);
  ck_assert_int_eq(parse("[endpoint up]\nbase_url = http://h/v1\n"
                         "fleet = no\n[model m]\n",
                         &c, err, sizeof err),
                   0);
  ck_assert_int_eq(c->endpoints[0].fleet, WD_FLEET_NO);
  wd_config_free(c);
}
END_TEST

START_TEST(config_fleet_bad) {
  static const struct {
    const char *text, *msg;
  } bad[] = {
      {BASE "[fleet]\nname = x\n", "redis: missing"},
      {BASE "[fleet]\nredis = http://h\n", "redis: expected redis://"},
      {BASE "[fleet]\nredis = redis://u:hunter2@h\n", "password_env"},
      {BASE "[fleet]\nredis = redis://h\nname = a{b}\n", "without { or }"},
      {BASE "[fleet]\nredis = redis://h\nhost_id = a b\n", "host_id"},
      {BASE "[fleet]\nredis = redis://h\npassword_env = P\n"
            "password_file = /p\n",
       "use one or the other"},
      {BASE "[fleet]\nredis = redis://h\ntimeout = 1ms\n", "timeout"},
      {BASE "[fleet]\nredis = redis://h\nbudget = all\n", "host, fleet"},
      {BASE "[fleet]\nredis = redis://h\n[fleet]\nredis = redis://h\n",
       "a second [fleet]"},
      {BASE "[fleet x]\nredis = redis://h\n", "takes no name"},
      {BASE "[fleet]\nredis = redis://h\nkind = openai\n",
       "belongs in [endpoint NAME]"},
      {"[endpoint up]\nbase_url = http://h/v1\nfleet = maybe\n[model m]\n",
       "auto, yes, no"},
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    struct wd_config *c = NULL;
    char err[512] = "";
    ck_assert_msg(parse(bad[i].text, &c, err, sizeof err) == -1,
                  "accepted case %zu", i);
    ck_assert_msg(strstr(err, bad[i].msg), "case %zu: %s", i, err);
    ck_assert_msg(!strstr(err, "hunter2"), "the password echoed: %s", err);
  }
}
END_TEST

static Suite *fleet_suite(void) {
  Suite *s = suite_create("fleet");
  TCase *core = tcase_create("core");
  tcase_add_test(core, url_tcp);
  tcase_add_test(core, url_unix);
  tcase_add_test(core, auto_classify);
  tcase_add_test(core, keys);
  tcase_add_test(core, rec_decode);
  tcase_add_test(core, to_local);
  tcase_add_test(core, config_fleet);
  suite_add_tcase(s, core);
  TCase *limits = tcase_create("limits");
  tcase_add_test(limits, url_bad);
  tcase_add_test(limits, url_password_not_echoed);
  tcase_add_test(limits, keys_limits);
  tcase_add_test(limits, rec_garbage);
  tcase_add_test(limits, config_fleet_bad);
  suite_add_tcase(s, limits);
  return s;
}

int main(void) { return tu_run(fleet_suite()); }
