// custos custody: named EPCIS queries (the REST binding's POST /queries).
//
// A named query is a view: a name and a query definition (the JSON object of
// query parameters the binding's query language describes), kept in the
// store's "meta" family under "epcis.query/<name>" so it survives restarts.
// The store keeps the definition's JSON text as given to create(); checking
// it is the caller's job (the server parses it as GET /events parameters).
//
// Names are 1..128 characters of A-Z a-z 0-9 . _ ~ - (they appear in URL
// paths unescaped). Thread-safe.
#pragma once

#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "custos/core/status.h"
#include "custos/store/store.h"

namespace custos::custody {

struct NamedQuery {
  std::string name;
  std::string json;  // the whole resource: {"name":..,"query":{..},"createdAt":..,..}
};

// OK, or InvalidArgument naming what is wrong with `name`.
Status check_query_name(std::string_view name);

class NamedQueryStore {
 public:
  // Borrows `store`, which must outlive this.
  explicit NamedQueryStore(store::Store& store) : store_(store) {}

  // AlreadyExists when the name is taken; InvalidArgument for a bad name.
  Status create(const NamedQuery& query);
  Result<std::optional<NamedQuery>> find(std::string_view name) const;
  // At most `limit` queries in name order, after `after` (empty: from the first).
  Result<std::vector<NamedQuery>> list(size_t limit, std::string_view after = {}) const;
  // False when there was no such query.
  Result<bool> erase(std::string_view name);

 private:
  store::Store& store_;
  std::mutex mutex_;  // create/erase: check and write as one step
};

}  // namespace custos::custody
