/* check_errors.c - error codes, their names and messages, state and error
 * class names, version.  Codes are append-only ABI: each must keep a
 * distinct, non-empty message and a name that matches its symbol. */
#include <string.h>

#include "check_util.h"

Suite *errors_suite(void);

static const struct {
  int code;
  const char *sym;
} codes[] = {
#define XX(name, num, msg) {WARMTH_E##name, "WARMTH_E" #name},
    WARMTH_ERRNO_MAP(XX)
#undef XX
};
#define NCODES (sizeof codes / sizeof codes[0])

START_TEST(test_codes_distinct) {
  ck_assert_uint_ge(NCODES, 21);
  for (size_t i = 0; i < NCODES; i++) {
    /* Negative and numbered 1, 2, 3, ...: never renumbered, no gaps. */
    ck_assert_int_eq(codes[i].code, -(int)(i + 1));
    const char *s = warmth_strerror(codes[i].code);
    const char *n = warmth_err_name(codes[i].code);
    ck_assert_ptr_nonnull(s);
    ck_assert_ptr_nonnull(n);
    ck_assert_uint_gt(strlen(s), 0);
    ck_assert_str_eq(n, codes[i].sym);
    ck_assert_str_ne(s, "unknown error");
    for (size_t j = 0; j < i; j++) {
      ck_assert_str_ne(s, warmth_strerror(codes[j].code));
      ck_assert_str_ne(n, warmth_err_name(codes[j].code));
    }
  }
}
END_TEST

START_TEST(test_success_and_unknown) {
  ck_assert_str_eq(warmth_strerror(0), "success");
  ck_assert_str_eq(warmth_err_name(0), "OK");
  static const int unknown[] = {1,     21,        -(int)NCODES - 1,
                                -1000, INT32_MIN, INT32_MAX};
  for (size_t i = 0; i < sizeof unknown / sizeof unknown[0]; i++) {
    ck_assert_str_eq(warmth_strerror(unknown[i]), "unknown error");
    ck_assert_str_eq(warmth_err_name(unknown[i]), "WARMTH_E?");
  }
}
END_TEST

START_TEST(test_state_names) {
  static const char *const want[] = {"unknown",   "warming", "warm",
                                     "failing",   "idle",    "disabled",
                                     "reachable", "sleeping"};
  ck_assert_uint_eq(WARMTH_STATE_COUNT, sizeof want / sizeof want[0]);
  for (int i = 0; i < WARMTH_STATE_COUNT; i++)
    ck_assert_str_eq(warmth_state_name(i), want[i]);
  ck_assert_str_eq(warmth_state_name(-1), "invalid");
  ck_assert_str_eq(warmth_state_name(WARMTH_STATE_COUNT), "invalid");
  ck_assert_str_eq(warmth_state_name(65535), "invalid");
}
END_TEST

START_TEST(test_error_class_names) {
  for (int i = 0; i < WARMTH_ERR_CLASS_COUNT; i++) {
    const char *n = warmth_error_class_name(i);
    ck_assert_uint_gt(strlen(n), 0);
    ck_assert_str_ne(n, "invalid");
    for (int j = 0; j < i; j++)
      ck_assert_str_ne(n, warmth_error_class_name(j));
  }
  ck_assert_str_eq(warmth_error_class_name(WARMTH_ERR_NONE), "none");
  ck_assert_str_eq(warmth_error_class_name(WARMTH_ERR_RATE), "rate");
  ck_assert_str_eq(warmth_error_class_name(-1), "invalid");
  ck_assert_str_eq(warmth_error_class_name(WARMTH_ERR_CLASS_COUNT), "invalid");
}
END_TEST

START_TEST(test_version) {
  /* The library loaded is the one these headers describe. */
  ck_assert_uint_eq(warmth_version(), WARMTH_VERSION_HEX);
  ck_assert_str_eq(warmth_version_string(), WARMTH_VERSION_STRING);
  char v[32];
  snprintf(v, sizeof v, "%d.%d.%d", WARMTH_VERSION_MAJOR, WARMTH_VERSION_MINOR,
           WARMTH_VERSION_PATCH);
  ck_assert_str_eq(warmth_version_string(), v);
}
END_TEST

/* ---- limits ------------------------------------------------------------- */

START_TEST(test_every_int_is_safe) {
  /* Any int gives a usable string (a binding may pass garbage). */
  for (int i = -100; i <= 100; i++) {
    ck_assert_ptr_nonnull(warmth_strerror(i));
    ck_assert_ptr_nonnull(warmth_err_name(i));
    ck_assert_ptr_nonnull(warmth_state_name(i));
    ck_assert_ptr_nonnull(warmth_error_class_name(i));
  }
}
END_TEST

START_TEST(test_open_errors_named) {
  /* The codes warmth_open really returns carry their own messages. */
  warmth_t *h = NULL;
  char name[TU_NAME_LEN];
  tu_name(name);
  int rc = warmth_open(&h, name, 0);
  ck_assert_int_eq(rc, WARMTH_ENOENT);
  ck_assert_str_eq(warmth_err_name(rc), "WARMTH_ENOENT");
  ck_assert(strstr(warmth_strerror(rc), "warmd") != NULL);
  rc = warmth_open(&h, "bad", 0);
  ck_assert_str_eq(warmth_err_name(rc), "WARMTH_EINVAL");
}
END_TEST

Suite *errors_suite(void) {
  Suite *s = suite_create("errors");
  TCase *core = tcase_create("core");
  tcase_add_test(core, test_codes_distinct);
  tcase_add_test(core, test_success_and_unknown);
  tcase_add_test(core, test_state_names);
  tcase_add_test(core, test_error_class_names);
  tcase_add_test(core, test_version);
  suite_add_tcase(s, core);
  TCase *limits = tcase_create("limits");
  tcase_add_test(limits, test_every_int_is_safe);
  tcase_add_test(limits, test_open_errors_named);
  suite_add_tcase(s, limits);
  return s;
}

int main(void) { return tu_run(errors_suite()); }
