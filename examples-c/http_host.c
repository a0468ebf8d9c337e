/* A small single-threaded HTTP/1.1 host for libopensharing, in plain C and POSIX sockets.
 * One request per connection; the engine's IO needs are answered from the local disk.
 *
 * Usage: http_host CONFIG.json PORT     (e.g. ../demo/opensharing.json 8082) */
#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include "opensharing.h"

#define MAX_REQUEST (1 << 20)
static char root[4096];
static os_engine *engine;

static void send_all(int fd, const void *p, size_t n) {
  for (const char *c = p; n > 0;) {
    ssize_t w = write(fd, c, n);
    if (w <= 0) return;
    c += w, n -= (size_t)w;
  }
}

static int by_key(const void *a, const void *b) {
  return strcmp((const char *)((const os_object_meta *)a)->key, (const char *)((const os_object_meta *)b)->key);
}

static os_result supply(os_exchange *ex) {
  os_need need;
  char path[8192], prefix[4096];
  if (os_exchange_need(ex, &need) != OS_OK) return OS_INVALID_STATE;
  snprintf(prefix, sizeof prefix, "%.*s", (int)need.key.len, (const char *)need.key.ptr);
  snprintf(path, sizeof path, "%s/%s", root, prefix);
  if (need.kind == OS_NEED_LIST) { /* files directly under the prefix: the Delta log is flat */
    DIR *d = opendir(path);
    if (!d) return os_exchange_supply_not_found(ex);
    os_object_meta m[1024];
    size_t n = 0;
    struct dirent *e;
    struct stat st;
    while ((e = readdir(d)) && n < 1024) {
      char file[12288];
      snprintf(file, sizeof file, "%s%s", path, e->d_name);
      if (stat(file, &st) != 0 || !S_ISREG(st.st_mode)) continue;
      char *key = malloc(strlen(prefix) + strlen(e->d_name) + 1);
      sprintf(key, "%s%s", prefix, e->d_name);
      m[n++] = (os_object_meta){(const uint8_t *)key, strlen(key), (uint64_t)st.st_size, (int64_t)st.st_mtime * 1000};
    }
    closedir(d);
    qsort(m, n, sizeof m[0], by_key);
    os_result r = os_exchange_supply_listing(ex, m, n);
    while (n--) free((void *)m[n].key);
    return r;
  }
  FILE *f = fopen(path, "rb");
  if (!f) return os_exchange_supply_not_found(ex);
  fseek(f, 0, SEEK_END);
  long size = ftell(f);
  rewind(f);
  uint8_t *data = malloc((size_t)size + 1);
  size_t got = fread(data, 1, (size_t)size, f);
  fclose(f);
  os_result r = os_exchange_supply_bytes(ex, data, got);
  free(data);
  return r;
}

/* Parses one request from `buf` and answers it through the exchange loop. */
static void serve(int fd, char *buf, size_t len) {
  char *head_end = strstr(buf, "\r\n\r\n"), *line_end = strstr(buf, "\r\n");
  if (!head_end || !line_end) return;
  char method[16], target[8192];
  if (sscanf(buf, "%15s %8191s", method, target) != 2) return;
  os_header headers[64];
  size_t count = 0, content_length = 0;
  for (char *h = line_end + 2; h < head_end && count < 64;) {
    char *eol = strstr(h, "\r\n"), *colon = memchr(h, ':', (size_t)(eol - h));
    if (colon) {
      char *v = colon + 1;
      while (*v == ' ') v++;
      headers[count++] = (os_header){(const uint8_t *)h, (size_t)(colon - h), (const uint8_t *)v, (size_t)(eol - v)};
      if (strncasecmp(h, "content-length:", 15) == 0) content_length = strtoul(v, NULL, 10);
    }
    h = eol + 2;
  }
  char *body = head_end + 4;
  if (body + content_length > buf + len) content_length = 0;
  if (strcmp(target, "/healthz") == 0) {
    send_all(fd, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n", 57);
    return;
  }
  os_request req = {(const uint8_t *)method, strlen(method), (const uint8_t *)target, strlen(target),
                    headers, count, (const uint8_t *)body, content_length};
  struct timeval now;
  gettimeofday(&now, NULL);
  os_exchange *ex = NULL;
  if (os_engine_handle(engine, &req, (int64_t)now.tv_sec * 1000 + now.tv_usec / 1000, &ex) != OS_OK) return;
  for (os_event ev; os_exchange_poll(ex, &ev) == OS_OK;) {
    if (ev == OS_EVENT_NEED && supply(ex) != OS_OK) break;
    if (ev == OS_EVENT_HEAD) {
      uint16_t status;
      size_t n;
      char line[8192];
      os_exchange_status(ex, &status);
      os_exchange_header_count(ex, &n);
      send_all(fd, line, (size_t)snprintf(line, sizeof line, "HTTP/1.1 %u X\r\nConnection: close\r\n", status));
      for (size_t i = 0; i < n; i++) {
        os_str k, v;
        os_exchange_header(ex, i, &k, &v);
        send_all(fd, line, (size_t)snprintf(line, sizeof line, "%.*s: %.*s\r\n", (int)k.len, (const char *)k.ptr, (int)v.len, (const char *)v.ptr));
      }
      send_all(fd, "\r\n", 2);
    }
    if (ev == OS_EVENT_BODY) {
      uint8_t chunk[65536];
      size_t n;
      while (os_exchange_read(ex, chunk, sizeof chunk, &n) == OS_OK && n > 0) send_all(fd, chunk, n);
    }
    if (ev == OS_EVENT_DONE) {
      os_str audit;
      os_exchange_audit_json(ex, &audit);
      fprintf(stderr, "%s %.*s\n", method, (int)audit.len, (const char *)audit.ptr);
      break;
    }
  }
  os_exchange_free(ex);
}

int main(int argc, char **argv) {
  if (argc != 3) return fprintf(stderr, "usage: %s CONFIG.json PORT\n", argv[0]), 2;
  FILE *f = fopen(argv[1], "rb");
  if (!f) return perror(argv[1]), 2;
  static char json[MAX_REQUEST];
  size_t json_len = fread(json, 1, sizeof json, f);
  fclose(f);
  if (os_engine_new((const uint8_t *)json, json_len, &engine) != OS_OK) return fprintf(stderr, "bad config\n"), 1;
  const char *slash = strrchr(argv[1], '/'); /* local store roots are relative to the config */
  snprintf(root, sizeof root, "%.*s/data", slash ? (int)(slash - argv[1]) : 1, slash ? argv[1] : ".");
  int srv = socket(AF_INET, SOCK_STREAM, 0), one = 1;
  setsockopt(srv, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(argv[2]))};
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (bind(srv, (struct sockaddr *)&addr, sizeof addr) != 0 || listen(srv, 64) != 0) return perror("listen"), 1;
  fprintf(stderr, "serving %s on http://127.0.0.1:%s\n", argv[1], argv[2]);
  static char buf[MAX_REQUEST + 1];
  for (;;) {
    int fd = accept(srv, NULL, NULL);
    if (fd < 0) continue;
    size_t len = 0;
    for (ssize_t n; len < MAX_REQUEST && (n = read(fd, buf + len, MAX_REQUEST - len)) > 0;) {
      len += (size_t)n;
      buf[len] = '\0';
      char *end = strstr(buf, "\r\n\r\n"), *cl = strcasestr(buf, "\r\ncontent-length:");
      if (end && (size_t)(end + 4 - buf) + (cl && cl < end ? strtoul(cl + 17, NULL, 10) : 0) <= len) break;
    }
    serve(fd, buf, len);
    close(fd);
  }
}
