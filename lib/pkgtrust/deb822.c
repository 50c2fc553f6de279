/* placeholder: being written */
typedef int santa_deb822_placeholder_t;
