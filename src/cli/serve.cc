#include <iostream>
#include <thread>

#include "cli.h"
#include "custos/core/clock.h"
#include "custos/core/config.h"
#include "custos/core/logging.h"
#include "custos/core/work_queue.h"
#include "custos/ledger/log.h"
#include "custos/identity/identity_service.h"
#include "custos/policy/policy_store.h"
#include "custos/custody/capture_record.h"
#include "custos/custody/event_index.h"
#include "custos/server/epcis_api.h"
#include "custos/server/epcis_subscriptions.h"
#include "custos/server/gatekeeper.h"
#include "custos/server/identity_api.h"
#include "custos/server/log_api.h"
#include "custos/server/policy_api.h"
#include "custos/server/server.h"
#include "data_dir.h"

namespace custos::cli {

// The composition root of a custos node: config -> store -> log -> HTTP server.
int run_serve(const ServeOptions& options) {
  Config config;
  if (!options.config_path.empty()) {
    auto loaded = load_config_file(options.config_path);
    if (!loaded.is_ok()) {
      std::cerr << "custos serve: " << loaded.status().message() << "\n";
      return kExitUsage;
    }
    config = std::move(loaded).value();
  }
  if (options.data_dir) config.storage.data_dir = *options.data_dir;
  if (options.listen) config.server.listen = *options.listen;
  if (options.threads) config.server.threads = *options.threads;
  if (options.log_level) config.logging.level = *options.log_level;
  if (options.log_format) config.logging.format = *options.log_format;

  Status logging = configure_logging(config.logging.level, config.logging.format);
  if (!logging.is_ok()) {
    std::cerr << "custos serve: " << logging.message() << "\n";
    return kExitUsage;
  }

  DataDirPaths paths{config.storage.data_dir};
  if (Status usable = check_data_dir(paths); !usable.is_ok()) {
    std::cerr << "custos serve: " << usable.message() << "\n";
    return kExitUsage;
  }
  auto signer = load_log_signer(paths);
  if (!signer.is_ok()) {
    std::cerr << "custos serve: " << signer.status().message() << "\n";
    return signer.status().code() == StatusCode::kNotFound ? kExitUsage : kExitStorage;
  }
  auto store = open_store(paths, /*read_only=*/false, config.storage.block_cache_mb);
  if (!store.is_ok()) {
    std::cerr << "custos serve: " << store.status().message() << "\n";
    return store.status().code() == StatusCode::kNotFound ? kExitUsage : kExitStorage;
  }

  MetricsRegistry metrics;
  LogMetrics log_metrics(metrics);
  SystemClock clock;
  ledger::LogOptions log_options;
  log_options.origin = signer->name();
  log_options.clock = &clock;
  log_options.sign_checkpoint = checkpoint_signer(*signer);
  log_options.max_batch_entries = config.sequencer.max_batch_entries;
  log_options.max_pending_entries = config.sequencer.max_pending_entries;
  log_options.on_batch = [&log_metrics](const ledger::BatchStats& stats) {
    log_metrics.on_batch(stats);
  };
  auto log = ledger::Log::open(**store, std::move(log_options));
  if (!log.is_ok()) {
    std::cerr << "custos serve: " << log.status().message() << "\n";
    return kExitStorage;
  }
  log_metrics.watch_tree_size(**log);

  auto identity = identity::IdentityService::open(**log, **store, clock);
  if (!identity.is_ok()) {
    std::cerr << "custos serve: identity state: " << identity.status().message() << "\n";
    return kExitStorage;
  }
  AccessControlOptions access_options;
  access_options.max_skew_seconds = config.auth.max_skew_s;
  access_options.nonce_cache_entries = config.auth.nonce_cache_entries;
  access_options.key_cache_entries = config.auth.key_cache_entries;
  access_options.scheme = config.tls.cert_file.empty() ? "http" : "https";
  access_options.sites = config.sites;
  AccessControl access(**identity, clock, metrics, access_options);
  auto policies = policy::PolicyStore::open(**log, **store, policy::custos_schema());
  if (!policies.is_ok()) {
    std::cerr << "custos serve: policy versions: " << policies.status().message() << "\n";
    return kExitStorage;
  }
  if (!(*policies)->current()) {
    // A log without any policy version (made before policies were logged):
    // push the bootstrap set as version 1.
    auto text = bootstrap_policy_text(config.auth.policy_dir);
    if (!text.is_ok()) {
      std::cerr << "custos serve: " << text.status().message() << "\n";
      return kExitUsage;
    }
    auto pushed = (*policies)->push(*text, "bootstrap", "bootstrap");
    if (!pushed.is_ok()) {
      std::cerr << "custos serve: bootstrap policies: " << pushed.status().message() << "\n";
      return kExitUsage;
    }
  }
  if (Status followed = follow_policy_store(**policies, access); !followed.is_ok()) {
    std::cerr << "custos serve: " << followed.message() << "\n";
    return kExitStorage;
  }

  // EPCIS query indexes and custody state: caught up with the log before serving.
  auto event_index = custody::EventIndex::open(**store, **log, custody::summarise_entry);
  if (!event_index.is_ok()) {
    std::cerr << "custos serve: EPCIS indexes: " << event_index.status().message() << "\n";
    return kExitStorage;
  }

  // Webhook subscriptions to named queries: a subscriber receives events only
  // while it is an active principal (checked before every delivery).
  SubscriptionOptions subscription_options;
  subscription_options.clock = &clock;
  const identity::IdentityService* identity_ptr = identity->get();
  subscription_options.may_receive = [identity_ptr](const std::string& owner) {
    identity::PrincipalPtr principal = identity_ptr->find_principal(owner);
    return principal != nullptr && principal->status == identity::PrincipalStatus::kActive;
  };
  subscription_options.ca_file = config.epcis.webhook_ca_file;
  use_named_queries(subscription_options, **store, **log, event_index->get());
  auto subscriptions = SubscriptionManager::open(**store, **event_index, subscription_options);
  if (!subscriptions.is_ok()) {
    std::cerr << "custos serve: EPCIS subscriptions: " << subscriptions.status().message() << "\n";
    return kExitStorage;
  }

  WorkQueue receipts(2);
  WorkQueue indexer(1);  // one thread: events are indexed in commit order
  WorkQueue control(1);
  WorkQueue logins(1);
  Router router;
  LogApiOptions api_options{&access.gatekeeper(), signer->verifier().vkey_string(),
                            signer->name()};
  Status routes = add_log_routes(router, **log, receipts, api_options);
  if (routes.is_ok()) routes = add_identity_routes(router, **identity, access, **log, control, logins);
  if (routes.is_ok()) routes = add_policy_routes(router, **policies, access.gatekeeper(), control);
  if (routes.is_ok()) {
    EpcisApiOptions epcis_options;
    epcis_options.gatekeeper = &access.gatekeeper();
    epcis_options.clock = &clock;
    epcis_options.max_document_bytes = config.epcis.max_document_bytes;
    epcis_options.max_events = config.epcis.max_events;
    epcis_options.sites = config.sites;
    epcis_options.receipts = &receipts;
    epcis_options.store = store->get();
    epcis_options.subscriptions = subscriptions->get();
    epcis_options.identity = identity->get();
    routes = add_epcis_routes(router, **log, **event_index, indexer, std::move(epcis_options));
  }
  if (!routes.is_ok()) {
    std::cerr << "custos serve: " << routes.message() << "\n";
    return kExitStorage;
  }

  // Devices' keys are prepared for fast verification in the background, so
  // the first signed request of each after a restart costs no more than later ones.
  std::jthread key_warmer([&access](std::stop_token stop) {
    size_t prepared = access.authenticator().warm_key_cache(stop);
    if (prepared > 0) {
      log_event(LogLevel::kInfo, "auth.keys_prepared", {{"keys", std::to_string(prepared)}});
    }
  });

  HttpServer server(server_options_from_config(config), std::move(router), &metrics);
  ledger::Log* log_ptr = log->get();
  server.set_readiness([log_ptr] { return log_ptr->health(); });
  Status started = server.start();
  if (!started.is_ok()) {
    std::cerr << "custos serve: " << started.message() << "\n";
    return kExitNetwork;
  }
  std::string host = config.server.listen.substr(0, config.server.listen.rfind(':'));
  std::string bound = host + ":" + std::to_string(server.port());
  log_event(LogLevel::kInfo, "node.ready",
            {{"address", bound}, {"origin", signer->name()},
             {"scheme", config.tls.cert_file.empty() ? "http" : "https"},
             {"tree_size", std::to_string((*log)->tree_size())}});
  if (!options.ready_file.empty()) {
    std::string temporary = options.ready_file + ".tmp";
    std::remove(temporary.c_str());
    Status written = write_new_file(temporary, bound + "\n", 0644);
    if (!written.is_ok() || std::rename(temporary.c_str(), options.ready_file.c_str()) != 0) {
      std::cerr << "custos serve: cannot write ready file " << options.ready_file << "\n";
    }
  }

  run_until_signal(server);
  server.stop();
  (*policies)->set_on_change({});
  (*log)->close();
  log_event(LogLevel::kInfo, "node.stopped", {{"tree_size", std::to_string((*log)->tree_size())}});
  return kExitOk;
}

}  // namespace custos::cli
