/* placeholder: being written */
typedef int santa_pkgtrust_placeholder_t;
