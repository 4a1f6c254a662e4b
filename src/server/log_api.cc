#include "custos/server/log_api.h"



#include "custos/core/json_writer.h"
#include "custos/core/work_queue.h"
#include "custos/ledger/checkpoint.h"
#include "custos/ledger/entry.h"
#include "custos/ledger/merkle.h"
#include "custos/ledger/tile_path.h"
#include "custos/ledger/tile_reader.h"

namespace custos {
namespace {

constexpr std::string_view kImmutable = "public, max-age=31536000, immutable";

std::vector<double> power_of_two_buckets(int count) {
  std::vector<double> bounds;
  for (int i = 0; i < count; ++i) bounds.push_back(static_cast<double>(uint64_t{1} << i));
  return bounds;
}

// Largest append body: an entry (with principal and signature) fits in 64 KiB.
constexpr size_t kMaxAppendBytes = 61440;

}  // namespace

ResourceFn log_stream_resource(std::string origin) {
  return [origin = std::move(origin)](const HttpRequest&, const RouteParams&,
                                      const AuthenticatedPrincipal& who) -> Result<policy::Entity> {
    policy::Entity entity;
    const identity::PrincipalAttributes& attributes = who.principal->attributes;
    if (who.principal->kind() == identity::PrincipalKind::kDevice) {
      // A device writes to its own zone's stream of the log.
      entity.uid = policy::EntityUid{"Custos::Log", attributes.site + "/" + attributes.zone};
      entity.attributes = policy::Value::record({{"site", policy::Value::string(attributes.site)},
                                                 {"zone", policy::Value::string(attributes.zone)}});
    } else {
      entity.uid = policy::EntityUid{"Custos::Log", origin};
      entity.attributes = policy::Value::record({});
    }
    return entity;
  };
}

namespace {

HttpResponse octets(std::string body, bool immutable) {
  HttpResponse response;
  response.status = 200;
  response.content_type = "application/octet-stream";
  response.body = std::move(body);
  response.headers.set("Cache-Control", immutable ? std::string(kImmutable) : "no-cache");
  return response;
}

Result<Hash256> leaf_hash_at(const ledger::Log& log, uint64_t index) {
  uint64_t position = index % ledger::kTileWidth;
  CUSTOS_ASSIGN_OR_RETURN(
      Bytes tile, log.read_tile(0, index / ledger::kTileWidth, static_cast<uint32_t>(position + 1)));
  return Hash256::from_bytes(ByteView(tile).subspan(position * Hash256::kSize, Hash256::kSize));
}

// Valid UTF-8 without control characters other than tab/newline, so it can be shown as text.
bool is_printable_text(ByteView bytes) {
  std::string escaped;
  append_json_string(escaped, as_text(bytes));
  if (escaped.find("\xef\xbf\xbd") != std::string::npos) return false;
  for (uint8_t byte : bytes) {
    if (byte < 0x20 && byte != '\n' && byte != '\t') return false;
  }
  return true;
}

}  // namespace

Result<ProofQuery> parse_proof_query(const QueryParams& query,
                                     std::initializer_list<std::string_view> allowed) {
  ProofQuery values;
  for (const auto& [name, text] : query) {
    bool known = false;
    for (auto candidate : allowed) known = known || candidate == name;
    if (!known) return invalid_argument("unknown query parameter '" + name + "'");
    if (values.count(name)) return invalid_argument("query parameter '" + name + "' given twice");
    auto value = parse_decimal_u64(text);
    if (!value.is_ok()) {
      return invalid_argument("query parameter '" + name + "': " + value.status().message());
    }
    values[name] = *value;
  }
  return values;
}

void write_hashes(JsonWriter& json, const std::vector<Hash256>& hashes) {
  json.begin_array();
  for (const auto& hash : hashes) json.base64_string(hash.view());
  json.end_array();
}

HttpResponse problem_from_status(const Status& status) {
  switch (status.code()) {
    case StatusCode::kInvalidArgument:
    case StatusCode::kOutOfRange:
      return problem_response(400, "Bad request", status.message(), "bad-request");
    case StatusCode::kNotFound:
      return problem_response(404, "Not found", status.message(), "not-found");
    case StatusCode::kAlreadyExists:
      return problem_response(409, "Conflict", status.message(), "conflict");
    case StatusCode::kUnauthenticated:
      return problem_response(401, "Unauthenticated", status.message(), "unauthenticated");
    case StatusCode::kPermissionDenied:
      return problem_response(403, "Forbidden", status.message(), "forbidden");
    case StatusCode::kResourceExhausted: {
      auto response = problem_response(503, "Overloaded", status.message(), "overloaded");
      response.headers.set("Retry-After", "1");
      return response;
    }
    case StatusCode::kUnavailable:
    case StatusCode::kFailedPrecondition:
      return problem_response(503, "Unavailable", status.message(), "unavailable");
    default:
      return problem_response(500, "Internal error", status.message(), "internal");
  }
}

HttpResponse change_problem(const Status& status) {
  if (status.code() == StatusCode::kFailedPrecondition &&
      status.message().find("read-only") == std::string::npos) {
    return problem_response(409, "Conflict", status.message(), "conflict");
  }
  return problem_from_status(status);
}

LogMetrics::LogMetrics(MetricsRegistry& registry)
    : registry_(registry),
      appends_(registry.counter("custos_log_appends_total", "Entries committed to the log")),
      batches_(registry.counter("custos_log_batches_total", "Group commits (synced write batches)")),
      batch_entries_(registry.histogram("custos_log_batch_entries", "Entries per group commit",
                                        power_of_two_buckets(17))),
      commit_seconds_(registry.histogram(
          "custos_log_commit_seconds", "Wall time of one group commit (hash, sign, synced write)",
          {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1})) {}

void LogMetrics::on_batch(const ledger::BatchStats& stats) {
  appends_.inc(stats.entries);
  batches_.inc();
  batch_entries_.observe(static_cast<double>(stats.entries));
  commit_seconds_.observe(static_cast<double>(stats.commit_micros) / 1e6);
}

void LogMetrics::watch_tree_size(const ledger::Log& log) {
  registry_.add_collector([&log](MetricsRegistry& registry) {
    registry.gauge("custos_log_tree_size", "Committed entries in the log")
        .set(static_cast<double>(log.tree_size()));
  });
}

Status add_log_routes(Router& router, ledger::Log& log, WorkQueue& receipts,
                      LogApiOptions options) {
  if (options.gatekeeper == nullptr) {
    return invalid_argument("add_log_routes: the append route needs a gatekeeper");
  }
  auto shared = std::make_shared<LogApiOptions>(std::move(options));

  CUSTOS_RETURN_IF_ERROR(router.add(
      "GET", "/checkpoint", "checkpoint",
      [&log](const HttpRequest&, const RouteParams&, Responder respond) {
        auto response = text_response(200, log.latest_checkpoint());
        response.headers.set("Cache-Control", "no-cache");
        respond(std::move(response));
      }));

  CUSTOS_RETURN_IF_ERROR(router.add(
      "GET", "/tile/{path...}", "tile",
      [&log](const HttpRequest&, const RouteParams& params, Responder respond) {
        auto path = ledger::parse_tile_path("tile/" + std::string(params.value("path")));
        if (!path.is_ok()) {
          respond(problem_response(404, "Not found", path.status().message(), "not-found"));
          return;
        }
        auto width = static_cast<uint32_t>(path->width);
        auto bytes = path->entries ? log.read_entry_bundle(path->index, width)
                                   : log.read_tile(path->level, path->index, width);
        if (!bytes.is_ok()) {
          respond(problem_from_status(bytes.status()));
          return;
        }
        respond(octets(std::string(as_text(*bytes)), true));
      }));

  CUSTOS_RETURN_IF_ERROR(router.add(
      "GET", "/custos/v1/log/key", "log_key",
      [shared](const HttpRequest&, const RouteParams&, Responder respond) {
        JsonWriter json;
        json.begin_object()
            .key("origin").string(shared->origin)
            .key("verifier_key").string(shared->verifier_key)
            .key("algorithm").string("ed25519")
            .end_object();
        respond(json_response(200, json.take()));
      }));

  CUSTOS_RETURN_IF_ERROR(router.add(
      "GET", "/custos/v1/log/entries/{index}", "log_entry",
      [&log](const HttpRequest&, const RouteParams& params, Responder respond) {
        auto index = parse_decimal_u64(params.value("index"));
        if (!index.is_ok()) {
          respond(problem_response(400, "Bad request", "entry index: " + index.status().message(),
                                   "bad-request"));
          return;
        }
        if (*index >= log.tree_size()) {
          respond(problem_response(404, "Not found",
                                   "entry " + std::to_string(*index) + " is not in the log (size " +
                                       std::to_string(log.tree_size()) + ")",
                                   "not-found"));
          return;
        }
        auto bytes = log.entry(*index);
        if (!bytes.is_ok()) {
          respond(problem_from_status(bytes.status()));
          return;
        }
        auto entry = ledger::decode_entry(*bytes);
        if (!entry.is_ok()) {
          respond(problem_from_status(data_loss(entry.status().message())));
          return;
        }
        JsonWriter json;
        json.begin_object()
            .key("index").number(entry->index)
            .key("kind").string(ledger::entry_kind_name(entry->kind))
            .key("receive_time").string(format_rfc3339_micros(entry->receive_time))
            .key("receive_time_us").number(static_cast<int64_t>(entry->receive_time))
            .key("principal").string(entry->principal)
            .key("request_signature").base64_string(entry->request_signature)
            .key("payload").base64_string(entry->payload);
        if (is_printable_text(entry->payload)) json.key("payload_text").string(as_text(entry->payload));
        json.key("leaf_hash").base64_string(ledger::hash_leaf(*bytes).view())
            .key("entry").base64_string(*bytes)
            .end_object();
        respond(json_response(200, json.take()));
      }));

  CUSTOS_RETURN_IF_ERROR(router.add(
      "GET", "/custos/v1/log/proof/inclusion", "log_proof_inclusion",
      [&log](const HttpRequest& request, const RouteParams&, Responder respond) {
        auto query = parse_proof_query(request.query, {"index", "tree_size"});
        if (!query.is_ok()) {
          respond(problem_from_status(query.status()));
          return;
        }
        if (!query->count("index")) {
          respond(problem_response(400, "Bad request", "query parameter 'index' is required",
                                   "bad-request"));
          return;
        }
        uint64_t index = query->at("index");
        // Pin the size and its checkpoint together so the proof matches the checkpoint served.
        std::string checkpoint = log.latest_checkpoint();
        uint64_t tree_size;
        if (query->count("tree_size")) {
          tree_size = query->at("tree_size");
          auto stored = log.checkpoint_at(tree_size);
          checkpoint = stored.is_ok() ? *stored : std::string();
        } else {
          auto body = ledger::parse_checkpoint_body(checkpoint.substr(0, checkpoint.find("\n\n") + 1));
          if (!body.is_ok()) {
            respond(problem_from_status(internal_error("latest checkpoint unreadable")));
            return;
          }
          tree_size = body->tree_size;
        }
        auto proof = log.inclusion_proof(index, tree_size);
        if (!proof.is_ok()) {
          respond(problem_from_status(proof.status()));
          return;
        }
        auto leaf = leaf_hash_at(log, index);
        if (!leaf.is_ok()) {
          respond(problem_from_status(leaf.status()));
          return;
        }
        JsonWriter json;
        json.begin_object()
            .key("index").number(index)
            .key("tree_size").number(tree_size)
            .key("leaf_hash").base64_string(leaf->view())
            .key("inclusion_proof");
        write_hashes(json, *proof);
        if (!checkpoint.empty()) json.key("checkpoint").string(checkpoint);
        json.end_object();
        respond(json_response(200, json.take()));
      }));

  CUSTOS_RETURN_IF_ERROR(router.add(
      "GET", "/custos/v1/log/proof/consistency", "log_proof_consistency",
      [&log](const HttpRequest& request, const RouteParams&, Responder respond) {
        auto query = parse_proof_query(request.query, {"from", "to"});
        if (!query.is_ok()) {
          respond(problem_from_status(query.status()));
          return;
        }
        if (!query->count("from")) {
          respond(problem_response(400, "Bad request", "query parameter 'from' is required",
                                   "bad-request"));
          return;
        }
        uint64_t from = query->at("from");
        uint64_t to = query->count("to") ? query->at("to") : log.tree_size();
        auto proof = log.consistency_proof(from, to);
        if (!proof.is_ok()) {
          respond(problem_from_status(proof.status()));
          return;
        }
        JsonWriter json;
        json.begin_object().key("from").number(from).key("to").number(to).key("consistency_proof");
        write_hashes(json, *proof);
        json.end_object();
        respond(json_response(200, json.take()));
      }));

  CUSTOS_RETURN_IF_ERROR(router.add(
      "POST", "/custos/v1/log/entries", "log_append",
      options.gatekeeper->guard(
      RouteAccess{"log.append", log_stream_resource(shared->origin)},
      [&log, &receipts](const HttpRequest& request, const RouteParams&, AccessGrant grant,
                        Responder respond) {
        if (request.body.empty()) {
          respond(problem_response(400, "Bad request", "the entry payload (request body) is empty",
                                   "bad-request"));
          return;
        }
        if (request.body.size() > kMaxAppendBytes) {
          respond(problem_response(413, "Payload Too Large",
                                   "a log entry payload may be at most " +
                                       std::to_string(kMaxAppendBytes) + " bytes",
                                   "payload-too-large"));
          return;
        }
        ledger::AppendRequest append;
        append.kind = ledger::EntryKind::kRawPayload;
        append.principal = grant.who.id();
        // Keep the proof of who asked: the verified request signature.
        std::string evidence = signature_evidence(grant.who);
        append.request_signature = to_bytes(evidence);
        append.payload = to_bytes(request.body);
        log.append_async(std::move(append), [&log, &receipts, respond,
                                             principal = grant.who.id(),
                                             evidence = std::move(evidence)](
                                                Result<ledger::AppendReceipt> receipt) {
          if (!receipt.is_ok()) {
            respond(problem_from_status(receipt.status()));
            return;
          }
          // Proofs read tiles: keep that off the sequencer thread.
          receipts.post([&log, respond, principal, evidence,
                         receipt = std::move(receipt).value()] {
            auto proof = log.inclusion_proof(receipt.index, receipt.tree_size);
            if (!proof.is_ok()) {
              respond(problem_from_status(proof.status()));
              return;
            }
            JsonWriter json;
            json.begin_object()
                .key("index").number(receipt.index)
                .key("leaf_hash").base64_string(receipt.leaf_hash.view())
                .key("receive_time_us").number(static_cast<int64_t>(receipt.receive_time))
                .key("principal").string(principal);
            if (!evidence.empty()) json.key("request_signature").base64_string(as_bytes(evidence));
            json
                .key("tree_size").number(receipt.tree_size)
                .key("checkpoint").string(receipt.checkpoint)
                .key("inclusion_proof");
            write_hashes(json, *proof);
            json.end_object();
            auto response = json_response(201, json.take());
            response.headers.set("Location",
                                 "/custos/v1/log/entries/" + std::to_string(receipt.index));
            respond(std::move(response));
          });
        });
      })));
  return Status::ok();
}

}  // namespace custos
