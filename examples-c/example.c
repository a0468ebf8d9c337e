/* A C host driving libopensharing through its exchange loop.
 *
 * Loads a configuration file, runs a handful of requests, answers the engine's IO needs from
 * the local disk (the demo's `local` store, whose root the engine resolves), and prints
 * each response. Then builds a second engine through the config builder.
 *
 * Usage: example CONFIG.json TOKEN */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "listing.h"
#include "opensharing.h"

static int check(opensharing_result r, const char *what) {
  if (r == OPENSHARING_OK) return 0;
  char detail[512];
  size_t n = 0;
  opensharing_last_error((uint8_t *)detail, sizeof detail - 1, &n);
  detail[n < sizeof detail - 1 ? n : sizeof detail - 1] = '\0';
  fprintf(stderr, "%s failed: %s (%s)\n", what, opensharing_result_message(r), detail);
  return 1;
}

static char *read_file(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  fseek(f, 0, SEEK_END);
  long size = ftell(f);
  fseek(f, 0, SEEK_SET);
  char *buf = malloc((size_t)size + 1);
  if (buf && fread(buf, 1, (size_t)size, f) != (size_t)size) { free(buf); buf = NULL; }
  fclose(f);
  if (buf) { buf[size] = '\0'; *len = (size_t)size; }
  return buf;
}

static opensharing_result answer(opensharing_exchange *ex, const char *root, const char *body) {
  opensharing_need need;
  opensharing_result r = opensharing_exchange_need(ex, &need);
  if (r != OPENSHARING_OK) return r;
  /* The request body, asked for once the request is authenticated and routed. */
  if (need.kind == OPENSHARING_NEED_BODY) return opensharing_exchange_supply_bytes(ex, need.id, (const uint8_t *)body, strlen(body));
  if (need.kind == OPENSHARING_NEED_LIST) return supply_dir_listing(ex, root, &need);
  if (need.kind == OPENSHARING_NEED_HTTP) return opensharing_exchange_supply_error(ex, need.id, (const uint8_t *)"no HTTP client here", 19);
  char path[4096];
  size_t len = 0;
  snprintf(path, sizeof path, "%s/%.*s", root, (int)need.key.len, (const char *)need.key.ptr);
  char *data = read_file(path, &len);
  if (!data) return opensharing_exchange_supply_not_found(ex, need.id);
  r = opensharing_exchange_supply_bytes(ex, need.id, (const uint8_t *)data, len);
  free(data);
  return r;
}

/* Runs one request through the exchange loop and prints the response. A body is not handed over
 * up front: the request says one is pending, and the engine asks for it (OPENSHARING_NEED_BODY) only once
 * the token and the route are checked, as a network host should read it. */
static int run(const opensharing_engine *engine, const char *root, const char *method, const char *target,
               const char *token, const char *body) {
  char auth[256];
  snprintf(auth, sizeof auth, "Bearer %s", token);
  opensharing_header headers[1] = {{(const uint8_t *)"Authorization", 13, (const uint8_t *)auth, strlen(auth)}};
  opensharing_request req = {(const uint8_t *)method, strlen(method), (const uint8_t *)target, strlen(target),
                    headers, 1, NULL, 0, body != NULL, NULL, 0};
  opensharing_exchange *ex = NULL;
  if (check(opensharing_engine_handle(engine, &req, 1767225600000LL, &ex), "opensharing_engine_handle")) return 1;
  printf("> %s %s\n", method, target);
  int failed = 0;
  for (;;) {
    opensharing_event event;
    if ((failed = check(opensharing_exchange_poll(ex, &event), "opensharing_exchange_poll"))) break;
    if (event == OPENSHARING_EVENT_NEED) { /* answered at once, so the exchange never waits */
      if ((failed = check(answer(ex, root, body), "supply"))) break;
    } else if (event == OPENSHARING_EVENT_WAIT) {
      failed = 1;
      break;
    } else if (event == OPENSHARING_EVENT_HEAD) {
      uint16_t status = 0;
      size_t count = 0;
      opensharing_exchange_status(ex, &status);
      opensharing_exchange_header_count(ex, &count);
      printf("< %u\n", status);
      for (size_t i = 0; i < count; i++) {
        opensharing_str name, value;
        opensharing_exchange_header(ex, i, &name, &value);
        printf("< %.*s: %.*s\n", (int)name.len, (const char *)name.ptr, (int)value.len, (const char *)value.ptr);
      }
    } else if (event == OPENSHARING_EVENT_BODY) {
      uint8_t buf[64];
      size_t n = 0;
      while (opensharing_exchange_read(ex, buf, sizeof buf, &n) == OPENSHARING_OK && n > 0) fwrite(buf, 1, n, stdout);
      putchar('\n');
    } else if (event == OPENSHARING_EVENT_SERVE_FILE) {
      /* A signed local file URL: a network host sends these bytes of the file itself. */
      opensharing_file file;
      if ((failed = check(opensharing_exchange_file(ex, &file), "opensharing_exchange_file"))) break;
      printf("(bytes %llu-%llu of %.*s)\n", (unsigned long long)file.range_start, (unsigned long long)file.range_end,
             (int)file.key.len, (const char *)file.key.ptr);
    } else {
      opensharing_str audit, again;
      opensharing_exchange_audit_json(ex, &audit);
      /* Polling DONE again is allowed and leaves the audit string already handed out valid:
       * AddressSanitizer checks that it is read from live memory below. */
      if ((failed = check(opensharing_exchange_poll(ex, &event), "opensharing_exchange_poll")) || event != OPENSHARING_EVENT_DONE) break;
      opensharing_exchange_audit_json(ex, &again);
      printf("audit: %.*s\n\n", (int)audit.len, (const char *)audit.ptr);
      failed = again.ptr != audit.ptr || again.len != audit.len || memcmp(again.ptr, audit.ptr, audit.len) != 0;
      break;
    }
  }
  opensharing_exchange_free(ex);
  return failed;
}

static int build_with_builder(void) {
  opensharing_config_builder *b = NULL;
  opensharing_engine *engine = NULL;
  int failed = check(opensharing_config_builder_new(&b), "opensharing_config_builder_new");
  failed = failed || check(opensharing_config_builder_add_local_store(b, (const uint8_t *)"disk", 4, (const uint8_t *)"/srv", 4, false), "add store");
  /* A store that vends credentials: an on-premises S3 store handing out fixed read-only keys. */
  opensharing_s3_store s3 = {(const uint8_t *)"bucket", 6, (const uint8_t *)"us-east-1", 9, (const uint8_t *)"http://127.0.0.1:9000", 21, true,
                             (const uint8_t *)"admin", 5, (const uint8_t *)"admin-secret", 12, NULL, 0};
  failed = failed || check(opensharing_config_builder_add_s3_store(b, (const uint8_t *)"minio", 5, &s3), "add S3 store");
  failed = failed || check(opensharing_config_builder_set_s3_vend_static(b, (const uint8_t *)"minio", 5, (const uint8_t *)"reader", 6,
                                                                        (const uint8_t *)"reader-secret", 13, NULL, 0), "S3 vending");
  /* Settings for a store of another kind are an error that names the rule. */
  if (opensharing_config_builder_set_azure_vend(b, (const uint8_t *)"minio", 5, OPENSHARING_AZURE_SCOPE_CONTAINER) != OPENSHARING_INVALID_ARGUMENT) failed = 1;
  failed = failed || check(opensharing_config_builder_add_share(b, (const uint8_t *)"s1", 2), "add share");
  failed = failed || check(opensharing_config_builder_add_schema(b, (const uint8_t *)"s1", 2, (const uint8_t *)"default", 7), "add schema");
  opensharing_asset asset = {(const uint8_t *)"s1", 2, (const uint8_t *)"default", 7, (const uint8_t *)"delta_table", 11,
                    (const uint8_t *)"t", 1, (const uint8_t *)"disk", 4, (const uint8_t *)"t", 1, NULL, 0, false};
  failed = failed || check(opensharing_config_builder_add_asset(b, &asset), "add asset");
  /* The SHA-256 of "abc". */
  const char *hash = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
  failed = failed || check(opensharing_config_builder_add_recipient(b, (const uint8_t *)"r", 1, (const uint8_t *)hash, 64, -1), "add recipient");
  failed = failed || check(opensharing_config_builder_grant(b, (const uint8_t *)"r", 1, (const uint8_t *)"s1", 2), "grant");
  failed = failed || check(opensharing_config_builder_build(b, &engine), "build");
  if (!failed) failed = run(engine, "/srv", "GET", "/delta-sharing/shares/s1/all-tables", "abc", NULL);
  /* A broken rule is reported with the offending field. */
  opensharing_engine *bad = NULL;
  opensharing_config_builder_grant(b, (const uint8_t *)"r", 1, (const uint8_t *)"nope", 4);
  if (opensharing_config_builder_build(b, &bad) != OPENSHARING_INVALID_CONFIG || bad != NULL) failed = 1;
  check(OPENSHARING_INVALID_CONFIG, "expected: build with an unknown share");
  opensharing_engine_free(engine);
  opensharing_config_builder_free(b);
  return failed;
}

int main(int argc, char **argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: %s CONFIG.json TOKEN\n", argv[0]);
    return 2;
  }
  /* The library loaded must have the ABI this program was compiled against. */
  printf("libopensharing %s (header %d.%d.%d)\n", opensharing_version(), OPENSHARING_VERSION_MAJOR, OPENSHARING_VERSION_MINOR,
         OPENSHARING_VERSION_PATCH);
  if (atoi(opensharing_version()) != OPENSHARING_VERSION_MAJOR) return 2;
  size_t len = 0;
  char *json = read_file(argv[1], &len);
  if (!json) { perror(argv[1]); return 2; }
  /* Local store roots are relative to the config file: the engine resolves them. */
  const char *slash = strrchr(argv[1], '/'), *dir = slash ? argv[1] : ".";
  size_t dir_len = slash ? (size_t)(slash - argv[1]) : 1;
  opensharing_engine *engine = NULL;
  int failed = check(opensharing_engine_new((const uint8_t *)json, len, (const uint8_t *)dir, dir_len, &engine), "opensharing_engine_new");
  free(json);
  if (failed) return 1;
  char root[4096];
  opensharing_bytes demo_root;
  if (check(opensharing_engine_local_store_root(engine, (const uint8_t *)"demo", 4, &demo_root), "local store root")) {
    opensharing_engine_free(engine);
    return 1;
  }
  snprintf(root, sizeof root, "%.*s", (int)demo_root.len, (const char *)demo_root.ptr);
  opensharing_bytes_free(demo_root);
  const char *token = argv[2];
  failed |= run(engine, root, "GET", "/delta-sharing/shares", token, NULL);
  failed |= run(engine, root, "GET", "/delta-sharing/shares/demo/all-tables?maxResults=1", token, NULL);
  failed |= run(engine, root, "GET", "/delta-sharing/shares/demo/schemas/default/volumes", token, NULL);
  failed |= run(engine, root, "GET", "/delta-sharing/shares/demo/schemas/default/tables/trips/version", token, NULL);
  failed |= run(engine, root, "GET", "/delta-sharing/shares", "wrong-token", NULL);
  failed |= run(engine, root, "POST", "/delta-sharing/shares", token, "{}");
  failed |= run(engine, root, "POST", "/delta-sharing/shares/demo/schemas/default/tables/trips/query", token,
                "{\"limitHint\": 1}");
  opensharing_engine_free(engine);
  failed |= build_with_builder();
  /* NULL handles are harmless. */
  opensharing_engine_free(NULL);
  opensharing_exchange_free(NULL);
  opensharing_config_builder_free(NULL);
  return failed;
}
