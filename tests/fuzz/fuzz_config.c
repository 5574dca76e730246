/* fuzz_config.c - libFuzzer target for warmd's config parser
 * (tools/warmd/config.c, through wd_config_parse): any bytes as a config
 * file.  It is accepted or refused with a message, never a crash or a leak.
 * Built and run by tests/fuzz/run.sh. */
#include <stdint.h>
#include <stdlib.h>

#include "warmd.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  struct wd_config *c = NULL;
  char err[1024];
  int rc = wd_config_parse("fuzz.conf", (const char *)data, size, &c, err,
                           sizeof err);
  if (rc == 0)
    wd_config_free(c);
  else if (c || !err[0])
    abort(); /* a refusal returns nothing and says why */
  return 0;
}
