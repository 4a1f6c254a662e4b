// custos log append | show | proof
#include <simdjson.h>

#include <iostream>

#include "cli.h"
#include "custos/core/clock.h"
#include "custos/core/json_writer.h"
#include "custos/ledger/entry.h"
#include "custos/ledger/log.h"
#include "custos/ledger/merkle.h"
#include "custos/ledger/proof.h"
#include "data_dir.h"
#include "remote.h"

namespace custos::cli {
namespace {

int fail(std::string_view verb, const Status& status, int code) {
  std::cerr << "custos " << verb << ": " << status.message() << "\n";
  return code;
}

int exit_code_for(const Status& status) {
  switch (status.code()) {
    case StatusCode::kInvalidArgument:
    case StatusCode::kNotFound:
    case StatusCode::kOutOfRange: return kExitUsage;
    case StatusCode::kUnavailable:
    case StatusCode::kIoError: return kExitNetwork;
    case StatusCode::kDataLoss:
    case StatusCode::kUnauthenticated: return kExitVerifyFailed;
    default: return kExitStorage;
  }
}

Result<std::vector<std::string>> string_array(simdjson::dom::element object, const char* key) {
  simdjson::dom::array array;
  if (object[key].get(array)) return invalid_argument(std::string("response lacks ") + key);
  std::vector<std::string> values;
  for (auto item : array) {
    std::string_view text;
    if (item.get(text)) return invalid_argument(std::string("response ") + key + " has a non-string");
    values.emplace_back(text);
  }
  return values;
}

template <typename T>
Result<T> field(simdjson::dom::element object, const char* key) {
  T value;
  if (object[key].get(value)) return invalid_argument(std::string("response lacks field ") + key);
  return value;
}

// Verifies an inclusion proof in a JSON response against the signed checkpoint it carries.
struct VerifiedInclusion {
  uint64_t index;
  uint64_t tree_size;
  Hash256 leaf_hash;
  std::vector<Hash256> proof;
  std::string checkpoint;
};

Result<VerifiedInclusion> verify_inclusion_response(simdjson::dom::element response,
                                                    const NoteVerifier& log_key) {
  VerifiedInclusion verified;
  CUSTOS_ASSIGN_OR_RETURN(verified.index, field<uint64_t>(response, "index"));
  CUSTOS_ASSIGN_OR_RETURN(verified.tree_size, field<uint64_t>(response, "tree_size"));
  CUSTOS_ASSIGN_OR_RETURN(std::string_view leaf_text, field<std::string_view>(response, "leaf_hash"));
  CUSTOS_ASSIGN_OR_RETURN(verified.leaf_hash, Hash256::from_base64(leaf_text));
  CUSTOS_ASSIGN_OR_RETURN(auto proof_text, string_array(response, "inclusion_proof"));
  CUSTOS_ASSIGN_OR_RETURN(verified.proof, decode_hash_list(proof_text));
  CUSTOS_ASSIGN_OR_RETURN(std::string_view note, field<std::string_view>(response, "checkpoint"));
  verified.checkpoint = std::string(note);
  CUSTOS_ASSIGN_OR_RETURN(auto checkpoint, open_checkpoint(note, log_key));
  if (checkpoint.tree_size != verified.tree_size) {
    return data_loss("the checkpoint's size " + std::to_string(checkpoint.tree_size) +
                     " differs from the proof's tree size " + std::to_string(verified.tree_size));
  }
  Status included = ledger::verify_inclusion(verified.index, verified.tree_size, verified.leaf_hash,
                                             verified.proof, checkpoint.root_hash);
  if (!included.is_ok()) return data_loss("inclusion proof does not verify: " + included.message());
  return verified;
}

Result<NoteVerifier> parse_vkey(const std::string& vkey) {
  auto verifier = NoteVerifier::parse(vkey);
  if (!verifier.is_ok()) return verifier.status().with_context("--vkey");
  return verifier;
}

}  // namespace

int run_log_append(const LogAppendOptions& options) {
  constexpr std::string_view kVerb = "log append";
  auto url = parse_server_url(options.url);
  if (!url.is_ok()) return fail(kVerb, url.status(), kExitUsage);
  auto log_key = parse_vkey(options.vkey);
  if (!log_key.is_ok()) return fail(kVerb, log_key.status(), kExitUsage);
  auto token = read_secret_file(options.token_file);
  if (!token.is_ok()) return fail(kVerb, token.status(), kExitUsage);
  if (options.payload.empty()) return fail(kVerb, invalid_argument("the payload is empty"), kExitUsage);

  auto client = connect_client(*url);
  HttpHeaders headers;
  headers.set("Authorization", "Bearer " + *token);
  headers.set("Content-Type", "application/octet-stream");
  auto response =
      client->request("POST", url->prefix + "/custos/v1/log/entries", options.payload, headers);
  if (!response.is_ok()) return fail(kVerb, response.status(), kExitNetwork);
  if (response->status != 201) {
    return fail(kVerb, unavailable(describe_error_response(*response)),
                response->status < 500 ? kExitUsage : kExitNetwork);
  }
  simdjson::dom::parser parser;
  simdjson::dom::element body;
  if (parser.parse(response->body).get(body)) {
    return fail(kVerb, data_loss("the server's receipt is not JSON"), kExitVerifyFailed);
  }
  auto verified = verify_inclusion_response(body, *log_key);
  if (!verified.is_ok()) return fail(kVerb, verified.status(), kExitVerifyFailed);
  // The leaf must be exactly our payload as the log says it encoded it.
  auto receive_time = field<int64_t>(body, "receive_time_us");
  auto principal = field<std::string_view>(body, "principal");
  if (!receive_time.is_ok() || !principal.is_ok()) {
    return fail(kVerb, data_loss("receipt lacks receive_time_us or principal"), kExitVerifyFailed);
  }
  ledger::LogEntry expected{ledger::EntryKind::kRawPayload, verified->index, *receive_time,
                            std::string(*principal), {}, to_bytes(options.payload)};
  if (ledger::hash_leaf(ledger::encode_entry(expected)) != verified->leaf_hash) {
    return fail(kVerb, data_loss("the receipt's leaf hash is not the hash of the payload sent"),
                kExitVerifyFailed);
  }
  if (options.json) {
    std::cout << response->body << "\n";
  } else {
    std::cout << "entry " << verified->index << " committed; inclusion proof ("
              << verified->proof.size() << " hashes) verified against checkpoint of size "
              << verified->tree_size << " signed by " << log_key->name() << "\n";
  }
  return kExitOk;
}

int run_log_proof(const LogProofOptions& options) {
  constexpr std::string_view kVerb = "log proof";
  auto url = parse_server_url(options.url);
  if (!url.is_ok()) return fail(kVerb, url.status(), kExitUsage);
  auto log_key = parse_vkey(options.vkey);
  if (!log_key.is_ok()) return fail(kVerb, log_key.status(), kExitUsage);
  auto client = connect_client(*url);
  std::string path = "/custos/v1/log/proof/inclusion?index=" + std::to_string(options.index);
  if (options.tree_size) path += "&tree_size=" + std::to_string(*options.tree_size);
  auto text = fetch(*client, *url, path);
  if (!text.is_ok()) return fail(kVerb, text.status(), exit_code_for(text.status()));
  simdjson::dom::parser parser;
  simdjson::dom::element body;
  if (parser.parse(*text).get(body)) return fail(kVerb, data_loss("response is not JSON"), kExitVerifyFailed);
  auto verified = verify_inclusion_response(body, *log_key);
  if (!verified.is_ok()) return fail(kVerb, verified.status(), kExitVerifyFailed);

  // The leaf hash must be the hash of the entry the log serves.
  auto entry_text = fetch(*client, *url, "/custos/v1/log/entries/" + std::to_string(options.index));
  if (!entry_text.is_ok()) return fail(kVerb, entry_text.status(), exit_code_for(entry_text.status()));
  simdjson::dom::parser entry_parser;
  simdjson::dom::element entry_json;
  std::string_view entry_b64;
  if (entry_parser.parse(*entry_text).get(entry_json) || entry_json["entry"].get(entry_b64)) {
    return fail(kVerb, data_loss("entry response is malformed"), kExitVerifyFailed);
  }
  auto entry_bytes = base64_decode(entry_b64);
  if (!entry_bytes.is_ok() || ledger::hash_leaf(*entry_bytes) != verified->leaf_hash) {
    return fail(kVerb, data_loss("the served entry does not hash to the proven leaf"),
                kExitVerifyFailed);
  }

  if (options.json) {
    std::cout << *text << "\n";
    return kExitOk;
  }
  std::cout << "entry " << verified->index << " is in the log of size " << verified->tree_size
            << ": inclusion proof VERIFIED\n"
            << "  leaf hash  " << verified->leaf_hash.base64() << "\n";
  for (size_t i = 0; i < verified->proof.size(); ++i) {
    std::cout << "  proof[" << i << "]   " << verified->proof[i].base64() << "\n";
  }
  std::cout << "  checkpoint (signature verified with " << log_key->name() << "):\n";
  std::string_view note = verified->checkpoint;
  size_t start = 0;
  while (start < note.size()) {
    size_t end = note.find('\n', start);
    if (end == std::string_view::npos) end = note.size();
    std::cout << "    " << note.substr(start, end - start) << "\n";
    start = end + 1;
  }
  return kExitOk;
}

int run_log_show(const LogShowOptions& options) {
  constexpr std::string_view kVerb = "log show";
  if (!options.url.empty()) {
    auto url = parse_server_url(options.url);
    if (!url.is_ok()) return fail(kVerb, url.status(), kExitUsage);
    auto client = connect_client(*url);
    auto text = fetch(*client, *url, "/custos/v1/log/entries/" + std::to_string(options.index));
    if (!text.is_ok()) return fail(kVerb, text.status(), exit_code_for(text.status()));
    simdjson::dom::parser parser;
    simdjson::dom::element body;
    std::string_view entry_b64;
    if (parser.parse(*text).get(body) || body["entry"].get(entry_b64)) {
      return fail(kVerb, data_loss("entry response is malformed"), kExitNetwork);
    }
    auto bytes = base64_decode(entry_b64);
    if (!bytes.is_ok()) return fail(kVerb, data_loss("entry is not base64"), kExitNetwork);
    return print_entry(*bytes, options.json);
  }
  DataDirPaths paths{options.data_dir};
  auto store = open_store(paths, /*read_only=*/true);
  if (!store.is_ok()) return fail(kVerb, store.status(), exit_code_for(store.status()));
  SystemClock clock;
  ledger::LogOptions log_options;
  log_options.clock = &clock;
  log_options.sign_checkpoint = [](std::string_view) -> Result<std::string> {
    return failed_precondition("read-only");
  };
  auto origin = (*store)->get(store::Family::kMeta, "log/origin");
  if (origin.is_ok() && origin->has_value()) log_options.origin = **origin;
  auto log = ledger::Log::open(**store, std::move(log_options));
  if (!log.is_ok()) return fail(kVerb, log.status(), kExitStorage);
  auto bytes = (*log)->entry(options.index);
  if (!bytes.is_ok()) return fail(kVerb, bytes.status(), exit_code_for(bytes.status()));
  return print_entry(*bytes, options.json);
}

int print_entry(ByteView bytes, bool json_output) {
  auto entry = ledger::decode_entry(bytes);
  if (!entry.is_ok()) {
    std::cerr << "custos log show: the stored entry does not decode: " << entry.status().message()
              << "\n";
    return kExitVerifyFailed;
  }
  Hash256 leaf = ledger::hash_leaf(bytes);
  bool printable = true;
  for (uint8_t byte : entry->payload) printable = printable && (byte >= 0x20 || byte == '\n' || byte == '\t') && byte != 0x7f;
  if (json_output) {
    JsonWriter json;
    json.begin_object()
        .key("index").number(entry->index)
        .key("kind").string(ledger::entry_kind_name(entry->kind))
        .key("receive_time").string(format_rfc3339_micros(entry->receive_time))
        .key("principal").string(entry->principal)
        .key("request_signature").string(base64_encode(entry->request_signature))
        .key("payload").string(base64_encode(entry->payload))
        .key("leaf_hash").string(leaf.base64())
        .end_object();
    std::cout << json.str() << "\n";
    return kExitOk;
  }
  std::cout << "index         " << entry->index << "\n"
            << "kind          " << ledger::entry_kind_name(entry->kind) << "\n"
            << "received      " << format_rfc3339_micros(entry->receive_time) << "\n"
            << "principal     " << entry->principal << "\n"
            << "signature     "
            << (entry->request_signature.empty() ? "(none)" : base64_encode(entry->request_signature))
            << "\n"
            << "leaf hash     " << leaf.base64() << "\n"
            << "payload       " << entry->payload.size() << " bytes\n";
  if (printable) {
    std::cout << "  " << as_text(entry->payload) << "\n";
  } else {
    std::cout << "  base64 " << base64_encode(entry->payload) << "\n";
  }
  return kExitOk;
}

}  // namespace custos::cli
