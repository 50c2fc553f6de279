/* placeholder: being written */
typedef int santa_dpkg_db_placeholder_t;
