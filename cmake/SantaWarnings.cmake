# Compile flags shared by every target of the tree.
add_compile_options(
	-Wall -Wextra -Werror
	-Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wformat=2
	-Wno-unused-parameter
	-fno-strict-aliasing
	-D_GNU_SOURCE
	-D_FILE_OFFSET_BITS=64)

if(CMAKE_BUILD_TYPE STREQUAL "Release")
	add_compile_options(-D_FORTIFY_SOURCE=2 -fstack-protector-strong)
endif()

if(SANTA_SANITIZE)
	add_compile_options(-fsanitize=address,undefined -fno-omit-frame-pointer
		-fno-sanitize-recover=undefined)
	add_link_options(-fsanitize=address,undefined)
endif()

if(SANTA_FUZZ)
	if(NOT CMAKE_C_COMPILER_ID STREQUAL "Clang")
		message(FATAL_ERROR "SANTA_FUZZ needs clang: configure with CC=clang")
	endif()
	# Libraries get coverage instrumentation; fuzz targets add the libFuzzer main.
	add_compile_options(-fsanitize=fuzzer-no-link,address,undefined
		-fno-omit-frame-pointer -fno-sanitize-recover=undefined)
	add_link_options(-fsanitize=address,undefined)
endif()
