/* ELF header reading shared by santactl fileinfo and santabundleservice (include/santa/elf.h). */
#include <elf.h>
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "santa/elf.h"

int
santa_elf_read(int fd, struct santa_elf_info *info)
{
	union {
		unsigned char ident[EI_NIDENT];
		Elf64_Ehdr h64;
		Elf32_Ehdr h32;
	} eh;
	uint64_t phoff;
	uint16_t phentsize, phnum, i;
	ssize_t n;

	memset(info, 0, sizeof(*info));
	n = pread(fd, &eh, sizeof(eh), 0);
	if (n < (ssize_t)sizeof(Elf32_Ehdr) || memcmp(eh.ident, ELFMAG, SELFMAG) != 0 ||
	    eh.ident[EI_DATA] != ELFDATA2LSB)
		return -ENOEXEC;
	info->is64 = eh.ident[EI_CLASS] == ELFCLASS64;
	if (info->is64 && n >= (ssize_t)sizeof(Elf64_Ehdr)) {
		info->type = eh.h64.e_type, info->machine = eh.h64.e_machine;
		phoff = eh.h64.e_phoff, phentsize = eh.h64.e_phentsize, phnum = eh.h64.e_phnum;
	} else if (eh.ident[EI_CLASS] == ELFCLASS32) {
		info->type = eh.h32.e_type, info->machine = eh.h32.e_machine;
		phoff = eh.h32.e_phoff, phentsize = eh.h32.e_phentsize, phnum = eh.h32.e_phnum;
	} else {
		return -ENOEXEC;
	}
	for (i = 0; i < phnum && i < SANTA_ELF_PHDRS_MAX && phentsize >= sizeof(uint32_t); i++) {
		uint32_t p_type;

		if (pread(fd, &p_type, sizeof(p_type), (off_t)(phoff + (uint64_t)i * phentsize)) !=
		    (ssize_t)sizeof(p_type))
			break;
		if (p_type == PT_INTERP) {
			info->has_interp = true;
			break;
		}
	}
	return 0;
}

bool
santa_elf_is_program(const struct santa_elf_info *info)
{
	return info->type == ET_EXEC || (info->type == ET_DYN && info->has_interp);
}
