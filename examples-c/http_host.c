/* A small single-threaded HTTP/1.1 host for libopensharing, in plain C and POSIX sockets: one
 * request per connection, the engine's IO needs answered from the local disk, local-store file
 * URLs verified by the engine and served with Range and HEAD.
 *
 * Usage: http_host CONFIG.json PORT [N]     (e.g. ../demo/opensharing.json 8082)
 * With N, it exits cleanly after N connections (the sanitizer check uses it). */
#include <arpa/inet.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include "listing.h"
#include "opensharing.h"

#define MAX_REQUEST (1 << 20)
static char config_dir[4096];
static opensharing_engine *engine;

/* File answers carry the engine's JSON error shape, as every host's do. */
#define FILE_DENIED "HTTP/1.1 403 Forbidden\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n" \
  "{\"errorCode\":\"PERMISSION_DENIED\",\"message\":\"the file URL's signature does not match or has expired\"}"
#define FILE_MISSING "HTTP/1.1 404 Not Found\r\nContent-Type: application/json\r\nContent-Length: 64\r\n\r\n" \
  "{\"errorCode\":\"RESOURCE_DOES_NOT_EXIST\",\"message\":\"no such file\"}"

static void send_all(int fd, const void *p, size_t n) {
  for (const char *c = p; n > 0;) {
    ssize_t w = write(fd, c, n);
    if (w <= 0) return;
    c += w, n -= (size_t)w;
  }
}

/* PATH = the root of local store STORE (relative roots are relative to the config) + "/" + KEY. */
/* Whether `path` resolves, through symbolic links, outside `root` (paths that do not exist are
 * left to the caller to report as missing). */
static int escapes_root(const char *root, const char *path) {
  char real_root[PATH_MAX], real[PATH_MAX];
  if (!realpath(root, real_root) || !realpath(path, real)) return 0;
  size_t n = strlen(real_root);
  return strncmp(real, real_root, n) != 0 || (real[n] != '/' && real[n] != '\0');
}

/* The file of `key` in local store `store`: 0, -1 for a store that is not local, -2 for a key
 * that a symbolic link leads out of the store's root. */
static int store_path(char *path, size_t cap, const uint8_t *store, size_t store_len, const char *key) {
  opensharing_bytes root;
  if (opensharing_engine_local_store_root(engine, store, store_len, &root) != OPENSHARING_OK) return -1;
  int absolute = root.len > 0 && root.ptr[0] == '/';
  char dir[4096];
  int n = snprintf(dir, sizeof dir, "%s%s%.*s", absolute ? "" : config_dir, absolute ? "" : "/", (int)root.len, (const char *)root.ptr);
  opensharing_bytes_free(root);
  if (n < 0 || (size_t)n >= sizeof dir || (size_t)snprintf(path, cap, "%s/%s", dir, key) >= cap) return -1;
  return escapes_root(dir, path) ? -2 : 0;
}

static opensharing_result supply(opensharing_exchange *ex) {
  opensharing_need need;
  char path[8192], key[4096];
  if (opensharing_exchange_need(ex, &need) != OPENSHARING_OK) return OPENSHARING_INVALID_STATE;
  if (need.kind == OPENSHARING_NEED_HTTP) return opensharing_exchange_supply_error(ex, (const uint8_t *)"no HTTP client here", 19);
  snprintf(key, sizeof key, "%.*s", (int)need.key.len, (const char *)need.key.ptr);
  int where = store_path(path, sizeof path, need.store.ptr, need.store.len, key);
  if (where == -1) return opensharing_exchange_supply_error(ex, (const uint8_t *)"not local", 9);
  if (where == -2) return opensharing_exchange_supply_not_found(ex);
  if (need.kind == OPENSHARING_NEED_LIST) {
    char root[8192];
    if (store_path(root, sizeof root, need.store.ptr, need.store.len, "") != 0) return opensharing_exchange_supply_error(ex, (const uint8_t *)"not local", 9);
    return supply_dir_listing(ex, root, &need);
  }
  if (need.kind == OPENSHARING_NEED_HEAD) { /* a lookup: size and time, no bytes */
    struct stat st;
    if (stat(path, &st) != 0 || !S_ISREG(st.st_mode)) return opensharing_exchange_supply_not_found(ex);
    opensharing_object_meta m = {need.key.ptr, need.key.len, (uint64_t)st.st_size, (int64_t)st.st_mtime * 1000};
    return opensharing_exchange_supply_meta(ex, &m);
  }
  FILE *f = fopen(path, "rb");
  if (!f) return opensharing_exchange_supply_not_found(ex);
  fseek(f, 0, SEEK_END);
  long size = ftell(f);
  rewind(f);
  uint8_t *data = malloc((size_t)size + 1);
  size_t got = fread(data, 1, (size_t)size, f);
  fclose(f);
  opensharing_result r = opensharing_exchange_supply_bytes(ex, data, got);
  free(data);
  return r;
}

/* Serves a verified local file: 200, or 206 for `Range: bytes=a-b | a- | -n`, 416 when unsatisfiable. */
static void serve_file(int fd, const char *method, const char *path, const char *range) {
  char head[512];
  FILE *f = fopen(path, "rb");
  if (!f) return send_all(fd, FILE_MISSING, sizeof FILE_MISSING - 1);
  fseek(f, 0, SEEK_END);
  long size = ftell(f), start = 0, end = size - 1, n = 0;
  int partial = range && (sscanf(range, "bytes=-%ld", &n) == 1 || sscanf(range, "bytes=%ld-%ld", &start, &end) >= 1);
  if (partial && n > 0) start = size - n, end = size - 1;
  if (end >= size) end = size - 1;
  if (start < 0 || start > end) {
    fclose(f);
    return send_all(fd, head, (size_t)snprintf(head, sizeof head, "HTTP/1.1 416 Range Not Satisfiable\r\nContent-Range: bytes */%ld\r\nContent-Length: 0\r\n\r\n", size));
  }
  send_all(fd, head, (size_t)snprintf(head, sizeof head, "HTTP/1.1 %s\r\nContent-Length: %ld\r\nAccept-Ranges: bytes\r\n", partial ? "206 Partial Content" : "200 OK", end - start + 1));
  if (partial) send_all(fd, head, (size_t)snprintf(head, sizeof head, "Content-Range: bytes %ld-%ld/%ld\r\n", start, end, size));
  send_all(fd, "\r\n", 2);
  fseek(f, start, SEEK_SET);
  char chunk[65536];
  for (long left = strcmp(method, "HEAD") ? end - start + 1 : 0; left > 0;) {
    size_t got = fread(chunk, 1, left < (long)sizeof chunk ? (size_t)left : sizeof chunk, f);
    if (got == 0) break;
    send_all(fd, chunk, got);
    left -= (long)got;
  }
  fclose(f);
}

/* Parses one request from `buf` and answers it through the exchange loop. */
static void serve(int fd, char *buf, size_t len) {
  char *head_end = strstr(buf, "\r\n\r\n"), *line_end = strstr(buf, "\r\n"), method[16], target[8192], range[128] = "";
  if (!head_end || !line_end || sscanf(buf, "%15s %8191s", method, target) != 2) return;
  opensharing_header headers[64];
  size_t count = 0, content_length = 0;
  for (char *h = line_end + 2; h < head_end && count < 64; h = strstr(h, "\r\n") + 2) {
    char *eol = strstr(h, "\r\n"), *colon = memchr(h, ':', (size_t)(eol - h)), *v = colon ? colon + 1 : eol;
    while (*v == ' ') v++;
    if (!colon) continue;
    headers[count++] = (opensharing_header){(const uint8_t *)h, (size_t)(colon - h), (const uint8_t *)v, (size_t)(eol - v)};
    if (strncasecmp(h, "content-length:", 15) == 0) content_length = strtoul(v, NULL, 10);
    if (strncasecmp(h, "range:", 6) == 0) snprintf(range, sizeof range, "%.*s", (int)(eol - v), v);
  }
  if (head_end + 4 + content_length > buf + len) content_length = 0;
  if (strcmp(target, "/healthz") == 0) return send_all(fd, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", 38);
  struct timeval tv;
  gettimeofday(&tv, NULL);
  int64_t now = (int64_t)tv.tv_sec * 1000 + tv.tv_usec / 1000;
  opensharing_bytes store, key;
  opensharing_result verified = opensharing_engine_verify_file_url(engine, (const uint8_t *)target, strlen(target), now, &store, &key);
  if (verified == OPENSHARING_DENIED) {
    fprintf(stderr, "%s file URL refused: bad or expired signature\n", method);
    return send_all(fd, FILE_DENIED, sizeof FILE_DENIED - 1);
  }
  if (verified == OPENSHARING_OK) {
    char path[8192], k[4096];
    snprintf(k, sizeof k, "%.*s", (int)key.len, (const char *)key.ptr);
    if (store_path(path, sizeof path, store.ptr, store.len, k) == 0) serve_file(fd, method, path, range[0] ? range : NULL);
    else send_all(fd, FILE_MISSING, sizeof FILE_MISSING - 1);
    opensharing_bytes_free(store);
    return opensharing_bytes_free(key);
  }
  opensharing_request req = {(const uint8_t *)method, strlen(method), (const uint8_t *)target, strlen(target), headers, count, (const uint8_t *)head_end + 4, content_length, false, NULL, 0};
  opensharing_exchange *ex = NULL;
  if (opensharing_engine_handle(engine, &req, now, &ex) != OPENSHARING_OK) return;
  for (opensharing_event ev; opensharing_exchange_poll(ex, &ev) == OPENSHARING_OK;) {
    if (ev == OPENSHARING_EVENT_NEED && supply(ex) != OPENSHARING_OK) break;
    if (ev == OPENSHARING_EVENT_HEAD) {
      uint16_t status;
      size_t n;
      char line[8192];
      opensharing_exchange_status(ex, &status);
      opensharing_exchange_header_count(ex, &n);
      send_all(fd, line, (size_t)snprintf(line, sizeof line, "HTTP/1.1 %u X\r\nConnection: close\r\n", status));
      for (size_t i = 0; i < n; i++) {
        opensharing_str k, v;
        opensharing_exchange_header(ex, i, &k, &v);
        send_all(fd, line, (size_t)snprintf(line, sizeof line, "%.*s: %.*s\r\n", (int)k.len, (const char *)k.ptr, (int)v.len, (const char *)v.ptr));
      }
      send_all(fd, "\r\n", 2);
    }
    if (ev == OPENSHARING_EVENT_BODY) {
      uint8_t chunk[65536];
      size_t n;
      while (opensharing_exchange_read(ex, chunk, sizeof chunk, &n) == OPENSHARING_OK && n > 0) send_all(fd, chunk, n);
    }
    if (ev == OPENSHARING_EVENT_DONE) {
      opensharing_str audit;
      opensharing_exchange_audit_json(ex, &audit);
      fprintf(stderr, "%s %.*s\n", method, (int)audit.len, (const char *)audit.ptr);
      break;
    }
  }
  opensharing_exchange_free(ex);
}

int main(int argc, char **argv) {
  if (argc != 3 && argc != 4) return fprintf(stderr, "usage: %s CONFIG.json PORT [N]\n", argv[0]), 2;
  long connections = argc == 4 ? atol(argv[3]) : 0;
  FILE *f = fopen(argv[1], "rb");
  if (!f) return perror(argv[1]), 2;
  static char json[MAX_REQUEST], buf[MAX_REQUEST + 1];
  size_t json_len = fread(json, 1, sizeof json, f);
  fclose(f);
  if (opensharing_engine_new((const uint8_t *)json, json_len, &engine) != OPENSHARING_OK) return fprintf(stderr, "bad config\n"), 1;
  const char *slash = strrchr(argv[1], '/');
  snprintf(config_dir, sizeof config_dir, "%.*s", slash ? (int)(slash - argv[1]) : 1, slash ? argv[1] : ".");
  int srv = socket(AF_INET, SOCK_STREAM, 0), one = 1;
  setsockopt(srv, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(argv[2])), .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  if (bind(srv, (struct sockaddr *)&addr, sizeof addr) != 0 || listen(srv, 64) != 0) return perror("listen"), 1;
  fprintf(stderr, "serving %s on http://127.0.0.1:%s\n", argv[1], argv[2]);
  for (long served = 0; connections == 0 || served < connections; served++) {
    int fd = accept(srv, NULL, NULL);
    if (fd < 0) continue;
    size_t len = 0;
    for (ssize_t n; len < MAX_REQUEST && (n = read(fd, buf + len, MAX_REQUEST - len)) > 0;) {
      buf[len += (size_t)n] = '\0';
      char *end = strstr(buf, "\r\n\r\n"), *cl = strcasestr(buf, "\r\ncontent-length:");
      if (end && (size_t)(end + 4 - buf) + (cl && cl < end ? strtoul(cl + 17, NULL, 10) : 0) <= len) break;
    }
    serve(fd, buf, len);
    close(fd);
  }
  close(srv);
  opensharing_engine_free(engine);
  return 0;
}
