#include "custos/custody/named_queries.h"

#include <algorithm>

namespace custos::custody {

namespace {

constexpr std::string_view kKeyPrefix = "epcis.query/";

std::string key_of(std::string_view name) {
  std::string key(kKeyPrefix);
  key += name;
  return key;
}

}  // namespace

Status check_query_name(std::string_view name) {
  if (name.empty() || name.size() > 128) {
    return invalid_argument("a query name has 1 to 128 characters");
  }
  const bool allowed = std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
           c == '.' || c == '_' || c == '~' || c == '-';
  });
  if (!allowed) {
    return invalid_argument("a query name may only hold A-Z a-z 0-9 . _ ~ -");
  }
  return Status::ok();
}

Status NamedQueryStore::create(const NamedQuery& query) {
  CUSTOS_RETURN_IF_ERROR(check_query_name(query.name));
  std::lock_guard lock(mutex_);
  CUSTOS_ASSIGN_OR_RETURN(auto existing, store_.get(store::Family::kMeta, key_of(query.name)));
  if (existing) {
    return Status(StatusCode::kAlreadyExists, "a query named \"" + query.name + "\" exists");
  }
  store::WriteBatch batch;
  batch.put(store::Family::kMeta, key_of(query.name), query.json);
  return store_.write(batch, /*sync=*/true);
}

Result<std::optional<NamedQuery>> NamedQueryStore::find(std::string_view name) const {
  if (!check_query_name(name).is_ok()) return std::optional<NamedQuery>();
  CUSTOS_ASSIGN_OR_RETURN(auto stored, store_.get(store::Family::kMeta, key_of(name)));
  if (!stored) return std::optional<NamedQuery>();
  return std::optional<NamedQuery>(NamedQuery{std::string(name), std::move(*stored)});
}

Result<std::vector<NamedQuery>> NamedQueryStore::list(size_t limit, std::string_view after) const {
  std::vector<NamedQuery> out;
  auto iterator = store_.new_iterator(store::Family::kMeta);
  std::string start = key_of(after);
  if (!after.empty()) start.push_back('\0');  // just past `after`
  for (iterator->seek(start); iterator->valid() && out.size() < limit; iterator->next()) {
    std::string_view key = iterator->key();
    if (!key.starts_with(kKeyPrefix)) break;
    out.push_back({std::string(key.substr(kKeyPrefix.size())), std::string(iterator->value())});
  }
  CUSTOS_RETURN_IF_ERROR(iterator->status());
  return out;
}

Result<bool> NamedQueryStore::erase(std::string_view name) {
  if (!check_query_name(name).is_ok()) return false;
  std::lock_guard lock(mutex_);
  CUSTOS_ASSIGN_OR_RETURN(auto existing, store_.get(store::Family::kMeta, key_of(name)));
  if (!existing) return false;
  store::WriteBatch batch;
  batch.erase(store::Family::kMeta, key_of(name));
  CUSTOS_RETURN_IF_ERROR(store_.write(batch, /*sync=*/true));
  return true;
}

}  // namespace custos::custody
