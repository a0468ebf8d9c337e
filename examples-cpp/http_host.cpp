// A C++ HTTP host for libopensharing on cpp-httplib (Debian's libcpp-httplib-dev), through the
// RAII wrapper include/opensharing.hpp: a thread pool of keep-alive connections, every request
// (signed local-store file URLs too) through the engine's exchange loop, its IO needs answered
// from the local disk (and its HTTP needs with httplib's client), the bytes of a file the engine
// grants streamed from the disk, an audit line per request.
//
// Usage: http_host CONFIG.json PORT [N]     (e.g. ../demo/opensharing.json 8083)
// With N, it stops cleanly after N requests (the sanitizer check uses it).
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <memory>
#include <mutex>
#include <sstream>
#include <string>

#include <httplib.h>

#include "opensharing.hpp"

namespace fs = std::filesystem;
using opensharing::Engine;
using opensharing::Error;
using opensharing::Exchange;

namespace {

int64_t now_unix_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

std::string str(opensharing_str s) { return std::string(opensharing::view(s)); }

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return std::tolower(c); });
  return out;
}

/// The engine's local stores on disk (the engine resolves their roots).
class Disk {
 public:
  explicit Disk(const Engine& engine) : engine_(engine) {}

  /// The root directory of local store `store`, or nothing when it is not a local store.
  std::optional<fs::path> root(std::string_view store) const {
    try {
      return fs::path(engine_.local_store_root(store));
    } catch (const Error&) {
      return std::nullopt;
    }
  }

  /// The file of `key` in `store`, or nothing when it is missing or a symbolic link leads it
  /// out of the store's root.
  std::optional<fs::path> file(std::string_view store, std::string_view key) const {
    auto dir = root(store);
    if (!dir) return std::nullopt;
    std::error_code ec;
    fs::path real_root = fs::canonical(*dir, ec);
    if (ec) return std::nullopt;
    fs::path real = fs::canonical(*dir / fs::path(std::string(key)), ec);
    if (ec || !fs::is_regular_file(real, ec)) return std::nullopt;
    auto [end, _] = std::mismatch(real_root.begin(), real_root.end(), real.begin(), real.end());
    if (end != real_root.end()) return std::nullopt;
    return real;
  }

  /// Answers the need the exchange's last poll handed out, before it is polled again.
  void supply(Exchange& ex, const httplib::Request& request, const httplib::ContentReader* body) const {
    opensharing_need need = ex.need();
    switch (need.kind) {
      case OPENSHARING_NEED_BODY: return supply_body(ex, need, request, body);
      case OPENSHARING_NEED_HTTP: return supply_http(ex, need.id);
      case OPENSHARING_NEED_LIST: return supply_listing(ex, need);
      default: break;
    }
    auto path = file(opensharing::view(need.store), opensharing::view(need.key));
    if (!path) return ex.supply_not_found(need.id);
    if (need.kind == OPENSHARING_NEED_HEAD) {
      auto time = fs::last_write_time(*path).time_since_epoch();
      auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(time).count();
      return ex.supply_meta(need.id, {str(need.key), fs::file_size(*path), ms});
    }
    std::ifstream in(*path, std::ios::binary);
    uint64_t start = need.has_range ? need.range_start : 0;
    uint64_t size = fs::file_size(*path);
    uint64_t end = need.has_range ? std::min(need.range_end, size) : size;
    std::string data(end > start ? end - start : 0, '\0');
    in.seekg(static_cast<std::streamoff>(start));
    in.read(data.data(), static_cast<std::streamsize>(data.size()));
    data.resize(static_cast<size_t>(in.gcount()));
    ex.supply_bytes(need.id, data);
  }

 private:
  /// Reads the request body only now that the engine asks for it, up to its limit + 1 byte.
  static void supply_body(Exchange& ex, const opensharing_need& need, const httplib::Request& request,
                          const httplib::ContentReader* reader) {
    if (!reader) return ex.supply_bytes(need.id, request.body);
    std::string body;
    bool complete = (*reader)([&](const char* data, size_t len) {
      body.append(data, std::min(len, need.body_limit + 1 - body.size()));
      return body.size() <= need.body_limit;
    });
    if (!complete && body.size() <= need.body_limit) return ex.supply_error(need.id, "the request body could not be read");
    ex.supply_bytes(need.id, body);
  }

  /// A recursive listing of every file under the key prefix, sorted, after `start_after`, cut
  /// at `max_keys` with the key to continue after.
  void supply_listing(Exchange& ex, const opensharing_need& need) const {
    auto dir = root(opensharing::view(need.store));
    if (!dir) return ex.supply_error(need.id, "not a local store");
    std::string_view prefix = opensharing::view(need.key), after = opensharing::view(need.start_after);
    std::vector<opensharing::Object> objects;
    std::error_code ec;
    for (auto it = fs::recursive_directory_iterator(*dir, ec); !ec && it != fs::recursive_directory_iterator();
         it.increment(ec)) {
      if (!it->is_regular_file(ec)) continue;
      std::string key = fs::relative(it->path(), *dir, ec).generic_string();
      if (key.compare(0, prefix.size(), prefix) != 0 || (need.has_start_after && key <= after)) continue;
      auto time = std::chrono::duration_cast<std::chrono::milliseconds>(it->last_write_time(ec).time_since_epoch());
      objects.push_back({key, it->file_size(ec), time.count()});
    }
    std::sort(objects.begin(), objects.end(), [](auto& a, auto& b) { return a.key < b.key; });
    if (!need.has_max_keys) return ex.supply_listing(need.id, objects);
    std::optional<std::string> continue_after;
    if (objects.size() > need.max_keys) {
      objects.resize(need.max_keys);
      continue_after = objects.back().key;
    }
    ex.supply_listing(need.id, objects, continue_after, true);
  }

  /// Sends the engine's HTTPS request (an OpenID provider's keys, a credential service).
  static void supply_http(Exchange& ex, opensharing_need_id id) {
    opensharing::HttpCall call = ex.http_call(id);
    std::string url(call.url);
    size_t slash = url.find('/', url.find("://") + 3);
    std::string base = url.substr(0, slash), path = slash == std::string::npos ? "/" : url.substr(slash);
    httplib::Client client(base);
    client.set_connection_timeout(10);
    client.set_read_timeout(30);
    httplib::Headers headers;
    std::string content_type = "application/x-www-form-urlencoded";
    for (auto& [name, value] : call.headers) {
      if (lower(name) == "content-type") content_type = value;
      else headers.emplace(name, value);
    }
    auto reply = call.method == "POST" ? client.Post(path, headers, std::string(call.body), content_type)
                                       : client.Get(path, headers);
    if (!reply) return ex.supply_error(id, "the HTTP request failed: " + httplib::to_string(reply.error()));
    std::vector<opensharing::Header> reply_headers;
    for (auto& [name, value] : reply->headers) reply_headers.emplace_back(name, value);
    ex.supply_http(id, static_cast<uint16_t>(reply->status), reply_headers, reply->body);
  }

  const Engine& engine_;
};

/// Streams the file the engine granted (`OPENSHARING_EVENT_SERVE_FILE`), then ends the exchange.
/// Chunked: with a length, httplib would apply the request's `Range` a second time.
void send_file(std::shared_ptr<Exchange> ex, const Disk& disk, httplib::Response& response,
               const std::function<void(Exchange&)>& log_done) {
  opensharing::File file = ex->file();
  auto in = std::make_shared<std::ifstream>(disk.file(file.store, file.key).value_or(fs::path()), std::ios::binary);
  in->seekg(static_cast<std::streamoff>(file.range_start));
  uint64_t left = file.range_end - file.range_start;
  response.set_chunked_content_provider(std::string(file.content_type), [ex, in, left, log_done](size_t, httplib::DataSink& sink) mutable {
    char chunk[65536];
    if (left == 0) {
      ex->poll();  // OPENSHARING_EVENT_DONE
      log_done(*ex);
      sink.done();
      return true;
    }
    in->read(chunk, static_cast<std::streamsize>(std::min<uint64_t>(left, sizeof chunk)));
    if (in->gcount() <= 0) return false;  // the file is gone or shorter: cut the response
    left -= static_cast<uint64_t>(in->gcount());
    return sink.write(chunk, static_cast<size_t>(in->gcount()));
  });
}

/// One request through the exchange loop: needs answered until the head, then the body
/// streamed (answering needs that come up in between) from a chunked content provider.
void handle(const Engine& engine, const Disk& disk, const httplib::Request& request, httplib::Response& response,
            const httplib::ContentReader* body) {
  opensharing::Request req{request.method, request.target, {}, {}, body != nullptr, {}};
  for (auto& [name, value] : request.headers) {
    if (name != "REMOTE_ADDR" && name != "REMOTE_PORT" && name != "LOCAL_ADDR" && name != "LOCAL_PORT") {
      req.headers.emplace_back(name, value);
    }
  }
  std::string peer = request.remote_addr + ":" + std::to_string(request.remote_port);
  req.peer = peer;
  auto ex = std::make_shared<Exchange>(engine.handle(req, now_unix_ms()));
  std::function<void(Exchange&)> log_done = [method = request.method](Exchange& done) {
    std::cerr << method << ' ' << done.audit_json() << std::endl;
  };
  for (;;) {
    switch (ex->poll()) {
      case OPENSHARING_EVENT_NEED: disk.supply(*ex, request, body); continue;
      case OPENSHARING_EVENT_DONE: return log_done(*ex);
      case OPENSHARING_EVENT_WAIT: return;  // never: each need is answered before the next poll
      case OPENSHARING_EVENT_SERVE_FILE: return send_file(ex, disk, response, log_done);  // after a head only
      case OPENSHARING_EVENT_BODY: {
        char chunk[65536];
        while (ex->read(chunk, sizeof chunk) > 0) {}  // a HEAD answer's (empty) body
        continue;
      }
      case OPENSHARING_EVENT_HEAD: {
        response.status = ex->status();
        std::string content_type = "application/json";
        for (auto& [name, value] : ex->headers()) {
          std::string key = lower(name);
          if (key == "content-type") content_type = value;
          else if (key != "transfer-encoding" && (key != "content-length" || request.method == "HEAD")) {
            response.set_header(key, std::string(value));
          }
        }
        if (request.method == "HEAD") {
          response.set_header("Content-Type", content_type);
          continue;
        }
        if (ex->poll() == OPENSHARING_EVENT_SERVE_FILE) return send_file(ex, disk, response, log_done);
        // The body (and any IO it needs) is pulled as httplib writes it.
        response.set_chunked_content_provider(content_type, [ex, &disk, &request, log_done](size_t, httplib::DataSink& sink) {
          char chunk[65536];
          for (;;) {
            size_t n = ex->read(chunk, sizeof chunk);
            if (n > 0) return sink.write(chunk, n);
            opensharing_event event = ex->poll();
            if (event == OPENSHARING_EVENT_NEED) disk.supply(*ex, request, nullptr);
            if (event == OPENSHARING_EVENT_DONE) {
              log_done(*ex);
              sink.done();
              return true;
            }
          }
        });
        return;
      }
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3 && argc != 4) {
    std::cerr << "usage: " << argv[0] << " CONFIG.json PORT [N]\n";
    return 2;
  }
  long limit = argc == 4 ? std::atol(argv[3]) : 0;
  std::ifstream config_file(argv[1], std::ios::binary);
  std::stringstream json;
  json << config_file.rdbuf();
  try {
    // Relative store roots are relative to the configuration file: the engine resolves them.
    Engine engine = Engine::from_json(json.str(), fs::absolute(argv[1]).parent_path().string());
    Disk disk(engine);
    httplib::Server server;
    auto route = [&](const httplib::Request& request, httplib::Response& response,
                     const httplib::ContentReader* body) {
      try {
        if (request.path == "/healthz") return response.set_content("ok", "text/plain");
        handle(engine, disk, request, response, body);
      } catch (const Error& e) {
        std::cerr << request.method << ' ' << request.path << ": " << e.what() << std::endl;
        response.status = 500;
      }
    };
    server.Get(".*", [&](const auto& request, auto& response) { route(request, response, nullptr); });
    server.Delete(".*", [&](const auto& request, auto& response) { route(request, response, nullptr); });
    server.Post(".*", [&](const auto& request, auto& response, const httplib::ContentReader& body) {
      route(request, response, &body);
    });
    std::atomic<long> served{0};
    server.set_logger([&](const auto&, const auto&) {
      if (limit > 0 && ++served >= limit) server.stop();
    });
    std::cerr << "serving " << argv[1] << " on http://127.0.0.1:" << argv[2] << std::endl;
    if (!server.listen("127.0.0.1", std::atoi(argv[2]))) {
      std::cerr << "cannot listen on port " << argv[2] << std::endl;
      return 1;
    }
  } catch (const Error& e) {
    std::cerr << "error " << e.code() << ": " << e.what() << std::endl;
    return 1;
  }
  return 0;
}
