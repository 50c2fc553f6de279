/*
 * ELF header reading shared by santactl fileinfo, santabundleservice and
 * santad's loader check (include/santa/elf.h). The file is hostile input:
 * every offset and count comes from it, so reads are bounded and a short or
 * odd file is "not ELF" or "no such header", never a read past a buffer.
 */
#include <elf.h>
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "santa/elf.h"

#define DYN_ENTRIES_MAX 512 /* dynamic entries looked at for DT_SONAME */

/* One program header, whichever the class. */
struct phdr {
	uint32_t type;
	uint64_t offset, filesz;
};

static void
phdr_at(const unsigned char *table, size_t i, bool is64, uint16_t entsize, struct phdr *out)
{
	const unsigned char *p = table + i * entsize;

	if (is64) {
		Elf64_Phdr h;

		memcpy(&h, p, sizeof(h));
		out->type = h.p_type, out->offset = h.p_offset, out->filesz = h.p_filesz;
	} else {
		Elf32_Phdr h;

		memcpy(&h, p, sizeof(h));
		out->type = h.p_type, out->offset = h.p_offset, out->filesz = h.p_filesz;
	}
}

/* Whether the dynamic section at [offset, offset + size) names a DT_SONAME. */
static bool
dynamic_has_soname(int fd, bool is64, uint64_t offset, uint64_t size)
{
	union {
		Elf64_Dyn d64[DYN_ENTRIES_MAX];
		Elf32_Dyn d32[DYN_ENTRIES_MAX];
	} dyn;
	size_t entsize = is64 ? sizeof(Elf64_Dyn) : sizeof(Elf32_Dyn), n, i;
	ssize_t got;

	if (size > sizeof(dyn))
		size = sizeof(dyn);
	got = pread(fd, &dyn, (size_t)size, (off_t)offset);
	if (got <= 0)
		return false;
	n = (size_t)got / entsize;
	for (i = 0; i < n; i++) {
		int64_t tag = is64 ? dyn.d64[i].d_tag : dyn.d32[i].d_tag;

		if (tag == DT_NULL)
			break;
		if (tag == DT_SONAME)
			return true;
	}
	return false;
}

int
santa_elf_read(int fd, struct santa_elf_info *info)
{
	union {
		unsigned char ident[EI_NIDENT];
		Elf64_Ehdr h64;
		Elf32_Ehdr h32;
	} eh;
	unsigned char table[SANTA_ELF_PHDRS_MAX * sizeof(Elf64_Phdr)];
	uint64_t phoff;
	uint16_t phentsize, phnum, i;
	size_t want;
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
	/* Program headers smaller than the class's are not ones a loader would accept. */
	if (phentsize < (info->is64 ? sizeof(Elf64_Phdr) : sizeof(Elf32_Phdr)) || phnum == 0)
		return 0;
	if (phnum > sizeof(table) / phentsize)
		phnum = (uint16_t)(sizeof(table) / phentsize);
	want = (size_t)phnum * phentsize;
	n = pread(fd, table, want, (off_t)phoff);
	if (n <= 0)
		return 0;
	phnum = (uint16_t)((size_t)n / phentsize);
	for (i = 0; i < phnum; i++) {
		struct phdr ph;

		phdr_at(table, i, info->is64, phentsize, &ph);
		if (ph.type == PT_INTERP)
			info->has_interp = true;
		else if (ph.type == PT_DYNAMIC && !info->has_soname)
			info->has_soname = dynamic_has_soname(fd, info->is64, ph.offset, ph.filesz);
	}
	return 0;
}

bool
santa_elf_is_program(const struct santa_elf_info *info)
{
	return info->type == ET_EXEC || (info->type == ET_DYN && info->has_interp);
}
