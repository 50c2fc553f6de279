/* What an ELF file is, from its header and program headers (read with pread: the fd's position stays). */
#ifndef SANTA_ELF_H
#define SANTA_ELF_H

#include <stdbool.h>
#include <stdint.h>

struct santa_elf_info {
	bool is64;
	uint16_t type;    /* ET_EXEC, ET_DYN, ET_REL, ... */
	uint16_t machine; /* EM_* */
	bool has_interp;  /* PT_INTERP: a program (a PIE one if ET_DYN), not a library */
	bool has_soname;  /* DT_SONAME: built as a shared library (libc.so.6 has both) */
};

#define SANTA_ELF_PHDRS_MAX 256 /* program headers looked at */

/* Returns 0 and fills info for a little-endian ELF file, -ENOEXEC for anything else. */
int santa_elf_read(int fd, struct santa_elf_info *info);
/* A program one can exec: ET_EXEC, or ET_DYN with an interpreter (a PIE executable). */
bool santa_elf_is_program(const struct santa_elf_info *info);

#endif
