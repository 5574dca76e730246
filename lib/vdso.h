/* vdso.h - the kernel's clock_gettime in the vDSO, called directly
 * (internal to libwarmth).
 *
 * glibc's clock_gettime() is a wrapper around the same vDSO function (a PLT
 * jump, a clock id check, errno handling): for CLOCK_MONOTONIC_COARSE, what
 * warmth_model_is_warm() reads on every call, the wrapper costs about as much
 * as the clock read itself (measured on the project's machine: 4.9 ns
 * through glibc, 3.0 ns direct).
 */
#ifndef WARMTH_VDSO_H
#define WARMTH_VDSO_H

#include <time.h>

typedef int (*warmth__clock_fn)(clockid_t, struct timespec *);

/* The vDSO's clock_gettime (__vdso_clock_gettime on x86,
 * __kernel_clock_gettime on arm64), found through the ELF image the kernel
 * maps into every process (getauxval(AT_SYSINFO_EHDR)), or NULL when there
 * is none or it does not look as expected (valgrind hides it, for one).  The
 * function returns 0, or a negative errno without setting errno.  The same
 * address is valid in children after fork(). */
warmth__clock_fn warmth__vdso_clock_gettime(void);

#endif /* WARMTH_VDSO_H */
