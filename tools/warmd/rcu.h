/* rcu.h - the one liburcu flavour warmd uses, chosen in one place.
 * memb: no signals, no thread-exit hooks, readers pay a compiler barrier;
 * the kernel's membarrier makes the writer side cheap.  Only warmd links
 * liburcu: libwarmth, loaded into PHP and Python workers, never does. */
#ifndef WARMD_RCU_H
#define WARMD_RCU_H
#define RCU_MEMB
#include <urcu.h>
#include <urcu/rculfhash.h>
#endif
