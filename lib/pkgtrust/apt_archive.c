/* placeholder: being written */
typedef int santa_apt_archive_placeholder_t;
