// The `custos` binary: one verb per subcommand. See cli.h for exit codes.
#include <CLI/CLI.hpp>

#include <iostream>

#include "cli.h"

namespace {

constexpr const char* kExitCodes =
    "Exit codes: 0 success, 1 verification failed, 2 bad usage or input, "
    "3 storage error, 4 network or server error.";

}  // namespace

int main(int argc, char** argv) {
  using namespace custos::cli;
  CLI::App app{"custos: tamper-evident custody for physical supply chains", "custos"};
  app.footer(kExitCodes);
  app.require_subcommand(1);
  app.set_version_flag("--version", "custos 0.1.0");

  InitOptions init;
  auto* init_cmd = app.add_subcommand("init", "Create a data directory: storage, log key, admin token");
  init_cmd->add_option("--data", init.data_dir, "Data directory to create")->default_val("./custos-data");
  init_cmd->add_option("--origin", init.origin,
                       "Log origin (checkpoint first line), e.g. example.com/custos/log1");
  init_cmd->add_flag("--json", init.json, "Print the result as JSON");
  init_cmd->footer(kExitCodes);

  ServeOptions serve;
  auto* serve_cmd = app.add_subcommand("serve", "Run the HTTP server on a data directory");
  serve_cmd->add_option("--config", serve.config_path, "TOML configuration file");
  serve_cmd->add_option("--data", serve.data_dir, "Data directory (overrides storage.data_dir)");
  serve_cmd->add_option("--listen", serve.listen, "host:port to listen on (overrides server.listen)");
  serve_cmd->add_option("--threads", serve.threads, "I/O threads (overrides server.threads)");
  serve_cmd->add_option("--log-level", serve.log_level, "trace|debug|info|warn|error|off");
  serve_cmd->add_option("--log-format", serve.log_format, "text|json");
  serve_cmd->add_option("--ready-file", serve.ready_file,
                        "Write the bound host:port to this file once the server is ready");
  serve_cmd->footer(kExitCodes);

  auto* log_cmd = app.add_subcommand("log", "Append to and read the custody log");
  log_cmd->require_subcommand(1);

  LogAppendOptions log_append;
  auto* append_cmd = log_cmd->add_subcommand(
      "append", "Append one entry through a server and verify its receipt (proof + checkpoint)");
  append_cmd->add_option("PAYLOAD", log_append.payload, "Entry payload (text)")->required();
  append_cmd->add_option("--url", log_append.url, "Server URL")->default_val("http://127.0.0.1:8080");
  append_cmd->add_option("--token-file", log_append.token_file, "Admin token file")
      ->default_val("./custos-data/admin.token");
  append_cmd->add_option("--vkey", log_append.vkey, "Log verifier key")->required();
  append_cmd->add_flag("--json", log_append.json, "Print the receipt as JSON");
  append_cmd->footer(kExitCodes);

  LogProofOptions log_proof;
  auto* proof_cmd = log_cmd->add_subcommand(
      "proof", "Fetch and verify an inclusion proof for an entry against a signed checkpoint");
  proof_cmd->add_option("INDEX", log_proof.index, "Log index")->required();
  proof_cmd->add_option("--url", log_proof.url, "Server URL")->default_val("http://127.0.0.1:8080");
  proof_cmd->add_option("--vkey", log_proof.vkey, "Log verifier key")->required();
  proof_cmd->add_option("--tree-size", log_proof.tree_size, "Prove against this tree size (default: latest)");
  proof_cmd->add_flag("--json", log_proof.json, "Print the proof as JSON");
  proof_cmd->footer(kExitCodes);

  LogShowOptions log_show;
  auto* show_cmd = log_cmd->add_subcommand("show", "Print one log entry, decoded");
  show_cmd->add_option("INDEX", log_show.index, "Log index")->required();
  show_cmd->add_option("--data", log_show.data_dir, "Data directory")->default_val("./custos-data");
  show_cmd->add_option("--url", log_show.url, "Read from a server instead, e.g. http://127.0.0.1:8080");
  show_cmd->add_flag("--json", log_show.json, "Print as JSON");
  show_cmd->footer(kExitCodes);

  VerifyOptions verify;
  auto* verify_cmd = app.add_subcommand(
      "verify", "Offline audit of a data directory: every leaf, tile and checkpoint");
  verify_cmd->add_option("--data", verify.data_dir, "Data directory")->default_val("./custos-data");
  verify_cmd->add_flag("--json", verify.json, "Print the report as JSON");
  verify_cmd->add_flag("--quiet", verify.quiet, "No progress output");
  verify_cmd->footer(kExitCodes);

  AuditOptions audit;
  auto* audit_cmd = app.add_subcommand(
      "audit", "Remote audit: verify the server's checkpoint and its consistency with the last run");
  audit_cmd->add_option("--url", audit.url, "Server URL, e.g. http://127.0.0.1:8080")->required();
  audit_cmd->add_option("--state", audit.state_path, "State file kept between runs")->required();
  audit_cmd->add_option("--vkey", audit.vkey,
                        "Log verifier key (name+hash+base64); needed on the first run");
  audit_cmd->add_flag("--json", audit.json, "Print the result as JSON");
  audit_cmd->footer(kExitCodes);

  BenchAppendOptions bench;
  auto* bench_cmd = app.add_subcommand("bench", "Benchmarks");
  bench_cmd->require_subcommand(1);
  auto* bench_append_cmd =
      bench_cmd->add_subcommand("append", "Synced appends through the sequencer, in-process");
  bench_append_cmd->add_option("--entries", bench.entries, "Entries to append")->default_val(1000000);
  bench_append_cmd->add_option("--size", bench.size, "Payload bytes per entry")->default_val(256);
  bench_append_cmd->add_option("--producers", bench.producers, "Producer threads")->default_val(4);
  bench_append_cmd->add_option("--in-flight", bench.in_flight, "Appends in flight per run")
      ->default_val(65536);
  bench_append_cmd->add_option("--data", bench.data_dir,
                               "Data directory (default: a temporary one, removed afterwards)");
  bench_append_cmd->add_flag("--json", bench.json, "Print the result as JSON");
  bench_append_cmd->footer(kExitCodes);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& error) {
    int code = app.exit(error);
    return code == 0 ? kExitOk : kExitUsage;
  }

  if (init_cmd->parsed()) return run_init(init);
  if (serve_cmd->parsed()) return run_serve(serve);
  if (show_cmd->parsed()) return run_log_show(log_show);
  if (append_cmd->parsed()) return run_log_append(log_append);
  if (proof_cmd->parsed()) return run_log_proof(log_proof);
  if (verify_cmd->parsed()) return run_verify(verify);
  if (audit_cmd->parsed()) return run_audit(audit);
  if (bench_append_cmd->parsed()) return run_bench_append(bench);
  std::cerr << "custos: no verb given; try custos --help\n";
  return kExitUsage;
}
