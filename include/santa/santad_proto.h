/*
 * What santad answers on santad.sock (lib/ipc message types and fields).
 * Read-only requests are open to every validated santactl; the rest need a
 * santactl running as root (privilege fixed at the handshake).
 */
#ifndef SANTA_SANTAD_PROTO_H
#define SANTA_SANTAD_PROTO_H

#include "santa/ipc_msg.h"

#define SANTAD_SOCKET_NAME "santad.sock"

enum santad_request {
	/* -> { mode, log_type, static_rules, rules: {binary, certificate, teamid, signingid,
	 *      cdhash}, cache: {entries, capacity, hits, misses}, decisions: {allowed, denied,
	 *      timeouts}, ignore_marks, watched: [path...], event_log_path, sync_server } */
	SANTAD_STATUS = IPC_TYPE_FIRST_USER,
	/* { rules: [{identifier, rule_type, policy, custom_msg?, custom_url?}] } -> { applied }
	 * privileged; identifiers are validated and normalised as rule_type requires */
	SANTAD_RULE_ADD,
	/* { identifier, rule_type } -> { found, policy?, custom_msg?, custom_url?, static? } */
	SANTAD_RULE_CHECK,
	/* privileged; -> {} */
	SANTAD_FLUSH_CACHE,
	/* { sha256, path } -> { verdict ("ALLOW"/"DENY"), reason, explain?, rule_policy? }:
	 * the decision santad would make for that file now. santactl hashes the file
	 * itself: santad never opens a path a client names. */
	SANTAD_FILEINFO,
	/* { dev, ino, mtime_ns, ctime_ns, size } -> { cached, verdict?, reason? }: santactl
	 * stats the file; santad only looks the key up */
	SANTAD_CHECK_CACHE,
	/* { after_id?, limit? } -> { events: [{id, json}], pending }: events waiting for upload */
	SANTAD_EVENTS_LIST,
};

#endif
