// custos server: EPCIS query subscriptions, delivered by webhook or pushed
// to a WebSocket.
//
// A subscription follows a named query (custody/named_queries.h). Matching
// events go out as EPCISQueryDocuments whose queryResults carry the
// subscriptionID and queryName, in log order, in batches of at most
// max_batch. Two kinds (the REST binding's QuerySubscription):
//   - streaming ("stream": true): every matching event soon after it is
//     indexed;
//   - scheduled ("schedule", query_schedule.h): at each fire time (UTC, by
//     the injected Clock; the thread looks at least every poll_interval) every
//     matching event indexed since the previous run, or, with reportIfEmpty,
//     an empty document when there are none.
// The first report starts at the next event indexed after the subscription
// was made, or, with initialRecordTime, at the first event whose recordTime
// is at or after it (record times grow with the log index; events recorded
// earlier are never sent).
//
// Webhook subscriptions POST to the subscriber's `dest` URL (http or https).
// With a signatureToken the request carries
// `GS1-Signature: sha256=<hex HMAC-SHA256(token, body)>` so the receiver can
// tell the delivery is ours and unchanged. Delivery is at least once and
// survives restarts: each keeps its cursor (the next log index to look at),
// schedule and flags in the store's "meta" family
// ("epcis.subscription/<id>"); a delivery answered with 2xx moves the cursor
// past it, anything else (refused, unreachable, timed out) is retried with
// the same events after a backoff doubling from `initial_backoff` up to
// `max_backoff`.
//
// Pushed subscriptions (SubscriptionRequest::sink; the WebSocket binding)
// hand each document to the sink without waiting for the peer, are not
// stored, and end with the connection (unsubscribe), when the query is
// deleted (sink.close with kQueryDeleted) or when the owner may no longer
// receive (kNotAllowed), or when the sink refuses a document (too slow).
//
// Zero trust: before every delivery the subscription's owner is asked about
// again (`may_receive`); while it says no (owner suspended, revoked, no
// longer permitted) a webhook gets nothing and its cursor waits; a pushed
// subscription is closed. Every event is also shown only if its owner may
// see it: SubscriptionRequest::may_see for pushed subscriptions, the
// installed set_owner_visibility check for stored ones (none installed:
// stored subscriptions deliver nothing).
//
// One delivery thread serves every subscription; notify() wakes it after new
// events are indexed (it also looks every `poll_interval`). Thread-safe. The
// sink's callbacks are called from the delivery thread or the caller of
// unsubscribe_all, never under the manager's lock.
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
#include "custos/server/query_schedule.h"
#include "custos/store/store.h"

namespace custos {

// Why a pushed subscription ended (SubscriptionSink::close).
enum class SubscriptionEnd {
  kNotAllowed,    // may_receive said no: the owner was suspended, revoked or lost the right
  kQueryDeleted,  // the named query was deleted
  kStopped,       // the manager stopped
};

// Where a pushed subscription's documents go. Both callbacks must be set and
// must not block.
struct SubscriptionSink {
  // Takes one document; false when it cannot (the peer is gone or too slow),
  // which ends the subscription without calling close.
  std::function<bool(std::string document)> push;
  // The subscription ended for `reason`; called at most once.
  std::function<void(SubscriptionEnd reason)> close;
};

struct SubscriptionRequest {
  std::string query_name;
  std::string dest;             // http[s]://host[:port][/path]; unused with a sink
  std::string signature_token;  // empty: deliveries are not signed
  std::string owner;            // principal id of the subscriber
  std::optional<QuerySchedule> schedule;          // set: scheduled; unset: streaming
  bool report_if_empty = false;                   // scheduled only: send empty documents too
  std::optional<UnixMicros> initial_record_time;  // first report from this recordTime on
  std::optional<SubscriptionSink> sink;           // set: pushed, not stored (WebSocket)
  // Pushed only: whether the subscriber may see one matching event (unset: all).
  std::function<bool(const custody::IndexedEvent& event)> may_see;
};

// What GET /queries/{name}/subscriptions[/{id}] shows (never the token).
struct SubscriptionInfo {
  std::string id;
  std::string query_name;
  std::string dest;
  std::string owner;
  bool signed_deliveries = false;
  std::optional<QuerySchedule> schedule;  // unset: streaming
  bool report_if_empty = false;
  std::optional<UnixMicros> initial_record_time;
  bool pushed = false;          // a WebSocket subscription (not stored)
  int64_t next_run_micros = 0;  // scheduled: the next fire time
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

  // A new subscription from the next event indexed (or from
  // initial_record_time). InvalidArgument for a bad dest (webhooks) or a sink
  // without callbacks, NotFound for an unknown query.
  Result<SubscriptionInfo> subscribe(const SubscriptionRequest& request);
  Result<std::vector<SubscriptionInfo>> list(const std::string& query_name) const;
  std::optional<SubscriptionInfo> find(const std::string& query_name, const std::string& id) const;
  // False when there was no such subscription.
  Result<bool> unsubscribe(const std::string& query_name, const std::string& id);
  // Every subscription of a query (the query is being deleted); pushed ones
  // are closed with kQueryDeleted.
  Status unsubscribe_all(const std::string& query_name);

  // New events are indexed: look for deliveries now.
  void notify();

  // Whether the owner of a stored (webhook) subscription may see an event:
  // each event of a delivery is checked as GET /events would check it for
  // that owner (the EPCIS routes install this; pushed subscriptions carry
  // their own SubscriptionRequest::may_see). Until one is set, stored
  // subscriptions deliver nothing (fail closed).
  using OwnerVisibility =
      std::function<bool(const std::string& owner, const custody::IndexedEvent& event)>;
  void set_owner_visibility(OwnerVisibility may_see);
  // Stops the delivery thread (idempotent); in-flight deliveries finish;
  // pushed subscriptions are closed with kStopped.
  void stop();

 private:
  struct Subscription;
  SubscriptionManager(store::Store& store, const custody::EventIndex& index,
                      SubscriptionOptions options);
  void run();
  // One round for one subscription; true when it has more to do now.
  bool deliver_round(const std::string& id);
  Status persist(const Subscription& subscription);
  // Sends one document; an error message when it was not taken.
  std::optional<std::string> send(Subscription& subscription, const std::string& body);
  // The first log index below `end` recorded at or after `time`.
  Result<uint64_t> first_recorded_at_or_after(UnixMicros time, uint64_t end) const;
  // Drops a pushed subscription and tells its sink why (outside mutex_).
  void end_pushed(const std::string& id, std::optional<SubscriptionEnd> reason);

  store::Store& store_;
  const custody::EventIndex& index_;
  SubscriptionOptions options_;
  mutable std::mutex mutex_;  // guards subscriptions_, stopping_, notified_
  std::condition_variable wake_;
  std::map<std::string, std::shared_ptr<Subscription>> subscriptions_;  // by id
  OwnerVisibility owner_may_see_;  // guarded by mutex_
  bool stopping_ = false;
  bool notified_ = false;
  std::thread thread_;
};

}  // namespace custos
