// Exercises include/opensharing.hpp against the real library (run under AddressSanitizer in CI):
// errors become exceptions with their result code, handles move and free once, and an exchange
// is driven to its end through the wrapper.
//
// Usage: wrapper_check CONFIG.json TOKEN     (e.g. ../demo/opensharing.json opensharing-demo-token)
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>

#include "opensharing.hpp"

namespace {

int failures = 0;

void expect(bool ok, const std::string& what) {
  if (!ok) {
    std::cerr << "FAILED: " << what << std::endl;
    ++failures;
  }
}

/// The code of the `opensharing::Error` that `f` throws, or OPENSHARING_OK when it returns.
template <typename F>
opensharing::Code code_of(F f) {
  try {
    f();
  } catch (const opensharing::Error& e) {
    expect(std::string(e.what()).size() > 0, "an error carries a message");
    return e.code();
  }
  return OPENSHARING_OK;
}

struct Answer {
  uint16_t status = 0;
  std::string body;
  std::string audit;
};

/// Drives a discovery request (no IO needed) to its end.
Answer get(const opensharing::Engine& engine, std::string_view target, std::string_view authorization) {
  opensharing::Request request{"GET", target, {{"Authorization", authorization}}, {}, false, "127.0.0.1:1"};
  opensharing::Exchange ex = engine.handle(request, 1'700'000'000'000);
  opensharing::Exchange moved = std::move(ex);  // a moved handle is freed once, by its new owner
  Answer answer;
  for (;;) {
    opensharing_event event = moved.poll();
    if (event == OPENSHARING_EVENT_NEED) moved.supply_not_found(moved.need().id);
    if (event == OPENSHARING_EVENT_HEAD) answer.status = moved.status();
    if (event == OPENSHARING_EVENT_BODY) {
      char chunk[4096];
      for (size_t n; (n = moved.read(chunk, sizeof chunk)) > 0;) answer.body.append(chunk, n);
    }
    if (event == OPENSHARING_EVENT_DONE) {
      answer.audit = moved.audit_json();
      return answer;
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::cerr << "usage: " << argv[0] << " CONFIG.json TOKEN\n";
    return 2;
  }
  std::ifstream file(argv[1], std::ios::binary);
  std::stringstream json;
  json << file.rdbuf();
  std::string bearer = std::string("Bearer ") + argv[2];

  expect(opensharing::version() == std::to_string(OPENSHARING_VERSION_MAJOR) + "." +
                                       std::to_string(OPENSHARING_VERSION_MINOR) + "." +
                                       std::to_string(OPENSHARING_VERSION_PATCH),
         "the version matches the header's macros");
  expect(code_of([] { opensharing::Engine::from_json("{not json"); }) == OPENSHARING_INVALID_CONFIG,
         "bad JSON throws INVALID_CONFIG");

  opensharing::Engine engine = opensharing::Engine::from_json(json.str());
  Answer shares = get(engine, "/delta-sharing/shares", bearer);
  expect(shares.status == 200, "discovery answers 200");
  expect(shares.body.find("\"demo\"") != std::string::npos, "discovery lists the demo share");
  expect(shares.audit.find("\"status\":200") != std::string::npos, "the audit event records the status");
  Answer refused = get(engine, "/delta-sharing/shares", "Bearer wrong-token");
  expect(refused.status == 401, "a wrong token answers 401");
  expect(refused.body.find("wrong-token") == std::string::npos, "the answer never echoes the token");

  std::string profile = engine.profile(argv[2]);
  expect(profile.find("\"bearerToken\"") != std::string::npos, "the profile carries the token");
  expect(code_of([&] { engine.local_store_root("no-such-store"); }) == OPENSHARING_NOT_FOUND,
         "an unknown store throws NOT_FOUND");
  expect(opensharing::Engine::from_json(R"({"stores": {"disk": {"kind": "local", "root": "data"}}, "shares": [], "recipients": []})", "/srv/conf")
                 .local_store_root("disk") == "/srv/conf/data",
         "a relative root is resolved against the base directory");
  expect(code_of([&] { engine.reload("[]"); }) == OPENSHARING_INVALID_CONFIG, "a reload of a non-object throws");
  expect(code_of([&] { engine.reload(R"({"shares": 3})"); }) == OPENSHARING_INVALID_CONFIG, "a bad reload throws");
  expect(get(engine, "/delta-sharing/shares", bearer).status == 200, "a failed reload keeps the configuration");

  // The builder: a schema of an unknown share is refused, then a complete catalog builds.
  opensharing::ConfigBuilder builder;
  expect(code_of([&] { builder.schema("nope", "s"); }) == OPENSHARING_NOT_FOUND, "a schema needs its share");
  builder.endpoint("http://127.0.0.1:9/delta-sharing")
      .token_signing_key("wrapper-check-key-wrapper-check-key!")
      .base_dir("/srv")
      .local_store("disk", "/tmp")
      .local_store("lake", "lake")
      .share("s")
      .schema("s", "d")
      .asset("s", "d", "volume", "v", "disk", "v")
      .recipient("r", "5a7c4ad48fd2f5b7b3ed8d2f0c1d2a54a5e6b3d18c6b2cc1f3a0f62a7b2c1d0e")
      .grant("r", "s");
  expect(code_of([&] { builder.s3_vend_static("lake", "AKID", "secret"); }) == OPENSHARING_INVALID_ARGUMENT,
         "vending static keys needs an S3 store");
  expect(code_of([&] { builder.azure_vend("nope", OPENSHARING_AZURE_SCOPE_DIRECTORY); }) == OPENSHARING_NOT_FOUND,
         "vending needs a store added before");
  opensharing::Engine built = builder.build();
  expect(get(built, "/delta-sharing/shares", "Bearer anything").status == 401, "the built engine checks tokens");
  expect(built.local_store_root("lake") == "/srv/lake", "the builder's base directory resolves relative roots");

  // An exchange used out of order throws INVALID_STATE instead of misbehaving.
  opensharing::Request request{"GET", "/delta-sharing/shares", {}, {}, false, {}};
  opensharing::Exchange ex = engine.handle(request, 0);
  expect(code_of([&] { ex.status(); }) == OPENSHARING_INVALID_STATE, "status before the head throws");
  expect(code_of([&] { ex.file(); }) == OPENSHARING_INVALID_STATE, "a file before its event throws");

  if (failures > 0) return 1;
  std::cout << "opensharing.hpp: every check passed" << std::endl;
  return 0;
}
