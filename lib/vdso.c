/* vdso.c - find the vDSO's clock_gettime (see vdso.h).
 *
 * The vDSO is a small ELF shared object the kernel maps into every process;
 * its address is in the auxiliary vector.  Its dynamic section gives the
 * symbol table, the string table and the SysV hash table, whose second word
 * is the number of symbols (the kernel links the vDSO with
 * --hash-style=both, so DT_HASH is there on x86 and arm64; without it we
 * give up and the caller uses glibc).  Addresses in the image are link-time
 * addresses: the load bias is the image's address minus the first PT_LOAD's
 * vaddr - offset.  The image comes from the kernel and is trusted as
 * libc trusts it; still, anything unexpected means NULL.
 */
#define _GNU_SOURCE
#include <elf.h>
#include <link.h>
#include <stdint.h>
#include <string.h>
#include <sys/auxv.h>

#include "vdso.h"

warmth__clock_fn warmth__vdso_clock_gettime(void) {
  uintptr_t base = (uintptr_t)getauxval(AT_SYSINFO_EHDR);
  if (!base)
    return NULL;
  const ElfW(Ehdr) *eh = (const ElfW(Ehdr) *)base;
  if (memcmp(eh->e_ident, ELFMAG, SELFMAG) != 0 ||
      eh->e_ident[EI_CLASS] !=
          (sizeof(void *) == 8 ? ELFCLASS64 : ELFCLASS32) ||
      eh->e_phentsize != sizeof(ElfW(Phdr)))
    return NULL;
  const ElfW(Phdr) *ph = (const ElfW(Phdr) *)(base + eh->e_phoff);
  uintptr_t bias = 0;
  int loaded = 0;
  const ElfW(Dyn) *dyn = NULL;
  for (int i = 0; i < eh->e_phnum; i++) {
    if (ph[i].p_type == PT_LOAD && !loaded) {
      bias = base + ph[i].p_offset - ph[i].p_vaddr;
      loaded = 1;
    } else if (ph[i].p_type == PT_DYNAMIC) {
      dyn = (const ElfW(Dyn) *)(base + ph[i].p_offset);
    }
  }
  if (!loaded || !dyn)
    return NULL;
  const ElfW(Sym) *sym = NULL;
  const char *str = NULL;
  const uint32_t *hash = NULL;
  for (const ElfW(Dyn) *d = dyn; d->d_tag != DT_NULL; d++) {
    if (d->d_tag == DT_SYMTAB)
      sym = (const ElfW(Sym) *)(bias + d->d_un.d_ptr);
    else if (d->d_tag == DT_STRTAB)
      str = (const char *)(bias + d->d_un.d_ptr);
    else if (d->d_tag == DT_HASH)
      hash = (const uint32_t *)(bias + d->d_un.d_ptr);
  }
  if (!sym || !str || !hash)
    return NULL;
  uint32_t n = hash[1]; /* nchain: the number of symbols */
  for (uint32_t k = 0; k < n && k < 4096; k++) {
    if ((sym[k].st_info & 0xf) != STT_FUNC || sym[k].st_shndx == SHN_UNDEF)
      continue;
    const char *name = str + sym[k].st_name;
    if (strcmp(name, "__vdso_clock_gettime") == 0 ||
        strcmp(name, "__kernel_clock_gettime") == 0)
      return (warmth__clock_fn)(bias + sym[k].st_value);
  }
  return NULL;
}
