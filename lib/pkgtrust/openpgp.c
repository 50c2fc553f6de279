/* placeholder: being written */
typedef int santa_openpgp_placeholder_t;
