// libopensharing for C++17: a header-only RAII wrapper over the C ABI (opensharing.h).
//
// - Handles (`Engine`, `Exchange`, `ConfigBuilder`) own their C object and free it once; they
//   move, never copy.
// - Strings go in as `std::string_view` and come back as `std::string_view` where they borrow
//   from the exchange (valid until the next call that changes it, as the C header says for each),
//   or as `std::string` where the library hands over ownership.
// - Every failing C call throws `opensharing::Error`, which carries the result code and the
//   library's detail message (`opensharing_last_error`).
//
// Link with the C library exactly as a C program does (`pkg-config --cflags --libs opensharing`).
#ifndef OPENSHARING_HPP
#define OPENSHARING_HPP

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "opensharing.h"

namespace opensharing {

/// The library's version, e.g. "0.1.0".
inline std::string_view version() noexcept { return ::opensharing_version(); }

/// The C ABI's result code type.
using Code = ::opensharing_result;

/// A failed call: `code()` is the C result code, `what()` the library's detail.
class Error : public std::runtime_error {
 public:
  Error(Code code, const std::string& detail) : std::runtime_error(detail), code_(code) {}
  /// The result code (`OPENSHARING_*`).
  Code code() const noexcept { return code_; }

 private:
  Code code_;
};

namespace detail {

inline const uint8_t* bytes(std::string_view s) noexcept {
  return reinterpret_cast<const uint8_t*>(s.data());
}

/// The detail of the last failure on this thread, or the code's static description.
inline std::string last_error(Code code) {
  size_t len = 0;
  if (::opensharing_last_error(nullptr, 0, &len) == OPENSHARING_OK && len > 0) {
    std::string detail(len, '\0');
    if (::opensharing_last_error(reinterpret_cast<uint8_t*>(detail.data()), len, &len) == OPENSHARING_OK) {
      detail.resize(len);
      return detail;
    }
  }
  return ::opensharing_result_message(code);
}

/// Throws `Error` unless `code` is `OPENSHARING_OK`.
inline void check(Code code) {
  if (code != OPENSHARING_OK) throw Error(code, last_error(code));
}

/// Takes ownership of a library buffer and copies it into a `std::string`.
inline std::string take(opensharing_bytes owned) {
  std::string out(reinterpret_cast<const char*>(owned.ptr), owned.len);
  ::opensharing_bytes_free(owned);
  return out;
}

}  // namespace detail

/// A borrowed library string as a `std::string_view`.
inline std::string_view view(opensharing_str s) noexcept {
  return {reinterpret_cast<const char*>(s.ptr), s.len};
}

/// One header, borrowed.
using Header = std::pair<std::string_view, std::string_view>;

/// A request as the host received it; every view must outlive `Engine::handle` only.
struct Request {
  std::string_view method;
  /// Path plus optional query, as received.
  std::string_view target;
  std::vector<Header> headers;
  std::string_view body;
  /// The body is not read yet: the exchange asks for it (`Need::kind == OPENSHARING_NEED_BODY`)
  /// once the request is authenticated and routed.
  bool body_pending = false;
  /// The peer address, e.g. `203.0.113.7:52100` (empty: unknown).
  std::string_view peer;
};

/// One object a host supplies (a listing entry or a HEAD answer).
struct Object {
  std::string key;
  uint64_t size = 0;
  int64_t last_modified_unix_ms = 0;
};

/// An outgoing HTTP request of an `OPENSHARING_NEED_HTTP` need. Its views borrow from the exchange.
/// It carries credentials: never log it.
struct HttpCall {
  std::string_view method;
  std::string_view url;
  std::vector<Header> headers;
  std::string_view body;
};

/// The local-store file of an `OPENSHARING_EVENT_SERVE_FILE` event: the host sends bytes
/// `[range_start, range_end)` of `key` in local store `store` itself. The views borrow from the
/// exchange until it is destroyed.
struct File {
  std::string_view store;
  /// Decoded, safe to join to the store's root (no `.`, `..` or empty segments).
  std::string_view key;
  uint64_t range_start = 0;
  uint64_t range_end = 0;
  /// The `Content-Type` the head carries.
  std::string_view content_type;
};

/// One request in progress. Drive it with `poll()` until `OPENSHARING_EVENT_DONE`.
class Exchange {
 public:
  explicit Exchange(opensharing_exchange* raw) noexcept : raw_(raw) {}
  Exchange(Exchange&& other) noexcept : raw_(std::exchange(other.raw_, nullptr)) {}
  Exchange& operator=(Exchange&& other) noexcept {
    std::swap(raw_, other.raw_);
    return *this;
  }
  Exchange(const Exchange&) = delete;
  Exchange& operator=(const Exchange&) = delete;
  ~Exchange() { ::opensharing_exchange_free(raw_); }

  /// Advances the exchange: what the host should do next.
  opensharing_event poll() {
    opensharing_event event{};
    detail::check(::opensharing_exchange_poll(raw_, &event));
    return event;
  }

  /// The IO need the last `poll()` handed out (`OPENSHARING_EVENT_NEED`), with the `id` its
  /// answer gives back; its strings borrow from the exchange until it is answered.
  opensharing_need need() const {
    opensharing_need out{};
    detail::check(::opensharing_exchange_need(raw_, &out));
    return out;
  }

  /// The request of outstanding `OPENSHARING_NEED_HTTP` need `id`.
  HttpCall http_call(opensharing_need_id id) const {
    opensharing_http_call call{};
    detail::check(::opensharing_exchange_need_http(raw_, id, &call));
    HttpCall out{view(call.method), view(call.url), {}, view(call.body)};
    for (size_t i = 0; i < call.header_count; ++i) {
      opensharing_str name{}, value{};
      detail::check(::opensharing_exchange_need_http_header(raw_, id, i, &name, &value));
      out.headers.emplace_back(view(name), view(value));
    }
    return out;
  }

  /// Answers GET (or body) need `id` with bytes (copied).
  void supply_bytes(opensharing_need_id id, std::string_view data) {
    detail::check(::opensharing_exchange_supply_bytes(raw_, id, detail::bytes(data), data.size()));
  }

  /// Answers LIST need `id` with the complete listing, or with one page and where to continue
  /// (`continue_after`; none when the listing is complete).
  void supply_listing(opensharing_need_id id, const std::vector<Object>& objects,
                      std::optional<std::string_view> continue_after = {}, bool paged = false) {
    std::vector<opensharing_object_meta> metas;
    metas.reserve(objects.size());
    for (const Object& o : objects) {
      metas.push_back({detail::bytes(o.key), o.key.size(), o.size, o.last_modified_unix_ms});
    }
    if (!paged) {
      detail::check(::opensharing_exchange_supply_listing(raw_, id, metas.data(), metas.size()));
      return;
    }
    std::string_view after = continue_after.value_or(std::string_view{});
    detail::check(::opensharing_exchange_supply_listing_page(raw_, id, metas.data(), metas.size(),
                                                             detail::bytes(after), after.size()));
  }

  /// Answers HEAD need `id`.
  void supply_meta(opensharing_need_id id, const Object& object) {
    opensharing_object_meta meta{detail::bytes(object.key), object.key.size(), object.size,
                                 object.last_modified_unix_ms};
    detail::check(::opensharing_exchange_supply_meta(raw_, id, &meta));
  }

  /// Answers need `id`, of any kind, with "the object does not exist".
  void supply_not_found(opensharing_need_id id) {
    detail::check(::opensharing_exchange_supply_not_found(raw_, id));
  }

  /// Answers need `id`, of any kind, with a failure (the message is for the host's log only).
  void supply_error(opensharing_need_id id, std::string_view message) {
    detail::check(::opensharing_exchange_supply_error(raw_, id, detail::bytes(message), message.size()));
  }

  /// Answers HTTP need `id` with the reply (headers first, then status and body).
  void supply_http(opensharing_need_id id, uint16_t status, const std::vector<Header>& headers,
                   std::string_view body) {
    for (const Header& h : headers) {
      detail::check(::opensharing_exchange_supply_http_header(raw_, id, detail::bytes(h.first), h.first.size(),
                                                              detail::bytes(h.second), h.second.size()));
    }
    detail::check(::opensharing_exchange_supply_http(raw_, id, status, detail::bytes(body), body.size()));
  }

  /// The response status (after `OPENSHARING_EVENT_HEAD`).
  uint16_t status() const {
    uint16_t out = 0;
    detail::check(::opensharing_exchange_status(raw_, &out));
    return out;
  }

  /// The response headers (after `OPENSHARING_EVENT_HEAD`); they borrow from the exchange.
  std::vector<Header> headers() const {
    size_t count = 0;
    detail::check(::opensharing_exchange_header_count(raw_, &count));
    std::vector<Header> out;
    out.reserve(count);
    for (size_t i = 0; i < count; ++i) {
      opensharing_str name{}, value{};
      detail::check(::opensharing_exchange_header(raw_, i, &name, &value));
      out.emplace_back(view(name), view(value));
    }
    return out;
  }

  /// Copies up to `cap` body bytes into `buf`: the count, 0 once the body is complete.
  size_t read(char* buf, size_t cap) {
    size_t len = 0;
    detail::check(::opensharing_exchange_read(raw_, reinterpret_cast<uint8_t*>(buf), cap, &len));
    return len;
  }

  /// The file to send (after `OPENSHARING_EVENT_SERVE_FILE`); borrows from the exchange.
  File file() const {
    opensharing_file out{};
    detail::check(::opensharing_exchange_file(raw_, &out));
    return {view(out.store), view(out.key), out.range_start, out.range_end, view(out.content_type)};
  }

  /// The audit event, one line of JSON (after `OPENSHARING_EVENT_DONE`); borrows from the exchange.
  std::string_view audit_json() const {
    opensharing_str out{};
    detail::check(::opensharing_exchange_audit_json(raw_, &out));
    return view(out);
  }

  /// The C handle, still owned by this object.
  opensharing_exchange* raw() const noexcept { return raw_; }

 private:
  opensharing_exchange* raw_;
};

/// An engine. Thread-safe: any thread may call `handle` and `reload` at once.
class Engine {
 public:
  /// An engine from configuration JSON. Relative local store roots are resolved against
  /// `base_dir` (the configuration file's directory), here and in every reload; without one
  /// they stay relative to the working directory.
  static Engine from_json(std::string_view json, std::optional<std::string_view> base_dir = {}) {
    opensharing_engine* raw = nullptr;
    detail::check(::opensharing_engine_new(detail::bytes(json), json.size(),
                                           base_dir ? detail::bytes(*base_dir) : nullptr,
                                           base_dir ? base_dir->size() : 0, &raw));
    return Engine(raw);
  }

  /// Takes ownership of a C engine handle.
  explicit Engine(opensharing_engine* raw) noexcept : raw_(raw) {}
  Engine(Engine&& other) noexcept : raw_(std::exchange(other.raw_, nullptr)) {}
  Engine& operator=(Engine&& other) noexcept {
    std::swap(raw_, other.raw_);
    return *this;
  }
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;
  ~Engine() { ::opensharing_engine_free(raw_); }

  /// Replaces the configuration atomically; on failure the engine keeps the current one.
  void reload(std::string_view json) const {
    detail::check(::opensharing_engine_reload(raw_, detail::bytes(json), json.size()));
  }

  /// Starts handling a request at `now_unix_ms` (the request is copied).
  Exchange handle(const Request& request, int64_t now_unix_ms) const {
    std::vector<opensharing_header> headers;
    headers.reserve(request.headers.size());
    for (const Header& h : request.headers) {
      headers.push_back({detail::bytes(h.first), h.first.size(), detail::bytes(h.second), h.second.size()});
    }
    opensharing_request raw{detail::bytes(request.method), request.method.size(),
                            detail::bytes(request.target), request.target.size(),
                            headers.data(),                headers.size(),
                            detail::bytes(request.body),   request.body.size(),
                            request.body_pending,          request.peer.empty() ? nullptr : detail::bytes(request.peer),
                            request.peer.size()};
    opensharing_exchange* ex = nullptr;
    detail::check(::opensharing_engine_handle(raw_, &raw, now_unix_ms, &ex));
    return Exchange(ex);
  }

  /// A Delta Sharing profile (JSON) for `token`; `expires_unix_ms` < 0: no expiry.
  std::string profile(std::string_view token, int64_t expires_unix_ms = -1,
                      std::optional<std::string_view> endpoint = {}) const {
    opensharing_bytes out{};
    detail::check(::opensharing_engine_profile(raw_, endpoint ? detail::bytes(*endpoint) : nullptr,
                                               endpoint ? endpoint->size() : 0, detail::bytes(token), token.size(),
                                               expires_unix_ms, &out));
    return detail::take(out);
  }

  /// The directory of local store `name`: a relative root resolved against the base directory.
  std::string local_store_root(std::string_view name) const {
    opensharing_bytes out{};
    detail::check(::opensharing_engine_local_store_root(raw_, detail::bytes(name), name.size(), &out));
    return detail::take(out);
  }

  /// The C handle, still owned by this object.
  const opensharing_engine* raw() const noexcept { return raw_; }

 private:
  opensharing_engine* raw_;
};

/// Builds a configuration in code instead of JSON.
class ConfigBuilder {
 public:
  ConfigBuilder() { detail::check(::opensharing_config_builder_new(&raw_)); }
  ConfigBuilder(ConfigBuilder&& other) noexcept : raw_(std::exchange(other.raw_, nullptr)) {}
  ConfigBuilder& operator=(ConfigBuilder&& other) noexcept {
    std::swap(raw_, other.raw_);
    return *this;
  }
  ConfigBuilder(const ConfigBuilder&) = delete;
  ConfigBuilder& operator=(const ConfigBuilder&) = delete;
  ~ConfigBuilder() { ::opensharing_config_builder_free(raw_); }

  /// The directory relative local store roots are resolved against.
  ConfigBuilder& base_dir(std::string_view dir) {
    detail::check(::opensharing_config_builder_set_base_dir(raw_, detail::bytes(dir), dir.size()));
    return *this;
  }

  /// The public endpoint URL.
  ConfigBuilder& endpoint(std::string_view url) {
    detail::check(::opensharing_config_builder_set_endpoint(raw_, detail::bytes(url), url.size()));
    return *this;
  }

  /// The key that signs page and refresh tokens (at least 32 bytes).
  ConfigBuilder& token_signing_key(std::string_view key) {
    detail::check(::opensharing_config_builder_set_token_signing_key(raw_, detail::bytes(key), key.size()));
    return *this;
  }

  /// A local store (a directory); symbolic links leaving it are refused unless `follow_symlinks`.
  ConfigBuilder& local_store(std::string_view name, std::string_view root, bool follow_symlinks = false) {
    detail::check(::opensharing_config_builder_add_local_store(raw_, detail::bytes(name), name.size(),
                                                               detail::bytes(root), root.size(), follow_symlinks));
    return *this;
  }

  /// An S3-compatible store, given as the C settings struct.
  ConfigBuilder& s3_store(std::string_view name, const opensharing_s3_store& store) {
    detail::check(::opensharing_config_builder_add_s3_store(raw_, detail::bytes(name), name.size(), &store));
    return *this;
  }

  /// Makes S3 store `store` vend credentials through STS (the C settings struct).
  ConfigBuilder& s3_vend_sts(std::string_view store, const opensharing_s3_sts& sts) {
    detail::check(::opensharing_config_builder_set_s3_vend_sts(raw_, detail::bytes(store), store.size(), &sts));
    return *this;
  }

  /// Makes S3 store `store` hand out fixed read-only credentials (no session token when empty).
  ConfigBuilder& s3_vend_static(std::string_view store, std::string_view access_key_id,
                                std::string_view secret_access_key, std::string_view session_token = {}) {
    detail::check(::opensharing_config_builder_set_s3_vend_static(
        raw_, detail::bytes(store), store.size(), detail::bytes(access_key_id), access_key_id.size(),
        detail::bytes(secret_access_key), secret_access_key.size(),
        session_token.empty() ? nullptr : detail::bytes(session_token), session_token.size()));
    return *this;
  }

  /// A Google Cloud Storage store, given as the C settings struct.
  ConfigBuilder& gcs_store(std::string_view name, const opensharing_gcs_store& store) {
    detail::check(::opensharing_config_builder_add_gcs_store(raw_, detail::bytes(name), name.size(), &store));
    return *this;
  }

  /// Makes GCS store `store` vend downscoped tokens (empty endpoints: the defaults).
  ConfigBuilder& gcs_vend(std::string_view store, std::string_view token_endpoint = {},
                          std::string_view sts_endpoint = {}) {
    detail::check(::opensharing_config_builder_set_gcs_vend(
        raw_, detail::bytes(store), store.size(), token_endpoint.empty() ? nullptr : detail::bytes(token_endpoint),
        token_endpoint.size(), sts_endpoint.empty() ? nullptr : detail::bytes(sts_endpoint), sts_endpoint.size()));
    return *this;
  }

  /// An Azure Blob Storage store, given as the C settings struct.
  ConfigBuilder& azure_store(std::string_view name, const opensharing_azure_store& store) {
    detail::check(::opensharing_config_builder_add_azure_store(raw_, detail::bytes(name), name.size(), &store));
    return *this;
  }

  /// Makes Azure store `store` vend read-only SAS tokens of `scope`.
  ConfigBuilder& azure_vend(std::string_view store, opensharing_azure_scope scope) {
    detail::check(::opensharing_config_builder_set_azure_vend(raw_, detail::bytes(store), store.size(), scope));
    return *this;
  }

  /// A share.
  ConfigBuilder& share(std::string_view name) {
    detail::check(::opensharing_config_builder_add_share(raw_, detail::bytes(name), name.size()));
    return *this;
  }

  /// A schema of a share added before.
  ConfigBuilder& schema(std::string_view share, std::string_view schema) {
    detail::check(::opensharing_config_builder_add_schema(raw_, detail::bytes(share), share.size(),
                                                          detail::bytes(schema), schema.size()));
    return *this;
  }

  /// An asset of a schema added before.
  ConfigBuilder& asset(std::string_view share, std::string_view schema, std::string_view kind, std::string_view name,
                       std::string_view store, std::string_view path, std::string_view description = {},
                       bool history_shared = false) {
    opensharing_asset raw{detail::bytes(share), share.size(), detail::bytes(schema), schema.size(),
                          detail::bytes(kind),  kind.size(),  detail::bytes(name),   name.size(),
                          detail::bytes(store), store.size(), detail::bytes(path),   path.size(),
                          description.empty() ? nullptr : detail::bytes(description), description.size(),
                          history_shared};
    detail::check(::opensharing_config_builder_add_asset(raw_, &raw));
    return *this;
  }

  /// A recipient known by the lower-case hex SHA-256 of its token (`expires_unix_ms` < 0: never).
  ConfigBuilder& recipient(std::string_view name, std::string_view token_sha256_hex, int64_t expires_unix_ms = -1) {
    detail::check(::opensharing_config_builder_add_recipient(raw_, detail::bytes(name), name.size(),
                                                             detail::bytes(token_sha256_hex),
                                                             token_sha256_hex.size(), expires_unix_ms));
    return *this;
  }

  /// Grants a recipient added before read access to a share.
  ConfigBuilder& grant(std::string_view recipient, std::string_view share) {
    detail::check(::opensharing_config_builder_grant(raw_, detail::bytes(recipient), recipient.size(),
                                                     detail::bytes(share), share.size()));
    return *this;
  }

  /// Validates the configuration and creates an engine; the builder stays usable.
  Engine build() const {
    opensharing_engine* raw = nullptr;
    detail::check(::opensharing_config_builder_build(raw_, &raw));
    return Engine(raw);
  }

 private:
  opensharing_config_builder* raw_ = nullptr;
};

}  // namespace opensharing

#endif  // OPENSHARING_HPP
