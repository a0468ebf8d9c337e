/* A small single-threaded HTTP/1.1 host for libopensharing, in plain C and POSIX sockets: one
 * request per connection, every request (signed local file URLs too) through the engine's
 * exchange loop, IO needs answered from the local disk, file bytes sent with sendfile(2).
 *
 * Usage: http_host CONFIG.json PORT [N]     (e.g. ../demo/opensharing.json 8082)
 * With N, it exits cleanly after N connections (the sanitizer check uses it). */
#include <arpa/inet.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include "listing.h"
#include "opensharing.h"

#define MAX_REQUEST (1 << 20)
static opensharing_engine *engine;

static void send_all(int fd, const void *p, size_t n) {
  for (const char *c = p; n > 0;) {
    ssize_t w = write(fd, c, n);
    if (w <= 0) return;
    c += w, n -= (size_t)w;
  }
}

/* ROOT = the directory of local store STORE (as the engine resolved it), PATH = ROOT/KEY: 0, -1
 * for a store that is not local, -2 for a key that a symbolic link leads out of the root. */
static int store_path(char root[PATH_MAX], char path[2 * PATH_MAX], opensharing_str store, opensharing_str key) {
  opensharing_bytes dir;
  if (opensharing_engine_local_store_root(engine, store.ptr, store.len, &dir) != OPENSHARING_OK) return -1;
  snprintf(root, PATH_MAX, "%.*s", (int)dir.len, (const char *)dir.ptr);
  opensharing_bytes_free(dir);
  if (snprintf(path, 2 * PATH_MAX, "%s/%.*s", root, (int)key.len, (const char *)key.ptr) >= 2 * PATH_MAX) return -1;
  char real_root[PATH_MAX], real[PATH_MAX];
  if (!realpath(root, real_root) || !realpath(path, real)) return 0; /* missing: the caller says so */
  size_t n = strlen(real_root);
  return strncmp(real, real_root, n) != 0 || (real[n] != '/' && real[n] != '\0') ? -2 : 0;
}

/* Answers the IO need the last poll handed out from the disk, by its id. */
static opensharing_result supply(opensharing_exchange *ex) {
  opensharing_need need;
  char root[PATH_MAX], path[2 * PATH_MAX];
  struct stat st;
  if (opensharing_exchange_need(ex, &need) != OPENSHARING_OK) return OPENSHARING_INVALID_STATE;
  int where = need.kind == OPENSHARING_NEED_HTTP ? -1 : store_path(root, path, need.store, need.key);
  if (where == -1) return opensharing_exchange_supply_error(ex, need.id, (const uint8_t *)"not a local store", 17);
  if (where == -2) return opensharing_exchange_supply_not_found(ex, need.id);
  if (need.kind == OPENSHARING_NEED_LIST) return supply_dir_listing(ex, root, &need);
  if (stat(path, &st) != 0 || !S_ISREG(st.st_mode)) return opensharing_exchange_supply_not_found(ex, need.id);
  if (need.kind == OPENSHARING_NEED_HEAD) { /* a lookup: size and time, no bytes */
    opensharing_object_meta m = {need.key.ptr, need.key.len, (uint64_t)st.st_size, (int64_t)st.st_mtime * 1000};
    return opensharing_exchange_supply_meta(ex, need.id, &m);
  }
  uint64_t size = (uint64_t)st.st_size, start = need.has_range ? need.range_start : 0;
  uint64_t end = need.has_range && need.range_end < size ? need.range_end : size;
  size_t len = end > start ? (size_t)(end - start) : 0;
  uint8_t *data = malloc(len + 1);
  int in = open(path, O_RDONLY);
  ssize_t got = data && in >= 0 ? pread(in, data, len, (off_t)start) : -1;
  if (in >= 0) close(in);
  opensharing_result r = got < 0 ? opensharing_exchange_supply_not_found(ex, need.id) : opensharing_exchange_supply_bytes(ex, need.id, data, (size_t)got);
  free(data);
  return r;
}

/* Sends the bytes of the file the engine granted (OPENSHARING_EVENT_SERVE_FILE) with sendfile. */
static void send_file(int fd, opensharing_exchange *ex) {
  opensharing_file file;
  char root[PATH_MAX], path[2 * PATH_MAX];
  if (opensharing_exchange_file(ex, &file) != OPENSHARING_OK || store_path(root, path, file.store, file.key) != 0) return;
  int in = open(path, O_RDONLY);
  off_t at = (off_t)file.range_start;
  for (size_t left = (size_t)(file.range_end - file.range_start); in >= 0 && left > 0;) {
    ssize_t sent = sendfile(fd, in, &at, left);
    if (sent <= 0) break;
    left -= (size_t)sent;
  }
  if (in >= 0) close(in);
}

/* Parses one request from `buf` and answers it through the exchange loop. */
static void serve(int fd, char *buf, size_t len) {
  char *head_end = strstr(buf, "\r\n\r\n"), *line_end = strstr(buf, "\r\n"), method[16], target[8192], line[8192];
  if (!head_end || !line_end || sscanf(buf, "%15s %8191s", method, target) != 2) return;
  if (strcmp(target, "/healthz") == 0) return send_all(fd, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", 38);
  opensharing_header headers[64];
  size_t count = 0, content_length = 0;
  for (char *h = line_end + 2; h < head_end && count < 64; h = strstr(h, "\r\n") + 2) {
    char *eol = strstr(h, "\r\n"), *colon = memchr(h, ':', (size_t)(eol - h)), *v = colon ? colon + 1 : eol;
    while (*v == ' ') v++;
    if (!colon) continue;
    headers[count++] = (opensharing_header){(const uint8_t *)h, (size_t)(colon - h), (const uint8_t *)v, (size_t)(eol - v)};
    if (strncasecmp(h, "content-length:", 15) == 0) content_length = strtoul(v, NULL, 10);
  }
  if (head_end + 4 + content_length > buf + len) content_length = 0;
  struct timeval tv;
  gettimeofday(&tv, NULL);
  opensharing_request req = {(const uint8_t *)method, strlen(method), (const uint8_t *)target, strlen(target), headers, count, (const uint8_t *)head_end + 4, content_length, false, NULL, 0};
  opensharing_exchange *ex = NULL;
  if (opensharing_engine_handle(engine, &req, (int64_t)tv.tv_sec * 1000 + tv.tv_usec / 1000, &ex) != OPENSHARING_OK) return;
  for (opensharing_event ev; opensharing_exchange_poll(ex, &ev) == OPENSHARING_OK;) {
    /* Each need is answered before the next poll: the exchange never waits (OPENSHARING_EVENT_WAIT). */
    if ((ev == OPENSHARING_EVENT_NEED && supply(ex) != OPENSHARING_OK) || ev == OPENSHARING_EVENT_WAIT) break;
    if (ev == OPENSHARING_EVENT_SERVE_FILE) send_file(fd, ex);
    if (ev == OPENSHARING_EVENT_HEAD) {
      uint16_t status;
      size_t n;
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
    for (size_t n; ev == OPENSHARING_EVENT_BODY && opensharing_exchange_read(ex, (uint8_t *)line, sizeof line, &n) == OPENSHARING_OK && n > 0;) send_all(fd, line, n);
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
  /* Relative store roots are relative to the configuration file: the engine resolves them. */
  const char *slash = strrchr(argv[1], '/'), *dir = slash ? argv[1] : ".";
  size_t dir_len = slash ? (size_t)(slash - argv[1]) : 1;
  if (opensharing_engine_new((const uint8_t *)json, json_len, (const uint8_t *)dir, dir_len, &engine) != OPENSHARING_OK) return fprintf(stderr, "bad config\n"), 1;
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
