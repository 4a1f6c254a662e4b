// custos server: EPCIS query subscriptions delivered by webhook.
//
// A subscription follows a named query (custody/named_queries.h): every event
// that commits after it was made and matches the query is POSTed to the
// subscriber's `dest` URL (http or https) as an EPCISQueryDocument whose
// queryResults carry the subscriptionID and queryName; events go in log
// order, in batches of at most max_batch. With a signatureToken the request
// carries `GS1-Signature: sha256=<hex HMAC-SHA256(token, body)>` so the
// receiver can tell the delivery is ours and unchanged.
//
// Delivery is at least once and survives restarts: each subscription keeps a
// cursor (the next log index to look at) in the store's "meta" family
// ("epcis.subscription/<id>"); a delivery answered with 2xx moves the cursor
// past it, anything else (refused, unreachable, timed out) is retried with
// the same events after a backoff doubling from `initial_backoff` up to
// `max_backoff`. Zero trust: before every delivery the subscription's owner
// is asked about again (`may_receive`); while it says no (owner suspended,
// revoked, no longer permitted) nothing is sent and the cursor waits.
//
// Only streaming subscriptions ("stream": true) exist for now; scheduled ones
// and initialRecordTime are refused by the routes.
//
// One delivery thread serves every subscription; notify() wakes it after new
// events are indexed (it also looks every `poll_interval`). Thread-safe.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "custos/core/clock.h"
#include "custos/core/status.h"
#include "custos/custody/event_index.h"
#include "custos/ledger/log.h"
#include "custos/store/store.h"

namespace custos {

struct SubscriptionRequest {
  std::string query_name;
  std::string dest;             // http[s]://host[:port][/path]
  std::string signature_token;  // empty: deliveries are not signed
  std::string owner;            // principal id of the subscriber
};

// What GET /queries/{name}/subscriptions[/{id}] shows (never the token).
struct SubscriptionInfo {
  std::string id;
  std::string query_name;
  std::string dest;
  std::string owner;
  bool signed_deliveries = false;
  int64_t created_micros = 0;
  int64_t last_notified_micros = 0;  // 0: never
  uint64_t cursor = 0;               // next log index to look at
  uint64_t delivered_events = 0;     // since the server started
  uint64_t failed_attempts = 0;      // consecutive
  std::string last_error;
};

struct SubscriptionOptions {
  const Clock* clock = nullptr;  // required, borrowed
  // The events of a query: resolves a named query's definition (called when a
  // subscription is made and when the manager opens). NotFound when the
  // query does not exist.
  std::function<Result<custody::EventQuery>(const std::string& query_name)> resolve_query;
  // Whether `owner` may still receive events; asked before every delivery.
  std::function<bool(const std::string& owner)> may_receive;
  // The delivery body for these log indexes (an EPCISQueryDocument).
  std::function<Result<std::string>(const std::vector<uint64_t>& indexes,
                                    const SubscriptionInfo& subscription)>
      render;
  size_t max_batch = 100;            // events per delivery
  size_t max_scan = 10000;           // events looked at per subscription per round
  std::chrono::milliseconds timeout{5000};
  std::chrono::milliseconds initial_backoff{1000};
  std::chrono::milliseconds max_backoff{60000};
  std::chrono::milliseconds poll_interval{1000};
  std::string ca_file;  // https: CAs to trust (empty: the system store)
};

class SubscriptionManager {
 public:
  // Loads the stored subscriptions and starts the delivery thread. Borrows
  // everything, which must outlive the manager (stop() or destroy it first).
  static Result<std::unique_ptr<SubscriptionManager>> open(store::Store& store,
                                                           const custody::EventIndex& index,
                                                           SubscriptionOptions options);
  ~SubscriptionManager();
  SubscriptionManager(const SubscriptionManager&) = delete;
  SubscriptionManager& operator=(const SubscriptionManager&) = delete;

  // A new subscription from the next event indexed. InvalidArgument for a
  // bad dest, NotFound for an unknown query.
  Result<SubscriptionInfo> subscribe(const SubscriptionRequest& request);
  Result<std::vector<SubscriptionInfo>> list(const std::string& query_name) const;
  std::optional<SubscriptionInfo> find(const std::string& query_name, const std::string& id) const;
  // False when there was no such subscription.
  Result<bool> unsubscribe(const std::string& query_name, const std::string& id);
  // Every subscription of a query (the query is being deleted).
  Status unsubscribe_all(const std::string& query_name);

  // New events are indexed: look for deliveries now.
  void notify();
  // Stops the delivery thread (idempotent); in-flight deliveries finish.
  void stop();

 private:
  struct Subscription;
  SubscriptionManager(store::Store& store, const custody::EventIndex& index,
                      SubscriptionOptions options);
  void run();
  // One round for one subscription; true when it has more to do now.
  bool deliver_round(const std::string& id);
  Status persist(const Subscription& subscription);

  store::Store& store_;
  const custody::EventIndex& index_;
  SubscriptionOptions options_;
  mutable std::mutex mutex_;  // guards subscriptions_, stopping_, notified_
  std::condition_variable wake_;
  std::map<std::string, std::shared_ptr<Subscription>> subscriptions_;  // by id
  bool stopping_ = false;
  bool notified_ = false;
  std::thread thread_;
};

}  // namespace custos
