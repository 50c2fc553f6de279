# Sourced by the sync tests (tests/integration/sync*.sh), after checks.sh:
# the local test server (tests/integration/sync_server.py) and what it saw.
# Each request it gets is a line of $srv/requests.jsonl: stage, path,
# headers, encoding and the decoded body.
#
#   sync_server_start PORTFILE [TLSDIR]   starts a server on $srv; sets
#                                         sync_server_pid and sync_server_port
#   requests STAGE                        the bodies of that stage's requests
#   requests_field STAGE FIELD            a top-level field of each of them
#   headers_of STAGE HEADER               a request header of each ("-" if absent)
#   jq_field JSON EXPR                    EXPR of the parsed JSON d, printed
#   make_test_pki DIR                     a CA (ca.pem) that signed a server
#                                         certificate for localhost/127.0.0.1
#                                         (server.pem) and a client one
#                                         (client.pem, key 0600), and an
#                                         unrelated CA (other-ca.pem)

sync_server_start() {
	python3 "$(dirname "${BASH_SOURCE[0]}")/../integration/sync_server.py" "$srv" "$@" &
	sync_server_pid=$!
	wait_or_die 30 "the sync test server listens" test -s "$1"
	sync_server_port=$(cat "$1")
}

requests() {
	python3 -c '
import json, sys
for line in open(sys.argv[1]):
    r = json.loads(line)
    if r["stage"] == sys.argv[2]:
        print(json.dumps(r["body"], sort_keys=True))' "$srv/requests.jsonl" "$1"
}

requests_field() {
	python3 -c '
import json, sys
for line in open(sys.argv[1]):
    r = json.loads(line)
    if r["stage"] == sys.argv[2]:
        print(r.get(sys.argv[3]) or "")' "$srv/requests.jsonl" "$1" "$2"
}

headers_of() {
	python3 -c '
import json, sys
for line in open(sys.argv[1]):
    r = json.loads(line)
    if r["stage"] == sys.argv[2]:
        print(r["headers"].get(sys.argv[3]) or "-")' "$srv/requests.jsonl" "$1" "$2"
}

jq_field() {
	python3 -c 'import json,sys; d=json.loads(sys.argv[1]); print(eval(sys.argv[2], {"d": d}))' "$1" "$2"
}

make_test_pki() {
	mkdir -p "$1"
	(
		cd "$1"
		openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=Test CA" -keyout ca.key -out ca.pem
		openssl req -newkey rsa:2048 -nodes -subj "/CN=localhost" -keyout server.key -out server.csr
		printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\n' > san.ext
		openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 \
			-extfile san.ext -out server.pem
		openssl req -newkey rsa:2048 -nodes -subj "/CN=test-machine-1" -keyout client.key -out client.csr
		openssl x509 -req -in client.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 -out client.pem
		openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=Other CA" -keyout other.key \
			-out other-ca.pem
	) > /dev/null 2>&1
	chmod 0600 "$1/client.key"
	chmod 0644 "$1/ca.pem" "$1/other-ca.pem" "$1/client.pem"
	chmod 0755 "$1"
}
