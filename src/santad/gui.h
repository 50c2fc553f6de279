/*
 * The console user's notification agents (gui.c, santa-gui), on the loop
 * thread. Its state (struct gui) is gui.c's alone.
 */
#ifndef SANTAD_GUI_H
#define SANTAD_GUI_H

#include <stdint.h>

#include "santa/ipc.h"

struct santad;
struct proc_info;
struct santa_decision;

struct gui;
int santad_gui_start(struct santad *d);
void santad_gui_stop(struct santad *d);
/* SANTAD_GUI_REGISTER from a validated santa-gui. */
void santad_gui_register(struct santad *d, struct ipc_conn *conn, struct ipc_msg *req);
/* After a block was answered: tells the console user (unless silent). */
void santad_gui_block(struct santad *d, const char *path, const struct proc_info *proc,
		      const struct santa_decision *decision, const uint8_t *sha256);
/* After the policy changed: announces a new client mode. */
void santad_gui_policy_changed(struct santad *d);
/* santactl status's "gui" section. */
void santad_gui_status(struct santad *d, struct ipc_value *dict);

#endif
