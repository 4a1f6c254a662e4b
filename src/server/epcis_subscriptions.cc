#include "custos/server/epcis_subscriptions.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <simdjson.h>

#include <algorithm>
#include <array>

#include "custos/core/bytes.h"
#include "custos/core/json_writer.h"
#include "custos/crypto/random.h"
#include "custos/server/http_client.h"

namespace custos {

namespace {

constexpr std::string_view kKeyPrefix = "epcis.subscription/";
// The binding's names of QueryScheduleSpec's fields, in its member order.
constexpr std::array<std::string_view, 6> kScheduleFields = {"second",     "minute", "hour",
                                                             "dayOfMonth", "month",  "dayOfWeek"};

std::string key_of(std::string_view id) {
  std::string key(kKeyPrefix);
  key += id;
  return key;
}

// A UUID (version 4) for the subscription id.
std::string new_subscription_id() {
  Bytes bytes = random_bytes(16);
  bytes[6] = static_cast<uint8_t>((bytes[6] & 0x0f) | 0x40);
  bytes[8] = static_cast<uint8_t>((bytes[8] & 0x3f) | 0x80);
  std::string hex = hex_encode(bytes);
  return hex.substr(0, 8) + "-" + hex.substr(8, 4) + "-" + hex.substr(12, 4) + "-" +
         hex.substr(16, 4) + "-" + hex.substr(20);
}

std::string hmac_sha256_hex(std::string_view key, std::string_view message) {
  uint8_t mac[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(message.data()), message.size(), mac, &size);
  return hex_encode(ByteView(mac, size));
}

}  // namespace

struct SubscriptionManager::Subscription {
  SubscriptionInfo info;
  std::string signature_token;
  custody::EventQuery query;
  BaseUrl url;
  std::chrono::steady_clock::time_point next_attempt{};
  std::chrono::milliseconds backoff{0};
  std::optional<SubscriptionSink> sink;                       // pushed subscriptions
  std::function<bool(const custody::IndexedEvent&)> may_see;  // pushed: per-event visibility
  // A scheduled run in progress: it delivers up to this log index.
  std::optional<uint64_t> run_end;
  uint64_t run_matched = 0;    // events delivered by the run so far
  UnixMicros run_started = 0;  // the clock when the run began
  std::mutex delivery_mutex;  // one delivery at a time; held while sending
};

SubscriptionManager::SubscriptionManager(store::Store& store, const custody::EventIndex& index,
                                         SubscriptionOptions options)
    : store_(store), index_(index), options_(std::move(options)) {}

Result<std::unique_ptr<SubscriptionManager>> SubscriptionManager::open(
    store::Store& store, const custody::EventIndex& index, SubscriptionOptions options) {
  if (options.clock == nullptr || !options.resolve_query || !options.may_receive ||
      !options.render) {
    return invalid_argument("subscriptions need a clock, resolve_query, may_receive and render");
  }
  if (options.max_batch == 0 || options.max_scan == 0) {
    return invalid_argument("max_batch and max_scan must be positive");
  }
  std::unique_ptr<SubscriptionManager> manager(
      new SubscriptionManager(store, index, std::move(options)));
  auto iterator = store.new_iterator(store::Family::kMeta);
  simdjson::dom::parser parser;
  for (iterator->seek(kKeyPrefix); iterator->valid(); iterator->next()) {
    if (!iterator->key().starts_with(kKeyPrefix)) break;
    const std::string text(iterator->value());
    simdjson::dom::element root;
    std::string_view id, query_name, dest, owner, token;
    int64_t created = 0;
    uint64_t cursor = 0;
    if (parser.parse(text).get(root) != simdjson::SUCCESS ||
        root["subscriptionID"].get(id) != simdjson::SUCCESS ||
        root["queryName"].get(query_name) != simdjson::SUCCESS ||
        root["dest"].get(dest) != simdjson::SUCCESS || root["owner"].get(owner) != simdjson::SUCCESS ||
        root["signatureToken"].get(token) != simdjson::SUCCESS ||
        root["createdAt"].get(created) != simdjson::SUCCESS ||
        root["cursor"].get(cursor) != simdjson::SUCCESS) {
      return data_loss("stored subscription " + std::string(iterator->key()) + " is not readable");
    }
    auto subscription = std::make_shared<Subscription>();
    subscription->info.id = std::string(id);
    subscription->info.query_name = std::string(query_name);
    subscription->info.dest = std::string(dest);
    subscription->info.owner = std::string(owner);
    subscription->info.signed_deliveries = !token.empty();
    subscription->info.created_micros = created;
    subscription->info.cursor = cursor;
    subscription->signature_token = std::string(token);
    // Members added later are optional: older records are streaming subscriptions.
    simdjson::dom::object schedule;
    if (root["schedule"].get(schedule) == simdjson::SUCCESS) {
      QueryScheduleSpec spec;
      std::string* fields[] = {&spec.second,       &spec.minute, &spec.hour,
                               &spec.day_of_month, &spec.month,  &spec.day_of_week};
      for (size_t i = 0; i < kScheduleFields.size(); ++i) {
        std::string_view text;
        if (schedule[kScheduleFields[i]].get(text) == simdjson::SUCCESS) fields[i]->assign(text);
      }
      auto parsed = parse_query_schedule(spec);
      if (!parsed.is_ok()) {
        return data_loss("stored subscription " + std::string(iterator->key()) + ": " +
                         parsed.status().message());
      }
      subscription->info.schedule = std::move(parsed).value();
      auto next_run =
          next_fire_time(*subscription->info.schedule, manager->options_.clock->now_micros());
      subscription->info.next_run_micros = next_run.is_ok() ? *next_run : INT64_MAX;
    }
    bool report_if_empty = false;
    if (root["reportIfEmpty"].get(report_if_empty) == simdjson::SUCCESS) {
      subscription->info.report_if_empty = report_if_empty;
    }
    int64_t initial_record_time = 0;
    if (root["initialRecordTime"].get(initial_record_time) == simdjson::SUCCESS) {
      subscription->info.initial_record_time = initial_record_time;
    }
    CUSTOS_ASSIGN_OR_RETURN(subscription->url, parse_base_url(dest));
    auto query = manager->options_.resolve_query(subscription->info.query_name);
    if (!query.is_ok()) {
      // The query went away without its subscriptions (a crash between the
      // two writes): nothing can match, so the subscription goes too.
      store::WriteBatch batch;
      batch.erase(store::Family::kMeta, iterator->key());
      CUSTOS_RETURN_IF_ERROR(store.write(batch, /*sync=*/true));
      continue;
    }
    subscription->query = std::move(query).value();
    manager->subscriptions_.emplace(subscription->info.id, std::move(subscription));
  }
  CUSTOS_RETURN_IF_ERROR(iterator->status());
  manager->thread_ = std::thread([raw = manager.get()] { raw->run(); });
  return manager;
}

SubscriptionManager::~SubscriptionManager() { stop(); }

Status SubscriptionManager::persist(const Subscription& subscription) {
  if (subscription.sink) return Status::ok();  // pushed: lives with its connection only
  JsonWriter json;
  json.begin_object()
      .key("subscriptionID").string(subscription.info.id)
      .key("queryName").string(subscription.info.query_name)
      .key("dest").string(subscription.info.dest)
      .key("owner").string(subscription.info.owner)
      .key("signatureToken").string(subscription.signature_token)
      .key("createdAt").number(subscription.info.created_micros)
      .key("cursor").number(subscription.info.cursor);
  if (const auto& schedule = subscription.info.schedule) {
    const std::string* fields[] = {&schedule->spec.second, &schedule->spec.minute,
                                   &schedule->spec.hour,   &schedule->spec.day_of_month,
                                   &schedule->spec.month,  &schedule->spec.day_of_week};
    json.key("schedule").begin_object();
    for (size_t i = 0; i < kScheduleFields.size(); ++i) {
      if (!fields[i]->empty()) json.key(kScheduleFields[i]).string(*fields[i]);
    }
    json.end_object().key("reportIfEmpty").boolean(subscription.info.report_if_empty);
  }
  if (subscription.info.initial_record_time) {
    json.key("initialRecordTime").number(*subscription.info.initial_record_time);
  }
  json.end_object();
  store::WriteBatch batch;
  batch.put(store::Family::kMeta, key_of(subscription.info.id), json.take());
  return store_.write(batch, /*sync=*/true);
}

Result<SubscriptionInfo> SubscriptionManager::subscribe(const SubscriptionRequest& request) {
  auto subscription = std::make_shared<Subscription>();
  if (request.sink) {
    if (!request.sink->push || !request.sink->close) {
      return invalid_argument("a subscription sink needs push and close");
    }
    subscription->sink = request.sink;
    subscription->may_see = request.may_see;
    subscription->info.pushed = true;
  } else {
    CUSTOS_ASSIGN_OR_RETURN(subscription->url, parse_base_url(request.dest));
  }
  CUSTOS_ASSIGN_OR_RETURN(subscription->query, options_.resolve_query(request.query_name));
  subscription->info.id = new_subscription_id();
  subscription->info.query_name = request.query_name;
  subscription->info.dest = request.dest;
  subscription->info.owner = request.owner;
  subscription->info.signed_deliveries = !request.signature_token.empty();
  subscription->info.created_micros = options_.clock->now_micros();
  subscription->info.schedule = request.schedule;
  subscription->info.report_if_empty = request.schedule && request.report_if_empty;
  subscription->info.initial_record_time = request.initial_record_time;
  if (request.schedule) {
    CUSTOS_ASSIGN_OR_RETURN(subscription->info.next_run_micros,
                            next_fire_time(*request.schedule, subscription->info.created_micros));
  }
  const uint64_t indexed = index_.indexed_up_to();
  if (request.initial_record_time) {
    CUSTOS_ASSIGN_OR_RETURN(subscription->info.cursor,
                            first_recorded_at_or_after(*request.initial_record_time, indexed));
  } else {
    subscription->info.cursor = indexed;  // from the next event on
  }
  subscription->signature_token = request.signature_token;
  CUSTOS_RETURN_IF_ERROR(persist(*subscription));
  SubscriptionInfo info = subscription->info;
  {
    std::lock_guard lock(mutex_);
    subscriptions_.emplace(info.id, std::move(subscription));
  }
  return info;
}

Result<std::vector<SubscriptionInfo>> SubscriptionManager::list(const std::string& query_name) const {
  std::vector<SubscriptionInfo> out;
  std::lock_guard lock(mutex_);
  for (const auto& [id, subscription] : subscriptions_) {
    if (subscription->info.query_name == query_name) out.push_back(subscription->info);
  }
  std::sort(out.begin(), out.end(), [](const SubscriptionInfo& a, const SubscriptionInfo& b) {
    return a.created_micros != b.created_micros ? a.created_micros < b.created_micros : a.id < b.id;
  });
  return out;
}

std::optional<SubscriptionInfo> SubscriptionManager::find(const std::string& query_name,
                                                          const std::string& id) const {
  std::lock_guard lock(mutex_);
  auto found = subscriptions_.find(id);
  if (found == subscriptions_.end() || found->second->info.query_name != query_name) {
    return std::nullopt;
  }
  return found->second->info;
}

Result<bool> SubscriptionManager::unsubscribe(const std::string& query_name, const std::string& id) {
  std::shared_ptr<Subscription> removed;
  {
    std::lock_guard lock(mutex_);
    auto found = subscriptions_.find(id);
    if (found == subscriptions_.end() || found->second->info.query_name != query_name) return false;
    removed = found->second;
    subscriptions_.erase(found);
  }
  // A delivery in flight finishes first; its cursor write must not revive the key.
  std::lock_guard delivery(removed->delivery_mutex);
  if (removed->sink) return true;  // never stored
  store::WriteBatch batch;
  batch.erase(store::Family::kMeta, key_of(id));
  CUSTOS_RETURN_IF_ERROR(store_.write(batch, /*sync=*/true));
  return true;
}

Status SubscriptionManager::unsubscribe_all(const std::string& query_name) {
  std::vector<std::shared_ptr<Subscription>> found;
  {
    std::lock_guard lock(mutex_);
    for (const auto& [id, subscription] : subscriptions_) {
      if (subscription->info.query_name == query_name) found.push_back(subscription);
    }
  }
  for (const auto& subscription : found) {
    if (subscription->sink) {
      std::lock_guard delivery(subscription->delivery_mutex);
      end_pushed(subscription->info.id, SubscriptionEnd::kQueryDeleted);
    } else {
      CUSTOS_RETURN_IF_ERROR(unsubscribe(query_name, subscription->info.id).status());
    }
  }
  return Status::ok();
}

void SubscriptionManager::end_pushed(const std::string& id, std::optional<SubscriptionEnd> reason) {
  std::shared_ptr<Subscription> removed;
  {
    std::lock_guard lock(mutex_);
    auto found = subscriptions_.find(id);
    if (found == subscriptions_.end()) return;
    removed = found->second;
    subscriptions_.erase(found);
  }
  if (reason && removed->sink) removed->sink->close(*reason);
}

Result<uint64_t> SubscriptionManager::first_recorded_at_or_after(UnixMicros time,
                                                                 uint64_t end) const {
  // Binary search over record times, which grow with the log index; entries
  // without a summary (control changes, alerts) take the next event's time.
  uint64_t low = 0;
  uint64_t high = end;
  while (low < high) {
    const uint64_t middle = low + (high - low) / 2;
    uint64_t probe = middle;
    std::optional<int64_t> recorded;
    for (; probe < high; ++probe) {
      CUSTOS_ASSIGN_OR_RETURN(auto event, index_.summary(probe));
      if (event) {
        recorded = event->record_time_micros;
        break;
      }
    }
    if (!recorded || *recorded >= time) {
      high = middle;
    } else {
      low = probe + 1;
    }
  }
  return low;
}

void SubscriptionManager::set_owner_visibility(OwnerVisibility may_see) {
  {
    std::lock_guard lock(mutex_);
    owner_may_see_ = std::move(may_see);
  }
  notify();
}

void SubscriptionManager::notify() {
  {
    std::lock_guard lock(mutex_);
    notified_ = true;
  }
  wake_.notify_one();
}

void SubscriptionManager::stop() {
  {
    std::lock_guard lock(mutex_);
    if (stopping_ && !thread_.joinable()) return;
    stopping_ = true;
  }
  wake_.notify_one();
  if (thread_.joinable()) thread_.join();
  std::vector<std::string> pushed;
  {
    std::lock_guard lock(mutex_);
    for (const auto& [id, subscription] : subscriptions_) {
      if (subscription->sink) pushed.push_back(id);
    }
  }
  for (const std::string& id : pushed) end_pushed(id, SubscriptionEnd::kStopped);
}

void SubscriptionManager::run() {
  std::unique_lock lock(mutex_);
  while (!stopping_) {
    wake_.wait_for(lock, options_.poll_interval, [&] { return stopping_ || notified_; });
    if (stopping_) break;
    notified_ = false;
    bool more = true;
    while (more && !stopping_) {
      more = false;
      std::vector<std::string> ids;
      ids.reserve(subscriptions_.size());
      for (const auto& [id, subscription] : subscriptions_) ids.push_back(id);
      lock.unlock();
      for (const std::string& id : ids) more = deliver_round(id) || more;
      lock.lock();
    }
  }
}

std::optional<std::string> SubscriptionManager::send(Subscription& subscription,
                                                     const std::string& body) {
  if (subscription.sink) {
    if (subscription.sink->push(body)) return std::nullopt;
    return "the subscriber's connection did not take the document";
  }
  HttpClientOptions client_options;
  client_options.timeout = options_.timeout;
  std::optional<HttpClientTlsOptions> tls;
  if (subscription.url.scheme == "https") tls = HttpClientTlsOptions{options_.ca_file, "", "", ""};
  HttpClient client(subscription.url.host, subscription.url.port, client_options, tls);
  HttpHeaders headers;
  headers.set("Host", subscription.url.authority);
  headers.set("Content-Type", "application/json");
  headers.set("GS1-Query-Name", subscription.info.query_name);
  if (!subscription.signature_token.empty()) {
    headers.set("GS1-Signature", "sha256=" + hmac_sha256_hex(subscription.signature_token, body));
  }
  const std::string target = subscription.url.prefix.empty() ? "/" : subscription.url.prefix;
  auto response = client.request("POST", target, body, headers);
  if (!response.is_ok()) return response.status().to_string();
  if (response->status < 200 || response->status > 299) {
    return subscription.info.dest + " answered HTTP " + std::to_string(response->status);
  }
  return std::nullopt;
}

bool SubscriptionManager::deliver_round(const std::string& id) {
  std::shared_ptr<Subscription> subscription;
  OwnerVisibility owner_may_see;
  {
    std::lock_guard lock(mutex_);
    auto found = subscriptions_.find(id);
    if (found == subscriptions_.end()) return false;
    subscription = found->second;
    owner_may_see = owner_may_see_;
  }
  // Stored subscriptions are filtered for their owner; without a check
  // installed nothing may be shown, so nothing moves.
  if (!subscription->may_see && !owner_may_see) return false;
  std::lock_guard delivery(subscription->delivery_mutex);
  {
    std::lock_guard lock(mutex_);
    if (!subscriptions_.contains(id)) return false;  // unsubscribed meanwhile
  }
  const auto now = std::chrono::steady_clock::now();
  if (now < subscription->next_attempt) return false;
  // A pushed subscription ends as soon as its owner may no longer receive,
  // even before anything is due.
  if (subscription->sink && !options_.may_receive(subscription->info.owner)) {
    end_pushed(id, SubscriptionEnd::kNotAllowed);
    return false;
  }
  const uint64_t indexed = index_.indexed_up_to();
  uint64_t end = indexed;
  const bool scheduled = subscription->info.schedule.has_value();
  if (scheduled) {
    if (!subscription->run_end) {
      const UnixMicros now_micros = options_.clock->now_micros();
      if (now_micros < subscription->info.next_run_micros) return false;
      subscription->run_started = now_micros;
      subscription->run_end = indexed;
      subscription->run_matched = 0;
    }
    end = *subscription->run_end;
  }
  uint64_t position = subscription->info.cursor;
  if (!scheduled && position >= end) return false;

  // The delivery thread is the only writer of a subscription's info; list()
  // and find() read it under mutex_, so writes take it too.
  auto update = [&](const auto& change) {
    std::lock_guard lock(mutex_);
    change(subscription->info);
  };
  auto fail = [&](std::string error) {
    if (subscription->sink) {  // nobody to retry for: the connection is closing
      end_pushed(id, std::nullopt);
      return false;
    }
    update([&](SubscriptionInfo& info) {
      info.last_error = std::move(error);
      ++info.failed_attempts;
    });
    subscription->backoff = subscription->backoff.count() == 0
                                ? options_.initial_backoff
                                : std::min(options_.max_backoff, subscription->backoff * 2);
    subscription->next_attempt = std::chrono::steady_clock::now() + subscription->backoff;
    return false;
  };
  // The matching events from the cursor on, up to one batch.
  std::vector<uint64_t> batch;
  const uint64_t scan_end = std::min<uint64_t>(end, position + options_.max_scan);
  const std::optional<UnixMicros> since = subscription->info.initial_record_time;
  for (; position < scan_end && batch.size() < options_.max_batch; ++position) {
    auto event = index_.summary(position);
    if (!event.is_ok()) return fail(event.status().to_string());
    // Other entry kinds (control changes, alerts) have no summary.
    if (*event && custody::event_matches(**event, subscription->query) &&
        (!since || (*event)->record_time_micros >= *since) &&
        (subscription->may_see ? subscription->may_see(**event)
                               : owner_may_see(subscription->info.owner, **event))) {
      batch.push_back(position);
    }
  }
  const bool run_done = scheduled && position >= end;
  const bool empty_report = run_done && batch.empty() && subscription->info.report_if_empty &&
                            subscription->run_matched == 0;
  if (!batch.empty() || empty_report) {
    if (!options_.may_receive(subscription->info.owner)) {
      if (subscription->sink) end_pushed(id, SubscriptionEnd::kNotAllowed);
      return false;  // the cursor waits
    }
    auto body = options_.render(batch, subscription->info);
    if (!body.is_ok()) return fail(body.status().to_string());
    if (auto error = send(*subscription, *body)) return fail(std::move(*error));
    const int64_t now_micros = options_.clock->now_micros();
    update([&](SubscriptionInfo& info) {
      info.delivered_events += batch.size();
      info.last_notified_micros = now_micros;
    });
  }
  subscription->run_matched += batch.size();
  int64_t next_run = subscription->info.next_run_micros;
  if (run_done) {
    subscription->run_end.reset();
    // From when the run began: a run that outlasts a fire time is followed at
    // once; fire times missed while nothing ran are not made up one by one.
    const UnixMicros after = std::max(subscription->run_started, next_run);
    auto fire = next_fire_time(*subscription->info.schedule, after);
    next_run = fire.is_ok() ? *fire : INT64_MAX;
  }
  update([&](SubscriptionInfo& info) {
    info.cursor = position;
    info.next_run_micros = next_run;
    info.failed_attempts = 0;
    info.last_error.clear();
  });
  subscription->backoff = std::chrono::milliseconds(0);
  Status persisted = persist(*subscription);
  if (!persisted.is_ok()) return fail(persisted.to_string());
  return position < end;
}

}  // namespace custos
