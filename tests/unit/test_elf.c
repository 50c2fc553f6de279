/* What santa_elf_read says about built ELF images: programs, libraries, and hostile headers. */
#include <elf.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cmocka.h>

#include "santa/elf.h"

/* A 64-bit image: header, program headers at 64, an interpreter string and a dynamic section. */
struct image {
	unsigned char bytes[4096];
	size_t len;
};

static void
build64(struct image *im, uint16_t type, bool interp, bool dynamic, bool soname)
{
	Elf64_Ehdr *eh = (Elf64_Ehdr *)im->bytes;
	Elf64_Phdr *ph = (Elf64_Phdr *)(im->bytes + sizeof(*eh));
	Elf64_Dyn *dyn = (Elf64_Dyn *)(im->bytes + 1024);
	int n = 0;

	memset(im, 0, sizeof(*im));
	memcpy(eh->e_ident, ELFMAG, SELFMAG);
	eh->e_ident[EI_CLASS] = ELFCLASS64;
	eh->e_ident[EI_DATA] = ELFDATA2LSB;
	eh->e_type = type;
	eh->e_machine = EM_X86_64;
	eh->e_phoff = sizeof(*eh);
	eh->e_phentsize = sizeof(Elf64_Phdr);
	ph[n++] = (Elf64_Phdr){ .p_type = PT_LOAD };
	if (interp) {
		strcpy((char *)im->bytes + 512, "/lib64/ld-linux-x86-64.so.2");
		ph[n++] = (Elf64_Phdr){ .p_type = PT_INTERP, .p_offset = 512, .p_filesz = 28 };
	}
	if (dynamic) {
		int d = 0;

		dyn[d++] = (Elf64_Dyn){ .d_tag = DT_NEEDED, .d_un.d_val = 1 };
		if (soname)
			dyn[d++] = (Elf64_Dyn){ .d_tag = DT_SONAME, .d_un.d_val = 2 };
		dyn[d++] = (Elf64_Dyn){ .d_tag = DT_NULL };
		ph[n++] = (Elf64_Phdr){ .p_type = PT_DYNAMIC, .p_offset = 1024,
					.p_filesz = (uint64_t)d * sizeof(Elf64_Dyn) };
	}
	eh->e_phnum = (uint16_t)n;
	im->len = 2048;
}

static int
read_image(const struct image *im, struct santa_elf_info *info)
{
	int fd = memfd_create("elf", MFD_CLOEXEC), r;

	assert_true(fd >= 0);
	assert_int_equal(write(fd, im->bytes, im->len), (ssize_t)im->len);
	r = santa_elf_read(fd, info);
	close(fd);
	return r;
}

static void
test_program_and_library(void **state)
{
	struct santa_elf_info info;
	struct image im;

	build64(&im, ET_DYN, true, true, false); /* a PIE program */
	assert_int_equal(read_image(&im, &info), 0);
	assert_true(info.is64);
	assert_true(info.has_interp);
	assert_false(info.has_soname);
	assert_true(santa_elf_is_program(&info));

	build64(&im, ET_DYN, false, true, true); /* a library */
	assert_int_equal(read_image(&im, &info), 0);
	assert_false(info.has_interp);
	assert_true(info.has_soname);
	assert_false(santa_elf_is_program(&info));

	build64(&im, ET_DYN, true, true, true); /* libc.so.6: runnable and a library */
	assert_int_equal(read_image(&im, &info), 0);
	assert_true(info.has_interp && info.has_soname);

	build64(&im, ET_EXEC, false, false, false); /* a static program */
	assert_int_equal(read_image(&im, &info), 0);
	assert_true(santa_elf_is_program(&info));
	assert_false(info.has_soname);

	build64(&im, ET_DYN, false, false, false); /* static-pie: no interpreter, no soname */
	assert_int_equal(read_image(&im, &info), 0);
	assert_false(info.has_interp || info.has_soname);
}

static void
test_not_elf(void **state)
{
	struct santa_elf_info info;
	struct image im;

	memset(&im, 0, sizeof(im));
	memcpy(im.bytes, "#!/bin/sh\necho hi\n", 18);
	im.len = 18;
	assert_int_equal(read_image(&im, &info), -ENOEXEC);

	build64(&im, ET_DYN, true, true, true);
	im.bytes[EI_DATA] = ELFDATA2MSB; /* big-endian: not one of ours */
	assert_int_equal(read_image(&im, &info), -ENOEXEC);

	build64(&im, ET_DYN, true, true, true);
	im.len = 20; /* cut inside the header */
	assert_int_equal(read_image(&im, &info), -ENOEXEC);
}

/* Offsets and counts from the file are not trusted: nothing is read past what exists. */
static void
test_hostile_headers(void **state)
{
	Elf64_Ehdr *eh;
	Elf64_Phdr *ph;
	struct santa_elf_info info;
	struct image im;

	build64(&im, ET_DYN, true, true, true);
	eh = (Elf64_Ehdr *)im.bytes;
	eh->e_phoff = 1u << 30; /* program headers past the end */
	assert_int_equal(read_image(&im, &info), 0);
	assert_false(info.has_interp || info.has_soname);

	build64(&im, ET_DYN, true, true, true);
	eh = (Elf64_Ehdr *)im.bytes;
	eh->e_phnum = 65535; /* more than the file and than we look at */
	assert_int_equal(read_image(&im, &info), 0);
	assert_true(info.has_interp); /* the real ones are still seen */

	build64(&im, ET_DYN, true, true, true);
	eh = (Elf64_Ehdr *)im.bytes;
	eh->e_phentsize = 4; /* smaller than a program header */
	assert_int_equal(read_image(&im, &info), 0);
	assert_false(info.has_interp || info.has_soname);

	build64(&im, ET_DYN, false, true, true);
	ph = (Elf64_Phdr *)(im.bytes + sizeof(Elf64_Ehdr));
	ph[1].p_offset = UINT64_MAX - 8; /* dynamic section nowhere */
	ph[1].p_filesz = UINT64_MAX;
	assert_int_equal(read_image(&im, &info), 0);
	assert_false(info.has_soname);

	build64(&im, ET_DYN, false, true, true);
	ph = (Elf64_Phdr *)(im.bytes + sizeof(Elf64_Ehdr));
	ph[1].p_filesz = 4; /* shorter than one entry */
	assert_int_equal(read_image(&im, &info), 0);
	assert_false(info.has_soname);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_program_and_library),
		cmocka_unit_test(test_not_elf),
		cmocka_unit_test(test_hostile_headers),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
