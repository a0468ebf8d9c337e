# Sourced by the sanitizer checks of the example hosts (examples-c/check_http_host.sh,
# examples-go/check_asan.sh): the request paths every host must serve cleanly.
#   host_requests NAME PORT TOKEN
# sends, to the demo catalog's base path on 127.0.0.1:PORT, discovery, a bad token, a /query, a file GET with a suffix Range and a HEAD (6 requests),
# and exits non-zero naming the first answer that is wrong.
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

# wait_healthy NAME PORT LOG: waits up to 60 s for /healthz.
wait_healthy() {
  local name="$1" port="$2" log="$3"
  for _ in $(seq 300); do curl -s -o /dev/null "http://127.0.0.1:$port/healthz" && return 0; sleep 0.2; done
  cat "$log" >&2; echo "$name: the host did not start in 60 s" >&2; exit 1
}

host_requests() {
  local name="$1" port="$2" token="$3"
  local url="http://127.0.0.1:$port/delta-sharing" auth="Authorization: Bearer $token" status query file
  status="$(curl -s -o /dev/null -w '%{http_code}' --max-time 60 -H "$auth" "$url/shares")"
  [ "$status" = 200 ] || { echo "$name: discovery answered $status" >&2; exit 1; }
  status="$(curl -s -o /dev/null -w '%{http_code}' --max-time 60 -H "Authorization: Bearer wrong" "$url/shares")"
  [ "$status" = 401 ] || { echo "$name: a bad token answered $status" >&2; exit 1; }
  query="$(curl -s -H "$auth" -H 'Content-Type: application/json' -d '{"limitHint":1}' \
    "$url/shares/demo/schemas/default/tables/trips/query")"
  file="$(printf '%s\n' "$query" | jq -r 'select(.file) | .file.url' | head -n 1)"
  [ -n "$file" ] || { echo "$name: the query returned no file: $query" >&2; exit 1; }
  file="http://127.0.0.1:$port/${file#*://*/}"
  status="$(curl -s -o /dev/null -w '%{http_code}' --max-time 60 -H 'Range: bytes=-16' "$file")"
  [ "$status" = 206 ] || { echo "$name: a suffix Range answered $status" >&2; exit 1; }
  status="$(curl -s -o /dev/null -w '%{http_code}' --max-time 60 -I "$file")"
  [ "$status" = 200 ] || { echo "$name: HEAD of a file answered $status" >&2; exit 1; }
}
